/*
 * upstream.c: the targets proxy mode relays to: the local workers and the
 * remote backends of the upstream lines (an address, or what DNS says a
 * name is: resolve.c), each with a weight, a health (health.c) and an
 * admin state (ready, drain, maint) that the control socket may change.
 * The relay asks here for the next target and reports every connection
 * event back. Main thread only: the relay threads never see a target.
 */
#include "config.h"

#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "porter.h"

#define UPSTREAM_MAX_LINES	256

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

TAILQ_HEAD(target_list, target);
TAILQ_HEAD(upgroup_list, upgroup);

static struct target_list	targets = TAILQ_HEAD_INITIALIZER(targets);
static struct upgroup_list	groups = TAILQ_HEAD_INITIALIZER(groups);
static int			ntargets;	/* remote, gone ones too */
static uint64_t			target_serial;
static struct log_limit		recover_lim;
static struct event		*kick_ev;	/* relay_kick, later */

static const char *admin_names[] = { "ready", "drain", "maint" };
static const char *kind_names[] = { "static", "resolve", "srv" };

static void	upstream_target_free(struct target *);

const char *
upstream_admin_name(enum target_admin a)
{
	return admin_names[a];
}

static int
upstream_err(char **msg, const char *fmt, ...) __printflike(2, 3);

static int
upstream_err(char **msg, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	free(*msg);
	if (vasprintf(msg, fmt, ap) == -1)
		*msg = NULL;
	va_end(ap);
	return -1;
}

/* ---- the conf ---- */

void
upstream_conf_init(struct conf *c)
{
	c->c_health.hc_kind = HEALTH_NONE;
	c->c_health.hc_interval = 2000;		/* HAProxy's inter 2s */
	c->c_health.hc_rise = 2;
	c->c_health.hc_fall = 3;
	c->c_health.hc_timeout = 0;		/* the interval */
	c->c_health.hc_max_fails = 1;		/* nginx's */
	c->c_health.hc_fail_timeout = 10000;
	c->c_resolve_min = 1000;
	c->c_resolve_max = 30000;
}

void
upstream_conf_free(struct conf *c)
{
	free(c->c_upstreams);
	free(c->c_health.hc_path);
	free(c->c_control);
}

static int
upstream_number(const char *kw, const char *s, long min, long max, int *out,
    char **msg)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
		return upstream_err(msg, "%s: \"%s\" is not a number from %ld "
		    "to %ld", kw, s, min, max);
	*out = (int)v;
	return 0;
}

static int
upstream_duration(const char *kw, const char *s, int min, int *out,
    char **msg)
{
	int	ms;

	if (conf_parse_duration(s, &ms) == -1)
		return upstream_err(msg, "%s: bad duration \"%s\" (expected "
		    "e.g. 500ms, 2s)", kw, s);
	if (ms < min)
		return upstream_err(msg, "%s: %s is less than %d ms", kw, s,
		    min);
	*out = ms;
	return 0;
}

/*
 * A DNS name: labels of letters, digits, '-' and '_' (SRV's _service
 * labels), 1 to 63 bytes each, 253 in all, a final dot allowed.
 */
static int
upstream_hostname(const char *s)
{
	size_t	len = strlen(s), label = 0, i;

	if (len == 0 || len > 253 || s[0] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0 && i + 1 < len)
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_')
			return 0;
		if (++label > 63)
			return 0;
	}
	return 1;
}

/* Whether s is an IPv4 or IPv6 literal (no brackets). */
static int
upstream_literal(const char *s)
{
	struct in6_addr	a;

	return inet_pton(AF_INET, s, &a) == 1 || inet_pton(AF_INET6, s, &a) ==
	    1;
}

/* "HOST:PORT" or "[V6]:PORT" into host and port. */
static int
upstream_split(const char *s, char *host, size_t size, int *port)
{
	const char	*colon, *p;
	char		*end;
	size_t		 hlen;
	long		 v;

	if (s[0] == '[') {
		if ((colon = strstr(s, "]:")) == NULL)
			return -1;
		hlen = (size_t)(colon - s - 1);
		p = colon + 2;
		s++;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return -1;
		hlen = (size_t)(colon - s);
		if (memchr(s, ':', hlen) != NULL)
			return -1;	/* bare IPv6 needs brackets */
		p = colon + 1;
	}
	if (hlen == 0 || hlen >= size)
		return -1;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	errno = 0;
	v = strtol(p, &end, 10);
	if (*p == '\0' || *end != '\0' || errno != 0 || v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

/*
 * The words of an upstream line after the keyword: ADDR [weight N]
 * [backup] [resolve [srv]]. numeric: a name must come with resolve (the
 * control socket's: porter never waits on DNS in its loop). 0, or -1
 * with *msg.
 */
int
upstream_parse(int argc, char **argv, int numeric, struct upstream_line *ul,
    char **msg)
{
	const char	*name = argv[0];
	int		 i, resolve = 0, srv = 0, backup = 0;

	memset(ul, 0, sizeof(*ul));
	ul->ul_weight = -1;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "weight") == 0) {
			if (ul->ul_weight != -1)
				return upstream_err(msg, "upstream: weight "
				    "given twice");
			if (++i == argc)
				return upstream_err(msg, "upstream: weight "
				    "needs a number");
			if (upstream_number("upstream: weight", argv[i], 0,
			    65535, &ul->ul_weight, msg) == -1)
				return -1;
		} else if (strcmp(argv[i], "backup") == 0) {
			if (backup++)
				return upstream_err(msg, "upstream: backup "
				    "given twice");
		} else if (strcmp(argv[i], "resolve") == 0) {
			if (resolve++)
				return upstream_err(msg, "upstream: resolve "
				    "given twice");
			if (i + 1 < argc && strcmp(argv[i + 1], "srv") == 0) {
				srv = 1;
				i++;
			}
		} else
			return upstream_err(msg, "upstream: unknown option "
			    "\"%s\" (expected weight N, backup, resolve or "
			    "resolve srv)", argv[i]);
	}
	ul->ul_backup = backup;
	if (strlen(name) >= sizeof(ul->ul_name))
		return upstream_err(msg, "upstream: name too long");
	snprintf(ul->ul_name, sizeof(ul->ul_name), "%s", name);
	if (srv) {
		if (ul->ul_weight != -1)
			return upstream_err(msg, "upstream: resolve srv takes "
			    "the weights from the SRV records: drop weight");
		if (strchr(name, ':') != NULL || !upstream_hostname(name) ||
		    name[0] != '_')
			return upstream_err(msg, "upstream: resolve srv needs "
			    "an SRV name such as _http._tcp.example.com, not "
			    "\"%s\"", name);
		ul->ul_kind = UPSTREAM_SRV;
		snprintf(ul->ul_host, sizeof(ul->ul_host), "%s", name);
		return 0;
	}
	if (ul->ul_weight == -1)
		ul->ul_weight = 1;
	if (upstream_split(name, ul->ul_host, sizeof(ul->ul_host),
	    &ul->ul_port) == -1)
		return upstream_err(msg, "upstream: bad address \"%s\" "
		    "(expected HOST:PORT)", name);
	if (!upstream_literal(ul->ul_host) && !upstream_hostname(ul->ul_host))
		return upstream_err(msg, "upstream: bad host name \"%s\"",
		    ul->ul_host);
	if (resolve) {
		ul->ul_kind = UPSTREAM_RESOLVE;
		return 0;
	}
	if (numeric && !upstream_literal(ul->ul_host))
		return upstream_err(msg, "upstream: \"%s\" is a name: add "
		    "resolve (porter does not wait on DNS while it runs)",
		    name);
	ul->ul_kind = UPSTREAM_STATIC;
	if (conf_parse_addr(name, &ul->ul_addr, 0) == -1)
		return upstream_err(msg, "upstream: cannot resolve \"%s\" "
		    "(or add resolve to follow it in DNS)", name);
	if ((ul->ul_addr.a_ss.ss_family == AF_INET &&
	    ((struct sockaddr_in *)&ul->ul_addr.a_ss)->sin_addr.s_addr ==
	    htonl(INADDR_ANY)) || (ul->ul_addr.a_ss.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)
	    &ul->ul_addr.a_ss)->sin6_addr)))
		return upstream_err(msg, "upstream: %s is no one's address",
		    name);
	return 0;
}

/* Whether a and b name the same upstream (the same line twice). */
static int
upstream_same_line(const struct upstream_line *a,
    const struct upstream_line *b)
{
	if (a->ul_kind != b->ul_kind)
		return 0;
	if (a->ul_kind == UPSTREAM_STATIC)
		return addr_eq(&a->ul_addr, &b->ul_addr);
	return a->ul_port == b->ul_port &&
	    strcasecmp(a->ul_host, b->ul_host) == 0;
}

/* health_check tcp | http PATH [interval D] [rise N] [fall N]
 * [timeout D] | off */
static int
upstream_conf_health(struct conf *c, int argc, char **argv, char **msg)
{
	struct health_conf	 hc = c->c_health;
	const char		*p;
	int			 i = 2;

	hc.hc_path = NULL;
	if (strcmp(argv[1], "off") == 0) {
		if (argc > 2)
			return upstream_err(msg, "health_check: off takes "
			    "nothing after it");
		hc.hc_kind = HEALTH_NONE;
	} else if (strcmp(argv[1], "tcp") == 0)
		hc.hc_kind = HEALTH_TCP;
	else if (strcmp(argv[1], "http") == 0) {
		hc.hc_kind = HEALTH_HTTP;
		if (argc < 3 || argv[2][0] != '/')
			return upstream_err(msg, "health_check: http needs a "
			    "PATH starting with /, e.g. health_check http "
			    "/healthz");
		for (p = argv[2]; *p != '\0'; p++)
			if ((unsigned char)*p <= ' ' || *p == 0x7f)
				return upstream_err(msg, "health_check: http: "
				    "blank or control character in the PATH");
		if (strlen(argv[2]) > 1024)
			return upstream_err(msg, "health_check: http: the "
			    "PATH is longer than 1024 bytes");
		i = 3;
	} else
		return upstream_err(msg, "health_check: expected tcp, http "
		    "PATH or off, not \"%s\"", argv[1]);
	for (; i < argc; i += 2) {
		if (i + 1 == argc)
			return upstream_err(msg, "health_check: %s needs a "
			    "value", argv[i]);
		if (strcmp(argv[i], "interval") == 0) {
			if (upstream_duration("health_check: interval",
			    argv[i + 1], 100, &hc.hc_interval, msg) == -1)
				return -1;
		} else if (strcmp(argv[i], "timeout") == 0) {
			if (upstream_duration("health_check: timeout",
			    argv[i + 1], 10, &hc.hc_timeout, msg) == -1)
				return -1;
		} else if (strcmp(argv[i], "rise") == 0) {
			if (upstream_number("health_check: rise", argv[i + 1],
			    1, 100, &hc.hc_rise, msg) == -1)
				return -1;
		} else if (strcmp(argv[i], "fall") == 0) {
			if (upstream_number("health_check: fall", argv[i + 1],
			    1, 100, &hc.hc_fall, msg) == -1)
				return -1;
		} else
			return upstream_err(msg, "health_check: unknown option "
			    "\"%s\" (expected interval, rise, fall or "
			    "timeout)", argv[i]);
	}
	if (hc.hc_kind == HEALTH_HTTP && (hc.hc_path = strdup(argv[2])) ==
	    NULL)
		return upstream_err(msg, "out of memory");
	free(c->c_health.hc_path);
	c->c_health = hc;
	return 0;
}

/* resolver ADDR[:PORT]: an IP address (port 53 if none). */
static int
upstream_conf_resolver(struct conf *c, const char *s, char **msg)
{
	struct addr	*a;
	char		 host[UPSTREAM_NAME_MAX];
	char		 buf[UPSTREAM_NAME_MAX + 8];
	int		 port;

	if (c->c_nresolvers == RESOLVE_MAX_SERVERS)
		return upstream_err(msg, "resolver: at most %d",
		    RESOLVE_MAX_SERVERS);
	if (upstream_split(s, host, sizeof(host), &port) == -1) {
		if (strlen(s) >= sizeof(host))
			return upstream_err(msg, "resolver: bad address");
		snprintf(host, sizeof(host), "%s", s);
		port = 53;
	}
	if (!upstream_literal(host))
		return upstream_err(msg, "resolver: expected an IP address "
		    "and maybe :PORT, not \"%s\"", s);
	snprintf(buf, sizeof(buf), strchr(host, ':') ? "[%s]:%d" : "%s:%d",
	    host, port);
	a = &c->c_resolvers[c->c_nresolvers];
	if (conf_parse_addr(buf, a, 0) == -1)
		return upstream_err(msg, "resolver: bad address \"%s\"", s);
	c->c_nresolvers++;
	return 0;
}

/*
 * The directives of this file and its helpers (upstream, health_check,
 * max_fails, fail_timeout, resolver, resolve_min, resolve_max, control):
 * argv[0] is the keyword. 0, or -1 with *msg.
 */
int
upstream_conf_line(struct conf *c, int argc, char **argv, int line,
    char **msg)
{
	struct upstream_line	ul, *n;
	const char		*kw = argv[0];
	int			i;

	if (strcmp(kw, "upstream") == 0) {
		if (upstream_parse(argc - 1, argv + 1, 0, &ul, msg) == -1)
			return -1;
		ul.ul_line = line;
		for (i = 0; i < c->c_nupstreams; i++)
			if (upstream_same_line(&c->c_upstreams[i], &ul))
				return upstream_err(msg, "upstream: %s given "
				    "twice (line %d)", ul.ul_name,
				    c->c_upstreams[i].ul_line);
		if (c->c_nupstreams == UPSTREAM_MAX_LINES)
			return upstream_err(msg, "upstream: at most %d lines",
			    UPSTREAM_MAX_LINES);
		if ((n = realloc(c->c_upstreams, sizeof(*n) *
		    (size_t)(c->c_nupstreams + 1))) == NULL)
			return upstream_err(msg, "out of memory");
		c->c_upstreams = n;
		c->c_upstreams[c->c_nupstreams++] = ul;
		return 0;
	}
	if (strcmp(kw, "health_check") == 0)
		return upstream_conf_health(c, argc, argv, msg);
	if (strcmp(kw, "max_fails") == 0)
		return upstream_number(kw, argv[1], 0, 1000,
		    &c->c_health.hc_max_fails, msg);
	if (strcmp(kw, "fail_timeout") == 0)
		return upstream_duration(kw, argv[1], 1,
		    &c->c_health.hc_fail_timeout, msg);
	if (strcmp(kw, "resolver") == 0)
		return upstream_conf_resolver(c, argv[1], msg);
	if (strcmp(kw, "resolve_min") == 0)
		return upstream_duration(kw, argv[1], 100, &c->c_resolve_min,
		    msg);
	if (strcmp(kw, "resolve_max") == 0)
		return upstream_duration(kw, argv[1], 100, &c->c_resolve_max,
		    msg);
	if (strcmp(kw, "control") == 0) {
		char	*p = NULL;

		if (strcmp(argv[1], "off") != 0) {
			if (argv[1][0] == '\0' || strlen(argv[1]) >= 100)
				return upstream_err(msg, "control: the path "
				    "must have 1 to 99 bytes");
			if ((p = strdup(argv[1])) == NULL)
				return upstream_err(msg, "out of memory");
		}
		free(c->c_control);
		c->c_control = p;
		return 0;
	}
	return upstream_err(msg, "%s: not an upstream directive", kw);
}

/* What no single line can judge; *line: where to blame. */
int
upstream_conf_check(const struct conf *c, int *line, char **msg)
{
	if (c->c_nupstreams > 0 && c->c_mode != MODE_PROXY) {
		*line = c->c_upstreams[0].ul_line;
		return upstream_err(msg, "upstream needs mode proxy (mode is "
		    "%s: there the workers take the clients themselves)",
		    conf_mode_name(c->c_mode));
	}
	return 0;
}

/* ---- targets ---- */

const struct addr *
upstream_addr(const struct target *t)
{
	return t->t_worker != NULL ? &t->t_worker->w_addr : &t->t_addr;
}

int
upstream_proxy_protocol(const struct target *t)
{
	if (t->t_worker != NULL)
		return t->t_worker->w_conf->c_proxy_protocol;
	return master->m_conf->c_proxy_protocol;
}

/* Where the first check goes: somewhere in the first interval, so that
 * many targets are not all checked at once. */
static int
upstream_first_check(void)
{
	int	iv = master->m_conf->c_health.hc_interval;

	return iv > 1 ? (int)(random() % iv) : 0;
}

static void
upstream_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	relay_kick();
}

/*
 * A target may take clients now: the waiting ones are given to it from
 * the loop, not from here (this may run inside relay_connect, whose
 * caller walks the relays).
 */
static void
upstream_kick(void)
{
	if (kick_ev == NULL && (kick_ev = evtimer_new(master->m_base,
	    upstream_kick_cb, NULL)) == NULL) {
		log_warnx("upstream: out of memory");
		return;
	}
	if (!evtimer_pending(kick_ev, NULL))
		timer_arm(kick_ev, 0);
}

/* The one door to a target's health: logs old -> new. */
static void
upstream_set_health(struct target *t, enum health_state s, const char *why)
{
	enum health_state	old = t->t_health.h_state;

	if (old == s)
		return;
	t->t_health.h_state = s;
	if (s == HEALTH_DOWN)
		log_warnx_limit(&t->t_lim, "upstream: %s: up -> down (%s)",
		    t->t_name, why);
	else {
		log_info("upstream: %s: down -> up (%s)", t->t_name, why);
		upstream_kick();
	}
}

/* The one door to the admin state: logs old -> new. */
int
upstream_set_admin(struct target *t, enum target_admin a, const char *why)
{
	enum target_admin	old = t->t_admin;

	if (old == a)
		return 0;
	log_info("upstream: %s: %s -> %s (%s)", t->t_name, admin_names[old],
	    admin_names[a], why);
	t->t_admin = a;
	if (a == TARGET_MAINT)
		health_probe_stop(t);
	else if (old == TARGET_MAINT) {
		/* Out of maintenance: as new, checked at once. */
		health_reset(&t->t_health);
		if (master->m_conf->c_health.hc_kind != HEALTH_NONE)
			health_probe_start(t, 0);
	}
	if (a == TARGET_READY)
		upstream_kick();
	return 0;
}

int
upstream_set_weight(struct target *t, int weight, const char *why)
{
	int	old = t->t_weight;

	if (old == weight)
		return 0;
	log_info("upstream: %s: weight %d -> %d (%s)", t->t_name, old, weight,
	    why);
	t->t_weight = weight;
	t->t_cw = 0;
	if (old == 0)
		upstream_kick();
	return 0;
}

static struct target *
upstream_target_new(struct upgroup *g, const struct sockaddr *sa,
    socklen_t len, int weight, int backup)
{
	struct target	*t;

	if (ntargets >= UPSTREAM_MAX_TARGETS || len >
	    sizeof(t->t_addr.a_ss)) {
		log_warnx("upstream: %s: more than %d targets; not adding "
		    "more", g->g_line.ul_name, UPSTREAM_MAX_TARGETS);
		return NULL;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		log_warnx("upstream: %s: out of memory", g->g_line.ul_name);
		return NULL;
	}
	t->t_serial = ++target_serial;
	t->t_group = g;
	memcpy(&t->t_addr.a_ss, sa, len);
	t->t_addr.a_len = len;
	addr_text(&t->t_addr, t->t_name, sizeof(t->t_name));
	snprintf(t->t_addr.a_text, sizeof(t->t_addr.a_text), "%s", t->t_name);
	t->t_weight = t->t_base_weight = weight;
	t->t_backup = backup;
	health_reset(&t->t_health);
	TAILQ_INSERT_TAIL(&targets, t, t_entry);
	ntargets++;
	if (master->m_conf->c_health.hc_kind != HEALTH_NONE)
		health_probe_start(t, upstream_first_check());
	log_info("upstream: %s: new target%s%s, weight %d%s", t->t_name,
	    g->g_line.ul_kind == UPSTREAM_STATIC ? "" : " from ",
	    g->g_line.ul_kind == UPSTREAM_STATIC ? "" : g->g_line.ul_name,
	    weight, backup ? ", backup" : "");
	upstream_kick();
	return t;
}

static void
upstream_target_free(struct target *t)
{
	health_probe_stop(t);
	TAILQ_REMOVE(&targets, t, t_entry);
	ntargets--;
	free(t);
}

/* Out of the rotation: its live connections finish, then it goes. */
static void
upstream_target_remove(struct target *t, const char *why)
{
	if (t->t_gone)
		return;
	log_info("upstream: %s: removed (%s)%s", t->t_name, why,
	    t->t_active > 0 ? "; its live connections finish" : "");
	t->t_gone = 1;
	t->t_group = NULL;
	health_probe_stop(t);
	if (t->t_holds == 0)
		upstream_target_free(t);
}

/* A removed target at the same address comes back, into g. */
static void
upstream_target_revive(struct target *t, struct upgroup *g, int weight,
    int backup)
{
	log_info("upstream: %s: back (%s)", t->t_name, g->g_line.ul_name);
	t->t_gone = 0;
	t->t_group = g;
	t->t_admin = TARGET_READY;
	t->t_runtime = 0;
	t->t_weight = t->t_base_weight = weight;
	t->t_backup = backup;
	t->t_cw = 0;
	if (master->m_conf->c_health.hc_kind != HEALTH_NONE)
		health_probe_start(t, 0);
	upstream_kick();
}

static int
upstream_rs_eq(const struct target *t, const struct resolved *rs)
{
	struct addr	a;

	memset(&a, 0, sizeof(a));
	if (rs->rs_len > sizeof(a.a_ss))
		return 0;
	memcpy(&a.a_ss, &rs->rs_ss, rs->rs_len);
	a.a_len = rs->rs_len;
	return addr_eq(&t->t_addr, &a);
}

/* The remote target at address a, gone ones too; or NULL. */
static struct target *
upstream_target_at(const struct sockaddr *sa, socklen_t len)
{
	struct target	*t;
	struct addr	 a;

	memset(&a, 0, sizeof(a));
	if (len > sizeof(a.a_ss))
		return NULL;
	memcpy(&a.a_ss, sa, len);
	a.a_len = len;
	TAILQ_FOREACH(t, &targets, t_entry)
		if (addr_eq(&t->t_addr, &a))
			return t;
	return NULL;
}

/*
 * A name's answer came (resolve.c): the group's targets become what it
 * found. New ones are added, those that went are drained; one found
 * again keeps its counters, health and runtime settings.
 */
void
upstream_resolved(struct upgroup *g, const struct resolved *rs, int n)
{
	struct target	*t, *next;
	int		 i, added = 0, gone = 0;

	TAILQ_FOREACH_SAFE(t, &targets, t_entry, next) {
		if (t->t_group != g || t->t_gone)
			continue;
		for (i = 0; i < n; i++)
			if (upstream_rs_eq(t, &rs[i]))
				break;
		if (i == n) {
			upstream_target_remove(t, "no longer in DNS");
			gone++;
		}
	}
	for (i = 0; i < n; i++) {
		t = upstream_target_at((const struct sockaddr *)&rs[i].rs_ss,
		    rs[i].rs_len);
		if (t != NULL && t->t_gone && t->t_group == NULL) {
			/* Back while its last connections finish. */
			upstream_target_revive(t, g, rs[i].rs_weight,
			    rs[i].rs_backup);
			added++;
		} else if (t != NULL && t->t_group != g) {
			log_debug("upstream: %s: %s has it already",
			    g->g_line.ul_name, t->t_group != NULL ?
			    t->t_group->g_line.ul_name : "a runtime line");
			continue;
		} else if (t != NULL) {
			t->t_backup = rs[i].rs_backup;
			if (t->t_base_weight != rs[i].rs_weight) {
				t->t_base_weight = rs[i].rs_weight;
				if (!t->t_runtime)
					upstream_set_weight(t, rs[i].rs_weight,
					    "DNS");
			}
		} else if (upstream_target_new(g, (const struct sockaddr *)
		    &rs[i].rs_ss, rs[i].rs_len, rs[i].rs_weight,
		    rs[i].rs_backup) != NULL)
			added++;
	}
	if (added > 0 || gone > 0)
		log_info("upstream: %s: %d target%s added, %d removed",
		    g->g_line.ul_name, added, added == 1 ? "" : "s", gone);
}

/* ---- upstream lines (groups) ---- */

static struct upgroup *
upstream_group_new(const struct upstream_line *ul, int runtime)
{
	struct upgroup	*g;
	struct target	*t;

	if ((g = calloc(1, sizeof(*g))) == NULL) {
		log_warnx("upstream: %s: out of memory", ul->ul_name);
		return NULL;
	}
	g->g_line = *ul;
	g->g_runtime = runtime;
	TAILQ_INSERT_TAIL(&groups, g, g_entry);
	if (ul->ul_kind == UPSTREAM_STATIC) {
		t = upstream_target_at((const struct sockaddr *)
		    &ul->ul_addr.a_ss, ul->ul_addr.a_len);
		if (t != NULL && t->t_gone)
			upstream_target_revive(t, g, ul->ul_weight,
			    ul->ul_backup);
		else if (t != NULL)
			log_warnx("upstream: %s: %s has it already; ignored",
			    ul->ul_name, t->t_group != NULL ?
			    t->t_group->g_line.ul_name : "another line");
		else
			(void)upstream_target_new(g, (const struct sockaddr *)
			    &ul->ul_addr.a_ss, ul->ul_addr.a_len,
			    ul->ul_weight, ul->ul_backup);
		return g;
	}
	if (resolve_watch(g) == -1)
		log_warnx("upstream: %s: cannot resolve it (see above); no "
		    "targets from it", ul->ul_name);
	return g;
}

static void
upstream_group_free(struct upgroup *g, const char *why)
{
	struct target	*t, *next;

	resolve_unwatch(g);
	TAILQ_FOREACH_SAFE(t, &targets, t_entry, next)
		if (t->t_group == g)
			upstream_target_remove(t, why);
	TAILQ_REMOVE(&groups, g, g_entry);
	free(g);
}

static int
upstream_group_count(const struct upgroup *g)
{
	const struct target	*t;
	int			 n = 0;

	TAILQ_FOREACH(t, &targets, t_entry)
		if (t->t_group == g && !t->t_gone)
			n++;
	return n;
}

/* ---- the master's ---- */

/* At start: the conf's upstream lines, the control socket. */
int
upstream_start(char **cause)
{
	struct conf	*c = master->m_conf;
	int		 i;

	srandom((unsigned int)(clock_ms() ^ (uint64_t)getpid()));
	for (i = 0; i < c->c_nupstreams; i++)
		(void)upstream_group_new(&c->c_upstreams[i], 0);
	if (c->c_nupstreams > 0)
		log_info("upstream: %d upstream line%s, %d target%s so far "
		    "(names in DNS: as they answer); health checks %s",
		    c->c_nupstreams, c->c_nupstreams == 1 ? "" : "s", ntargets,
		    ntargets == 1 ? "" : "s", c->c_health.hc_kind ==
		    HEALTH_NONE ? "off" : c->c_health.hc_kind == HEALTH_TCP ?
		    "tcp" : "http");
	if (c->c_control != NULL && control_start(c->c_control, cause) == -1)
		return -1;
	return 0;
}

/*
 * A reload took over: back to the conf file's truth. Lines still there
 * keep their targets (counters, health), with the weights and states the
 * file gives; lines gone are drained; new ones start.
 */
void
upstream_reload(struct conf *oc, struct conf *nc)
{
	struct upgroup	*g, *next;
	struct target	*t, *tn;
	char		*cause = NULL;
	unsigned char	 seen[UPSTREAM_MAX_LINES];
	int		 i, checks;

	memset(seen, 0, sizeof(seen));
	TAILQ_FOREACH_SAFE(g, &groups, g_entry, next) {
		for (i = 0; i < nc->c_nupstreams; i++)
			if (!seen[i] && upstream_same_line(&g->g_line,
			    &nc->c_upstreams[i]))
				break;
		if (i == nc->c_nupstreams) {
			upstream_group_free(g, "not in the conf any more");
			continue;
		}
		seen[i] = 1;
		g->g_line = nc->c_upstreams[i];
		g->g_runtime = 0;
		TAILQ_FOREACH(t, &targets, t_entry) {
			if (t->t_group != g)
				continue;
			if (g->g_line.ul_kind != UPSTREAM_SRV) {
				t->t_base_weight = g->g_line.ul_weight;
				t->t_backup = g->g_line.ul_backup;
			}
			upstream_set_weight(t, t->t_base_weight, "reload");
			upstream_set_admin(t, TARGET_READY, "reload");
			t->t_runtime = 0;
		}
	}
	/* Checks: restarted when they change. */
	checks = oc->c_health.hc_kind != nc->c_health.hc_kind ||
	    oc->c_health.hc_interval != nc->c_health.hc_interval;
	if (nc->c_nresolvers != oc->c_nresolvers || memcmp(nc->c_resolvers,
	    oc->c_resolvers, sizeof(nc->c_resolvers)) != 0) {
		if (resolve_setup(nc, &cause) == -1) {
			log_warnx("reload: %s", cause);
			free(cause);
			cause = NULL;
		}
	}
	for (i = 0; i < nc->c_nupstreams; i++)
		if (!seen[i])
			(void)upstream_group_new(&nc->c_upstreams[i], 0);
	if (checks) {
		TAILQ_FOREACH_SAFE(t, &targets, t_entry, tn) {
			if (t->t_gone || t->t_admin == TARGET_MAINT)
				continue;
			if (nc->c_health.hc_kind == HEALTH_NONE)
				health_probe_stop(t);
			else
				health_probe_start(t, upstream_first_check());
		}
		for (i = 0; i < master->m_nworkers; i++) {
			t = master->m_workers[i]->w_target;
			if (t == NULL || master->m_workers[i]->w_mode !=
			    MODE_PROXY)
				continue;
			if (nc->c_health.hc_kind == HEALTH_NONE)
				health_probe_stop(t);
			else if (master->m_workers[i]->w_state == WS_READY)
				health_probe_start(t, upstream_first_check());
		}
	}
	if ((oc->c_control == NULL) != (nc->c_control == NULL) ||
	    (oc->c_control != NULL && strcmp(oc->c_control, nc->c_control) !=
	    0)) {
		control_stop();
		if (nc->c_control != NULL && control_start(nc->c_control,
		    &cause) == -1) {
			log_warnx("reload: control: %s", cause);
			free(cause);
		}
	}
	upstream_kick();
}

void
upstream_stop(void)
{
	struct upgroup	*g;
	struct target	*t;

	control_stop();
	while ((g = TAILQ_FIRST(&groups)) != NULL) {
		resolve_unwatch(g);
		TAILQ_REMOVE(&groups, g, g_entry);
		free(g);
	}
	while ((t = TAILQ_FIRST(&targets)) != NULL)
		upstream_target_free(t);
	resolve_free();
	if (kick_ev != NULL)
		event_free(kick_ev);
	kick_ev = NULL;
}

/* ---- local workers ---- */

int
upstream_worker_new(struct worker *w)
{
	struct target	*t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	t->t_serial = ++target_serial;
	t->t_worker = w;
	snprintf(t->t_name, sizeof(t->t_name), "worker %d", w->w_id);
	t->t_weight = t->t_base_weight = 1;
	health_reset(&t->t_health);
	w->w_target = t;
	return 0;
}

/* A new process of w is ready: a fresh health, checked from now on. */
void
upstream_worker_ready(struct worker *w)
{
	struct target	*t = w->w_target;

	if (t == NULL || w->w_mode != MODE_PROXY)
		return;
	t->t_health.h_run = 0;
	t->t_health.h_nfails = 0;
	t->t_health.h_passive = 0;
	upstream_set_health(t, HEALTH_UP, "a new process is ready");
	if (master->m_conf->c_health.hc_kind != HEALTH_NONE)
		health_probe_start(t, master->m_conf->c_health.hc_interval);
}

void
upstream_worker_free(struct worker *w)
{
	if (w->w_target == NULL)
		return;
	health_probe_stop(w->w_target);
	free(w->w_target);
	w->w_target = NULL;
}

/* ---- balancing ---- */

struct upstream_pick_arg {
	const uint64_t	*tried;
	int		 ntried;
};

static int
upstream_usable(const struct target *t, void *arg)
{
	const struct upstream_pick_arg	*a = arg;
	int				 i;

	if (t->t_gone || t->t_admin != TARGET_READY ||
	    t->t_health.h_state != HEALTH_UP)
		return 0;
	if (t->t_worker != NULL && !master_worker_usable(t->t_worker, NULL))
		return 0;
	for (i = 0; a != NULL && i < a->ntried; i++)
		if (a->tried[i] == t->t_serial)
			return 0;
	return 1;
}

/* Every target that could take a client: proxy-mode workers and remote
 * targets not removed. */
static int
upstream_candidates(struct target **cand)
{
	struct worker	*w;
	struct target	*t;
	int		 i, n = 0;

	for (i = 0; i < master->m_nworkers; i++) {
		w = master->m_workers[i];
		if (w->w_mode == MODE_PROXY && w->w_target != NULL)
			cand[n++] = w->w_target;
	}
	TAILQ_FOREACH(t, &targets, t_entry)
		if (!t->t_gone)
			cand[n++] = t;
	return n;
}

/* What time changes (passive failures that are over). */
static void
upstream_expire(struct target **cand, int n)
{
	const struct health_conf	*hc = &master->m_conf->c_health;
	uint64_t			 now = clock_ms();
	int				 i;

	for (i = 0; i < n; i++)
		if (cand[i]->t_health.h_state == HEALTH_DOWN)
			upstream_set_health(cand[i], health_expire(
			    &cand[i]->t_health, hc, now), "fail_timeout is "
			    "over: tried again");
}

/*
 * No target is usable: those down only by failed connections are tried
 * again rather than refusing everyone (nginx does the same).
 */
static int
upstream_recover(struct target **cand, int n)
{
	struct target	*t;
	int		 i, k = 0;

	for (i = 0; i < n; i++) {
		t = cand[i];
		if (t->t_health.h_state != HEALTH_DOWN ||
		    !t->t_health.h_passive || t->t_admin != TARGET_READY ||
		    t->t_weight == 0 || (t->t_worker != NULL &&
		    !master_worker_usable(t->t_worker, NULL)))
			continue;
		t->t_health.h_passive = 0;
		t->t_health.h_run = 0;
		t->t_health.h_state = HEALTH_UP;	/* logged below */
		k++;
	}
	if (k > 0)
		log_warnx_limit(&recover_lim, "upstream: every target is down: "
		    "trying again the %d down from failed connections", k);
	return k;
}

/* The next target for a client, skipping those it tried; or NULL. */
struct target *
upstream_pick(const uint64_t *tried, int ntried)
{
	static struct target		*cand[UPSTREAM_MAX_TARGETS +
					    PORTER_MAX_WORKERS];
	struct upstream_pick_arg	 a = { tried, ntried };
	int				 n, idx;

	n = upstream_candidates(cand);
	upstream_expire(cand, n);
	idx = balance_pick_target(&master->m_balance, cand, n,
	    upstream_usable, &a);
	if (idx == -1 && ntried == 0 && upstream_recover(cand, n) > 0)
		idx = balance_pick_target(&master->m_balance, cand, n,
		    upstream_usable, &a);
	return idx == -1 ? NULL : cand[idx];
}

/* Targets that may take clients at all (proxy workers, remote ones). */
int
upstream_count(void)
{
	static struct target	*cand[UPSTREAM_MAX_TARGETS +
				    PORTER_MAX_WORKERS];

	return upstream_candidates(cand);
}

/* Remote targets, not removed. */
int
upstream_remote_count(void)
{
	struct target	*t;
	int		 n = 0;

	TAILQ_FOREACH(t, &targets, t_entry)
		n += !t->t_gone;
	return n;
}

/* Remote targets usable now. */
int
upstream_ready_count(void)
{
	struct target	*t;
	int		 n = 0;

	TAILQ_FOREACH(t, &targets, t_entry)
		if (t->t_weight > 0 && upstream_usable(t, NULL))
			n++;
	return n;
}

/* ---- connection events (relay.c, main thread) ---- */

void
upstream_attach(struct target *t)
{
	if (t->t_worker != NULL) {
		master_conn_attach(t->t_worker);
		return;
	}
	t->t_holds++;
	master_conn_attach(NULL);
}

/* t may be freed on return. */
void
upstream_detach(struct target *t)
{
	if (t->t_worker != NULL) {
		master_conn_detach(t->t_worker);
		return;
	}
	master_conn_detach(NULL);
	if (--t->t_holds == 0 && t->t_gone)
		upstream_target_free(t);
}

/* A client is relayed to t; *wid and *wport for the access log. */
void
upstream_relayed(struct target *t, int *wid, int *wport)
{
	t->t_active++;
	t->t_total++;
	if (t->t_worker != NULL) {
		*wid = t->t_worker->w_id;
		*wport = t->t_worker->w_port;
		master_conn_relayed(t->t_worker);
		return;
	}
	*wid = -1;
	*wport = addr_port(&t->t_addr);
	master_conn_relayed(NULL);
}

/* A relayed client left; failed: t reset it before its first byte. */
void
upstream_closed(struct target *t, int failed)
{
	if (t->t_active > 0)
		t->t_active--;
	if (failed)
		upstream_failed(t, "reset before its first byte");
	master_conn_closed(t->t_worker);
}

/* A passive failure: a refused or timed-out connect, an early reset. */
void
upstream_failed(struct target *t, const char *why)
{
	char	buf[128];

	t->t_failures++;
	if (t->t_gone)
		return;
	snprintf(buf, sizeof(buf), "%s; max_fails %d within fail_timeout",
	    why, master->m_conf->c_health.hc_max_fails);
	upstream_set_health(t, health_passive(&t->t_health,
	    &master->m_conf->c_health, clock_ms()), buf);
}

/* An active check is over (health.c). */
void
upstream_check_done(struct target *t, int ok, const char *why)
{
	const struct health_conf	*hc = &master->m_conf->c_health;
	enum health_state		 old = t->t_health.h_state, s;
	char				 buf[160];

	t->t_checked = clock_ms();
	t->t_check_ok = ok;
	snprintf(t->t_check_why, sizeof(t->t_check_why), "%s", why);
	if (!ok)
		t->t_failures++;
	s = health_active(&t->t_health, hc, ok);
	if (s == old)
		return;
	snprintf(buf, sizeof(buf), "%s %s in a row, the last: %s",
	    s == HEALTH_UP ? "rise:" : "fall:", s == HEALTH_UP ?
	    (hc->hc_rise == 1 ? "1 check passed" : "checks passed") :
	    (hc->hc_fall == 1 ? "1 check failed" : "checks failed"), why);
	upstream_set_health(t, s, buf);
}

/* ---- the control socket's ---- */

/* The remote target named s ("ADDR:PORT", as shown), not removed. */
struct target *
upstream_find(const char *s)
{
	struct target	*t;
	struct addr	 a;
	char		 host[UPSTREAM_NAME_MAX];
	int		 port, lit;

	lit = upstream_split(s, host, sizeof(host), &port) == 0 &&
	    upstream_literal(host) && conf_parse_addr(s, &a, 0) == 0;
	TAILQ_FOREACH(t, &targets, t_entry) {
		if (t->t_gone)
			continue;
		if (lit ? addr_eq(&t->t_addr, &a) : strcmp(t->t_name, s) == 0)
			return t;
	}
	return NULL;
}

/* The upstream line named s, as written (or its address, static). */
struct upgroup *
upstream_find_group(const char *s)
{
	struct upgroup	*g;
	struct target	*t;

	TAILQ_FOREACH(g, &groups, g_entry)
		if (strcasecmp(g->g_line.ul_name, s) == 0)
			return g;
	if ((t = upstream_find(s)) != NULL && t->t_group != NULL &&
	    t->t_group->g_line.ul_kind == UPSTREAM_STATIC)
		return t->t_group;
	return NULL;
}

/* add upstream: a line of the conf's syntax, until the next reload. */
int
upstream_add(const struct upstream_line *ul, char **msg)
{
	struct upgroup	*g;
	struct target	*t;

	if (master->m_conf->c_mode != MODE_PROXY)
		return upstream_err(msg, "upstreams need mode proxy");
	TAILQ_FOREACH(g, &groups, g_entry)
		if (upstream_same_line(&g->g_line, ul))
			return upstream_err(msg, "%s is there already",
			    ul->ul_name);
	if (ul->ul_kind == UPSTREAM_STATIC && (t = upstream_target_at(
	    (const struct sockaddr *)&ul->ul_addr.a_ss, ul->ul_addr.a_len)) !=
	    NULL && !t->t_gone)
		return upstream_err(msg, "%s is a target already (of %s)",
		    t->t_name, t->t_group != NULL ?
		    t->t_group->g_line.ul_name : "?");
	if (ul->ul_kind == UPSTREAM_STATIC && ntargets >= UPSTREAM_MAX_TARGETS)
		return upstream_err(msg, "at most %d targets",
		    UPSTREAM_MAX_TARGETS);
	log_info("control: add upstream %s", ul->ul_name);
	if ((g = upstream_group_new(ul, 1)) == NULL)
		return upstream_err(msg, "out of memory");
	TAILQ_FOREACH(t, &targets, t_entry)
		if (t->t_group == g)
			t->t_runtime = 1;
	return 0;
}

/* del upstream: a line (by its name) or a static target (by address). */
int
upstream_del(const char *s, char **msg)
{
	struct upgroup	*g;
	struct target	*t;

	if ((g = upstream_find_group(s)) == NULL) {
		if ((t = upstream_find(s)) != NULL && t->t_group != NULL)
			return upstream_err(msg, "%s comes from DNS (%s): del "
			    "that, or set it to maint", s,
			    t->t_group->g_line.ul_name);
		return upstream_err(msg, "no upstream %s", s);
	}
	log_info("control: del upstream %s", g->g_line.ul_name);
	upstream_group_free(g, "deleted by the control socket");
	return 0;
}

/* ---- what /status, /metrics and "show upstreams" show ---- */

/* s as a JSON string; s holds no '"', '\\' or control characters (names
 * and addresses are checked), but is escaped anyway. */
static void
upstream_json_str(struct evbuffer *b, const char *s)
{
	const unsigned char	*p;

	evbuffer_add(b, "\"", 1);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			evbuffer_add_printf(b, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			evbuffer_add_printf(b, "\\u%04x", *p);
		else
			evbuffer_add(b, p, 1);
	}
	evbuffer_add(b, "\"", 1);
}

static const char *
upstream_state(const struct target *t)
{
	return t->t_gone ? "removed" : admin_names[t->t_admin];
}

static void
upstream_json_target(struct evbuffer *b, const struct target *t,
    uint64_t now, int first)
{
	char	addr[80];

	addr_text(upstream_addr(t), addr, sizeof(addr));
	evbuffer_add_printf(b, "%s{\"name\":", first ? "" : ",");
	upstream_json_str(b, t->t_name);
	evbuffer_add(b, ",\"address\":", 11);
	upstream_json_str(b, addr);
	evbuffer_add(b, ",\"upstream\":", 12);
	if (t->t_group != NULL)
		upstream_json_str(b, t->t_group->g_line.ul_name);
	else
		evbuffer_add(b, "null", 4);
	if (t->t_worker != NULL)
		evbuffer_add_printf(b, ",\"worker\":%d", t->t_worker->w_id);
	else
		evbuffer_add_printf(b, ",\"worker\":null");
	evbuffer_add_printf(b, ",\"weight\":%d,\"backup\":%s,\"state\":\"%s\","
	    "\"health\":\"%s\",\"down_by\":%s,\"active\":%u,\"total\":%llu,"
	    "\"failures\":%llu,\"runtime\":%s,\"last_check\":", t->t_weight,
	    t->t_backup ? "true" : "false", upstream_state(t),
	    health_state_name(t->t_health.h_state),
	    t->t_health.h_state == HEALTH_UP ? "null" : t->t_health.h_passive ?
	    "\"failures\"" : "\"checks\"", t->t_active,
	    (unsigned long long)t->t_total,
	    (unsigned long long)t->t_failures, t->t_runtime ? "true" :
	    "false");
	if (t->t_checked == 0)
		evbuffer_add(b, "null}", 5);
	else {
		evbuffer_add_printf(b, "{\"ago_ms\":%llu,\"ok\":%s,\"result\":",
		    (unsigned long long)(now - t->t_checked), t->t_check_ok ?
		    "true" : "false");
		upstream_json_str(b, t->t_check_why);
		evbuffer_add(b, "}}", 2);
	}
}

/* /status: ,"upstreams":[...],"targets":[...] */
void
upstream_status_json(struct evbuffer *b)
{
	static struct target	*cand[UPSTREAM_MAX_TARGETS +
				    PORTER_MAX_WORKERS];
	const struct upgroup	*g;
	const struct target	*t;
	uint64_t		 now = clock_ms();
	int			 i, n, first = 1;

	n = upstream_candidates(cand);
	upstream_expire(cand, n);
	evbuffer_add_printf(b, ",\"health_check\":\"%s\",\"upstreams\":[",
	    master->m_conf->c_health.hc_kind == HEALTH_NONE ? "off" :
	    master->m_conf->c_health.hc_kind == HEALTH_TCP ? "tcp" : "http");
	TAILQ_FOREACH(g, &groups, g_entry) {
		evbuffer_add_printf(b, "%s{\"name\":", first ? "" : ",");
		upstream_json_str(b, g->g_line.ul_name);
		evbuffer_add_printf(b, ",\"kind\":\"%s\",\"targets\":%d,"
		    "\"runtime\":%s,\"resolved_ago_ms\":",
		    kind_names[g->g_line.ul_kind], upstream_group_count(g),
		    g->g_runtime ? "true" : "false");
		if (g->g_resolved == 0)
			evbuffer_add(b, "null", 4);
		else
			evbuffer_add_printf(b, "%llu", (unsigned long long)
			    (now - g->g_resolved));
		evbuffer_add(b, ",\"error\":", 9);
		if (g->g_error[0] == '\0')
			evbuffer_add(b, "null", 4);
		else
			upstream_json_str(b, g->g_error);
		evbuffer_add(b, "}", 1);
		first = 0;
	}
	evbuffer_add(b, "],\"targets\":[", 13);
	for (i = 0; i < n; i++)
		upstream_json_target(b, cand[i], now, i == 0);
	/* Removed, still finishing: shown until they are gone. */
	TAILQ_FOREACH(t, &targets, t_entry)
		if (t->t_gone)
			upstream_json_target(b, t, now, n++ == 0);
	evbuffer_add(b, "]", 1);
}

static void
upstream_metric(struct evbuffer *b, struct target *const *cand, int n,
    const char *name, const char *type, const char *help, int which)
{
	const struct target	*t;
	char			 addr[80];
	long long		 v;
	int			 i;

	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
	for (i = 0; i < n; i++) {
		t = cand[i];
		if (t->t_worker != NULL)
			continue;	/* porter_worker_*: theirs */
		switch (which) {
		case 0:
			v = t->t_health.h_state == HEALTH_UP &&
			    t->t_admin == TARGET_READY;
			break;
		case 1:
			v = t->t_weight;
			break;
		case 2:
			v = t->t_active;
			break;
		case 3:
			v = (long long)t->t_total;
			break;
		default:
			v = (long long)t->t_failures;
			break;
		}
		addr_text(upstream_addr(t), addr, sizeof(addr));
		evbuffer_add_printf(b, "%s{target=\"%s\",upstream=\"%s\"} "
		    "%lld\n", name, addr, t->t_group != NULL ?
		    t->t_group->g_line.ul_name : "", v);
	}
}

/*
 * /metrics: one series per remote target (labels: its address and its
 * upstream line; at most UPSTREAM_MAX_TARGETS). The local workers have
 * their own porter_worker_* series; /status shows their health.
 */
void
upstream_status_metrics(struct evbuffer *b)
{
	static struct target	*cand[UPSTREAM_MAX_TARGETS +
				    PORTER_MAX_WORKERS];
	int			 n = upstream_candidates(cand);

	if (upstream_remote_count() == 0)
		return;

	upstream_metric(b, cand, n, "porter_target_up", "gauge",
	    "Whether the target takes new connections: up and ready (1).", 0);
	upstream_metric(b, cand, n, "porter_target_weight", "gauge",
	    "The target's weight.", 1);
	upstream_metric(b, cand, n, "porter_target_connections_active",
	    "gauge", "Live connections relayed to the target.", 2);
	upstream_metric(b, cand, n, "porter_target_connections_total",
	    "counter", "Connections relayed to the target.", 3);
	upstream_metric(b, cand, n, "porter_target_failures_total", "counter",
	    "Failed connects, early resets and failed checks.", 4);
}

/* "show upstreams": a header, then one line per target. */
void
upstream_show(struct evbuffer *b)
{
	static struct target	*cand[UPSTREAM_MAX_TARGETS +
				    PORTER_MAX_WORKERS];
	struct target		*t;
	uint64_t		 now = clock_ms();
	char			 name[64], addr[80], check[96];
	int			 i, n;

	n = upstream_candidates(cand);
	upstream_expire(cand, n);
	TAILQ_FOREACH(t, &targets, t_entry)
		if (t->t_gone)
			cand[n++] = t;
	evbuffer_add_printf(b, "# target address upstream weight backup state "
	    "health active total failures last_check\n");
	for (i = 0; i < n; i++) {
		t = cand[i];
		addr_text(upstream_addr(t), addr, sizeof(addr));
		if (t->t_worker != NULL)
			snprintf(name, sizeof(name), "worker-%d",
			    t->t_worker->w_id);
		else
			snprintf(name, sizeof(name), "%s", t->t_name);
		if (t->t_checked == 0)
			snprintf(check, sizeof(check), "-");
		else
			snprintf(check, sizeof(check), "%s,%llums-ago",
			    t->t_check_ok ? "ok" : "failed",
			    (unsigned long long)(now - t->t_checked));
		evbuffer_add_printf(b, "%s %s %s %d %s %s %s %u %llu %llu %s\n",
		    name, addr,
		    t->t_worker != NULL ? "-" : t->t_group != NULL ?
		    t->t_group->g_line.ul_name : "-", t->t_weight,
		    t->t_backup ? "yes" : "no", upstream_state(t),
		    health_state_name(t->t_health.h_state), t->t_active,
		    (unsigned long long)t->t_total,
		    (unsigned long long)t->t_failures, check);
	}
}
