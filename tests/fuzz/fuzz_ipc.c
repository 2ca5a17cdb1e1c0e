/*
 * fuzz_ipc.c: libFuzzer target for the IPC lines, differential. The input
 * is one line as a worker may send it: porter's JSON scanner and jansson
 * must agree on it (same verdict, same values, all the way down) except
 * where tests/check_json.c documents that jansson is stricter than RFC
 * 8259; and ipc_parse() must read the members porter knows as jansson does.
 * The comparison is check_json.c's, with abort() in place of check's
 * asserts so that libFuzzer keeps the input.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* jansson's JSON_* and porter's enum json_type collide: as check_json.c. */
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

#include "../../src/porter.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define LINE_MAX_LEN	8192	/* longer inputs are not compared */
#define MAXMEM		(LINE_MAX_LEN / 2 + 1)	/* "1," per element */

/* Where jansson is stricter than RFC 8259 (check_json.c's enum div). */
enum div {
	DIV_NONE = 0,
	DIV_SURROGATE,	/* "\ud800": a lone surrogate escape */
	DIV_BIGINT,	/* an integer beyond a long long */
	DIV_BIGREAL,	/* a number beyond a double: 1e400 */
	DIV_NULKEY,	/* "\u0000" in an object key */
	DIV_DEPTH,	/* 65 to 2048 levels: jansson takes them, porter not */
	DIV_JNUL,	/* jansson skips a NUL byte right after a number or a
			   literal ("[1\0]"): its lexer loses it on unget */
};

struct members {
	struct json_val	 m_key[MAXMEM];		/* P_NONE: an element */
	struct json_val	 m_val[MAXMEM];
	int		 m_n;
	int		 m_over;
};

static struct members	 pool[JSON_MAX_DEPTH + 1];
static char		 kbuf[LINE_MAX_LEN], sbuf[LINE_MAX_LEN];
static char		 nonul[LINE_MAX_LEN];

#define FAIL_IF(cond, what) do {					\
	if (cond) {							\
		fprintf(stderr, "fuzz_ipc.c:%d: %s\n", __LINE__, (what)); \
		abort();						\
	}								\
} while (0)

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
	FAIL_IF(v->j_len >= sizeof(sbuf) - 1, "string too long");
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

/* What ipc.c should make of a string member: as its tables, by bytes. */
static int
name_value(const json_t *v, const char *const *names, const int *values,
    int other, int none)
{
	size_t	len;
	int	i;

	if (v == NULL || jtype(v) != J_STRING)
		return none;
	len = json_string_length(v);
	for (i = 0; names[i] != NULL; i++)
		if (strlen(names[i]) == len &&
		    memcmp(names[i], json_string_value(v), len) == 0)
			return values[i];
	return other;
}

static long long
int_value(const json_t *v)
{
	return v != NULL && jtype(v) == J_INTEGER ? json_integer_value(v) :
	    IPC_ABSENT;
}

static const char *const cmd_names[] = { "NODE_CLUSTER", "NODE_HANDLE",
    "NODE_HANDLE_ACK", "NODE_HANDLE_NACK", "PORTER_LOAD", "PORTER_READY",
    NULL };
static const int cmd_values[] = { IPC_NODE_CLUSTER, IPC_NODE_HANDLE,
    IPC_NODE_HANDLE_ACK, IPC_NODE_HANDLE_NACK, IPC_PORTER_LOAD,
    IPC_PORTER_READY };
static const char *const act_names[] = { "close", "disconnect",
    "exitedAfterDisconnect", "listening", "newconn", "online", "queryServer",
    "suicide", NULL };
static const int act_values[] = { IPC_ACT_CLOSE, IPC_ACT_DISCONNECT,
    IPC_ACT_EXITED, IPC_ACT_LISTENING, IPC_ACT_NEWCONN, IPC_ACT_ONLINE,
    IPC_ACT_QUERYSERVER, IPC_ACT_SUICIDE };
static const char *const type_names[] = { "net.Native", "net.Server",
    "net.Socket", NULL };
static const int type_values[] = { IPC_TYPE_NATIVE, IPC_TYPE_SERVER,
    IPC_TYPE_SOCKET };

/* ipc_parse()'s reading of a line jansson read as j. */
static void
cmp_ipc(const json_t *j, const struct ipc_msg *m)
{
	const json_t	*v;
	int		 obj = jtype(j) == J_OBJECT;

#define MEMBER(name)	(obj ? json_object_get(j, (name)) : NULL)
	FAIL_IF((int)m->im_cmd != name_value(MEMBER("cmd"), cmd_names,
	    cmd_values, IPC_OTHER, IPC_NONE), "ipc: cmd");
	FAIL_IF((int)m->im_act != name_value(MEMBER("act"), act_names,
	    act_values, IPC_ACT_OTHER, IPC_ACT_NONE), "ipc: act");
	FAIL_IF((int)m->im_type != name_value(MEMBER("type"), type_names,
	    type_values, IPC_TYPE_OTHER, IPC_TYPE_NONE), "ipc: type");
	FAIL_IF(m->im_seq != int_value(MEMBER("seq")), "ipc: seq");
	FAIL_IF(m->im_ack != int_value(MEMBER("ack")), "ipc: ack");
	FAIL_IF(m->im_errno != int_value(MEMBER("errno")), "ipc: errno");
	FAIL_IF(m->im_pid != int_value(MEMBER("pid")), "ipc: pid");
	FAIL_IF(m->im_active != int_value(MEMBER("active")), "ipc: active");
	v = MEMBER("accepted");
	FAIL_IF(m->im_accepted != int_value(v), "ipc: accepted");
	FAIL_IF(m->im_ok != (v == NULL ? -1 : jtype(v) == J_TRUE ? 1 :
	    jtype(v) == J_FALSE ? 0 : -1), "ipc: accepted as a boolean");
	if ((v = MEMBER("key")) == NULL)
		FAIL_IF(m->im_key.j_type != P_NONE, "ipc: key");
	else
		cmp_val(v, &m->im_key, 1);
	if ((v = MEMBER("msg")) == NULL)
		FAIL_IF(m->im_msg.j_type != P_NONE, "ipc: msg");
	else
		cmp_val(v, &m->im_msg, 1);
#undef MEMBER
}

/* Porter and jansson on one line. */
static void
diff_line(const char *s, size_t len)
{
	json_error_t	 err;
	json_t		*j;
	struct json_val	 top;
	struct ipc_msg	 m;
	enum div	 dv;
	const char	*p, *end = s + len;
	size_t		 n;
	int		 pok, jok, iok;

	j = json_loadb(s, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	jok = j != NULL;
	pok = json_scan(s, len, &top, NULL, NULL) == 0;
	iok = ipc_parse(s, len, &m) == 0;
	FAIL_IF(iok != pok, "ipc_parse and json_scan disagree");
	dv = divergence(s, len, j, &err);
	switch (dv) {
	case DIV_NONE:
		FAIL_IF(pok != jok, pok ? "porter accepts, jansson rejects" :
		    "porter rejects, jansson accepts");
		break;
	case DIV_DEPTH:
		FAIL_IF(pok, "porter accepts more than JSON_MAX_DEPTH levels");
		break;
	case DIV_JNUL:
		FAIL_IF(pok, "porter accepts a NUL byte");
		FAIL_IF(s == nonul, "jansson skips a NUL it does not have");
		/* What jansson read: the line without its NULs. */
		for (p = s, n = 0; p < end; p++)
			if (*p != '\0')
				nonul[n++] = *p;
		json_decref(j);
		j = json_loadb(nonul, n, JSON_DECODE_ANY | JSON_ALLOW_NUL,
		    &err);
		FAIL_IF(j == NULL, "jansson skips more than a NUL");
		json_decref(j);
		diff_line(nonul, n);
		return;
	default:
		/* jansson is stricter: either verdict may be right. */
		break;
	}
	if (!pok) {
		FAIL_IF(top.j_type != P_NONE, "rejected, top set");
		FAIL_IF(m.im_cmd != IPC_NONE || m.im_key.j_type != P_NONE ||
		    m.im_seq != 0, "ipc_parse: rejected, not cleared");
		json_decref(j);
		return;
	}
	/* top is the text without its whitespace. */
	for (p = s; p < end && (*p == ' ' || *p == '\t' || *p == '\r' ||
	    *p == '\n'); p++)
		;
	FAIL_IF(top.j_p != p, "top does not start at the value");
	for (p = top.j_p + top.j_len; p < end && (*p == ' ' || *p == '\t' ||
	    *p == '\r' || *p == '\n'); p++)
		;
	FAIL_IF(p != end, "top does not end at the value");
	walk_val(&top, 0);
	if (jok) {
		cmp_val(j, &top, 0);
		cmp_ipc(j, &m);
	}
	json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < LINE_MAX_LEN)
		diff_line((const char *)data, size);
	return 0;
}
