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

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define LINE_MAX_LEN	8192	/* longer inputs are not compared */
#define MAXMEM		(LINE_MAX_LEN / 2 + 1)	/* "1," per element */

static char		 nonul[LINE_MAX_LEN];

#define FAIL_IF(cond, what) do {					\
	if (cond) {							\
		fprintf(stderr, "fuzz_ipc.c:%d: %s\n", __LINE__, (what)); \
		abort();						\
	}								\
} while (0)

#include "../json_diff.h"

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
