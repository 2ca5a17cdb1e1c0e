/*
 * tcpclient: what the integration tests need that curl does not do.
 *
 *   tcpclient hold PORT N [SECONDS] [request]
 *	Open N connections to 127.0.0.1:PORT; with "request", send
 *	"GET / HTTP/1.1" on each and read its answer (keep-alive). Print
 *	"ready N" once all are up, then hold them until stdin closes or
 *	SECONDS pass (default 30). Each line "request" on stdin sends one
 *	more request on every connection: "answered N" when all answered.
 *   tcpclient send PORT [SECONDS] [half]
 *	Send stdin as is, optionally shutdown(SHUT_WR), then print what comes
 *	back until the server closes or SECONDS pass (default 10).
 *   tcpclient send-unix PATH [SECONDS] [half]
 *	The same to a unix socket (porter's control socket).
 *   tcpclient conns PORT N
 *	N connections one after the other, each "GET / HTTP/1.1" with
 *	"Connection: close" and its whole answer: many connections, fast
 *	(curl would start N processes). Print "done N failed F".
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int
dial(int port)
{
	struct sockaddr_in	sin;
	int			fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Read one HTTP response with a Content-Length body; 0 on success. */
static int
read_response(int fd, int ms)
{
	char		 buf[8192], *hdr, *cl;
	size_t		 have = 0;
	ssize_t		 n;
	long		 body;
	struct pollfd	 pfd = { fd, POLLIN, 0 };

	for (;;) {
		if (poll(&pfd, 1, ms) != 1)
			return -1;
		n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n <= 0)
			return -1;
		have += (size_t)n;
		buf[have] = '\0';
		if ((hdr = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		body = 0;
		if ((cl = strcasestr(buf, "Content-Length:")) != NULL)
			body = strtol(cl + 15, NULL, 10);
		if ((long)(have - (size_t)(hdr + 4 - buf)) >= body)
			return 0;
	}
}

static int
hold(int port, int n, int secs, int request)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
	struct pollfd	 pfd = { 0, POLLIN, 0 };
	int		*fds, i;
	char		 c;

	if ((fds = calloc((size_t)n, sizeof(int))) == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		if ((fds[i] = dial(port)) == -1) {
			fprintf(stderr, "tcpclient: connect #%d: %s\n", i,
			    strerror(errno));
			return 1;
		}
		if (request && (write(fds[i], req, sizeof(req) - 1) !=
		    (ssize_t)sizeof(req) - 1 || read_response(fds[i],
		    5000) == -1)) {
			fprintf(stderr, "tcpclient: request #%d failed\n", i);
			return 1;
		}
	}
	printf("ready %d\n", n);
	fflush(stdout);
	/* Until stdin closes or time runs out; "request\n": one more each. */
	while (poll(&pfd, 1, secs * 1000) == 1 && read(0, &c, 1) == 1) {
		if (c != '\n')
			continue;
		for (i = 0; i < n; i++)
			if (write(fds[i], req, sizeof(req) - 1) !=
			    (ssize_t)sizeof(req) - 1 ||
			    read_response(fds[i], 5000) == -1) {
				printf("failed #%d\n", i);
				break;
			}
		if (i == n)
			printf("answered %d\n", n);
		fflush(stdout);
	}
	for (i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	return 0;
}

static int
dial_unix(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
sendraw(int port, const char *path, int secs, int half)
{
	char		 buf[65536];
	ssize_t		 n;
	int		 fd;
	struct pollfd	 pfd;

	if ((fd = path != NULL ? dial_unix(path) : dial(port)) == -1) {
		fprintf(stderr, "tcpclient: connect: %s\n", strerror(errno));
		return 1;
	}
	while ((n = read(0, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			return 1;
	if (half)
		shutdown(fd, SHUT_WR);
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		if (poll(&pfd, 1, secs * 1000) != 1) {
			fprintf(stderr, "tcpclient: timed out\n");
			return 2;
		}
		if ((n = read(fd, buf, sizeof(buf))) <= 0)
			break;
		fwrite(buf, 1, (size_t)n, stdout);
	}
	return 0;
}

static int
conns(int port, int n)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: t\r\n"
	    "Connection: close\r\n\r\n";
	int	i, fd, failed = 0;

	for (i = 0; i < n; i++) {
		if ((fd = dial(port)) == -1) {
			failed++;
			continue;
		}
		if (write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) -
		    1 || read_response(fd, 5000) == -1)
			failed++;
		close(fd);
	}
	printf("done %d failed %d\n", n, failed);
	return failed == 0 ? 0 : 1;
}

int
main(int argc, char *argv[])
{
	if (argc >= 4 && strcmp(argv[1], "conns") == 0)
		return conns(atoi(argv[2]), atoi(argv[3]));
	if (argc >= 4 && strcmp(argv[1], "hold") == 0)
		return hold(atoi(argv[2]), atoi(argv[3]),
		    argc > 4 ? atoi(argv[4]) : 30,
		    argc > 5 && strcmp(argv[5], "request") == 0);
	if (argc >= 3 && strcmp(argv[1], "send") == 0)
		return sendraw(atoi(argv[2]), NULL, argc > 3 ? atoi(argv[3]) :
		    10, argc > 4 && strcmp(argv[4], "half") == 0);
	if (argc >= 3 && strcmp(argv[1], "send-unix") == 0)
		return sendraw(0, argv[2], argc > 3 ? atoi(argv[3]) : 10,
		    argc > 4 && strcmp(argv[4], "half") == 0);
	fprintf(stderr, "usage: tcpclient hold PORT N [SECONDS] [request]\n"
	    "       tcpclient send PORT [SECONDS] [half]\n"
	    "       tcpclient send-unix PATH [SECONDS] [half]\n"
	    "       tcpclient conns PORT N\n");
	return 1;
}
