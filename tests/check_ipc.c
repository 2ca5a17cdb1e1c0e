/*
 * check_ipc.c: porter's protocol on the channel: every sender's line read
 * back by ipc_parse() through a real socketpair, and the parser on the
 * lines Node and porter's workers send (last repeated member wins).
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "../src/porter.h"
#include "check_run.h"

static struct event_base	*base;
static struct channel		*tx, *rx;
static struct ipc_msg		 got[8];
static char			 lines[8][256];
static int			 gotfd[8];
static int			 ngot;

static void
msg_cb(struct channel *ch, const char *line, size_t len, void *arg)
{
	(void)arg;
	ck_assert_int_lt(ngot, 8);
	ck_assert_uint_lt(len, sizeof(lines[0]));
	memcpy(lines[ngot], line, len + 1);
	ck_assert_int_eq(ipc_parse(lines[ngot], len, &got[ngot]), 0);
	gotfd[ngot] = got[ngot].im_cmd == IPC_NODE_HANDLE ?
	    channel_take_fd(ch) : -1;
	ngot++;
}

static void
close_cb(struct channel *ch, const char *why, void *arg)
{
	(void)why;
	(void)arg;
	(void)ch;
}

static void
setup(void)
{
	int	sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK,
	    0, sv), 0);
	ck_assert_ptr_nonnull(base = event_base_new());
	ck_assert_ptr_nonnull(tx = channel_new(base, sv[0], msg_cb, close_cb,
	    NULL));
	ck_assert_ptr_nonnull(rx = channel_new(base, sv[1], msg_cb, close_cb,
	    NULL));
	ngot = 0;
}

static void
teardown(void)
{
	channel_free(tx);
	channel_free(rx);
	event_base_free(base);
}

static void
run_until(int n)
{
	int	i;

	for (i = 0; i < 1000 && ngot < n; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (ngot < n)
			usleep(1000);
	}
	ck_assert_int_eq(ngot, n);
}

/* Parse a C string; the test fails if it is not JSON. */
static struct ipc_msg
P(const char *s)
{
	struct ipc_msg	m;

	ck_assert_int_eq(ipc_parse(s, strlen(s), &m), 0);
	return m;
}

START_TEST(test_senders_round_trip)
{
	int	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(ipc_send_socket(tx, fd), 0);
	ck_assert_int_eq(ipc_send_server(tx, fd), 0);
	ck_assert_int_eq(ipc_send_ack(tx), 0);
	ck_assert_int_eq(ipc_send_nack(tx), 0);
	ck_assert_int_eq(ipc_send_ready(tx, 4242), 0);
	ck_assert_int_eq(ipc_send_load(tx, 7, 123456789012ULL), 0);
	ck_assert_int_eq(ipc_send_suicide(tx), 0);
	run_until(7);
	close(fd);

	ck_assert_int_eq(got[0].im_cmd, IPC_NODE_HANDLE);
	ck_assert_int_eq(got[0].im_type, IPC_TYPE_SOCKET);
	ck_assert_int_ne(gotfd[0], -1);
	ck_assert_int_eq(got[1].im_cmd, IPC_NODE_HANDLE);
	ck_assert_int_eq(got[1].im_type, IPC_TYPE_SERVER);
	ck_assert_int_ne(gotfd[1], -1);
	close(gotfd[0]);
	close(gotfd[1]);
	/* What a Node script's 'message' listener sees as msg. */
	ck_assert_int_eq(got[0].im_msg.j_type, JSON_STRING);
	ck_assert(json_eq(&got[0].im_msg, "socket"));
	ck_assert(json_eq(&got[1].im_msg, "server"));
	ck_assert_int_eq(got[2].im_cmd, IPC_NODE_HANDLE_ACK);
	ck_assert_int_eq(got[3].im_cmd, IPC_NODE_HANDLE_NACK);
	ck_assert_int_eq(got[4].im_cmd, IPC_PORTER_READY);
	ck_assert_int_eq(got[4].im_pid, 4242);
	ck_assert_int_eq(got[5].im_cmd, IPC_PORTER_LOAD);
	ck_assert_int_eq(got[5].im_active, 7);
	ck_assert_int_eq(got[5].im_accepted, 123456789012LL);
	ck_assert_int_eq(got[6].im_cmd, IPC_NONE);
	ck_assert_int_eq(got[6].im_act, IPC_ACT_SUICIDE);
}
END_TEST

/* Node cluster's primary side: each sender's line, as a worker reads it. */
START_TEST(test_cluster_senders)
{
	struct sockaddr_in	 sin;
	long long		 seq;
	int			 fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	char			 key[128];

	ck_assert_int_ne(fd, -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(8080);
	sin.sin_addr.s_addr = htonl(0x7f000001);
	/* round-robin: no fd, a sockname; shared: the fd; a failed bind */
	ck_assert_int_eq(ipc_send_query_reply(tx, 1, 0, "null:8080:4:"
	    "undefined:0", "{\"ticketKeys\":\"AAAA\"}",
	    (struct sockaddr *)&sin, -1), 0);
	ck_assert_int_eq(ipc_send_query_reply(tx, 2, 0, "/tmp/a \"b\".sock",
	    NULL, NULL, fd), 0);
	ck_assert_int_eq(ipc_send_query_reply(tx, 3, 98, "k", NULL, NULL, -1),
	    0);
	ck_assert((seq = ipc_send_newconn(tx, fd, "null:8080:4:undefined:0"))
	    >= 0);
	ck_assert_int_eq(ipc_send_disconnect(tx), 0);
	ck_assert_int_eq(ipc_send_cluster_ack(tx, 7), 0);
	ck_assert_int_eq(ipc_send_probe(tx), 0);
	run_until(7);
	close(fd);

	ck_assert_int_eq(got[0].im_cmd, IPC_NODE_CLUSTER);
	ck_assert_int_eq(got[0].im_ack, 1);
	ck_assert_int_eq(got[0].im_errno, IPC_ABSENT);	/* null */
	ck_assert(json_eq(&got[0].im_key, "null:8080:4:undefined:0"));
	ck_assert_int_eq(got[0].im_data.j_type, JSON_OBJECT);
	ck_assert(strstr(lines[0], "\"sockname\":{\"address\":\"127.0.0.1\","
	    "\"family\":\"IPv4\",\"port\":8080}") != NULL);
	ck_assert_int_eq(gotfd[0], -1);

	/* shared: a net.Native handle, the reply inside its msg */
	ck_assert_int_eq(got[1].im_cmd, IPC_NODE_HANDLE);
	ck_assert_int_eq(got[1].im_type, IPC_TYPE_NATIVE);
	ck_assert_int_ne(gotfd[1], -1);
	close(gotfd[1]);
	ck_assert_int_eq(got[1].im_msg.j_type, JSON_OBJECT);
	ck_assert(strstr(lines[1], "\"errno\":0,\"key\":\"/tmp/a \\\"b\\\""
	    ".sock\",\"ack\":2,\"data\":null") != NULL);

	/* a failed bind: Node's negative errno, no sockname */
	ck_assert_int_eq(got[2].im_errno, -98);
	ck_assert_int_eq(got[2].im_ack, 3);
	ck_assert(strstr(lines[2], "sockname") == NULL);

	/* newconn: the client's fd, the key, and the seq its answer acks */
	ck_assert_int_eq(got[3].im_cmd, IPC_NODE_HANDLE);
	ck_assert_int_eq(got[3].im_type, IPC_TYPE_NATIVE);
	ck_assert_int_ne(gotfd[3], -1);
	close(gotfd[3]);
	snprintf(key, sizeof(key), "\"act\":\"newconn\",\"key\":\"null:"
	    "8080:4:undefined:0\",\"seq\":%lld}}", seq);
	ck_assert_msg(strstr(lines[3], key) != NULL, "%s", lines[3]);

	ck_assert_int_eq(got[4].im_cmd, IPC_NODE_CLUSTER);
	ck_assert_int_eq(got[4].im_act, IPC_ACT_DISCONNECT);
	ck_assert(got[4].im_seq > seq);
	ck_assert_int_eq(got[5].im_ack, 7);
	ck_assert(got[5].im_seq > got[4].im_seq);
	/* the probe: a handle message that carries no fd */
	ck_assert_int_eq(got[6].im_cmd, IPC_NODE_HANDLE);
	ck_assert_int_eq(gotfd[6], -1);

	/* A key too long to be one is refused, not cut. */
	memset(lines[7], 'k', 255);
	lines[7][255] = '\0';
	ck_assert_int_eq(ipc_send_query_reply(tx, 1, 0, lines[7], NULL, NULL,
	    -1), 0);
	{
		char	 big[600];

		memset(big, 'k', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		ck_assert_int_eq(ipc_send_newconn(tx, -1, big), -1);
	}
}
END_TEST

START_TEST(test_parse_node_lines)
{
	struct ipc_msg	m;

	m = P("{\"cmd\":\"NODE_HANDLE_ACK\"}");
	ck_assert_int_eq(m.im_cmd, IPC_NODE_HANDLE_ACK);
	ck_assert_int_eq(m.im_act, IPC_ACT_NONE);
	ck_assert(m.im_seq == IPC_ABSENT);

	/* Node cluster's queryServer, as a worker sends it. */
	m = P("{\"cmd\":\"NODE_CLUSTER\",\"act\":\"queryServer\",\"index\":0,"
	    "\"data\":null,\"address\":null,\"port\":3000,\"addressType\":4,"
	    "\"backlog\":0,\"seq\":1}");
	ck_assert_int_eq(m.im_cmd, IPC_NODE_CLUSTER);
	ck_assert_int_eq(m.im_act, IPC_ACT_QUERYSERVER);
	ck_assert_int_eq(m.im_seq, 1);
	/* what Node's key is made of, raw */
	ck_assert_int_eq(m.im_address.j_type, JSON_NULL);
	ck_assert_int_eq(m.im_port.j_type, JSON_NUMBER);
	ck_assert_int_eq(m.im_addrtype.j_type, JSON_NUMBER);
	ck_assert_int_eq(m.im_fd.j_type, JSON_NONE);	/* undefined */
	ck_assert_int_eq(m.im_index.j_type, JSON_NUMBER);
	ck_assert_int_eq(m.im_data.j_type, JSON_NULL);
	ck_assert_int_eq(m.im_backlog, 0);
	ck_assert(m.im_flags == IPC_ABSENT);
	/* a unix socket, and UDP, with fields as loose as Node's */
	m = P("{\"cmd\":\"NODE_CLUSTER\",\"act\":\"queryServer\",\"index\":1,"
	    "\"data\":{\"ticketKeys\":\"x\"},\"address\":\"/tmp/s\",\"port\":-1,"
	    "\"addressType\":-1,\"backlog\":false,\"flags\":0,\"seq\":4}");
	ck_assert(json_eq(&m.im_address, "/tmp/s"));
	ck_assert(m.im_backlog == IPC_ABSENT);
	ck_assert_int_eq(m.im_flags, 0);
	ck_assert_int_eq(m.im_data.j_type, JSON_OBJECT);
	m = P("{\"cmd\":\"NODE_CLUSTER\",\"act\":\"queryServer\","
	    "\"addressType\":\"udp4\",\"port\":53}");
	ck_assert_int_eq(m.im_addrtype.j_type, JSON_STRING);
	/* listening: the same message, the real port */
	m = P("{\"cmd\":\"NODE_CLUSTER\",\"act\":\"listening\",\"port\":3000,"
	    "\"seq\":2}");
	ck_assert_int_eq(m.im_act, IPC_ACT_LISTENING);

	/* Its reply to newconn: accepted is a boolean there. */
	m = P("{\"cmd\":\"NODE_CLUSTER\",\"ack\":5,\"accepted\":true,\"seq\":2}");
	ck_assert_int_eq(m.im_ack, 5);
	ck_assert_int_eq(m.im_ok, 1);
	ck_assert(m.im_accepted == IPC_ABSENT);
	m = P("{\"cmd\":\"NODE_CLUSTER\",\"ack\":5,\"accepted\":false}");
	ck_assert_int_eq(m.im_ok, 0);

	m = P("{\"cmd\":\"NODE_CLUSTER\",\"errno\":-98,\"key\":\"null:3000:4:"
	    "undefined:0\",\"ack\":1}");
	ck_assert_int_eq(m.im_errno, -98);
	ck_assert_int_eq(m.im_key.j_type, JSON_STRING);
	ck_assert(json_eq(&m.im_key, "null:3000:4:undefined:0"));

	/* A script's own messages. */
	m = P("{\"act\":\"suicide\"}");
	ck_assert_int_eq(m.im_cmd, IPC_NONE);
	ck_assert_int_eq(m.im_act, IPC_ACT_SUICIDE);
	m = P("\"hello\"");
	ck_assert_int_eq(m.im_cmd, IPC_NONE);
	ck_assert_int_eq(m.im_act, IPC_ACT_NONE);
	m = P("[1,{\"cmd\":\"NODE_HANDLE_ACK\"}]");
	ck_assert_int_eq(m.im_cmd, IPC_NONE);
	m = P("{\"cmd\":5}");
	ck_assert_int_eq(m.im_cmd, IPC_NONE);
	m = P("{\"cmd\":\"NODE_SOMETHING_NEW\",\"act\":\"dance\"}");
	ck_assert_int_eq(m.im_cmd, IPC_OTHER);
	ck_assert_int_eq(m.im_act, IPC_ACT_OTHER);
	/* Only top-level members count. */
	m = P("{\"data\":{\"cmd\":\"NODE_HANDLE_ACK\",\"seq\":9}}");
	ck_assert_int_eq(m.im_cmd, IPC_NONE);
	ck_assert(m.im_seq == IPC_ABSENT);
	/* Escapes in names and values mean what they say. */
	m = P("{\"c\\u006dd\":\"NODE_HANDLE\\u005fACK\"}");
	ck_assert_int_eq(m.im_cmd, IPC_NODE_HANDLE_ACK);
	/* A NUL inside is not the name it starts with. */
	m = P("{\"cmd\":\"NODE_HANDLE_ACK\\u0000x\"}");
	ck_assert_int_eq(m.im_cmd, IPC_OTHER);
}
END_TEST

START_TEST(test_parse_last_wins)
{
	struct ipc_msg	m;

	/* As JSON.parse: the last of a repeated member counts. */
	m = P("{\"cmd\":\"PORTER_READY\",\"cmd\":\"NODE_HANDLE_ACK\"}");
	ck_assert_int_eq(m.im_cmd, IPC_NODE_HANDLE_ACK);
	m = P("{\"cmd\":\"NODE_HANDLE_ACK\",\"cmd\":null}");
	ck_assert_int_eq(m.im_cmd, IPC_NONE);
	m = P("{\"cmd\":\"PORTER_LOAD\",\"active\":3,\"active\":\"x\"}");
	ck_assert(m.im_active == IPC_ABSENT);
	m = P("{\"cmd\":\"PORTER_LOAD\",\"active\":\"x\",\"active\":4}");
	ck_assert_int_eq(m.im_active, 4);
	m = P("{\"cmd\":\"NODE_CLUSTER\",\"accepted\":true,\"accepted\":1}");
	ck_assert_int_eq(m.im_ok, -1);
	ck_assert_int_eq(m.im_accepted, 1);
}
END_TEST

START_TEST(test_parse_rejects)
{
	static const char *bad[] = {
		"", " ", "hello", "{\"cmd\":\"x\"", "{\"cmd\":\"x\"}}",
		"{cmd:\"x\"}", "{\"a\":[1,]}", "{\"a\":\"\\q\"}", "{\"a\":tru}",
		"{\"active\":01}", "{\"active\":1-2}", "{\"active\":.5}",
		"{\"active\":1e+-5}", "{\"cmd\":\"NODE_HANDLE_ACK\"} x",
		"{\"cmd\":\"a\tb\"}",
	};
	struct ipc_msg	m;
	size_t		i;

	for (i = 0; i < nitems(bad); i++) {
		ck_assert_msg(ipc_parse(bad[i], strlen(bad[i]), &m) == -1,
		    "accepted: %s", bad[i]);
		ck_assert_int_eq(m.im_cmd, IPC_NONE);
	}
	/* Integers that are not integers, or do not fit, are absent. */
	m = P("{\"cmd\":\"PORTER_LOAD\",\"active\":1.5,\"accepted\":1e3,"
	    "\"pid\":99999999999999999999999}");
	ck_assert(m.im_active == IPC_ABSENT);
	ck_assert(m.im_accepted == IPC_ABSENT);
	ck_assert(m.im_pid == IPC_ABSENT);
	m = P("{\"cmd\":\"PORTER_LOAD\",\"active\":-1}");
	ck_assert_int_eq(m.im_active, -1);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("ipc");
	TCase	*tc = tcase_create("ipc");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_senders_round_trip);
	tcase_add_test(tc, test_cluster_senders);
	tcase_add_test(tc, test_parse_node_lines);
	tcase_add_test(tc, test_parse_last_wins);
	tcase_add_test(tc, test_parse_rejects);
	suite_add_tcase(s, tc);
	return check_run(s);
}
