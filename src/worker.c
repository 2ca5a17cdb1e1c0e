/*
 * worker.c: the built-in worker process. Forked by the master, it serves
 * HTTP/1.1 (http.c) on the sockets it gets, says "ready" on its channel,
 * and drains gracefully on SIGQUIT or when the master goes away. With
 * proxy_protocol (proxy mode), every connection starts with a PROXY header
 * from the master, naming the real client; one without is closed.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <http_parser.h>

#include "porter.h"

#define WORKER_OUT_HIGH	(256 * 1024)	/* most output queued per connection */
#define WORKER_OUT_LOW	(64 * 1024)	/* refill, or resume, below this */
#define LOAD_INTERVAL	100		/* ms between load reports, at most */
#define DRAIN_LINGER	1000		/* ms an idle connection gets, draining */
#define LINGER_IDLE	1000		/* lingering close: ms without a byte */
#define LINGER_TIME	3000		/* and ms in all */

struct wconn {
	struct bufferevent	*c_bev;
	struct http_conn	*c_http;
	struct event		*c_timer;	/* /delay, header deadline */
	LIST_ENTRY(wconn)	 c_entry;
	int			 c_delaying;	/* a /delay answer is due */
	int			 c_deadline;	/* header deadline is armed */
	int			 c_closing;	/* close once output is written */
	int			 c_held;	/* output full: not parsing */
	size_t			 c_rest;	/* /bytes body still to add */
	int			 c_eof;		/* the client sent FIN */
	int			 c_linger;	/* an error: linger on close */
	int			 c_lingering;	/* FIN sent; reading to drop */
	int			 c_header;	/* a PROXY header is due */
	char			 c_client[64];	/* "ADDR:PORT", shown on / */
};

struct wstate {
	struct event_base	*base;
	const struct conf	*conf;
	struct channel		*chan;
	struct listener		*listeners[PORTER_MAX_LISTEN];
	int			 nlisteners;
	int			 ready;		/* said so to the master */
	LIST_HEAD(, wconn)	 conns;
	unsigned int		 nconns;
	uint64_t		 accepted;
	struct event		*load_timer;	/* a load report is due */
	struct http_site	 site;
	char			 header[64];
	int			 draining;
	int			 proxy;		/* PROXY headers come first */
	struct log_limit	 lim_header;	/* connections without */
	struct event		*ev_quit, *ev_term, *ev_int, *ev_usr2;
	struct event		*drain_timer;
};

static struct wstate	 ws;

static void	worker_accept_cb(int, struct sockaddr *, socklen_t, void *);
static void	worker_read_cb(struct bufferevent *, void *);
static void	worker_write_cb(struct bufferevent *, void *);
static void	worker_event_cb(struct bufferevent *, short, void *);
static void	worker_timer_cb(evutil_socket_t, short, void *);
static void	worker_process(struct wconn *);
static void	worker_finish(struct wconn *);
static void	worker_close(struct wconn *, const char *);
static void	worker_drain(const char *);

static void
worker_ready(void)
{
	if (ws.ready)
		return;
	ws.ready = 1;
	if (ipc_send_ready(ws.chan, ws.site.s_pid) == -1)
		fatalx("%s: cannot tell the master we are ready", __func__);
}

/*
 * A handle from the master, Node's way: acknowledge at once (the master
 * keeps its copy until then), NACK if the fd did not come with it.
 */
static void
worker_handle(const struct ipc_msg *m)
{
	int	fd;

	if ((fd = channel_take_fd(ws.chan)) == -1) {
		log_warnx("%s: handle message without an fd", __func__);
		ipc_send_nack(ws.chan);
		return;
	}
	ipc_send_ack(ws.chan);
	if (m->im_type == IPC_TYPE_SOCKET) {
		worker_accept_cb(fd, NULL, 0, NULL);
	} else if (m->im_type == IPC_TYPE_SERVER && !ws.draining &&
	    ws.nlisteners < PORTER_MAX_LISTEN) {
		if ((ws.listeners[ws.nlisteners] = listener_new(ws.base, fd,
		    worker_accept_cb, NULL)) == NULL)
			fatalx("%s: cannot listen on the shared socket",
			    __func__);
		ws.nlisteners++;
		worker_ready();
	} else {
		log_warnx("%s: unexpected handle (type %d)", __func__,
		    m->im_type);
		close(fd);
	}
}

/*
 * The master reopened the error_log (SIGUSR1, or a reload that moved it):
 * the new file becomes our stderr. The master opens it, since we may no
 * longer be allowed to.
 */
static void
worker_stderr(void)
{
	int	fd;

	if ((fd = channel_take_fd(ws.chan)) == -1) {
		log_warnx("%s: stderr message without an fd", __func__);
		return;
	}
	if (dup2(fd, STDERR_FILENO) == -1)
		log_warn("%s: dup2", __func__);
	else
		log_info("%s: error log reopened", __func__);
	close(fd);
}

static void
worker_msg_cb(struct channel *ch, const char *line, size_t len, void *arg)
{
	struct ipc_msg	m;

	(void)ch;
	(void)arg;
	if (ipc_parse(line, len, &m) == -1) {
		log_warnx("%s: garbage from the master", __func__);
		worker_drain("master protocol error");
		return;
	}
	if (m.im_cmd == IPC_NODE_HANDLE)
		worker_handle(&m);
	else if (m.im_cmd == IPC_PORTER_STDERR)
		worker_stderr();
	else
		log_debug("%s: ignoring %.*s", __func__, (int)len, line);
}

/* Tell the master our load, at most every LOAD_INTERVAL ms. */
static void
worker_load_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (ws.chan != NULL)
		ipc_send_load(ws.chan, ws.nconns, ws.accepted);
}

static void
worker_load_changed(void)
{
	struct timeval	tv = { 0, LOAD_INTERVAL * 1000 };

	if (ws.load_timer != NULL && !evtimer_pending(ws.load_timer, NULL))
		evtimer_add(ws.load_timer, &tv);
}

static void
worker_chan_close_cb(struct channel *ch, const char *why, void *arg)
{
	(void)arg;
	log_debug("%s: channel closed: %s", __func__, why);
	channel_free(ch);
	ws.chan = NULL;
	worker_drain("the master went away");
}

static void
worker_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	if (sig == SIGQUIT) {
		worker_drain("SIGQUIT");
		return;
	}
	if (sig == SIGUSR2) {
		/* Ask for a replacement, then finish what we have. */
		if (ws.chan != NULL && !ws.draining)
			ipc_send_suicide(ws.chan);
		worker_drain("SIGUSR2");
		return;
	}
	log_debug("%s: %s, stopping", __func__, strsignal(sig));
	event_base_loopbreak(ws.base);
}

static void
worker_drain_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_info("drain: %u connection%s left at graceful_timeout, closing",
	    ws.nconns, ws.nconns == 1 ? "" : "s");
	event_base_loopbreak(ws.base);
}

/* Between requests: nothing owed, nothing half-read. */
static int
worker_idle(const struct wconn *c)
{
	return !c->c_delaying && !c->c_lingering && c->c_rest == 0 &&
	    !http_conn_partial(c->c_http) &&
	    evbuffer_get_length(bufferevent_get_output(c->c_bev)) == 0 &&
	    evbuffer_get_length(bufferevent_get_input(c->c_bev)) == 0;
}

/*
 * Stop taking connections; every answer from now on says Connection: close
 * and closes. A keep-alive connection idle for DRAIN_LINGER is closed: not
 * at once, since the client may be sending its next request right now and
 * would see a reset instead of an answer. Exit when none is left, or at
 * graceful_timeout.
 */
static void
worker_drain(const char *why)
{
	struct wconn	*c;
	struct timeval	 linger = { 0, DRAIN_LINGER * 1000 }, idle;

	if (ws.draining)
		return;
	ws.draining = 1;
	ws.site.s_closing = 1;
	log_debug("draining (%s): %u connection%s", why, ws.nconns,
	    ws.nconns == 1 ? "" : "s");
	while (ws.nlisteners > 0)
		listener_free(ws.listeners[--ws.nlisteners]);
	clock_tv(ws.conf->c_idle_timeout, &idle);
	LIST_FOREACH(c, &ws.conns, c_entry)
		if (worker_idle(c))
			bufferevent_set_timeouts(c->c_bev, &linger, &idle);
	if (ws.nconns == 0) {
		event_base_loopbreak(ws.base);
		return;
	}
	ws.drain_timer = evtimer_new(ws.base, worker_drain_timer_cb, NULL);
	if (ws.drain_timer != NULL)
		timer_arm(ws.drain_timer, ws.conf->c_graceful_timeout);
}

static void
worker_accept_cb(int fd, struct sockaddr *sa, socklen_t len, void *arg)
{
	struct wconn		*c;
	struct timeval		 idle;
	struct sockaddr_storage	 ss;

	(void)arg;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->c_http = http_conn_new()) == NULL ||
	    (c->c_bev = bufferevent_socket_new(ws.base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL ||
	    (c->c_timer = evtimer_new(ws.base, worker_timer_cb, c)) == NULL) {
		log_warnx("%s: out of memory", __func__);
		if (c != NULL) {
			if (c->c_bev != NULL)
				bufferevent_free(c->c_bev);
			else
				close(fd);
			http_conn_free(c->c_http);
			free(c);
		} else
			close(fd);
		return;
	}
	if (sa == NULL) {		/* handed over: ask */
		len = sizeof(ss);
		sa = (struct sockaddr *)&ss;
		if (getpeername(fd, sa, &len) == -1)
			len = 0;
	}
	proxy_proto_ntop(len > 0 ? sa : NULL, c->c_client,
	    sizeof(c->c_client));
	if (ws.proxy) {
		c->c_header = 1;
		c->c_deadline = 1;
		timer_arm(c->c_timer, ws.conf->c_header_timeout);
	}
	clock_tv(ws.conf->c_idle_timeout, &idle);
	bufferevent_set_timeouts(c->c_bev, &idle, &idle);
	bufferevent_setcb(c->c_bev, worker_read_cb, worker_write_cb,
	    worker_event_cb, c);
	bufferevent_setwatermark(c->c_bev, EV_WRITE, WORKER_OUT_LOW, 0);
	bufferevent_enable(c->c_bev, EV_READ);
	LIST_INSERT_HEAD(&ws.conns, c, c_entry);
	ws.nconns++;
	ws.accepted++;
	worker_load_changed();
}

/* Every connection ends here. */
static void
worker_close(struct wconn *c, const char *why)
{
	log_debug("%s: %s", __func__, why);
	LIST_REMOVE(c, c_entry);
	ws.nconns--;
	worker_load_changed();
	event_free(c->c_timer);
	bufferevent_free(c->c_bev);
	http_conn_free(c->c_http);
	free(c);
	if (ws.draining && ws.nconns == 0)
		event_base_loopbreak(ws.base);
}

/*
 * Add what the output has room for of a /bytes body: it grows as the
 * client reads, never past WORKER_OUT_HIGH. (All of 64 MiB at once cost
 * 1 MiB of chains per connection, and a reader that never reads kept it.)
 */
static void
worker_fill(struct wconn *c)
{
	struct evbuffer	*out = bufferevent_get_output(c->c_bev);
	size_t		 len = evbuffer_get_length(out), n;

	if (c->c_rest == 0 || len >= WORKER_OUT_HIGH)
		return;
	n = WORKER_OUT_HIGH - len;
	if (n > c->c_rest)
		n = c->c_rest;
	http_add_bytes(out, n);
	c->c_rest -= n;
}

/* Answer a request; the connection closes after it, or not. */
static void
worker_serve(struct wconn *c, const struct http_req *r)
{
	struct http_site	site = ws.site;

	site.s_client = c->c_client;
	if (!http_serve(bufferevent_get_output(c->c_bev), r, &site,
	    &c->c_rest))
		c->c_closing = 1;
	worker_fill(c);
}

/*
 * The answer is written and the connection closes. If the client may
 * still be sending (we answered an error, or left input unread), a
 * close() with unread bytes would send RST, and the client could lose
 * the answer still in its buffers: so linger the way nginx does. Send
 * FIN, read and discard until the client's FIN, LINGER_IDLE without a
 * byte, or LINGER_TIME in all.
 */
static void
worker_finish(struct wconn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->c_bev);
	struct timeval	 idle;
	char		 b;
	int		 fd = bufferevent_getfd(c->c_bev);

	if (c->c_eof || (!c->c_linger && evbuffer_get_length(in) == 0 &&
	    recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) <= 0)) {
		worker_close(c, "done");
		return;
	}
	if (shutdown(fd, SHUT_WR) == -1) {
		worker_close(c, "shutdown failed");
		return;
	}
	c->c_lingering = 1;
	c->c_deadline = 0;
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_disable(c->c_bev, EV_WRITE);
	clock_tv(LINGER_IDLE, &idle);
	bufferevent_set_timeouts(c->c_bev, &idle, NULL);
	timer_arm(c->c_timer, LINGER_TIME);
	bufferevent_enable(c->c_bev, EV_READ);
}

/*
 * The PROXY header the master sends first (proxy_protocol): 1 once it is
 * taken off the input, 0 while more is due, -1 if c was closed for it.
 * Only the master connects here, so a missing or bad header is not
 * answered: the connection is closed.
 */
static int
worker_proxy_header(struct wconn *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->c_bev);
	struct proxy_hdr	 h;
	const char		*cause = NULL;
	size_t			 len = evbuffer_get_length(in);
	ssize_t			 n;

	if (len > PROXY_HDR_MAX)
		len = PROXY_HDR_MAX;
	n = proxy_proto_parse(evbuffer_pullup(in, (ssize_t)len), len, &h,
	    &cause);
	if (n == 0)
		return 0;
	if (n == -1) {
		log_warnx_limit(&ws.lim_header, "%s: %s: %s; closed", __func__,
		    c->c_client, cause);
		worker_close(c, "bad PROXY header");
		return -1;
	}
	evbuffer_drain(in, (size_t)n);
	c->c_header = 0;
	c->c_deadline = 0;
	evtimer_del(c->c_timer);
	if (!h.ph_local)
		proxy_proto_ntop((struct sockaddr *)&h.ph_src, c->c_client,
		    sizeof(c->c_client));
	return 1;
}

/* Serve what the input holds, in order, until it runs dry or must wait. */
static void
worker_process(struct wconn *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->c_bev);
	struct evbuffer		*out = bufferevent_get_output(c->c_bev);
	const struct http_req	*r;
	long			 ms;

	if (c->c_header && worker_proxy_header(c) != 1)
		return;
	while (!c->c_delaying && !c->c_closing) {
		if (c->c_rest > 0 ||
		    evbuffer_get_length(out) >= WORKER_OUT_HIGH) {
			c->c_held = 1;
			bufferevent_disable(c->c_bev, EV_READ);
			return;
		}
		switch (http_conn_feed(c->c_http, in, out)) {
		case FEED_MORE:
			if (http_conn_partial(c->c_http) && !c->c_deadline) {
				/* Part of a request: it has header_timeout. */
				c->c_deadline = 1;
				timer_arm(c->c_timer, ws.conf->c_header_timeout);
			}
			return;
		case FEED_ERROR:
			if (c->c_deadline) {
				c->c_deadline = 0;
				evtimer_del(c->c_timer);
			}
			c->c_closing = 1;
			c->c_linger = 1;
			break;
		case FEED_REQUEST:
			if (c->c_deadline) {
				c->c_deadline = 0;
				evtimer_del(c->c_timer);
			}
			r = http_conn_request(c->c_http);
			if (http_route(r->r_path, r->r_pathlen, &ms) ==
			    ROUTE_DELAY && (r->r_method == HTTP_GET ||
			    r->r_head)) {
				c->c_delaying = 1;
				bufferevent_disable(c->c_bev, EV_READ);
				timer_arm(c->c_timer, ms);
				return;
			}
			worker_serve(c, r);
			break;
		}
	}
	if (c->c_closing) {
		bufferevent_disable(c->c_bev, EV_READ);
		if (evbuffer_get_length(out) == 0)
			worker_finish(c);
	}
}

static void
worker_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wconn	*c = arg;
	struct evbuffer	*out = bufferevent_get_output(c->c_bev);

	(void)fd;
	(void)what;
	if (c->c_lingering) {
		worker_close(c, "lingered long enough");
		return;
	}
	if (c->c_delaying) {
		c->c_delaying = 0;
		worker_serve(c, http_conn_request(c->c_http));
		if (c->c_closing) {
			bufferevent_disable(c->c_bev, EV_READ);
			return;		/* the write callback closes */
		}
		bufferevent_enable(c->c_bev, EV_READ);
		worker_process(c);
		return;
	}
	/* The header deadline passed. */
	if (c->c_header) {
		log_warnx_limit(&ws.lim_header, "%s: %s: no PROXY header "
		    "within header_timeout; closed", __func__, c->c_client);
		worker_close(c, "no PROXY header");
		return;
	}
	c->c_deadline = 0;
	http_reply_error(out, 408);
	c->c_closing = 1;
	c->c_linger = 1;
	bufferevent_disable(c->c_bev, EV_READ);
}

static void
worker_read_cb(struct bufferevent *bev, void *arg)
{
	struct wconn	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);

	if (c->c_lingering) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	worker_process(c);
}

/* The output drained below WORKER_OUT_LOW (or to nothing). */
static void
worker_write_cb(struct bufferevent *bev, void *arg)
{
	struct wconn	*c = arg;

	if (c->c_rest > 0) {
		worker_fill(c);
		if (c->c_rest > 0)
			return;		/* more as it drains */
	}
	if (c->c_closing) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			worker_finish(c);
		return;
	}
	if (c->c_held) {
		c->c_held = 0;
		bufferevent_enable(bev, EV_READ);
		worker_process(c);
	}
}

static void
worker_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct wconn	*c = arg;

	if ((what & BEV_EVENT_EOF) && c->c_lingering) {
		worker_close(c, "done lingering");
		return;
	}
	if (what & BEV_EVENT_EOF) {
		/* Half-closed: answer what was asked, then close. */
		c->c_closing = 1;
		c->c_eof = 1;
		if (!c->c_delaying && c->c_rest == 0 && evbuffer_get_length(
		    bufferevent_get_output(bev)) == 0)
			worker_close(c, "client closed");
		return;
	}
	worker_close(c, what & BEV_EVENT_TIMEOUT ? "timeout" : "error");
}

/* Proxy mode: the private port the master gave us. */
static int
worker_listen(int port, char **cause)
{
	struct addr	 a = ws.conf->c_worker_ports;
	int		 fd;

	addr_set_port(&a, port);
	if ((fd = listener_bind(&a, 0, 0, cause)) == -1)
		return -1;
	ws.listeners[0] = listener_new(ws.base, fd, worker_accept_cb, NULL);
	if (ws.listeners[0] == NULL) {
		close(fd);
		*cause = strdup("out of memory");
		return -1;
	}
	ws.nlisteners = 1;
	return port;
}

/*
 * A built-in worker that the master exec'd (proc.c): its parameters are in
 * PORTER_WORKER_* variables, its channel is fd 3. Never returns.
 */
void
worker_exec_main(void)
{
	struct conf	*c;
	const char	*v;
	int		 id, port, verbose = 0;
	enum mode	 mode;

	if ((c = conf_new()) == NULL)
		fatalx("%s: out of memory", __func__);
	id = atoi(getenv("PORTER_WORKER_ID") ? getenv("PORTER_WORKER_ID") :
	    "0");
	port = atoi(getenv("PORTER_WORKER_PORT") ?
	    getenv("PORTER_WORKER_PORT") : "0");
	v = getenv("PORTER_WORKER_MODE");
	mode = v == NULL ? MODE_PROXY : strcmp(v, "handoff") == 0 ?
	    MODE_HANDOFF : strcmp(v, "shared") == 0 ? MODE_SHARED : MODE_PROXY;
	if ((v = getenv("PORTER_WORKER_ADDR")) != NULL &&
	    conf_parse_addr(v, &c->c_worker_ports, 0) == -1)
		fatalx("%s: bad PORTER_WORKER_ADDR %s", __func__, v);
	if ((v = getenv("PORTER_WORKER_TIMEOUTS")) != NULL &&
	    sscanf(v, "%d %d %d %d", &c->c_idle_timeout, &c->c_header_timeout,
	    &c->c_graceful_timeout, &verbose) != 4)
		fatalx("%s: bad PORTER_WORKER_TIMEOUTS %s", __func__, v);
	if ((v = getenv("PORTER_WORKER_PROXY")) != NULL)
		c->c_proxy_protocol = strcmp(v, "v1") == 0 ? 1 :
		    strcmp(v, "v2") == 0 ? 2 : 0;
	log_init(verbose, "porter");
	if ((v = getenv("PORTER_WORKER_LOG")) != NULL)
		log_setformat(strcmp(v, "json") == 0);
	worker_main(id, 3, mode, port, c);
}

/*
 * The worker process, from just after fork() or exec. chanfd is its end of
 * the channel. Never returns.
 */
void
worker_main(int id, int chanfd, enum mode mode, int port,
    const struct conf *conf)
{
	char		 name[32], *cause = NULL;
	int		 rv = 0;

	snprintf(name, sizeof(name), "porter worker %d", id);
	log_setname(name);
	signal(SIGPIPE, SIG_IGN);

	memset(&ws, 0, sizeof(ws));
	LIST_INIT(&ws.conns);
	ws.conf = conf;
	ws.site.s_id = id;
	ws.site.s_pid = getpid();
	ws.site.s_mode = conf_mode_name(mode);
	snprintf(ws.header, sizeof(ws.header), "X-Porter-Worker: %d\r\n", id);
	ws.site.s_header = ws.header;
	ws.proxy = mode == MODE_PROXY && conf->c_proxy_protocol != 0;
	if ((ws.base = event_base_new()) == NULL)
		fatalx("%s: event_base_new failed", __func__);

	ws.chan = channel_new(ws.base, chanfd, worker_msg_cb,
	    worker_chan_close_cb, NULL);
	if (ws.chan == NULL)
		fatalx("%s: cannot set up the channel", __func__);
	channel_batch(ws.chan, 1);	/* the master is porter too */
	ws.ev_quit = evsignal_new(ws.base, SIGQUIT, worker_signal_cb, NULL);
	ws.ev_term = evsignal_new(ws.base, SIGTERM, worker_signal_cb, NULL);
	ws.ev_int = evsignal_new(ws.base, SIGINT, worker_signal_cb, NULL);
	ws.ev_usr2 = evsignal_new(ws.base, SIGUSR2, worker_signal_cb, NULL);
	if (ws.ev_quit == NULL || ws.ev_term == NULL || ws.ev_int == NULL ||
	    ws.ev_usr2 == NULL || evsignal_add(ws.ev_quit, NULL) == -1 ||
	    evsignal_add(ws.ev_term, NULL) == -1 ||
	    evsignal_add(ws.ev_int, NULL) == -1 ||
	    evsignal_add(ws.ev_usr2, NULL) == -1)
		fatalx("%s: cannot set up signals", __func__);

	/* Ready: proxy once our port listens; handoff now; shared once
	 * the master's listening socket arrives (worker_handle). */
	switch (mode) {
	case MODE_PROXY:
		if (worker_listen(port, &cause) == -1) {
			log_warnx("%s", cause);
			exit(EXIT_START);
		}
		log_debug("serving on port %d", port);
		worker_ready();
		break;
	case MODE_HANDOFF:
		worker_ready();
		/* FALLTHROUGH */
	case MODE_SHARED:
		if ((ws.load_timer = evtimer_new(ws.base, worker_load_cb,
		    NULL)) == NULL)
			fatalx("%s: evtimer_new failed", __func__);
		break;
	}

	if (event_base_dispatch(ws.base) == -1)
		rv = 1;
	/* On the way out: freeing the signal events restores SIG_DFL. */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
	while (!LIST_EMPTY(&ws.conns))
		worker_close(LIST_FIRST(&ws.conns), "exit");
	while (ws.nlisteners > 0)
		listener_free(ws.listeners[--ws.nlisteners]);
	channel_free(ws.chan);
	if (ws.load_timer != NULL)
		event_free(ws.load_timer);
	if (ws.drain_timer != NULL)
		event_free(ws.drain_timer);
	event_free(ws.ev_quit);
	event_free(ws.ev_term);
	event_free(ws.ev_int);
	event_free(ws.ev_usr2);
	event_base_free(ws.base);
	exit(rv);
}
