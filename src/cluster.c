/*
 * cluster.c: porter as the primary of Node's cluster module, so that an
 * unmodified app that calls listen() runs as a node worker (the protocol:
 * node-cluster.md in the design notes). Every node worker starts as a
 * cluster worker. Its listen() on porter's port is served from porter's
 * listener (handoff: each client in a "newconn"; shared: the listening
 * socket); in proxy mode porter binds the worker's private port for it;
 * any other server porter binds as Node's primary would. A worker that has
 * not asked for porter's port once its main module ran (and a grace after)
 * is a classic script, which takes plain socket handles instead.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "porter.h"

#define CLUSTER_GRACE		500	/* ms after its main module ran */
#define CLUSTER_MAX_SERVERS	16	/* servers one worker may have */
#define CLUSTER_KEY_MAX		320
#define CLUSTER_BACKLOG		511	/* Node's, when none is asked for */

enum cluster_kind {
	CS_FRONT = 0,		/* porter's port: porter's own listener */
	CS_PRIVATE,		/* proxy mode: the worker's private port */
	CS_EXTRA,		/* any other: porter binds it for them */
};

/* A server cluster workers asked for, by Node's key for it. */
struct cluster_server {
	TAILQ_ENTRY(cluster_server) cs_entry;
	char			 cs_key[CLUSTER_KEY_MAX];
	char			*cs_data;	/* the first worker's data */
	enum cluster_kind	 cs_kind;
	int			 cs_listen;	/* front: its listen line */
	int			 cs_port;	/* as asked (-1: unix) */
	int			 cs_fd;		/* porter's socket, or -1 */
	struct handoff_group	*cs_group;	/* round-robin: porter accepts */
	struct listener		*cs_listener;
	char			 cs_text[128];	/* where, for logs and /status */
	char			*cs_path;	/* unix: unlinked when closed */
	int			 cs_refs;	/* workers that have it */
};

enum cluster_style {
	STYLE_UNKNOWN = 0,	/* not yet told */
	STYLE_APP,		/* it asked for porter's port */
	STYLE_CLASSIC,		/* it did not: process.on('message') */
};

/* What porter knows of a node worker's process (w->w_cluster). */
struct cluster_worker {
	enum cluster_style	 cw_style;
	unsigned int		 cw_id;		/* NODE_UNIQUE_ID */
	int			 cw_probing;	/* the probe is not answered */
	struct event		*cw_timer;	/* the grace before classic */
	struct cluster_server	*cw_servers[CLUSTER_MAX_SERVERS];
	int			 cw_nservers;
	struct cluster_server	*cw_port;	/* porter's port, or private */
	int			 cw_listening;	/* and it listens there */
	int			 cw_disconnecting;
	char			 cw_other[128];	/* a server not on porter's port */
	struct cluster_held {			/* answers that wait */
		struct cluster_server	*ch_server;
		long long		 ch_seq;
	}			 cw_held[CLUSTER_MAX_SERVERS];
	int			 cw_nheld;
};

/* What a queryServer asks for. */
struct cluster_ask {
	char		 ca_key[CLUSTER_KEY_MAX];
	char		 ca_address[108];	/* "" for none (null) */
	int		 ca_port;		/* -1: a unix socket */
	int		 ca_type;		/* 4, 6, or -1 (unix) */
	int		 ca_v6only;
	int		 ca_backlog;
};

static TAILQ_HEAD(, cluster_server) servers = TAILQ_HEAD_INITIALIZER(servers);
static unsigned int	cluster_ids;	/* Node's ids start at 1 */

static const char *style_names[] = { "undecided", "cluster", "classic" };
static const char *kind_names[] = { "front", "worker port", "extra" };

static void	cluster_grace_cb(evutil_socket_t, short, void *);
static int	cluster_answer(struct worker *, long long,
		    struct cluster_server *);

/* Before w's process starts: its id (NODE_UNIQUE_ID). -1: no memory. */
int
cluster_worker_new(struct worker *w)
{
	struct cluster_worker	*cw;

	cluster_worker_gone(w);
	if ((cw = calloc(1, sizeof(*cw))) == NULL ||
	    (cw->cw_timer = evtimer_new(master->m_base, cluster_grace_cb,
	    w)) == NULL) {
		free(cw);
		return -1;
	}
	cw->cw_id = ++cluster_ids;
	w->w_cluster = cw;
	return 0;
}

/* Its NODE_UNIQUE_ID: cluster.worker.id in the app. */
unsigned int
cluster_worker_id(const struct worker *w)
{
	return w->w_cluster != NULL ? w->w_cluster->cw_id : 0;
}

/*
 * Its channel is up: ask whether its event loop runs. A Node child
 * answers a handle message that came without its fd with a NACK, and only
 * once its main module ran: by then an app that listens at once has asked
 * for its server (queryServer comes first). Node takes an fd for the first
 * handle message of what it reads at once: until the NACK, no message
 * with an fd may follow the probe (cluster_answer holds them).
 */
void
cluster_worker_started(struct worker *w)
{
	struct cluster_worker	*cw = w->w_cluster;

	if (cw == NULL || w->w_chan == NULL)
		return;
	if (ipc_send_probe(w->w_chan) == 0)
		cw->cw_probing = 1;
}

/* The unix socket file of cs goes with its socket. */
static void
cluster_server_free(struct cluster_server *cs)
{
	TAILQ_REMOVE(&servers, cs, cs_entry);
	if (cs->cs_listener != NULL) {
		handoff_group_set_listener(cs->cs_group, NULL);
		listener_free(cs->cs_listener);	/* closes cs_fd */
	} else if (cs->cs_fd != -1)
		close(cs->cs_fd);
	handoff_group_free(cs->cs_group);
	if (cs->cs_path != NULL) {
		unlink(cs->cs_path);
		free(cs->cs_path);
	}
	free(cs->cs_data);
	free(cs);
}

/* w leaves server i of its own; the server closes once nobody has it. */
static void
cluster_leave(struct worker *w, int i)
{
	struct cluster_worker	*cw = w->w_cluster;
	struct cluster_server	*cs = cw->cw_servers[i];

	cw->cw_servers[i] = cw->cw_servers[--cw->cw_nservers];
	if (cs == cw->cw_port) {
		cw->cw_port = NULL;
		cw->cw_listening = 0;
	}
	if (cs->cs_group != NULL)
		handoff_leave(w, cs->cs_group);
	if (--cs->cs_refs == 0) {
		if (cs->cs_kind == CS_EXTRA)
			log_info("%s: no cluster worker has it any more; "
			    "closed", cs->cs_text);
		cluster_server_free(cs);
	}
}

/* w's process is gone (or never started): it leaves every server. */
void
cluster_worker_gone(struct worker *w)
{
	struct cluster_worker	*cw = w->w_cluster;

	if (cw == NULL)
		return;
	while (cw->cw_nservers > 0)
		cluster_leave(w, cw->cw_nservers - 1);
	event_free(cw->cw_timer);
	free(cw);
	w->w_cluster = NULL;
}

/* Whether w takes clients of porter's own listeners in handoff mode. */
int
cluster_takes_front(const struct worker *w)
{
	const struct cluster_worker	*cw = w->w_cluster;

	if (w->w_kind != WORKER_NODE)
		return 1;
	if (cw == NULL)
		return 0;
	if (cw->cw_style == STYLE_CLASSIC)
		return 1;
	return cw->cw_port != NULL && cw->cw_port->cs_kind == CS_FRONT;
}

/* The key of w's server on porter's port: its clients come in newconn
 * messages for it. NULL: w takes plain sockets. */
const char *
cluster_front_key(const struct worker *w)
{
	const struct cluster_worker	*cw = w->w_cluster;

	if (cw == NULL || cw->cw_style != STYLE_APP || cw->cw_port == NULL ||
	    cw->cw_port->cs_kind != CS_FRONT)
		return NULL;
	return cw->cw_port->cs_key;
}

/* Whether w is a cluster app on a port porter bound for it (proxy mode):
 * a connect to that port proves nothing. */
int
cluster_holds_port(const struct worker *w)
{
	const struct cluster_worker	*cw = w->w_cluster;

	return cw != NULL && cw->cw_port != NULL &&
	    cw->cw_port->cs_kind == CS_PRIVATE;
}

/* For /status: "cluster", "classic" or "undecided"; NULL if not node. */
const char *
cluster_style(const struct worker *w)
{
	return w->w_cluster == NULL ? NULL :
	    style_names[w->w_cluster->cw_style];
}

/* Why w is not ready yet, for the ready_timeout line ("" if no idea). */
const char *
cluster_not_ready(const struct worker *w)
{
	static char			 buf[256];
	const struct cluster_worker	*cw = w->w_cluster;
	int				 port;

	if (cw == NULL || cw->cw_style == STYLE_CLASSIC)
		return "";
	port = w->w_mode == MODE_PROXY ? w->w_port :
	    addr_port(&w->w_conf->c_listen[0]);
	if (cw->cw_probing)
		snprintf(buf, sizeof(buf), ": it never read its channel "
		    "(NODE_CHANNEL_FD; not node, or its event loop never ran)");
	else if (cw->cw_port != NULL)
		snprintf(buf, sizeof(buf), ": it asked for port %d but never "
		    "said it listens", port);
	else if (cw->cw_other[0] != '\0')
		snprintf(buf, sizeof(buf), ": it listens on %s, not on "
		    "porter's port %d (its PORT)", cw->cw_other, port);
	else
		snprintf(buf, sizeof(buf), ": it never called listen() on "
		    "port %d (its PORT)", port);
	return buf;
}

/* The readiness that is cluster.c's to judge: the default, connect and
 * listen checks (http and notify are ready.c's). */
static int
cluster_judges(const struct worker *w)
{
	switch (w->w_conf->c_ready_check) {
	case READY_CHECK_DEFAULT:
	case READY_CHECK_CONNECT:
	case READY_CHECK_LISTEN:
		return 1;
	default:
		return 0;
	}
}

/*
 * A classic script: shared mode gives it the listening socket(s) the
 * classic way, and by default it is ready now (handoff and shared mode;
 * in proxy mode its port's probe judges).
 */
static void
cluster_classic(struct worker *w, const char *why)
{
	struct cluster_worker	*cw = w->w_cluster;

	cw->cw_style = STYLE_CLASSIC;
	evtimer_del(cw->cw_timer);
	log_info("worker %d (pid %ld): %s: a classic script, given sockets in "
	    "process.on('message') (\"ready_check listen\" waits for "
	    "listen())", w->w_id, (long)w->w_pid, why);
	if (w->w_mode == MODE_SHARED && w->w_state == WS_STARTING)
		master_send_servers(w);
	if (w->w_mode != MODE_PROXY &&
	    w->w_conf->c_ready_check == READY_CHECK_DEFAULT)
		master_worker_ready(w, READY_CLASSIC);
}

/* Its main module ran, and a grace more: no listen() on porter's port. */
static void
cluster_grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	char		 why[96];

	(void)fd;
	(void)what;
	if (w->w_cluster == NULL || w->w_cluster->cw_style != STYLE_UNKNOWN ||
	    w->w_conf->c_ready_check == READY_CHECK_LISTEN)
		return;
	snprintf(why, sizeof(why), "no listen() on porter's port %d ms after "
	    "its main module ran", CLUSTER_GRACE);
	cluster_classic(w, why);
}

/* A NACK: 1 if it answered the probe (its main module ran). */
int
cluster_probe_answer(struct worker *w)
{
	struct cluster_worker	*cw = w->w_cluster;

	int			 i;

	if (cw == NULL || !cw->cw_probing)
		return 0;
	cw->cw_probing = 0;
	for (i = 0; i < cw->cw_nheld; i++)
		if (cluster_answer(w, cw->cw_held[i].ch_seq,
		    cw->cw_held[i].ch_server) == -1)
			log_warnx("worker %d: cannot answer its queryServer",
			    w->w_id);
	cw->cw_nheld = 0;
	if (cw->cw_style == STYLE_UNKNOWN)
		timer_arm(cw->cw_timer, CLUSTER_GRACE);
	return 1;
}

/*
 * w is judged ready another way (READY=1): its style is settled now, by
 * what it asked for so far.
 */
void
cluster_settle(struct worker *w)
{
	struct cluster_worker	*cw = w->w_cluster;

	if (cw == NULL || cw->cw_style != STYLE_UNKNOWN)
		return;
	if (cw->cw_port != NULL)
		cw->cw_style = STYLE_APP;
	else
		cluster_classic(w, "ready before it called listen()");
}

/* Stop, the cluster way: "disconnect" (it closes its servers, finishes
 * its connections, exits 0). -1 if w is not a cluster app. */
int
cluster_disconnect(struct worker *w)
{
	struct cluster_worker	*cw = w->w_cluster;

	if (cw == NULL || cw->cw_style != STYLE_APP || w->w_chan == NULL)
		return -1;
	if (cw->cw_disconnecting)
		return 0;
	if (ipc_send_disconnect(w->w_chan) == -1)
		return -1;
	cw->cw_disconnecting = 1;
	log_debug("worker %d (pid %ld): disconnect sent", w->w_id,
	    (long)w->w_pid);
	return 0;
}

static struct cluster_server *
cluster_find(const char *key)
{
	struct cluster_server	*cs;

	TAILQ_FOREACH(cs, &servers, cs_entry)
		if (strcmp(cs->cs_key, key) == 0)
			return cs;
	return NULL;
}

/* One piece of Node's key: a member's text as JavaScript would join it;
 * -1 if it is not one (or holds a NUL). */
static int
cluster_key_piece(char *buf, size_t size, const struct json_val *v)
{
	ssize_t	n;

	switch (v->j_type) {
	case JSON_NONE:
		snprintf(buf, size, "undefined");
		return 0;
	case JSON_NULL:
		snprintf(buf, size, "null");
		return 0;
	case JSON_STRING:
		n = json_str(v, buf, size);
		return n == -1 || (size_t)n != strlen(buf) ? -1 : 0;
	case JSON_NUMBER:
	case JSON_TRUE:
	case JSON_FALSE:
		if (v->j_len >= size)
			return -1;
		memcpy(buf, v->j_p, v->j_len);
		buf[v->j_len] = '\0';
		return 0;
	default:
		return -1;
	}
}

/*
 * Read a queryServer into ca. Returns 0, or an errno for the reply: what
 * porter does not serve (UDP, listen({fd}), nonsense) gets one.
 */
static int
cluster_ask_parse(const struct ipc_msg *m, struct cluster_ask *ca,
    const char **why)
{
	char		 p[5][108];
	long long	 n;
	size_t		 i;
	const struct json_val *v[5] = { &m->im_address, &m->im_port,
	    &m->im_addrtype, &m->im_fd, &m->im_index };

	memset(ca, 0, sizeof(*ca));
	*why = "a malformed queryServer";
	for (i = 0; i < nitems(v); i++)
		if (cluster_key_piece(p[i], sizeof(p[i]), v[i]) == -1)
			return EINVAL;
	if (snprintf(ca->ca_key, sizeof(ca->ca_key), "%s:%s:%s:%s:%s", p[0],
	    p[1], p[2], p[3], p[4]) >= (int)sizeof(ca->ca_key))
		return EINVAL;
	if (m->im_addrtype.j_type == JSON_STRING) {
		*why = "UDP (dgram) sockets";
		return EOPNOTSUPP;
	}
	if (m->im_fd.j_type == JSON_NUMBER && json_int(&m->im_fd, &n) == 0 &&
	    n >= 0) {
		*why = "listen({fd}) (an fd of the primary's)";
		return EOPNOTSUPP;
	}
	if (json_int(&m->im_port, &n) == -1 || n < -1 || n > 65535)
		return EINVAL;
	ca->ca_port = (int)n;
	if (json_int(&m->im_addrtype, &n) == -1 || (n != 4 && n != 6 &&
	    n != -1))
		return EINVAL;
	ca->ca_type = (int)n;
	if (m->im_address.j_type == JSON_STRING)
		snprintf(ca->ca_address, sizeof(ca->ca_address), "%s", p[0]);
	else if (m->im_address.j_type != JSON_NULL &&
	    m->im_address.j_type != JSON_NONE)
		return EINVAL;
	if (ca->ca_port == -1 && ca->ca_address[0] != '/')
		return EINVAL;	/* a unix socket's path is absolute */
	ca->ca_v6only = m->im_flags != IPC_ABSENT && (m->im_flags & 1);
	ca->ca_backlog = m->im_backlog > 0 && m->im_backlog <= 65535 ?
	    (int)m->im_backlog : CLUSTER_BACKLOG;
	*why = NULL;
	return 0;
}

/*
 * Bind and listen where ca asks, as Node's primary does: no address is
 * [::] taking IPv4 too (or 0.0.0.0 without IPv6). Returns the socket, or
 * -1 with *err set; text: where, for messages.
 */
static int
cluster_bind(const struct cluster_ask *ca, char *text, size_t len, int *err)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_un	*sun = (struct sockaddr_un *)&ss;
	socklen_t		 sslen;
	int			 fd, on = 1, v6only = ca->ca_v6only;

	memset(&ss, 0, sizeof(ss));
	if (ca->ca_port == -1) {
		if (strlen(ca->ca_address) >= sizeof(sun->sun_path)) {
			*err = ENAMETOOLONG;
			return -1;
		}
		sun->sun_family = AF_UNIX;
		snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", ca->ca_address);
		sslen = sizeof(*sun);
		snprintf(text, len, "%s", ca->ca_address);
	} else if (ca->ca_address[0] == '\0' || ca->ca_type == 6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((in_port_t)ca->ca_port);
		if (ca->ca_address[0] != '\0' && inet_pton(AF_INET6,
		    ca->ca_address, &sin6->sin6_addr) != 1) {
			*err = EINVAL;
			return -1;
		}
		sslen = sizeof(*sin6);
		snprintf(text, len, "[%s]:%d", ca->ca_address[0] ?
		    ca->ca_address : "::", ca->ca_port);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((in_port_t)ca->ca_port);
		if (inet_pton(AF_INET, ca->ca_address, &sin->sin_addr) != 1) {
			*err = EINVAL;
			return -1;
		}
		sslen = sizeof(*sin);
		snprintf(text, len, "%s:%d", ca->ca_address, ca->ca_port);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1 && ss.ss_family == AF_INET6 && ca->ca_address[0] == '\0') {
		/* No IPv6 here: what Node falls back to. */
		memset(&ss, 0, sizeof(ss));
		sin->sin_family = AF_INET;
		sin->sin_port = htons((in_port_t)ca->ca_port);
		sslen = sizeof(*sin);
		snprintf(text, len, "0.0.0.0:%d", ca->ca_port);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
	}
	if (fd == -1)
		goto fail;
	if ((ss.ss_family != AF_UNIX && setsockopt(fd, SOL_SOCKET,
	    SO_REUSEADDR, &on, sizeof(on)) == -1) ||
	    (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &v6only, sizeof(v6only)) == -1) ||
	    bind(fd, (struct sockaddr *)&ss, sslen) == -1 ||
	    listen(fd, ca->ca_backlog) == -1)
		goto fail;
	if (ca->ca_port == 0) {		/* listen(0): say where it went */
		sslen = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0)
			snprintf(text, len, "%s:%d", ss.ss_family == AF_INET6 ?
			    "[::]" : "0.0.0.0", ntohs(ss.ss_family ==
			    AF_INET6 ? sin6->sin6_port : sin->sin_port));
	}
	return fd;

 fail:
	*err = errno;
	if (fd != -1)
		close(fd);
	return -1;
}

/* The front listen line a queryServer for port is served from, or -1. */
static int
cluster_front_line(const struct worker *w, int port)
{
	int	i;

	if (w->w_mode == MODE_PROXY || port <= 0)
		return -1;
	for (i = 0; i < w->w_conf->c_nlisten; i++)
		if (addr_port(&w->w_conf->c_listen[i]) == port)
			return i;
	return -1;
}

/*
 * The server ca asks for, made: porter's port (any address: porter's
 * listener decides where), the worker's own port in proxy mode (bound
 * where porter relays to), or bound as asked. NULL with *err set.
 */
static struct cluster_server *
cluster_server_new(struct worker *w, const struct cluster_ask *ca, int *err)
{
	struct cluster_server	*cs;
	char			 cause_text[128];
	char			*cause = NULL;
	int			 line;

	if ((cs = calloc(1, sizeof(*cs))) == NULL) {
		*err = ENOMEM;
		return NULL;
	}
	snprintf(cs->cs_key, sizeof(cs->cs_key), "%s", ca->ca_key);
	cs->cs_fd = -1;
	cs->cs_port = ca->ca_port;
	if ((line = cluster_front_line(w, ca->ca_port)) != -1) {
		cs->cs_kind = CS_FRONT;
		cs->cs_listen = line;
		snprintf(cs->cs_text, sizeof(cs->cs_text), "%s", w->w_conf->c_listen[line].a_text);
	} else if (w->w_mode == MODE_PROXY && ca->ca_port == w->w_port) {
		cs->cs_kind = CS_PRIVATE;
		addr_text(&w->w_addr, cs->cs_text, sizeof(cs->cs_text));
		if ((cs->cs_fd = listener_bind(&w->w_addr, ca->ca_backlog, 0,
		    &cause)) == -1) {
			*err = errno;
			log_warnx("worker %d: %s", w->w_id, cause ? cause :
			    "cannot listen on its port");
			free(cause);
			free(cs);
			return NULL;
		}
	} else {
		cs->cs_kind = CS_EXTRA;
		if ((cs->cs_fd = cluster_bind(ca, cause_text,
		    sizeof(cause_text), err)) == -1) {
			log_warnx("worker %d (pid %ld): listen on %s: %s", w->w_id,
			    (long)w->w_pid, cause_text, strerror(*err));
			free(cs);
			return NULL;
		}
		snprintf(cs->cs_text, sizeof(cs->cs_text), "%s", cause_text);
		if (ca->ca_port == -1 && (cs->cs_path =
		    strdup(ca->ca_address)) == NULL)
			goto nomem;
		/* Handoff mode's way is Node's default: round-robin. */
		if (w->w_mode == MODE_HANDOFF) {
			if ((cs->cs_group = handoff_group_new(cs->cs_key)) ==
			    NULL || (cs->cs_listener = listener_new(
			    master->m_base, cs->cs_fd, handoff_group_accept,
			    cs->cs_group)) == NULL)
				goto nomem;
			handoff_group_set_listener(cs->cs_group,
			    cs->cs_listener);
		}
		log_info("%s: bound for the cluster workers (%s)", cs->cs_text,
		    cs->cs_group != NULL ? "round-robin" : "shared");
	}
	TAILQ_INSERT_TAIL(&servers, cs, cs_entry);
	return cs;

 nomem:
	*err = ENOMEM;
	handoff_group_free(cs->cs_group);
	if (cs->cs_fd != -1)
		close(cs->cs_fd);
	if (cs->cs_path != NULL)
		unlink(cs->cs_path);
	free(cs->cs_path);
	free(cs);
	return NULL;
}

/* Answer w's queryServer (seq) with errno err. */
static void
cluster_refuse(struct worker *w, const struct ipc_msg *m, const char *key,
    int err)
{
	if (ipc_send_query_reply(w->w_chan, m->im_seq, err, key, NULL, NULL,
	    -1) == -1)
		log_warnx("worker %d: cannot answer its queryServer", w->w_id);
}

/* Answer w's queryServer (seq) for cs: the socket, or where porter
 * accepts. A socket waits while the probe is out (cluster_worker_started). */
static int
cluster_answer(struct worker *w, long long seq, struct cluster_server *cs)
{
	struct cluster_worker	*cw = w->w_cluster;
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	int			 fd = -1, lfd = -1;

	switch (cs->cs_kind) {
	case CS_FRONT:
		if (w->w_mode == MODE_SHARED)
			fd = listener_slot_fds(w->w_id,
			    w->w_conf)[cs->cs_listen];
		else
			lfd = listener_fd(cs->cs_listen);
		break;
	case CS_PRIVATE:
		fd = cs->cs_fd;
		break;
	case CS_EXTRA:
		/* Round-robin for handoff workers; a worker of another mode
		 * (a reload changed it) accepts on it itself. */
		if (cs->cs_group == NULL || w->w_handoff == NULL)
			fd = cs->cs_fd;
		else if (cs->cs_port != -1)
			lfd = cs->cs_fd;
		break;
	}
	if (fd != -1 && cw->cw_probing) {
		cw->cw_held[cw->cw_nheld].ch_server = cs;
		cw->cw_held[cw->cw_nheld++].ch_seq = seq;
		return 0;
	}
	if (lfd == -1 || getsockname(lfd, (struct sockaddr *)&ss, &len) == -1)
		ss.ss_family = AF_UNSPEC;
	return ipc_send_query_reply(w->w_chan, seq, 0, cs->cs_key,
	    cs->cs_data, ss.ss_family == AF_UNSPEC ? NULL :
	    (struct sockaddr *)&ss, fd);
}

/* queryServer: w's listen(). */
static void
cluster_query(struct worker *w, const struct ipc_msg *m)
{
	struct cluster_worker	*cw = w->w_cluster;
	struct cluster_server	*cs;
	struct cluster_ask	 ca;
	const char		*why;
	int			 err, i, mine;

	if (cw->cw_disconnecting)
		return;		/* as Node's primary: it is on its way out */
	if ((err = cluster_ask_parse(m, &ca, &why)) != 0) {
		log_warnx_limit(&w->w_lim_msg, "worker %d (pid %ld): porter "
		    "does not serve %s; the app's listen() fails", w->w_id,
		    (long)w->w_pid, why);
		cluster_refuse(w, m, ca.ca_key[0] ? ca.ca_key : "?", err);
		return;
	}
	if (cw->cw_nservers == CLUSTER_MAX_SERVERS) {
		cluster_refuse(w, m, ca.ca_key, EMFILE);
		return;
	}
	mine = cluster_front_line(w, ca.ca_port) != -1 ||
	    (w->w_mode == MODE_PROXY && ca.ca_port == w->w_port);
	if ((cs = cluster_find(ca.ca_key)) != NULL) {
		for (i = 0; i < cw->cw_nservers; i++)
			if (cw->cw_servers[i] == cs)
				break;
		if (i < cw->cw_nservers || (cs->cs_kind == CS_PRIVATE &&
		    cw->cw_port != cs)) {
			cluster_refuse(w, m, ca.ca_key, EADDRINUSE);
			return;
		}
	} else if (mine && cw->cw_port != NULL) {
		/* A second server on porter's port: as a second bind. */
		cluster_refuse(w, m, ca.ca_key, EADDRINUSE);
		return;
	} else if ((cs = cluster_server_new(w, &ca, &err)) == NULL) {
		cluster_refuse(w, m, ca.ca_key, err);
		return;
	}
	/* The first worker's data (TLS ticket keys) is every worker's. */
	if (cs->cs_data == NULL && m->im_data.j_type != JSON_NONE &&
	    m->im_data.j_type != JSON_NULL) {
		if (m->im_data.j_len > CLUSTER_DATA_MAX)
			log_warnx_limit(&w->w_lim_msg, "worker %d: its server "
			    "data is over %d bytes; not kept", w->w_id,
			    CLUSTER_DATA_MAX);
		else
			cs->cs_data = strndup(m->im_data.j_p,
			    m->im_data.j_len);
	}
	cw->cw_servers[cw->cw_nservers++] = cs;
	cs->cs_refs++;
	if (cluster_answer(w, m->im_seq, cs) == -1)
		log_warnx("worker %d: cannot answer its queryServer", w->w_id);
	if (cs->cs_kind == CS_FRONT || cs->cs_kind == CS_PRIVATE) {
		cw->cw_port = cs;
		if (cw->cw_style == STYLE_CLASSIC)
			log_warnx("worker %d (pid %ld) called listen() on "
			    "porter's port after it was taken for a classic "
			    "script; it gets clients the cluster way from now "
			    "on (\"ready_check listen\" waits for listen())",
			    w->w_id, (long)w->w_pid);
		cw->cw_style = STYLE_APP;
		evtimer_del(cw->cw_timer);
		if (cs->cs_kind == CS_PRIVATE)
			ready_cancel(w);  /* porter's socket would answer */
	} else {
		snprintf(cw->cw_other, sizeof(cw->cw_other), "%s", cs->cs_text);
		if (cs->cs_group != NULL && w->w_handoff != NULL &&
		    handoff_join(w, cs->cs_group) == -1)
			log_warnx("worker %d: out of memory", w->w_id);
	}
	log_debug("worker %d (pid %ld): listen() on %s (%s)", w->w_id,
	    (long)w->w_pid, cs->cs_text, kind_names[cs->cs_kind]);
}

/* "listening": on porter's port, the app serves from now on. */
static void
cluster_listening(struct worker *w, const struct ipc_msg *m)
{
	struct cluster_worker	*cw = w->w_cluster;
	long long		 port;

	if (cw->cw_port == NULL || cw->cw_listening ||
	    json_int(&m->im_port, &port) == -1 || port != cw->cw_port->cs_port)
		return;
	cw->cw_listening = 1;
	if (cluster_judges(w))
		master_worker_ready(w, READY_LISTENING);
}

/* "close": w closed its server key. */
static void
cluster_close(struct worker *w, const struct ipc_msg *m)
{
	struct cluster_worker	*cw = w->w_cluster;
	char			 key[CLUSTER_KEY_MAX];
	int			 i;

	if (json_str(&m->im_key, key, sizeof(key)) == -1)
		return;
	for (i = 0; i < cw->cw_nservers; i++)
		if (strcmp(cw->cw_servers[i]->cs_key, key) == 0) {
			log_debug("worker %d (pid %ld): closed %s", w->w_id,
			    (long)w->w_pid, cw->cw_servers[i]->cs_text);
			cluster_leave(w, i);
			return;
		}
}

/* A NODE_CLUSTER message from a node worker. */
void
cluster_msg(struct worker *w, const struct ipc_msg *m)
{
	struct cluster_worker	*cw = w->w_cluster;

	if (cw == NULL)
		return;
	switch (m->im_act) {
	case IPC_ACT_QUERYSERVER:
		cluster_query(w, m);
		break;
	case IPC_ACT_LISTENING:
		cluster_listening(w, m);
		break;
	case IPC_ACT_CLOSE:
		cluster_close(w, m);
		break;
	case IPC_ACT_EXITED:
		/* cluster.worker.disconnect() or .kill(): it waits for the
		 * answer, then leaves; it gets a replacement. */
		if (ipc_send_cluster_ack(w->w_chan, m->im_seq) == -1)
			log_warnx("worker %d: cannot answer it", w->w_id);
		cw->cw_disconnecting = 1;
		master_replace(w, "it disconnected itself");
		break;
	case IPC_ACT_NONE:
		/* The answer to a newconn. */
		if (m->im_ack != IPC_ABSENT && m->im_ok != -1)
			handoff_accepted(w, m->im_ack, m->im_ok);
		break;
	default:
		log_debug("worker %d: cluster message %d", w->w_id,
		    (int)m->im_act);
		break;
	}
}

/* Stopping: porter accepts for cluster workers no more. */
void
cluster_stop_accepting(void)
{
	struct cluster_server	*cs;

	TAILQ_FOREACH(cs, &servers, cs_entry)
		if (cs->cs_listener != NULL)
			listener_set_paused(cs->cs_listener, 1);
}

/* /status: the servers cluster workers listen on. */
void
cluster_status(struct evbuffer *b)
{
	struct cluster_server	*cs;
	int			 n = 0;

	evbuffer_add(b, "[", 1);
	TAILQ_FOREACH(cs, &servers, cs_entry) {
		evbuffer_add_printf(b, "%s{\"key\":", n++ ? "," : "");
		status_json_str(b, cs->cs_key);
		evbuffer_add(b, ",\"listen\":", 10);
		status_json_str(b, cs->cs_text);
		evbuffer_add_printf(b, ",\"kind\":\"%s\",\"scheduling\":\"%s\","
		    "\"workers\":%d}", kind_names[cs->cs_kind],
		    cs->cs_kind == CS_FRONT ? (master->m_conf->c_mode ==
		    MODE_HANDOFF ? "round-robin" : "shared") :
		    cs->cs_group != NULL ? "round-robin" : "shared",
		    cs->cs_refs);
	}
	evbuffer_add(b, "]", 1);
}
