/*
 * ipc.c: porter's protocol over a channel, in one place. Every message
 * porter sends has a typed sender here, and every line received is parsed
 * once, by ipc_parse(), into a struct ipc_msg. The wire format is Node's
 * (node-ipc.md): JSON lines, internal messages named by "cmd", and an fd
 * on a NODE_HANDLE message only.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "porter.h"

/* What Node's child.send(msg, handle) writes; "msg" is what a Node
 * script's process.on('message', (m, handle)) sees. */
static const char	msg_socket[] =
    "{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Socket\",\"msg\":\"socket\"}";
static const char	msg_server[] =
    "{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Server\",\"msg\":\"server\"}";
static const char	msg_ack[] = "{\"cmd\":\"NODE_HANDLE_ACK\"}";
static const char	msg_nack[] = "{\"cmd\":\"NODE_HANDLE_NACK\"}";
static const char	msg_suicide[] = "{\"act\":\"suicide\"}";

/* Master to worker (handoff): a client socket. */
int
ipc_send_socket(struct channel *ch, int fd)
{
	return channel_send(ch, msg_socket, sizeof(msg_socket) - 1, fd);
}

/* Master to worker (shared): a listening socket. */
int
ipc_send_server(struct channel *ch, int fd)
{
	return channel_send(ch, msg_server, sizeof(msg_server) - 1, fd);
}

/* Worker to master: the handle's fd arrived (or not). */
int
ipc_send_ack(struct channel *ch)
{
	return channel_send(ch, msg_ack, sizeof(msg_ack) - 1, -1);
}

int
ipc_send_nack(struct channel *ch)
{
	return channel_send(ch, msg_nack, sizeof(msg_nack) - 1, -1);
}

/* Built-in worker to master: it serves from now on. */
int
ipc_send_ready(struct channel *ch, pid_t pid)
{
	return channel_sendf(ch, -1, "{\"cmd\":\"PORTER_READY\",\"pid\":%ld}",
	    (long)pid);
}

/* Built-in worker to master: its live and total connections. */
int
ipc_send_load(struct channel *ch, unsigned int active, uint64_t accepted)
{
	return channel_sendf(ch, -1, "{\"cmd\":\"PORTER_LOAD\",\"active\":%u,"
	    "\"accepted\":%llu}", active, (unsigned long long)accepted);
}

/* Worker to master: replace me (Node cluster's idiom). */
/* The error_log the master has now: for the built-in worker's stderr. */
int
ipc_send_stderr(struct channel *ch, int fd)
{
	return channel_sendf(ch, fd, "{\"cmd\":\"PORTER_STDERR\"}");
}

int
ipc_send_suicide(struct channel *ch)
{
	return channel_send(ch, msg_suicide, sizeof(msg_suicide) - 1, -1);
}

/* Names as they go over the wire, each with its value; sorted by name. */
struct ipc_name {
	const char	*in_name;
	int		 in_value;
};

static const struct ipc_name cmds[] = {
	{ "NODE_CLUSTER",	IPC_NODE_CLUSTER },
	{ "NODE_HANDLE",	IPC_NODE_HANDLE },
	{ "NODE_HANDLE_ACK",	IPC_NODE_HANDLE_ACK },
	{ "NODE_HANDLE_NACK",	IPC_NODE_HANDLE_NACK },
	{ "PORTER_LOAD",	IPC_PORTER_LOAD },
	{ "PORTER_READY",	IPC_PORTER_READY },
	{ "PORTER_STDERR",	IPC_PORTER_STDERR },
};

static const struct ipc_name acts[] = {
	{ "close",			IPC_ACT_CLOSE },
	{ "disconnect",			IPC_ACT_DISCONNECT },
	{ "exitedAfterDisconnect",	IPC_ACT_EXITED },
	{ "listening",			IPC_ACT_LISTENING },
	{ "newconn",			IPC_ACT_NEWCONN },
	{ "online",			IPC_ACT_ONLINE },
	{ "queryServer",		IPC_ACT_QUERYSERVER },
	{ "suicide",			IPC_ACT_SUICIDE },
};

static const struct ipc_name types[] = {
	{ "net.Native",		IPC_TYPE_NATIVE },
	{ "net.Server",		IPC_TYPE_SERVER },
	{ "net.Socket",		IPC_TYPE_SOCKET },
};

/* The members porter reads, by name; sorted. */
enum ipc_field {
	F_ACCEPTED = 0,
	F_ACK,
	F_ACT,
	F_ACTIVE,
	F_CMD,
	F_ERRNO,
	F_KEY,
	F_MSG,
	F_PID,
	F_SEQ,
	F_TYPE,
};

static const struct ipc_name fields[] = {
	{ "accepted",	F_ACCEPTED },
	{ "ack",	F_ACK },
	{ "act",	F_ACT },
	{ "active",	F_ACTIVE },
	{ "cmd",	F_CMD },
	{ "errno",	F_ERRNO },
	{ "key",	F_KEY },
	{ "msg",	F_MSG },
	{ "pid",	F_PID },
	{ "seq",	F_SEQ },
	{ "type",	F_TYPE },
};

static int
ipc_namecmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct ipc_name *)elem)->in_name);
}

/*
 * The value of a string v in the table, other if it is a string not
 * there, none if it is not a string at all.
 */
static int
ipc_lookup(const struct json_val *v, const struct ipc_name *tab, size_t n,
    int other, int none)
{
	const struct ipc_name	*in;
	char			 buf[32];
	ssize_t			 len;

	if (v->j_type != JSON_STRING)
		return none;
	if ((len = json_str(v, buf, sizeof(buf))) == -1 ||
	    (size_t)len != strlen(buf))
		return other;		/* too long, or a NUL inside */
	in = bsearch(buf, tab, n, sizeof(*tab), ipc_namecmp);
	return in == NULL ? other : in->in_value;
}

static long long
ipc_int(const struct json_val *v)
{
	long long	n;

	return json_int(v, &n) == 0 ? n : IPC_ABSENT;
}

/* One top-level member: the last of a repeated name wins, as in Node. */
static void
ipc_member(const struct json_val *k, const struct json_val *v, void *arg)
{
	struct ipc_msg	*m = arg;

	switch (ipc_lookup(k, fields, nitems(fields), -1, -1)) {
	case F_ACCEPTED:
		m->im_accepted = ipc_int(v);
		m->im_ok = v->j_type == JSON_TRUE ? 1 :
		    v->j_type == JSON_FALSE ? 0 : -1;
		break;
	case F_ACK:
		m->im_ack = ipc_int(v);
		break;
	case F_ACT:
		m->im_act = (enum ipc_act)ipc_lookup(v, acts, nitems(acts),
		    IPC_ACT_OTHER, IPC_ACT_NONE);
		break;
	case F_ACTIVE:
		m->im_active = ipc_int(v);
		break;
	case F_CMD:
		m->im_cmd = (enum ipc_cmd)ipc_lookup(v, cmds, nitems(cmds),
		    IPC_OTHER, IPC_NONE);
		break;
	case F_ERRNO:
		m->im_errno = ipc_int(v);
		break;
	case F_KEY:
		m->im_key = *v;
		break;
	case F_MSG:
		m->im_msg = *v;
		break;
	case F_PID:
		m->im_pid = ipc_int(v);
		break;
	case F_SEQ:
		m->im_seq = ipc_int(v);
		break;
	case F_TYPE:
		m->im_type = (enum ipc_type)ipc_lookup(v, types, nitems(types),
		    IPC_TYPE_OTHER, IPC_TYPE_NONE);
		break;
	default:
		break;
	}
}

/*
 * Parse one received line, once, into m. Returns -1 if it is not JSON.
 * A line that is JSON but not an object (a script may send anything) has
 * no cmd and no act. Strings in m (key, msg) point into line.
 */
int
ipc_parse(const char *line, size_t len, struct ipc_msg *m)
{
	struct json_val	top;

	memset(m, 0, sizeof(*m));
	m->im_seq = m->im_ack = m->im_errno = m->im_pid = m->im_active =
	    m->im_accepted = IPC_ABSENT;
	m->im_ok = -1;
	if (json_scan(line, len, &top, ipc_member, m) == -1) {
		memset(m, 0, sizeof(*m));	/* what it saw means nothing */
		return -1;
	}
	return 0;
}
