/*
 * status.c: the master's status endpoint on libevent's evhttp.
 * GET /status is JSON, GET /metrics the same counters for Prometheus.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "porter.h"

static struct evhttp	*status_http;

static long
status_uptime(const struct master *m)
{
	return (long)((clock_ms() - m->m_started) / 1000);
}

/* The real fd count, which also keeps peak_fds honest. */
static int
status_fds(struct master *m)
{
	int	n = master_count_fds();

	if (n > m->m_stats.peak_fds)
		m->m_stats.peak_fds = n;
	return n;
}

static void
status_json(struct master *m, struct evbuffer *b)
{
	const struct master_stats	*s = &m->m_stats;
	const struct worker		*w;
	int				 i, fds = status_fds(m);

	evbuffer_add_printf(b, "{\"version\":\"%s\",\"mode\":\"%s\","
	    "\"balance\":\"%s\",\"worker\":\"%s\",\"listen\":\"",
	    PORTER_VERSION, conf_mode_name(m->m_conf->c_mode),
	    conf_balance_name(m->m_conf->c_balance),
	    conf_worker_name(m->m_conf->c_worker));
	for (i = 0; i < m->m_conf->c_nlisten; i++)
		evbuffer_add_printf(b, "%s%s", i ? "," : "",
		    m->m_conf->c_listen[i].a_text);
	evbuffer_add_printf(b, "\",\"uptime_s\":%ld,"
	    "\"master\":{\"pid\":%ld,\"open_fds\":%d,\"peak_fds\":%d,"
	    "\"active_connections\":%u,\"accepted\":%llu,\"relayed\":%llu,"
	    "\"handed_off\":%llu,\"refused\":%llu,\"pending\":%u,"
	    "\"stopping\":%s},\"workers\":[", status_uptime(m), (long)m->m_pid,
	    fds,
	    s->peak_fds, master_load(), (unsigned long long)s->accepted,
	    (unsigned long long)s->relayed,
	    (unsigned long long)s->handed_off,
	    (unsigned long long)s->refused,
	    m->m_conf->c_mode == MODE_HANDOFF ? handoff_pending() : 0,
	    m->m_stopping ? "true" : "false");
	for (i = 0; i < m->m_nworkers; i++) {
		w = m->m_workers[i];
		char	port[16] = "null", active[16] = "null";

		if (master_worker_port(w) > 0)
			snprintf(port, sizeof(port), "%d", master_worker_port(w));
		if (master_knows_active(w))
			snprintf(active, sizeof(active), "%u", w->w_active);
		evbuffer_add_printf(b, "%s{\"id\":%d,\"pid\":%ld,\"port\":%s,"
		    "\"state\":\"%s\",\"restarts\":%u,\"active\":%s,"
		    "\"accepted\":%llu}", i ? "," : "", w->w_id,
		    (long)w->w_pid, port,
		    master_state_name(w->w_state), w->w_restarts, active,
		    (unsigned long long)w->w_accepted);
	}
	evbuffer_add_printf(b, "]}\n");
}

static void
status_metrics(struct master *m, struct evbuffer *b)
{
	const struct master_stats	*s = &m->m_stats;
	const struct worker		*w;
	int				 i;

	evbuffer_add_printf(b,
	    "# HELP porter_uptime_seconds Seconds since the master started.\n"
	    "# TYPE porter_uptime_seconds gauge\n"
	    "porter_uptime_seconds %ld\n"
	    "# HELP porter_master_open_fds Descriptors the master holds.\n"
	    "# TYPE porter_master_open_fds gauge\n"
	    "porter_master_open_fds %d\n"
	    "# HELP porter_master_peak_fds Most descriptors the master held.\n"
	    "# TYPE porter_master_peak_fds gauge\n"
	    "porter_master_peak_fds %d\n"
	    "# HELP porter_connections_active Live client connections.\n"
	    "# TYPE porter_connections_active gauge\n"
	    "porter_connections_active %u\n"
	    "# HELP porter_connections_total Client connections, by fate.\n"
	    "# TYPE porter_connections_total counter\n"
	    "porter_connections_total{event=\"accepted\"} %llu\n"
	    "porter_connections_total{event=\"relayed\"} %llu\n"
	    "porter_connections_total{event=\"handed_off\"} %llu\n"
	    "porter_connections_total{event=\"refused\"} %llu\n",
	    status_uptime(m), status_fds(m), s->peak_fds, master_load(),
	    (unsigned long long)s->accepted, (unsigned long long)s->relayed,
	    (unsigned long long)s->handed_off,
	    (unsigned long long)s->refused);
	evbuffer_add_printf(b,
	    "# HELP porter_worker_up Whether the worker takes connections.\n"
	    "# TYPE porter_worker_up gauge\n");
	for (i = 0; i < m->m_nworkers; i++) {
		w = m->m_workers[i];
		evbuffer_add_printf(b, "porter_worker_up{id=\"%d\"} %d\n",
		    w->w_id, w->w_state == WS_READY);
	}
	evbuffer_add_printf(b,
	    "# HELP porter_worker_restarts_total Restarts of the worker.\n"
	    "# TYPE porter_worker_restarts_total counter\n");
	for (i = 0; i < m->m_nworkers; i++) {
		w = m->m_workers[i];
		evbuffer_add_printf(b, "porter_worker_restarts_total"
		    "{id=\"%d\"} %u\n", w->w_id, w->w_restarts);
	}
	evbuffer_add_printf(b,
	    "# HELP porter_worker_connections_active Live connections.\n"
	    "# TYPE porter_worker_connections_active gauge\n");
	for (i = 0; i < m->m_nworkers; i++) {
		w = m->m_workers[i];
		if (master_knows_active(w))
			evbuffer_add_printf(b, "porter_worker_connections_active"
			    "{id=\"%d\"} %u\n", w->w_id, w->w_active);
	}
	evbuffer_add_printf(b,
	    "# HELP porter_worker_connections_total Connections given to it.\n"
	    "# TYPE porter_worker_connections_total counter\n");
	for (i = 0; i < m->m_nworkers; i++) {
		w = m->m_workers[i];
		evbuffer_add_printf(b, "porter_worker_connections_total"
		    "{id=\"%d\"} %llu\n", w->w_id,
		    (unsigned long long)w->w_accepted);
	}
}

static void
status_request_cb(struct evhttp_request *req, void *arg)
{
	struct master	*m = arg;
	struct evbuffer	*b;
	const char	*path, *type;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
	    evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		evhttp_send_error(req, 405, "Method Not Allowed");
		return;
	}
	path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	if ((b = evbuffer_new()) == NULL) {
		evhttp_send_error(req, 500, "Internal Server Error");
		return;
	}
	if (path != NULL && strcmp(path, "/status") == 0) {
		status_json(m, b);
		type = "application/json";
	} else if (path != NULL && strcmp(path, "/metrics") == 0) {
		status_metrics(m, b);
		type = "text/plain; version=0.0.4";
	} else {
		evbuffer_free(b);
		evhttp_send_error(req, 404, "Not Found (try /status or "
		    "/metrics)");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", type);
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

int
status_start(struct master *m, char **cause)
{
	int	fd;

	if ((fd = listener_bind(&m->m_conf->c_status, 128, 0, cause)) == -1)
		return -1;
	if ((status_http = evhttp_new(m->m_base)) == NULL ||
	    evhttp_accept_socket_with_handle(status_http, fd) == NULL) {
		close(fd);
		*cause = strdup("cannot start evhttp");
		return -1;
	}
	evhttp_set_timeout(status_http, 10);
	evhttp_set_allowed_methods(status_http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_HEAD);
	evhttp_set_gencb(status_http, status_request_cb, m);
	return 0;
}

void
status_stop(void)
{
	if (status_http != NULL) {
		evhttp_free(status_http);
		status_http = NULL;
	}
}
