/*
 * relay.c: proxy mode. The master accepts a client, connects to a worker's
 * private port (the next one on refusal or timeout) and relays bytes both
 * ways. Every relay ends in relay_close().
 *
 * With relay_threads, a connected relay moves to one of those threads,
 * which runs its data path on an event base of its own and hands the relay
 * back when it ends. Everything else (accepting, connecting, the worker
 * table, the counters) stays in the main thread: the threads share nothing
 * with it but two queues.
 *
 * The data path is read, then write straight to the peer: EPOLLOUT is armed
 * only when a write comes up short, and a side has a buffer only while it
 * holds what did not fit. A side whose peer holds RELAY_HIGH bytes is not
 * read until that drains below RELAY_LOW (backpressure). A FIN is passed on
 * once everything before it is written (half-close).
 *
 * On a "listen ... proxy_protocol" address the client (a balancer) first
 * sends a PROXY header: it is read and checked before anything else
 * happens, within header_timeout. With proxy_protocol v1 or v2, a worker
 * connection starts with a header that names the real client; it is
 * queued before any client byte, so it goes out in one write.
 *
 * A worker that resets (a worker answers 431 and closes with the rest of a
 * large head unread) is not passed on as a reset: what it sent before is
 * delivered, then a FIN, and the client's bytes are read and dropped until
 * its own FIN, or for RELAY_LINGER after ours, so that the client reads the
 * answer.
 */
#include "config.h"

#include <sys/eventfd.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <liburing.h>

#include "porter.h"

#define RELAY_HIGH	(256 * 1024)	/* stop reading a side past this */
#define RELAY_LOW	(64 * 1024)	/* and resume below this */
#define RELAY_TRIES	8		/* workers tried per connection */
#define RELAY_BUF	(64 * 1024)	/* read at once */
#define RELAY_LINGER	3000		/* ms a client gets, its worker gone */
#define RELAY_RECV	1		/* io_uring user_data: side | op */
#define RELAY_SEND	2
#define RELAY_OPS	3
#define RELAY_QBUFS	4		/* ring buffers a side may be owed */

enum relay_state {
	RS_WAITING = 0,		/* no worker ready yet */
	RS_HEADER,		/* reading the client's PROXY header */
	RS_CONNECTING,
	RS_RELAYING,
};

struct side {
	int			 fd;
	struct event		 rev;		/* readable: persistent */
	struct event		 wev;		/* writable: only while owed */
	struct evbuffer		*out;		/* owed to this side, or NULL */
	int			 eof;		/* it sent FIN */
	int			 shut;		/* we sent it FIN */
	int			 paused;	/* not read: its peer owes a lot */
	int			 gone;		/* worker reset: owed nothing */
	int			 nagle;		/* TCP_NODELAY not set yet */
	int			 wrote;		/* a write was tried */
	uint64_t		 sent;		/* bytes written to it */
	struct relay		*r;
	struct uside		*u;		/* relay_io io_uring, or NULL */
};

/* relay_io io_uring: a side's state on the ring, allocated with its relay
 * (r_u) only when relays use io_uring, so epoll's relays stay small. */
struct uside {
	struct side		*x;		/* whose */
	int			 recving;	/* a recv is in flight */
	int			 starved;	/* it ended: no buffer was free */
	int			 sending;	/* a send to it is in flight: */
	int			 sq;		/* of q[0..sq), or (0) of own */
	struct iovec		 q[RELAY_QBUFS];	/* owed, in ring buffers */
	unsigned short		 qbid[RELAY_QBUFS];
	int			 qn;
	char			*own;		/* RELAY_BUF of what it is owed
						   from out, made on first need */
	size_t			 ownlen;
	size_t			 ownoff;	/* sent of it so far */
	struct msghdr		 smsg;
	TAILQ_ENTRY(uside)	 u_starved;
};
TAILQ_HEAD(uside_list, uside);

/* A loop's ring, and what waits on it. */
struct rring {
	struct ring		*rr_ring;	/* NULL: relays use epoll */
	struct uside_list	 rr_starved;	/* recvs to arm again */
	int			 rr_zombies;	/* closed, ops in flight */
};

struct rthread;

struct relay {
	struct side		 c;		/* the client */
	struct side		 s;		/* the worker */
	struct event_base	*r_base;	/* the loop it runs in */
	struct rring		*r_ring;	/* that loop's ring, if used */
	int			 r_ops;		/* ring operations in flight */
	int			 r_closing;	/* closed: waits for r_ops 0 */
	char			*r_buf;		/* that loop's read buffer */
	struct rthread		*r_thread;	/* or NULL: the main thread */
	int			 r_idle;	/* idle_timeout, ms */
	struct target		*r_target;	/* a worker or an upstream */
	struct event		 r_timer;	/* connect, wait and idle */
	enum relay_state	 r_state;
	uint64_t		 r_tried[RELAY_TRIES];	/* t_serial */
	int			 r_ntried;
	struct timeval		 r_last;	/* last byte either way */
	int			 r_linger;	/* worker gone: timer ends it */
	int			 r_early;	/* it reset before its first byte */
	uint64_t		 r_start;	/* accepted, ms (clock_ms) */
	int			 r_wid;		/* relayed to: worker id, port */
	int			 r_wport;
	const char		*r_upname;	/* or a remote upstream (its
						   t_name: fixed while held) */
	struct side		*r_finfirst;	/* the side that sent FIN first */
	TAILQ_ENTRY(relay)	 r_entry;	/* in exactly one list */
	/* Who the client is (for proxy_protocol and an access log): as
	 * seen, and for real (a PROXY header's, or the same). */
	struct sockaddr_storage	 r_peer;
	socklen_t		 r_peerlen;
	struct sockaddr_storage	 r_client;
	struct sockaddr_storage	 r_dest;	/* where the client connected */
	socklen_t		 r_clientlen;	/* of both; 0: not known */
	char			*r_hdr;		/* RS_HEADER: read so far; then
						   client bytes read with it */
	size_t			 r_hdrlen;
	struct uside		 r_u[];		/* io_uring: c's, s's */
};
TAILQ_HEAD(relay_list, relay);

/*
 * A relay thread: its own loop, its relays, and an inbox. The master
 * forks workers while these threads run, and a forked child has only the
 * forking thread: so a relay thread takes no lock a child could need (it
 * logs nothing above debug level; malloc is fork-safe in glibc).
 */
struct rthread {
	pthread_t		 t_thread;
	struct event_base	*t_base;
	int			 t_efd;		/* eventfd: mail from main */
	struct event		*t_ev;
	pthread_mutex_t		 t_lock;
	struct relay_list	 t_inbox;	/* handed over, not started */
	int			 t_closeall;
	int			 t_stop;
	struct relay_list	 t_relays;	/* running here */
	struct rring		 t_rr;
	char			 t_buf[RELAY_BUF];
};

static struct relay_list relays = TAILQ_HEAD_INITIALIZER(relays);
					/* in the main thread */
static unsigned int	 nrelays;	/* all, wherever they run */
static char		 relay_buf[RELAY_BUF];
static struct rthread	*rthreads;
static int		 nrthreads;
static unsigned int	 rthread_next;
static pthread_mutex_t	 done_lock = PTHREAD_MUTEX_INITIALIZER;
static struct relay_list done_list = TAILQ_HEAD_INITIALIZER(done_list);
					/* ended in a thread */
static int		 done_efd = -1;
static struct event	*done_ev;
static struct rring	 main_rr = { NULL, TAILQ_HEAD_INITIALIZER(main_rr.rr_starved),
			    0 };

static void	relay_connect(struct relay *);
static void	relay_close(struct relay *, const char *);
static void	relay_read_cb(evutil_socket_t, short, void *);
static void	relay_write_cb(evutil_socket_t, short, void *);
static void	relay_timer_cb(evutil_socket_t, short, void *);
static void	relay_header_cb(evutil_socket_t, short, void *);
static void	relay_uring_start(struct relay *);
static void	relay_resume(struct side *);
static void	relay_closed(struct relay *);
static size_t	relay_owed(const struct side *);
static void	relay_cancel(struct relay *, struct side *, int);
static void	relay_ring_drain(struct rring *);
static void	relay_cqe(uint64_t, int, unsigned int, void *);
static void	relay_pass(struct ring *, void *);
static void	relay_q_drop(struct side *, int);

static struct log_limit	 relay_lim_header;	/* bad PROXY headers */

static void
relay_nodelay(int fd)
{
	int	on = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

/*
 * Before a write to x. The worker side gets TCP_NODELAY before its second
 * write, not at connect: Nagle holds a small write only while data is
 * unacknowledged, which is never so for a connection's first, and a relay
 * of one request and one answer makes no second (a syscall fewer each).
 */
static void
relay_will_write(struct side *x)
{
	if (!x->nagle)
		return;
	if (x->wrote) {
		relay_nodelay(x->fd);
		x->nagle = 0;
	}
	x->wrote = 1;
}

static struct side *
relay_peer(struct side *x)
{
	return x == &x->r->c ? &x->r->s : &x->r->c;
}

/* A new relay for client fd, in the main thread's list; or NULL. */
static struct relay *
relay_new(int fd)
{
	struct relay	*r;
	int		 ring = main_rr.rr_ring != NULL;

	if ((r = calloc(1, sizeof(*r) +
	    (ring ? 2 * sizeof(struct uside) : 0))) == NULL) {
		log_warnx("%s: out of memory", __func__);
		close(fd);
		master_conn_refused();
		return NULL;
	}
	r->c.fd = fd;
	r->s.fd = -1;
	r->c.r = r->s.r = r;
	if (ring) {
		r->c.u = &r->r_u[0];
		r->s.u = &r->r_u[1];
		r->c.u->x = &r->c;
		r->s.u->x = &r->s;
	}
	r->r_start = clock_ms();
	r->r_wid = -1;
	r->r_base = master->m_base;
	r->r_buf = relay_buf;
	r->r_idle = master->m_conf->c_idle_timeout;
	evtimer_assign(&r->r_timer, master->m_base, relay_timer_cb, r);
	event_assign(&r->c.rev, master->m_base, fd, EV_READ | EV_PERSIST,
	    relay_read_cb, &r->c);
	event_assign(&r->c.wev, master->m_base, fd, EV_WRITE | EV_PERSIST,
	    relay_write_cb, &r->c);
	TAILQ_INSERT_HEAD(&relays, r, r_entry);
	nrelays++;
	return r;
}

static void
relay_set_peer(struct relay *r, const struct sockaddr *sa, socklen_t len)
{
	if (len > sizeof(r->r_peer))
		len = 0;
	memcpy(&r->r_peer, sa, len);
	r->r_peerlen = len;
	memcpy(&r->r_client, sa, len);
	r->r_clientlen = len;
}

/*
 * A client accepted on the listen line arg (its index). On a
 * proxy_protocol address its PROXY header comes first, within
 * header_timeout.
 */
void
relay_accept(int fd, struct sockaddr *sa, socklen_t len, void *arg)
{
	struct relay	*r;
	int		 idx = (int)(intptr_t)arg;

	master_conn_accepted();
	if ((r = relay_new(fd)) == NULL)
		return;
	relay_set_peer(r, sa, len);
	if (idx < 0 || idx >= master->m_conf->c_nlisten ||
	    master->m_conf->c_listen_proxy[idx] == 0) {
		relay_connect(r);  /* TCP_NODELAY comes from the listener */
		return;
	}
	if ((r->r_hdr = malloc(PROXY_HDR_MAX)) == NULL) {
		relay_close(r, "out of memory");
		return;
	}
	r->r_state = RS_HEADER;
	event_assign(&r->c.rev, master->m_base, fd, EV_READ | EV_PERSIST,
	    relay_header_cb, r);
	event_add(&r->c.rev, NULL);
	timer_arm(&r->r_timer, master->m_conf->c_header_timeout);
}

/* Relay a client socket accepted earlier (by handoff mode, before a
 * reload made this proxy mode). */
void
relay_adopt(int fd)
{
	struct relay		*r;
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);

	if ((r = relay_new(fd)) == NULL)
		return;
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
		relay_set_peer(r, (struct sockaddr *)&ss, len);
	relay_connect(r);
}

/*
 * The client's PROXY header (listen ... proxy_protocol): read it, then
 * the relay goes on with the real client's address. Bytes read past the
 * header are the client's first: they wait in r_hdr for the worker.
 */
static void
relay_header_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay		*r = arg;
	struct proxy_hdr	 h;
	const char		*cause = NULL;
	char			 peer[64];
	ssize_t			 n, len;

	(void)what;
	n = read(fd, r->r_hdr + r->r_hdrlen, PROXY_HDR_MAX - r->r_hdrlen);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (n <= 0) {
		relay_close(r, n == 0 ? "the client closed before its PROXY "
		    "header" : "client error");
		return;
	}
	r->r_hdrlen += (size_t)n;
	if ((len = proxy_proto_parse(r->r_hdr, r->r_hdrlen, &h, &cause)) ==
	    0)
		return;
	if (len == -1) {
		log_warnx_limit(&relay_lim_header, "%s: %s: bad PROXY header: "
		    "%s; closed", __func__, proxy_proto_ntop((struct sockaddr *)
		    &r->r_peer, peer, sizeof(peer)), cause);
		relay_close(r, "bad PROXY header");
		return;
	}
	if (!h.ph_local) {
		memcpy(&r->r_client, &h.ph_src, sizeof(h.ph_src));
		memcpy(&r->r_dest, &h.ph_dst, sizeof(h.ph_dst));
		r->r_clientlen = h.ph_len;
	}
	r->r_hdrlen -= (size_t)len;
	memmove(r->r_hdr, r->r_hdr + len, r->r_hdrlen);
	event_del(&r->c.rev);
	evtimer_del(&r->r_timer);
	relay_connect(r);
}

/* Forget a worker connection that failed (or ends with the relay). */
static void
relay_drop_server(struct relay *r)
{
	if (event_initialized(&r->s.rev))
		event_del(&r->s.rev);
	if (event_initialized(&r->s.wev))
		event_del(&r->s.wev);
	close(r->s.fd);
	r->s.fd = -1;
	upstream_detach(r->r_target);
	r->r_target = NULL;
}

/* Start relaying in r's own loop (main, or the thread it is in now). */
static void
relay_start(struct relay *r)
{
	event_assign(&r->r_timer, r->r_base, -1, 0, relay_timer_cb, r);
	/* EV_CLOSED (EPOLLRDHUP): a short read that also saw a FIN is the
	 * last, and the read that would return 0 is not made. */
	event_assign(&r->c.rev, r->r_base, r->c.fd, EV_READ | EV_CLOSED |
	    EV_PERSIST, relay_read_cb, &r->c);
	event_assign(&r->c.wev, r->r_base, r->c.fd, EV_WRITE | EV_PERSIST,
	    relay_write_cb, &r->c);
	event_assign(&r->s.rev, r->r_base, r->s.fd, EV_READ | EV_CLOSED |
	    EV_PERSIST, relay_read_cb, &r->s);
	event_assign(&r->s.wev, r->r_base, r->s.fd, EV_WRITE | EV_PERSIST,
	    relay_write_cb, &r->s);
	event_base_gettimeofday_cached(r->r_base, &r->r_last);
	timer_arm(&r->r_timer, r->r_idle);
	if (r->r_ring != NULL && r->r_ring->rr_ring != NULL &&
	    r->c.u != NULL && relay_owed(&r->s) == 0) {
		relay_uring_start(r);
		return;
	}
	r->r_ring = NULL;
	event_add(&r->c.rev, NULL);
	event_add(&r->s.rev, NULL);
	if (r->s.out != NULL && evbuffer_get_length(r->s.out) > 0)
		event_add(&r->s.wev, NULL);	/* the PROXY header's rest */
}

/*
 * What the worker gets before anything relayed: the PROXY header (if its
 * conf says so), then what the client sent with its own header. Written
 * at once, in one write; what does not fit is owed, first in line.
 */
static int
relay_first_bytes(struct relay *r)
{
	const struct sockaddr	*src = NULL, *dst = NULL;
	char			 buf[PROXY_OUT_MAX];
	socklen_t		 len = sizeof(r->r_dest);
	ssize_t			 n = 0;
	int			 v = upstream_proxy_protocol(r->r_target);

	if (v != 0) {
		if (r->r_clientlen > 0 && r->r_dest.ss_family == AF_UNSPEC &&
		    getsockname(r->c.fd, (struct sockaddr *)&r->r_dest,
		    &len) == -1)
			r->r_clientlen = 0;
		if (r->r_clientlen > 0) {
			src = (const struct sockaddr *)&r->r_client;
			dst = (const struct sockaddr *)&r->r_dest;
		}
		if ((n = proxy_proto_build(v, src, dst, buf, sizeof(buf))) ==
		    -1)
			return -1;
	}
	if (n == 0 && r->r_hdrlen == 0)
		return 0;
	if ((r->s.out = evbuffer_new()) == NULL ||
	    evbuffer_add(r->s.out, buf, (size_t)n) == -1 ||
	    evbuffer_add(r->s.out, r->r_hdr, r->r_hdrlen) == -1)
		return -1;
	/* An error shows up again where the relay can deal with it. */
	relay_will_write(&r->s);
	(void)evbuffer_write(r->s.out, r->s.fd);
	return 0;
}

static void
relay_connected(struct relay *r)
{
	struct rthread	*t;
	int		 wake;

	evtimer_del(&r->r_timer);
	if (event_initialized(&r->s.wev))
		event_del(&r->s.wev);
	r->s.nagle = 1;
	r->s.wrote = 0;
	if (relay_first_bytes(r) == -1) {
		relay_close(r, "out of memory");
		return;
	}
	free(r->r_hdr);
	r->r_hdr = NULL;
	r->r_hdrlen = 0;
	r->r_state = RS_RELAYING;
	upstream_relayed(r->r_target, &r->r_wid, &r->r_wport);
	if (r->r_target->t_worker == NULL)
		r->r_upname = r->r_target->t_name;
	if (nrthreads == 0) {
		r->r_ring = r->c.u != NULL ? &main_rr : NULL;
		relay_start(r);
		return;
	}
	/* To a relay thread: from now on only it touches r. */
	TAILQ_REMOVE(&relays, r, r_entry);
	t = &rthreads[rthread_next++ % (unsigned int)nrthreads];
	r->r_thread = t;
	r->r_base = t->t_base;
	r->r_buf = t->t_buf;
	r->r_ring = r->c.u != NULL ? &t->t_rr : NULL;
	pthread_mutex_lock(&t->t_lock);
	wake = TAILQ_EMPTY(&t->t_inbox);
	TAILQ_INSERT_TAIL(&t->t_inbox, r, r_entry);
	pthread_mutex_unlock(&t->t_lock);
	if (wake)		/* else the thread has a wake-up coming */
		(void)eventfd_write(t->t_efd, 1);
}

/* The connect finished, one way or the other. */
static void
relay_connect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay	*r = arg;
	socklen_t	 len = sizeof(int);
	int		 err = 0;

	(void)what;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err == 0) {
		relay_connected(r);
		return;
	}
	/* Refused or failed: try the next target, unseen. */
	log_debug("%s: %s: %s", __func__, r->r_target->t_name, strerror(err));
	evtimer_del(&r->r_timer);
	upstream_failed(r->r_target, strerror(err));
	relay_drop_server(r);
	relay_connect(r);
}

/* Connect to the next target (upstream.c), or wait for one, or give up. */
static void
relay_connect(struct relay *r)
{
	struct target		*t;
	const struct addr	*a;
	int			 fd, rc;

	for (;;) {
		if ((t = upstream_pick(r->r_tried, r->r_ntried)) == NULL)
			break;
		a = upstream_addr(t);
		r->r_tried[r->r_ntried++] = t->t_serial;
		fd = socket(a->a_ss.ss_family, SOCK_STREAM |
		    SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd == -1) {
			log_warn("%s: socket", __func__);
			relay_close(r, "no socket for the worker side");
			return;
		}
		r->s.fd = fd;
		r->r_target = t;
		upstream_attach(t);
		r->r_state = RS_CONNECTING;
		rc = connect(fd, (const struct sockaddr *)&a->a_ss, a->a_len);
		/*
		 * On loopback the handshake is usually over by now: connecting
		 * again says so (0), or why it failed, or EALREADY, in one
		 * syscall where poll() and SO_ERROR took two.
		 */
		if (rc == -1 && errno == EINPROGRESS)
			rc = connect(fd, (const struct sockaddr *)&a->a_ss,
			    a->a_len);
		if (rc == 0 || errno == EISCONN) {
			relay_connected(r);
			return;
		}
		if (errno == EALREADY || errno == EINPROGRESS) {
			event_assign(&r->s.wev, master->m_base, fd, EV_WRITE,
			    relay_connect_cb, r);
			event_add(&r->s.wev, NULL);
			timer_arm(&r->r_timer, master->m_conf->c_connect_timeout);
			return;
		}
		log_debug("%s: %s: %s", __func__, t->t_name, strerror(errno));
		upstream_failed(t, strerror(errno));
		relay_drop_server(r);
		if (r->r_ntried >= RELAY_TRIES)
			break;
	}
	if (r->r_ntried >= RELAY_TRIES ||
	    (r->r_ntried > 0 && r->r_ntried >= upstream_count())) {
		relay_close(r, "every worker refused");
		return;
	}
	/* Nothing ready: the client waits up to connect_timeout. */
	if (r->r_state != RS_WAITING || !evtimer_pending(&r->r_timer, NULL)) {
		r->r_state = RS_WAITING;
		timer_arm(&r->r_timer, master->m_conf->c_connect_timeout);
	}
}

/* A worker became ready: give it the clients that were waiting. */
void
relay_kick(void)
{
	struct relay	*r, *next;

	/* relay_connect may take r off the list, never another relay. */
	for (r = TAILQ_FIRST(&relays); r != NULL; r = next) {
		next = TAILQ_NEXT(r, r_entry);
		if (r->r_state == RS_WAITING)
			relay_connect(r);
	}
}

static size_t
relay_owed(const struct side *x)
{
	size_t	n = x->out == NULL ? 0 : evbuffer_get_length(x->out);
	int	i;

	if (x->u == NULL)
		return n;
	for (i = 0; i < x->u->qn; i++)
		n += x->u->q[i].iov_len;
	if (x->u->sending && x->u->sq == 0)
		n += x->u->ownlen - x->u->ownoff;
	return n;
}

/*
 * Pass on FINs whose data is all written; once both directions are over,
 * the relay is. Returns 1 if the relay is gone.
 */
static int
relay_finish(struct relay *r)
{
	struct side	*x;
	int		 i;

	/* Both sent FIN and nothing is owed: close says the rest. */
	if (r->c.eof && r->s.eof && relay_owed(&r->c) == 0 &&
	    relay_owed(&r->s) == 0) {
		relay_close(r, "done");
		return 1;
	}
	for (i = 0; i < 2; i++) {
		x = i == 0 ? &r->c : &r->s;
		if (relay_peer(x)->eof && !x->shut && relay_owed(x) == 0) {
			shutdown(x->fd, SHUT_WR);
			x->shut = 1;
			if (x == &r->c && r->s.gone) {
				/* All delivered: the client has a while. */
				r->r_linger = 1;
				timer_arm(&r->r_timer, RELAY_LINGER);
			}
		}
	}
	/* A worker that reset was "shut" by us: wait for the client's FIN. */
	if (r->c.shut && r->s.shut && (!r->s.gone || r->c.eof)) {
		relay_close(r, "done");
		return 1;
	}
	return 0;
}

/*
 * The worker side failed (a reset, most likely): forget what it was owed,
 * drop what the client sends from now on, but keep reading what the
 * worker sent before: it reaches the client, then a FIN does (the worker's
 * read side ends in an error or EOF, either is its FIN here). Returns 1 if
 * the relay is gone.
 */
static int
relay_lost(struct relay *r)
{
	struct side	*s = &r->s;

	if (s->gone)
		return relay_finish(r);
	log_debug("%s: the worker reset; the client gets what it sent",
	    __func__);
	/* Nothing from it yet: a failure of the target (main thread's). */
	r->r_early = r->c.sent == 0 && relay_owed(&r->c) == 0;
	s->gone = 1;
	s->shut = 1;
	if (s->out != NULL)
		evbuffer_drain(s->out, evbuffer_get_length(s->out));
	if (r->r_ring != NULL)		/* but a send in flight */
		relay_q_drop(s, s->u->sending ? s->u->sq : 0);
	event_del(&s->wev);
	if (r->c.paused)
		relay_resume(&r->c);
	if (r->c.shut) {
		/* It had sent its FIN: all delivered already. */
		r->r_linger = 1;
		timer_arm(&r->r_timer, RELAY_LINGER);
	}
	return relay_finish(r);
}

/* Owe x the bytes we could not write to it now. */
static int
relay_owe(struct side *x, const char *buf, size_t len)
{
	if (x->out == NULL && (x->out = evbuffer_new()) == NULL)
		return -1;
	if (evbuffer_add(x->out, buf, len) == -1)
		return -1;
	if (x->r->r_ring == NULL)
		event_add(&x->wev, NULL);
	return 0;
}

/* x sent its FIN (or the like). */
static void
relay_eof(struct side *x)
{
	x->eof = 1;
	if (x->r->r_finfirst == NULL)
		x->r->r_finfirst = x;
}

/* x is readable: read, and write to its peer at once. */
static void
relay_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct side	*x = arg, *to = relay_peer(x);
	struct relay	*r = x->r;
	ssize_t		 n, w;

	for (;;) {
		n = read(fd, r->r_buf, RELAY_BUF);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (x == &r->c) {
				relay_close(r, "client error");
				return;
			}
			/* All it sent before is read: an EOF, but lost. */
			relay_eof(x);
			event_del(&x->rev);
			relay_lost(r);
			return;
		}
		if (n == 0) {
			relay_eof(x);
			event_del(&x->rev);
			relay_finish(r);
			return;
		}
		event_base_gettimeofday_cached(r->r_base, &r->r_last);
		if (to->gone) {
			if ((size_t)n < RELAY_BUF)
				goto drained;
			continue;		/* dropped */
		}
		w = 0;
		if (relay_owed(to) == 0) {
			relay_will_write(to);
			w = send(to->fd, r->r_buf, (size_t)n, MSG_NOSIGNAL);
			if (w == -1) {
				if (errno != EAGAIN && errno != EWOULDBLOCK &&
				    errno != EINTR) {
					if (to == &r->c)
						relay_close(r, "client error");
					else
						relay_lost(r);
					return;
				}
				w = 0;
			}
			to->sent += (uint64_t)w;
		}
		if (w < n && relay_owe(to, r->r_buf + w, (size_t)(n - w)) ==
		    -1) {
			relay_close(r, "out of memory");
			return;
		}
		if (relay_owed(to) >= RELAY_HIGH) {
			x->paused = 1;		/* until its peer drains */
			event_del(&x->rev);
			return;
		}
		if ((size_t)n < RELAY_BUF)
			goto drained;		/* most likely all there is */
	}
 drained:
	/*
	 * All there is, and the FIN was in before we read (EPOLLRDHUP): TCP
	 * queues data before its FIN, so a short read took the last of it.
	 */
	if (what & EV_CLOSED) {
		relay_eof(x);
		event_del(&x->rev);
		relay_finish(r);
	}
}

/* x can take what we owe it. */
static void
relay_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct side	*x = arg, *from = relay_peer(x);
	struct relay	*r = x->r;
	int		 n;

	(void)what;
	relay_will_write(x);
	if ((n = evbuffer_write(x->out, fd)) > 0)
		x->sent += (uint64_t)n;
	if (n == -1 && errno != EAGAIN &&
	    errno != EWOULDBLOCK && errno != EINTR) {
		if (x == &r->c)
			relay_close(r, "client error");
		else
			relay_lost(r);
		return;
	}
	event_base_gettimeofday_cached(r->r_base, &r->r_last);
	if (relay_owed(x) == 0)
		event_del(&x->wev);
	if (from->paused && relay_owed(x) < RELAY_LOW) {
		from->paused = 0;
		event_add(&from->rev, NULL);
	}
	if (from->eof)
		relay_finish(r);
}

/*
 * relay_io io_uring: the same relay, its data path on the loop's ring.
 * Each side has one recv in flight, into a ring buffer the kernel picks,
 * while its peer is owed fewer than RELAY_QBUFS buffers and RELAY_HIGH
 * bytes; a side that is not read again is "paused" until its peer
 * drains. What arrives is owed to the peer as the buffer it landed in
 * (q), and one sendmsg sends all of q; the buffers go back to the ring
 * as they are sent. Bytes owed otherwise (x->out: what a PROXY header
 * left, what came while q was full) go after q, RELAY_BUF at a time
 * through x->u->own. relay_release cancels what is in flight, and r stays
 * (a zombie of its ring) until the last answer is in.
 *
 * A multishot recv (one SQE for many reads) measured the same on small
 * requests and took up to 2.9 times the CPU per MiB on large ones: it
 * reads ahead of the send, so most bytes were copied to x->out to keep
 * their order.
 */
static void
relay_recv_arm(struct side *x)
{
	struct relay		*r = x->r;
	struct io_uring_sqe	*sqe = ring_sqe(r->r_ring->rr_ring);

	io_uring_prep_recv(sqe, x->fd, NULL, RING_BUFSZ, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = RING_BGID;
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)x | RELAY_RECV);
	x->u->recving = 1;
	r->r_ops++;
}

static void
relay_uring_start(struct relay *r)
{
	relay_recv_arm(&r->c);
	relay_recv_arm(&r->s);
}

/* x is read again: its peer drained (or reset). */
static void
relay_resume(struct side *x)
{
	x->paused = 0;
	if (x->r->r_ring == NULL)
		event_add(&x->rev, NULL);
	else if (!x->u->recving && !x->eof)
		relay_recv_arm(x);	/* else its recv ends and comes back */
}

/* Ring buffers owed to x from q[keep] on go back (a send of q[0..keep)
 * may still be in flight). */
static void
relay_q_drop(struct side *x, int keep)
{
	while (x->u->qn > keep)
		ring_buf_put(x->r->r_ring->rr_ring, x->u->qbid[--x->u->qn]);
}

static void
relay_send_sqe(struct side *x, struct io_uring_sqe *sqe)
{
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)x | RELAY_SEND);
	x->u->sending = 1;
	x->r->r_ops++;
}

/*
 * Send x what it is owed, unless a send is in flight: its ring buffers
 * first, in one sendmsg, else up to RELAY_BUF of x->out, copied to
 * x->u->own. -1: out of memory.
 */
static int
relay_send(struct side *x)
{
	struct io_uring_sqe	*sqe;
	struct uside		*u = x->u;
	size_t			 len;

	if (u->sending)
		return 0;
	if (u->qn > 0) {
		relay_will_write(x);
		memset(&u->smsg, 0, sizeof(u->smsg));
		u->smsg.msg_iov = u->q;
		u->smsg.msg_iovlen = (size_t)u->qn;
		u->sq = u->qn;
		sqe = ring_sqe(x->r->r_ring->rr_ring);
		io_uring_prep_sendmsg(sqe, x->fd, &u->smsg, MSG_NOSIGNAL);
		relay_send_sqe(x, sqe);
		return 0;
	}
	if ((len = x->out == NULL ? 0 : evbuffer_get_length(x->out)) == 0)
		return 0;
	if (len > RELAY_BUF)
		len = RELAY_BUF;
	if (u->own == NULL && (u->own = malloc(RELAY_BUF)) == NULL)
		return -1;
	evbuffer_remove(x->out, u->own, len);
	u->ownlen = len;
	u->ownoff = 0;
	u->sq = 0;
	relay_will_write(x);
	sqe = ring_sqe(x->r->r_ring->rr_ring);
	io_uring_prep_send(sqe, x->fd, u->own, len, MSG_NOSIGNAL);
	relay_send_sqe(x, sqe);
	return 0;
}

/* res bytes of the send to x went: what they were goes. 1: own is not
 * all sent yet (its rest was sent again). */
static int
relay_sent(struct side *x, size_t res)
{
	struct io_uring_sqe	*sqe;
	struct uside		*u = x->u;
	size_t			 n = res;
	int			 i;

	if (u->sq == 0) {
		if ((u->ownoff += n) >= u->ownlen)
			return 0;
		sqe = ring_sqe(x->r->r_ring->rr_ring);
		io_uring_prep_send(sqe, x->fd, u->own + u->ownoff,
		    u->ownlen - u->ownoff, MSG_NOSIGNAL);
		relay_send_sqe(x, sqe);
		return 1;
	}
	while (n > 0 && u->qn > 0) {
		if (n < u->q[0].iov_len) {
			u->q[0].iov_base = (char *)u->q[0].iov_base + n;
			u->q[0].iov_len -= n;
			break;
		}
		n -= u->q[0].iov_len;
		ring_buf_put(x->r->r_ring->rr_ring, u->qbid[0]);
		for (i = 1; i < u->qn; i++) {
			u->q[i - 1] = u->q[i];
			u->qbid[i - 1] = u->qbid[i];
		}
		u->qn--;
	}
	return 0;
}

/* len bytes from x, in ring buffer bid, for its peer. 1: r is gone. */
static int
relay_uring_data(struct side *x, unsigned int bid, size_t len)
{
	struct relay	*r = x->r;
	struct side	*to = relay_peer(x);
	struct ring	*g = r->r_ring->rr_ring;

	event_base_gettimeofday_cached(r->r_base, &r->r_last);
	if (to->gone) {
		ring_buf_put(g, bid);		/* dropped */
		return 0;
	}
	/*
	 * Owed as the buffer itself, unless out holds some (what is in out
	 * came after all of q), q is full, or the ring runs low: a quarter
	 * of the buffers stay for reads, whatever slow clients hold.
	 */
	if ((to->out == NULL || evbuffer_get_length(to->out) == 0) &&
	    to->u->qn < RELAY_QBUFS && ring_bufs_free(g) >= RING_BUFS / 4) {
		to->u->q[to->u->qn].iov_base = ring_buf(g, bid);
		to->u->q[to->u->qn].iov_len = len;
		to->u->qbid[to->u->qn++] = (unsigned short)bid;
	} else {
		if (relay_owe(to, ring_buf(g, bid), len) == -1) {
			ring_buf_put(g, bid);
			relay_close(r, "out of memory");
			return 1;
		}
		ring_buf_put(g, bid);
	}
	if (relay_send(to) == -1) {
		relay_close(r, "out of memory");
		return 1;
	}
	if (to->u->qn >= RELAY_QBUFS || relay_owed(to) >= RELAY_HIGH)
		x->paused = 1;			/* until its peer drains */
	return 0;
}

static void
relay_uring_recv(struct side *x, int res, unsigned int flags)
{
	struct relay	*r = x->r;

	x->u->recving = 0;				/* single-shot: this was its end */
	r->r_ops--;
	if (res > 0) {
		if (relay_uring_data(x, flags >> IORING_CQE_BUFFER_SHIFT,
		    (size_t)res))
			return;
		if (!x->paused && !x->u->recving)
			relay_recv_arm(x);
		return;
	}
	if (res == 0) {
		relay_eof(x);
		relay_finish(r);
		return;
	}
	if (res == -ENOBUFS) {
		/* No buffer was free: armed again after this batch. */
		if (!x->u->starved) {
			x->u->starved = 1;
			TAILQ_INSERT_TAIL(&r->r_ring->rr_starved, x->u,
			    u_starved);
		}
		return;
	}
	if (res == -ECANCELED)
		return;			/* only a closing relay cancels */
	if (x == &r->c) {
		relay_close(r, "client error");
		return;
	}
	/* All it sent before is read: an EOF, but lost. */
	relay_eof(x);
	relay_lost(r);
}

static void
relay_uring_send(struct side *x, int res)
{
	struct relay	*r = x->r;
	struct side	*from = relay_peer(x);

	r->r_ops--;
	x->u->sending = 0;
	if (res < 0) {
		relay_q_drop(x, 0);
		if (x->gone) {
			relay_finish(r);
			return;
		}
		if (x == &r->c)
			relay_close(r, "client error");
		else
			relay_lost(r);
		return;
	}
	x->sent += (uint64_t)res;
	event_base_gettimeofday_cached(r->r_base, &r->r_last);
	if (relay_sent(x, (size_t)res))
		return;			/* own's rest, still in order */
	if (x->gone) {			/* a worker that reset */
		relay_q_drop(x, 0);
		relay_finish(r);
		return;
	}
	if (relay_send(x) == -1) {
		relay_close(r, "out of memory");
		return;
	}
	if (from->paused && x->u->qn < RELAY_QBUFS &&
	    relay_owed(x) < RELAY_HIGH)
		relay_resume(from);
	if (from->eof)
		relay_finish(r);
}

/*
 * A completion on a relay's ring. A live relay's handler may close it
 * (and so free it, if nothing else is in flight): r is not touched after.
 */
static void
relay_cqe(uint64_t ud, int res, unsigned int flags, void *arg)
{
	struct side	*x = (struct side *)(uintptr_t)(ud &
			    ~(uint64_t)RELAY_OPS);
	struct relay	*r = x->r;
	struct rring	*rr = arg;
	int		 recv = (ud & RELAY_OPS) == RELAY_RECV;

	if (!r->r_closing) {
		if (recv)
			relay_uring_recv(x, res, flags);
		else
			relay_uring_send(x, res);
		return;
	}
	/* A zombie's operation ends (cancelled, most likely). */
	if (recv) {
		if (flags & IORING_CQE_F_BUFFER)
			ring_buf_put(rr->rr_ring,
			    flags >> IORING_CQE_BUFFER_SHIFT);
		x->u->recving = 0;
	} else {
		x->u->sending = 0;
		relay_q_drop(x, 0);
	}
	if (--r->r_ops == 0) {
		rr->rr_zombies--;
		relay_closed(r);
	}
}

/* After a batch of completions: recvs that ran out of buffers, again. */
static void
relay_pass(struct ring *g, void *arg)
{
	struct rring	*rr = arg;
	struct uside	*u;
	struct side	*x;

	if (ring_bufs_free(g) == 0)
		return;			/* a later batch brings some back */
	while ((u = TAILQ_FIRST(&rr->rr_starved)) != NULL) {
		TAILQ_REMOVE(&rr->rr_starved, u, u_starved);
		u->starved = 0;
		x = u->x;
		if (!x->paused && !x->eof && !u->recving)
			relay_recv_arm(x);
	}
}

/* Stopping: wait until every closed relay of rr's ring is accounted. */
static void
relay_ring_drain(struct rring *rr)
{
	while (rr->rr_ring != NULL && rr->rr_zombies > 0)
		ring_wait(rr->rr_ring);
}

/* At start: relay_io io_uring gives the main loop a ring (threads get
 * theirs in relay_threads_start); if the kernel refuses, epoll it is. */
void
relay_io_start(int io)
{
	const char	*cause;

	if (io != RELAY_IO_URING || main_rr.rr_ring != NULL)
		return;
	if ((main_rr.rr_ring = ring_new(master->m_base, relay_cqe, relay_pass,
	    &main_rr, &cause)) == NULL) {
		log_warnx("relay_io io_uring: %s; relaying with epoll", cause);
		return;
	}
	log_info("relaying on io_uring");
}

static void
relay_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay	*r = arg;
	struct timeval	 now;
	long long	 ms;
	char		 peer[64];

	(void)fd;
	(void)what;
	switch (r->r_state) {
	case RS_HEADER:
		log_warnx_limit(&relay_lim_header, "%s: %s: no PROXY header "
		    "within header_timeout; closed", __func__,
		    proxy_proto_ntop((struct sockaddr *)&r->r_peer, peer,
		    sizeof(peer)));
		relay_close(r, "no PROXY header in header_timeout");
		return;
	case RS_WAITING:
		relay_close(r, "no worker became ready in connect_timeout");
		return;
	case RS_CONNECTING:
		log_debug("%s: connect to %s timed out", __func__,
		    r->r_target->t_name);
		upstream_failed(r->r_target, "connect_timeout");
		relay_drop_server(r);
		relay_connect(r);
		return;
	case RS_RELAYING:
		if (r->r_linger) {
			relay_close(r, "the client lingered too long");
			return;
		}
		event_base_gettimeofday_cached(r->r_base, &now);
		ms = clock_tv_ms(&now) - clock_tv_ms(&r->r_last);
		if (ms >= r->r_idle) {
			relay_close(r, "idle timeout");
			return;
		}
		timer_arm(&r->r_timer, r->r_idle - ms);
		return;
	}
}

/* Cancel r's operation op on side x (its answer comes back, ECANCELED). */
static void
relay_cancel(struct relay *r, struct side *x, int op)
{
	struct io_uring_sqe	*sqe = ring_sqe(r->r_ring->rr_ring);

	__u64			 ud = (__u64)(uintptr_t)x | (__u64)op;

	io_uring_prep_cancel64(sqe, ud, (int)IORING_ASYNC_CANCEL_ALL);
	io_uring_sqe_set_data64(sqe, 0);
}

/*
 * The sockets and buffers go; whoever runs r does this. Ring operations
 * still in flight are cancelled (by user_data, so that a reused fd is
 * safe); they hold the sockets until they end.
 */
static void
relay_release(struct relay *r)
{
	if (r->r_ring != NULL) {
		r->r_closing = 1;
		if (r->c.u->recving)
			relay_cancel(r, &r->c, RELAY_RECV);
		if (r->s.u->recving)
			relay_cancel(r, &r->s, RELAY_RECV);
		if (r->c.u->sending)
			relay_cancel(r, &r->c, RELAY_SEND);
		if (r->s.u->sending)
			relay_cancel(r, &r->s, RELAY_SEND);
		relay_q_drop(&r->c, r->c.u->sending ? r->c.u->sq : 0);
		relay_q_drop(&r->s, r->s.u->sending ? r->s.u->sq : 0);
		if (r->c.u->starved)
			TAILQ_REMOVE(&r->r_ring->rr_starved, r->c.u,
			    u_starved);
		if (r->s.u->starved)
			TAILQ_REMOVE(&r->r_ring->rr_starved, r->s.u,
			    u_starved);
		r->c.u->starved = r->s.u->starved = 0;
	}
	evtimer_del(&r->r_timer);
	if (event_initialized(&r->c.rev))
		event_del(&r->c.rev);
	if (event_initialized(&r->c.wev))
		event_del(&r->c.wev);
	if (r->s.fd != -1) {
		if (event_initialized(&r->s.rev))
			event_del(&r->s.rev);
		if (event_initialized(&r->s.wev))
			event_del(&r->s.wev);
		close(r->s.fd);
	}
	close(r->c.fd);
	if (r->c.out != NULL)
		evbuffer_free(r->c.out);
	if (r->s.out != NULL)
		evbuffer_free(r->s.out);
}

/* The bookkeeping of an ended relay: the main thread's. */
static void
relay_account(struct relay *r)
{
	nrelays--;
	if (r->r_state == RS_RELAYING)
		upstream_closed(r->r_target, r->r_early);
	else
		master_conn_refused();
	if (r->s.fd != -1)
		upstream_detach(r->r_target);	/* may free it */
	free(r->r_hdr);
	if (r->c.u != NULL) {
		free(r->c.u->own);
		free(r->s.u->own);
	}
	free(r);
}

/* How r ended, for the access log; why: relay_close's. */
static const char *
relay_end(const struct relay *r, const char *why)
{
	static const struct {
		const char	*why;
		const char	*end;
	} ends[] = {
		{ "client error", "reset" },
		{ "idle timeout", "idle-timeout" },
		{ "every worker refused", "connect-failed" },
		{ "no worker became ready in connect_timeout", "no-worker" },
		{ "the client lingered too long", "worker-reset" },
		{ "shutting down", "shutdown" },
	};
	size_t	i;

	if (strcmp(why, "done") == 0)
		return r->s.gone ? "worker-reset" : r->r_finfirst == &r->s ?
		    "worker-closed" : "closed";
	for (i = 0; i < nitems(ends); i++)
		if (strcmp(why, ends[i].why) == 0)
			return ends[i].end;
	return "error";
}

/*
 * The access log's line for r, which ends now: in the thread that runs
 * it. r_client is the peer porter accepted (the real client, once a
 * PROXY protocol header can say otherwise).
 */
static void
relay_log(struct relay *r, const char *why)
{
	struct access_entry	e;
	struct timespec		ts;
	socklen_t		len = sizeof(e.a_local);

	memset(&e, 0, sizeof(e));
	clock_gettime(CLOCK_REALTIME, &ts);
	e.a_time_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	e.a_client = r->r_client;
	if (getsockname(r->c.fd, (struct sockaddr *)&e.a_local, &len) == -1)
		e.a_local.ss_family = AF_UNSPEC;
	e.a_worker = r->r_state == RS_RELAYING ? r->r_wid : -1;
	e.a_wport = r->r_wport;
	e.a_upstream = r->r_state == RS_RELAYING ? r->r_upname : NULL;
	e.a_in = r->s.sent;
	e.a_out = r->c.sent;
	e.a_ms = clock_ms() - r->r_start;
	e.a_end = relay_end(r, why);
	access_write(&e);
}

/* The one place a relay ends. */
static void
relay_close(struct relay *r, const char *why)
{
	struct rthread	*t = r->r_thread;

	log_debug("%s: %s", __func__, why);
	if (access_on())
		relay_log(r, why);
	relay_release(r);
	TAILQ_REMOVE(t == NULL ? &relays : &t->t_relays, r, r_entry);
	if (r->r_ops > 0) {
		r->r_ring->rr_zombies++;	/* relay_closed comes later */
		return;
	}
	relay_closed(r);
}

/* r is closed and nothing of it is in flight: account for it. */
static void
relay_closed(struct relay *r)
{
	struct rthread	*t = r->r_thread;
	int		 wake;

	if (t == NULL) {
		relay_account(r);
		return;
	}
	/* In a relay thread: the main thread does the rest. */
	pthread_mutex_lock(&done_lock);
	wake = TAILQ_EMPTY(&done_list);
	TAILQ_INSERT_TAIL(&done_list, r, r_entry);
	pthread_mutex_unlock(&done_lock);
	if (wake)
		(void)eventfd_write(done_efd, 1);
}

/* Main thread: relays that ended in a thread. */
static void
relay_done(void)
{
	struct relay_list	 done = TAILQ_HEAD_INITIALIZER(done);
	struct relay		*r;

	pthread_mutex_lock(&done_lock);
	TAILQ_CONCAT(&done, &done_list, r_entry);
	pthread_mutex_unlock(&done_lock);
	while ((r = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, r, r_entry);
		relay_account(r);
	}
}

static void
relay_done_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	relay_done();
}

/* A relay thread's mail: relays to start, or orders. */
static void
relay_thread_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rthread		*t = arg;
	struct relay_list	 inbox = TAILQ_HEAD_INITIALIZER(inbox);
	struct relay		*r;
	int			 closeall, stop;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&t->t_lock);
	TAILQ_CONCAT(&inbox, &t->t_inbox, r_entry);
	closeall = t->t_closeall;
	stop = t->t_stop;
	t->t_closeall = 0;
	pthread_mutex_unlock(&t->t_lock);
	while ((r = TAILQ_FIRST(&inbox)) != NULL) {
		TAILQ_REMOVE(&inbox, r, r_entry);
		TAILQ_INSERT_HEAD(&t->t_relays, r, r_entry);
		relay_start(r);
	}
	if (closeall || stop)
		while ((r = TAILQ_FIRST(&t->t_relays)) != NULL)
			relay_close(r, "shutting down");
	if (stop) {
		relay_ring_drain(&t->t_rr);
		event_base_loopbreak(t->t_base);
	}
}

static void *
relay_thread_main(void *arg)
{
	struct rthread	*t = arg;
	sigset_t	 all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);	/* signals are main's */
	event_base_dispatch(t->t_base);
	return NULL;
}

/*
 * Start n relay threads (0: relay in the main thread). Called once, at
 * start; reloads keep the count. The eventfds that carry the mail are
 * edge-triggered and never read: every write is a new edge, and the
 * counter cannot reach its limit (2^64 - 2 writes), so a wake-up costs
 * one write and no read. A write is made only when the queue it
 * announces was empty: otherwise a wake-up is on its way already.
 */
int
relay_threads_start(int n)
{
	struct rthread	*t;
	const char	*cause;
	int		 i;

	if (n <= 0)
		return 0;
	if ((done_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (done_ev = event_new(master->m_base, done_efd, EV_READ | EV_ET |
	    EV_PERSIST, relay_done_cb, NULL)) == NULL ||
	    event_add(done_ev, NULL) == -1 ||
	    (rthreads = calloc((size_t)n, sizeof(*rthreads))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		t = &rthreads[i];
		pthread_mutex_init(&t->t_lock, NULL);
		TAILQ_INIT(&t->t_inbox);
		TAILQ_INIT(&t->t_relays);
		TAILQ_INIT(&t->t_rr.rr_starved);
		if ((t->t_base = event_base_new()) == NULL ||
		    (t->t_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
		    (t->t_ev = event_new(t->t_base, t->t_efd,
		    EV_READ | EV_ET | EV_PERSIST, relay_thread_cb, t)) == NULL ||
		    event_add(t->t_ev, NULL) == -1)
			return -1;
		if (main_rr.rr_ring != NULL &&
		    (t->t_rr.rr_ring = ring_new(t->t_base, relay_cqe,
		    relay_pass, &t->t_rr, &cause)) == NULL)
			log_warnx("relay thread %d: io_uring: %s; it relays "
			    "with epoll", i, cause);
		if (pthread_create(&t->t_thread, NULL, relay_thread_main, t) !=
		    0)
			return -1;
		nrthreads++;
	}
	return 0;
}

static void
relay_threads_tell(int stop)
{
	int	i;

	for (i = 0; i < nrthreads; i++) {
		pthread_mutex_lock(&rthreads[i].t_lock);
		if (stop)
			rthreads[i].t_stop = 1;
		else
			rthreads[i].t_closeall = 1;
		pthread_mutex_unlock(&rthreads[i].t_lock);
		(void)eventfd_write(rthreads[i].t_efd, 1);
	}
}

/* At exit: every relay closed, the threads joined, their work accounted. */
void
relay_threads_stop(void)
{
	int	i;

	relay_threads_tell(1);
	for (i = 0; i < nrthreads; i++) {
		pthread_join(rthreads[i].t_thread, NULL);
		ring_free(rthreads[i].t_rr.rr_ring);
		event_free(rthreads[i].t_ev);
		event_base_free(rthreads[i].t_base);
		close(rthreads[i].t_efd);
		pthread_mutex_destroy(&rthreads[i].t_lock);
	}
	relay_done();
	free(rthreads);
	rthreads = NULL;
	nrthreads = 0;
	if (done_ev != NULL)
		event_free(done_ev);
	done_ev = NULL;
	if (done_efd != -1)
		close(done_efd);
	done_efd = -1;
	ring_free(main_rr.rr_ring);
	main_rr.rr_ring = NULL;
}

void
relay_close_all(void)
{
	struct relay	*r;

	while ((r = TAILQ_FIRST(&relays)) != NULL)
		relay_close(r, "shutting down");
	relay_ring_drain(&main_rr);
	relay_threads_tell(0);
}
