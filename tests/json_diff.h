/*
 * tests/json_diff.h: porter's JSON scanner against jansson, value by
 * value: shared by check_json.c and fuzz/fuzz_ipc.c. The includer first
 * defines LINE_MAX_LEN, MAXMEM and FAIL_IF(cond, what) (how a mismatch
 * fails there: a check assertion, or abort() for libFuzzer).
 */
#ifndef JSON_DIFF_H
#define JSON_DIFF_H

#include <jansson.h>

/*
 * jansson names its types JSON_OBJECT, JSON_NULL... as porter does. Keep
 * jansson's under J_*, then read porter.h with its own renamed P_*; below,
 * jansson's json_is_*() macros are not used (they would see P_*).
 */
enum {
	J_OBJECT = JSON_OBJECT,
	J_ARRAY = JSON_ARRAY,
	J_STRING = JSON_STRING,
	J_INTEGER = JSON_INTEGER,
	J_REAL = JSON_REAL,
	J_TRUE = JSON_TRUE,
	J_FALSE = JSON_FALSE,
	J_NULL = JSON_NULL,
};
#define JSON_NONE	P_NONE
#define JSON_NULL	P_NULL
#define JSON_FALSE	P_FALSE
#define JSON_TRUE	P_TRUE
#define JSON_NUMBER	P_NUMBER
#define JSON_STRING	P_STRING
#define JSON_ARRAY	P_ARRAY
#define JSON_OBJECT	P_OBJECT

#include "../src/porter.h"

/*
 * Where jansson and RFC 8259 (and JSON.parse) part. jansson refuses the
 * first four, which porter takes: such a line is checked against its own
 * verdict, and again rewritten by repair() against jansson. Porter refuses
 * more depth than jansson. And jansson takes one NUL byte it should not:
 * that line is checked again without its NULs.
 */
enum div {
	DIV_NONE = 0,
	DIV_SURROGATE,	/* "\ud800": a lone surrogate escape */
	DIV_BIGINT,	/* an integer beyond a long long */
	DIV_BIGREAL,	/* a number beyond a double: 1e400 */
	DIV_NULKEY,	/* "\u0000" in an object key */
	DIV_DEPTH,	/* 65 to 2048 levels: jansson takes them, porter not */
	DIV_JNUL,	/* jansson skips a NUL byte right after a number or a
			   literal ("[1\0]"): its lexer loses it on unget */
	DIV_COUNT
};
struct members {
	struct json_val	 m_key[MAXMEM];		/* P_NONE: an element */
	struct json_val	 m_val[MAXMEM];
	int		 m_n;
	int		 m_over;
};

static struct members	 pool[JSON_MAX_DEPTH + 1];
static char		 kbuf[LINE_MAX_LEN], sbuf[LINE_MAX_LEN];
/* A json_member_fn: keep the member (or element) in the members arg. */
static void
collect(const struct json_val *key, const struct json_val *val, void *arg)
{
	struct members	*m = arg;

	if (m->m_n == MAXMEM) {
		m->m_over = 1;
		return;
	}
	if (key != NULL)
		m->m_key[m->m_n] = *key;
	else
		m->m_key[m->m_n].j_type = P_NONE;
	m->m_val[m->m_n++] = *val;
}

/* jansson's type, to compare with J_*. */
static int
jtype(const json_t *j)
{
	return (int)json_typeof(j);
}

/* The nesting depth of a jansson value: 0 for a scalar. */
static int
jdepth(const json_t *j)
{
	const char	*k;
	json_t		*v;
	size_t		 i;
	int		 d, max = 0;

	if (jtype(j) == J_ARRAY) {
		json_array_foreach(j, i, v)
			if ((d = jdepth(v)) > max)
				max = d;
		return max + 1;
	}
	if (jtype(j) == J_OBJECT) {
		json_object_foreach((json_t *)(uintptr_t)j, k, v)
			if ((d = jdepth(v)) > max)
				max = d;
		return max + 1;
	}
	return 0;
}

/* A string value: json_str and json_eq against jansson's bytes. */
static void
cmp_string(const char *js, size_t jlen, const struct json_val *v)
{
	ssize_t	n;

	FAIL_IF(v->j_type != P_STRING, "jansson: a string, porter: not");
	FAIL_IF(v->j_len >= sizeof(sbuf) - 1, "string too long for the test");
	n = json_str(v, sbuf, sizeof(sbuf));
	FAIL_IF(n == -1, "json_str failed");
	FAIL_IF((size_t)n != jlen, "json_str: not jansson's length");
	FAIL_IF(memcmp(sbuf, js, jlen) != 0, "json_str: not jansson's bytes");
	FAIL_IF(sbuf[jlen] != '\0', "json_str: no NUL");
	FAIL_IF(json_str(v, sbuf, jlen) != -1, "json_str: fit with no room");
	if (memchr(js, '\0', jlen) != NULL) {
		FAIL_IF(json_eq(v, js) != 0, "json_eq: equal though it has NUL");
		return;
	}
	FAIL_IF(json_eq(v, js) != 1, "json_eq: not equal to jansson's");
	memcpy(sbuf, js, jlen);
	memcpy(sbuf + jlen, "x", 2);
	FAIL_IF(json_eq(v, sbuf) != 0, "json_eq: equal to a longer string");
	if (jlen > 0) {
		sbuf[jlen - 1] = '\0';
		FAIL_IF(json_eq(v, sbuf) != 0,
		    "json_eq: equal to a shorter string");
	}
}

/* The last member of m whose decoded key is k[0..klen), or -1. */
static int
last_member(const struct members *m, const char *k, size_t klen)
{
	ssize_t	n;
	int	i;

	for (i = m->m_n - 1; i >= 0; i--) {
		n = json_str(&m->m_key[i], kbuf, sizeof(kbuf));
		FAIL_IF(n == -1, "json_str on a key failed");
		if ((size_t)n == klen && memcmp(kbuf, k, klen) == 0)
			return i;
	}
	return -1;
}

/* Porter's value v must be jansson's j; depth indexes the member pool. */
static void
cmp_val(const json_t *j, const struct json_val *v, int depth)
{
	struct members	*m;
	struct json_val	 sub;
	const char	*k;
	json_t		*jv;
	size_t		 klen, i;
	long long	 n;
	double		 d;
	ssize_t		 kl;
	int		 last;

	FAIL_IF(depth >= (int)nitems(pool), "deeper than JSON_MAX_DEPTH");
	switch (jtype(j)) {
	case J_NULL:
		FAIL_IF(v->j_type != P_NULL, "jansson: null, porter: not");
		break;
	case J_TRUE:
		FAIL_IF(v->j_type != P_TRUE, "jansson: true, porter: not");
		break;
	case J_FALSE:
		FAIL_IF(v->j_type != P_FALSE, "jansson: false, porter: not");
		break;
	case J_INTEGER:
		FAIL_IF(v->j_type != P_NUMBER, "jansson: integer, porter: not");
		FAIL_IF(json_int(v, &n) == -1, "json_int failed on an integer");
		FAIL_IF(n != json_integer_value(j), "json_int: not jansson's");
		break;
	case J_REAL:
		FAIL_IF(v->j_type != P_NUMBER, "jansson: real, porter: not");
		FAIL_IF(json_int(v, &n) != -1, "json_int took a real");
		FAIL_IF(v->j_len >= sizeof(sbuf), "number too long");
		memcpy(sbuf, v->j_p, v->j_len);
		sbuf[v->j_len] = '\0';
		d = strtod(sbuf, NULL);
		FAIL_IF(d != json_real_value(j) ||
		    !signbit(d) != !signbit(json_real_value(j)),
		    "real: not jansson's value");
		break;
	case J_STRING:
		cmp_string(json_string_value(j), json_string_length(j), v);
		break;
	case J_ARRAY:
		FAIL_IF(v->j_type != P_ARRAY, "jansson: array, porter: not");
		m = &pool[depth];
		m->m_n = m->m_over = 0;
		FAIL_IF(json_elems(v, collect, m) == -1, "json_elems failed");
		FAIL_IF(m->m_over, "too many elements for the test");
		FAIL_IF((size_t)m->m_n != json_array_size(j),
		    "not jansson's number of elements");
		for (i = 0; i < (size_t)m->m_n; i++) {
			FAIL_IF(m->m_key[i].j_type != P_NONE,
			    "json_elems gave a key");
			cmp_val(json_array_get(j, i), &m->m_val[i], depth + 1);
		}
		break;
	case J_OBJECT:
		FAIL_IF(v->j_type != P_OBJECT, "jansson: object, porter: not");
		m = &pool[depth];
		m->m_n = m->m_over = 0;
		FAIL_IF(json_scan(v->j_p, v->j_len, &sub, collect, m) == -1,
		    "json_scan failed on a nested object");
		FAIL_IF(m->m_over, "too many members for the test");
		FAIL_IF(sub.j_type != P_OBJECT || sub.j_p != v->j_p ||
		    sub.j_len != v->j_len, "json_scan: nested object moved");
		/* Every porter key is a jansson key... */
		for (i = 0; i < (size_t)m->m_n; i++) {
			FAIL_IF(m->m_key[i].j_type != P_STRING, "key type");
			kl = json_str(&m->m_key[i], kbuf, sizeof(kbuf));
			FAIL_IF(kl == -1, "json_str on a key failed");
			FAIL_IF(json_object_getn(j, kbuf, (size_t)kl) == NULL,
			    "porter has a key jansson has not");
		}
		/* ...and every jansson member is porter's last one. */
		json_object_keylen_foreach((json_t *)(uintptr_t)j, k, klen,
		    jv) {
			last = last_member(m, k, klen);
			FAIL_IF(last == -1, "jansson has a key porter has not");
			if (strlen(k) == klen)
				FAIL_IF(json_eq(&m->m_key[last], k) != 1,
				    "json_eq: a key not equal to jansson's");
			cmp_val(jv, &m->m_val[last], depth + 1);
		}
		break;
	default:
		FAIL_IF(1, "jansson: unknown type");
	}
}

/* Exercise porter's helpers on all of a value it accepted. */
static void
walk_val(const struct json_val *v, int depth)
{
	struct members	*m;
	struct json_val	 sub;
	long long	 n;
	int		 i;

	FAIL_IF(depth >= (int)nitems(pool), "deeper than JSON_MAX_DEPTH");
	switch (v->j_type) {
	case P_STRING:
		FAIL_IF(json_str(v, sbuf, sizeof(sbuf)) == -1,
		    "json_str failed");
		break;
	case P_NUMBER:
		if (memchr(v->j_p, '.', v->j_len) == NULL &&
		    memchr(v->j_p, 'e', v->j_len) == NULL &&
		    memchr(v->j_p, 'E', v->j_len) == NULL && v->j_len < 19)
			FAIL_IF(json_int(v, &n) == -1, "json_int failed");
		break;
	case P_ARRAY:
	case P_OBJECT:
		m = &pool[depth];
		m->m_n = m->m_over = 0;
		if (v->j_type == P_ARRAY)
			FAIL_IF(json_elems(v, collect, m) == -1,
			    "json_elems failed");
		else {
			FAIL_IF(json_scan(v->j_p, v->j_len, &sub, collect, m)
			    == -1, "json_scan failed on a nested object");
			FAIL_IF(sub.j_type != v->j_type, "nested type");
		}
		FAIL_IF(m->m_over, "too many members for the test");
		for (i = 0; i < m->m_n; i++) {
			if (v->j_type == P_OBJECT)
				walk_val(&m->m_key[i], depth + 1);
			walk_val(&m->m_val[i], depth + 1);
		}
		break;
	case P_NULL:
	case P_TRUE:
	case P_FALSE:
		break;
	default:
		FAIL_IF(1, "porter: bad type");
	}
}

/* jansson's error text starts with what (it goes on " near '...'"). */
static int
jerr(const json_error_t *err, const char *what)
{
	return strncmp(err->text, what, strlen(what)) == 0;
}

/* Which divergence, if any, explains jansson's verdict j/err on s. */
static enum div
divergence(const char *s, size_t len, const json_t *j,
    const json_error_t *err)
{
	if (j != NULL && memchr(s, '\0', len) != NULL)
		return DIV_JNUL;
	if (j != NULL)
		return jdepth(j) > JSON_MAX_DEPTH ? DIV_DEPTH : DIV_NONE;
	if (jerr(err, "invalid Unicode '"))
		return DIV_SURROGATE;
	if (jerr(err, "too big integer") ||
	    jerr(err, "too big negative integer"))
		return DIV_BIGINT;
	if (jerr(err, "real number overflow"))
		return DIV_BIGREAL;
	if (jerr(err, "NUL byte in object key not supported"))
		return DIV_NULKEY;
	return DIV_NONE;
}

#endif /* JSON_DIFF_H */
