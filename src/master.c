/*
 * master.c: the master process. Owns the listeners and the worker table:
 * starts workers (proc.c), uses them once they are ready, restarts them
 * with a back-off, replaces and retires them, gives up past restart_limit,
 * and handles signals.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "porter.h"

#define BACKOFF_MIN	100	/* ms before restarting a worker that died young */
#define BACKOFF_MAX	5000
#define HEALTHY_AFTER	2000	/* ms of life that counts as a good start */
#define STOP_TIMEOUT	5000	/* ms between SIGTERM and SIGKILL on stop */

struct master		*master;

/*
 * The listening sockets, bound once and never closed before the master
 * stops: reloads and restarts refuse nobody. Where the master accepts
 * (proxy, handoff) a listener wraps a dup of each.
 */
static int		 listen_fds[PORTER_MAX_LISTEN];
static int		 nlistenfds;
static struct listener	*listeners[PORTER_MAX_LISTEN];
static int		 nlisteners;
static int		 listeners_paused;
static struct event	*ev_signal;	/* signalfd: no libevent signal state
					   for forked workers to inherit */
static int		 signal_fd = -1;
static struct event	*ev_stop;	/* graceful_timeout or kill timer */

static void	master_spawn(struct worker *);
static void	master_worker_free(struct worker *);
static void	master_worker_load(struct worker *, const char *, size_t);
static void	master_send_servers(struct worker *);
static void	master_signal_workers(int);
static void	master_stop(int, const char *);
static void	master_reap(void);
static void	master_replace(struct worker *, const char *);
static void	master_reload_abort(const char *);
static void	master_reload_commit(void);
static int	master_pidfile(const char *);

static const char *state_names[] = { "idle", "starting", "ready",
    "draining" };

const char *
worker_state_name(enum worker_state s)
{
	return state_names[s];
}

/* All state changes go through here, so the log tells the story. */
void
worker_set_state(struct worker *w, enum worker_state s)
{
	if (w->w_state == s)
		return;
	log_debug("worker %d (pid %ld): %s -> %s", w->w_id, (long)w->w_pid,
	    state_names[w->w_state], state_names[s]);
	w->w_state = s;
}

/* Ready, and of the generation that takes new connections. */
int
master_worker_usable(const struct worker *w, void *arg)
{
	(void)arg;
	return w->w_state == WS_READY && w->w_gen == master->m_gen;
}

/* Milliseconds on a clock that never jumps. */
uint64_t
master_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Descriptors this process holds right now. */
int
master_count_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;		/* the directory's own fd */
}

void
master_fds(int delta)
{
	master->m_dynfds += delta;
	if (master->m_basefds + master->m_dynfds > master->m_stats.peak_fds)
		master->m_stats.peak_fds = master->m_basefds +
		    master->m_dynfds;
}

/*
 * Live client connections: the master's relays in proxy mode; in the other
 * modes what the workers last reported, plus sockets not yet handed off.
 */
unsigned int
master_load(void)
{
	unsigned int	n = 0;
	int		i;

	if (master->m_conf->c_mode == MODE_PROXY)
		return master->m_stats.active;
	for (i = 0; i < master->m_nworkers; i++)
		n += master->m_workers[i]->w_active;
	if (master->m_conf->c_mode == MODE_HANDOFF)
		n += handoff_unacked();
	return n;
}

/*
 * Accept or not: not past max_connections, and in handoff mode not while
 * sockets wait for a worker with room (the kernel backlog holds clients).
 */
void
master_update_accepting(void)
{
	int	i, pause, full;

	if (master->m_stopping || nlisteners == 0)
		return;
	full = master_load() >= (unsigned int)master->m_conf->c_max_connections;
	pause = full || (master->m_conf->c_mode == MODE_HANDOFF &&
	    handoff_pending() > 0);
	if (pause == listeners_paused)
		return;
	listeners_paused = pause;
	for (i = 0; i < nlisteners; i++) {
		if (pause)
			listener_pause(listeners[i]);
		else
			listener_resume(listeners[i]);
	}
	if (pause && full)
		log_warnx("max_connections (%d) reached: not accepting",
		    master->m_conf->c_max_connections);
	else if (pause)
		log_debug("every worker's handoff window is full: not "
		    "accepting");
	else
		log_debug("accepting again");
}

/* A client connection was accepted (proxy mode). */
void
master_client_open(void)
{
	master->m_stats.active++;
	master_fds(1);
	master_update_accepting();
}

void
master_client_close(void)
{
	master->m_stats.active--;
	master_fds(-1);
	master_update_accepting();
	if (master->m_stopping)
		master_stop_check();
}

/*
 * Whether w's live connections are known: the master's own relays in proxy
 * mode, the built-in worker's reports otherwise. A Node worker does not say
 * when a socket it was handed closes.
 */
int
master_knows_active(const struct worker *w)
{
	return w->w_mode == MODE_PROXY || w->w_kind == WORKER_BUILTIN;
}

void
master_worker_conn(struct worker *w, int delta)
{
	if (delta > 0)
		w->w_accepted++;
	if (!master_knows_active(w))
		return;
	if (delta > 0)
		w->w_active++;
	else if (w->w_active > 0)
		w->w_active--;
}

/* How a worker of this kind is asked to finish its connections. */
static int
master_graceful_signal(const struct worker *w)
{
	return w->w_kind == WORKER_BUILTIN ? SIGQUIT : SIGTERM;
}

/* The worker takes connections from now on. */
void
master_worker_ready(struct worker *w)
{
	if (w->w_state != WS_STARTING)
		return;
	evtimer_del(w->w_timer);
	worker_set_state(w, WS_READY);
	if (w->w_mode == MODE_PROXY)
		log_info("worker %d (pid %ld) ready on port %d", w->w_id,
		    (long)w->w_pid, w->w_port);
	else
		log_info("worker %d (pid %ld) ready", w->w_id, (long)w->w_pid);
	if (master->m_stopping == 2)
		kill(w->w_pid, master_graceful_signal(w));
	else if (w->w_gen != master->m_gen)
		master_reload_commit();		/* when the last one is up */
	else if (w->w_mode == MODE_PROXY)
		relay_kick();
	else if (w->w_mode == MODE_HANDOFF)
		handoff_kick();
}

/*
 * What a worker says of its load (handoff and shared modes, where the
 * master does not see connections end).
 */
static void
master_worker_load(struct worker *w, const char *line, size_t len)
{
	long	active, accepted;

	if (w->w_mode == MODE_PROXY)
		return;		/* the master counts its relays itself */
	if (channel_json_int(line, len, "active", &active) == 1)
		w->w_active = (unsigned int)active;
	if (w->w_mode == MODE_SHARED &&
	    channel_json_int(line, len, "accepted", &accepted) == 1)
		w->w_accepted = w->w_accepted_base + (uint64_t)accepted;
	master_update_accepting();
}

static void
master_msg_cb(struct channel *ch, const char *line, size_t len, void *arg)
{
	struct worker	*w = arg;
	char		 cmd[64];
	int		 rv;

	(void)ch;
	if ((rv = channel_json_str(line, len, "cmd", cmd, sizeof(cmd))) ==
	    -1) {
		if (w->w_kind != WORKER_BUILTIN) {
			/* Foreign: never trusted, never fatal. */
			log_warnx("worker %d (pid %ld) sent a line that is not "
			    "JSON; ignored", w->w_id, (long)w->w_pid);
			return;
		}
		/* A built-in worker breaking protocol is a bug: replace it. */
		log_warnx("worker %d (pid %ld) sent garbage: \"%.*s\"; "
		    "killing it", w->w_id, (long)w->w_pid,
		    (int)(len > 80 ? 80 : len), line);
		kill(w->w_pid, SIGKILL);
		return;
	}
	if (rv == 0) {
		/* A script's own message: only {"act":"suicide"} means
		 * anything here (the Node cluster idiom). */
		if (channel_json_str(line, len, "act", cmd, sizeof(cmd)) == 1 &&
		    strcmp(cmd, "suicide") == 0)
			master_replace(w, "it asked to be replaced");
		else
			log_debug("worker %d: message %.*s", w->w_id,
			    (int)(len > 200 ? 200 : len), line);
		return;
	}
	if (strcmp(cmd, "NODE_HANDLE_ACK") == 0) {
		/* Shared mode's server handles are acknowledged too. */
		if (w->w_mode == MODE_HANDOFF)
			handoff_ack(w);
	} else if (strcmp(cmd, "NODE_HANDLE_NACK") == 0) {
		if (w->w_mode == MODE_HANDOFF)
			handoff_nack(w);
	} else if (strcmp(cmd, "PORTER_LOAD") == 0) {
		master_worker_load(w, line, len);
	} else if (strcmp(cmd, "PORTER_READY") == 0) {
		master_worker_ready(w);
	} else
		log_debug("worker %d: ignoring %.*s", w->w_id, (int)len, line);
}

static void
master_chan_close_cb(struct channel *ch, const char *why, void *arg)
{
	struct worker	*w = arg;

	log_debug("worker %d (pid %ld): channel closed: %s", w->w_id,
	    (long)w->w_pid, why);
	channel_free(ch);
	w->w_chan = NULL;
	/*
	 * A worker closes its channel when it exits. A built-in worker that
	 * closed it and lives on is broken, and so is a handoff worker, which
	 * can no longer be given clients: make it exit (it is restarted as
	 * usual). A Node worker in proxy or shared mode may let it go.
	 */
	if (w->w_pid > 0 && !master->m_stopping && !w->w_retiring &&
	    (w->w_kind == WORKER_BUILTIN || w->w_mode == MODE_HANDOFF))
		kill(w->w_pid, SIGTERM);
}

/* Restart back-off, ready timeout, or the end of a retiring worker's grace. */
static void
master_worker_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;

	(void)fd;
	(void)what;
	switch (w->w_state) {
	case WS_IDLE:
		master_spawn(w);
		break;
	case WS_STARTING:
		log_warnx("worker %d (pid %ld) not ready after %d ms; "
		    "killing it", w->w_id, (long)w->w_pid,
		    master->m_conf->c_ready_timeout);
		kill(w->w_pid, SIGKILL);
		break;
	case WS_DRAINING:
		log_warnx("worker %d (pid %ld) still busy after "
		    "graceful_timeout; killing it", w->w_id, (long)w->w_pid);
		kill(w->w_pid, SIGKILL);
		break;
	case WS_READY:
		break;
	}
}

static void
master_ack_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	handoff_ack_timeout(arg);
}

/*
 * Shared mode: give the worker the listening socket(s), as Node's
 * child.send('server', server) does. The master keeps its copies, so
 * restarts refuse nobody.
 */
static void
master_send_servers(struct worker *w)
{
	static const char	msg[] = "{\"cmd\":\"NODE_HANDLE\","
	    "\"type\":\"net.Server\",\"msg\":\"server\"}";
	int			i, fd;

	for (i = 0; i < w->w_conf->c_nlisten; i++) {
		fd = w->w_conf->c_reuseport ? master->m_rpfds[w->w_id][i] :
		    listen_fds[i];
		if (channel_send(w->w_chan, msg, sizeof(msg) - 1, fd) == -1) {
			log_warnx("worker %d: cannot send the listening socket",
			    w->w_id);
			kill(w->w_pid, SIGKILL);
			return;
		}
	}
}

/*
 * Proxy mode: a private port from the pool [base, base + 2 * workers),
 * base + id when free. Old and new processes of one worker coexist while
 * the old one drains, hence twice the worker count.
 */
static int
master_port_alloc(struct worker *w)
{
	struct addr	*a = &w->w_addr;
	int		 base, n, i, p, k, used;

	*a = w->w_conf->c_worker_ports;
	if (a->a_ss.ss_family == AF_INET6)
		base = ntohs(((struct sockaddr_in6 *)&a->a_ss)->sin6_port);
	else
		base = ntohs(((struct sockaddr_in *)&a->a_ss)->sin_port);
	n = 2 * (master->m_nworkers > w->w_conf->c_workers ?
	    master->m_nworkers : w->w_conf->c_workers);
	for (k = -1; k < n; k++) {
		p = k == -1 ? base + w->w_id : base + k;
		if (p > 65535)
			continue;
		for (i = used = 0; i < master->m_nworkers && !used; i++)
			used = master->m_workers[i] != w &&
			    master->m_workers[i]->w_pid > 0 &&
			    master->m_workers[i]->w_port == p;
		if (used)
			continue;
		w->w_port = p;
		if (a->a_ss.ss_family == AF_INET6)
			((struct sockaddr_in6 *)&a->a_ss)->sin6_port =
			    htons((in_port_t)p);
		else
			((struct sockaddr_in *)&a->a_ss)->sin_port =
			    htons((in_port_t)p);
		snprintf(a->a_text, sizeof(a->a_text), "port %d", p);
		return 0;
	}
	return -1;
}

static void
master_spawn(struct worker *w)
{
	struct conf	*c = w->w_conf;
	int		 sv[2] = { -1, -1 }, nl = 0, chan;
	const int	*lfds = NULL;
	pid_t		 pid;

	if (w->w_mode == MODE_PROXY && master_port_alloc(w) == -1) {
		log_warnx("worker %d: no free port in the worker_ports range",
		    w->w_id);
		goto retry;
	}
	/* Built-in and Node workers talk to the master; exec ones do not. */
	chan = w->w_kind != WORKER_EXEC;
	if (chan && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) ==
	    -1) {
		log_warn("%s: socketpair", __func__);
		goto retry;
	}
	if (w->w_kind == WORKER_EXEC && w->w_mode == MODE_SHARED) {
		lfds = c->c_reuseport ? master->m_rpfds[w->w_id] : listen_fds;
		nl = c->c_nlisten;
	}
	if (chan && socket_nonblock_cloexec(sv[1]) == -1)
		log_warn("%s: fcntl", __func__);
	pid = proc_spawn(master, w, sv[1], lfds, nl);
	if (sv[1] != -1)
		close(sv[1]);
	if (pid == -1) {
		if (sv[0] != -1)
			close(sv[0]);
		goto retry;
	}
	w->w_pid = pid;
	if (chan && (socket_nonblock_cloexec(sv[0]) == -1 || (w->w_chan =
	    channel_new(master->m_base, sv[0], master_msg_cb,
	    master_chan_close_cb, w)) == NULL)) {
		log_warnx("%s: cannot set up worker %d's channel", __func__,
		    w->w_id);
		close(sv[0]);
		kill(pid, SIGKILL);	/* reaped and restarted as usual */
	}
	gettimeofday(&w->w_started, NULL);
	worker_set_state(w, WS_STARTING);
	timer_arm(w->w_timer, c->c_ready_timeout);
	if (w->w_mode == MODE_SHARED && w->w_chan != NULL)
		master_send_servers(w);
	log_debug("worker %d: started pid %ld", w->w_id, (long)pid);
	return;

 retry:
	w->w_failures++;
	timer_arm(w->w_timer, BACKOFF_MAX);
}

/* A worker for slot id, made from conf c, of generation gen. */
static struct worker *
master_worker_new(struct conf *c, int id, unsigned int gen)
{
	struct worker	*w;
	char		*cause = NULL;
	int		 i;

	static uint64_t	 serial;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->w_id = id;
	w->w_serial = ++serial;
	w->w_gen = gen;
	w->w_conf = conf_ref(c);
	w->w_kind = c->c_worker;
	w->w_mode = c->c_mode;
	w->w_window = c->c_handoff_window;
	w->w_execfd = w->w_probefd = -1;
	w->w_timer = evtimer_new(master->m_base, master_worker_timer_cb, w);
	if (w->w_timer == NULL)
		goto fail;
	if (w->w_mode == MODE_HANDOFF && ((w->w_flight = calloc(
	    (size_t)w->w_window, sizeof(*w->w_flight))) == NULL ||
	    (w->w_acktimer = evtimer_new(master->m_base, master_ack_timer_cb,
	    w)) == NULL))
		goto fail;
	/* Shared + reuseport: the slot's own listeners, made once. */
	for (i = 0; w->w_mode == MODE_SHARED && c->c_reuseport &&
	    i < c->c_nlisten; i++) {
		if (master->m_rpfds[id][i] != -1)
			continue;
		if ((master->m_rpfds[id][i] = listener_bind(&c->c_listen[i], 0,
		    1, &cause)) == -1) {
			log_warnx("%s", cause);
			free(cause);
			goto fail;
		}
	}
	return w;

 fail:
	master_worker_free(w);
	return NULL;
}

static void
master_worker_free(struct worker *w)
{
	if (w->w_pid > 0) {
		kill(w->w_pid, SIGKILL);
		waitpid(w->w_pid, NULL, 0);
	}
	proc_forget(w);
	channel_free(w->w_chan);
	if (w->w_timer != NULL)
		event_free(w->w_timer);
	if (w->w_acktimer != NULL)
		event_free(w->w_acktimer);
	free(w->w_flight);
	conf_unref(w->w_conf);
	free(w);
}

/* Put w in the table after position "after" (-1: at the end). */
static int
master_worker_insert(struct worker *w, int after)
{
	int	i;

	if (master->m_nworkers == PORTER_MAX_WORKERS)
		return -1;
	if (after < 0 || after >= master->m_nworkers)
		after = master->m_nworkers - 1;
	for (i = master->m_nworkers; i > after + 1; i--)
		master->m_workers[i] = master->m_workers[i - 1];
	master->m_workers[after + 1] = w;
	master->m_nworkers++;
	return 0;
}

/* A relay points at w: it stays allocated until released. */
void
master_worker_hold(struct worker *w)
{
	w->w_holds++;
}

void
master_worker_release(struct worker *w)
{
	if (--w->w_holds == 0 && w->w_gone)
		master_worker_free(w);
}

/* Out of the table; freed now, or when the last relay lets go. */
static void
master_worker_remove(struct worker *w)
{
	int	i;

	for (i = 0; i < master->m_nworkers; i++)
		if (master->m_workers[i] == w)
			break;
	if (i == master->m_nworkers)
		return;
	for (; i < master->m_nworkers - 1; i++)
		master->m_workers[i] = master->m_workers[i + 1];
	master->m_nworkers--;
	/* A slot gone for good (fewer workers now) gives its sockets up. */
	if (w->w_id >= master->m_conf->c_workers) {
		for (i = 0; i < master->m_nworkers; i++)
			if (master->m_workers[i]->w_id == w->w_id)
				break;
		if (i == master->m_nworkers)
			for (i = 0; i < PORTER_MAX_LISTEN; i++)
				if (master->m_rpfds[w->w_id][i] != -1) {
					close(master->m_rpfds[w->w_id][i]);
					master->m_rpfds[w->w_id][i] = -1;
				}
	}
	if (w->w_holds > 0) {
		w->w_gone = 1;
		return;
	}
	master_worker_free(w);
}

int
master_worker_port(const struct worker *w)
{
	return w->w_mode == MODE_PROXY ? w->w_port : 0;
}

/*
 * Count a restart against restart_limit. Returns -1 when that is one too
 * many within the window.
 */
static int
master_count_restart(void)
{
	struct conf	*c = master->m_conf;
	uint64_t	 now = master_now();
	int		 i, n = 0;

	for (i = 0; i < master->m_nrestarts; i++)
		if (now - master->m_restarts[i] < (uint64_t)c->c_restart_window)
			master->m_restarts[n++] = master->m_restarts[i];
	master->m_nrestarts = n;
	if (n >= c->c_restart_limit)
		return -1;
	master->m_restarts[master->m_nrestarts++] = now;
	return 0;
}

static void
master_give_up(void)
{
	log_warnx("workers keep dying: %d restarts within %d ms "
	    "(restart_limit); giving up", master->m_conf->c_restart_limit,
	    master->m_conf->c_restart_window);
	master->m_exitcode = EXIT_GAVEUP;
	master_stop(1, "restart limit");
}

/*
 * Take w out of service: it finishes its connections (told so unless it
 * asked itself) and is killed at graceful_timeout; it is not restarted.
 */
void
master_retire(struct worker *w, int tell)
{
	w->w_retiring = 1;
	worker_set_state(w, WS_DRAINING);
	if (w->w_pid <= 0) {
		master_worker_remove(w);
		return;
	}
	if (tell)
		kill(w->w_pid, master_graceful_signal(w));
	timer_arm(w->w_timer, master->m_conf->c_graceful_timeout);
}

/*
 * Start a new process for w's slot now and let the old one finish its
 * connections: Node cluster's answer to a worker's "suicide" message.
 */
static void
master_replace(struct worker *w, const char *why)
{
	struct worker	*nw;
	int		 i;

	if (w->w_retiring || master->m_stopping)
		return;
	log_info("worker %d (pid %ld): replacing it, %s", w->w_id,
	    (long)w->w_pid, why);
	if (master_count_restart() == -1) {
		master_give_up();
		return;
	}
	for (i = 0; i < master->m_nworkers; i++)
		if (master->m_workers[i] == w)
			break;
	if ((nw = master_worker_new(w->w_conf, w->w_id, w->w_gen)) == NULL ||
	    master_worker_insert(nw, i) == -1) {
		log_warnx("worker %d: cannot make a replacement", w->w_id);
		if (nw != NULL)
			master_worker_free(nw);
		return;
	}
	nw->w_restarts = w->w_restarts + 1;
	master_retire(w, 0);
	master_spawn(nw);
}

static void
master_exited(struct worker *w, int status)
{
	struct timeval	 now, age;
	long		 ms;
	int		 delay;

	gettimeofday(&now, NULL);
	timersub(&now, &w->w_started, &age);
	ms = age.tv_sec * 1000 + age.tv_usec / 1000;
	if (w->w_retiring || master->m_stopping) {
		/* Asked to go: however it went is how it was meant to. */
		if (WIFSIGNALED(status))
			log_info("worker %d (pid %ld) stopped by signal %d "
			    "(%s)", w->w_id, (long)w->w_pid, WTERMSIG(status),
			    strsignal(WTERMSIG(status)));
		else
			log_info("worker %d (pid %ld) finished, status %d",
			    w->w_id, (long)w->w_pid, WEXITSTATUS(status));
	} else if (WIFSIGNALED(status))
		log_warnx("worker %d (pid %ld) killed by signal %d (%s) "
		    "after %ld ms", w->w_id, (long)w->w_pid, WTERMSIG(status),
		    strsignal(WTERMSIG(status)), ms);
	else
		log_warnx("worker %d (pid %ld) exited with status %d after "
		    "%ld ms", w->w_id, (long)w->w_pid, WEXITSTATUS(status), ms);
	proc_forget(w);
	if (w->w_chan != NULL) {
		channel_free(w->w_chan);
		w->w_chan = NULL;
	}
	evtimer_del(w->w_timer);
	w->w_pid = 0;
	if (w->w_mode != MODE_PROXY) {
		/* Its clients went with it; relays count themselves. */
		w->w_active = 0;
		w->w_accepted_base = w->w_accepted;
	}
	if (w->w_mode == MODE_HANDOFF)
		handoff_reclaim(w);
	if (!w->w_retiring && master->m_next != NULL &&
	    w->w_gen != master->m_gen) {
		/* A new worker died while a reload waited for it. */
		w->w_retiring = 1;
		master_reload_abort("a new worker exited before it was ready");
	}
	if (w->w_retiring) {
		master_worker_remove(w);
		return;
	}
	worker_set_state(w, WS_IDLE);
	if (master->m_stopping)
		return;

	if (master_count_restart() == -1) {
		master_give_up();
		return;
	}
	/* Back off while it keeps dying young; a good run resets that. */
	if (ms < HEALTHY_AFTER)
		w->w_failures++;
	else
		w->w_failures = 0;
	delay = 0;
	if (w->w_failures > 0) {
		delay = BACKOFF_MIN << (w->w_failures > 6 ? 6 :
		    w->w_failures - 1);
		if (delay > BACKOFF_MAX)
			delay = BACKOFF_MAX;
	}
	w->w_restarts++;
	log_info("restarting worker %d in %d ms", w->w_id, delay);
	timer_arm(w->w_timer, delay);
}

/* Collect exited children; while stopping, leave once all are gone. */
static void
master_reap(void)
{
	pid_t	pid;
	int	status, i, alive;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < master->m_nworkers; i++)
			if (master->m_workers[i]->w_pid == pid) {
				master_exited(master->m_workers[i], status);
				break;
			}
	}
	if (!master->m_stopping)
		return;
	for (i = alive = 0; i < master->m_nworkers; i++)
		if (master->m_workers[i]->w_pid > 0)
			alive++;
	if (alive == 0 && (master->m_stopping == 1 ||
	    master->m_stats.active == 0))
		event_base_loopexit(master->m_base, NULL);
}

/*
 * Graceful stop, step by step: once no socket waits to be handed off, the
 * workers are told to finish; once they and the relays are done, the loop
 * ends.
 */
void
master_stop_check(void)
{
	if (master->m_stopping != 2)
		return;
	if (!master->m_quit_sent && (master->m_conf->c_mode != MODE_HANDOFF ||
	    handoff_unacked() == 0)) {
		master->m_quit_sent = 1;
		master_signal_workers(0);
	}
	master_reap();
}

/* sig 0: each worker's own graceful signal. */
static void
master_signal_workers(int sig)
{
	struct worker	*w;
	int		 i;

	for (i = 0; i < master->m_nworkers; i++) {
		w = master->m_workers[i];
		if (w->w_pid > 0)
			kill(w->w_pid, sig ? sig : master_graceful_signal(w));
	}
}

static void
master_stop_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (master->m_stopping == 2) {
		log_warnx("graceful_timeout: %u connection%s left; stopping "
		    "now", master_load(), master_load() == 1 ? "" : "s");
		master_stop(1, "graceful_timeout");
		return;
	}
	log_warnx("workers did not stop in %d ms; killing them",
	    STOP_TIMEOUT);
	master_signal_workers(SIGKILL);
}

/*
 * how 1: fast stop: close everything, SIGTERM the workers.
 * how 2: graceful: stop accepting, let the workers finish what they
 * serve, up to graceful_timeout.
 */
static void
master_stop(int how, const char *why)
{
	int	i;

	if (master->m_stopping == 1 || master->m_stopping == how)
		return;
	log_info("%s stop (%s)", how == 1 ? "fast" : "graceful", why);
	master->m_stopping = how;
	if (master->m_next != NULL)
		master_reload_abort("stopping");
	for (i = 0; i < nlisteners; i++)
		listener_free(listeners[i]);
	nlisteners = 0;
	for (i = 0; i < nlistenfds; i++)
		close(listen_fds[i]);
	nlistenfds = 0;
	for (i = 0; i < master->m_nworkers; i++)
		if (master->m_workers[i]->w_state == WS_IDLE)
			evtimer_del(master->m_workers[i]->w_timer);
	if (how == 1) {
		relay_close_all();
		handoff_close_all();
		master_signal_workers(SIGTERM);
		timer_arm(ev_stop, STOP_TIMEOUT);
		master_reap();
	} else {
		timer_arm(ev_stop, master->m_conf->c_graceful_timeout);
		master_stop_check();
	}
}

/*
 * Accept where the mode wants the master to: listeners on dups of the
 * listening sockets in proxy and handoff mode, none in shared mode. The
 * sockets themselves stay open, so clients wait in the backlog meanwhile.
 */
static void
master_accept_mode(enum mode mode)
{
	int	i, fd;

	for (i = 0; i < nlisteners; i++)
		listener_free(listeners[i]);
	nlisteners = 0;
	listeners_paused = 0;
	if (mode == MODE_SHARED)
		return;
	for (i = 0; i < nlistenfds; i++) {
		if ((fd = fcntl(listen_fds[i], F_DUPFD_CLOEXEC, 0)) == -1 ||
		    (listeners[i] = listener_new(master->m_base, fd,
		    mode == MODE_PROXY ? relay_accept : handoff_accept,
		    NULL)) == NULL)
			fatal("cannot accept on %s",
			    master->m_conf->c_listen[i].a_text);
		nlisteners++;
	}
}

/* Make and start the workers of a conf's generation. */
static int
master_start_workers(struct conf *c, unsigned int gen)
{
	struct worker	*w;
	int		 n;

	for (n = 0; n < c->c_workers; n++) {
		if ((w = master_worker_new(c, n, gen)) == NULL ||
		    master_worker_insert(w, -1) == -1) {
			if (w != NULL)
				master_worker_free(w);
			return -1;
		}
		master_spawn(w);
	}
	return 0;
}

/*
 * SIGHUP: read the conf again. A bad one is logged and the running one
 * kept. A good one starts its own workers; once all are ready, it takes
 * over and the old workers finish their connections and leave
 * (master_reload_commit). The listening sockets never close.
 */
static void
master_reload(void)
{
	struct conf	*nc, *oc = master->m_conf;
	char		*cause = NULL;
	const char	*why = NULL;

	if (master->m_stopping)
		return;
	if (master->m_next != NULL) {
		log_warnx("reload: one is under way already; ignored");
		return;
	}
	log_info("reload: reading %s", master->m_confpath);
	if ((nc = conf_read(master->m_confpath, &master->m_overrides,
	    &cause)) == NULL) {
		log_warnx("reload: %s; keeping the running configuration",
		    cause ? cause : "bad configuration");
		free(cause);
		return;
	}
	if (!conf_same_listen(oc, nc))
		why = "listen cannot change by reload (that would close the "
		    "listening sockets): restart porter for that";
	else if (oc->c_reuseport != nc->c_reuseport)
		why = "reuseport cannot change by reload: restart porter for "
		    "that";
	else if (proc_setup_user(nc->c_user) == -1)
		why = "bad user";
	else if (proc_check_worker(nc) == -1)
		why = "the new workers could not start";
	if (why != NULL) {
		log_warnx("reload: %s; keeping the running configuration", why);
		proc_setup_user(oc->c_user);
		conf_unref(nc);
		return;
	}
	if (nc->c_relay_threads != oc->c_relay_threads) {
		log_warnx("reload: relay_threads takes effect at the next "
		    "start; keeping %d", oc->c_relay_threads);
		nc->c_relay_threads = oc->c_relay_threads;
	}
	if (nc->c_mode == MODE_HANDOFF && handoff_init(master) == -1) {
		log_warnx("reload: out of memory; keeping the running "
		    "configuration");
		conf_unref(nc);
		return;
	}
	master->m_next = nc;
	log_info("reload: starting %d %s worker%s in %s mode", nc->c_workers,
	    conf_worker_name(nc->c_worker), nc->c_workers == 1 ? "" : "s",
	    conf_mode_name(nc->c_mode));
	if (master_start_workers(nc, master->m_gen + 1) == -1)
		master_reload_abort("cannot make the new workers");
}

/* The new generation is up (all of it): it takes over. */
static void
master_reload_commit(void)
{
	struct conf	*oc = master->m_conf, *nc = master->m_next;
	struct worker	*old[PORTER_MAX_WORKERS];
	uint64_t	*rs;
	int		 i, n = 0, status_changed;

	if (nc == NULL)
		return;
	for (i = 0; i < master->m_nworkers; i++)
		if (master->m_workers[i]->w_gen != master->m_gen &&
		    !master->m_workers[i]->w_retiring &&
		    master->m_workers[i]->w_state != WS_READY)
			return;			/* not all up yet */

	master->m_conf = nc;
	master->m_next = NULL;
	master->m_gen++;
	master->m_balance.b_kind = nc->c_balance;
	if (oc->c_mode != nc->c_mode) {
		master_accept_mode(nc->c_mode);
		if (oc->c_mode == MODE_HANDOFF)
			handoff_migrate();
	}
	if (nc->c_restart_limit != oc->c_restart_limit &&
	    (rs = calloc((size_t)nc->c_restart_limit, sizeof(*rs))) != NULL) {
		free(master->m_restarts);
		master->m_restarts = rs;
		master->m_nrestarts = 0;
	}
	status_changed = oc->c_status_on != nc->c_status_on ||
	    (nc->c_status_on && (oc->c_status.a_len != nc->c_status.a_len ||
	    memcmp(&oc->c_status.a_ss, &nc->c_status.a_ss,
	    nc->c_status.a_len) != 0));
	if (status_changed) {
		char	*cause = NULL;

		status_stop();
		if (nc->c_status_on && status_start(master, &cause) == -1) {
			log_warnx("reload: status: %s", cause);
			free(cause);
		}
	}
	if (nc->c_pidfile != NULL && (oc->c_pidfile == NULL ||
	    strcmp(oc->c_pidfile, nc->c_pidfile) != 0)) {
		if (oc->c_pidfile != NULL)
			unlink(oc->c_pidfile);
		master_pidfile(nc->c_pidfile);
	}

	/* Retiring may remove a worker from the table: work on a copy. */
	for (i = 0; i < master->m_nworkers; i++)
		if (master->m_workers[i]->w_gen != master->m_gen &&
		    !master->m_workers[i]->w_retiring)
			old[n++] = master->m_workers[i];
	for (i = 0; i < n; i++)
		master_retire(old[i], 1);
	log_info("reload: done; %d old worker%s finishing", n,
	    n == 1 ? "" : "s");
	conf_unref(oc);
	if (nc->c_mode == MODE_PROXY)
		relay_kick();
	else if (nc->c_mode == MODE_HANDOFF)
		handoff_kick();
	master_update_accepting();
}

/* The reload cannot finish: its workers go, the running ones stay. */
static void
master_reload_abort(const char *why)
{
	struct worker	*w, *gone[PORTER_MAX_WORKERS];
	int		 i, n = 0;

	if (master->m_next == NULL)
		return;
	log_warnx("reload failed: %s; keeping the running configuration",
	    why);
	for (i = 0; i < master->m_nworkers; i++) {
		w = master->m_workers[i];
		if (w->w_gen != master->m_gen && !w->w_retiring)
			gone[n++] = w;
	}
	for (i = 0; i < n; i++) {
		if (gone[i]->w_pid > 0)
			kill(gone[i]->w_pid, SIGKILL);
		master_retire(gone[i], 0);
	}
	proc_setup_user(master->m_conf->c_user);
	conf_unref(master->m_next);
	master->m_next = NULL;
}

/* SIGTTIN: one worker more; SIGTTOU: one fewer, gracefully. */
static void
master_scale(int delta)
{
	struct conf	*c = master->m_conf;
	struct worker	*w;
	int		 i;

	if (master->m_stopping || master->m_next != NULL) {
		log_warnx("%s: not while %s", delta > 0 ? "SIGTTIN" : "SIGTTOU",
		    master->m_stopping ? "stopping" : "a reload is under way");
		return;
	}
	if (delta > 0) {
		if (c->c_workers >= PORTER_MAX_WORKERS / 2) {
			log_warnx("SIGTTIN: already %d workers", c->c_workers);
			return;
		}
		if ((w = master_worker_new(c, c->c_workers, master->m_gen)) ==
		    NULL || master_worker_insert(w, -1) == -1) {
			log_warnx("SIGTTIN: cannot add a worker");
			if (w != NULL)
				master_worker_free(w);
			return;
		}
		c->c_workers++;
		log_info("SIGTTIN: %d workers", c->c_workers);
		master_spawn(w);
		return;
	}
	if (c->c_workers <= 1) {
		log_warnx("SIGTTOU: keeping the last worker");
		return;
	}
	c->c_workers--;
	log_info("SIGTTOU: %d workers", c->c_workers);
	for (i = master->m_nworkers - 1; i >= 0; i--) {
		w = master->m_workers[i];
		if (w->w_id == c->c_workers && !w->w_retiring) {
			master_retire(w, 1);
			break;
		}
	}
}

static void
master_signal(int sig)
{
	switch (sig) {
	case SIGCHLD:
		master_reap();
		break;
	case SIGTERM:
	case SIGINT:
		master_stop(1, strsignal(sig));
		break;
	case SIGQUIT:
		master_stop(2, strsignal(sig));
		break;
	case SIGHUP:
		master_reload();
		break;
	case SIGUSR1:
		log_info("SIGUSR1: nothing to reopen, logs go to stderr");
		break;
	case SIGTTIN:
	case SIGTTOU:
		master_scale(sig == SIGTTIN ? 1 : -1);
		break;
	}
}

static void
master_signal_cb(evutil_socket_t fd, short what, void *arg)
{
	struct signalfd_siginfo	 si;

	(void)what;
	(void)arg;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		master_signal((int)si.ssi_signo);
}

static int
master_pidfile(const char *path)
{
	char	buf[32];
	int	fd, n;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1) {
		log_warn("cannot write pidfile %s", path);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		log_warn("cannot write pidfile %s", path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * Proxy mode holds two fds per client: raise the soft limit towards what
 * max_connections needs, as far as the hard limit allows.
 */
static void
master_rlimit(const struct conf *c)
{
	struct rlimit	rl;
	rlim_t		want = (rlim_t)c->c_max_connections * 2 + 256;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ?
	    want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("%s: setrlimit", __func__);
	if (rl.rlim_cur < (rlim_t)c->c_max_connections * 2)
		log_warnx("open files limited to %llu: fewer than "
		    "max_connections %d needs", (unsigned long long)rl.rlim_cur,
		    c->c_max_connections);
}

/* Run the master until it stops; returns the exit code. */
int
master_run(struct conf *c, const char *confpath, const struct overrides *o)
{
	static const int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGQUIT, SIGHUP,
	    SIGUSR1, SIGTTIN, SIGTTOU };
	sigset_t	 set;
	char		*cause = NULL;
	size_t		 i;
	int		 fd, n;

	if ((master = calloc(1, sizeof(*master))) == NULL)
		fatal("calloc");
	master->m_conf = conf_ref(c);
	master->m_confpath = confpath;
	master->m_overrides = *o;
	memset(master->m_rpfds, -1, sizeof(master->m_rpfds));
	master->m_pid = getpid();
	/* Built-in workers exec this binary (proc.c); -1: they run forked. */
	master->m_exefd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	master->m_balance.b_kind = c->c_balance;
	gettimeofday(&master->m_started, NULL);
	if ((master->m_restarts = calloc((size_t)c->c_restart_limit,
	    sizeof(uint64_t))) == NULL)
		fatal("calloc");
	if ((master->m_base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	if (proc_setup_user(c->c_user) == -1 || proc_check_worker(c) == -1)
		return EXIT_START;
	master_rlimit(c);
	signal(SIGPIPE, SIG_IGN);

	relay_init(master);
	if (c->c_mode == MODE_HANDOFF && handoff_init(master) == -1)
		fatalx("out of memory");
	/*
	 * The listening sockets (but with reuseport, where each worker slot
	 * has its own, made with its first worker).
	 */
	for (n = 0; n < c->c_nlisten && !(c->c_mode == MODE_SHARED &&
	    c->c_reuseport); n++) {
		if ((fd = listener_bind(&c->c_listen[n], 0, 0, &cause)) ==
		    -1) {
			log_warnx("%s", cause);
			free(cause);
			return EXIT_START;
		}
		listen_fds[nlistenfds++] = fd;
	}
	master_accept_mode(c->c_mode);
	if (c->c_status_on && status_start(master, &cause) == -1) {
		log_warnx("status: %s", cause);
		free(cause);
		return EXIT_START;
	}
	sigemptyset(&set);
	for (i = 0; i < nitems(sigs); i++)
		sigaddset(&set, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1 ||
	    (signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) ==
	    -1 || (ev_signal = event_new(master->m_base, signal_fd,
	    EV_READ | EV_PERSIST, master_signal_cb, NULL)) == NULL ||
	    event_add(ev_signal, NULL) == -1)
		fatal("cannot set up signal handling");
	if ((ev_stop = evtimer_new(master->m_base, master_stop_timer_cb,
	    NULL)) == NULL)
		fatalx("evtimer_new failed");
	/* After the signal mask: the threads inherit it, as signalfd needs. */
	if (relay_threads_start(c->c_relay_threads) == -1)
		fatal("cannot start %d relay threads", c->c_relay_threads);
	if (c->c_pidfile != NULL && master_pidfile(c->c_pidfile) == -1)
		return EXIT_START;

	master->m_basefds = master_count_fds();
	master->m_stats.peak_fds = master->m_basefds;
	if (master_start_workers(c, 0) == -1)
		return EXIT_START;
	master_fds(0);

	log_info("porter %s: %s mode, %d %s worker%s, listening on %s%s",
	    PORTER_VERSION, conf_mode_name(c->c_mode), c->c_workers,
	    conf_worker_name(c->c_worker), c->c_workers == 1 ? "" : "s",
	    c->c_listen[0].a_text, c->c_nlisten > 1 ? " and more" : "");
	event_base_dispatch(master->m_base);

	/* Stopped: everything below is tidying up. */
	status_stop();
	relay_close_all();
	relay_threads_stop();		/* before any worker struct goes */
	handoff_close_all();
	handoff_free();
	while (master->m_nworkers > 0)
		master_worker_free(master->m_workers[--master->m_nworkers]);
	for (n = 0; n < nlisteners; n++)
		listener_free(listeners[n]);
	for (n = 0; n < nlistenfds; n++)
		close(listen_fds[n]);
	for (n = 0; n < PORTER_MAX_WORKERS * PORTER_MAX_LISTEN; n++)
		if (master->m_rpfds[n / PORTER_MAX_LISTEN][n % PORTER_MAX_LISTEN]
		    != -1)
			close(master->m_rpfds[n / PORTER_MAX_LISTEN]
			    [n % PORTER_MAX_LISTEN]);
	event_free(ev_signal);
	close(signal_fd);
	event_free(ev_stop);
	if (master->m_conf->c_pidfile != NULL)
		unlink(master->m_conf->c_pidfile);
	conf_unref(master->m_conf);
	event_base_free(master->m_base);
	if (master->m_exefd != -1)
		close(master->m_exefd);
	free(master->m_restarts);
	n = master->m_exitcode;
	log_info("exiting with status %d", n);
	free(master);
	master = NULL;
	return n;
}
