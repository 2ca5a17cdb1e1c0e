/*
 * resolve.c: following names in DNS for "upstream ... resolve" lines,
 * with c-ares in the master's libevent loop. A/AAAA records (NAME:PORT
 * resolve), or SRV records and then their targets' addresses (resolve
 * srv), asked again at the records' TTL bounded by resolve_min and
 * resolve_max. A failing resolver changes nothing: the targets found last
 * stay, and the question is asked again, backing off up to resolve_max.
 */
#include "config.h"

#include <sys/queue.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>
#include <event2/event.h>
#include <event2/event_struct.h>

#include "porter.h"

#define RESOLVE_SOCKS		16	/* c-ares's sockets at once */
#define RESOLVE_MAX_SRV		32	/* SRV records per name */
#define RESOLVE_TIMEOUT		1000	/* ms per try of a server */
#define RESOLVE_TRIES		2
#define DNS_CLASS_IN		1
#define DNS_TYPE_SRV		33

/* One question and its sub-questions (the SRV targets' addresses). */
struct rquery {
	struct resolving	*q_res;		/* NULL: nobody waits */
	int			 q_pending;	/* callbacks to come */
	int			 q_failed;
	char			 q_err[80];
	long long		 q_ttl;		/* s, least; -1: none */
	struct resolved		 q_found[RESOLVE_MAX_ADDRS];
	int			 q_n;
};

/* An address lookup of q's, for one SRV target (or the name itself). */
struct rsub {
	struct rquery		*s_q;
	int			 s_port;
	int			 s_weight;
	int			 s_backup;
};

struct resolving {
	LIST_ENTRY(resolving)	 r_entry;
	struct upgroup		*r_group;
	struct event		*r_timer;	/* the next question */
	struct rquery		*r_query;	/* under way, or NULL */
	int			 r_fails;	/* in a row */
	struct log_limit	 r_lim;
};

struct rsock {
	int			 s_fd;		/* -1: a free slot */
	struct event		 s_ev;
};

static LIST_HEAD(, resolving)	 watched = LIST_HEAD_INITIALIZER(watched);
static ares_channel		 channel;
static int			 channel_ok;
static int			 library_ok;
static struct event		*ares_timer;
static struct rsock		 socks[RESOLVE_SOCKS];

static void	resolve_query(struct resolving *);
static void	resolve_rearm(void);

/* When to ask again, in ms: the TTL (s; -1 unknown: max) within bounds. */
int
resolve_next_ms(long long ttl, int min, int max)
{
	long long	ms;

	if (ttl < 0 || ttl > INT_MAX / 1000)
		ms = max;
	else
		ms = ttl * 1000;
	if (ms < min)
		ms = min;
	if (ms > max)
		ms = max;
	return (int)ms;
}

/* Past a name in a DNS message at *off (labels, or a pointer). */
static int
resolve_skip_name(const unsigned char *b, size_t len, size_t *off)
{
	size_t	o = *off;
	int	labels = 0;

	for (;;) {
		if (o >= len)
			return -1;
		if (b[o] == 0) {
			*off = o + 1;
			return 0;
		}
		if ((b[o] & 0xc0) == 0xc0) {
			if (o + 1 >= len)
				return -1;
			*off = o + 2;
			return 0;
		}
		if ((b[o] & 0xc0) != 0 || ++labels > 127)
			return -1;
		o += 1 + (size_t)b[o];
	}
}

/*
 * The least TTL of the SRV records in the answer section of a DNS
 * message (c-ares 1.18 parses SRV records without their TTL). 0, or -1
 * if the message is malformed or holds none.
 */
int
resolve_srv_ttl(const unsigned char *b, size_t len, unsigned int *ttl)
{
	size_t		 off = 12;
	unsigned int	 qd, an, i, type, rdlen, t, best = UINT_MAX;

	if (len < 12)
		return -1;
	qd = (unsigned int)b[4] << 8 | b[5];
	an = (unsigned int)b[6] << 8 | b[7];
	for (i = 0; i < qd; i++) {
		if (resolve_skip_name(b, len, &off) == -1 || off + 4 > len)
			return -1;
		off += 4;
	}
	for (i = 0; i < an; i++) {
		if (resolve_skip_name(b, len, &off) == -1 || off + 10 > len)
			return -1;
		type = (unsigned int)b[off] << 8 | b[off + 1];
		t = (unsigned int)b[off + 4] << 24 |
		    (unsigned int)b[off + 5] << 16 |
		    (unsigned int)b[off + 6] << 8 | b[off + 7];
		rdlen = (unsigned int)b[off + 8] << 8 | b[off + 9];
		off += 10;
		if (off + rdlen > len)
			return -1;
		off += rdlen;
		if (t > 0x7fffffff)
			t = 0;		/* RFC 2181: as if 0 */
		if (type == DNS_TYPE_SRV && t < best)
			best = t;
	}
	if (best == UINT_MAX)
		return -1;
	*ttl = best;
	return 0;
}

/* ---- c-ares in libevent ---- */

static void
resolve_io_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)arg;
	ares_process_fd(channel, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
	    (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	resolve_rearm();
}

static void
resolve_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	resolve_rearm();
}

/* c-ares's next timeout, if a question is under way. */
static void
resolve_rearm(void)
{
	struct timeval	tv, *tvp;

	if (!channel_ok || ares_timer == NULL)
		return;
	if ((tvp = ares_timeout(channel, NULL, &tv)) == NULL)
		evtimer_del(ares_timer);
	else
		evtimer_add(ares_timer, tvp);
}

/* c-ares says what to watch a socket for (nothing: it is closing). */
static void
resolve_sock_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct rsock	*s = NULL;
	int		 i;

	(void)data;
	for (i = 0; i < RESOLVE_SOCKS; i++)
		if (socks[i].s_fd == fd)
			s = &socks[i];
	if (s != NULL)
		event_del(&s->s_ev);
	if (!readable && !writable) {
		if (s != NULL)
			s->s_fd = -1;
		return;
	}
	for (i = 0; s == NULL && i < RESOLVE_SOCKS; i++)
		if (socks[i].s_fd == -1)
			s = &socks[i];
	if (s == NULL) {
		log_warnx("resolve: more than %d sockets; one is not watched "
		    "(its question times out)", RESOLVE_SOCKS);
		return;
	}
	s->s_fd = fd;
	event_assign(&s->s_ev, master->m_base, fd, (short)((readable ?
	    EV_READ : 0) | (writable ? EV_WRITE : 0) | EV_PERSIST),
	    resolve_io_cb, NULL);
	event_add(&s->s_ev, NULL);
}

/* Workers must not inherit c-ares's sockets. */
static int
resolve_sock_configure(ares_socket_t fd, int type, void *data)
{
	(void)type;
	(void)data;
	return fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ? -1 : 0;
}

/* Nobody waits for what is under way any more. */
static void
resolve_abandon(struct resolving *r)
{
	if (r->r_query != NULL) {
		r->r_query->q_res = NULL;
		r->r_query = NULL;
	}
}

static void
resolve_channel_free(void)
{
	struct resolving	*r;
	int			 i;

	if (!channel_ok)
		return;
	LIST_FOREACH(r, &watched, r_entry)
		resolve_abandon(r);
	channel_ok = 0;
	ares_destroy(channel);	/* callbacks: ARES_EDESTRUCTION */
	for (i = 0; i < RESOLVE_SOCKS; i++)
		if (socks[i].s_fd != -1) {
			event_del(&socks[i].s_ev);
			socks[i].s_fd = -1;
		}
	if (ares_timer != NULL)
		evtimer_del(ares_timer);
}

/*
 * A channel with c's resolvers (none: the system's, /etc/resolv.conf
 * and /etc/hosts; with resolver lines, DNS only). Names followed so far
 * are asked again at once, of the new servers. 0, or -1 with *cause.
 */
int
resolve_setup(const struct conf *c, char **cause)
{
	struct ares_options		 o;
	struct ares_addr_port_node	 nodes[RESOLVE_MAX_SERVERS];
	struct resolving		*r;
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	int				 i, mask, rc;

	resolve_channel_free();
	if (!library_ok) {
		if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS)
			goto fail;
		library_ok = 1;
		for (i = 0; i < RESOLVE_SOCKS; i++)
			socks[i].s_fd = -1;
	}
	if (ares_timer == NULL && (ares_timer = evtimer_new(master->m_base,
	    resolve_timer_cb, NULL)) == NULL) {
		rc = ARES_ENOMEM;
		goto fail;
	}
	memset(&o, 0, sizeof(o));
	o.sock_state_cb = resolve_sock_cb;
	o.timeout = RESOLVE_TIMEOUT;
	o.tries = RESOLVE_TRIES;
	mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
	if (c->c_nresolvers > 0) {
		o.lookups = (char *)(uintptr_t)"b";
		mask |= ARES_OPT_LOOKUPS;
	}
	if ((rc = ares_init_options(&channel, &o, mask)) != ARES_SUCCESS)
		goto fail;
	channel_ok = 1;
	ares_set_socket_configure_callback(channel, resolve_sock_configure,
	    NULL);
	if (c->c_nresolvers > 0) {
		memset(nodes, 0, sizeof(nodes));
		for (i = 0; i < c->c_nresolvers; i++) {
			nodes[i].next = i + 1 < c->c_nresolvers ?
			    &nodes[i + 1] : NULL;
			nodes[i].family = c->c_resolvers[i].a_ss.ss_family;
			if (nodes[i].family == AF_INET6) {
				sin6 = (const struct sockaddr_in6 *)
				    &c->c_resolvers[i].a_ss;
				memcpy(&nodes[i].addr.addr6, &sin6->sin6_addr,
				    sizeof(sin6->sin6_addr));
			} else {
				sin = (const struct sockaddr_in *)
				    &c->c_resolvers[i].a_ss;
				memcpy(&nodes[i].addr.addr4, &sin->sin_addr,
				    sizeof(sin->sin_addr));
			}
			nodes[i].udp_port = nodes[i].tcp_port =
			    addr_port(&c->c_resolvers[i]);
		}
		if ((rc = ares_set_servers_ports(channel, nodes)) !=
		    ARES_SUCCESS) {
			resolve_channel_free();
			goto fail;
		}
	}
	LIST_FOREACH(r, &watched, r_entry)
		timer_arm(r->r_timer, 0);
	return 0;

 fail:
	if (asprintf(cause, "resolve: c-ares: %s", ares_strerror(rc)) == -1)
		*cause = NULL;
	return -1;
}

void
resolve_free(void)
{
	struct resolving	*r;

	while ((r = LIST_FIRST(&watched)) != NULL)
		resolve_unwatch(r->r_group);
	resolve_channel_free();
	if (ares_timer != NULL)
		event_free(ares_timer);
	ares_timer = NULL;
	if (library_ok)
		ares_library_cleanup();
	library_ok = 0;
}

/* ---- questions ---- */

/* The whole answer is in (or q failed): r's group follows it. */
static void
resolve_finish(struct resolving *r, struct rquery *q)
{
	struct upgroup		*g = r->r_group;
	const struct conf	*c = master->m_conf;
	uint64_t		 now = clock_ms();
	int			 delay, i;

	if (q->q_failed) {
		r->r_fails++;
		delay = c->c_resolve_min;
		for (i = 1; i < r->r_fails && delay < c->c_resolve_max; i++)
			delay *= 2;
		if (delay > c->c_resolve_max)
			delay = c->c_resolve_max;
		snprintf(g->g_error, sizeof(g->g_error), "%s", q->q_err);
		log_warnx_limit(&r->r_lim, "resolve: %s: %s; keeping the "
		    "targets it had, asking again in %d ms", g->g_line.ul_name,
		    q->q_err, delay);
	} else {
		if (r->r_fails > 0)
			log_info("resolve: %s: the resolver answers again "
			    "(%d address%s)", g->g_line.ul_name, q->q_n,
			    q->q_n == 1 ? "" : "es");
		else if (q->q_n == 0)
			log_warnx_limit(&r->r_lim, "resolve: %s: no address "
			    "in DNS", g->g_line.ul_name);
		r->r_fails = 0;
		g->g_error[0] = '\0';
		g->g_resolved = now;
		delay = resolve_next_ms(q->q_ttl, c->c_resolve_min,
		    c->c_resolve_max);
		log_debug("resolve: %s: %d address%s, TTL %lld s, next in %d "
		    "ms", g->g_line.ul_name, q->q_n, q->q_n == 1 ? "" : "es",
		    q->q_ttl, delay);
		upstream_resolved(g, q->q_found, q->q_n);
	}
	g->g_next = now + (uint64_t)delay;
	timer_arm(r->r_timer, delay);
}

/* A callback of q's is done; the last one finishes it. */
static void
resolve_unref(struct rquery *q)
{
	struct resolving	*r;

	if (--q->q_pending > 0)
		return;
	if ((r = q->q_res) != NULL) {
		r->r_query = NULL;
		resolve_finish(r, q);
	}
	free(q);
}

static void
resolve_fail(struct rquery *q, int status)
{
	if (!q->q_failed)
		snprintf(q->q_err, sizeof(q->q_err), "%s",
		    ares_strerror(status));
	q->q_failed = 1;
}

static void
resolve_ttl(struct rquery *q, long long ttl)
{
	if (ttl < 0)
		ttl = 0;
	if (q->q_ttl == -1 || ttl < q->q_ttl)
		q->q_ttl = ttl;
}

/* One address found: kept once, with s's port, weight and backup. */
static void
resolve_found(struct rquery *q, const struct rsub *s, const struct sockaddr *sa)
{
	struct resolved	 rs;
	int		 i;

	memset(&rs, 0, sizeof(rs));
	if (sa->sa_family == AF_INET) {
		rs.rs_len = sizeof(struct sockaddr_in);
		memcpy(&rs.rs_ss, sa, rs.rs_len);
		((struct sockaddr_in *)&rs.rs_ss)->sin_port =
		    htons((uint16_t)s->s_port);
	} else if (sa->sa_family == AF_INET6) {
		rs.rs_len = sizeof(struct sockaddr_in6);
		memcpy(&rs.rs_ss, sa, rs.rs_len);
		((struct sockaddr_in6 *)&rs.rs_ss)->sin6_port =
		    htons((uint16_t)s->s_port);
	} else
		return;
	rs.rs_weight = s->s_weight;
	rs.rs_backup = s->s_backup;
	for (i = 0; i < q->q_n; i++)
		if (q->q_found[i].rs_len == rs.rs_len &&
		    memcmp(&q->q_found[i].rs_ss, &rs.rs_ss, rs.rs_len) == 0)
			return;
	if (q->q_n == RESOLVE_MAX_ADDRS)
		return;
	q->q_found[q->q_n++] = rs;
}

static void
resolve_addrinfo_cb(void *arg, int status, int timeouts,
    struct ares_addrinfo *res)
{
	struct rsub			*s = arg;
	struct rquery			*q = s->s_q;
	struct ares_addrinfo_node	*n;

	(void)timeouts;
	if (status == ARES_SUCCESS && res != NULL) {
		for (n = res->nodes; n != NULL; n = n->ai_next) {
			resolve_found(q, s, n->ai_addr);
			resolve_ttl(q, n->ai_ttl);
		}
	} else if (status != ARES_ENOTFOUND && status != ARES_ENODATA)
		resolve_fail(q, status);	/* no answer: not "no name" */
	if (res != NULL)
		ares_freeaddrinfo(res);
	free(s);
	resolve_unref(q);
}

/* Ask for host's addresses, for q. */
static void
resolve_addrinfo(struct rquery *q, const char *host, int port, int weight,
    int backup)
{
	struct ares_addrinfo_hints	 hints;
	struct rsub			*s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		resolve_fail(q, ARES_ENOMEM);
		return;
	}
	s->s_q = q;
	s->s_port = port;
	s->s_weight = weight;
	s->s_backup = backup;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	q->q_pending++;
	ares_getaddrinfo(channel, host, NULL, &hints, resolve_addrinfo_cb, s);
}

/*
 * The SRV records: each target's addresses next. Those of the lowest
 * priority are the primary targets, the others backups (and all are,
 * on a backup line); a record of weight 0 weighs 1.
 */
static void
resolve_srv_cb(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct rquery		*q = arg;
	struct ares_srv_reply	*srv = NULL, *p;
	unsigned int		 ttl;
	int			 minprio = 65536, n = 0, backup;

	(void)timeouts;
	if (status == ARES_SUCCESS && q->q_res != NULL) {
		status = ares_parse_srv_reply(abuf, alen, &srv);
		if (status == ARES_SUCCESS && resolve_srv_ttl(abuf,
		    (size_t)alen, &ttl) == 0)
			resolve_ttl(q, ttl);
	}
	if (status == ARES_SUCCESS) {
		backup = q->q_res != NULL &&
		    q->q_res->r_group->g_line.ul_backup;
		for (p = srv; p != NULL; p = p->next)
			if (p->priority < minprio)
				minprio = p->priority;
		for (p = srv; p != NULL && n < RESOLVE_MAX_SRV; p = p->next) {
			if (p->host == NULL || p->host[0] == '\0' ||
			    strcmp(p->host, ".") == 0)
				continue;	/* "not offered here" */
			resolve_addrinfo(q, p->host, p->port,
			    p->weight > 0 ? p->weight : 1,
			    backup || p->priority > minprio);
			n++;
		}
	} else if (status != ARES_ENOTFOUND && status != ARES_ENODATA)
		resolve_fail(q, status);
	if (srv != NULL)
		ares_free_data(srv);
	resolve_unref(q);
}

/* Ask r's question now. */
static void
resolve_query(struct resolving *r)
{
	const struct upstream_line	*ul = &r->r_group->g_line;
	struct rquery			*q;

	if (r->r_query != NULL)
		return;		/* the last one is still under way */
	if (!channel_ok) {
		log_warnx_limit(&r->r_lim, "resolve: %s: no resolver",
		    ul->ul_name);
		timer_arm(r->r_timer, master->m_conf->c_resolve_max);
		return;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		log_warnx("resolve: %s: out of memory", ul->ul_name);
		timer_arm(r->r_timer, master->m_conf->c_resolve_max);
		return;
	}
	q->q_res = r;
	q->q_ttl = -1;
	q->q_pending = 1;	/* until every question is asked */
	r->r_query = q;
	if (ul->ul_kind == UPSTREAM_SRV) {
		q->q_pending++;
		ares_query(channel, ul->ul_host, DNS_CLASS_IN, DNS_TYPE_SRV,
		    resolve_srv_cb, q);
	} else
		resolve_addrinfo(q, ul->ul_host, ul->ul_port, ul->ul_weight,
		    ul->ul_backup);
	resolve_unref(q);
	resolve_rearm();
}

static void
resolve_watch_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	resolve_query(arg);
}

/* Follow g's name from now on (asked at once). */
int
resolve_watch(struct upgroup *g)
{
	struct resolving	*r;
	char			*cause = NULL;

	if (!channel_ok && resolve_setup(master->m_conf, &cause) == -1) {
		log_warnx("%s", cause ? cause : "resolve: cannot start");
		free(cause);
		return -1;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->r_timer = evtimer_new(master->m_base, resolve_watch_cb, r)) ==
	    NULL) {
		free(r);
		log_warnx("resolve: %s: out of memory", g->g_line.ul_name);
		return -1;
	}
	r->r_group = g;
	g->g_res = r;
	LIST_INSERT_HEAD(&watched, r, r_entry);
	timer_arm(r->r_timer, 0);
	return 0;
}

void
resolve_unwatch(struct upgroup *g)
{
	struct resolving	*r = g->g_res;

	if (r == NULL)
		return;
	resolve_abandon(r);
	event_free(r->r_timer);
	LIST_REMOVE(r, r_entry);
	free(r);
	g->g_res = NULL;
}
