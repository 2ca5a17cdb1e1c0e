/*
 * relay.c: proxy mode. The master accepts a client, connects to a worker's
 * private port (the next one on refusal or timeout) and relays bytes both
 * ways with backpressure and half-close. Every relay ends in relay_close().
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "porter.h"

#define RELAY_HIGH	(256 * 1024)	/* stop reading a side past this */
#define RELAY_LOW	(RELAY_HIGH / 2) /* and resume below this */
#define RELAY_TRIES	8		/* workers tried per connection */

enum relay_state {
	RS_WAITING = 0,		/* no worker ready yet */
	RS_CONNECTING,
	RS_RELAYING,
};

struct relay {
	struct bufferevent	*r_client;
	struct bufferevent	*r_server;
	struct worker		*r_worker;
	struct event		*r_timer;	/* connect, wait and idle */
	enum relay_state	 r_state;
	uint64_t		 r_tried[RELAY_TRIES];	/* w_serial */
	int			 r_ntried;
	int			 r_eof_client;	/* client sent FIN */
	int			 r_eof_server;
	int			 r_shut_client;	/* we sent FIN to the client */
	int			 r_shut_server;
	struct timeval		 r_last;	/* last byte either way */
	struct relay		*r_next, *r_prev;
};

static struct master	*rm;
static struct relay	*relays;
static unsigned int	 nrelays;

static void	relay_connect(struct relay *);
static void	relay_close(struct relay *, const char *);
static void	relay_read_cb(struct bufferevent *, void *);
static void	relay_write_cb(struct bufferevent *, void *);
static void	relay_event_cb(struct bufferevent *, short, void *);
static void	relay_timer_cb(evutil_socket_t, short, void *);

void
relay_init(struct master *m)
{
	rm = m;
}

unsigned int
relay_count(void)
{
	return nrelays;
}

static void
relay_arm(struct relay *r, int ms)
{
	struct timeval	tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(r->r_timer, &tv);
}

static void
relay_nodelay(struct bufferevent *bev)
{
	int	on = 1;

	(void)setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY,
	    &on, sizeof(on));
}

void
relay_accept(int fd, struct sockaddr *sa, socklen_t len, void *arg)
{
	(void)sa;
	(void)len;
	(void)arg;
	rm->m_stats.accepted++;
	relay_adopt(fd);
}

/* Relay a client socket accepted earlier (by handoff mode, before a reload
 * made this proxy mode). */
void
relay_adopt(int fd)
{
	struct relay	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->r_timer = evtimer_new(rm->m_base, relay_timer_cb, r)) ==
	    NULL || (r->r_client = bufferevent_socket_new(rm->m_base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		log_warnx("%s: out of memory", __func__);
		if (r != NULL && r->r_timer != NULL)
			event_free(r->r_timer);
		free(r);
		close(fd);
		rm->m_stats.refused++;
		return;
	}
	r->r_next = relays;
	if (relays != NULL)
		relays->r_prev = r;
	relays = r;
	nrelays++;
	master_client_open();
	relay_nodelay(r->r_client);
	relay_connect(r);
}

static int
relay_usable(const struct worker *w, void *arg)
{
	const struct relay	*r = arg;
	int			 i;

	if (!master_worker_usable(w, NULL))
		return 0;
	for (i = 0; i < r->r_ntried; i++)
		if (r->r_tried[i] == w->w_serial)
			return 0;
	return 1;
}

/* Forget a worker connection that failed (or ends with the relay). */
static void
relay_drop_server(struct relay *r)
{
	bufferevent_free(r->r_server);
	r->r_server = NULL;
	master_worker_release(r->r_worker);
	r->r_worker = NULL;
	master_fds(-1);
}

/* Connect to the next worker, or wait for one, or give up. */
static void
relay_connect(struct relay *r)
{
	struct worker	*w;
	int		 idx;

	idx = balance_pick(&rm->m_balance, rm->m_workers, rm->m_nworkers,
	    relay_usable, r);
	if (idx == -1) {
		if (r->r_ntried >= RELAY_TRIES ||
		    (r->r_ntried > 0 && r->r_ntried >= rm->m_nworkers)) {
			relay_close(r, "every worker refused");
			return;
		}
		/* Nothing ready: the client waits up to connect_timeout. */
		if (r->r_state != RS_WAITING || !evtimer_pending(r->r_timer,
		    NULL)) {
			r->r_state = RS_WAITING;
			relay_arm(r, rm->m_conf->c_connect_timeout);
		}
		return;
	}
	w = rm->m_workers[idx];
	r->r_tried[r->r_ntried++] = w->w_serial;
	r->r_worker = w;
	master_worker_hold(w);
	r->r_state = RS_CONNECTING;
	r->r_server = bufferevent_socket_new(rm->m_base, -1,
	    BEV_OPT_CLOSE_ON_FREE);
	if (r->r_server == NULL) {
		master_worker_release(w);
		r->r_worker = NULL;
		relay_close(r, "out of memory");
		return;
	}
	bufferevent_setcb(r->r_server, NULL, NULL, relay_event_cb, r);
	master_fds(1);
	if (bufferevent_socket_connect(r->r_server,
	    (struct sockaddr *)&w->w_addr.a_ss, (int)w->w_addr.a_len) == -1) {
		log_debug("%s: connect to worker %d: %s", __func__, w->w_id,
		    strerror(errno));
		relay_drop_server(r);
		relay_connect(r);
		return;
	}
	relay_arm(r, rm->m_conf->c_connect_timeout);
}

/* A worker became ready: give it the clients that were waiting. */
void
relay_kick(void)
{
	struct relay	*r, *next;

	for (r = relays; r != NULL; r = next) {
		next = r->r_next;
		if (r->r_state == RS_WAITING)
			relay_connect(r);
	}
}

static void
relay_connected(struct relay *r)
{
	evtimer_del(r->r_timer);
	r->r_state = RS_RELAYING;
	rm->m_stats.relayed++;
	master_worker_conn(r->r_worker, 1);
	relay_nodelay(r->r_server);
	bufferevent_setcb(r->r_client, relay_read_cb, relay_write_cb,
	    relay_event_cb, r);
	bufferevent_setcb(r->r_server, relay_read_cb, relay_write_cb,
	    relay_event_cb, r);
	bufferevent_setwatermark(r->r_client, EV_WRITE, RELAY_LOW, 0);
	bufferevent_setwatermark(r->r_server, EV_WRITE, RELAY_LOW, 0);
	bufferevent_enable(r->r_client, EV_READ);
	bufferevent_enable(r->r_server, EV_READ);
	event_base_gettimeofday_cached(rm->m_base, &r->r_last);
	relay_arm(r, rm->m_conf->c_idle_timeout);
}

/* Once both directions have ended and been flushed, the relay is done. */
static int
relay_finish(struct relay *r)
{
	if (r->r_eof_client && !r->r_shut_server && evbuffer_get_length(
	    bufferevent_get_output(r->r_server)) == 0) {
		shutdown(bufferevent_getfd(r->r_server), SHUT_WR);
		r->r_shut_server = 1;
	}
	if (r->r_eof_server && !r->r_shut_client && evbuffer_get_length(
	    bufferevent_get_output(r->r_client)) == 0) {
		shutdown(bufferevent_getfd(r->r_client), SHUT_WR);
		r->r_shut_client = 1;
	}
	if (r->r_shut_client && r->r_shut_server) {
		relay_close(r, "done");
		return 1;
	}
	return 0;
}

static void
relay_read_cb(struct bufferevent *bev, void *arg)
{
	struct relay		*r = arg;
	struct bufferevent	*peer;
	struct evbuffer		*out;

	peer = bev == r->r_client ? r->r_server : r->r_client;
	out = bufferevent_get_output(peer);
	evbuffer_add_buffer(out, bufferevent_get_input(bev));
	event_base_gettimeofday_cached(rm->m_base, &r->r_last);
	if (evbuffer_get_length(out) >= RELAY_HIGH)
		bufferevent_disable(bev, EV_READ);	/* until peer drains */
}

/* bev's output fell to RELAY_LOW (or empty): let its peer read again. */
static void
relay_write_cb(struct bufferevent *bev, void *arg)
{
	struct relay		*r = arg;
	struct bufferevent	*peer;
	int			 peer_eof;

	if (bev == r->r_client) {
		peer = r->r_server;
		peer_eof = r->r_eof_server;
	} else {
		peer = r->r_client;
		peer_eof = r->r_eof_client;
	}
	event_base_gettimeofday_cached(rm->m_base, &r->r_last);
	if (!peer_eof)
		bufferevent_enable(peer, EV_READ);
	else
		relay_finish(r);
}

static void
relay_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct relay	*r = arg;

	if (r->r_state == RS_CONNECTING) {
		if (what & BEV_EVENT_CONNECTED) {
			relay_connected(r);
			return;
		}
		/* Refused or failed: try the next worker, unseen. */
		log_debug("%s: worker %d refused: %s", __func__,
		    r->r_worker->w_id, strerror(EVUTIL_SOCKET_ERROR()));
		evtimer_del(r->r_timer);
		relay_drop_server(r);
		relay_connect(r);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		/* Whatever was read has been passed on by relay_read_cb. */
		if (bev == r->r_client)
			r->r_eof_client = 1;
		else
			r->r_eof_server = 1;
		relay_finish(r);
		return;
	}
	relay_close(r, bev == r->r_client ? "client error" : "worker error");
}

static void
relay_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay	*r = arg;
	struct timeval	 now, idle;
	long		 ms;

	(void)fd;
	(void)what;
	switch (r->r_state) {
	case RS_WAITING:
		relay_close(r, "no worker became ready in connect_timeout");
		return;
	case RS_CONNECTING:
		log_debug("%s: connect to worker %d timed out", __func__,
		    r->r_worker->w_id);
		relay_drop_server(r);
		relay_connect(r);
		return;
	case RS_RELAYING:
		event_base_gettimeofday_cached(rm->m_base, &now);
		timersub(&now, &r->r_last, &idle);
		ms = idle.tv_sec * 1000 + idle.tv_usec / 1000;
		if (ms >= rm->m_conf->c_idle_timeout) {
			relay_close(r, "idle timeout");
			return;
		}
		relay_arm(r, rm->m_conf->c_idle_timeout - (int)ms);
		return;
	}
}

/* The one place a relay ends. */
static void
relay_close(struct relay *r, const char *why)
{
	log_debug("%s: %s", __func__, why);
	if (r->r_state != RS_RELAYING)
		rm->m_stats.refused++;
	if (r->r_prev != NULL)
		r->r_prev->r_next = r->r_next;
	else
		relays = r->r_next;
	if (r->r_next != NULL)
		r->r_next->r_prev = r->r_prev;
	nrelays--;
	event_free(r->r_timer);
	if (r->r_state == RS_RELAYING)
		master_worker_conn(r->r_worker, -1);
	if (r->r_server != NULL)
		relay_drop_server(r);
	bufferevent_free(r->r_client);
	master_client_close();
	free(r);
}

void
relay_close_all(void)
{
	while (relays != NULL)
		relay_close(relays, "shutting down");
}
