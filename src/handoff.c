/*
 * handoff.c: handoff mode. The master accepts and sends each client socket
 * to a worker as a Node "net.Socket" handle, keeping its own copy until the
 * worker acknowledges it. At most handoff_window sockets are in flight per
 * worker; with every window full the master stops accepting and the kernel
 * backlog holds new clients. An accepted socket is never dropped while a
 * worker could still take it: a worker that dies, or stops acknowledging,
 * gives its in-flight sockets back. Every socket porter gives up goes
 * through handoff_drop().
 *
 * Sockets are handed out by group: the front (porter's own listeners) and,
 * for Node cluster workers, each extra server porter accepts on for them
 * (cluster.c), each with its queue and, per worker in it, a window. A
 * cluster worker gets a "newconn" for its key and answers accepted true
 * or false; any other gets a plain socket and acknowledges its fd.
 */
#include "config.h"

#include <sys/queue.h>

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
	long long	 hs_seq;	/* newconn: what the answer acks */
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

/* Where sockets come from, and wait for a worker with room. */
struct handoff_group {
	struct handoff_ring	 hg_queue;	/* accepted, waiting */
	struct event		*hg_timer;	/* the oldest waited too long */
	struct balance		 hg_balance;	/* extra groups' own cursor */
	char			*hg_key;	/* extra: the cluster key */
	struct listener		*hg_listener;	/* extra: paused while
						   sockets wait */
	LIST_ENTRY(handoff_group) hg_entry;
};

/* What handoff mode keeps per worker and group: w->w_handoff is the
 * front's, the worker's extra groups' hang on its hw_next. */
struct handoff_worker {
	struct handoff_ring	 hw_flight;	/* sent, not acknowledged */
	struct event		*hw_acktimer;	/* the oldest must be acked */
	struct worker		*hw_worker;
	struct handoff_group	*hw_group;
	struct handoff_worker	*hw_next;
	int			 hw_backoff;	/* ms, after a NACK; 0: none */
	uint64_t		 hw_until;	/* no sockets before (ms) */
	struct event		*hw_retry;	/* the back-off is over */
	struct log_limit	 hw_lim;
};

static struct handoff_group	 front;
static LIST_HEAD(, handoff_group) groups = LIST_HEAD_INITIALIZER(groups);

static void	handoff_flush(struct handoff_group *);
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
    int first)
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
	if (first)
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

static int
handoff_group_init(struct handoff_group *g)
{
	if (handoff_ring_init(&g->hg_queue, HANDOFF_QUEUE, 1) == -1 ||
	    (g->hg_timer = evtimer_new(master->m_base, handoff_queue_timer_cb,
	    g)) == NULL) {
		free(g->hg_queue.hr_socks);
		g->hg_queue.hr_socks = NULL;
		return -1;
	}
	return 0;
}

static void
handoff_group_clear(struct handoff_group *g)
{
	handoff_ring_drop(&g->hg_queue, "porter is stopping");
	free(g->hg_queue.hr_socks);
	if (g->hg_timer != NULL)
		event_free(g->hg_timer);
	free(g->hg_key);
	memset(g, 0, sizeof(*g));
}

int
handoff_init(void)
{
	if (front.hg_queue.hr_socks != NULL)
		return 0;	/* already, before a reload */
	return handoff_group_init(&front);
}

void
handoff_free(void)
{
	handoff_group_clear(&front);
}

/*
 * A group of its own for a server porter accepts on for cluster workers
 * (key: theirs for it).
 */
struct handoff_group *
handoff_group_new(const char *key)
{
	struct handoff_group	*g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	if ((g->hg_key = strdup(key)) == NULL || handoff_group_init(g) == -1) {
		free(g->hg_key);
		free(g);
		return NULL;
	}
	LIST_INSERT_HEAD(&groups, g, hg_entry);
	return g;
}

/* The listener g's clients come from, paused while some wait; or NULL. */
void
handoff_group_set_listener(struct handoff_group *g, struct listener *l)
{
	g->hg_listener = l;
}

/* No worker has it any more: what still waits is closed. */
void
handoff_group_free(struct handoff_group *g)
{
	if (g == NULL)
		return;
	LIST_REMOVE(g, hg_entry);
	handoff_group_clear(g);
	free(g);
}

/* A handoff worker's window and ACK timer; NULL if out of memory. */
struct handoff_worker *
handoff_worker_new(struct worker *w, int window)
{
	struct handoff_worker	*hw;

	if ((hw = calloc(1, sizeof(*hw))) == NULL)
		return NULL;
	hw->hw_worker = w;
	hw->hw_group = &front;
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

/* Its sockets must have been reclaimed or dropped already; with the
 * front's, its extra groups' go too. */
void
handoff_worker_free(struct handoff_worker *hw)
{
	struct handoff_worker	*next;

	for (; hw != NULL; hw = next) {
		next = hw->hw_next;
		if (hw->hw_acktimer != NULL)
			event_free(hw->hw_acktimer);
		if (hw->hw_retry != NULL)
			event_free(hw->hw_retry);
		free(hw->hw_flight.hr_socks);
		free(hw);
	}
}

/* w's window in group g, or NULL. */
static struct handoff_worker *
handoff_hw(const struct worker *w, const struct handoff_group *g)
{
	struct handoff_worker	*hw;

	for (hw = w->w_handoff; hw != NULL; hw = hw->hw_next)
		if (hw->hw_group == g)
			return hw;
	return NULL;
}

/* Sockets waiting for a worker with room, in every group. */
unsigned int
handoff_pending(void)
{
	struct handoff_group	*g;
	unsigned int		 n = (unsigned int)front.hg_queue.hr_n;

	LIST_FOREACH(g, &groups, hg_entry)
		n += (unsigned int)g->hg_queue.hr_n;
	return n;
}

/* An extra group accepts while nothing waits in it. */
static void
handoff_group_accepting(struct handoff_group *g)
{
	if (g == &front)
		master_update_accepting();
	else if (g->hg_listener != NULL && !master->m_stopping)
		listener_set_paused(g->hg_listener, g->hg_queue.hr_n > 0);
}

/* Queue a socket no worker can take now. */
static void
handoff_queue(struct handoff_group *g, struct handoff_sock hs, int first)
{
	if (handoff_ring_push(&g->hg_queue, hs, first) == -1) {
		log_warnx("%s: out of memory: closing a client", __func__);
		handoff_drop(hs.hs_fd, "out of memory");
		return;
	}
	if (!evtimer_pending(g->hg_timer, NULL))
		timer_arm(g->hg_timer, master->m_conf->c_connect_timeout);
	handoff_group_accepting(g);
}

/*
 * Whether w can take a socket of group g (arg) now: the front's go to
 * ready workers of the running generation that take them (a Node cluster
 * worker once it listens on porter's port); an extra group's to any live
 * worker in it. Either way not while it backs off, nor with a full window.
 */
static int
handoff_usable(const struct worker *w, void *arg)
{
	const struct handoff_group	*g = arg;
	const struct handoff_worker	*hw = handoff_hw(w, g);

	if (hw == NULL || w->w_chan == NULL)
		return 0;
	if (g == &front ? !master_worker_usable(w, NULL) ||
	    !cluster_takes_front(w) : w->w_pid <= 0 || w->w_retiring ||
	    w->w_state == WS_DRAINING)
		return 0;
	if (hw->hw_until != 0 && clock_ms() < hw->hw_until)
		return 0;		/* it NACKed: backing off */
	return hw->hw_flight.hr_n < hw->hw_flight.hr_size;
}

/* Send hs to w; it stays ours until w acknowledges it. */
static int
handoff_send(struct handoff_worker *hw, struct handoff_sock hs)
{
	struct worker	*w = hw->hw_worker;
	const char	*key;
	int		 rv;

	key = hw->hw_group != &front ? hw->hw_group->hg_key :
	    cluster_front_key(w);
	if (key != NULL) {
		hs.hs_seq = ipc_send_newconn(w->w_chan, hs.hs_fd, key);
		rv = hs.hs_seq == -1 ? -1 : 0;
	} else {
		hs.hs_seq = -1;		/* its fd's ACK takes it */
		rv = ipc_send_socket(w->w_chan, hs.hs_fd);
	}
	if (rv == -1) {
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

/* A worker of g with room, or NULL. */
static struct handoff_worker *
handoff_pick(struct handoff_group *g)
{
	int	idx;

	idx = balance_pick(g == &front ? &master->m_balance : &g->hg_balance,
	    master->m_workers, master->m_nworkers, handoff_usable, g);
	return idx == -1 ? NULL : handoff_hw(master->m_workers[idx], g);
}

/* Give hs to a worker of g with room, or queue it. */
static void
handoff_dispatch(struct handoff_group *g, struct handoff_sock hs, int first)
{
	struct handoff_worker	*hw;

	while ((hw = handoff_pick(g)) != NULL) {
		if (handoff_send(hw, hs) == 0)
			return;
	}
	handoff_queue(g, hs, first);
}

/* A client of group g is the master's now. */
static void
handoff_take(struct handoff_group *g, int fd)
{
	struct handoff_sock	hs = { fd, 0, 0, 0, -1 };

	hs.hs_since = hs.hs_born = clock_ms();
	master_conn_accepted();
	if (g->hg_queue.hr_n > 0) {
		/* Keep the order: the queue goes first. */
		handoff_queue(g, hs, 0);
		handoff_flush(g);
		return;
	}
	handoff_dispatch(g, hs, 0);
}

/* A client on porter's own listeners. */
void
handoff_accept(int fd, struct sockaddr *sa, socklen_t len, void *arg)
{
	(void)sa;
	(void)len;
	(void)arg;
	handoff_take(&front, fd);
}

/* A client on an extra group's listener (arg: the group). */
void
handoff_group_accept(int fd, struct sockaddr *sa, socklen_t len, void *arg)
{
	(void)sa;
	(void)len;
	handoff_take(arg, fd);
}

/* Move g's queued sockets to workers with room, oldest first. */
static void
handoff_flush(struct handoff_group *g)
{
	struct handoff_worker	*hw;
	struct handoff_sock	 hs;

	while (g->hg_queue.hr_n > 0 && (hw = handoff_pick(g)) != NULL) {
		hs = handoff_ring_pop(&g->hg_queue, 0);
		if (handoff_send(hw, hs) == -1)
			handoff_queue(g, hs, 1);
	}
	if (g->hg_queue.hr_n == 0)
		evtimer_del(g->hg_timer);
	handoff_group_accepting(g);
}

/* A worker became ready, or got room: give it what waits. */
void
handoff_kick(void)
{
	struct handoff_group	*g;

	if (front.hg_queue.hr_n > 0)
		handoff_flush(&front);
	LIST_FOREACH(g, &groups, hg_entry)
		if (g->hg_queue.hr_n > 0)
			handoff_flush(g);
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

/* The worker has the oldest socket sent to it on hw: close our copy. */
static void
handoff_taken(struct handoff_worker *hw)
{
	close(handoff_ring_pop(&hw->hw_flight, 0).hs_fd);
	hw->hw_backoff = 0;
	handoff_ack_arm(hw);
	master_conn_handed(hw->hw_worker);
	handoff_flush(hw->hw_group);
}

/*
 * The oldest socket sent on hw came back: the worker is alive but cannot
 * take it now (at its fd limit, or at its own maxConnections). It gets
 * none of the group for a while, doubling while it keeps refusing, and
 * the socket goes to another worker or waits; it is closed only once it
 * has waited connect_timeout since it was accepted.
 */
static void
handoff_refused(struct handoff_worker *hw, const char *how)
{
	struct worker		*w = hw->hw_worker;
	struct handoff_sock	 hs;
	uint64_t		 now = clock_ms();

	hs = handoff_ring_pop(&hw->hw_flight, 0);
	handoff_ack_arm(hw);
	hw->hw_backoff = hw->hw_backoff == 0 ? NACK_BACKOFF :
	    hw->hw_backoff >= NACK_BACKOFF_MAX / 2 ? NACK_BACKOFF_MAX :
	    2 * hw->hw_backoff;
	hw->hw_until = now + (uint64_t)hw->hw_backoff;
	timer_arm(hw->hw_retry, hw->hw_backoff);
	log_warnx_limit(&hw->hw_lim, "worker %d (pid %ld) %s; none for it "
	    "for %d ms", w->w_id, (long)w->w_pid, how, hw->hw_backoff);
	if (now - hs.hs_born >= (uint64_t)master->m_conf->c_connect_timeout) {
		log_warnx_limit(&hw->hw_lim, "a client no worker could take "
		    "within connect_timeout; closed");
		handoff_drop(hs.hs_fd, "refused past connect_timeout");
		return;
	}
	handoff_dispatch(hw->hw_group, hs, 1);
}

/* A plain socket's fd arrived: the oldest sent to w. */
void
handoff_ack(struct worker *w)
{
	struct handoff_worker	*hw = w->w_handoff;

	if (hw == NULL || hw->hw_flight.hr_n == 0) {
		log_debug("worker %d: acknowledgement for nothing", w->w_id);
		return;
	}
	/* A newconn's fd arrived: its answer, accepted or not, decides. */
	if (hw->hw_flight.hr_socks[hw->hw_flight.hr_head].hs_seq != -1)
		return;
	handoff_taken(hw);
}

/* The worker got a plain socket's message without its fd. */
void
handoff_nack(struct worker *w)
{
	struct handoff_worker	*hw = w->w_handoff;

	if (hw == NULL || hw->hw_flight.hr_n == 0)
		return;
	handoff_refused(hw, "got a socket without its fd (at its fd limit?)");
}

/*
 * A cluster worker's answer to the newconn of seq: accepted, or not (its
 * server for that key is closing, or at maxConnections). Its answers come
 * in the order it got them, so seq is the oldest in flight in one group.
 */
void
handoff_accepted(struct worker *w, long long seq, int accepted)
{
	struct handoff_worker	*hw;
	const struct handoff_ring *f;

	for (hw = w->w_handoff; hw != NULL; hw = hw->hw_next) {
		f = &hw->hw_flight;
		if (f->hr_n > 0 && f->hr_socks[f->hr_head].hs_seq == seq)
			break;
	}
	if (hw == NULL) {
		log_debug("worker %d: an answer to no newconn (%lld)",
		    w->w_id, seq);
		return;
	}
	if (accepted)
		handoff_taken(hw);
	else
		handoff_refused(hw, "refused a client (closing, or at its "
		    "maxConnections)");
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
 * What hw did not get acknowledged goes back to its group's queue, in the
 * order it was accepted; each group is then flushed. Returns how many.
 */
static int
handoff_give_back(struct handoff_worker *hw, int *dropped)
{
	struct handoff_sock	hs;
	int			n = 0;

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
			(*dropped)++;
			continue;
		}
		hs.hs_since = clock_ms();
		handoff_queue(hw->hw_group, hs, 1);
		n++;
	}
	return n;
}

/*
 * The worker is gone (or broken): every socket it did not acknowledge goes
 * to another worker, in the order they were accepted.
 */
void
handoff_reclaim(struct worker *w)
{
	struct handoff_worker	*hw;
	int			 n = 0, dropped = 0;

	if (w->w_handoff == NULL)
		return;
	for (hw = w->w_handoff; hw != NULL; hw = hw->hw_next)
		n += handoff_give_back(hw, &dropped);
	if (master->m_conf->c_mode != MODE_HANDOFF)
		handoff_migrate();	/* a reload changed the mode */
	if (n > 0)
		log_warnx("worker %d: %d socket%s it did not acknowledge go "
		    "to other workers", w->w_id, n, n == 1 ? "" : "s");
	if (dropped > 0)
		log_warnx("worker %d: %d client%s closed after %d workers "
		    "failed to take %s", w->w_id, dropped, dropped == 1 ? "" :
		    "s", HANDOFF_TRIES, dropped == 1 ? "it" : "them");
	for (hw = w->w_handoff; hw != NULL; hw = hw->hw_next)
		handoff_flush(hw->hw_group);
}

/* w takes sockets of group g from now on (a cluster server's); -1 if out
 * of memory. Its window is handoff_window, as for the front. */
int
handoff_join(struct worker *w, struct handoff_group *g)
{
	struct handoff_worker	*hw;

	if (w->w_handoff == NULL || handoff_hw(w, g) != NULL)
		return w->w_handoff == NULL ? -1 : 0;
	if ((hw = handoff_worker_new(w, w->w_conf->c_handoff_window)) == NULL)
		return -1;
	hw->hw_group = g;
	hw->hw_next = w->w_handoff->hw_next;
	w->w_handoff->hw_next = hw;
	handoff_flush(g);
	return 0;
}

/* w leaves group g (it closed that server, or is gone): what it did not
 * acknowledge goes to the others. */
void
handoff_leave(struct worker *w, struct handoff_group *g)
{
	struct handoff_worker	*hw, **pp;
	int			 dropped = 0;

	if (w->w_handoff == NULL)
		return;
	for (pp = &w->w_handoff->hw_next; (hw = *pp) != NULL;
	    pp = &hw->hw_next)
		if (hw->hw_group == g)
			break;
	if (hw == NULL)
		return;
	*pp = hw->hw_next;
	hw->hw_next = NULL;
	(void)handoff_give_back(hw, &dropped);
	handoff_worker_free(hw);
	handoff_flush(g);
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
	struct handoff_group	*g = arg;
	struct handoff_ring	*q = &g->hg_queue;
	uint64_t		 now = clock_ms(), limit;
	int			 n = 0;

	(void)fd;
	(void)what;
	limit = (uint64_t)master->m_conf->c_connect_timeout;
	while (q->hr_n > 0 && now - q->hr_socks[q->hr_head].hs_since >= limit) {
		handoff_drop(handoff_ring_pop(q, 0).hs_fd,
		    "no worker took it within connect_timeout");
		n++;
	}
	if (n > 0)
		log_warnx("no worker could take %d client%s within "
		    "connect_timeout; closed", n, n == 1 ? "" : "s");
	if (q->hr_n > 0)
		timer_arm(g->hg_timer, limit -
		    (now - q->hr_socks[q->hr_head].hs_since));
	handoff_group_accepting(g);
}

/*
 * A reload left handoff mode: what still waits for a worker at the front
 * is relayed (proxy mode) or, with nobody to take it (shared mode), closed.
 */
void
handoff_migrate(void)
{
	int	fd;

	while (front.hg_queue.hr_n > 0) {
		fd = handoff_ring_pop(&front.hg_queue, 0).hs_fd;
		if (master->m_conf->c_mode == MODE_PROXY)
			relay_adopt(fd);
		else
			handoff_drop(fd, "shared mode has no use for it");
	}
	if (front.hg_timer != NULL)
		evtimer_del(front.hg_timer);
}

/* Fast stop: every socket not yet handed off is closed. */
void
handoff_close_all(void)
{
	struct handoff_worker	*hw;
	struct handoff_group	*g;
	int			 i;

	for (i = 0; i < master->m_nworkers; i++) {
		for (hw = master->m_workers[i]->w_handoff; hw != NULL;
		    hw = hw->hw_next) {
			handoff_ring_drop(&hw->hw_flight, "porter is stopping");
			evtimer_del(hw->hw_acktimer);
		}
	}
	handoff_ring_drop(&front.hg_queue, "porter is stopping");
	if (front.hg_timer != NULL)
		evtimer_del(front.hg_timer);
	LIST_FOREACH(g, &groups, hg_entry) {
		handoff_ring_drop(&g->hg_queue, "porter is stopping");
		evtimer_del(g->hg_timer);
	}
}
