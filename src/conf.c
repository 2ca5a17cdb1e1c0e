/*
 * conf.c: the conf file. One directive per line, looked up in a sorted
 * keyword table; every error names FILE:LINE. conf_check() catches the
 * combinations that no single line can.
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "porter.h"

#define CONF_MAX_SIZE	(1024 * 1024)
#define CONF_MAX_WORDS	64

struct conf_ctx {
	struct conf	*conf;
	const char	*file;
	int		 line;
	char		**cause;
};

typedef int (*conf_fn)(struct conf_ctx *, int, char **);

struct keyword {
	const char	*k_name;
	int		 k_min;		/* arguments */
	int		 k_max;		/* -1: any number */
	int		 k_repeat;	/* may appear more than once */
	conf_fn		 k_fn;
};

static int	conf_access_log(struct conf_ctx *, int, char **);
static int	conf_balance(struct conf_ctx *, int, char **);
static int	conf_duration(struct conf_ctx *, int, char **);
static int	conf_env(struct conf_ctx *, int, char **);
static int	conf_env_clear(struct conf_ctx *, int, char **);
static int	conf_error_log(struct conf_ctx *, int, char **);
static int	conf_handoff_window(struct conf_ctx *, int, char **);
static int	conf_listen(struct conf_ctx *, int, char **);
static int	conf_log_format(struct conf_ctx *, int, char **);
static int	conf_max_connections(struct conf_ctx *, int, char **);
static int	conf_mode(struct conf_ctx *, int, char **);
static int	conf_pidfile(struct conf_ctx *, int, char **);
static int	conf_proxy_protocol(struct conf_ctx *, int, char **);
static int	conf_ready_check(struct conf_ctx *, int, char **);
static int	conf_relay_threads(struct conf_ctx *, int, char **);
static int	conf_relay_threads_auto(void);
static int	conf_relay_io(struct conf_ctx *, int, char **);
static int	conf_restart_limit(struct conf_ctx *, int, char **);
static int	conf_reuseport(struct conf_ctx *, int, char **);
static int	conf_stop_signal(struct conf_ctx *, int, char **);
static int	conf_status(struct conf_ctx *, int, char **);
static int	conf_upstream(struct conf_ctx *, int, char **);
static int	conf_user(struct conf_ctx *, int, char **);
static int	conf_worker(struct conf_ctx *, int, char **);
static int	conf_worker_ports(struct conf_ctx *, int, char **);
static int	conf_workers(struct conf_ctx *, int, char **);
static int	conf_error(struct conf_ctx *, const char *, ...)
		    __printflike(2, 3);

/* Sorted by name: looked up with bsearch(3). */
static const struct keyword keywords[] = {
	{ "access_log",		1, 2,  0, conf_access_log },
	{ "balance",		1, 1,  0, conf_balance },
	{ "connect_timeout",	1, 1,  0, conf_duration },
	{ "control",		1, 1,  0, conf_upstream },
	{ "env",		1, 1,  1, conf_env },
	{ "env_clear",		1, 1,  0, conf_env_clear },
	{ "error_log",		1, 1,  0, conf_error_log },
	{ "fail_timeout",	1, 1,  0, conf_upstream },
	{ "graceful_timeout",	1, 1,  0, conf_duration },
	{ "handoff_window",	1, 1,  0, conf_handoff_window },
	{ "header_timeout",	1, 1,  0, conf_duration },
	{ "health_check",	1, 10, 0, conf_upstream },
	{ "idle_timeout",	1, 1,  0, conf_duration },
	{ "listen",		1, 2,  1, conf_listen },
	{ "log_format",		1, 1,  0, conf_log_format },
	{ "max_connections",	1, 1,  0, conf_max_connections },
	{ "max_fails",		1, 1,  0, conf_upstream },
	{ "mode",		1, 1,  0, conf_mode },
	{ "pidfile",		1, 1,  0, conf_pidfile },
	{ "proxy_protocol",	1, 1,  0, conf_proxy_protocol },
	{ "ready_check",	1, 2,  0, conf_ready_check },
	{ "ready_timeout",	1, 1,  0, conf_duration },
	{ "relay_io",		1, 1,  0, conf_relay_io },
	{ "relay_threads",	1, 1,  0, conf_relay_threads },
	{ "reload_probation",	1, 1,  0, conf_duration },
	{ "resolve_max",	1, 1,  0, conf_upstream },
	{ "resolve_min",	1, 1,  0, conf_upstream },
	{ "resolver",		1, 1,  1, conf_upstream },
	{ "restart_limit",	2, 2,  0, conf_restart_limit },
	{ "reuseport",		1, 1,  0, conf_reuseport },
	{ "shutdown_delay",	1, 1,  0, conf_duration },
	{ "status",		1, 1,  0, conf_status },
	{ "stop_signal",	1, 1,  0, conf_stop_signal },
	{ "upstream",		1, 6,  1, conf_upstream },
	{ "user",		1, 1,  0, conf_user },
	{ "worker",		1, -1, 0, conf_worker },
	{ "worker_ports",	1, 1,  0, conf_worker_ports },
	{ "workers",		1, 1,  0, conf_workers },
};


static const char *mode_names[] = { "proxy", "handoff", "shared" };
static const char *balance_names[] = { "round-robin", "least-conn" };
static const char *worker_names[] = { "builtin", "exec", "node" };
static const char *ready_check_names[] = { "default", "connect", "http",
    "notify", "listen" };

const char *
conf_mode_name(enum mode m)
{
	return mode_names[m];
}

const char *
conf_balance_name(enum balance_kind b)
{
	return balance_names[b];
}

const char *
conf_worker_name(enum worker_kind k)
{
	return worker_names[k];
}

const char *
conf_ready_check_name(enum ready_check r)
{
	return ready_check_names[r];
}

static int
conf_error(struct conf_ctx *ctx, const char *fmt, ...)
{
	char	*msg;
	va_list	 ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	if (ctx->cause != NULL) {
		free(*ctx->cause);
		if (ctx->line > 0) {
			if (asprintf(ctx->cause, "%s:%d: %s", ctx->file,
			    ctx->line, msg ? msg : "error") == -1)
				*ctx->cause = NULL;
		} else if (asprintf(ctx->cause, "%s: %s", ctx->file,
		    msg ? msg : "error") == -1)
			*ctx->cause = NULL;
	}
	free(msg);
	return -1;
}

/* The CPUs online, within [lo, hi]. */
static int
conf_ncpu(int lo, int hi)
{
	long	n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < lo ? lo : n > hi ? hi : (int)n;
}

struct conf *
conf_new(void)
{
	struct conf	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	conf_parse_addr("0.0.0.0:80", &c->c_listen[0], 0);
	c->c_nlisten = 1;
	c->c_mode = MODE_PROXY;
	c->c_workers = conf_ncpu(1, PORTER_MAX_WORKERS / 2);
	c->c_worker = WORKER_BUILTIN;
	conf_parse_addr("127.0.0.1:9001", &c->c_worker_ports, 0);
	c->c_balance = BALANCE_RR;
	c->c_max_connections = 10000;
	c->c_handoff_window = 32;
	c->c_connect_timeout = 2000;
	c->c_idle_timeout = 60000;
	c->c_header_timeout = 10000;
	c->c_graceful_timeout = 30000;
	c->c_ready_timeout = 10000;
	c->c_reload_probation = 3000;
	c->c_relay_threads = conf_relay_threads_auto();
	c->c_restart_limit = 10;
	c->c_restart_window = 60000;
	c->c_user = strdup("nobody");
	c->c_listen_default = 1;
	c->c_refs = 1;
	upstream_conf_init(c);
	return c;
}

void
conf_free_argv(char **argv)
{
	char	**p;

	if (argv == NULL)
		return;
	for (p = argv; *p != NULL; p++)
		free(*p);
	free(argv);
}

struct conf *
conf_ref(struct conf *c)
{
	c->c_refs++;
	return c;
}

void
conf_unref(struct conf *c)
{
	if (c != NULL && --c->c_refs == 0)
		conf_free(c);
}

void
conf_free(struct conf *c)
{
	int	i;

	if (c == NULL)
		return;
	free(c->c_path);
	conf_free_argv(c->c_worker_argv);
	free(c->c_user);
	free(c->c_pidfile);
	free(c->c_ready_path);
	free(c->c_error_log);
	free(c->c_access_log);
	for (i = 0; i < c->c_nenv; i++)
		free(c->c_env[i]);
	free(c->c_env);
	upstream_conf_free(c);
	free(c);
}

/*
 * "ADDR:PORT", "[V6]:PORT", "*:PORT" or a bare "PORT" (all addresses).
 * Names are resolved once, here.
 */
int
conf_parse_addr(const char *s, struct addr *a, int passive)
{
	struct addrinfo	 hints, *res;
	char		 host[256], *end;
	const char	*colon, *port;
	long		 p;
	size_t		 hlen;

	if (strlen(s) >= sizeof(a->a_text))
		return -1;
	if (s[0] == '[') {
		if ((colon = strstr(s, "]:")) == NULL)
			return -1;
		hlen = (size_t)(colon - s - 1);
		memcpy(host, s + 1, hlen);
		port = colon + 2;
	} else if ((colon = strrchr(s, ':')) != NULL) {
		hlen = (size_t)(colon - s);
		if (hlen >= sizeof(host) || memchr(s, ':', hlen) != NULL)
			return -1;	/* bare IPv6 needs brackets */
		memcpy(host, s, hlen);
		port = colon + 1;
	} else {
		hlen = 0;
		port = s;
	}
	host[hlen] = '\0';
	errno = 0;
	p = strtol(port, &end, 10);
	if (*port == '\0' || *end != '\0' || errno != 0 || p < 1 || p > 65535)
		return -1;
	if (hlen == 0 || strcmp(host, "*") == 0)
		strcpy(host, "0.0.0.0");

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = passive ? AI_PASSIVE : 0;
	if (getaddrinfo(host, port, &hints, &res) != 0 || res == NULL)
		return -1;
	memcpy(&a->a_ss, res->ai_addr, res->ai_addrlen);
	a->a_len = res->ai_addrlen;
	freeaddrinfo(res);
	if (s[0] == '[' || hlen > 0)
		snprintf(a->a_text, sizeof(a->a_text), "%s", s);
	else
		snprintf(a->a_text, sizeof(a->a_text), "0.0.0.0:%ld", p);
	return 0;
}

/* "500ms", "30s", "5m", "1h"; a bare number is seconds. */
int
conf_parse_duration(const char *s, int *ms)
{
	char		*end;
	long long	 v, mul;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end == '\0' || strcmp(end, "s") == 0)
		mul = 1000;
	else if (strcmp(end, "ms") == 0)
		mul = 1;
	else if (strcmp(end, "m") == 0)
		mul = 60 * 1000;
	else if (strcmp(end, "h") == 0)
		mul = 3600 * 1000;
	else
		return -1;
	if (v > INT_MAX / mul)
		return -1;
	*ms = (int)(v * mul);
	return 0;
}

static int
conf_number(struct conf_ctx *ctx, const char *kw, const char *s, long min,
    long max, int *out)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
		return conf_error(ctx, "%s: \"%s\" is not a number from %ld "
		    "to %ld", kw, s, min, max);
	*out = (int)v;
	return 0;
}

static int
conf_onoff(struct conf_ctx *ctx, const char *kw, const char *s, int *out)
{
	if (strcmp(s, "on") == 0)
		*out = 1;
	else if (strcmp(s, "off") == 0)
		*out = 0;
	else
		return conf_error(ctx, "%s: expected on or off, not \"%s\"",
		    kw, s);
	return 0;
}

static int
conf_lookup(const char *names[], size_t n, const char *s)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

static int
conf_listen(struct conf_ctx *ctx, int argc, char **argv)
{
	struct conf	*c = ctx->conf;
	int		 i;

	(void)argc;
	if (c->c_listen_default) {
		/* The first listen line replaces the built-in default. */
		c->c_nlisten = 0;
		c->c_listen_default = 0;
	}
	if (c->c_nlisten == PORTER_MAX_LISTEN)
		return conf_error(ctx, "listen: at most %d addresses",
		    PORTER_MAX_LISTEN);
	if (conf_parse_addr(argv[1], &c->c_listen[c->c_nlisten], 1) == -1)
		return conf_error(ctx, "listen: bad address \"%s\" "
		    "(expected ADDR:PORT)", argv[1]);
	if (argc == 3 && strcmp(argv[2], "proxy_protocol") != 0)
		return conf_error(ctx, "listen: unknown option \"%s\" "
		    "(expected proxy_protocol)", argv[2]);
	/* Its line: conf_check() may blame it. */
	c->c_listen_proxy[c->c_nlisten] = argc == 3 ? ctx->line : 0;
	for (i = 0; i < c->c_nlisten; i++)
		if (c->c_listen[i].a_len == c->c_listen[c->c_nlisten].a_len &&
		    memcmp(&c->c_listen[i].a_ss, &c->c_listen[c->c_nlisten].a_ss,
		    c->c_listen[i].a_len) == 0)
			return conf_error(ctx, "listen: %s given twice",
			    argv[1]);
	c->c_nlisten++;
	return 0;
}

static int
conf_mode(struct conf_ctx *ctx, int argc, char **argv)
{
	int	m;

	(void)argc;
	if ((m = conf_lookup(mode_names, nitems(mode_names), argv[1])) == -1)
		return conf_error(ctx, "mode: expected proxy, handoff or "
		    "shared, not \"%s\"", argv[1]);
	ctx->conf->c_mode = (enum mode)m;
	return 0;
}

static int
conf_workers(struct conf_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	if (strcmp(argv[1], "auto") == 0) {
		ctx->conf->c_workers = conf_ncpu(1, PORTER_MAX_WORKERS / 2);
		return 0;
	}
	/* 0: only upstreams (conf_check) */
	return conf_number(ctx, "workers", argv[1], 0, PORTER_MAX_WORKERS / 2,
	    &ctx->conf->c_workers);
}

/*
 * Whether cmd names a program we can run, searching path (porter's PATH
 * if NULL) as execvp does.
 */
static int
conf_runnable(const char *cmd, const char *path)
{
	const char	*p, *end;
	char		 buf[4096];

	if (strchr(cmd, '/') != NULL)
		return access(cmd, X_OK) == 0;
	if (path == NULL && (path = getenv("PATH")) == NULL)
		path = PORTER_ENV_PATH;
	for (p = path; *p != '\0'; p = *end ? end + 1 : end) {
		if ((end = strchr(p, ':')) == NULL)
			end = p + strlen(p);
		if (snprintf(buf, sizeof(buf), "%.*s/%s", (int)(end - p), p,
		    cmd) < (int)sizeof(buf) && access(buf, X_OK) == 0)
			return 1;
	}
	return 0;
}

static int
conf_worker(struct conf_ctx *ctx, int argc, char **argv)
{
	struct conf	*c = ctx->conf;
	char		**args, *rel = NULL;
	int		 k, i, rv;

	if ((k = conf_lookup(worker_names, nitems(worker_names), argv[1])) ==
	    -1)
		return conf_error(ctx, "worker: expected builtin, exec COMMAND "
		    "or node SCRIPT, not \"%s\"", argv[1]);
	if (k == WORKER_BUILTIN && argc != 2)
		return conf_error(ctx, "worker: builtin takes no arguments");
	if (k == WORKER_EXEC && argc < 3)
		return conf_error(ctx, "worker: exec needs a command");
	if (k == WORKER_NODE && argc < 3)
		return conf_error(ctx, "worker: node needs a script");
	/* A relative script, or command with a '/', is the conf file's. */
	if (k != WORKER_BUILTIN && argv[2][0] != '/' && ctx->line > 0 &&
	    (k == WORKER_NODE || strchr(argv[2], '/') != NULL)) {
		const char	*slash = strrchr(ctx->file, '/');

		if (slash != NULL) {
			if (asprintf(&rel, "%.*s/%s", (int)(slash - ctx->file),
			    ctx->file, argv[2]) == -1)
				return conf_error(ctx, "out of memory");
			argv[2] = rel;
		}
	}
	rv = 0;
	if (k == WORKER_EXEC && !conf_runnable(argv[2], NULL))
		rv = conf_error(ctx, "worker: exec: cannot run \"%s\" (not "
		    "found, or not executable)", argv[2]);
	else if (k == WORKER_NODE && access(argv[2], R_OK) == -1)
		rv = conf_error(ctx, "worker: node: cannot read script "
		    "\"%s\": %s", argv[2], strerror(errno));
	else if ((args = calloc((size_t)argc - 1, sizeof(*args))) == NULL)
		rv = conf_error(ctx, "out of memory");
	else {
		for (i = 2; i < argc; i++)
			if ((args[i - 2] = strdup(argv[i])) == NULL) {
				conf_free_argv(args);
				free(rel);
				return conf_error(ctx, "out of memory");
			}
		conf_free_argv(c->c_worker_argv);
		c->c_worker_argv = args;
		c->c_worker = (enum worker_kind)k;
	}
	free(rel);
	return rv;
}

static int
conf_worker_ports(struct conf_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	if (conf_parse_addr(argv[1], &ctx->conf->c_worker_ports, 0) == -1)
		return conf_error(ctx, "worker_ports: bad address \"%s\" "
		    "(expected ADDR:PORT)", argv[1]);
	return 0;
}

static int
conf_balance(struct conf_ctx *ctx, int argc, char **argv)
{
	int	b;

	(void)argc;
	if ((b = conf_lookup(balance_names, nitems(balance_names),
	    argv[1])) == -1)
		return conf_error(ctx, "balance: expected round-robin or "
		    "least-conn, not \"%s\"", argv[1]);
	ctx->conf->c_balance = (enum balance_kind)b;
	return 0;
}

static int
conf_reuseport(struct conf_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	return conf_onoff(ctx, "reuseport", argv[1], &ctx->conf->c_reuseport);
}

/*
 * auto: one per CPU from 4 CPUs on; below, the main thread relays. Where
 * clients and workers share two CPUs with the master, handing a connection
 * to a relay thread (an eventfd write, a wake-up, a context switch) cost
 * more than it brought: 0.81 s of master CPU per 10,000 connections in the
 * main thread against 1.22 s with two relay threads, and more keep-alive
 * requests/s in every round (docs/bench/notes.md).
 */
static int
conf_relay_threads_auto(void)
{
	int	ncpu = conf_ncpu(1, 16);

	return ncpu >= 4 ? ncpu : 0;
}

static int
conf_relay_threads(struct conf_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	if (strcmp(argv[1], "auto") == 0) {
		ctx->conf->c_relay_threads = conf_relay_threads_auto();
		return 0;
	}
	return conf_number(ctx, "relay_threads", argv[1], 0, 64,
	    &ctx->conf->c_relay_threads);
}

static int
conf_relay_io(struct conf_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	if (strcmp(argv[1], "epoll") == 0)
		ctx->conf->c_relay_io = RELAY_IO_EPOLL;
	else if (strcmp(argv[1], "io_uring") == 0)
		ctx->conf->c_relay_io = RELAY_IO_URING;
	else
		return conf_error(ctx, "relay_io: %s: expected epoll or io_uring",
		    argv[1]);
	return 0;
}

static int
conf_max_connections(struct conf_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	return conf_number(ctx, "max_connections", argv[1], 1, 1000000,
	    &ctx->conf->c_max_connections);
}

static int
conf_handoff_window(struct conf_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	return conf_number(ctx, "handoff_window", argv[1], 1, 1024,
	    &ctx->conf->c_handoff_window);
}

static int
conf_duration(struct conf_ctx *ctx, int argc, char **argv)
{
	struct conf	*c = ctx->conf;
	int		 ms, *dst;

	(void)argc;
	if (conf_parse_duration(argv[1], &ms) == -1)
		return conf_error(ctx, "%s: bad duration \"%s\" (expected "
		    "e.g. 500ms, 30s, 5m)", argv[0], argv[1]);
	if (strcmp(argv[0], "connect_timeout") == 0)
		dst = &c->c_connect_timeout;
	else if (strcmp(argv[0], "idle_timeout") == 0)
		dst = &c->c_idle_timeout;
	else if (strcmp(argv[0], "header_timeout") == 0)
		dst = &c->c_header_timeout;
	else if (strcmp(argv[0], "ready_timeout") == 0)
		dst = &c->c_ready_timeout;
	else if (strcmp(argv[0], "reload_probation") == 0)
		dst = &c->c_reload_probation;
	else if (strcmp(argv[0], "shutdown_delay") == 0)
		dst = &c->c_shutdown_delay;
	else
		dst = &c->c_graceful_timeout;
	if (ms == 0 && dst != &c->c_graceful_timeout &&
	    dst != &c->c_reload_probation && dst != &c->c_shutdown_delay)
		return conf_error(ctx, "%s: must be more than 0", argv[0]);
	*dst = ms;
	return 0;
}

static int
conf_restart_limit(struct conf_ctx *ctx, int argc, char **argv)
{
	struct conf	*c = ctx->conf;

	(void)argc;
	if (conf_number(ctx, "restart_limit", argv[1], 1, 100000,
	    &c->c_restart_limit) == -1)
		return -1;
	if (conf_parse_duration(argv[2], &c->c_restart_window) == -1 ||
	    c->c_restart_window == 0)
		return conf_error(ctx, "restart_limit: bad window \"%s\" "
		    "(expected e.g. 60s)", argv[2]);
	return 0;
}

static int
conf_status(struct conf_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	if (strcmp(argv[1], "off") == 0) {
		ctx->conf->c_status_on = 0;
		return 0;
	}
	if (conf_parse_addr(argv[1], &ctx->conf->c_status, 1) == -1)
		return conf_error(ctx, "status: bad address \"%s\" "
		    "(expected ADDR:PORT or off)", argv[1]);
	ctx->conf->c_status_on = 1;
	return 0;
}

static int
conf_proxy_protocol(struct conf_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	if (strcmp(argv[1], "off") == 0)
		ctx->conf->c_proxy_protocol = 0;
	else if (strcmp(argv[1], "v1") == 0)
		ctx->conf->c_proxy_protocol = 1;
	else if (strcmp(argv[1], "v2") == 0)
		ctx->conf->c_proxy_protocol = 2;
	else
		return conf_error(ctx, "proxy_protocol: expected off, v1 or "
		    "v2, not \"%s\"", argv[1]);
	return 0;
}

/* The signals a program may take as "stop": see porter.conf(5). */
static const struct {
	const char	*name;
	int		 sig;
} stop_signals[] = {
	{ "TERM", SIGTERM }, { "QUIT", SIGQUIT }, { "INT", SIGINT },
	{ "HUP", SIGHUP }, { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 },
	{ "WINCH", SIGWINCH }, { "KILL", SIGKILL },
};

static int
conf_stop_signal(struct conf_ctx *ctx, int argc, char **argv)
{
	const char	*name = argv[1];
	size_t		 i;

	(void)argc;
	if (strncasecmp(name, "SIG", 3) == 0)
		name += 3;
	for (i = 0; i < nitems(stop_signals); i++)
		if (strcasecmp(name, stop_signals[i].name) == 0) {
			ctx->conf->c_stop_signal = stop_signals[i].sig;
			return 0;
		}
	return conf_error(ctx, "stop_signal: \"%s\" is not one of TERM, "
	    "QUIT, INT, HUP, USR1, USR2, WINCH, KILL", argv[1]);
}

const char *
conf_signal_name(int sig)
{
	size_t	i;

	for (i = 0; i < nitems(stop_signals); i++)
		if (stop_signals[i].sig == sig)
			return stop_signals[i].name;
	return "?";
}

/*
 * ready_check connect | http PATH | notify | listen. PATH goes into a request line
 * as it is: a path of printable characters, no blanks.
 */
static int
conf_ready_check(struct conf_ctx *ctx, int argc, char **argv)
{
	struct conf	*c = ctx->conf;
	const char	*p;
	char		*path = NULL;
	int		 k;

	k = conf_lookup(ready_check_names, nitems(ready_check_names), argv[1]);
	if (k <= READY_CHECK_DEFAULT)
		return conf_error(ctx, "ready_check: expected connect, http "
		    "PATH, notify or listen, not \"%s\"", argv[1]);
	if (k != READY_CHECK_HTTP && argc != 2)
		return conf_error(ctx, "ready_check: %s takes no argument",
		    argv[1]);
	if (k == READY_CHECK_HTTP) {
		if (argc != 3)
			return conf_error(ctx, "ready_check: http needs a "
			    "PATH, e.g. ready_check http /healthz");
		if (argv[2][0] != '/')
			return conf_error(ctx, "ready_check: http: the PATH "
			    "must start with /, not \"%s\"", argv[2]);
		for (p = argv[2]; *p != '\0'; p++)
			if ((unsigned char)*p <= ' ' || *p == 0x7f)
				return conf_error(ctx, "ready_check: http: "
				    "blank or control character in the PATH");
		if (strlen(argv[2]) > 1024)
			return conf_error(ctx, "ready_check: http: the PATH "
			    "is longer than 1024 bytes");
		if ((path = strdup(argv[2])) == NULL)
			return conf_error(ctx, "out of memory");
	}
	free(c->c_ready_path);
	c->c_ready_path = path;
	c->c_ready_check = (enum ready_check)k;
	return 0;
}

static int
conf_user(struct conf_ctx *ctx, int argc, char **argv)
{
	char	*u;

	(void)argc;
	if (getpwnam(argv[1]) == NULL)
		return conf_error(ctx, "user: no such user \"%s\"", argv[1]);
	if ((u = strdup(argv[1])) == NULL)
		return conf_error(ctx, "out of memory");
	free(ctx->conf->c_user);
	ctx->conf->c_user = u;
	return 0;
}

/* Variables porter sets for its workers (proc.c): no env line may. */
static const char *env_reserved[] = {
	"LISTEN_FDS", "LISTEN_PID", "NODE_CHANNEL_FD",
	"NODE_CHANNEL_SERIALIZATION_MODE", "NODE_UNIQUE_ID", "NOTIFY_SOCKET",
	"PORT",
};

/*
 * env NAME: the workers get porter's NAME (if it has one); env NAME=VALUE:
 * they get that. Names as POSIX shells take them.
 */
static int
conf_env(struct conf_ctx *ctx, int argc, char **argv)
{
	struct conf	*c = ctx->conf;
	const char	*s = argv[1];
	char		**env, *dup;
	size_t		 len, i;

	(void)argc;
	len = strcspn(s, "=");
	for (i = 0; i < len; i++)
		if (!(s[i] == '_' || isalpha((unsigned char)s[i]) ||
		    (i > 0 && isdigit((unsigned char)s[i]))))
			break;
	if (len == 0 || i < len)
		return conf_error(ctx, "env: bad variable name \"%.*s\" "
		    "(expected letters, digits and _, not starting with a "
		    "digit)", (int)len, s);
	for (i = 0; i < nitems(env_reserved); i++)
		if (strlen(env_reserved[i]) == len &&
		    strncmp(s, env_reserved[i], len) == 0)
			return conf_error(ctx, "env: porter sets %s for its "
			    "workers", env_reserved[i]);
	if (len >= 14 && strncmp(s, "PORTER_WORKER_", 14) == 0)
		return conf_error(ctx, "env: porter sets PORTER_WORKER_* for "
		    "its workers");
	for (i = 0; i < (size_t)c->c_nenv; i++)
		if (strncmp(c->c_env[i], s, len) == 0 &&
		    (c->c_env[i][len] == '\0' || c->c_env[i][len] == '='))
			return conf_error(ctx, "env: %.*s given twice",
			    (int)len, s);
	if ((env = reallocarray(c->c_env, (size_t)c->c_nenv + 2,
	    sizeof(*env))) == NULL)
		return conf_error(ctx, "out of memory");
	c->c_env = env;
	if ((dup = strdup(s)) == NULL)
		return conf_error(ctx, "out of memory");
	env[c->c_nenv++] = dup;
	env[c->c_nenv] = NULL;
	return 0;
}

static int
conf_env_clear(struct conf_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	return conf_onoff(ctx, "env_clear", argv[1], &ctx->conf->c_env_clear);
}

/* The PATH the workers get (see proc.c), for finding their command. */
static const char *
conf_env_path(const struct conf *c)
{
	const char	*v;
	int		 i;

	for (i = 0; i < c->c_nenv; i++) {
		if (strncmp(c->c_env[i], "PATH=", 5) == 0)
			return c->c_env[i] + 5;
		if (strcmp(c->c_env[i], "PATH") == 0 &&
		    (v = getenv("PATH")) != NULL)
			return v;
	}
	if (!c->c_env_clear && (v = getenv("PATH")) != NULL)
		return v;
	return PORTER_ENV_PATH;
}

static int
conf_pidfile(struct conf_ctx *ctx, int argc, char **argv)
{
	char	*p = NULL;

	(void)argc;
	if (strcmp(argv[1], "off") != 0 && (p = strdup(argv[1])) == NULL)
		return conf_error(ctx, "out of memory");
	free(ctx->conf->c_pidfile);
	ctx->conf->c_pidfile = p;
	return 0;
}

/* Where a log file may be: not "", no NUL (the line has none). */
static int
conf_log_path(struct conf_ctx *ctx, const char *kw, const char *s, char **out)
{
	if (*s == '\0')
		return conf_error(ctx, "%s: empty path", kw);
	if ((*out = strdup(s)) == NULL)
		return conf_error(ctx, "out of memory");
	return 0;
}

/* log_format text | json */
static int
conf_log_format(struct conf_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	if (strcmp(argv[1], "text") == 0)
		ctx->conf->c_log_json = 0;
	else if (strcmp(argv[1], "json") == 0)
		ctx->conf->c_log_json = 1;
	else
		return conf_error(ctx, "log_format: expected text or json, "
		    "not \"%s\"", argv[1]);
	return 0;
}

/* error_log PATH | stderr */
static int
conf_error_log(struct conf_ctx *ctx, int argc, char **argv)
{
	char	*p = NULL;

	(void)argc;
	if (strcmp(argv[1], "stderr") != 0 &&
	    conf_log_path(ctx, "error_log", argv[1], &p) == -1)
		return -1;
	free(ctx->conf->c_error_log);
	ctx->conf->c_error_log = p;
	return 0;
}

/* access_log PATH [text | json] | off */
static int
conf_access_log(struct conf_ctx *ctx, int argc, char **argv)
{
	struct conf	*c = ctx->conf;
	char		*p = NULL;
	int		 json = 0;

	if (strcmp(argv[1], "off") == 0) {
		if (argc > 2)
			return conf_error(ctx, "access_log: off takes nothing "
			    "after it");
	} else {
		if (argc > 2 && strcmp(argv[2], "json") == 0)
			json = 1;
		else if (argc > 2 && strcmp(argv[2], "text") != 0)
			return conf_error(ctx, "access_log: expected text or "
			    "json after the path, not \"%s\"", argv[2]);
		if (conf_log_path(ctx, "access_log", argv[1], &p) == -1)
			return -1;
	}
	free(c->c_access_log);
	c->c_access_log = p;
	c->c_access_json = json;
	return 0;
}

/*
 * upstream, health_check, max_fails, fail_timeout, resolver, resolve_min,
 * resolve_max, control: upstream.c parses them.
 */
static int
conf_upstream(struct conf_ctx *ctx, int argc, char **argv)
{
	char	*msg = NULL;
	int	 rv;

	if ((rv = upstream_conf_line(ctx->conf, argc, argv, ctx->line,
	    &msg)) == -1)
		conf_error(ctx, "%s", msg ? msg : "out of memory");
	free(msg);
	return rv;
}

static int
conf_kwcmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct keyword *)elem)->k_name);
}

/*
 * Split a line into words: blanks separate, '#' starts a comment,
 * "double quotes" group and take \" and \\ escapes. Returns the count,
 * -1 on an unterminated quote or too many words.
 */
static int
conf_split(char *line, char **words, int max)
{
	char	*p = line, *out;
	int	 n = 0;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (*p == '\0' || *p == '#')
			return n;
		if (n == max)
			return -1;
		words[n++] = out = p;
		if (*p == '"') {
			words[n - 1] = out = ++p;
			while (*p != '"') {
				if (*p == '\0')
					return -1;
				if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
					p++;
				*out++ = *p++;
			}
			p++;
			if (*p != '\0' && *p != ' ' && *p != '\t' &&
			    *p != '\r' && *p != '#')
				return -1;
		} else {
			while (*p != '\0' && *p != ' ' && *p != '\t' &&
			    *p != '\r' && *p != '#')
				out++, p++;
		}
		if (*p == '\0') {
			*out = '\0';
			return n;
		}
		if (*p == '#') {
			*out = '\0';
			return n;
		}
		p++;
		*out = '\0';
	}
}

static int
conf_line(struct conf_ctx *ctx, char *line)
{
	const struct keyword	*kw;
	char			*words[CONF_MAX_WORDS];
	int			 n, argc, idx;

	if ((n = conf_split(line, words, CONF_MAX_WORDS)) == -1)
		return conf_error(ctx, "unterminated quote or more than %d "
		    "words", CONF_MAX_WORDS);
	if (n == 0)
		return 0;
	kw = bsearch(words[0], keywords, nitems(keywords), sizeof(*kw),
	    conf_kwcmp);
	if (kw == NULL)
		return conf_error(ctx, "unknown directive \"%s\"", words[0]);
	argc = n - 1;
	if (argc < kw->k_min || (kw->k_max != -1 && argc > kw->k_max)) {
		if (kw->k_min == kw->k_max)
			return conf_error(ctx, "%s: takes %d argument%s, "
			    "not %d", kw->k_name, kw->k_min,
			    kw->k_min == 1 ? "" : "s", argc);
		if (kw->k_max != -1)
			return conf_error(ctx, "%s: takes %d to %d arguments, "
			    "not %d", kw->k_name, kw->k_min, kw->k_max, argc);
		return conf_error(ctx, "%s: takes at least %d argument%s",
		    kw->k_name, kw->k_min, kw->k_min == 1 ? "" : "s");
	}
	idx = (int)(kw - keywords);
	if (!kw->k_repeat && ctx->conf->c_lines[idx] > 0)
		return conf_error(ctx, "%s: already set on line %d",
		    kw->k_name, ctx->conf->c_lines[idx]);
	if (kw->k_fn(ctx, n, words) == -1)
		return -1;
	ctx->conf->c_lines[idx] = ctx->line;
	return 0;
}

/* Parse a whole buffer; file names the buffer in error messages. */
int
conf_parse(struct conf *c, const char *file, const char *buf, size_t len,
    char **cause)
{
	struct conf_ctx	 ctx = { c, file, 0, cause };
	const char	*p = buf, *end = buf + len, *nl;
	char		*line;
	size_t		 n;
	int		 rv = 0;

	while (p < end && rv == 0) {
		ctx.line++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - p);
		if (memchr(p, '\0', n) != NULL)
			return conf_error(&ctx, "NUL byte in line");
		if ((line = malloc(n + 1)) == NULL)
			return conf_error(&ctx, "out of memory");
		memcpy(line, p, n);
		line[n] = '\0';
		rv = conf_line(&ctx, line);
		free(line);
		p = nl + 1;
	}
	return rv;
}

int
conf_load(struct conf *c, const char *path, char **cause)
{
	struct conf_ctx	 ctx = { c, path, 0, cause };
	struct stat	 st;
	char		*buf;
	ssize_t		 n;
	size_t		 off = 0;
	int		 fd, rv;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return conf_error(&ctx, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > CONF_MAX_SIZE) {
		close(fd);
		return conf_error(&ctx, "not a regular file of at most %d "
		    "bytes", CONF_MAX_SIZE);
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return conf_error(&ctx, "out of memory");
	}
	while (off < (size_t)st.st_size) {
		n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	free(c->c_path);
	if ((c->c_path = strdup(path)) == NULL) {
		free(buf);
		return conf_error(&ctx, "out of memory");
	}
	rv = conf_parse(c, path, buf, off, cause);
	free(buf);
	return rv;
}

/*
 * A command line override (-m, -w, -l): replaces what the file said, and
 * forgets the file's line so that conf_check() blames the command line.
 */
int
conf_set(struct conf *c, const char *key, const char *value, char **cause)
{
	struct conf_ctx		 ctx = { c, "command line", 0, cause };
	const struct keyword	*kw;
	char			*words[2];
	int			 rv;

	kw = bsearch(key, keywords, nitems(keywords), sizeof(*kw), conf_kwcmp);
	if (kw == NULL)
		return conf_error(&ctx, "unknown directive \"%s\"", key);
	if ((words[1] = strdup(value)) == NULL)
		return conf_error(&ctx, "out of memory");
	words[0] = (char *)(uintptr_t)kw->k_name;
	if (strcmp(key, "listen") == 0)
		c->c_listen_default = 1;
	if ((rv = kw->k_fn(&ctx, 2, words)) == 0)
		c->c_lines[kw - keywords] = 0;
	free(words[1]);
	return rv;
}

static int
conf_kwline(const struct conf *c, const char *name)
{
	const struct keyword	*kw;

	kw = bsearch(name, keywords, nitems(keywords), sizeof(*kw),
	    conf_kwcmp);
	return kw == NULL ? 0 : c->c_lines[kw - keywords];
}

/*
 * The first reference to the worker's port in s: {port}, ${PORT} or $PORT
 * (not $PORTS: a shell reads a longer name there). Returns where it
 * starts, with its length in *len, or NULL.
 */
const char *
conf_port_ref(const char *s, size_t *len)
{
	static const char *const refs[] = { "{port}", "${PORT}", "$PORT" };
	const char	*p;
	size_t		 i, n;
	char		 next;

	for (p = s; *p != '\0'; p++) {
		if (*p != '{' && *p != '$')
			continue;
		for (i = 0; i < nitems(refs); i++) {
			n = strlen(refs[i]);
			if (strncmp(p, refs[i], n) != 0)
				continue;
			next = p[n];
			if (i == 2 && (next == '_' || (next >= '0' &&
			    next <= '9') || ((next | 0x20) >= 'a' &&
			    (next | 0x20) <= 'z')))
				continue;
			*len = n;
			return p;
		}
	}
	return NULL;
}

/*
 * Worker ports inside the kernel's ephemeral range can be taken by any
 * outgoing connection on this host (the master's own to the workers
 * among them): worth a warning, not an error.
 */
static void
conf_check_ephemeral(const struct conf *c, int base, int n)
{
	FILE	*f;
	int	 lo, hi;

	if ((f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) ==
	    NULL)
		return;
	if (fscanf(f, "%d %d", &lo, &hi) == 2 && base <= hi &&
	    base + n - 1 >= lo)
		log_warnx("%s:%d: worker_ports %d-%d overlap the ephemeral "
		    "port range %d-%d (net.ipv4.ip_local_port_range): client "
		    "sockets on this host may take a worker's port",
		    c->c_path ? c->c_path : "command line",
		    conf_kwline(c, "worker_ports"), base, base + n - 1, lo, hi);
	fclose(f);
}

/*
 * The PROXY protocol is proxy mode's: in handoff and shared mode the
 * workers accept the client themselves and see its address, and a header
 * from a balancer in front would reach them unread (a node worker could
 * not take it off before Node's HTTP parser sees it).
 */
static int
conf_check_proxy(const struct conf *c, struct conf_ctx *ctx)
{
	int	i;

	if (c->c_mode == MODE_PROXY)
		return 0;
	if (c->c_proxy_protocol != 0) {
		ctx->line = conf_kwline(c, "proxy_protocol");
		return conf_error(ctx, "proxy_protocol v%d needs mode proxy "
		    "(in %s mode the workers see the client's address "
		    "themselves): use proxy_protocol off", c->c_proxy_protocol,
		    conf_mode_name(c->c_mode));
	}
	for (i = 0; i < c->c_nlisten; i++)
		if (c->c_listen_proxy[i] != 0) {
			ctx->line = c->c_listen_proxy[i];
			return conf_error(ctx, "listen %s proxy_protocol needs "
			    "mode proxy (mode is %s): porter reads the header, "
			    "and only in proxy mode can it pass the client's "
			    "address on", c->c_listen[i].a_text,
			    conf_mode_name(c->c_mode));
		}
	return 0;
}

/* Combinations that no single line can judge. */
int
conf_check(struct conf *c, char **cause)
{
	struct conf_ctx	 ctx = { c, c->c_path ? c->c_path : "command line", 0,
			    cause };
	int		 i, base;

	if (c->c_worker == WORKER_EXEC && c->c_mode == MODE_HANDOFF) {
		ctx.line = conf_kwline(c, "worker");
		if (ctx.line == 0)
			ctx.line = conf_kwline(c, "mode");
		return conf_error(&ctx, "worker exec cannot take handed-off "
		    "sockets: use mode proxy or shared, or a node worker");
	}
	if (c->c_worker == WORKER_EXEC &&
	    strchr(c->c_worker_argv[0], '/') == NULL &&
	    !conf_runnable(c->c_worker_argv[0], conf_env_path(c))) {
		ctx.line = conf_kwline(c, "worker");
		return conf_error(&ctx, "worker: exec: \"%s\" is not in the "
		    "workers' PATH (%s): see env and env_clear",
		    c->c_worker_argv[0], conf_env_path(c));
	}
	if (c->c_worker != WORKER_BUILTIN && c->c_mode != MODE_PROXY &&
	    c->c_worker_argv != NULL) {
		for (i = 0; c->c_worker_argv[i] != NULL; i++) {
			const char	*ref;
			size_t		 len;

			ref = conf_port_ref(c->c_worker_argv[i], &len);
			if (ref == NULL)
				continue;
			ctx.line = conf_kwline(c, "worker");
			return conf_error(&ctx, "worker: %.*s in \"%s\", but "
			    "only proxy mode gives a worker a port of its own "
			    "(in %s mode it gets the listening socket)",
			    (int)len, ref, c->c_worker_argv[i],
			    conf_mode_name(c->c_mode));
		}
	}
	if (c->c_ready_check != READY_CHECK_DEFAULT) {
		ctx.line = conf_kwline(c, "ready_check");
		if (c->c_worker == WORKER_BUILTIN)
			return conf_error(&ctx, "ready_check is for exec and "
			    "node workers: the built-in worker reports its "
			    "readiness itself");
		if (c->c_ready_check == READY_CHECK_LISTEN &&
		    c->c_worker != WORKER_NODE)
			return conf_error(&ctx, "ready_check listen is for node "
			    "workers: it waits for the app's listen() on "
			    "porter's port");
		if (c->c_mode != MODE_PROXY &&
		    c->c_ready_check != READY_CHECK_NOTIFY &&
		    c->c_ready_check != READY_CHECK_LISTEN)
			return conf_error(&ctx, "ready_check %s needs each "
			    "worker's own port, which only proxy mode gives; "
			    "in %s mode any worker could answer on the shared "
			    "port: use ready_check notify",
			    conf_ready_check_name(c->c_ready_check),
			    conf_mode_name(c->c_mode));
	}
	if (conf_check_proxy(c, &ctx) == -1)
		return -1;
	if (c->c_resolve_min > c->c_resolve_max) {
		ctx.line = conf_kwline(c, "resolve_max");
		if (ctx.line == 0)
			ctx.line = conf_kwline(c, "resolve_min");
		return conf_error(&ctx, "resolve_min (%d ms) is more than "
		    "resolve_max (%d ms)", c->c_resolve_min, c->c_resolve_max);
	}
	{
		char	*msg = NULL;

		if (upstream_conf_check(c, &ctx.line, &msg) == -1) {
			conf_error(&ctx, "%s", msg ? msg : "out of memory");
			free(msg);
			return -1;
		}
	}
	if (c->c_workers == 0 && (c->c_mode != MODE_PROXY ||
	    c->c_nupstreams == 0)) {
		ctx.line = conf_kwline(c, "workers");
		return conf_error(&ctx, "workers 0 needs mode proxy and "
		    "upstream lines: someone must take the clients");
	}
	if (c->c_access_log != NULL && c->c_mode != MODE_PROXY) {
		ctx.line = conf_kwline(c, "access_log");
		return conf_error(&ctx, "access_log: only proxy mode sees "
		    "connections end (mode is %s)", conf_mode_name(c->c_mode));
	}
	if (c->c_reuseport && c->c_mode != MODE_SHARED) {
		ctx.line = conf_kwline(c, "reuseport");
		return conf_error(&ctx, "reuseport on needs mode shared "
		    "(mode is %s)", conf_mode_name(c->c_mode));
	}
	base = addr_port(&c->c_worker_ports);
	if (base + 2 * c->c_workers - 1 > 65535) {
		ctx.line = conf_kwline(c, "worker_ports");
		if (ctx.line == 0)
			ctx.line = conf_kwline(c, "workers");
		return conf_error(&ctx, "worker_ports: %d workers from port %d "
		    "run past 65535", c->c_workers, base);
	}
	if (c->c_mode == MODE_PROXY)
		conf_check_ephemeral(c, base, 2 * c->c_workers);
	for (i = 0; i < c->c_nlisten; i++) {
		int	 p = addr_port(&c->c_listen[i]);

		if (c->c_worker_ports.a_ss.ss_family ==
		    c->c_listen[i].a_ss.ss_family && p >= base &&
		    p < base + 2 * c->c_workers) {
			ctx.line = conf_kwline(c, "worker_ports");
			if (ctx.line == 0)
				ctx.line = conf_kwline(c, "listen");
			return conf_error(&ctx, "worker_ports: ports %d-%d "
			    "overlap listen %s", base,
			    base + 2 * c->c_workers - 1,
			    c->c_listen[i].a_text);
		}
		if (c->c_status_on && addr_overlaps(&c->c_listen[i],
		    &c->c_status)) {
			ctx.line = conf_kwline(c, "status");
			return conf_error(&ctx, "status: %s is also a listen "
			    "address", c->c_status.a_text);
		}
	}
	return 0;
}

_Static_assert(nitems(keywords) <= nitems(((struct conf *)0)->c_lines),
    "struct conf c_lines is too small for the keyword table");

/*
 * Read and check a conf file with the command line's overrides, as at
 * start and on every reload. NULL and *cause on any error.
 */
struct conf *
conf_read(const char *path, const struct overrides *o, char **cause)
{
	struct conf	*c;

	if ((c = conf_new()) == NULL) {
		*cause = strdup("out of memory");
		return NULL;
	}
	if (conf_load(c, path, cause) == -1 ||
	    (o->o_mode != NULL && conf_set(c, "mode", o->o_mode, cause) ==
	    -1) || (o->o_workers != NULL && conf_set(c, "workers",
	    o->o_workers, cause) == -1) || (o->o_listen != NULL &&
	    conf_set(c, "listen", o->o_listen, cause) == -1) ||
	    conf_check(c, cause) == -1) {
		conf_free(c);
		return NULL;
	}
	return c;
}

/* Whether a and b listen on the same addresses, in the same order. */
int
conf_same_listen(const struct conf *a, const struct conf *b)
{
	int	i;

	if (a->c_nlisten != b->c_nlisten)
		return 0;
	for (i = 0; i < a->c_nlisten; i++)
		if (!addr_eq(&a->c_listen[i], &b->c_listen[i]))
			return 0;
	return 1;
}
