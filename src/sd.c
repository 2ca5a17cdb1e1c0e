/*
 * sd.c: what porter is to its service manager, by the documented
 * protocols (sd_notify(3), sd_listen_fds(3)), with no library: the state
 * datagrams to $NOTIFY_SOCKET, and the listening sockets passed in with
 * $LISTEN_FDS. Outside systemd both are absent and all of this is a no-op.
 * Either is porter's own: the variables are taken out of the environment
 * at start, so that no worker ever speaks for porter or takes its sockets.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "porter.h"

#define SD_LISTEN_FDS_START	3

static struct sockaddr_un	 sd_addr;
static socklen_t		 sd_addrlen;	/* 0: no manager to notify */
static int			 sd_fd = -1;

static int			 sd_fds[PORTER_MAX_LISTEN];
static int			 sd_nfds;	/* inherited, not yet taken */

/* $NOTIFY_SOCKET: a path, or "@name" in the abstract namespace. */
static void
sd_notify_init(void)
{
	const char	*s = getenv("NOTIFY_SOCKET");
	size_t		 len;

	if (s == NULL)
		return;
	len = strlen(s);
	if ((s[0] != '/' && s[0] != '@') || len < 2 ||
	    len >= sizeof(sd_addr.sun_path)) {
		log_warnx("NOTIFY_SOCKET \"%s\" is not a socket address; not "
		    "notifying", s);
		unsetenv("NOTIFY_SOCKET");
		return;
	}
	sd_addr.sun_family = AF_UNIX;
	memcpy(sd_addr.sun_path, s, len);
	if (s[0] == '@')
		sd_addr.sun_path[0] = '\0';
	sd_addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
	    (s[0] == '@' ? 0 : 1));
	unsetenv("NOTIFY_SOCKET");
}

/* $LISTEN_PID and $LISTEN_FDS: sockets at fd 3 on, if meant for us. */
static void
sd_listen_init(void)
{
	const char	*pid = getenv("LISTEN_PID"), *n = getenv("LISTEN_FDS");
	char		*end;
	long		 v;
	int		 i, fd;

	if (pid == NULL || n == NULL)
		goto out;
	v = strtol(pid, &end, 10);
	if (*pid == '\0' || *end != '\0' || v != (long)getpid())
		goto out;
	v = strtol(n, &end, 10);
	if (*n == '\0' || *end != '\0' || v < 1)
		goto out;
	if (v > PORTER_MAX_LISTEN) {
		log_warnx("LISTEN_FDS=%ld: only the first %d are used", v,
		    PORTER_MAX_LISTEN);
		v = PORTER_MAX_LISTEN;
	}
	for (i = 0; i < (int)v; i++) {
		fd = SD_LISTEN_FDS_START + i;
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
			log_warn("LISTEN_FDS: fd %d", fd);
			continue;
		}
		sd_fds[sd_nfds++] = fd;
	}
 out:
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

void
sd_init(void)
{
	sd_notify_init();
	sd_listen_init();
}

/* Whether the service manager listens for our state. */
int
sd_notifying(void)
{
	return sd_addrlen > 0;
}

/* One state datagram ("READY=1\nSTATUS=..."); a failure is only logged. */
void
sd_notify(const char *fmt, ...)
{
	static struct log_limit	 lim;
	char			 buf[1024];
	va_list			 ap;
	int			 n;

	if (sd_addrlen == 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = (int)sizeof(buf) - 1;
	if (sd_fd == -1 && (sd_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1) {
		log_warnx_limit(&lim, "NOTIFY_SOCKET: socket: %s",
		    strerror(errno));
		return;
	}
	if (sendto(sd_fd, buf, (size_t)n, MSG_NOSIGNAL,
	    (struct sockaddr *)&sd_addr, sd_addrlen) == -1)
		log_warnx_limit(&lim, "NOTIFY_SOCKET: %s", strerror(errno));
}

/* CLOCK_MONOTONIC in microseconds, as RELOADING=1 wants it. */
unsigned long long
sd_monotonic_usec(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL;
}

/* Whether two addresses are both the wildcard of their family. */
static int
sd_any(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET)
		return sin->sin_addr.s_addr == htonl(INADDR_ANY);
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
	return 0;
}

/*
 * An inherited listening socket for a, taken from the pool, or -1. The
 * same address matches, and so does a wildcard of the other family on
 * the same port: systemd's "ListenStream=80" is [::]:80, which takes
 * IPv4 too, where porter's default is 0.0.0.0:80.
 */
int
sd_listen_take(const struct addr *a)
{
	struct addr	 got;
	int		 i, pass, type;
	socklen_t	 len;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < sd_nfds; i++) {
			len = sizeof(type);
			if (getsockopt(sd_fds[i], SOL_SOCKET, SO_TYPE, &type,
			    &len) == -1 || type != SOCK_STREAM)
				continue;
			got.a_len = sizeof(got.a_ss);
			if (getsockname(sd_fds[i], (struct sockaddr *)&got.a_ss,
			    &got.a_len) == -1)
				continue;
			if (pass == 0 ? !addr_eq(&got, a) :
			    !(sd_any(&got.a_ss) && sd_any(&a->a_ss) &&
			    addr_port(&got) == addr_port(a)))
				continue;
			type = sd_fds[i];
			sd_fds[i] = sd_fds[--sd_nfds];
			return type;
		}
	}
	return -1;
}

/* How many inherited sockets are still untaken. */
int
sd_listen_left(void)
{
	return sd_nfds;
}

/* Inherited sockets no listen line wanted: said, and closed. */
void
sd_listen_drop(void)
{
	struct addr	a;
	char		host[64] = "?";

	while (sd_nfds > 0) {
		a.a_len = sizeof(a.a_ss);
		if (getsockname(sd_fds[sd_nfds - 1],
		    (struct sockaddr *)&a.a_ss, &a.a_len) == 0)
			addr_text(&a, host, sizeof(host));
		log_warnx("LISTEN_FDS: inherited socket %s (fd %d) matches no "
		    "listen line; not used", host, sd_fds[sd_nfds - 1]);
		close(sd_fds[--sd_nfds]);
	}
}
