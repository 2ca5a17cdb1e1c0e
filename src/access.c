/*
 * access.c: the access log (access_log PATH [json], proxy mode): one line
 * per relayed connection, written by whichever thread ends the relay.
 *
 * Each line is one write(2) on an O_APPEND descriptor: the kernel appends
 * it whole, at the end of the file, whatever other thread or process
 * writes there too (POSIX makes the seek and the write one step for
 * O_APPEND; a regular file takes a write of a few hundred bytes whole in
 * practice, as a pipe does up to PIPE_BUF). So no lock: the writers only
 * read the descriptor, which the main thread sets through an atomic. The
 * descriptor's number never changes once it is open: a reopen or a new
 * path goes onto it with dup3(), so a writer never holds a number that
 * was closed (and maybe reused for a client socket).
 */
#include "config.h"

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "porter.h"

static int		 access_slot = -1;	/* main thread: the fd kept */
static atomic_int	 access_fd = -1;	/* writers: -1 when off */
static atomic_int	 access_json;
static char		*access_path;		/* main thread */

/* Put fd (just opened) in the slot; the slot is then the log. */
static int
access_install(int fd)
{
	if (access_slot == -1) {
		access_slot = fd;
		return 0;
	}
	if (dup3(fd, access_slot, O_CLOEXEC) == -1) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int
access_openfile(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

/*
 * Log to path (NULL: off), in json or text. The main thread's, at start
 * and on reload. Returns 0, or -1 with errno and the log as it was.
 */
int
access_open(const char *path, int json)
{
	char	*copy;
	int	 fd;

	if (path == NULL) {
		atomic_store(&access_fd, -1);
		free(access_path);
		access_path = NULL;
		/* Let the file go; a writer late to see "off" writes to
		 * /dev/null. */
		if (access_slot != -1 && (fd = open("/dev/null",
		    O_WRONLY | O_CLOEXEC)) != -1)
			(void)access_install(fd);
		return 0;
	}
	if (access_path == NULL || strcmp(access_path, path) != 0) {
		if ((copy = strdup(path)) == NULL)
			return -1;
		if ((fd = access_openfile(path)) == -1 ||
		    access_install(fd) == -1) {
			free(copy);
			return -1;
		}
		free(access_path);
		access_path = copy;
	}
	atomic_store(&access_json, json);
	atomic_store(&access_fd, access_slot);
	return 0;
}

/* SIGUSR1: the same path again (logrotate renamed the file). 0 if the log
 * is off; -1 with errno if the path cannot be opened (the old file stays). */
int
access_reopen(void)
{
	int	fd;

	if (access_path == NULL)
		return 0;
	if ((fd = access_openfile(access_path)) == -1)
		return -1;
	return access_install(fd);
}

const char *
access_file(void)
{
	return access_path;
}

/* Whether there is an access log (any thread). */
int
access_on(void)
{
	return atomic_load_explicit(&access_fd, memory_order_relaxed) != -1;
}

/* An address and its port: "ADDR:PORT" or "[V6]:PORT"; "-" if unknown. */
static void
access_addr(char *buf, size_t size, const struct sockaddr_storage *ss,
    int *port)
{
	char	host[INET6_ADDRSTRLEN];

	*port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		*port = ntohs(sin->sin_port);
		snprintf(buf, size, "%s", host);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		*port = ntohs(sin6->sin6_port);
		snprintf(buf, size, "%s", host);
	} else
		snprintf(buf, size, "-");
}

/* "ADDR:PORT", "[V6]:PORT" or "-". */
static void
access_hostport(char *buf, size_t size, const struct sockaddr_storage *ss)
{
	char	host[INET6_ADDRSTRLEN];
	int	port;

	access_addr(host, sizeof(host), ss, &port);
	if (ss->ss_family == AF_INET6)
		snprintf(buf, size, "[%s]:%d", host, port);
	else if (ss->ss_family == AF_INET)
		snprintf(buf, size, "%s:%d", host, port);
	else
		snprintf(buf, size, "-");
}

/*
 * One line for e, newline included, in buf: text ("TIME CLIENT:PORT
 * LISTENER WORKER WORKER_PORT BYTES_IN BYTES_OUT MS END", "-" for what is
 * not known; a remote upstream's "ADDR:PORT" as WORKER) or a JSON object.
 * Returns its length (0: it did not fit).
 */
size_t
access_format(char *buf, size_t size, const struct access_entry *e, int json)
{
	struct timespec	 ts;
	char		 when[LOG_TIME_LEN], client[INET6_ADDRSTRLEN];
	char		 peer[INET6_ADDRSTRLEN + 8], local[INET6_ADDRSTRLEN + 8];
	char		 wid[72] = "-", wport[16] = "-", up[96] = "";
	int		 cport, n;

	ts.tv_sec = (time_t)(e->a_time_ms / 1000);
	ts.tv_nsec = (long)(e->a_time_ms % 1000) * 1000000;
	log_time_rfc3339(when, sizeof(when), &ts);
	access_addr(client, sizeof(client), &e->a_client, &cport);
	access_hostport(peer, sizeof(peer), &e->a_client);
	access_hostport(local, sizeof(local), &e->a_local);
	if (e->a_worker >= 0) {
		snprintf(wid, sizeof(wid), "%d", e->a_worker);
		snprintf(wport, sizeof(wport), "%d", e->a_wport);
	} else if (e->a_upstream != NULL) {
		/* A remote upstream: its address where a worker's id goes
		 * (JSON: "worker" null and an "upstream"). */
		snprintf(wid, sizeof(wid), json ? "null" : "%s",
		    e->a_upstream);
		snprintf(wport, sizeof(wport), "%d", e->a_wport);
		if (json)
			snprintf(up, sizeof(up), ",\"upstream\":\"%s\"",
			    e->a_upstream);
	} else if (json) {
		strcpy(wid, "null");
		strcpy(wport, "null");
	}
	if (json)
		n = snprintf(buf, size, "{\"time\":\"%s\",\"client\":\"%s\","
		    "\"client_port\":%d,\"listener\":\"%s\",\"worker\":%s,"
		    "\"worker_port\":%s%s,\"bytes_in\":%llu,\"bytes_out\":%llu,"
		    "\"duration_ms\":%llu,\"end\":\"%s\"}\n", when, client,
		    cport, local, wid, wport, up, (unsigned long long)e->a_in,
		    (unsigned long long)e->a_out, (unsigned long long)e->a_ms,
		    e->a_end);
	else
		n = snprintf(buf, size, "%s %s %s %s %s %llu %llu %llu %s\n",
		    when, peer, local, wid, wport, (unsigned long long)e->a_in,
		    (unsigned long long)e->a_out, (unsigned long long)e->a_ms,
		    e->a_end);
	return n < 0 || (size_t)n >= size ? 0 : (size_t)n;
}

/* Log e: any thread, one write(2). */
void
access_write(const struct access_entry *e)
{
	char	line[512];
	size_t	n;
	int	fd;

	if ((fd = atomic_load(&access_fd)) == -1)
		return;
	if ((n = access_format(line, sizeof(line), e,
	    atomic_load(&access_json))) == 0)
		return;
	(void)!write(fd, line, n);
}

/* At exit. */
void
access_close(void)
{
	atomic_store(&access_fd, -1);
	if (access_slot != -1)
		close(access_slot);
	access_slot = -1;
	free(access_path);
	access_path = NULL;
}
