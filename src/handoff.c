/*
 * handoff.c: handoff mode. The master accepts and sends each client socket
 * to a worker as a Node "net.Socket" handle, keeping its own copy until the
 * worker acknowledges it. At most handoff_window sockets are in flight per
 * worker; with every window full the master stops accepting and the kernel
 * backlog holds new clients. An accepted socket is never dropped: a worker
 * that dies, or stops acknowledging, gives its in-flight sockets back.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "porter.h"

#define HANDOFF_TRIES	3	/* workers a socket may be sent to */

/* Exactly what Node's child.send(msg, socket) writes; "msg" is the message
 * a Node script's process.on('message', (m, socket)) sees. */
static const char	 handle_msg[] =
    "{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Socket\",\"msg\":\"socket\"}";

struct pending {
	int		 fd;
	int		 tries;		/* workers it was sent to already */
	uint64_t	 since;		/* ms: waiting since */
};

static struct master	*hm;
static struct pending	*pend;		/* accepted, waiting for a window */
static int		 npend, pend_head, pend_size;
static struct event	*pend_timer;

static void	handoff_flush(void);
static struct pending handoff_pend_pop(void);
static void	handoff_pend_close_all(void);
static void	handoff_pend_timer_cb(evutil_socket_t, short, void *);

int
handoff_init(struct master *m)
{
	hm = m;
	if (pend != NULL)
		return 0;	/* already, before a reload */
	pend_size = 64;
	if ((pend = calloc((size_t)pend_size, sizeof(*pend))) == NULL ||
	    (pend_timer = evtimer_new(m->m_base, handoff_pend_timer_cb,
	    NULL)) == NULL)
		return -1;
	return 0;
}

/* The oldest queued socket, out of the queue (npend > 0). */
static struct pending
handoff_pend_pop(void)
{
	struct pending	p = pend[pend_head];

	pend_head = (pend_head + 1) % pend_size;
	npend--;
	return p;
}

/* Close every queued socket: no worker will have it. */
static void
handoff_pend_close_all(void)
{
	while (npend > 0) {
		close(handoff_pend_pop().fd);
		master_fds(-1);
	}
}

void
handoff_free(void)
{
	if (pend != NULL)
		handoff_pend_close_all();
	free(pend);
	pend = NULL;
	if (pend_timer != NULL)
		event_free(pend_timer);
	pend_timer = NULL;
}

/* Sockets accepted and not yet acknowledged by a worker. */
unsigned int
handoff_unacked(void)
{
	unsigned int	n = (unsigned int)npend;
	int		i;

	for (i = 0; i < hm->m_nworkers; i++)
		n += (unsigned int)hm->m_workers[i]->w_nflight;
	return n;
}

unsigned int
handoff_pending(void)
{
	return (unsigned int)npend;
}

/* Queue a socket no worker can take now. front: it was first in line. */
static int
handoff_pend(int fd, int tries, uint64_t since, int front)
{
	struct pending	*np;
	int		 i;

	if (npend == pend_size) {
		if ((np = calloc((size_t)pend_size * 2, sizeof(*np))) == NULL)
			return -1;
		for (i = 0; i < npend; i++)
			np[i] = pend[(pend_head + i) % pend_size];
		free(pend);
		pend = np;
		pend_head = 0;
		pend_size *= 2;
	}
	if (front)
		i = pend_head = (pend_head + pend_size - 1) % pend_size;
	else
		i = (pend_head + npend) % pend_size;
	pend[i].fd = fd;
	pend[i].tries = tries;
	pend[i].since = since;
	npend++;
	if (!evtimer_pending(pend_timer, NULL))
		timer_arm(pend_timer, (uint64_t)hm->m_conf->c_connect_timeout);
	master_update_accepting();
	return 0;
}

static int
handoff_usable(const struct worker *w, void *arg)
{
	(void)arg;
	return w->w_state == WS_READY && w->w_mode == MODE_HANDOFF &&
	    w->w_gen == hm->m_gen && w->w_chan != NULL &&
	    w->w_nflight < w->w_window;
}

/* Send fd to w; it stays ours until w acknowledges it. */
static int
handoff_send(struct worker *w, int fd, int tries)
{
	int	slot;

	if (channel_send(w->w_chan, handle_msg, sizeof(handle_msg) - 1, fd) ==
	    -1) {
		log_warnx("worker %d (pid %ld): cannot send a socket; killing "
		    "it", w->w_id, (long)w->w_pid);
		kill(w->w_pid, SIGKILL);
		worker_set_state(w, WS_DRAINING);	/* takes no more */
		return -1;
	}
	slot = (w->w_flight_head + w->w_nflight) % w->w_window;
	w->w_flight[slot].fd = fd;
	w->w_flight[slot].tries = tries + 1;
	w->w_flight[slot].since = master_now();
	if (w->w_nflight++ == 0)
		timer_arm(w->w_acktimer,
		    (uint64_t)hm->m_conf->c_connect_timeout);
	return 0;
}

/* Give fd to a worker with room, or queue it. */
static void
handoff_dispatch(int fd, int tries, int front)
{
	int	idx;

	while ((idx = balance_pick(&hm->m_balance, hm->m_workers,
	    hm->m_nworkers, handoff_usable, NULL)) != -1) {
		if (handoff_send(hm->m_workers[idx], fd, tries) == 0)
			return;
	}
	if (handoff_pend(fd, tries, master_now(), front) == -1) {
		log_warnx("%s: out of memory: closing a client", __func__);
		close(fd);
		master_fds(-1);
		hm->m_stats.refused++;
	}
}

void
handoff_accept(int fd, struct sockaddr *sa, socklen_t len, void *arg)
{
	(void)sa;
	(void)len;
	(void)arg;
	hm->m_stats.accepted++;
	master_fds(1);
	if (npend > 0) {
		/* Keep the order: the queue goes first. */
		handoff_pend(fd, 0, master_now(), 0);
		handoff_flush();
		return;
	}
	handoff_dispatch(fd, 0, 0);
	master_update_accepting();
}

/* Move queued sockets to workers with room, oldest first. */
static void
handoff_flush(void)
{
	struct pending	p;
	int		idx;

	while (npend > 0) {
		idx = balance_pick(&hm->m_balance, hm->m_workers,
		    hm->m_nworkers, handoff_usable, NULL);
		if (idx == -1)
			break;
		p = handoff_pend_pop();
		if (handoff_send(hm->m_workers[idx], p.fd, p.tries) == -1)
			handoff_pend(p.fd, p.tries, p.since, 1);
	}
	if (npend == 0)
		evtimer_del(pend_timer);
	master_update_accepting();
}

/* A worker became ready, or got room: give it what waits. */
void
handoff_kick(void)
{
	if (npend > 0)
		handoff_flush();
}

/* The worker has the oldest socket sent to it: close our copy. */
void
handoff_ack(struct worker *w)
{
	struct flight	*f;
	int		 win = w->w_window;

	if (w->w_nflight == 0) {
		log_debug("worker %d: acknowledgement for nothing", w->w_id);
		return;
	}
	f = &w->w_flight[w->w_flight_head];
	close(f->fd);
	master_fds(-1);
	w->w_flight_head = (w->w_flight_head + 1) % win;
	w->w_nflight--;
	hm->m_stats.handed_off++;
	master_worker_conn(w, 1);
	if (w->w_nflight == 0)
		evtimer_del(w->w_acktimer);
	else
		timer_arm(w->w_acktimer, (uint64_t)
		    hm->m_conf->c_connect_timeout);
	handoff_flush();
	master_stop_check();
}

/* The worker got the message without its fd: send that socket again. */
void
handoff_nack(struct worker *w)
{
	struct flight	f;
	int		win = w->w_window;

	if (w->w_nflight == 0)
		return;
	f = w->w_flight[w->w_flight_head];
	w->w_flight_head = (w->w_flight_head + 1) % win;
	w->w_nflight--;
	log_warnx("worker %d: socket arrived without its fd; sending it "
	    "again", w->w_id);
	handoff_dispatch(f.fd, f.tries, 1);
}

/*
 * The worker is gone (or broken): every socket it did not acknowledge goes
 * to another worker, in the order they were accepted.
 */
void
handoff_reclaim(struct worker *w)
{
	struct flight	f;
	int		win = w->w_window, n = 0, dropped = 0;

	evtimer_del(w->w_acktimer);
	/* Newest first to the front of the queue keeps the order. */
	while (w->w_nflight > 0) {
		f = w->w_flight[(w->w_flight_head + w->w_nflight - 1) % win];
		w->w_nflight--;
		/* Its wait for a worker starts again now, unless every try
		 * is used up: then workers are failing, not busy. */
		if (f.tries >= HANDOFF_TRIES || handoff_pend(f.fd, f.tries,
		    master_now(), 1) == -1) {
			close(f.fd);
			master_fds(-1);
			hm->m_stats.refused++;
			dropped++;
		} else
			n++;
	}
	w->w_flight_head = 0;
	if (hm->m_conf->c_mode != MODE_HANDOFF)
		handoff_migrate();	/* a reload changed the mode */
	if (n > 0)
		log_warnx("worker %d: %d socket%s it did not acknowledge go "
		    "to other workers", w->w_id, n, n == 1 ? "" : "s");
	if (dropped > 0)
		log_warnx("worker %d: %d client%s closed after %d workers "
		    "failed to take %s", w->w_id, dropped, dropped == 1 ? "" :
		    "s", HANDOFF_TRIES, dropped == 1 ? "it" : "them");
	handoff_flush();
}

/* The oldest socket in flight to w waited connect_timeout: w is stuck. */
void
handoff_ack_timeout(struct worker *w)
{
	if (w->w_nflight == 0 || w->w_pid <= 0)
		return;
	log_warnx("worker %d (pid %ld) did not acknowledge a socket in %d ms; "
	    "killing it", w->w_id, (long)w->w_pid,
	    hm->m_conf->c_connect_timeout);
	worker_set_state(w, WS_DRAINING);
	kill(w->w_pid, SIGKILL);
}

/* Sockets no worker took within connect_timeout are closed. */
static void
handoff_pend_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t	now = master_now(), limit;
	int		n = 0;

	(void)fd;
	(void)what;
	(void)arg;
	limit = (uint64_t)hm->m_conf->c_connect_timeout;
	while (npend > 0 && now - pend[pend_head].since >= limit) {
		close(handoff_pend_pop().fd);
		master_fds(-1);
		hm->m_stats.refused++;
		n++;
	}
	if (n > 0)
		log_warnx("no worker could take %d client%s within "
		    "connect_timeout; closed", n, n == 1 ? "" : "s");
	if (npend > 0)
		timer_arm(pend_timer, limit - (now - pend[pend_head].since));
	master_update_accepting();
	master_stop_check();
}

/*
 * A reload left handoff mode: what still waits for a worker is relayed
 * (proxy mode) or, with nobody to take it (shared mode), closed.
 */
void
handoff_migrate(void)
{
	int	fd;

	while (npend > 0) {
		fd = handoff_pend_pop().fd;
		if (hm->m_conf->c_mode == MODE_PROXY) {
			master_fds(-1);		/* relay_adopt counts it */
			relay_adopt(fd);
		} else {
			close(fd);
			master_fds(-1);
			hm->m_stats.refused++;
		}
	}
	evtimer_del(pend_timer);
}

/* Fast stop: every socket not yet handed off is closed. */
void
handoff_close_all(void)
{
	int	i;

	if (hm == NULL || pend == NULL)
		return;		/* never in handoff mode */
	for (i = 0; i < hm->m_nworkers; i++) {
		struct worker	*w = hm->m_workers[i];

		while (w->w_nflight > 0) {
			close(w->w_flight[w->w_flight_head].fd);
			master_fds(-1);
			w->w_flight_head = (w->w_flight_head + 1) %
			    w->w_window;
			w->w_nflight--;
		}
		if (w->w_acktimer != NULL)
			evtimer_del(w->w_acktimer);
	}
	handoff_pend_close_all();
	evtimer_del(pend_timer);
}
