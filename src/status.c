/*
 * status.c: the master's status endpoint. GET /status is JSON, GET
 * /metrics the same counters for Prometheus. A small HTTP/1.1 server of
 * its own on http-parser, bounded so that no client can make it cost the
 * data path: a cap on connections, a deadline per request, small limits
 * on what a request may hold, and porter's accept loop (which backs off
 * when the master is out of fds).
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <http_parser.h>

#include "porter.h"

#define STATUS_MAX_CONNS	64	/* connections at once; more get 503 */
#define STATUS_TIMEOUT		5000	/* ms for a request to arrive whole */
#define STATUS_MAX_URL		1024	/* longer: 414 */
#define STATUS_MAX_HEADERS	8192	/* header bytes; more: 431 */
#define STATUS_MAX_INPUT	16384	/* read no further ahead than this */
#define STATUS_FDS_TTL		100	/* ms a counted fd figure is reused */

struct status_conn {
	TAILQ_ENTRY(status_conn) sc_entry;
	struct bufferevent	*sc_bev;
	struct event		*sc_deadline;
	http_parser		 sc_parser;
	char			 sc_path[STATUS_MAX_URL + 1];
	size_t			 sc_pathlen;
	size_t			 sc_hbytes;	/* header bytes of this request */
	int			 sc_error;	/* 4xx to answer, or 0 */
	int			 sc_complete;	/* a request waits to be served */
	int			 sc_keepalive;
	int			 sc_closing;	/* close once the output drains */
	int			 sc_eof;	/* the client sends no more */
};

static TAILQ_HEAD(, status_conn) status_conns =
    TAILQ_HEAD_INITIALIZER(status_conns);
static int		 status_nconns;
static int		 status_full;		/* logged that the cap was hit */
static struct listener	*status_listener;
static struct evbuffer	*status_body;		/* scratch for one answer */

static int	status_on_begin(http_parser *);
static int	status_on_url(http_parser *, const char *, size_t);
static int	status_on_header(http_parser *, const char *, size_t);
static int	status_on_headers_complete(http_parser *);
static int	status_on_complete(http_parser *);
static void	status_close(struct status_conn *);

static const http_parser_settings status_settings = {
	.on_message_begin = status_on_begin,
	.on_url = status_on_url,
	.on_header_field = status_on_header,
	.on_header_value = status_on_header,
	.on_headers_complete = status_on_headers_complete,
	.on_message_complete = status_on_complete,
};

static long
status_uptime(void)
{
	return (long)((clock_ms() - master->m_started) / 1000);
}

/*
 * The real fd count, which also keeps peak_fds honest. Since Linux 6.2 the
 * size of /proc/self/fd is the count, found without listing the fds; on
 * older kernels the listing (which costs as much as there are fds) is
 * reused for STATUS_FDS_TTL, so that a poller cannot make every request
 * pay it.
 */
static int
status_count_fds(void)
{
	static int	 cached = -1;
	static uint64_t	 when;
	struct stat	 st;
	uint64_t	 now;

	if (stat("/proc/self/fd", &st) == 0 && st.st_size > 0)
		return (int)st.st_size;
	now = clock_ms();
	if (cached == -1 || now - when >= STATUS_FDS_TTL) {
		cached = master_count_fds();
		when = now;
	}
	return cached;
}

static int
status_fds(void)
{
	int	n = status_count_fds();

	if (n > master->m_stats.peak_fds)
		master->m_stats.peak_fds = n;
	return n;
}

/* s as a JSON string (RFC 8259 escapes), or null. s is valid UTF-8. */
void
status_json_str(struct evbuffer *b, const char *s)
{
	const unsigned char	*p;

	if (s == NULL) {
		evbuffer_add(b, "null", 4);
		return;
	}
	evbuffer_add(b, "\"", 1);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			evbuffer_add_printf(b, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			evbuffer_add_printf(b, "\\u%04x", *p);
		else
			evbuffer_add(b, p, 1);
	}
	evbuffer_add(b, "\"", 1);
}

static void
status_json(struct evbuffer *b)
{
	const struct master_stats	*s = &master->m_stats;
	const struct worker		*w;
	const char			*why;
	int				 i, fds = status_fds();

	evbuffer_add_printf(b, "{\"version\":\"%s\",\"mode\":\"%s\","
	    "\"balance\":\"%s\",\"worker\":\"%s\",\"listen\":\"",
	    PORTER_VERSION, conf_mode_name(master->m_conf->c_mode),
	    conf_balance_name(master->m_conf->c_balance),
	    conf_worker_name(master->m_conf->c_worker));
	for (i = 0; i < master->m_conf->c_nlisten; i++)
		evbuffer_add_printf(b, "%s%s", i ? "," : "",
		    master->m_conf->c_listen[i].a_text);
	evbuffer_add_printf(b, "\",\"uptime_s\":%ld,"
	    "\"master\":{\"pid\":%ld,\"open_fds\":%d,\"peak_fds\":%d,"
	    "\"active_connections\":%u,\"accepted\":%llu,\"relayed\":%llu,"
	    "\"handed_off\":%llu,\"refused\":%llu,\"pending\":%u,"
	    "\"stopping\":%s,\"ready\":%s,\"generation\":%u},"
	    "\"workers\":[", status_uptime(), (long)master->m_pid,
	    fds,
	    s->peak_fds, master_load(), (unsigned long long)s->accepted,
	    (unsigned long long)s->relayed,
	    (unsigned long long)s->handed_off,
	    (unsigned long long)s->refused,
	    master->m_conf->c_mode == MODE_HANDOFF ? handoff_pending() : 0,
	    master->m_stopping ? "true" : "false",
	    master_is_ready(&why) ? "true" : "false", master->m_gen);
	for (i = 0; i < master->m_nworkers; i++) {
		w = master->m_workers[i];
		char	port[16] = "null", active[16] = "null";

		if (master_worker_port(w) > 0)
			snprintf(port, sizeof(port), "%d", master_worker_port(w));
		if (master_knows_active(w))
			snprintf(active, sizeof(active), "%u", w->w_active);
		evbuffer_add_printf(b, "%s{\"id\":%d,\"generation\":%u,"
		    "\"pid\":%ld,\"port\":%s,"
		    "\"state\":\"%s\",\"restarts\":%u,\"active\":%s,"
		    "\"accepted\":%llu,\"ready_by\":", i ? "," : "", w->w_id,
		    w->w_gen, (long)w->w_pid, port,
		    master_state_name(w->w_state), w->w_restarts, active,
		    (unsigned long long)w->w_accepted);
		status_json_str(b, ready_by_name(w->w_ready_by));
		evbuffer_add(b, ",\"notice\":", 10);
		status_json_str(b, ready_notice(w));
		if (cluster_style(w) != NULL)
			evbuffer_add_printf(b, ",\"node\":{\"id\":%u,"
			    "\"style\":\"%s\"}", cluster_worker_id(w),
			    cluster_style(w));
		evbuffer_add(b, "}", 1);
	}
	evbuffer_add(b, "],\"servers\":", 12);
	cluster_status(b);
	evbuffer_add_printf(b, "}\n");
}

/*
 * One series per worker slot and generation: a slot's draining process
 * and its replacement (same id, same generation) are summed into it, so
 * that no two series have the same labels.
 */
struct status_series {
	int		ss_id;
	unsigned int	ss_gen;
	int		ss_known;	/* active connections are known */
	uint64_t	ss_ready;
	uint64_t	ss_restarts;
	uint64_t	ss_active;
	uint64_t	ss_accepted;
};

static int
status_series(struct status_series *ss)
{
	const struct worker	*w;
	int			 i, j, n = 0;

	for (i = 0; i < master->m_nworkers; i++) {
		w = master->m_workers[i];
		for (j = 0; j < n; j++)
			if (ss[j].ss_id == w->w_id && ss[j].ss_gen == w->w_gen)
				break;
		if (j == n) {
			memset(&ss[n], 0, sizeof(ss[n]));
			ss[n].ss_id = w->w_id;
			ss[n].ss_gen = w->w_gen;
			n++;
		}
		ss[j].ss_ready |= (uint64_t)(w->w_state == WS_READY);
		ss[j].ss_known |= master_knows_active(w);
		if (w->w_restarts > ss[j].ss_restarts)
			ss[j].ss_restarts = w->w_restarts;
		ss[j].ss_active += w->w_active;
		ss[j].ss_accepted += w->w_accepted;
	}
	return n;
}

/* A metric family's HELP and TYPE lines. */
static void
status_family(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* A per-worker family: the figure at offset off of each series. Live
 * connections are left out where porter does not know them. */
static void
status_workers(struct evbuffer *b, const struct status_series *ss, int n,
    const char *name, const char *type, const char *help, size_t off)
{
	uint64_t	v;
	int		i;

	status_family(b, name, type, help);
	for (i = 0; i < n; i++) {
		if (off == offsetof(struct status_series, ss_active) &&
		    !ss[i].ss_known)
			continue;
		memcpy(&v, (const char *)&ss[i] + off, sizeof(v));
		evbuffer_add_printf(b, "%s{worker=\"%d\",generation=\"%u\"} "
		    "%llu\n", name, ss[i].ss_id, ss[i].ss_gen,
		    (unsigned long long)v);
	}
}

/*
 * /metrics, by the Prometheus conventions: one porter_ prefix, base
 * units, counters ending in _total, HELP and TYPE for every family, and
 * labels of bounded cardinality only (worker slot and generation).
 */
static void
status_metrics(struct evbuffer *b)
{
	static struct status_series	 ss[PORTER_MAX_WORKERS];
	const struct master_stats	*s = &master->m_stats;
	int				 n = status_series(ss);
	size_t				 i;
	const struct {
		const char	*name, *type, *help;
		long long	 v;
	} m[] = {
		{ "porter_uptime_seconds", "gauge",
		    "Seconds since the master started.", status_uptime() },
		{ "porter_generation", "gauge", "Configuration generation "
		    "taking connections (reloads).", master->m_gen },
		{ "porter_master_open_fds", "gauge",
		    "Descriptors the master holds.", status_fds() },
		{ "porter_master_peak_fds", "gauge",
		    "Most descriptors the master held.", s->peak_fds },
		{ "porter_connections_active", "gauge",
		    "Live client connections.", master_load() },
		{ "porter_connections_accepted_total", "counter",
		    "Client connections accepted by the master.",
		    (long long)s->accepted },
		{ "porter_connections_relayed_total", "counter",
		    "Client connections relayed to a worker (proxy mode).",
		    (long long)s->relayed },
		{ "porter_connections_handed_off_total", "counter",
		    "Client sockets handed to a worker (handoff mode).",
		    (long long)s->handed_off },
		{ "porter_connections_refused_total", "counter",
		    "Client connections closed before any worker served them.",
		    (long long)s->refused },
	};

	for (i = 0; i < nitems(m); i++) {
		status_family(b, m[i].name, m[i].type, m[i].help);
		evbuffer_add_printf(b, "%s %lld\n", m[i].name, m[i].v);
	}
	status_family(b, "porter_build_info", "gauge",
	    "Version and mode of this porter; always 1.");
	evbuffer_add_printf(b, "porter_build_info{version=\"%s\",mode=\"%s\"} "
	    "1\n", PORTER_VERSION, conf_mode_name(master->m_conf->c_mode));
	status_workers(b, ss, n, "porter_worker_ready", "gauge",
	    "Whether the worker takes connections (1) or not (0).",
	    offsetof(struct status_series, ss_ready));
	status_workers(b, ss, n, "porter_worker_restarts_total", "counter",
	    "Restarts of the worker slot.",
	    offsetof(struct status_series, ss_restarts));
	status_workers(b, ss, n, "porter_worker_connections_active", "gauge",
	    "Live connections of the worker, where porter knows them.",
	    offsetof(struct status_series, ss_active));
	status_workers(b, ss, n, "porter_worker_connections_total", "counter",
	    "Connections given to the worker.",
	    offsetof(struct status_series, ss_accepted));
}

static const char *
status_reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	default:  return "Error";
	}
}

/* One answer: status line, headers, and the body (none for HEAD). */
static void
status_reply(struct status_conn *sc, int code, const char *type,
    struct evbuffer *body, int head)
{
	struct evbuffer	*out = bufferevent_get_output(sc->sc_bev);

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "%s%s\r\n", code, status_reason(code), type,
	    evbuffer_get_length(body),
	    code == 405 ? "Allow: GET, HEAD\r\n" : "",
	    sc->sc_keepalive ? "" : "Connection: close\r\n");
	if (head)
		evbuffer_drain(body, evbuffer_get_length(body));
	else
		evbuffer_add_buffer(out, body);
}

static void
status_error(struct status_conn *sc, int code)
{
	evbuffer_drain(status_body, evbuffer_get_length(status_body));
	evbuffer_add_printf(status_body, "%d %s\n", code, status_reason(code));
	sc->sc_keepalive = 0;
	status_reply(sc, code, "text/plain", status_body, 0);
}

/* Answer the parsed request. The query string is ignored. */
static void
status_serve(struct status_conn *sc)
{
	struct evbuffer	*b = status_body;
	size_t		 len = strcspn(sc->sc_path, "?");
	const char	*type;
	int		 head = sc->sc_parser.method == HTTP_HEAD;

	evbuffer_drain(b, evbuffer_get_length(b));
	if (len == 8 && memcmp(sc->sc_path, "/healthz", 8) == 0) {
		/* Answered from the master's loop: it turns. */
		evbuffer_add_printf(b, "ok\n");
		type = "text/plain";
	} else if (len == 7 && memcmp(sc->sc_path, "/readyz", 7) == 0) {
		const char	*why;

		if (!master_is_ready(&why)) {
			evbuffer_add_printf(b, "not ready: %s\n", why);
			status_reply(sc, 503, "text/plain", b, head);
			return;
		}
		evbuffer_add_printf(b, "ready\n");
		type = "text/plain";
	} else if (len == 7 && memcmp(sc->sc_path, "/status", 7) == 0) {
		status_json(b);
		type = "application/json";
	} else if (len == 8 && memcmp(sc->sc_path, "/metrics", 8) == 0) {
		status_metrics(b);
		type = "text/plain; version=0.0.4";
	} else {
		evbuffer_add_printf(b, "Not Found (try /status, /metrics, "
		    "/healthz or /readyz)\n");
		status_reply(sc, 404, "text/plain", b, head);
		return;
	}
	status_reply(sc, 200, type, b, head);
}

static int
status_on_begin(http_parser *p)
{
	struct status_conn	*sc = p->data;

	sc->sc_pathlen = 0;
	sc->sc_path[0] = '\0';
	sc->sc_hbytes = 0;
	return 0;
}

static int
status_on_url(http_parser *p, const char *at, size_t len)
{
	struct status_conn	*sc = p->data;

	if (http_url_piece(sc->sc_path, &sc->sc_pathlen, STATUS_MAX_URL, at,
	    len) == -1) {
		sc->sc_error = 414;
		return -1;
	}
	return 0;
}

static int
status_on_header(http_parser *p, const char *at, size_t len)
{
	struct status_conn	*sc = p->data;

	(void)at;
	if (http_header_piece(&sc->sc_hbytes, len, STATUS_MAX_HEADERS) == -1) {
		sc->sc_error = 431;
		return -1;
	}
	return 0;
}

/* Only GET and HEAD, and without a body: refused before it is read. */
static int
status_on_headers_complete(http_parser *p)
{
	struct status_conn	*sc = p->data;

	if (p->method != HTTP_GET && p->method != HTTP_HEAD) {
		sc->sc_error = 405;
		return -1;
	}
	if ((p->flags & F_CHUNKED) || (p->content_length > 0 &&
	    p->content_length != ULLONG_MAX)) {
		sc->sc_error = 413;
		return -1;
	}
	return 0;
}

static int
status_on_complete(http_parser *p)
{
	struct status_conn	*sc = p->data;

	sc->sc_keepalive = http_should_keep_alive(p) && !p->upgrade;
	sc->sc_complete = 1;
	http_parser_pause(p, 1);
	return 0;
}

/*
 * Parse what has arrived and drain it; 1 when a request is complete, 0
 * for more, -1 after a malformed or refused request (sc_error set).
 */
static int
status_parse(struct status_conn *sc, struct evbuffer *in)
{
	struct evbuffer_iovec	 vec[4];
	http_parser		*p = &sc->sc_parser;
	enum http_errno		 err;
	size_t			 n, done;
	int			 i, nvec;

	while (evbuffer_get_length(in) > 0) {
		nvec = evbuffer_peek(in, -1, NULL, vec, nitems(vec));
		if (nvec > (int)nitems(vec))
			nvec = (int)nitems(vec);
		done = 0;
		for (i = 0; i < nvec; i++) {
			n = http_parser_execute(p, &status_settings,
			    vec[i].iov_base, vec[i].iov_len);
			done += n;
			err = HTTP_PARSER_ERRNO(p);
			if (err == HPE_PAUSED || (err == HPE_OK &&
			    sc->sc_complete)) {
				evbuffer_drain(in, done);
				return 1;
			}
			if (err != HPE_OK || n != vec[i].iov_len)
				goto fail;
		}
		evbuffer_drain(in, done);
	}
	return 0;

 fail:
	evbuffer_drain(in, evbuffer_get_length(in));
	if (sc->sc_error == 0)
		sc->sc_error = 400;
	return -1;
}

static void
status_deadline(struct status_conn *sc)
{
	struct timeval	tv = { STATUS_TIMEOUT / 1000,
			    (STATUS_TIMEOUT % 1000) * 1000 };

	evtimer_add(sc->sc_deadline, &tv);
}

/*
 * Serve what the input holds, one answer at a time: the next pipelined
 * request is read only once the last answer is written, so the output
 * holds one answer at most and the input (read high watermark) 16 KiB.
 * Returns 1 if the connection is closed (sc is gone), else 0.
 */
static int
status_process(struct status_conn *sc)
{
	struct evbuffer	*in = bufferevent_get_input(sc->sc_bev);
	struct evbuffer	*out = bufferevent_get_output(sc->sc_bev);

	while (!sc->sc_closing && evbuffer_get_length(out) == 0 &&
	    evbuffer_get_length(in) > 0) {
		if (sc->sc_complete) {
			sc->sc_complete = 0;
			http_parser_pause(&sc->sc_parser, 0);
		}
		switch (status_parse(sc, in)) {
		case 0:
			break;
		case -1:
			status_error(sc, sc->sc_error);
			sc->sc_closing = 1;
			continue;
		default:
			status_serve(sc);
			if (!sc->sc_keepalive)
				sc->sc_closing = 1;
			else
				status_deadline(sc);
			continue;
		}
		break;
	}
	/* Half-closed and all answered: nothing more can come. */
	if (sc->sc_eof && evbuffer_get_length(out) == 0)
		sc->sc_closing = 1;
	if (sc->sc_closing) {
		bufferevent_disable(sc->sc_bev, EV_READ);
		evbuffer_drain(in, evbuffer_get_length(in));
		if (evbuffer_get_length(out) == 0) {
			status_close(sc);
			return 1;
		}
	}
	return 0;
}

static void
status_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	(void)status_process(arg);
}

/* The output drained: close, or go on with pipelined requests. */
static void
status_write_cb(struct bufferevent *bev, void *arg)
{
	struct status_conn	*sc = arg;

	(void)bev;
	if (sc->sc_closing)
		status_close(sc);
	else
		(void)status_process(sc);
}

/* EOF: answer what came (the write callback goes on), then close. */
static void
status_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct status_conn	*sc = arg;

	if (what == (BEV_EVENT_READING | BEV_EVENT_EOF)) {
		sc->sc_eof = 1;
		if (status_process(sc) == 1 ||
		    evbuffer_get_length(bufferevent_get_output(bev)) > 0)
			return;
	}
	status_close(sc);
}

/* Too slow: a request not in whole, or an answer not taken, in time. */
static void
status_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	status_close(arg);
}

static void
status_close(struct status_conn *sc)
{
	TAILQ_REMOVE(&status_conns, sc, sc_entry);
	status_nconns--;
	event_free(sc->sc_deadline);
	bufferevent_free(sc->sc_bev);
	free(sc);
	if (status_full && status_nconns < STATUS_MAX_CONNS / 2) {
		log_info("status: %d connections, taking new ones again",
		    status_nconns);
		status_full = 0;
	}
}

/*
 * A new status client. Over the cap it gets a 503 if its socket takes it
 * at once, and is closed: what it costs is bounded by what it sends.
 */
static void
status_accept_cb(int fd, struct sockaddr *sa, socklen_t len, void *arg)
{
	static const char	 busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n";
	struct status_conn	*sc;

	(void)sa;
	(void)len;
	(void)arg;
	if (status_nconns >= STATUS_MAX_CONNS) {
		if (!status_full)
			log_warnx("status: %d connections, refusing more",
			    status_nconns);
		status_full = 1;
		(void)send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT |
		    MSG_NOSIGNAL);
		close(fd);
		return;
	}
	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		goto fail;
	if ((sc->sc_bev = bufferevent_socket_new(master->m_base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		free(sc);
		goto fail;
	}
	if ((sc->sc_deadline = evtimer_new(master->m_base, status_deadline_cb,
	    sc)) == NULL) {
		bufferevent_free(sc->sc_bev);
		free(sc);
		return;
	}
	http_parser_init(&sc->sc_parser, HTTP_REQUEST);
	sc->sc_parser.data = sc;
	TAILQ_INSERT_TAIL(&status_conns, sc, sc_entry);
	status_nconns++;
	bufferevent_setcb(sc->sc_bev, status_read_cb, status_write_cb,
	    status_event_cb, sc);
	bufferevent_setwatermark(sc->sc_bev, EV_READ, 0, STATUS_MAX_INPUT);
	bufferevent_enable(sc->sc_bev, EV_READ | EV_WRITE);
	status_deadline(sc);
	return;

 fail:
	log_warn("%s", __func__);
	close(fd);
}

int
status_start(char **cause)
{
	int	fd;

	if ((fd = listener_bind(&master->m_conf->c_status, 128, 0, cause)) == -1)
		return -1;
	if ((status_body = evbuffer_new()) == NULL ||
	    (status_listener = listener_new(master->m_base, fd, status_accept_cb,
	    NULL)) == NULL) {
		close(fd);
		status_stop();
		*cause = strdup("cannot start the status endpoint");
		return -1;
	}
	return 0;
}

void
status_stop(void)
{
	struct status_conn	*sc;

	while ((sc = TAILQ_FIRST(&status_conns)) != NULL)
		status_close(sc);
	status_full = 0;
	listener_free(status_listener);
	status_listener = NULL;
	if (status_body != NULL) {
		evbuffer_free(status_body);
		status_body = NULL;
	}
}
