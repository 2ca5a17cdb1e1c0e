/*
 * listener.c: listening sockets. Binding with clear errors, an accept loop
 * that hands out non-blocking close-on-exec sockets, pause/resume for
 * backpressure, and a short back-off when the process is out of fds. And
 * the master's own sockets: bound once, never closed before it stops (so
 * reloads and restarts refuse nobody), accepted on in proxy and handoff
 * mode, and with reuseport one set per worker slot, kept across restarts.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "porter.h"

#define LISTEN_BACKLOG	4096	/* the kernel caps it at somaxconn */
#define ACCEPT_BATCH	64	/* accepts per wake-up, so others get a turn */
#define ACCEPT_BACKOFF	100	/* ms to wait when out of fds */

struct listener {
	int			 l_fd;
	struct event		*l_ev;
	struct event		*l_backoff;
	int			 l_paused;	/* by the caller */
	int			 l_waiting;	/* in back-off */
	struct log_limit	 l_lim;
	listener_accept_fn	 l_fn;
	void			*l_arg;
};

/* The master's listening sockets, and where it accepts on dups of them. */
static int		 listen_fds[PORTER_MAX_LISTEN];
static int		 nlistenfds;
static struct listener	*accepting[PORTER_MAX_LISTEN];
static int		 naccepting;
static int		 paused;
/* shared + reuseport: each worker slot's own sockets */
static int		 slot_fds[PORTER_MAX_WORKERS][PORTER_MAX_LISTEN];
static int		 slot_open[PORTER_MAX_WORKERS];

static void	listener_accept_cb(evutil_socket_t, short, void *);
static void	listener_backoff_cb(evutil_socket_t, short, void *);

/* A bound, listening, non-blocking socket, or -1 with *cause set (if
 * cause is not NULL) and errno. */
int
listener_bind(const struct addr *a, int backlog, int reuseport, char **cause)
{
	int	fd, on = 1, saved;

	fd = socket(a->a_ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		saved = errno;
		goto fail;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on,
	    sizeof(on)) == -1) || (a->a_ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1)) {
		saved = errno;
		goto fail;
	}
	/* Accepted sockets inherit it: one setsockopt instead of one each. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (bind(fd, (const struct sockaddr *)&a->a_ss, a->a_len) == -1 ||
	    listen(fd, backlog > 0 ? backlog : LISTEN_BACKLOG) == -1) {
		saved = errno;
		goto fail;
	}
	return fd;

 fail:
	if (fd != -1)
		close(fd);
	if (cause != NULL) {
		const char *hint = "";

		if (saved == EACCES)
			hint = " (ports below 1024 need root or "
			    "CAP_NET_BIND_SERVICE; try -l 127.0.0.1:8080)";
		else if (saved == EADDRINUSE)
			hint = " (another program listens there)";
		else if (saved == EADDRNOTAVAIL)
			hint = " (not an address of this machine)";
		if (asprintf(cause, "cannot listen on %s: %s%s", a->a_text,
		    strerror(saved), hint) == -1)
			*cause = NULL;
	}
	errno = saved;
	return -1;
}

/* Accept on fd (already listening); the listener owns fd. */
struct listener *
listener_new(struct event_base *base, int fd, listener_accept_fn fn,
    void *arg)
{
	struct listener	*l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->l_fd = fd;
	l->l_fn = fn;
	l->l_arg = arg;
	l->l_ev = event_new(base, fd, EV_READ | EV_PERSIST,
	    listener_accept_cb, l);
	l->l_backoff = evtimer_new(base, listener_backoff_cb, l);
	if (l->l_ev == NULL || l->l_backoff == NULL ||
	    event_add(l->l_ev, NULL) == -1) {
		l->l_fd = -1;
		listener_free(l);
		return NULL;
	}
	return l;
}

void
listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	if (l->l_ev != NULL)
		event_free(l->l_ev);
	if (l->l_backoff != NULL)
		event_free(l->l_backoff);
	if (l->l_fd != -1)
		close(l->l_fd);
	free(l);
}

static void
listener_pause(struct listener *l)
{
	if (l->l_paused)
		return;
	l->l_paused = 1;
	event_del(l->l_ev);
}

static void
listener_resume(struct listener *l)
{
	if (!l->l_paused)
		return;
	l->l_paused = 0;
	if (!l->l_waiting)
		event_add(l->l_ev, NULL);
}

/* A listener of its own (not the master's front ones) waits, or not. */
void
listener_set_paused(struct listener *l, int pause)
{
	if (pause)
		listener_pause(l);
	else
		listener_resume(l);
}

static void
listener_backoff_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener	*l = arg;

	(void)fd;
	(void)what;
	l->l_waiting = 0;
	if (!l->l_paused)
		event_add(l->l_ev, NULL);
}

static void
listener_accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener		*l = arg;
	struct sockaddr_storage	 ss;
	struct timeval		 tv = { 0, ACCEPT_BACKOFF * 1000 };
	socklen_t		 len;
	int			 i, s;

	(void)what;
	for (i = 0; i < ACCEPT_BATCH && !l->l_paused; i++) {
		len = sizeof(ss);
		s = accept4(fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (s == -1) {
			switch (errno) {
			case EINTR:
			case ECONNABORTED:
				continue;
			case EAGAIN:
#if EAGAIN != EWOULDBLOCK
			case EWOULDBLOCK:
#endif
				return;
			default:
				/*
				 * EMFILE, ENFILE, ENOBUFS, ENOMEM or worse:
				 * the socket stays readable, so let the
				 * backlog hold clients a moment, not spin.
				 */
				log_warnx_limit(&l->l_lim, "%s: accept: %s; "
				    "pausing %d ms", __func__, strerror(errno),
				    ACCEPT_BACKOFF);
				event_del(l->l_ev);
				l->l_waiting = 1;
				evtimer_add(l->l_backoff, &tv);
				return;
			}
		}
		l->l_fn(s, (struct sockaddr *)&ss, len, l->l_arg);
	}
}

/*
 * A socket the service manager passed for a (socket activation), made
 * ready the way listener_bind makes its own; or -1. It is only ever
 * closed, never shut down: the manager keeps it for porter's next life.
 */
static int
listener_inherited(const struct addr *a)
{
	int	fd, on = 1, fl;

	if ((fd = sd_listen_take(a)) == -1)
		return -1;
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		log_warn("%s: fd %d", a->a_text, fd);
		close(fd);
		return -1;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	log_info("listen %s: the socket passed by the service manager "
	    "(fd %d)", a->a_text, fd);
	return fd;
}

/*
 * Bind the conf's listening sockets (but with shared + reuseport, where
 * each worker slot has its own, made by listener_slot_open).
 */
int
listener_open(const struct conf *c, char **cause)
{
	int	fd;

	if (c->c_mode == MODE_SHARED && c->c_reuseport) {
		if (sd_listen_left() > 0) {
			if (asprintf(cause, "reuseport on: porter binds a "
			    "socket per worker itself, and cannot use the "
			    "ones passed in LISTEN_FDS") == -1)
				*cause = NULL;
			return -1;
		}
		return 0;
	}
	for (nlistenfds = 0; nlistenfds < c->c_nlisten; nlistenfds++) {
		if ((fd = listener_inherited(&c->c_listen[nlistenfds])) ==
		    -1 && (fd = listener_bind(&c->c_listen[nlistenfds], 0, 0,
		    cause)) == -1)
			return -1;
		listen_fds[nlistenfds] = fd;
	}
	sd_listen_drop();
	return 0;
}

/*
 * Accept where the mode wants the master to: on dups of the listening
 * sockets in proxy and handoff mode, nowhere in shared mode. The sockets
 * themselves stay open, so clients wait in the backlog meanwhile.
 */
void
listener_serve(enum mode mode)
{
	int	i, fd;

	for (i = 0; i < naccepting; i++)
		listener_free(accepting[i]);
	naccepting = 0;
	paused = 0;
	if (mode == MODE_SHARED)
		return;
	for (i = 0; i < nlistenfds; i++) {
		if ((fd = fcntl(listen_fds[i], F_DUPFD_CLOEXEC, 0)) == -1 ||
		    (accepting[i] = listener_new(master->m_base, fd,
		    mode == MODE_PROXY ? relay_accept : handoff_accept,
		    (void *)(intptr_t)i)) == NULL)
			fatal("cannot accept on %s",
			    master->m_conf->c_listen[i].a_text);
		naccepting++;
	}
}

/* The master's listening socket for listen line i, or -1. */
int
listener_fd(int i)
{
	return i >= 0 && i < nlistenfds ? listen_fds[i] : -1;
}

/* Accept (on) or not; 1 if that changed anything. */
int
listener_accepting(int on)
{
	int	i;

	if (naccepting == 0 || paused == !on)
		return 0;
	paused = !on;
	for (i = 0; i < naccepting; i++) {
		if (on)
			listener_resume(accepting[i]);
		else
			listener_pause(accepting[i]);
	}
	return 1;
}

/* Stop: every listening socket closes, the slots' too. */
void
listener_close_all(void)
{
	int	i;

	for (i = 0; i < naccepting; i++)
		listener_free(accepting[i]);
	naccepting = 0;
	for (i = 0; i < nlistenfds; i++)
		close(listen_fds[i]);
	nlistenfds = 0;
	for (i = 0; i < PORTER_MAX_WORKERS; i++)
		listener_slot_close(i);
}

/* Shared + reuseport: slot's own sockets, made once and kept. */
int
listener_slot_open(int slot, const struct conf *c, char **cause)
{
	int	i, fd;

	if (!c->c_reuseport || slot_open[slot])
		return 0;
	for (i = 0; i < c->c_nlisten; i++) {
		if ((fd = listener_bind(&c->c_listen[i], 0, 1, cause)) == -1) {
			while (i-- > 0)
				close(slot_fds[slot][i]);
			return -1;
		}
		slot_fds[slot][i] = fd;
	}
	slot_open[slot] = c->c_nlisten;
	return 0;
}

/* A slot gone for good gives its sockets up. */
void
listener_slot_close(int slot)
{
	int	i;

	for (i = 0; i < slot_open[slot]; i++)
		close(slot_fds[slot][i]);
	slot_open[slot] = 0;
}

/* The listening sockets a shared-mode worker of slot gets. */
const int *
listener_slot_fds(int slot, const struct conf *c)
{
	return c->c_reuseport ? slot_fds[slot] : listen_fds;
}
