/*
 * porter: a reverse-proxy load balancer and worker supervisor.
 * One header for the whole program, one section per source file.
 */
#ifndef PORTER_H
#define PORTER_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evbuffer;
struct event;

#define PORTER_VERSION		PACKAGE_VERSION
#define PORTER_MAX_WORKERS	256
#define PORTER_MAX_LISTEN	8

#define __dead		__attribute__((__noreturn__))
#define __printflike(a, b) __attribute__((__format__(__printf__, a, b)))

#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/* Arm a libevent timer ms milliseconds from now (an int or a long). */
#define timer_arm(ev, ms) do {						\
	struct timeval	 timer_tv_;					\
									\
	evtimer_add((ev), clock_tv((long long)(ms), &timer_tv_));	\
} while (0)

/* Exit codes, part of the interface (design.md). */
#define EXIT_CONF	1	/* bad conf or usage */
#define EXIT_START	2	/* cannot bind or start */
#define EXIT_GAVEUP	3	/* workers kept dying */

enum mode {
	MODE_PROXY = 0,
	MODE_HANDOFF,
	MODE_SHARED,
};

enum relay_io {
	RELAY_IO_EPOLL = 0,
	RELAY_IO_URING,
};

enum balance_kind {
	BALANCE_RR = 0,
	BALANCE_LEASTCONN,
};

enum worker_kind {
	WORKER_BUILTIN = 0,
	WORKER_EXEC,
	WORKER_NODE,
};

enum ready_check {
	READY_CHECK_DEFAULT = 0,	/* proxy: connect; else: once exec'd */
	READY_CHECK_CONNECT,		/* its port accepts */
	READY_CHECK_HTTP,		/* GET c_ready_path answers 2xx */
	READY_CHECK_NOTIFY,		/* it sends READY=1 (sd_notify) */
	READY_CHECK_LISTEN,		/* node: it listens on porter's port */
};

struct addr {
	struct sockaddr_storage	a_ss;
	socklen_t		a_len;
	char			a_text[64];	/* as written: "0.0.0.0:80" */
};

/*
 * upstream.c's part of a conf: the upstream lines, how targets are
 * checked (health.c), and where names are resolved (resolve.c).
 */
enum upstream_kind {
	UPSTREAM_STATIC = 0,	/* ADDR:PORT, a name resolved once at load */
	UPSTREAM_RESOLVE,	/* NAME:PORT resolve: A/AAAA records followed */
	UPSTREAM_SRV,		/* _SERVICE._PROTO.NAME resolve srv */
};
#define UPSTREAM_NAME_MAX	256
struct upstream_line {
	enum upstream_kind	 ul_kind;
	char			 ul_name[UPSTREAM_NAME_MAX]; /* as written */
	char			 ul_host[UPSTREAM_NAME_MAX]; /* to resolve */
	int			 ul_port;	/* 0 with SRV: the records' */
	struct addr		 ul_addr;	/* UPSTREAM_STATIC */
	int			 ul_weight;	/* -1: not given (SRV's own) */
	int			 ul_backup;
	int			 ul_line;	/* in the conf file; 0: runtime */
};
enum health_kind {
	HEALTH_NONE = 0,	/* no active checks: passive only */
	HEALTH_TCP,		/* the port accepts */
	HEALTH_HTTP,		/* GET hc_path answers 2xx or 3xx */
};
struct health_conf {
	enum health_kind	 hc_kind;
	char			*hc_path;	/* HEALTH_HTTP */
	int			 hc_interval;	/* ms between checks */
	int			 hc_timeout;	/* ms a check may take */
	int			 hc_rise;	/* successes in a row: up */
	int			 hc_fall;	/* failures in a row: down */
	int			 hc_max_fails;	/* passive; 0: off */
	int			 hc_fail_timeout; /* ms: window, and time out */
};
#define RESOLVE_MAX_SERVERS	3

struct conf {
	char			*c_path;
	struct addr		 c_listen[PORTER_MAX_LISTEN];
	int			 c_nlisten;
	enum mode		 c_mode;
	int			 c_workers;	/* resolved: "auto" is the CPU count */
	enum worker_kind	 c_worker;
	char			**c_worker_argv; /* exec and node; NULL-terminated */
	struct addr		 c_worker_ports; /* worker i listens on port + i */
	enum balance_kind	 c_balance;
	int			 c_reuseport;
	int			 c_max_connections;
	int			 c_handoff_window;
	int			 c_connect_timeout;	/* all timeouts in ms */
	int			 c_idle_timeout;
	int			 c_header_timeout;
	int			 c_graceful_timeout;
	int			 c_ready_timeout;
	int			 c_reload_probation; /* a new generation's trial */
	int			 c_stop_signal;	/* 0: the worker kind's own */
	int			 c_shutdown_delay; /* still serving, not ready */
	enum ready_check	 c_ready_check;	/* exec and node workers */
	char			*c_ready_path;	/* ready_check http PATH */
	int			 c_relay_threads;	/* proxy mode; 0: none */
	int			 c_relay_io;	/* RELAY_IO_* */
	int			 c_restart_limit;
	int			 c_restart_window;
	int			 c_status_on;
	struct addr		 c_status;
	char			*c_user;
	char			*c_pidfile;
	int			 c_log_json;	/* log_format json */
	char			*c_error_log;	/* NULL: stderr */
	char			*c_access_log;	/* NULL: off */
	int			 c_access_json;
	char			**c_env;	/* "NAME" or "NAME=VALUE" */
	int			 c_nenv;
	int			 c_env_clear;	/* workers start from nothing */
	int			 c_refs;	/* workers made from it, + master */
	int			 c_listen_default; /* no listen line yet */
	int			 c_listen_proxy[PORTER_MAX_LISTEN];
					/* listen ... proxy_protocol */
	int			 c_proxy_protocol; /* to workers: 0, 1 or 2 */
	int			 c_lines[48];	/* where each keyword was set */
	/* upstream.c, health.c, resolve.c, control.c */
	struct upstream_line	*c_upstreams;	/* upstream lines, in order */
	int			 c_nupstreams;
	struct health_conf	 c_health;
	struct addr		 c_resolvers[RESOLVE_MAX_SERVERS];
	int			 c_nresolvers;	/* 0: the system's */
	int			 c_resolve_min;	/* ms: bounds on a record's TTL */
	int			 c_resolve_max;
	char			*c_control;	/* control socket, or NULL */
};

/* log.c */
void	log_init(int, const char *);
void	log_setname(const char *);
int	log_getverbose(void);
void	log_warn(const char *, ...) __printflike(1, 2);
void	log_warnx(const char *, ...) __printflike(1, 2);
void	log_info(const char *, ...) __printflike(1, 2);
void	log_debug(const char *, ...) __printflike(1, 2);
__dead void fatal(const char *, ...) __printflike(1, 2);
__dead void fatalx(const char *, ...) __printflike(1, 2);
#define LOG_WINDOW	10000	/* ms */
#define LOG_BURST	5	/* warnings of one cause per window */
struct log_limit {
	uint64_t	ll_since;	/* the window's start, ms; 0: none yet */
	unsigned int	ll_logged;
	uint64_t	ll_dropped;
};
void	log_warnx_limit(struct log_limit *, const char *, ...)
	    __printflike(2, 3);
#define LOG_TIME_LEN	32	/* "2026-11-24T12:34:56.789Z" and a NUL */
#define LOG_JSON_MAX	4096	/* a JSON log line, at most */
struct timespec;
void	log_setformat(int);
int	log_getformat(void);
int	log_open(const char *);
int	log_reopen(void);
const char *log_file(void);
size_t	log_json_escape(char *, size_t, const char *, size_t);
size_t	log_time_rfc3339(char *, size_t, const struct timespec *);

/* conf.c */
/* With env_clear on and no PATH line, the workers' PATH. */
#define PORTER_ENV_PATH		"/usr/local/bin:/usr/bin:/bin"
struct overrides {			/* -m, -w, -l: outlive reloads */
	const char	*o_mode;
	const char	*o_workers;
	const char	*o_listen;
};
struct conf	*conf_new(void);
void		 conf_free_argv(char **);
void		 conf_free(struct conf *);
struct conf	*conf_ref(struct conf *);
void		 conf_unref(struct conf *);
struct conf	*conf_read(const char *, const struct overrides *, char **);
int		 conf_same_listen(const struct conf *, const struct conf *);
int		 conf_load(struct conf *, const char *, char **);
int		 conf_parse(struct conf *, const char *, const char *, size_t,
		    char **);
int		 conf_set(struct conf *, const char *, const char *, char **);
int		 conf_check(struct conf *, char **);
int		 conf_parse_addr(const char *, struct addr *, int);
int		 conf_parse_duration(const char *, int *);
const char	*conf_port_ref(const char *, size_t *);
const char	*conf_mode_name(enum mode);
const char	*conf_balance_name(enum balance_kind);
const char	*conf_worker_name(enum worker_kind);
const char	*conf_signal_name(int);
const char	*conf_ready_check_name(enum ready_check);

/* balance.c */
struct worker;
struct target;
struct balance {
	enum balance_kind	b_kind;
	unsigned int		b_next;		/* round-robin cursor */
};
typedef int (*balance_usable_fn)(const struct worker *, void *);
int	balance_pick(struct balance *, struct worker *const *, int,
	    balance_usable_fn, void *);
/* Targets (upstream.c): weighted, backups last. */
int	balance_pick_target(struct balance *, struct target *const *, int,
	    int (*)(const struct target *, void *), void *);

/* health.c */
enum health_state {
	HEALTH_UP = 0,
	HEALTH_DOWN,
};
struct health {
	enum health_state	 h_state;
	int			 h_run;		/* active results in a row that
						   go against h_state */
	int			 h_passive;	/* down by passive failures */
	int			 h_nfails;	/* passive failures in the window */
	uint64_t		 h_window;	/* ms: the window's start */
	uint64_t		 h_until;	/* passive down, no active checks:
						   tried again from then (ms) */
};
struct probe;
void		 health_reset(struct health *);
enum health_state health_active(struct health *, const struct health_conf *,
		    int);
enum health_state health_passive(struct health *, const struct health_conf *,
		    uint64_t);
enum health_state health_expire(struct health *, const struct health_conf *,
		    uint64_t);
const char	*health_state_name(enum health_state);
void		 health_probe_start(struct target *, int);
void		 health_probe_stop(struct target *);
int		 health_request(char *, size_t, const char *,
		    const struct addr *, int);

/* upstream.c */
enum target_admin {
	TARGET_READY = 0,	/* takes new connections (if up) */
	TARGET_DRAIN,		/* checked, takes none: live ones finish */
	TARGET_MAINT,		/* not even checked */
};
struct upgroup;
struct target {
	TAILQ_ENTRY(target)	 t_entry;	/* remote ones: in the list */
	uint64_t		 t_serial;
	struct worker		*t_worker;	/* a local worker's, or NULL */
	struct upgroup		*t_group;	/* remote: its upstream line */
	struct addr		 t_addr;	/* remote: where it is */
	char			 t_name[64];	/* "ADDR:PORT" or "worker N" */
	int			 t_weight;
	int			 t_base_weight;	/* its source's: line or record */
	int			 t_backup;
	enum target_admin	 t_admin;
	int			 t_runtime;	/* changed by the control socket */
	struct health		 t_health;
	struct probe		*t_probe;	/* active checks, or NULL */
	int64_t			 t_cw;		/* smooth weighted round-robin */
	unsigned int		 t_active;	/* live connections */
	uint64_t		 t_total;	/* connections relayed to it */
	uint64_t		 t_failures;	/* failed connects, resets, checks */
	uint64_t		 t_checked;	/* ms (clock_ms) of the last check */
	int			 t_check_ok;
	char			 t_check_why[80];
	unsigned int		 t_holds;	/* relays pointing here */
	int			 t_gone;	/* removed: free at t_holds 0 */
	struct log_limit	 t_lim;		/* its "down" lines */
};
struct upgroup {
	TAILQ_ENTRY(upgroup)	 g_entry;
	struct upstream_line	 g_line;	/* what it is made from */
	int			 g_runtime;	/* added by the control socket */
	struct resolving	*g_res;		/* resolve.c's, or NULL */
	uint64_t		 g_resolved;	/* ms of the last good answer */
	uint64_t		 g_next;	/* ms of the next query */
	char			 g_error[96];	/* the last failure, or "" */
};
/* What a resolution found: one target. */
struct resolved {
	struct sockaddr_storage	 rs_ss;		/* with the port */
	socklen_t		 rs_len;
	int			 rs_weight;
	int			 rs_backup;
};
#define UPSTREAM_MAX_TARGETS	1024
void		 upstream_conf_init(struct conf *);
void		 upstream_conf_free(struct conf *);
int		 upstream_conf_line(struct conf *, int, char **, int, char **);
int		 upstream_conf_check(const struct conf *, int *, char **);
int		 upstream_parse(int, char **, int, struct upstream_line *,
		    char **);
int		 upstream_start(char **);
void		 upstream_reload(struct conf *, struct conf *);
void		 upstream_stop(void);
int		 upstream_worker_new(struct worker *);
void		 upstream_worker_ready(struct worker *);
void		 upstream_worker_free(struct worker *);
struct target	*upstream_pick(const uint64_t *, int);
int		 upstream_count(void);
int		 upstream_ready_count(void);
int		 upstream_remote_count(void);
const struct addr *upstream_addr(const struct target *);
int		 upstream_proxy_protocol(const struct target *);
void		 upstream_attach(struct target *);
void		 upstream_detach(struct target *);
void		 upstream_relayed(struct target *, int *, int *);
void		 upstream_closed(struct target *, int);
void		 upstream_failed(struct target *, const char *);
void		 upstream_check_done(struct target *, int, const char *);
void		 upstream_resolved(struct upgroup *, const struct resolved *,
		    int);
void		 upstream_status_json(struct evbuffer *);
void		 upstream_status_metrics(struct evbuffer *);
struct target	*upstream_find(const char *);
struct upgroup	*upstream_find_group(const char *);
int		 upstream_set_admin(struct target *, enum target_admin,
		    const char *);
int		 upstream_set_weight(struct target *, int, const char *);
int		 upstream_add(const struct upstream_line *, char **);
int		 upstream_del(const char *, char **);
const char	*upstream_admin_name(enum target_admin);
void		 upstream_show(struct evbuffer *);

/* resolve.c */
#define RESOLVE_MAX_ADDRS	64	/* targets one name may give */
struct resolving;
int		 resolve_setup(const struct conf *, char **);
void		 resolve_free(void);
int		 resolve_watch(struct upgroup *);
void		 resolve_unwatch(struct upgroup *);
int		 resolve_srv_ttl(const unsigned char *, size_t, unsigned int *);
int		 resolve_next_ms(long long, int, int);

/* control.c */
#define CONTROL_MAX_LINE	1024
#define CONTROL_MAX_WORDS	16
enum control_verb {
	CONTROL_HELP = 0,
	CONTROL_SHOW_WORKERS,
	CONTROL_SHOW_UPSTREAMS,
	CONTROL_SET_STATE,
	CONTROL_SET_WEIGHT,
	CONTROL_ADD_UPSTREAM,
	CONTROL_DEL_UPSTREAM,
	CONTROL_SCALE,
	CONTROL_RELOAD,
};
struct control_cmd {
	enum control_verb	 cc_verb;
	char			*cc_target;	/* set, del: ADDR:PORT or NAME */
	enum target_admin	 cc_admin;	/* set upstream */
	int			 cc_n;		/* set weight, scale */
	int			 cc_argc;	/* add upstream: the conf words */
	char			*cc_argv[CONTROL_MAX_WORDS];
};
int		 control_parse(char *, struct control_cmd *, const char **);
int		 control_start(const char *, char **);
void		 control_stop(void);
const char	*control_path(void);
int		 control_client(const char *, int, char **);

/* channel.c */
#define CHANNEL_MAX_LINE	65536
#define CHANNEL_MAX_FDS		64	/* received, not yet taken */
#define CHANNEL_BATCH_FDS	8	/* per sendmsg to a porter worker */
#define CHANNEL_BATCH_BYTES	2048	/* ... whose messages start in these */
struct channel;
typedef void (*channel_msg_fn)(struct channel *, const char *, size_t,
    void *);
typedef void (*channel_close_fn)(struct channel *, const char *, void *);
struct channel	*channel_new(struct event_base *, int, channel_msg_fn,
		    channel_close_fn, void *);
void		 channel_free(struct channel *);
void		 channel_batch(struct channel *, int);
int		 channel_send(struct channel *, const char *, size_t, int);
int		 channel_sendf(struct channel *, int, const char *, ...)
		    __printflike(3, 4);
int		 channel_take_fd(struct channel *);
size_t		 channel_pending(const struct channel *);

/* json.c */
#define JSON_MAX_DEPTH	64
enum json_type {
	JSON_NONE = 0,		/* absent */
	JSON_NULL,
	JSON_FALSE,
	JSON_TRUE,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};
struct json_val {
	enum json_type	 j_type;
	const char	*j_p;		/* its text (strings: with quotes) */
	size_t		 j_len;
};
typedef void (*json_member_fn)(const struct json_val *,
    const struct json_val *, void *);
int	json_scan(const char *, size_t, struct json_val *, json_member_fn,
	    void *);
int	json_eq(const struct json_val *, const char *);
ssize_t	json_str(const struct json_val *, char *, size_t);
int	json_int(const struct json_val *, long long *);
int	json_elems(const struct json_val *, json_member_fn, void *);

/* http.c */
#define HTTP_MAX_URL		8192
#define HTTP_MAX_HEADERS	16384
#define HTTP_MAX_BYTES		(64L * 1024 * 1024)
#define HTTP_MAX_DELAY		60000L
enum http_feed {
	FEED_MORE = 0,		/* feed more bytes */
	FEED_REQUEST,		/* a request is complete: serve it */
	FEED_ERROR,		/* answered with an error: close after write */
};
enum http_route {
	ROUTE_ROOT = 0,
	ROUTE_BYTES,
	ROUTE_DELAY,
	ROUTE_NOTFOUND,
	ROUTE_BAD,
};
struct http_req {
	int		 r_method;	/* enum http_method */
	int		 r_keepalive;
	int		 r_head;	/* HEAD: headers only */
	char		 r_path[HTTP_MAX_URL + 1];
	size_t		 r_pathlen;
};
struct http_site {			/* who answers */
	int		 s_id;
	pid_t		 s_pid;
	const char	*s_mode;
	const char	*s_header;	/* "X-Porter-Worker: ID\r\n" */
	int		 s_closing;	/* draining: no more keep-alive */
	const char	*s_client;	/* "ADDR:PORT" shown on /, or NULL */
};
struct http_conn;
struct http_conn *http_conn_new(void);
void		 http_conn_free(struct http_conn *);
enum http_feed http_conn_feed(struct http_conn *, struct evbuffer *,
		    struct evbuffer *);
const struct http_req *http_conn_request(const struct http_conn *);
int		 http_conn_partial(const struct http_conn *);
void		 http_reply_error(struct evbuffer *, int);
void		 http_add_bytes(struct evbuffer *, size_t);
int		 http_url_piece(char *, size_t *, size_t, const char *, size_t);
int		 http_header_piece(size_t *, size_t, size_t);
enum http_route	 http_route(const char *, size_t, long *);
int		 http_serve(struct evbuffer *, const struct http_req *,
		    const struct http_site *, size_t *);

/* worker.c */
__dead void	worker_main(int, int, enum mode, int, const struct conf *);
__dead void	worker_exec_main(void);

/* master.c */
enum ready_by {
	READY_NONE = 0,		/* not ready (yet) */
	READY_REPORT,		/* the built-in worker said so on its channel */
	READY_STARTED,		/* exec'd; nothing else checked */
	READY_CONNECT,		/* its port accepted */
	READY_HTTP,		/* its ready_check URL answered 2xx */
	READY_NOTIFY,		/* it sent READY=1 */
	READY_LISTENING,	/* node: listening on porter's port */
	READY_CLASSIC,		/* node: running, a classic script */
};
enum worker_state {
	WS_IDLE = 0,		/* no process: waiting for (re)start */
	WS_STARTING,		/* forked, not ready yet */
	WS_READY,		/* takes connections */
	WS_DRAINING,		/* finishing its connections, takes no more */
};
struct handoff_worker;
struct cluster_worker;
struct worker {
	int			 w_id;		/* slot: shown, and in port + id */
	uint64_t		 w_serial;	/* unique to this struct */
	pid_t			 w_pid;
	enum worker_state	 w_state;
	enum worker_kind	 w_kind;	/* fixed when made: a reload */
	enum mode		 w_mode;	/* may change them for new ones */
	int			 w_retiring;	/* draining, not to be restarted */
	unsigned int		 w_gen;		/* conf generation (reloads) */
	unsigned int		 w_holds;	/* relays pointing here */
	int			 w_gone;	/* out of the table: free at 0 */
	struct conf		*w_conf;	/* the conf it was made from */
	struct channel		*w_chan;	/* built-in and node workers */
	int			 w_port;	/* proxy mode: private port */
	struct addr		 w_addr;	/* the same, as an address */
	int			 w_execfd;	/* exec-failure pipe */
	struct event		*w_execev;
	struct ready		*w_ready;	/* ready.c: its checks and
						   NOTIFY_SOCKET, or NULL */
	enum ready_by		 w_ready_by;	/* how it was judged ready */
	unsigned int		 w_active;	/* live connections */
	uint64_t		 w_accepted;
	uint64_t		 w_accepted_base; /* before this process (shared) */
	unsigned int		 w_restarts;
	unsigned int		 w_failures;	/* early deaths in a row */
	int			 w_replace;	/* to be replaced: w_timer */
	uint64_t		 w_replace_at;	/* ms: when */
	const char		*w_stop_held;	/* proxy: stop it once its relays
						   are gone (why) */
	int			 w_killsig;	/* porter's last signal to it */
	const char		*w_killwhy;	/* and why */
	uint64_t		 w_started;	/* ms (clock_ms) */
	pid_t			 w_oldgrp;	/* the last process's group, while
						   what is left of it dies */
	uint64_t		 w_oldgrp_until; /* ms: waited for no longer */
	struct event		*w_timer;	/* back-off, ready wait, grace */
	struct handoff_worker	*w_handoff;	/* handoff mode's, or NULL */
	struct cluster_worker	*w_cluster;	/* node workers' */
	struct log_limit	 w_lim_msg;	/* its bad messages */
	struct target		*w_target;	/* upstream.c: how it is balanced
						   and checked (proxy mode) */
};
struct master_stats {
	uint64_t	accepted;
	uint64_t	relayed;
	uint64_t	handed_off;
	uint64_t	refused;
	unsigned int	active;		/* client sockets the master holds */
	int		peak_fds;
};
struct master {
	struct event_base	*m_base;
	struct conf		*m_conf;
	const char		*m_confpath;
	pid_t			 m_pid;
	int			 m_exefd;	/* porter's own binary, for
						   built-in workers to exec */
	struct worker		*m_workers[PORTER_MAX_WORKERS];
	int			 m_nworkers;
	struct balance		 m_balance;
	struct master_stats	 m_stats;
	uint64_t		 m_started;	/* ms (clock_ms) */
	int			 m_stopping;	/* 1 fast, 2 graceful */
	int			 m_quit_sent;	/* graceful: workers told */
	int			 m_exitcode;
	uint64_t		*m_restarts;	/* recent restart times, ms */
	int			 m_nrestarts;
	int			 m_basefds;	/* fds held with no clients */
	int			 m_dynfds;	/* fds held for clients */
	unsigned int		 m_gen;		/* workers taking connections */
	struct conf		*m_next;	/* reload under way: its conf */
	struct conf		*m_prev;	/* what the last reload replaced */
	int			 m_giveup_held;	/* restart_limit hit in a reload */
	int			 m_delaying;	/* in shutdown_delay: the stop
						   to come (1 fast, 2 graceful) */
	int			 m_sd_ready;	/* READY=1 sent */
	struct overrides	 m_overrides;
};
extern struct master	*master;
int		 master_run(struct conf *, const char *, const struct overrides *);
const char	*master_state_name(enum worker_state);
void		 master_worker_set_state(struct worker *, enum worker_state);
void		 master_kill(struct worker *, int, const char *);
int		 master_worker_usable(const struct worker *, void *);
int		 master_worker_port(const struct worker *);
int		 master_knows_active(const struct worker *);
void		 master_worker_ready(struct worker *, enum ready_by);
int		 master_start_workers(struct conf *, unsigned int);
void		 master_retire(struct worker *, int);
void		 master_replace(struct worker *, const char *);
void		 master_send_servers(struct worker *);
void		 master_reload_done(int);
int		 master_ready_count(void);
int		 master_is_ready(const char **);
void		 master_sd_reloading(void);
void		 master_update_accepting(void);
unsigned int	 master_load(void);
int		 master_count_fds(void);
int		 master_pidfile(const char *);
int		 master_scale_to(int, char **);
/* connection events: the one door to the counters, fds and accepting */
void		 master_conn_accepted(void);
void		 master_conn_attach(struct worker *);
void		 master_conn_detach(struct worker *);
void		 master_conn_relayed(struct worker *);
void		 master_conn_handed(struct worker *);
void		 master_conn_closed(struct worker *);
void		 master_conn_refused(void);
int		 master_logs(const struct conf *);

/* cluster.c */
struct ipc_msg;
int		 cluster_worker_new(struct worker *);
void		 cluster_worker_started(struct worker *);
void		 cluster_worker_gone(struct worker *);
unsigned int	 cluster_worker_id(const struct worker *);
void		 cluster_msg(struct worker *, const struct ipc_msg *);
int		 cluster_probe_answer(struct worker *);
void		 cluster_settle(struct worker *);
int		 cluster_disconnect(struct worker *);
int		 cluster_takes_front(const struct worker *);
const char	*cluster_front_key(const struct worker *);
int		 cluster_holds_port(const struct worker *);
const char	*cluster_style(const struct worker *);
const char	*cluster_not_ready(const struct worker *);
void		 cluster_stop_accepting(void);
void		 cluster_status(struct evbuffer *);

/* reload.c */
void		 reload_start(void);
void		 reload_check(void);
void		 reload_abort(const char *);
int		 reload_rollback(void);
int		 reload_pending(void);
void		 reload_free(void);

/* proc.c */
int		 proc_setup_user(const char *);
int		 proc_check_worker(const struct conf *);
int		 proc_port(struct worker *);
void		 proc_reap_orphans(void);
pid_t		 proc_spawn(struct worker *, int, const int *, int);
void		 proc_forget(struct worker *);

/* ready.c */
#define READY_NOTICE_MAX	128	/* bytes of STATUS= kept */
struct ready;
int		 ready_open(struct worker *);
const char	*ready_notify_name(const struct worker *);
void		 ready_started(struct worker *);
void		 ready_forget(struct worker *);
const char	*ready_by_name(enum ready_by);
const char	*ready_how(const struct worker *, enum ready_by);
const char	*ready_notice(const struct worker *);
void		 ready_cancel(struct worker *);
int		 ready_http_status(const char *, size_t);

/* listener.c */
typedef void (*listener_accept_fn)(int, struct sockaddr *, socklen_t,
    void *);
struct listener;
int		 listener_bind(const struct addr *, int, int, char **);
struct listener	*listener_new(struct event_base *, int, listener_accept_fn,
		    void *);
void		 listener_free(struct listener *);
void		 listener_set_paused(struct listener *, int);
int		 listener_fd(int);
int		 listener_open(const struct conf *, char **);
void		 listener_serve(enum mode);
int		 listener_accepting(int);
void		 listener_close_all(void);
int		 listener_slot_open(int, const struct conf *, char **);
void		 listener_slot_close(int);
const int	*listener_slot_fds(int, const struct conf *);

/* handoff.c */
int		 handoff_init(void);
void		 handoff_free(void);
struct handoff_worker *handoff_worker_new(struct worker *, int);
void		 handoff_worker_free(struct handoff_worker *);
void		 handoff_accept(int, struct sockaddr *, socklen_t, void *);
void		 handoff_ack(struct worker *);
void		 handoff_nack(struct worker *);
void		 handoff_accepted(struct worker *, long long, int);
struct handoff_group;
struct handoff_group *handoff_group_new(const char *);
void		 handoff_group_set_listener(struct handoff_group *,
		    struct listener *);
void		 handoff_group_free(struct handoff_group *);
void		 handoff_group_accept(int, struct sockaddr *, socklen_t, void *);
int		 handoff_join(struct worker *, struct handoff_group *);
void		 handoff_leave(struct worker *, struct handoff_group *);
void		 handoff_reclaim(struct worker *);
void		 handoff_kick(void);
void		 handoff_close_all(void);
void		 handoff_migrate(void);
unsigned int	 handoff_pending(void);

/* ring.c: an io_uring in a libevent loop */
#define RING_BUFS	64		/* provided buffers, per ring */
#define RING_BUFSZ	(64 * 1024)
#define RING_BGID	0		/* their group */
struct ring;
struct io_uring_sqe;
typedef void	(*ring_cqe_fn)(uint64_t, int, unsigned int, void *);
typedef void	(*ring_pass_fn)(struct ring *, void *);
struct ring	*ring_new(struct event_base *, ring_cqe_fn, ring_pass_fn, void *,
		    const char **);
void		 ring_free(struct ring *);
struct io_uring_sqe *ring_sqe(struct ring *);
char		*ring_buf(struct ring *, unsigned int);
void		 ring_buf_put(struct ring *, unsigned int);
int		 ring_bufs_free(const struct ring *);
void		 ring_wait(struct ring *);

/* relay.c */
void		 relay_accept(int, struct sockaddr *, socklen_t, void *);
void		 relay_kick(void);
void		 relay_adopt(int);
void		 relay_io_start(int);
int		 relay_threads_start(int);
void		 relay_threads_stop(void);
void		 relay_close_all(void);

/* access.c */
struct access_entry {			/* one relayed connection, ended */
	long long		 a_time_ms;	/* when it ended, epoch ms */
	struct sockaddr_storage	 a_client;
	struct sockaddr_storage	 a_local;	/* the listener's end */
	int			 a_worker;	/* id, or -1: none */
	int			 a_wport;
	uint64_t		 a_in;		/* client -> worker, bytes */
	uint64_t		 a_out;		/* worker -> client */
	uint64_t		 a_ms;		/* duration */
	const char		*a_end;		/* how it ended */
	const char		*a_upstream;	/* a remote target's "ADDR:PORT",
						   or NULL (a worker's) */
};
int		 access_open(const char *, int);
int		 access_reopen(void);
const char	*access_file(void);
int		 access_on(void);
size_t		 access_format(char *, size_t, const struct access_entry *,
		    int);
void		 access_write(const struct access_entry *);
void		 access_close(void);

/* status.c */
int	status_start(char **);
void	status_stop(void);
void	status_json_str(struct evbuffer *, const char *);

/* ipc.c */
enum ipc_cmd {
	IPC_NONE = 0,		/* no "cmd": a script's own message */
	IPC_OTHER,		/* one porter does not know */
	IPC_NODE_CLUSTER,
	IPC_NODE_HANDLE,
	IPC_NODE_HANDLE_ACK,
	IPC_NODE_HANDLE_NACK,
	IPC_PORTER_LOAD,
	IPC_PORTER_READY,
	IPC_PORTER_STDERR,	/* with an fd: the error_log, reopened */
};
enum ipc_act {
	IPC_ACT_NONE = 0,
	IPC_ACT_OTHER,
	IPC_ACT_CLOSE,
	IPC_ACT_DISCONNECT,
	IPC_ACT_EXITED,		/* exitedAfterDisconnect */
	IPC_ACT_LISTENING,
	IPC_ACT_NEWCONN,
	IPC_ACT_ONLINE,
	IPC_ACT_QUERYSERVER,
	IPC_ACT_SUICIDE,
};
enum ipc_type {
	IPC_TYPE_NONE = 0,
	IPC_TYPE_OTHER,
	IPC_TYPE_NATIVE,	/* net.Native */
	IPC_TYPE_SERVER,	/* net.Server */
	IPC_TYPE_SOCKET,	/* net.Socket */
};
#define IPC_ABSENT	LLONG_MIN	/* an integer member not there */
struct ipc_msg {			/* one received line, parsed once */
	enum ipc_cmd	 im_cmd;
	enum ipc_act	 im_act;
	enum ipc_type	 im_type;
	long long	 im_seq;
	long long	 im_ack;
	long long	 im_errno;
	long long	 im_pid;
	long long	 im_active;
	long long	 im_accepted;	/* a count (PORTER_LOAD) */
	int		 im_ok;		/* "accepted" true 1, false 0, else -1 */
	struct json_val	 im_key;	/* JSON_NONE if absent */
	struct json_val	 im_msg;
	/* queryServer and listening: raw, as they make Node's key */
	struct json_val	 im_address;
	struct json_val	 im_port;
	struct json_val	 im_addrtype;
	struct json_val	 im_fd;
	struct json_val	 im_index;
	struct json_val	 im_data;
	long long	 im_backlog;
	long long	 im_flags;
};
int	ipc_parse(const char *, size_t, struct ipc_msg *);
int	ipc_send_socket(struct channel *, int);
int	ipc_send_server(struct channel *, int);
int	ipc_send_ready(struct channel *, pid_t);
int	ipc_send_ack(struct channel *);
int	ipc_send_nack(struct channel *);
int	ipc_send_load(struct channel *, unsigned int, uint64_t);
int	ipc_send_suicide(struct channel *);
int	ipc_send_stderr(struct channel *, int);
#define CLUSTER_DATA_MAX	4096	/* a server's data, as JSON text */
int	ipc_send_probe(struct channel *);
int	ipc_send_query_reply(struct channel *, long long, int, const char *,
	    const char *, const struct sockaddr *, int);
long long ipc_send_newconn(struct channel *, int, const char *);
int	ipc_send_disconnect(struct channel *);
int	ipc_send_cluster_ack(struct channel *, long long);

/* proxy_proto.c */
#define PROXY_V1_MAX	107	/* a v1 line, CRLF included */
#define PROXY_HDR_MAX	2048	/* porter takes no longer header */
#define PROXY_OUT_MAX	108	/* what proxy_proto_build writes, at most */
struct proxy_hdr {
	int			 ph_version;	/* 1 or 2 */
	int			 ph_local;	/* no addresses: the connection's */
	struct sockaddr_storage	 ph_src;	/* the client */
	struct sockaddr_storage	 ph_dst;	/* where it connected */
	socklen_t		 ph_len;	/* of each; 0 with ph_local */
};
ssize_t		 proxy_proto_parse(const void *, size_t, struct proxy_hdr *,
		    const char **);
ssize_t		 proxy_proto_build(int, const struct sockaddr *,
		    const struct sockaddr *, char *, size_t);
const char	*proxy_proto_ntop(const struct sockaddr *, char *, size_t);

/* clock.c */
uint64_t	 clock_ms(void);
struct timeval	*clock_tv(long long, struct timeval *);
long long	 clock_tv_ms(const struct timeval *);

/* addr.c */
int	addr_port(const struct addr *);
void	addr_set_port(struct addr *, int);
int	addr_eq(const struct addr *, const struct addr *);
int	addr_overlaps(const struct addr *, const struct addr *);
void	addr_text(const struct addr *, char *, size_t);

/* sd.c */
void	sd_init(void);
int	sd_notifying(void);
void	sd_notify(const char *, ...) __printflike(1, 2);
unsigned long long sd_monotonic_usec(void);
int	sd_listen_take(const struct addr *);
int	sd_listen_left(void);
void	sd_listen_drop(void);

#endif /* PORTER_H */
