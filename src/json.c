/*
 * json.c: an exact JSON (RFC 8259) scanner for the IPC lines. One pass
 * validates a line and hands out the members of a top-level object; strings
 * and integers are decoded in place. Nothing is allocated.
 */
#include "config.h"

#include <limits.h>
#include <string.h>

#include "porter.h"

#define JSON_WS(c)	((c) == ' ' || (c) == '\t' || (c) == '\n' || \
			    (c) == '\r')
#define JSON_DIGIT(c)	((c) >= '0' && (c) <= '9')

/* json_walk keeps one bit per open container in a uint64_t. */
_Static_assert(JSON_MAX_DEPTH <= 64, "JSON_MAX_DEPTH too deep");

static const unsigned char	*json_ws(const unsigned char *,
				    const unsigned char *);
static int			 json_hex(const unsigned char *);
static const unsigned char	*json_string(const unsigned char *,
				    const unsigned char *);
static const unsigned char	*json_number(const unsigned char *,
				    const unsigned char *);
static const unsigned char	*json_literal(const unsigned char *,
				    const unsigned char *, enum json_type *);
static const unsigned char	*json_key(const unsigned char *,
				    const unsigned char *, struct json_val *);
static int			 json_walk(const char *, size_t,
				    struct json_val *, json_member_fn, void *,
				    int);
static size_t			 json_escape(const unsigned char **,
				    unsigned char *);

/* Skip the whitespace JSON allows (space, tab, LF, CR). */
static const unsigned char *
json_ws(const unsigned char *p, const unsigned char *end)
{
	while (p < end && JSON_WS(*p))
		p++;
	return p;
}

/* The value of the 4 hex digits at p, or -1 if they are not hex digits. */
static int
json_hex(const unsigned char *p)
{
	int	i, v = 0, d;

	for (i = 0; i < 4; i++) {
		if (JSON_DIGIT(p[i]))
			d = p[i] - '0';
		else if ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'f')
			d = (p[i] | 0x20) - 'a' + 10;
		else
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/*
 * The string starting at p (on its opening quote): where it ends (after the
 * closing quote), or NULL if it is not a valid string: no control character,
 * known escapes only, and well-formed UTF-8 (RFC 3629: no overlong forms, no
 * encoded surrogates, nothing past U+10FFFF). Escaped lone surrogates are
 * valid JSON text and pass.
 */
static const unsigned char *
json_string(const unsigned char *p, const unsigned char *end)
{
	unsigned char	lo, hi;
	size_t		more;

	for (p++; p < end; ) {
		if (*p >= 0x20 && *p < 0x80) {
			if (*p == '"')
				return p + 1;
			if (*p != '\\') {
				p++;
				continue;
			}
			if (end - p < 2)
				return NULL;
			switch (p[1]) {
			case '"': case '\\': case '/':
			case 'b': case 'f': case 'n': case 'r': case 't':
				p += 2;
				continue;
			case 'u':
				if (end - p < 6 || json_hex(p + 2) == -1)
					return NULL;
				p += 6;
				continue;
			default:
				return NULL;
			}
		}
		/* A control character, or the first byte of a sequence. */
		lo = 0x80;
		hi = 0xbf;
		if (*p >= 0xc2 && *p <= 0xdf)
			more = 1;
		else if (*p >= 0xe0 && *p <= 0xef) {
			more = 2;
			if (*p == 0xe0)
				lo = 0xa0;	/* overlong below */
			else if (*p == 0xed)
				hi = 0x9f;	/* surrogates above */
		} else if (*p >= 0xf0 && *p <= 0xf4) {
			more = 3;
			if (*p == 0xf0)
				lo = 0x90;
			else if (*p == 0xf4)
				hi = 0x8f;	/* U+10FFFF */
		} else
			return NULL;
		if ((size_t)(end - p) <= more || p[1] < lo || p[1] > hi)
			return NULL;
		for (p += 2; more > 1; more--, p++)
			if (*p < 0x80 || *p > 0xbf)
				return NULL;
	}
	return NULL;
}

/* The number starting at p: where it ends, or NULL if it is not one. */
static const unsigned char *
json_number(const unsigned char *p, const unsigned char *end)
{
	if (*p == '-')
		p++;
	if (p == end)
		return NULL;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (++p < end && JSON_DIGIT(*p))
			;
	else
		return NULL;
	if (p < end && *p == '.') {
		if (++p == end || !JSON_DIGIT(*p))
			return NULL;
		while (++p < end && JSON_DIGIT(*p))
			;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		if (++p < end && (*p == '+' || *p == '-'))
			p++;
		if (p == end || !JSON_DIGIT(*p))
			return NULL;
		while (++p < end && JSON_DIGIT(*p))
			;
	}
	return p;
}

/* true, false or null at p: where it ends and its type, or NULL. */
static const unsigned char *
json_literal(const unsigned char *p, const unsigned char *end,
    enum json_type *type)
{
	size_t	left = (size_t)(end - p);

	if (left >= 4 && memcmp(p, "true", 4) == 0) {
		*type = JSON_TRUE;
		return p + 4;
	}
	if (left >= 5 && memcmp(p, "false", 5) == 0) {
		*type = JSON_FALSE;
		return p + 5;
	}
	if (left >= 4 && memcmp(p, "null", 4) == 0) {
		*type = JSON_NULL;
		return p + 4;
	}
	return NULL;
}

/*
 * An object member's key and colon at p (after whitespace): where its value
 * may start, or NULL. The key goes to key if key != NULL.
 */
static const unsigned char *
json_key(const unsigned char *p, const unsigned char *end,
    struct json_val *key)
{
	const unsigned char	*q;

	if (p == end || *p != '"' || (q = json_string(p, end)) == NULL)
		return NULL;
	if (key != NULL) {
		key->j_type = JSON_STRING;
		key->j_p = (const char *)p;
		key->j_len = (size_t)(q - p);
	}
	q = json_ws(q, end);
	if (q == end || *q != ':')
		return NULL;
	return q + 1;
}

/*
 * The scanner behind json_scan and json_elems: one loop, no recursion; bit
 * d of isobj says whether the container at depth d + 1 is an object. fn
 * gets the members of a top-level object, and with elems the elements of a
 * top-level array (with a NULL key).
 */
static int
json_walk(const char *text, size_t len, struct json_val *top,
    json_member_fn fn, void *arg, int elems)
{
	const unsigned char	*p = (const unsigned char *)text;
	const unsigned char	*end = p + len, *start, *vstart = NULL;
	struct json_val		 key, val;
	enum json_type		 type;
	uint64_t		 isobj = 0;
	int			 depth = 0, obj;

	top->j_type = JSON_NONE;
	top->j_p = NULL;
	top->j_len = 0;
	memset(&key, 0, sizeof(key));
	p = start = json_ws(p, end);
	for (;;) {
		/* A value starts at p, after whitespace. */
		if (p == end)
			return -1;
		if (depth == 1)
			vstart = p;
		switch (*p) {
		case '{':
		case '[':
			if (depth == JSON_MAX_DEPTH)
				return -1;
			obj = *p == '{';
			if (obj)
				isobj |= (uint64_t)1 << depth;
			else
				isobj &= ~((uint64_t)1 << depth);
			depth++;
			p = json_ws(p + 1, end);
			if (p < end && *p == (obj ? '}' : ']')) {
				p++;
				depth--;
				type = obj ? JSON_OBJECT : JSON_ARRAY;
				break;
			}
			if (obj && (p = json_key(p, end, depth == 1 ?
			    &key : NULL)) == NULL)
				return -1;
			p = json_ws(p, end);
			continue;
		case '"':
			type = JSON_STRING;
			p = json_string(p, end);
			break;
		case '-': case '0': case '1': case '2': case '3': case '4':
		case '5': case '6': case '7': case '8': case '9':
			type = JSON_NUMBER;
			p = json_number(p, end);
			break;
		default:
			p = json_literal(p, end, &type);
			break;
		}
		if (p == NULL)
			return -1;

		/* A value of type ends at p: close what ends with it. */
		for (;;) {
			if (depth == 0) {
				top->j_type = type;
				top->j_p = (const char *)start;
				top->j_len = (size_t)(p - start);
				if (json_ws(p, end) != end) {
					top->j_type = JSON_NONE;
					return -1;
				}
				return 0;
			}
			obj = (int)(isobj >> (depth - 1) & 1);
			if (depth == 1 && fn != NULL && (obj || elems)) {
				val.j_type = type;
				val.j_p = (const char *)vstart;
				val.j_len = (size_t)(p - vstart);
				fn(obj ? &key : NULL, &val, arg);
			}
			p = json_ws(p, end);
			if (p == end)
				return -1;
			if (*p == ',')
				break;
			if (*p != (obj ? '}' : ']'))
				return -1;
			p++;
			depth--;
			type = obj ? JSON_OBJECT : JSON_ARRAY;
		}

		/* After a comma: the next member or element. */
		p = json_ws(p + 1, end);
		if (obj && (p = json_key(p, end, depth == 1 ? &key : NULL)) ==
		    NULL)
			return -1;
		p = json_ws(p, end);
	}
}

/*
 * Validate text[0..len) as exactly one JSON value (RFC 8259) with optional
 * whitespace around it. 0 and top set to the value, or -1 (top's type
 * JSON_NONE). If the value is an object, fn (if not NULL) gets each member
 * in order, duplicates included; it may be called before an error further
 * on is found, so whatever it collected must be dropped on -1.
 */
int
json_scan(const char *text, size_t len, struct json_val *top,
    json_member_fn fn, void *arg)
{
	return json_walk(text, len, top, fn, arg, 0);
}

/*
 * fn(NULL, element, arg) for each element of array v (from json_scan).
 * 0, or -1 if v is not a valid array.
 */
int
json_elems(const struct json_val *v, json_member_fn fn, void *arg)
{
	struct json_val	top;

	if (v->j_type != JSON_ARRAY)
		return -1;
	return json_walk(v->j_p, v->j_len, &top, fn, arg, 1);
}

/*
 * Decode the escape at *pp (a valid one, on its backslash) to UTF-8 in buf
 * (4 bytes); returns its length and moves *pp past it. A surrogate pair
 * makes one character; a lone surrogate becomes U+FFFD.
 */
static size_t
json_escape(const unsigned char **pp, unsigned char *buf)
{
	const unsigned char	*p = *pp;
	unsigned long		 c, c2;

	*pp = p + 2;
	switch (p[1]) {
	case 'b': buf[0] = '\b'; return 1;
	case 'f': buf[0] = '\f'; return 1;
	case 'n': buf[0] = '\n'; return 1;
	case 'r': buf[0] = '\r'; return 1;
	case 't': buf[0] = '\t'; return 1;
	case 'u': break;
	default: buf[0] = p[1]; return 1;	/* " \ / */
	}
	c = (unsigned long)json_hex(p + 2);
	*pp = p + 6;
	if (c >= 0xd800 && c <= 0xdbff && p[6] == '\\' && p[7] == 'u' &&
	    (c2 = (unsigned long)json_hex(p + 8)) >= 0xdc00 && c2 <= 0xdfff) {
		c = 0x10000 + ((c - 0xd800) << 10) + (c2 - 0xdc00);
		*pp = p + 12;
	} else if (c >= 0xd800 && c <= 0xdfff)
		c = 0xfffd;
	if (c < 0x80) {
		buf[0] = (unsigned char)c;
		return 1;
	}
	if (c < 0x800) {
		buf[0] = (unsigned char)(0xc0 | c >> 6);
		buf[1] = (unsigned char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		buf[0] = (unsigned char)(0xe0 | c >> 12);
		buf[1] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
		buf[2] = (unsigned char)(0x80 | (c & 0x3f));
		return 3;
	}
	buf[0] = (unsigned char)(0xf0 | c >> 18);
	buf[1] = (unsigned char)(0x80 | (c >> 12 & 0x3f));
	buf[2] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
	buf[3] = (unsigned char)(0x80 | (c & 0x3f));
	return 4;
}

/*
 * 1 if v (from json_scan) is a string whose decoded value is exactly s,
 * else 0. A string holding a NUL (\u0000) never equals.
 */
int
json_eq(const struct json_val *v, const char *s)
{
	const unsigned char	*p, *end, *u = (const unsigned char *)s;
	unsigned char		 buf[4];
	size_t			 i, n;

	if (v->j_type != JSON_STRING || v->j_len < 2)
		return 0;
	p = (const unsigned char *)v->j_p + 1;
	end = (const unsigned char *)v->j_p + v->j_len - 1;
	while (p < end) {
		if (*p != '\\') {
			/* Raw bytes are never NUL: no need to test *u. */
			if (*u++ != *p++)
				return 0;
			continue;
		}
		n = json_escape(&p, buf);
		for (i = 0; i < n; i++)
			if (buf[i] == '\0' || *u++ != buf[i])
				return 0;
	}
	return *u == '\0';
}

/*
 * Decode string v (from json_scan) into out, NUL-terminated: its length
 * (it may hold NULs from \u0000), or -1 if v is not a string or the value
 * and a NUL do not fit in outsz bytes (out is then "" if outsz > 0).
 */
ssize_t
json_str(const struct json_val *v, char *out, size_t outsz)
{
	const unsigned char	*p, *end;
	unsigned char		 buf[4];
	size_t			 o = 0, n;

	if (v->j_type != JSON_STRING || v->j_len < 2 || outsz == 0)
		goto fail;
	p = (const unsigned char *)v->j_p + 1;
	end = (const unsigned char *)v->j_p + v->j_len - 1;
	while (p < end) {
		if (*p != '\\') {
			if (o == outsz - 1)
				goto fail;
			out[o++] = (char)*p++;
			continue;
		}
		n = json_escape(&p, buf);
		if (n > outsz - 1 - o)
			goto fail;
		memcpy(out + o, buf, n);
		o += n;
	}
	out[o] = '\0';
	return (ssize_t)o;
 fail:
	if (outsz > 0)
		out[0] = '\0';
	return -1;
}

/*
 * 0 and *n set if v (from json_scan) is a number written as an integer (no
 * fraction, no exponent) that fits in a long long, else -1.
 */
int
json_int(const struct json_val *v, long long *n)
{
	const unsigned char		*p, *end;
	unsigned long long		 mag = 0, lim = LLONG_MAX;
	unsigned int			 d;
	int				 neg = 0;

	if (v->j_type != JSON_NUMBER || v->j_len == 0)
		return -1;
	p = (const unsigned char *)v->j_p;
	end = p + v->j_len;
	if (*p == '-') {
		neg = 1;
		lim = (unsigned long long)LLONG_MAX + 1;
		p++;
	}
	if (p == end)
		return -1;
	for (; p < end; p++) {
		if (!JSON_DIGIT(*p))
			return -1;		/* a fraction or an exponent */
		d = (unsigned int)(*p - '0');
		if (mag > (lim - d) / 10)
			return -1;
		mag = mag * 10 + d;
	}
	if (!neg)
		*n = (long long)mag;
	else if (mag == (unsigned long long)LLONG_MAX + 1)
		*n = LLONG_MIN;
	else
		*n = -(long long)mag;
	return 0;
}
