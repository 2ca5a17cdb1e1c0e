/*
 * ipc.c: porter's protocol over a channel, in one place. Every message
 * porter sends has a typed sender here, and every line received is parsed
 * once, by ipc_parse(), into a struct ipc_msg. The wire format is Node's
 * (node-ipc.md): JSON lines, internal messages named by "cmd", and an fd
 * on a NODE_HANDLE message only.
 */
#include "config.h"

#include <arpa/inet.h>

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
/* A handle message without its fd: a Node child answers NACK once its
 * event loop runs, that is once its main module has run. */
static const char	msg_probe[] =
    "{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Socket\",\"msg\":\"probe\"}";

/* Node's cluster messages carry a seq each; porter's count from 0. */
static long long	cluster_seq;

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

/* Master to a Node child: its event loop turned yet? (answered NACK) */
int
ipc_send_probe(struct channel *ch)
{
	return channel_send(ch, msg_probe, sizeof(msg_probe) - 1, -1);
}

/* key as a JSON string's content, into buf; -1 if it does not fit. */
static int
ipc_key(char *buf, size_t size, const char *key)
{
	size_t	n = strlen(key);

	/* log_json_escape truncates: leave room to tell. */
	if (log_json_escape(buf, size, key, n) >= size - 1)
		return -1;
	return 0;
}

/*
 * Master to cluster worker: the answer to its queryServer (seq ack). With
 * fd, the socket itself (shared: the worker accepts); else errno if the
 * bind failed, or round-robin (porter accepts; sockname: what
 * server.address() returns, NULL for a unix socket). data: the server's
 * data as JSON text (TLS ticket keys), or NULL.
 */
int
ipc_send_query_reply(struct channel *ch, long long ack, int err,
    const char *key, const char *data, const struct sockaddr *sockname,
    int fd)
{
	char		 buf[CLUSTER_DATA_MAX + 1024], k[512], host[64];
	const char	*family = NULL;
	int		 n, port = 0;

	if (ipc_key(k, sizeof(k), key) == -1)
		return -1;
	if (data == NULL)
		data = "null";
	if (fd != -1)
		n = snprintf(buf, sizeof(buf), "{\"cmd\":\"NODE_HANDLE\","
		    "\"type\":\"net.Native\",\"msg\":{\"cmd\":"
		    "\"NODE_CLUSTER\",\"errno\":0,\"key\":\"%s\",\"ack\":%lld,"
		    "\"data\":%s,\"seq\":%lld}}", k, ack, data, cluster_seq++);
	else if (err != 0)
		n = snprintf(buf, sizeof(buf), "{\"cmd\":\"NODE_CLUSTER\","
		    "\"errno\":%d,\"key\":\"%s\",\"ack\":%lld,\"data\":%s,"
		    "\"seq\":%lld}", -err, k, ack, data, cluster_seq++);
	else {
		if (sockname != NULL && sockname->sa_family == AF_INET) {
			const struct sockaddr_in *sin = (const void *)sockname;

			inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
			port = ntohs(sin->sin_port);
			family = "IPv4";
		} else if (sockname != NULL &&
		    sockname->sa_family == AF_INET6) {
			const struct sockaddr_in6 *sin6 = (const void *)sockname;

			inet_ntop(AF_INET6, &sin6->sin6_addr, host,
			    sizeof(host));
			port = ntohs(sin6->sin6_port);
			family = "IPv6";
		}
		if (family != NULL)
			n = snprintf(buf, sizeof(buf), "{\"cmd\":"
			    "\"NODE_CLUSTER\",\"errno\":null,\"key\":\"%s\","
			    "\"ack\":%lld,\"data\":%s,\"sockname\":{"
			    "\"address\":\"%s\",\"family\":\"%s\",\"port\":%d},"
			    "\"seq\":%lld}", k, ack, data, host, family, port,
			    cluster_seq++);
		else
			n = snprintf(buf, sizeof(buf), "{\"cmd\":"
			    "\"NODE_CLUSTER\",\"errno\":null,\"key\":\"%s\","
			    "\"ack\":%lld,\"data\":%s,\"seq\":%lld}", k, ack,
			    data, cluster_seq++);
	}
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	return channel_send(ch, buf, (size_t)n, fd);
}

/*
 * Master to cluster worker (round-robin): a client of the server key.
 * Returns the message's seq, which the worker's answer acks, or -1.
 */
long long
ipc_send_newconn(struct channel *ch, int fd, const char *key)
{
	char	k[512];

	if (ipc_key(k, sizeof(k), key) == -1 ||
	    channel_sendf(ch, fd, "{\"cmd\":\"NODE_HANDLE\",\"type\":"
	    "\"net.Native\",\"msg\":{\"cmd\":\"NODE_CLUSTER\",\"act\":"
	    "\"newconn\",\"key\":\"%s\",\"seq\":%lld}}", k, cluster_seq) ==
	    -1)
		return -1;
	return cluster_seq++;
}

/* Master to cluster worker: close your servers, finish, exit. */
int
ipc_send_disconnect(struct channel *ch)
{
	return channel_sendf(ch, -1, "{\"cmd\":\"NODE_CLUSTER\",\"act\":"
	    "\"disconnect\",\"seq\":%lld}", cluster_seq++);
}

/* Master to cluster worker: its request seq ack is done (the answer
 * exitedAfterDisconnect waits for). */
int
ipc_send_cluster_ack(struct channel *ch, long long ack)
{
	return channel_sendf(ch, -1, "{\"cmd\":\"NODE_CLUSTER\",\"ack\":%lld,"
	    "\"seq\":%lld}", ack, cluster_seq++);
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
	F_ADDRESS,
	F_ADDRESSTYPE,
	F_BACKLOG,
	F_CMD,
	F_DATA,
	F_ERRNO,
	F_FD,
	F_FLAGS,
	F_INDEX,
	F_KEY,
	F_MSG,
	F_PID,
	F_PORT,
	F_SEQ,
	F_TYPE,
};

static const struct ipc_name fields[] = {
	{ "accepted",	F_ACCEPTED },
	{ "ack",	F_ACK },
	{ "act",	F_ACT },
	{ "active",	F_ACTIVE },
	{ "address",	F_ADDRESS },
	{ "addressType", F_ADDRESSTYPE },
	{ "backlog",	F_BACKLOG },
	{ "cmd",	F_CMD },
	{ "data",	F_DATA },
	{ "errno",	F_ERRNO },
	{ "fd",		F_FD },
	{ "flags",	F_FLAGS },
	{ "index",	F_INDEX },
	{ "key",	F_KEY },
	{ "msg",	F_MSG },
	{ "pid",	F_PID },
	{ "port",	F_PORT },
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
	case F_ADDRESS:
		m->im_address = *v;
		break;
	case F_ADDRESSTYPE:
		m->im_addrtype = *v;
		break;
	case F_BACKLOG:
		m->im_backlog = ipc_int(v);
		break;
	case F_DATA:
		m->im_data = *v;
		break;
	case F_FD:
		m->im_fd = *v;
		break;
	case F_FLAGS:
		m->im_flags = ipc_int(v);
		break;
	case F_INDEX:
		m->im_index = *v;
		break;
	case F_PORT:
		m->im_port = *v;
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
	    m->im_accepted = m->im_backlog = m->im_flags = IPC_ABSENT;
	m->im_ok = -1;
	if (json_scan(line, len, &top, ipc_member, m) == -1) {
		memset(m, 0, sizeof(*m));	/* what it saw means nothing */
		return -1;
	}
	return 0;
}
