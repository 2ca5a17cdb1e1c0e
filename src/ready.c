/*
 * ready.c: when a worker porter did not write is ready, and what it says
 * of itself. The checks of ready_check (connect to its port, GET a URL,
 * or its sd_notify READY=1), and each exec and node worker's own
 * NOTIFY_SOCKET: READY=1, STOPPING=1 and STATUS= from its process group.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "porter.h"

#define PROBE_INTERVAL		100	/* ms between tries */
#define PROBE_TIMEOUT		1000	/* ms a try may take */
#define PROBE_HTTP_MAX		512	/* bytes read for the status line */
#define NOTIFY_MAX		4096	/* a bigger datagram is dropped */
#define NOTIFY_BATCH		16	/* datagrams read per wakeup */
#define NOTIFY_FDS		8	/* SCM_RIGHTS fds taken (and closed) */

struct ready {
	/* One try of the check (connect or http), or the wait for the next. */
	int			 r_fd;
	struct event		*r_ev;
	uint64_t		 r_deadline;	/* ms: the try's end */
	char			 r_buf[PROBE_HTTP_MAX];
	size_t			 r_len;
	int			 r_status;	/* last non-2xx answer logged */

	/* Its NOTIFY_SOCKET. */
	int			 r_nfd;
	struct event		*r_nev;
	char			 r_name[64];	/* "@porter/MASTERPID/SERIAL" */
	int			 r_said_ready;	/* READY=1 came */
	char			 r_notice[READY_NOTICE_MAX + 1]; /* STATUS= */
	int			 r_has_notice;
	struct log_limit	 r_lim;		/* datagrams dropped */
};

static const char *ready_by_names[] = { NULL, "report", "started",
    "connect", "http", "notify", "listening", "classic" };

static void	ready_try(struct worker *);
static void	ready_later(struct worker *);
static void	ready_fail(struct worker *, const char *, ...)
		    __printflike(2, 3);
static void	ready_try_cb(evutil_socket_t, short, void *);
static void	ready_connect_cb(evutil_socket_t, short, void *);
static void	ready_read_cb(evutil_socket_t, short, void *);
static void	ready_notify_cb(evutil_socket_t, short, void *);

const char *
ready_by_name(enum ready_by how)
{
	return ready_by_names[how];
}

/* For the "ready" log line: "http /healthz", "notify". */
const char *
ready_how(const struct worker *w, enum ready_by how)
{
	static char	buf[1100];

	if (how == READY_HTTP && w->w_conf->c_ready_path != NULL) {
		snprintf(buf, sizeof(buf), "http %s", w->w_conf->c_ready_path);
		return buf;
	}
	return how == READY_NONE ? "not ready" : ready_by_names[how];
}

/* The worker's last STATUS=, or NULL. */
const char *
ready_notice(const struct worker *w)
{
	if (w->w_ready == NULL || !w->w_ready->r_has_notice)
		return NULL;
	return w->w_ready->r_notice;
}

/* The value of NOTIFY_SOCKET for w's environment, or NULL. */
const char *
ready_notify_name(const struct worker *w)
{
	if (w->w_ready == NULL || w->w_ready->r_nfd == -1)
		return NULL;
	return w->w_ready->r_name;
}

/* End the try under way, or the wait for the next. */
static void
ready_try_end(struct ready *r)
{
	if (r->r_ev != NULL) {
		event_free(r->r_ev);
		r->r_ev = NULL;
	}
	if (r->r_fd != -1) {
		close(r->r_fd);
		r->r_fd = -1;
	}
	r->r_len = 0;
}

/* No more tries of w's check: a node worker's port is porter's now. */
void
ready_cancel(struct worker *w)
{
	if (w->w_ready != NULL)
		ready_try_end(w->w_ready);
}

/* Everything about w's readiness goes: it exited, or is freed. */
void
ready_forget(struct worker *w)
{
	struct ready	*r = w->w_ready;

	w->w_ready_by = READY_NONE;
	if (r == NULL)
		return;
	ready_try_end(r);
	if (r->r_nev != NULL)
		event_free(r->r_nev);
	if (r->r_nfd != -1)
		close(r->r_nfd);
	free(r);
	w->w_ready = NULL;
}

/*
 * Before w's process starts: a fresh state and, for exec and node
 * workers, its NOTIFY_SOCKET, a datagram socket in the abstract namespace
 * (no file to clean up; any process of this network namespace can send
 * to it, which is why every datagram's sender is checked). Returns 0, or
 * -1 with the reason logged.
 */
int
ready_open(struct worker *w)
{
	struct ready		*r;
	struct sockaddr_un	 sun;
	socklen_t		 len;
	size_t			 n;
	int			 on = 1;

	ready_forget(w);
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warn("%s", __func__);
		return -1;
	}
	r->r_fd = r->r_nfd = -1;
	w->w_ready = r;
	if (w->w_kind == WORKER_BUILTIN)
		return 0;	/* it reports on its channel */

	snprintf(r->r_name, sizeof(r->r_name), "@porter/%ld/%llu",
	    (long)master->m_pid, (unsigned long long)w->w_serial);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	/* '@' stands for the leading NUL of an abstract name. */
	n = strlen(r->r_name);
	memcpy(sun.sun_path + 1, r->r_name + 1, n - 1);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	if ((r->r_nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1 || setsockopt(r->r_nfd, SOL_SOCKET,
	    SO_PASSCRED, &on, sizeof(on)) == -1 ||
	    bind(r->r_nfd, (struct sockaddr *)&sun, len) == -1) {
		log_warn("worker %d: notify socket %s", w->w_id, r->r_name);
		goto fail;
	}
	r->r_nev = event_new(master->m_base, r->r_nfd, EV_READ | EV_PERSIST,
	    ready_notify_cb, w);
	if (r->r_nev == NULL || event_add(r->r_nev, NULL) == -1) {
		log_warnx("worker %d: cannot watch its notify socket",
		    w->w_id);
		goto fail;
	}
	return 0;

 fail:
	ready_forget(w);
	return -1;
}

/*
 * w's exec went through: judge it by its conf's ready_check. Without one,
 * what porter always did: in proxy mode its port must accept, otherwise
 * it is taken as started.
 */
void
ready_started(struct worker *w)
{
	switch (w->w_conf->c_ready_check) {
	case READY_CHECK_NOTIFY:
		if (w->w_ready != NULL && w->w_ready->r_said_ready)
			master_worker_ready(w, READY_NOTIFY);
		else
			log_debug("worker %d (pid %ld): waiting for READY=1",
			    w->w_id, (long)w->w_pid);
		break;
	case READY_CHECK_CONNECT:
	case READY_CHECK_HTTP:
		ready_try(w);
		break;
	case READY_CHECK_DEFAULT:
		if (w->w_mode == MODE_PROXY)
			ready_try(w);
		else if (w->w_kind != WORKER_NODE)
			master_worker_ready(w, READY_STARTED);
		/* else cluster.c: when it listens, or shows it will not */
		break;
	case READY_CHECK_LISTEN:
		break;		/* cluster.c: when it listens */
	}
}

/*
 * One try: connect to w's port (nonblocking), then for http send the
 * request and read the status line, all within PROBE_TIMEOUT.
 */
static void
ready_try(struct worker *w)
{
	struct ready	*r = w->w_ready;
	struct timeval	 tv;

	if (r == NULL || w->w_state != WS_STARTING)
		return;		/* gone, or no longer waited for */
	/* A node app's port is porter's socket: only its listen() (or its
	 * answer to the http check) shows it serves. */
	if (cluster_holds_port(w) &&
	    w->w_conf->c_ready_check != READY_CHECK_HTTP)
		return;
	ready_try_end(r);
	r->r_deadline = clock_ms() + PROBE_TIMEOUT;
	r->r_fd = socket(w->w_addr.a_ss.ss_family, SOCK_STREAM |
	    SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->r_fd == -1) {
		ready_fail(w, "socket: %s", strerror(errno));
		return;
	}
	w->w_addr.a_len = w->w_addr.a_ss.ss_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	if (connect(r->r_fd, (struct sockaddr *)&w->w_addr.a_ss,
	    w->w_addr.a_len) == -1 && errno != EINPROGRESS) {
		ready_fail(w, "connect: %s", strerror(errno));
		return;
	}
	/* Connected or not yet: writable once it is, either way. */
	r->r_ev = event_new(master->m_base, r->r_fd, EV_WRITE,
	    ready_connect_cb, w);
	if (r->r_ev == NULL || event_add(r->r_ev,
	    clock_tv(PROBE_TIMEOUT, &tv)) == -1)
		ready_fail(w, "cannot watch the socket");
}

/* A try failed: say why (debug), try again in PROBE_INTERVAL. */
static void
ready_fail(struct worker *w, const char *fmt, ...)
{
	va_list	 ap;
	char	 why[256];

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_debug("worker %d (pid %ld): not ready yet (%s): %s", w->w_id,
	    (long)w->w_pid, ready_how(w, w->w_conf->c_ready_check ==
	    READY_CHECK_HTTP ? READY_HTTP : READY_CONNECT), why);
	ready_later(w);
}

static void
ready_later(struct worker *w)
{
	struct ready	*r = w->w_ready;
	struct timeval	 tv;

	ready_try_end(r);
	r->r_ev = evtimer_new(master->m_base, ready_try_cb, w);
	if (r->r_ev == NULL || evtimer_add(r->r_ev,
	    clock_tv(PROBE_INTERVAL, &tv)) == -1)
		log_warnx("worker %d: cannot schedule its ready check; "
		    "ready_timeout will end it", w->w_id);
}

static void
ready_try_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ready_try(arg);
}

/* Judged ready by the check under way. */
static void
ready_done(struct worker *w, enum ready_by how)
{
	ready_try_end(w->w_ready);
	master_worker_ready(w, how);
}

/*
 * The request: HTTP/1.1 with a Host, as any server may demand; after a
 * PROXY header (LOCAL: porter itself) where the workers expect one.
 */
static int
ready_send_request(struct worker *w)
{
	char	 host[NI_MAXHOST], req[1400];
	size_t	 off = 0;
	ssize_t	 h;
	int	 n;

	if (getnameinfo((struct sockaddr *)&w->w_addr.a_ss, w->w_addr.a_len,
	    host, sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (w->w_conf->c_proxy_protocol != 0) {
		if ((h = proxy_proto_build(w->w_conf->c_proxy_protocol, NULL,
		    NULL, req, sizeof(req))) == -1)
			return -1;
		off = (size_t)h;
	}
	n = snprintf(req + off, sizeof(req) - off, "GET %s HTTP/1.1\r\n"
	    "Host: %s%s%s:%d\r\n"
	    "Connection: close\r\n"
	    "User-Agent: porter-ready-check\r\n"
	    "\r\n", w->w_conf->c_ready_path,
	    w->w_addr.a_ss.ss_family == AF_INET6 ? "[" : "", host,
	    w->w_addr.a_ss.ss_family == AF_INET6 ? "]" : "", w->w_port);
	if (n < 0 || (size_t)n >= sizeof(req) - off)
		return -1;
	/* A fresh socket's buffer takes it whole, or the try fails. */
	return send(w->w_ready->r_fd, req, off + (size_t)n, MSG_NOSIGNAL |
	    MSG_DONTWAIT) == (ssize_t)(off + (size_t)n) ? 0 : -1;
}

static void
ready_connect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	struct ready	*r = w->w_ready;
	struct timeval	 tv;
	socklen_t	 len = sizeof(int);
	int		 err = 0;

	if (what & EV_TIMEOUT) {
		ready_fail(w, "no connection in %d ms", PROBE_TIMEOUT);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		ready_fail(w, "connect: %s", strerror(err));
		return;
	}
	if (w->w_conf->c_ready_check != READY_CHECK_HTTP) {
		ready_done(w, READY_CONNECT);
		return;
	}
	if (ready_send_request(w) == -1) {
		ready_fail(w, "cannot send the request: %s", strerror(errno));
		return;
	}
	event_free(r->r_ev);
	r->r_ev = event_new(master->m_base, r->r_fd, EV_READ, ready_read_cb,
	    w);
	if (r->r_ev == NULL || event_add(r->r_ev,
	    clock_tv((long long)(r->r_deadline - clock_ms()), &tv)) == -1)
		ready_fail(w, "cannot watch the socket");
}

/*
 * The status of an HTTP/1.x status line at buf ("HTTP/1.1 200 OK"), or
 * -1 if it is not one. Strict: "HTTP/1." DIGIT SP 3DIGIT, then SP or the
 * line's end.
 */
int
ready_http_status(const char *buf, size_t len)
{
	const char	*p = buf;

	if (len < 12 || memcmp(p, "HTTP/1.", 7) != 0)
		return -1;
	if (p[7] < '0' || p[7] > '9' || p[8] != ' ')
		return -1;
	if (p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' ||
	    p[11] < '0' || p[11] > '9')
		return -1;
	if (len > 12 && p[12] != ' ' && p[12] != '\r' && p[12] != '\n')
		return -1;
	return (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
}

/* What the worker answers: its status line decides. */
static void
ready_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	struct ready	*r = w->w_ready;
	struct timeval	 tv;
	const char	*eol;
	ssize_t		 n;
	int		 status;

	if (what & EV_TIMEOUT) {
		ready_fail(w, "no status line in %d ms", PROBE_TIMEOUT);
		return;
	}
	n = recv(fd, r->r_buf + r->r_len, sizeof(r->r_buf) - r->r_len, 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		goto more;
	if (n == -1) {
		ready_fail(w, "read: %s", strerror(errno));
		return;
	}
	r->r_len += (size_t)n;
	eol = memchr(r->r_buf, '\n', r->r_len);
	if (eol == NULL && n > 0 && r->r_len < sizeof(r->r_buf))
		goto more;
	if (eol == NULL) {
		ready_fail(w, "%s", n == 0 ? "closed before a status line" :
		    "no status line in the first 512 bytes");
		return;
	}
	if ((status = ready_http_status(r->r_buf, (size_t)(eol - r->r_buf) +
	    1)) == -1) {
		/* What the log shows of it: printable, at most 60 bytes. */
		for (n = 0; n < 60 && r->r_buf + n < eol &&
		    (unsigned char)r->r_buf[n] >= ' ' && r->r_buf[n] != 0x7f;
		    n++)
			;
		ready_fail(w, "not an HTTP/1.x status line: \"%.*s\"%s",
		    (int)n, r->r_buf, r->r_buf + n < eol && r->r_buf[n] !=
		    '\r' ? "..." : "");
		return;
	}
	if (status >= 200 && status <= 299) {
		ready_done(w, READY_HTTP);
		return;
	}
	/* Once per answer that changes: what it says while it warms up. */
	if (status != r->r_status)
		log_info("worker %d (pid %ld): GET %s answered %d: not ready "
		    "yet", w->w_id, (long)w->w_pid, w->w_conf->c_ready_path,
		    status);
	r->r_status = status;
	ready_fail(w, "answered %d", status);
	return;

 more:
	if (event_add(r->r_ev, clock_tv((long long)(r->r_deadline -
	    clock_ms()), &tv)) == -1)
		ready_fail(w, "cannot watch the socket");
}

/*
 * STATUS=: kept as text for /status, at most READY_NOTICE_MAX bytes of
 * valid UTF-8; control characters and bytes that are not UTF-8 become
 * '?'.
 */
static void
ready_set_notice(struct ready *r, const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, o = 0, n, k;
	unsigned int		 c;

	while (i < len) {
		c = p[i];
		if (c < 0x80)
			n = 1;
		else if (c >= 0xc2 && c <= 0xdf)
			n = 2;
		else if (c >= 0xe0 && c <= 0xef)
			n = 3;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 4;
		else
			n = 0;
		for (k = 1; n > 1 && k < n; k++)
			if (i + k >= len || (p[i + k] & 0xc0) != 0x80)
				n = 0;
		/* No overlong forms, surrogates, or past U+10FFFF. */
		if ((n == 3 && ((c == 0xe0 && p[i + 1] < 0xa0) ||
		    (c == 0xed && p[i + 1] >= 0xa0))) || (n == 4 &&
		    ((c == 0xf0 && p[i + 1] < 0x90) || (c == 0xf4 &&
		    p[i + 1] >= 0x90))))
			n = 0;
		if (o + (n ? n : 1) > READY_NOTICE_MAX)
			break;
		if (n == 0 || (n == 1 && (c < 0x20 || c == 0x7f))) {
			r->r_notice[o++] = '?';
			i++;
			continue;
		}
		memcpy(r->r_notice + o, p + i, n);
		o += n;
		i += n;
	}
	r->r_notice[o] = '\0';
	r->r_has_notice = 1;
}

/* STOPPING=1: it goes away by itself; no new connections for it. */
static void
ready_stopping(struct worker *w)
{
	if (w->w_state != WS_STARTING && w->w_state != WS_READY) {
		log_debug("worker %d (pid %ld): STOPPING=1 while %s",
		    w->w_id, (long)w->w_pid, master_state_name(w->w_state));
		return;
	}
	log_info("worker %d (pid %ld) says it is stopping (STOPPING=1): no "
	    "new connections for it; restarted when it exits", w->w_id,
	    (long)w->w_pid);
	ready_try_end(w->w_ready);
	w->w_replace = 0;
	master_worker_set_state(w, WS_DRAINING);
	/* It said it goes: if it does not, graceful_timeout ends it. */
	timer_arm(w->w_timer, w->w_conf->c_graceful_timeout);
}

/* One KEY=VALUE line of a notify datagram. */
static void
ready_notify_line(struct worker *w, const char *s, size_t len)
{
	struct ready	*r = w->w_ready;

	if (len == 7 && memcmp(s, "READY=1", 7) == 0) {
		r->r_said_ready = 1;
		if (w->w_conf->c_ready_check == READY_CHECK_NOTIFY)
			master_worker_ready(w, READY_NOTIFY);
		else
			log_debug("worker %d (pid %ld) sent READY=1 (ready_"
			    "check is %s: noted only)", w->w_id,
			    (long)w->w_pid,
			    conf_ready_check_name(w->w_conf->c_ready_check));
	} else if (len == 10 && memcmp(s, "STOPPING=1", 10) == 0)
		ready_stopping(w);
	else if (len >= 7 && memcmp(s, "STATUS=", 7) == 0) {
		ready_set_notice(r, s + 7, len - 7);
		log_debug("worker %d (pid %ld) status: %s", w->w_id,
		    (long)w->w_pid, r->r_notice);
	}
	/* Anything else (WATCHDOG=, MAINPID=, ERRNO=...): not for porter. */
}

/* Whether pid is w's process or one of its process group. */
static int
ready_notify_from(const struct worker *w, pid_t pid)
{
	if (w->w_pid <= 0 || pid <= 0)
		return 0;
	return pid == w->w_pid || getpgid(pid) == w->w_pid;
}

/*
 * Take one datagram. Returns 0 for more, -1 when there is none. Only its
 * credentials and its text are used: fds it carries (BARRIER=1 sends one,
 * and waits for it to be closed) are closed.
 */
static int
ready_notify_recv(struct worker *w)
{
	struct ready	*r = w->w_ready;
	char		 buf[NOTIFY_MAX + 1];
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(struct ucred)) +
				    CMSG_SPACE(sizeof(int) * NOTIFY_FDS)];
	}		 cbuf;
	struct iovec	 iov = { buf, sizeof(buf) };
	struct msghdr	 msg;
	struct cmsghdr	*cm;
	struct ucred	 cred;
	const char	*p, *end, *nl;
	ssize_t		 n;
	size_t		 i, nfd;
	int		 fd, has_cred = 0;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = sizeof(cbuf.buf);
	n = recvmsg(r->r_nfd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("worker %d: notify socket", w->w_id);
		return -1;
	}
	for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET)
			continue;
		if (cm->cmsg_type == SCM_CREDENTIALS &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(cred))) {
			memcpy(&cred, CMSG_DATA(cm), sizeof(cred));
			has_cred = 1;
		} else if (cm->cmsg_type == SCM_RIGHTS) {
			nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (i = 0; i < nfd; i++) {
				memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int),
				    sizeof(int));
				close(fd);
			}
		}
	}
	if (!has_cred || !ready_notify_from(w, cred.pid)) {
		log_warnx_limit(&r->r_lim, "worker %d: a notify message from "
		    "pid %ld, not of its process group %ld: dropped", w->w_id,
		    has_cred ? (long)cred.pid : -1L, (long)w->w_pid);
		return 0;
	}
	if ((size_t)n > NOTIFY_MAX || (msg.msg_flags & MSG_TRUNC)) {
		log_warnx_limit(&r->r_lim, "worker %d (pid %ld): a notify "
		    "message of more than %d bytes: dropped", w->w_id,
		    (long)w->w_pid, NOTIFY_MAX);
		return 0;
	}
	for (p = buf, end = buf + n; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (nl > p)
			ready_notify_line(w, p, (size_t)(nl - p));
		/* READY=1 may have ended it (reload, graceful stop). */
		if (w->w_ready != r || w->w_pid <= 0)
			return -1;
	}
	return 0;
}

static void
ready_notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	int		 i;

	(void)fd;
	(void)what;
	for (i = 0; i < NOTIFY_BATCH; i++)
		if (ready_notify_recv(w) == -1)
			break;
}
