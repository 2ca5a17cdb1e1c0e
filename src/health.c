/*
 * health.c: whether a target (a remote upstream or a local worker) is up.
 * The state machine is pure (rise and fall for active checks, max_fails
 * within fail_timeout for passive failures); the active check itself (a
 * connect, or a GET and its status line) runs in the master's loop,
 * never blocking it. upstream.c applies what they decide.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "porter.h"

#define PROBE_BUF	512	/* bytes read for the status line */

struct probe {
	struct target	*p_target;
	struct event	*p_timer;	/* the next check */
	struct event	*p_io;		/* the check under way */
	int		 p_fd;
	uint64_t	 p_deadline;	/* ms: the check's end */
	char		 p_buf[PROBE_BUF];
	size_t		 p_len;
};

static void	health_timer_cb(evutil_socket_t, short, void *);
static void	health_connect_cb(evutil_socket_t, short, void *);
static void	health_read_cb(evutil_socket_t, short, void *);

static const char *health_state_names[] = { "up", "down" };

/* Milliseconds from now to the check's end; 0 once it is past. */
static long long
health_left(const struct probe *p)
{
	uint64_t	now = clock_ms();

	return p->p_deadline > now ? (long long)(p->p_deadline - now) : 0;
}

const char *
health_state_name(enum health_state s)
{
	return health_state_names[s];
}

/* As new: up, nothing counted. */
void
health_reset(struct health *h)
{
	memset(h, 0, sizeof(*h));
	h->h_state = HEALTH_UP;
}

/*
 * An active check's result. Returns the state the target is in now: up
 * after hc_rise successes in a row while down, down after hc_fall
 * failures in a row while up (HAProxy's rise and fall). A result that
 * agrees with the state starts the count again.
 */
enum health_state
health_active(struct health *h, const struct health_conf *hc, int ok)
{
	int	need;

	if ((h->h_state == HEALTH_UP) == (ok != 0)) {
		h->h_run = 0;
		return h->h_state;
	}
	need = h->h_state == HEALTH_UP ? hc->hc_fall : hc->hc_rise;
	if (++h->h_run < need)
		return h->h_state;
	h->h_run = 0;
	if (h->h_state == HEALTH_UP)
		return HEALTH_DOWN;
	h->h_passive = 0;
	h->h_nfails = 0;
	return HEALTH_UP;
}

/*
 * A passive failure (a refused or timed-out connect, a reset before the
 * first byte): hc_max_fails of them within hc_fail_timeout make an up
 * target down (nginx's max_fails and fail_timeout); 0 turns this off.
 * Returns the state it is in now.
 */
enum health_state
health_passive(struct health *h, const struct health_conf *hc, uint64_t now)
{
	if (hc->hc_max_fails <= 0 || h->h_state == HEALTH_DOWN)
		return h->h_state;
	if (h->h_nfails == 0 || now - h->h_window >=
	    (uint64_t)hc->hc_fail_timeout) {
		h->h_window = now;
		h->h_nfails = 0;
	}
	if (++h->h_nfails < hc->hc_max_fails)
		return h->h_state;
	h->h_nfails = 0;
	h->h_run = 0;
	h->h_passive = 1;
	h->h_until = now + (uint64_t)hc->hc_fail_timeout;
	return HEALTH_DOWN;
}

/*
 * What time alone changes. Without active checks nothing else can bring
 * a target back: down by passive failures, it is tried again once
 * fail_timeout is over (as nginx does); down by checks that a reload
 * turned off, at once. With active checks, only they do.
 */
enum health_state
health_expire(struct health *h, const struct health_conf *hc, uint64_t now)
{
	if (h->h_state == HEALTH_UP || hc->hc_kind != HEALTH_NONE)
		return h->h_state;
	if (h->h_passive && now < h->h_until)
		return h->h_state;
	h->h_passive = 0;
	h->h_run = 0;
	h->h_nfails = 0;
	return HEALTH_UP;
}

/*
 * The http check's request into buf: GET PATH with a Host (host), after a
 * PROXY header (LOCAL: porter itself) with proxy_protocol pp. Returns its
 * length, or -1 if it does not fit.
 */
int
health_request(char *buf, size_t size, const char *path,
    const struct addr *to, int pp)
{
	char	 host[80];
	size_t	 off = 0;
	ssize_t	 h;
	int	 n;

	if (pp != 0) {
		if ((h = proxy_proto_build(pp, NULL, NULL, buf, size)) == -1)
			return -1;
		off = (size_t)h;
	}
	addr_text(to, host, sizeof(host));
	n = snprintf(buf + off, size - off, "GET %s HTTP/1.1\r\n"
	    "Host: %s\r\n"
	    "Connection: close\r\n"
	    "User-Agent: porter-health-check\r\n"
	    "\r\n", path, host);
	if (n < 0 || (size_t)n >= size - off)
		return -1;
	return (int)(off + (size_t)n);
}

/* The check under way ends (or there is none). */
static void
health_end_io(struct probe *p)
{
	if (p->p_io != NULL) {
		event_free(p->p_io);
		p->p_io = NULL;
	}
	if (p->p_fd != -1) {
		close(p->p_fd);
		p->p_fd = -1;
	}
	p->p_len = 0;
}

/*
 * Start checking t, the first time in first_ms, then every interval. A
 * probe already there is rearmed.
 */
void
health_probe_start(struct target *t, int first_ms)
{
	struct probe	*p = t->t_probe;

	if (p == NULL) {
		if ((p = calloc(1, sizeof(*p))) == NULL ||
		    (p->p_timer = evtimer_new(master->m_base, health_timer_cb,
		    p)) == NULL) {
			free(p);
			log_warnx("health: %s: out of memory: not checked",
			    t->t_name);
			return;
		}
		p->p_target = t;
		p->p_fd = -1;
		t->t_probe = p;
	}
	health_end_io(p);
	timer_arm(p->p_timer, first_ms < 0 ? 0 : first_ms);
}

void
health_probe_stop(struct target *t)
{
	struct probe	*p = t->t_probe;

	if (p == NULL)
		return;
	health_end_io(p);
	event_free(p->p_timer);
	free(p);
	t->t_probe = NULL;
}

/* The check is over: the next one in an interval, then the verdict. */
static void
health_done(struct probe *p, int ok, const char *fmt, ...)
    __printflike(3, 4);

static void
health_done(struct probe *p, int ok, const char *fmt, ...)
{
	va_list	ap;
	char	why[80];

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	health_end_io(p);
	timer_arm(p->p_timer, master->m_conf->c_health.hc_interval);
	/* Last: it may change what the relays do, not this probe. */
	upstream_check_done(p->p_target, ok, why);
}

static int
health_timeout(void)
{
	const struct health_conf *hc = &master->m_conf->c_health;

	return hc->hc_timeout > 0 ? hc->hc_timeout : hc->hc_interval;
}

/* Whether t is to be checked now: not in maintenance, a worker only
 * while its process serves. */
static int
health_checkable(const struct target *t)
{
	const struct worker	*w = t->t_worker;

	if (t->t_gone || t->t_admin == TARGET_MAINT)
		return 0;
	return w == NULL || (w->w_state == WS_READY && w->w_pid > 0);
}

/* Time for a check: connect (nonblocking), within the timeout. */
static void
health_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct probe		*p = arg;
	struct target		*t = p->p_target;
	const struct addr	*a = upstream_addr(t);
	struct timeval		 tv;
	int			 ms = health_timeout();

	(void)fd;
	(void)what;
	if (master->m_conf->c_health.hc_kind == HEALTH_NONE)
		return;		/* turned off by a reload */
	if (!health_checkable(t)) {
		timer_arm(p->p_timer, master->m_conf->c_health.hc_interval);
		return;
	}
	health_end_io(p);
	p->p_deadline = clock_ms() + (uint64_t)ms;
	if ((p->p_fd = socket(a->a_ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		health_done(p, 0, "socket: %s", strerror(errno));
		return;
	}
	if (connect(p->p_fd, (const struct sockaddr *)&a->a_ss, a->a_len) ==
	    -1 && errno != EINPROGRESS) {
		health_done(p, 0, "connect: %s", strerror(errno));
		return;
	}
	/* Connected or not yet: writable once it is, either way. */
	if ((p->p_io = event_new(master->m_base, p->p_fd, EV_WRITE,
	    health_connect_cb, p)) == NULL ||
	    event_add(p->p_io, clock_tv(ms, &tv)) == -1)
		health_done(p, 0, "cannot watch the socket");
}

static void
health_connect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct probe	*p = arg;
	struct target	*t = p->p_target;
	struct timeval	 tv;
	char		 req[1400];
	socklen_t	 len = sizeof(int);
	int		 err = 0, n;

	if (what & EV_TIMEOUT) {
		health_done(p, 0, "no connection in %d ms", health_timeout());
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		health_done(p, 0, "connect: %s", strerror(err));
		return;
	}
	if (master->m_conf->c_health.hc_kind == HEALTH_TCP) {
		health_done(p, 1, "connected");
		return;
	}
	/* A fresh socket's buffer takes the request whole, or it fails. */
	if ((n = health_request(req, sizeof(req),
	    master->m_conf->c_health.hc_path, upstream_addr(t),
	    upstream_proxy_protocol(t))) == -1 ||
	    send(fd, req, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n) {
		health_done(p, 0, "cannot send the request");
		return;
	}
	event_free(p->p_io);
	if ((p->p_io = event_new(master->m_base, fd, EV_READ, health_read_cb,
	    p)) == NULL || event_add(p->p_io, clock_tv(health_left(p),
	    &tv)) == -1)
		health_done(p, 0, "cannot watch the socket");
}

/* The answer's status line decides: 2xx and 3xx pass (as HAProxy's). */
static void
health_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct probe	*p = arg;
	struct timeval	 tv;
	const char	*eol;
	ssize_t		 n;
	int		 status;

	if (what & EV_TIMEOUT) {
		health_done(p, 0, "no answer in %d ms", health_timeout());
		return;
	}
	n = recv(fd, p->p_buf + p->p_len, sizeof(p->p_buf) - p->p_len, 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		goto more;
	if (n == -1) {
		health_done(p, 0, "read: %s", strerror(errno));
		return;
	}
	p->p_len += (size_t)n;
	eol = memchr(p->p_buf, '\n', p->p_len);
	if (eol == NULL && n > 0 && p->p_len < sizeof(p->p_buf))
		goto more;
	if (eol == NULL) {
		health_done(p, 0, "%s", n == 0 ? "closed before a status "
		    "line" : "no status line in the first 512 bytes");
		return;
	}
	status = ready_http_status(p->p_buf, (size_t)(eol - p->p_buf) + 1);
	if (status == -1)
		health_done(p, 0, "not an HTTP/1.x status line");
	else
		health_done(p, status >= 200 && status <= 399,
		    "answered %d", status);
	return;

 more:
	if (event_add(p->p_io, clock_tv(health_left(p), &tv)) == -1)
		health_done(p, 0, "cannot watch the socket");
}
