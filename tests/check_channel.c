/*
 * check_channel.c: the IPC channel over a real socketpair: framing, fd
 * passing, EOF, garbage.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "../src/porter.h"
#include "check_run.h"

#define MAXMSG	512

static struct event_base	*base;
static int			 sv[2];
static char			 msgs[MAXMSG][128];
static int			 fds[MAXMSG];
static int			 nmsg;
static int			 take;		/* handle messages take fds */
static char			 closed[128];

static void
msg_cb(struct channel *ch, const char *line, size_t len, void *arg)
{
	(void)arg;
	ck_assert_int_lt(nmsg, MAXMSG);
	ck_assert_uint_eq(strlen(line), len);
	snprintf(msgs[nmsg], sizeof(msgs[nmsg]), "%s", line);
	/* As real receivers do: only a handle message takes an fd. */
	fds[nmsg] = take && strstr(line, "NODE_HANDLE") != NULL ?
	    channel_take_fd(ch) : -1;
	nmsg++;
}

static void
close_cb(struct channel *ch, const char *why, void *arg)
{
	(void)arg;
	snprintf(closed, sizeof(closed), "%s", why);
	channel_free(ch);
}

static void
setup(void)
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK,
	    0, sv), 0);
	ck_assert_ptr_nonnull(base = event_base_new());
	nmsg = 0;
	take = 0;
	closed[0] = '\0';
}

static void
teardown(void)
{
	event_base_free(base);
}

/* Run the loop until cond or about a second. */
#define RUN_UNTIL(cond) do {						\
	int run_i;								\
	for (run_i = 0; run_i < 1000 && !(cond); run_i++) {			\
		event_base_loop(base, EVLOOP_NONBLOCK);			\
		if (!(cond))						\
			usleep(1000);					\
	}								\
} while (0)

START_TEST(test_two_in_one_read)
{
	struct channel	*ch;
	const char	 two[] = "{\"cmd\":\"A\"}\n{\"cmd\":\"B\",\"x\":[1,{}]}\n";

	ch = channel_new(base, sv[1], msg_cb, close_cb, NULL);
	ck_assert_ptr_nonnull(ch);
	ck_assert_int_eq(write(sv[0], two, sizeof(two) - 1),
	    (ssize_t)sizeof(two) - 1);
	RUN_UNTIL(nmsg == 2);
	ck_assert_int_eq(nmsg, 2);
	ck_assert_str_eq(msgs[0], "{\"cmd\":\"A\"}");
	ck_assert_str_eq(msgs[1], "{\"cmd\":\"B\",\"x\":[1,{}]}");
	channel_free(ch);
	close(sv[0]);
}
END_TEST

START_TEST(test_split_message)
{
	struct channel	*ch;

	ch = channel_new(base, sv[1], msg_cb, close_cb, NULL);
	ck_assert_int_eq(write(sv[0], "{\"cmd\":", 7), 7);
	RUN_UNTIL(0);
	ck_assert_int_eq(nmsg, 0);
	ck_assert_int_eq(write(sv[0], "\"SPLIT\"}\n{\"a\"", 13), 13);
	RUN_UNTIL(nmsg == 1);
	ck_assert_int_eq(nmsg, 1);
	ck_assert_str_eq(msgs[0], "{\"cmd\":\"SPLIT\"}");
	ck_assert_int_eq(write(sv[0], ":1}\n", 4), 4);
	RUN_UNTIL(nmsg == 2);
	ck_assert_str_eq(msgs[1], "{\"a\":1}");
	channel_free(ch);
	close(sv[0]);
}
END_TEST

START_TEST(test_eof)
{
	ck_assert_ptr_nonnull(channel_new(base, sv[1], msg_cb, close_cb,
	    NULL));
	ck_assert_int_eq(write(sv[0], "{\"last\":1}\n", 11), 11);
	close(sv[0]);
	RUN_UNTIL(closed[0] != '\0');
	ck_assert_int_eq(nmsg, 1);
	ck_assert_str_eq(closed, "end of file");
}
END_TEST

START_TEST(test_line_too_long)
{
	char	*junk = malloc(CHANNEL_MAX_LINE + 10);

	memset(junk, 'z', CHANNEL_MAX_LINE + 10);
	ck_assert_ptr_nonnull(channel_new(base, sv[1], msg_cb, close_cb,
	    NULL));
	for (size_t off = 0; off < CHANNEL_MAX_LINE + 10 &&
	    closed[0] == '\0';) {
		ssize_t n = write(sv[0], junk + off, CHANNEL_MAX_LINE + 10 -
		    off);
		if (n > 0)
			off += (size_t)n;
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	RUN_UNTIL(closed[0] != '\0');
	ck_assert_str_eq(closed, "message too long");
	ck_assert_int_eq(nmsg, 0);
	free(junk);
	close(sv[0]);
}
END_TEST

START_TEST(test_send_refuses_bad)
{
	struct channel	*ch = channel_new(base, sv[0], msg_cb, close_cb, NULL);

	ck_assert_int_eq(channel_send(ch, "", 0, -1), -1);
	ck_assert_int_eq(channel_send(ch, "a\nb", 3, -1), -1);
	ck_assert_uint_eq(channel_pending(ch), 0);
	channel_free(ch);
	close(sv[1]);
}
END_TEST

/*
 * 64 handle messages, each with its own pipe, through a small socket
 * buffer: one fd per sendmsg (_i 0, to Node) or up to CHANNEL_BATCH_FDS
 * (_i 1, porter to its own workers); partial writes or not, each fd must
 * pair with its own message.
 */
START_TEST(test_fd_passing)
{
	struct channel	*a, *b;
	int		 pipes[64][2], i, sz = 4096, n;
	char		 buf[64];

	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz,
	    sizeof(sz)), 0);
	a = channel_new(base, sv[0], msg_cb, close_cb, NULL);
	take = 1;
	b = channel_new(base, sv[1], msg_cb, close_cb, NULL);
	channel_batch(a, _i);
	channel_batch(b, _i);
	for (i = 0; i < 64; i++) {
		ck_assert_int_eq(pipe(pipes[i]), 0);
		/* A plain message between handle messages takes no fd. */
		if (i % 8 == 0)
			ck_assert_int_eq(channel_sendf(a, -1, "{\"pad\":\"%0300d\"}",
			    i), 0);
		ck_assert_int_eq(channel_sendf(a, pipes[i][1],
		    "{\"cmd\":\"NODE_HANDLE\",\"n\":%d,\"pad\":\"%0200d\"}", i,
		    0), 0);
	}
	/* Batched, they wait for the end of this event (the loop's turn). */
	if (_i)
		ck_assert_uint_gt(channel_pending(a), 0);
	RUN_UNTIL(nmsg == 72);
	ck_assert_int_eq(nmsg, 72);
	ck_assert_uint_eq(channel_pending(a), 0);
	/* Each handle message's fd is its own pipe: write n, read n. */
	for (i = 0, n = 0; i < nmsg; i++) {
		int	k, got;

		if (strncmp(msgs[i], "{\"cmd\"", 6) != 0)
			continue;
		ck_assert_int_eq(sscanf(msgs[i], "{\"cmd\":\"NODE_HANDLE\","
		    "\"n\":%d", &k), 1);
		ck_assert_int_ne(fds[i], -1);
		snprintf(buf, sizeof(buf), "%d", k);
		ck_assert_int_eq(write(fds[i], buf, strlen(buf)),
		    (ssize_t)strlen(buf));
		close(fds[i]);
		close(pipes[k][1]);
		got = (int)read(pipes[k][0], buf, sizeof(buf) - 1);
		buf[got > 0 ? got : 0] = '\0';
		ck_assert_int_eq(atoi(buf), k);
		close(pipes[k][0]);
		n++;
	}
	ck_assert_int_eq(n, 64);
	channel_free(a);
	channel_free(b);
}
END_TEST

/*
 * A real TCP client socket, accepted here, passed through the channel and
 * used on the other side: what handoff mode does with every client.
 */
START_TEST(test_pass_tcp_socket)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	struct channel		*a, *b;
	int			 lfd, cfd, afd, got;
	char			 buf[64];

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ne(lfd = socket(AF_INET, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	ck_assert_int_ne(cfd = socket(AF_INET, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(connect(cfd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	ck_assert_int_ne(afd = accept(lfd, NULL, NULL), -1);
	ck_assert_int_eq(write(cfd, "ping", 4), 4);

	a = channel_new(base, sv[0], msg_cb, close_cb, NULL);
	take = 1;
	b = channel_new(base, sv[1], msg_cb, close_cb, NULL);
	ck_assert_int_eq(channel_sendf(a, afd, "{\"cmd\":\"NODE_HANDLE\","
	    "\"type\":\"net.Socket\",\"msg\":\"socket\"}"), 0);
	close(afd);		/* the sender's copy, as after an ACK */
	RUN_UNTIL(nmsg == 1);
	ck_assert_int_eq(nmsg, 1);
	ck_assert_int_ne(fds[0], -1);
	/* The receiver reads what the client sent and answers it. */
	ck_assert_int_eq(read(fds[0], buf, sizeof(buf)), 4);
	ck_assert_int_eq(memcmp(buf, "ping", 4), 0);
	ck_assert_int_eq(write(fds[0], "pong", 4), 4);
	close(fds[0]);
	got = (int)read(cfd, buf, sizeof(buf));
	ck_assert_int_eq(got, 4);
	ck_assert_int_eq(memcmp(buf, "pong", 4), 0);
	ck_assert_int_eq(read(cfd, buf, sizeof(buf)), 0);	/* closed */
	close(cfd);
	close(lfd);
	channel_free(a);
	channel_free(b);
}
END_TEST

/* An fd nobody claims is closed by the receiver, not leaked. */
START_TEST(test_stray_fd_closed)
{
	struct channel	*a, *b;
	int		 p[2];
	char		 c;

	ck_assert_int_eq(pipe(p), 0);
	a = channel_new(base, sv[0], msg_cb, close_cb, NULL);
	b = channel_new(base, sv[1], msg_cb, close_cb, NULL);	/* no take */
	ck_assert_int_eq(channel_sendf(a, p[1], "{\"cmd\":\"PLAIN\"}"), 0);
	RUN_UNTIL(nmsg == 1);
	close(p[1]);
	/* With the receiver's copy closed too, the pipe reads EOF. */
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	ck_assert_int_eq(read(p[0], &c, 1), 0);
	close(p[0]);
	channel_free(a);
	channel_free(b);
}
END_TEST

/* Freeing the channel from inside its own message callback is safe. */
static void
free_cb(struct channel *ch, const char *line, size_t len, void *arg)
{
	(void)line;
	(void)len;
	(void)arg;
	nmsg++;
	channel_free(ch);
}

START_TEST(test_free_in_callback)
{
	ck_assert_ptr_nonnull(channel_new(base, sv[1], free_cb, close_cb,
	    NULL));
	ck_assert_int_eq(write(sv[0], "{}\n{}\n{}\n", 9), 9);
	RUN_UNTIL(nmsg == 1);
	RUN_UNTIL(0);
	ck_assert_int_eq(nmsg, 1);
	close(sv[0]);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("channel");
	TCase	*tc = tcase_create("channel");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_two_in_one_read);
	tcase_add_test(tc, test_split_message);
	tcase_add_test(tc, test_eof);
	tcase_add_test(tc, test_line_too_long);
	tcase_add_test(tc, test_send_refuses_bad);
	tcase_add_loop_test(tc, test_fd_passing, 0, 2);
	tcase_add_test(tc, test_pass_tcp_socket);
	tcase_add_test(tc, test_stray_fd_closed);
	tcase_add_test(tc, test_free_in_callback);
	suite_add_tcase(s, tc);
	return check_run(s);
}
