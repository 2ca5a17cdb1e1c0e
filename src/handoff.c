/*
 * handoff.c: handoff mode. The master accepts and sends each client socket
 * to a worker as a Node "net.Socket" handle, keeping its own copy until the
 * worker acknowledges it. At most handoff_window sockets are in flight per
 * worker; with every window full the master stops accepting and the kernel
 * backlog holds new clients. An accepted socket is never dropped while a
 * worker could still take it: a worker that dies, or stops acknowledging,
 * gives its in-flight sockets back. Every socket porter gives up goes
 * through handoff_drop().
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
#define HANDOFF_QUEUE	64	/* the queue's first size; it grows */
#define NACK_BACKOFF	100	/* ms a NACKing worker gets no socket */
#define NACK_BACKOFF_MAX 1600	/* doubling while it keeps NACKing */

/* A client socket on its way to a worker. */
struct handoff_sock {
	int		 hs_fd;
	int		 hs_tries;	/* workers it was sent to already */
	uint64_t	 hs_since;	/* ms: waiting since */
	uint64_t	 hs_born;	/* ms: accepted at */
};

/*
 * A ring of sockets, oldest first: a worker's in flight (as large as its
 * window) or the queue of those waiting for a window (grows).
 */
struct handoff_ring {
	struct handoff_sock	*hr_socks;
	int			 hr_head;
	int			 hr_n;
	int			 hr_size;
	int			 hr_grows;
};

/* What handoff mode keeps per worker (w->w_handoff). */
struct handoff_worker {
	struct handoff_ring	 hw_flight;	/* sent, not acknowledged */
	struct event		*hw_acktimer;	/* the oldest must be acked */
	struct worker		*hw_worker;
	int			 hw_backoff;	/* ms, after a NACK; 0: none */
	uint64_t		 hw_until;	/* no sockets before (ms) */
	struct event		*hw_retry;	/* the back-off is over */
	struct log_limit	 hw_lim;
};

static struct handoff_ring	 queue;		/* accepted, waiting */
static struct event		*queue_timer;

static void	handoff_flush(void);
static void	handoff_queue_timer_cb(evutil_socket_t, short, void *);
static void	handoff_ack_timer_cb(evutil_socket_t, short, void *);
static void	handoff_retry_cb(evutil_socket_t, short, void *);

static int
handoff_ring_init(struct handoff_ring *hr, int size, int grows)
{
	if ((hr->hr_socks = calloc((size_t)size, sizeof(*hr->hr_socks))) ==
	    NULL)
		return -1;
	hr->hr_head = hr->hr_n = 0;
	hr->hr_size = size;
	hr->hr_grows = grows;
	return 0;
}

/* Add hs at the back, or at the front (it was first in line). */
static int
handoff_ring_push(struct handoff_ring *hr, struct handoff_sock hs,
    int front)
{
	struct handoff_sock	*ns;
	int			 i;

	if (hr->hr_n == hr->hr_size) {
		if (!hr->hr_grows || (ns = reallocarray(NULL,
		    (size_t)hr->hr_size, 2 * sizeof(*ns))) == NULL)
			return -1;
		for (i = 0; i < hr->hr_n; i++)
			ns[i] = hr->hr_socks[(hr->hr_head + i) % hr->hr_size];
		free(hr->hr_socks);
		hr->hr_socks = ns;
		hr->hr_head = 0;
		hr->hr_size *= 2;
	}
	if (front)
		i = hr->hr_head = (hr->hr_head + hr->hr_size - 1) % hr->hr_size;
	else
		i = (hr->hr_head + hr->hr_n) % hr->hr_size;
	hr->hr_socks[i] = hs;
	hr->hr_n++;
	return 0;
}

/* The oldest (or, back: the newest) socket, out of the ring; hr_n > 0. */
static struct handoff_sock
handoff_ring_pop(struct handoff_ring *hr, int back)
{
	struct handoff_sock	hs;

	if (back)
		return hr->hr_socks[(hr->hr_head + --hr->hr_n) % hr->hr_size];
	hs = hr->hr_socks[hr->hr_head];
	hr->hr_head = (hr->hr_head + 1) % hr->hr_size;
	hr->hr_n--;
	return hs;
}

/*
 * The one way a socket porter took leaves without reaching a worker: it
 * is closed and counted as refused. Callers log the summary.
 */
static void
handoff_drop(int fd, const char *why)
{
	log_debug("%s: closing a client: %s", __func__, why);
	close(fd);
	master_conn_refused();
}

/* Drop every socket in hr. */
static void
handoff_ring_drop(struct handoff_ring *hr, const char *why)
{
	while (hr->hr_n > 0)
		handoff_drop(handoff_ring_pop(hr, 0).hs_fd, why);
}

int
handoff_init(void)
{
	if (queue.hr_socks != NULL)
		return 0;	/* already, before a reload */
	if (handoff_ring_init(&queue, HANDOFF_QUEUE, 1) == -1 ||
	    (queue_timer = evtimer_new(master->m_base, handoff_queue_timer_cb,
	    NULL)) == NULL)
		return -1;
	return 0;
}

void
handoff_free(void)
{
	handoff_ring_drop(&queue, "porter is stopping");
	free(queue.hr_socks);
	memset(&queue, 0, sizeof(queue));
	if (queue_timer != NULL)
		event_free(queue_timer);
	queue_timer = NULL;
}

/* A handoff worker's window and ACK timer; NULL if out of memory. */
struct handoff_worker *
handoff_worker_new(struct worker *w, int window)
{
	struct handoff_worker	*hw;

	if ((hw = calloc(1, sizeof(*hw))) == NULL)
		return NULL;
	hw->hw_worker = w;
	if (handoff_ring_init(&hw->hw_flight, window, 0) == -1 ||
	    (hw->hw_acktimer = evtimer_new(master->m_base,
	    handoff_ack_timer_cb, hw)) == NULL ||
	    (hw->hw_retry = evtimer_new(master->m_base, handoff_retry_cb,
	    hw)) == NULL) {
		handoff_worker_free(hw);
		return NULL;
	}
	return hw;
}

/* Its sockets must have been reclaimed or dropped already. */
void
handoff_worker_free(struct handoff_worker *hw)
{
	if (hw == NULL)
		return;
	if (hw->hw_acktimer != NULL)
		event_free(hw->hw_acktimer);
	if (hw->hw_retry != NULL)
		event_free(hw->hw_retry);
	free(hw->hw_flight.hr_socks);
	free(hw);
}

/* Sockets waiting for a worker with room. */
unsigned int
handoff_pending(void)
{
	return (unsigned int)queue.hr_n;
}

/* Queue a socket no worker can take now. */
static void
handoff_queue(struct handoff_sock hs, int front)
{
	if (handoff_ring_push(&queue, hs, front) == -1) {
		log_warnx("%s: out of memory: closing a client", __func__);
		handoff_drop(hs.hs_fd, "out of memory");
		return;
	}
	if (!evtimer_pending(queue_timer, NULL))
		timer_arm(queue_timer, master->m_conf->c_connect_timeout);
	master_update_accepting();
}

static int
handoff_usable(const struct worker *w, void *arg)
{
	const struct handoff_worker	*hw = w->w_handoff;

	(void)arg;
	if (hw == NULL || w->w_chan == NULL || !master_worker_usable(w, NULL))
		return 0;
	if (hw->hw_until != 0 && clock_ms() < hw->hw_until)
		return 0;		/* it NACKed: backing off */
	return hw->hw_flight.hr_n < hw->hw_flight.hr_size;
}

/* Send hs to w; it stays ours until w acknowledges it. */
static int
handoff_send(struct worker *w, struct handoff_sock hs)
{
	struct handoff_worker	*hw = w->w_handoff;

	if (ipc_send_socket(w->w_chan, hs.hs_fd) == -1) {
		log_warnx("worker %d (pid %ld): cannot send a socket; killing "
		    "it", w->w_id, (long)w->w_pid);
		master_kill(w, SIGKILL, "cannot send it a socket");
		master_worker_set_state(w, WS_DRAINING); /* takes no more */
		return -1;
	}
	hs.hs_tries++;
	hs.hs_since = clock_ms();
	(void)handoff_ring_push(&hw->hw_flight, hs, 0);	/* has room */
	if (hw->hw_flight.hr_n == 1)
		timer_arm(hw->hw_acktimer, master->m_conf->c_connect_timeout);
	return 0;
}

/* Give hs to a worker with room, or queue it. */
static void
handoff_dispatch(struct handoff_sock hs, int front)
{
	int	idx;

	while ((idx = balance_pick(&master->m_balance, master->m_workers,
	    master->m_nworkers, handoff_usable, NULL)) != -1) {
		if (handoff_send(master->m_workers[idx], hs) == 0)
			return;
	}
	handoff_queue(hs, front);
}

void
handoff_accept(int fd, struct sockaddr *sa, socklen_t len, void *arg)
{
	struct handoff_sock	hs = { fd, 0, 0, 0 };

	(void)sa;
	(void)len;
	(void)arg;
	hs.hs_since = hs.hs_born = clock_ms();
	master_conn_accepted();
	if (queue.hr_n > 0) {
		/* Keep the order: the queue goes first. */
		handoff_queue(hs, 0);
		handoff_flush();
		return;
	}
	handoff_dispatch(hs, 0);
}

/* Move queued sockets to workers with room, oldest first. */
static void
handoff_flush(void)
{
	struct handoff_sock	hs;
	int			idx;

	while (queue.hr_n > 0 && (idx = balance_pick(&master->m_balance,
	    master->m_workers, master->m_nworkers, handoff_usable, NULL)) !=
	    -1) {
		hs = handoff_ring_pop(&queue, 0);
		if (handoff_send(master->m_workers[idx], hs) == -1)
			handoff_queue(hs, 1);
	}
	if (queue.hr_n == 0)
		evtimer_del(queue_timer);
	master_update_accepting();
}

/* A worker became ready, or got room: give it what waits. */
void
handoff_kick(void)
{
	if (queue.hr_n > 0)
		handoff_flush();
}

/* Time the oldest socket in flight to hw: it must be acked in time. */
static void
handoff_ack_arm(struct handoff_worker *hw)
{
	const struct handoff_ring	*f = &hw->hw_flight;
	uint64_t			 waited, limit;

	if (f->hr_n == 0) {
		evtimer_del(hw->hw_acktimer);
		return;
	}
	waited = clock_ms() - f->hr_socks[f->hr_head].hs_since;
	limit = (uint64_t)master->m_conf->c_connect_timeout;
	timer_arm(hw->hw_acktimer, waited >= limit ? 0 : limit - waited);
}

/* The worker has the oldest socket sent to it: close our copy. */
void
handoff_ack(struct worker *w)
{
	struct handoff_worker	*hw = w->w_handoff;

	if (hw == NULL || hw->hw_flight.hr_n == 0) {
		log_debug("worker %d: acknowledgement for nothing", w->w_id);
		return;
	}
	close(handoff_ring_pop(&hw->hw_flight, 0).hs_fd);
	hw->hw_backoff = 0;
	handoff_ack_arm(hw);
	master_conn_handed(w);
	handoff_flush();
}

/*
 * The worker got the message without its fd: it is alive but cannot take
 * fds now (at its fd limit). It gets none for a while, doubling while it
 * keeps NACKing, and the socket goes to another worker or waits; it is
 * closed only once it has waited connect_timeout since it was accepted.
 */
void
handoff_nack(struct worker *w)
{
	struct handoff_worker	*hw = w->w_handoff;
	struct handoff_sock	 hs;
	uint64_t		 now = clock_ms();

	if (hw == NULL || hw->hw_flight.hr_n == 0)
		return;
	hs = handoff_ring_pop(&hw->hw_flight, 0);
	handoff_ack_arm(hw);
	hw->hw_backoff = hw->hw_backoff == 0 ? NACK_BACKOFF :
	    hw->hw_backoff >= NACK_BACKOFF_MAX / 2 ? NACK_BACKOFF_MAX :
	    2 * hw->hw_backoff;
	hw->hw_until = now + (uint64_t)hw->hw_backoff;
	timer_arm(hw->hw_retry, hw->hw_backoff);
	log_warnx_limit(&hw->hw_lim, "worker %d (pid %ld) got a socket "
	    "without its fd (at its fd limit?); none for it for %d ms",
	    w->w_id, (long)w->w_pid, hw->hw_backoff);
	if (now - hs.hs_born >= (uint64_t)master->m_conf->c_connect_timeout) {
		log_warnx_limit(&hw->hw_lim, "a client no worker could take "
		    "within connect_timeout; closed");
		handoff_drop(hs.hs_fd, "NACKed past connect_timeout");
		return;
	}
	handoff_dispatch(hs, 1);
}

/* A NACKing worker's back-off is over: it may take sockets again. */
static void
handoff_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct handoff_worker	*hw = arg;

	(void)fd;
	(void)what;
	hw->hw_until = 0;
	handoff_kick();
}

/*
 * The worker is gone (or broken): every socket it did not acknowledge goes
 * to another worker, in the order they were accepted.
 */
void
handoff_reclaim(struct worker *w)
{
	struct handoff_worker	*hw = w->w_handoff;
	struct handoff_sock	 hs;
	int			 n = 0, dropped = 0;

	if (hw == NULL)
		return;
	evtimer_del(hw->hw_acktimer);
	evtimer_del(hw->hw_retry);
	hw->hw_until = 0;
	/* Newest first to the front of the queue keeps the order. */
	while (hw->hw_flight.hr_n > 0) {
		hs = handoff_ring_pop(&hw->hw_flight, 1);
		/* Its wait for a worker starts again now, unless every try
		 * is used up: then workers are failing, not busy. */
		if (hs.hs_tries >= HANDOFF_TRIES) {
			handoff_drop(hs.hs_fd, "every try failed");
			dropped++;
			continue;
		}
		hs.hs_since = clock_ms();
		handoff_queue(hs, 1);
		n++;
	}
	if (master->m_conf->c_mode != MODE_HANDOFF)
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

/* The oldest socket in flight waited connect_timeout: the worker is stuck. */
static void
handoff_ack_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct handoff_worker	*hw = arg;
	struct worker		*w = hw->hw_worker;

	(void)fd;
	(void)what;
	if (hw->hw_flight.hr_n == 0 || w->w_pid <= 0)
		return;
	log_warnx("worker %d (pid %ld) did not acknowledge a socket in %d ms; "
	    "killing it", w->w_id, (long)w->w_pid,
	    master->m_conf->c_connect_timeout);
	master_worker_set_state(w, WS_DRAINING);
	master_kill(w, SIGKILL, "no acknowledgement in connect_timeout");
}

/* Sockets no worker took within connect_timeout are closed. */
static void
handoff_queue_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t	now = clock_ms(), limit;
	int		n = 0;

	(void)fd;
	(void)what;
	(void)arg;
	limit = (uint64_t)master->m_conf->c_connect_timeout;
	while (queue.hr_n > 0 &&
	    now - queue.hr_socks[queue.hr_head].hs_since >= limit) {
		handoff_drop(handoff_ring_pop(&queue, 0).hs_fd,
		    "no worker took it within connect_timeout");
		n++;
	}
	if (n > 0)
		log_warnx("no worker could take %d client%s within "
		    "connect_timeout; closed", n, n == 1 ? "" : "s");
	if (queue.hr_n > 0)
		timer_arm(queue_timer, limit -
		    (now - queue.hr_socks[queue.hr_head].hs_since));
	master_update_accepting();
}

/*
 * A reload left handoff mode: what still waits for a worker is relayed
 * (proxy mode) or, with nobody to take it (shared mode), closed.
 */
void
handoff_migrate(void)
{
	int	fd;

	while (queue.hr_n > 0) {
		fd = handoff_ring_pop(&queue, 0).hs_fd;
		if (master->m_conf->c_mode == MODE_PROXY)
			relay_adopt(fd);
		else
			handoff_drop(fd, "shared mode has no use for it");
	}
	if (queue_timer != NULL)
		evtimer_del(queue_timer);
}

/* Fast stop: every socket not yet handed off is closed. */
void
handoff_close_all(void)
{
	struct handoff_worker	*hw;
	int			 i;

	for (i = 0; i < master->m_nworkers; i++) {
		if ((hw = master->m_workers[i]->w_handoff) == NULL)
			continue;
		handoff_ring_drop(&hw->hw_flight, "porter is stopping");
		evtimer_del(hw->hw_acktimer);
	}
	handoff_ring_drop(&queue, "porter is stopping");
	if (queue_timer != NULL)
		evtimer_del(queue_timer);
}
