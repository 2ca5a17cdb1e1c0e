/*
 * master.c: the master process. Owns the worker table: starts workers
 * (proc.c), uses them once they are ready, restarts them with a back-off,
 * replaces and retires them, gives up past restart_limit; keeps the
 * counters every connection event goes through; handles signals and stops.
 */
#include "config.h"

#include <sys/resource.h>
#ifdef HAVE_SYS_PRCTL_H
#include <sys/prctl.h>
#endif
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
#define SD_STATUS_EVERY	5000	/* ms between STATUS= updates */
#define GROUP_WAIT	2000	/* ms a restart waits for a dead group */
#define GROUP_POLL	20

struct master		*master;

static struct event	*ev_signal;	/* signalfd: no libevent signal state
					   for forked workers to inherit */
static int		 signal_fd = -1;
static struct event	*ev_stop;	/* graceful_timeout or kill timer */
static struct event	*ev_delay;	/* shutdown_delay */
static struct event	*ev_sdstatus;	/* STATUS= to the service manager */

static void	master_spawn(struct worker *);
static void	master_worker_free(struct worker *);
static void	master_signal_workers(int);
static void	master_stop(int, const char *);
static void	master_stop_check(void);
static void	master_reap(void);
static void	master_replace_now(struct worker *);
static void	master_ask_stop(struct worker *, const char *);
static void	master_sd_update(void);

static const char *state_names[] = { "idle", "starting", "ready",
    "draining" };

const char *
master_state_name(enum worker_state s)
{
	return state_names[s];
}

/* All state changes go through here, so the log tells the story. */
void
master_worker_set_state(struct worker *w, enum worker_state s)
{
	if (w->w_state == s)
		return;
	log_debug("worker %d (pid %ld): %s -> %s", w->w_id, (long)w->w_pid,
	    state_names[w->w_state], state_names[s]);
	w->w_state = s;
}

/* Every signal porter sends a worker goes through here: its exit line
 * then says who ended it and why. */
void
master_kill(struct worker *w, int sig, const char *why)
{
	if (w->w_pid <= 0)
		return;
	/* A SIGKILL on its way is what the exit will show: keep its why. */
	if (w->w_killsig != SIGKILL) {
		w->w_killsig = sig;
		w->w_killwhy = why;
	}
	/* Its whole process group (proc.c): what it forked goes too. */
	if (kill(-w->w_pid, sig) == -1)
		kill(w->w_pid, sig);
}

/* Ready, and of the generation that takes new connections. */
int
master_worker_usable(const struct worker *w, void *arg)
{
	(void)arg;
	return w->w_state == WS_READY && w->w_gen == master->m_gen;
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

static void
master_fds(int delta)
{
	master->m_dynfds += delta;
	if (master->m_basefds + master->m_dynfds > master->m_stats.peak_fds)
		master->m_stats.peak_fds = master->m_basefds +
		    master->m_dynfds;
}

/*
 * Live client connections: the sockets the master holds (its relays, or
 * sockets not yet handed off) and, where the workers accept or serve on
 * their own, what they last reported. A worker's word is not law: it
 * counts for at most its share of max_connections, so a worker that
 * claims to be full stops nobody but itself.
 */
unsigned int
master_load(void)
{
	struct worker	*w;
	unsigned int	 n = master->m_stats.active, share;
	int		 i, k = 0;

	if (master->m_conf->c_mode == MODE_PROXY)
		return n;
	for (i = 0; i < master->m_nworkers; i++)
		if (master->m_workers[i]->w_pid > 0)
			k++;
	if (k == 0)
		return n;
	share = ((unsigned int)master->m_conf->c_max_connections +
	    (unsigned int)k - 1) / (unsigned int)k;
	for (i = 0; i < master->m_nworkers; i++) {
		w = master->m_workers[i];
		if (w->w_pid > 0)
			n += w->w_active < share ? w->w_active : share;
	}
	return n;
}

/*
 * Accept or not: not past max_connections, and in handoff mode not while
 * sockets wait for a worker with room (the kernel backlog holds clients).
 */
void
master_update_accepting(void)
{
	static struct log_limit	lim;
	int			pause, full;

	if (master->m_stopping)
		return;
	full = master_load() >= (unsigned int)master->m_conf->c_max_connections;
	pause = full || (master->m_conf->c_mode == MODE_HANDOFF &&
	    handoff_pending() > 0);
	if (!listener_accepting(!pause))
		return;
	if (pause && full)
		log_warnx_limit(&lim, "max_connections (%d) reached: not "
		    "accepting", master->m_conf->c_max_connections);
	else if (pause)
		log_debug("every worker's handoff window is full: not "
		    "accepting");
	else
		log_debug("accepting again");
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

static void
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
	if (w->w_active == 0 && w->w_stop_held != NULL)
		master_ask_stop(w, w->w_stop_held);
}

/*
 * Connection events. relay.c and handoff.c report each event here, and
 * only here do the counters, the fd count, the accepting state and a
 * graceful stop move. A client socket the master holds is "active" from
 * accepted until handed off, closed or refused.
 */

/* A client socket is the master's. */
void
master_conn_accepted(void)
{
	master->m_stats.accepted++;
	master->m_stats.active++;
	master_fds(1);
	master_update_accepting();
}

/* Proxy: a socket to w is open; w stays allocated until it is detached.
 * w is NULL for a remote upstream (upstream.c holds those). */
void
master_conn_attach(struct worker *w)
{
	if (w != NULL)
		w->w_holds++;
	master_fds(1);
}

/* w may be freed on return. */
void
master_conn_detach(struct worker *w)
{
	master_fds(-1);
	if (w != NULL && --w->w_holds == 0 && w->w_gone)
		master_worker_free(w);
}

/* Proxy: a client is relayed to w (NULL: to a remote upstream). */
void
master_conn_relayed(struct worker *w)
{
	master->m_stats.relayed++;
	if (w != NULL)
		master_worker_conn(w, 1);
}

/* The client socket left the master. */
static void
master_conn_gone(void)
{
	master->m_stats.active--;
	master_fds(-1);
	master_update_accepting();
	if (master->m_stopping)
		master_stop_check();
}

/* Handoff: w has the client; the master's copy is closed. */
void
master_conn_handed(struct worker *w)
{
	master->m_stats.handed_off++;
	master_worker_conn(w, 1);
	master_conn_gone();
}

/* Proxy: a relayed client left (w: whom it was relayed to, or NULL). */
void
master_conn_closed(struct worker *w)
{
	if (w != NULL)
		master_worker_conn(w, -1);
	master_conn_gone();
}

/* A client was closed before any worker served it. */
void
master_conn_refused(void)
{
	master->m_stats.refused++;
	master_conn_gone();
}

/* How w is asked to finish its connections: stop_signal, or its kind's. */
static int
master_graceful_signal(const struct worker *w)
{
	if (w->w_conf->c_stop_signal != 0)
		return w->w_conf->c_stop_signal;
	return w->w_kind == WORKER_BUILTIN ? SIGQUIT : SIGTERM;
}

/* At least STOP_TIMEOUT from now before w's graceful_timeout kill. */
static void
master_stop_time(struct worker *w)
{
	struct timeval	now, at;

	if (evtimer_pending(w->w_timer, &at)) {
		event_base_gettimeofday_cached(master->m_base, &now);
		if (clock_tv_ms(&at) - clock_tv_ms(&now) >= STOP_TIMEOUT)
			return;
	}
	timer_arm(w->w_timer, STOP_TIMEOUT);
}

/*
 * Tell w to finish now: a Node cluster app the cluster way ("disconnect":
 * it closes its servers and finishes its connections), any other by its
 * stop signal.
 */
static void
master_tell_stop(struct worker *w, const char *why)
{
	if (cluster_disconnect(w) == 0)
		return;
	master_kill(w, master_graceful_signal(w), why);
}

/*
 * Ask w to finish. In proxy mode porter sees every connection to it, and
 * a program it does not know (exec, node) may take its stop signal as
 * "exit now": it gets the signal once the relays to it are gone, or at
 * graceful_timeout (master_worker_timer_cb); so does a cluster app, whose
 * private port would drop what waits in its backlog when it closes. The
 * built-in worker finishes what it serves on SIGQUIT: it is told at once.
 */
static void
master_ask_stop(struct worker *w, const char *why)
{
	if (w->w_pid <= 0)
		return;
	if (w->w_mode == MODE_PROXY && w->w_kind != WORKER_BUILTIN &&
	    w->w_active > 0) {
		if (w->w_stop_held == NULL)
			log_debug("worker %d (pid %ld): %u relay%s open; "
			    "signalled when they are gone", w->w_id,
			    (long)w->w_pid, w->w_active,
			    w->w_active == 1 ? "" : "s");
		w->w_stop_held = why;
		return;
	}
	/* Held until now: the app still gets its time to finish. */
	if (w->w_stop_held != NULL && w->w_state == WS_DRAINING)
		master_stop_time(w);
	w->w_stop_held = NULL;
	master_tell_stop(w, why);
}

/* The worker takes connections from now on; how: what showed it. */
void
master_worker_ready(struct worker *w, enum ready_by how)
{
	if (w->w_state != WS_STARTING)
		return;
	cluster_settle(w);	/* a node worker's way of taking clients */
	evtimer_del(w->w_timer);
	w->w_ready_by = how;
	master_worker_set_state(w, WS_READY);
	upstream_worker_ready(w);
	if (w->w_replace)	/* it asked before it was ready */
		timer_arm(w->w_timer, w->w_replace_at > clock_ms() ?
		    w->w_replace_at - clock_ms() : 0);
	if (w->w_mode == MODE_PROXY)
		log_info("worker %d (pid %ld) ready on port %d (%s)", w->w_id,
		    (long)w->w_pid, w->w_port, ready_how(w, how));
	else
		log_info("worker %d (pid %ld) ready (%s)", w->w_id,
		    (long)w->w_pid, ready_how(w, how));
	master_sd_update();
	if (master->m_stopping == 2)
		master_ask_stop(w, "graceful stop");
	else if (w->w_gen != master->m_gen)
		reload_check();		/* commits when the last one is up */
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
master_worker_load(struct worker *w, const struct ipc_msg *m)
{
	uint64_t	given;

	if (w->w_mode == MODE_PROXY)
		return;		/* the master counts its relays itself */
	if (w->w_mode == MODE_SHARED && m->im_accepted >= 0)
		w->w_accepted = w->w_accepted_base +
		    (uint64_t)m->im_accepted;
	/* No more live than it was ever given (shared: says it took). */
	given = w->w_accepted - w->w_accepted_base;
	if (m->im_active >= 0)
		w->w_active = (uint64_t)m->im_active < given ?
		    (unsigned int)m->im_active : given > UINT_MAX ? UINT_MAX :
		    (unsigned int)given;
	master_update_accepting();
	if (w->w_mode == MODE_HANDOFF)
		handoff_kick();		/* it may have room again */
}

static void
master_msg_cb(struct channel *ch, const char *line, size_t len, void *arg)
{
	struct worker	*w = arg;
	struct ipc_msg	 m;

	(void)ch;
	if (ipc_parse(line, len, &m) == -1) {
		if (w->w_kind != WORKER_BUILTIN) {
			/* Foreign: never trusted, never fatal. */
			log_warnx_limit(&w->w_lim_msg, "worker %d (pid %ld) "
			    "sent a line that is not JSON; ignored", w->w_id,
			    (long)w->w_pid);
			return;
		}
		/* A built-in worker breaking protocol is a bug: replace it. */
		log_warnx("worker %d (pid %ld) sent garbage: \"%.*s\"; "
		    "killing it", w->w_id, (long)w->w_pid,
		    (int)(len > 80 ? 80 : len), line);
		master_kill(w, SIGKILL, "it broke the protocol");
		return;
	}
	switch (m.im_cmd) {
	case IPC_NONE:
		/* A script's own message: only {"act":"suicide"} means
		 * anything here (the Node cluster idiom). */
		if (m.im_act == IPC_ACT_SUICIDE)
			master_replace(w, "it asked to be replaced");
		else
			log_debug("worker %d: message %.*s", w->w_id,
			    (int)(len > 200 ? 200 : len), line);
		break;
	case IPC_NODE_HANDLE_ACK:
		/* Shared mode's server handles are acknowledged too. */
		if (w->w_mode == MODE_HANDOFF)
			handoff_ack(w);
		break;
	case IPC_NODE_HANDLE_NACK:
		if (cluster_probe_answer(w))
			break;		/* its main module ran */
		if (w->w_mode == MODE_HANDOFF)
			handoff_nack(w);
		break;
	case IPC_NODE_CLUSTER:
		if (w->w_kind == WORKER_NODE)
			cluster_msg(w, &m);
		break;
	case IPC_PORTER_LOAD:
		master_worker_load(w, &m);
		break;
	case IPC_PORTER_READY:
		/* A Node script's word does not overrule its ready_check. */
		if (w->w_kind == WORKER_BUILTIN ||
		    w->w_conf->c_ready_check == READY_CHECK_DEFAULT)
			master_worker_ready(w, READY_REPORT);
		break;
	default:
		log_debug("worker %d: ignoring %.*s", w->w_id,
		    (int)(len > 200 ? 200 : len), line);
		break;
	}
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
	 * usual). A Node worker in proxy or shared mode may let it go, and
	 * so may one that asked to be replaced (a cluster app that
	 * disconnected itself closes it on its way out).
	 */
	if (w->w_pid > 0 && !master->m_stopping && !w->w_retiring &&
	    !w->w_replace &&
	    (w->w_kind == WORKER_BUILTIN || w->w_mode == MODE_HANDOFF))
		master_kill(w, SIGTERM, "its channel closed");
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
		log_warnx("worker %d (pid %ld) not ready after %d ms%s; "
		    "killing it", w->w_id, (long)w->w_pid,
		    master->m_conf->c_ready_timeout, cluster_not_ready(w));
		master_kill(w, SIGKILL, "not ready in ready_timeout");
		break;
	case WS_DRAINING:
		if (w->w_stop_held != NULL) {
			/* Its relays outlived graceful_timeout: now the
			 * stop signal, and a last STOP_TIMEOUT to go. */
			log_warnx("worker %d (pid %ld): %u relay%s still open "
			    "at graceful_timeout; stopping it", w->w_id,
			    (long)w->w_pid, w->w_active,
			    w->w_active == 1 ? "" : "s");
			w->w_stop_held = NULL;
			master_tell_stop(w, "graceful_timeout");
			timer_arm(w->w_timer, STOP_TIMEOUT);
			break;
		}
		log_warnx("worker %d (pid %ld) still busy after "
		    "graceful_timeout; killing it", w->w_id, (long)w->w_pid);
		master_kill(w, SIGKILL, "still busy at graceful_timeout");
		break;
	case WS_READY:
		if (w->w_replace)
			master_replace_now(w);
		break;
	}
}

/*
 * Shared mode: give the worker the listening socket(s), as Node's
 * child.send('server', server) does. The master keeps its copies, so
 * restarts refuse nobody.
 */
void
master_send_servers(struct worker *w)
{
	const int	*fds = listener_slot_fds(w->w_id, w->w_conf);
	int		 i;

	for (i = 0; i < w->w_conf->c_nlisten; i++) {
		if (ipc_send_server(w->w_chan, fds[i]) == -1) {
			log_warnx("worker %d: cannot send the listening socket",
			    w->w_id);
			master_kill(w, SIGKILL, "cannot send it its socket");
			return;
		}
	}
}

static void
master_spawn(struct worker *w)
{
	struct conf	*c = w->w_conf;
	int		 sv[2] = { -1, -1 }, nl = 0, chan;
	const int	*lfds = NULL;
	pid_t		 pid;

	/*
	 * The killed rest of the last process's group may still hold its
	 * port (an nginx worker): wait a moment until it is gone (porter,
	 * their subreaper, reaps them), not onto another port.
	 */
	if (w->w_oldgrp > 0 && kill(-w->w_oldgrp, 0) == 0 &&
	    clock_ms() < w->w_oldgrp_until) {
		timer_arm(w->w_timer, GROUP_POLL);
		return;
	}
	w->w_oldgrp = 0;

	if (w->w_mode == MODE_PROXY && proc_port(w) == -1) {
		log_warnx("worker %d: no free port in the worker_ports range",
		    w->w_id);
		goto retry;
	}
	/* Built-in and Node workers talk to the master; exec ones do not. */
	chan = w->w_kind != WORKER_EXEC;
	if (chan && socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("%s: socketpair", __func__);
		goto retry;
	}
	if (w->w_kind == WORKER_EXEC && w->w_mode == MODE_SHARED) {
		lfds = listener_slot_fds(w->w_id, c);
		nl = c->c_nlisten;
	}
	/* A Node worker is a cluster worker, with an id of its own. */
	if (w->w_kind == WORKER_NODE && cluster_worker_new(w) == -1) {
		log_warnx("worker %d: out of memory", w->w_id);
		close(sv[0]);
		close(sv[1]);
		goto retry;
	}
	pid = proc_spawn(w, sv[1], lfds, nl);
	if (sv[1] != -1)
		close(sv[1]);
	if (pid == -1) {
		if (sv[0] != -1)
			close(sv[0]);
		cluster_worker_gone(w);
		goto retry;
	}
	w->w_pid = pid;
	if (chan && (w->w_chan = channel_new(master->m_base, sv[0],
	    master_msg_cb, master_chan_close_cb, w)) == NULL) {
		log_warnx("%s: cannot set up worker %d's channel", __func__,
		    w->w_id);
		close(sv[0]);
		/* reaped and restarted as usual */
		master_kill(w, SIGKILL, "no channel to it");
	} else if (chan && w->w_kind == WORKER_BUILTIN)
		channel_batch(w->w_chan, 1);
	w->w_started = clock_ms();
	master_worker_set_state(w, WS_STARTING);
	timer_arm(w->w_timer, c->c_ready_timeout);
	/* A node worker gets them once it shows how it takes them. */
	if (w->w_mode == MODE_SHARED && w->w_chan != NULL &&
	    w->w_kind != WORKER_NODE)
		master_send_servers(w);
	cluster_worker_started(w);
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

	static uint64_t	 serial;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->w_id = id;
	w->w_serial = ++serial;
	w->w_gen = gen;
	w->w_conf = conf_ref(c);
	w->w_kind = c->c_worker;
	w->w_mode = c->c_mode;
	w->w_execfd = -1;
	w->w_timer = evtimer_new(master->m_base, master_worker_timer_cb, w);
	if (w->w_timer == NULL || upstream_worker_new(w) == -1)
		goto fail;
	if (w->w_mode == MODE_HANDOFF && (w->w_handoff =
	    handoff_worker_new(w, c->c_handoff_window)) == NULL)
		goto fail;
	if (w->w_mode == MODE_SHARED && listener_slot_open(id, c, &cause) ==
	    -1) {
		log_warnx("%s", cause);
		free(cause);
		goto fail;
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
		kill(-w->w_pid, SIGKILL);
		kill(w->w_pid, SIGKILL);
		waitpid(w->w_pid, NULL, 0);
	}
	proc_forget(w);
	cluster_worker_gone(w);
	channel_free(w->w_chan);
	if (w->w_timer != NULL)
		event_free(w->w_timer);
	handoff_worker_free(w->w_handoff);
	upstream_worker_free(w);
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
			listener_slot_close(w->w_id);
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
	uint64_t	 now = clock_ms();
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

/*
 * restart_limit: the running generation keeps dying. porter does not give
 * up while another may work: a reload under way is waited for, and the
 * configuration the last reload replaced is tried again. The workers
 * that hit the limit wait, not restarted, until that is settled.
 */
static void
master_give_up(void)
{
	if (master->m_giveup_held)
		return;
	log_warnx("workers keep dying: %d restarts within %d ms "
	    "(restart_limit)", master->m_conf->c_restart_limit,
	    master->m_conf->c_restart_window);
	if (reload_pending()) {
		log_warnx("waiting for the new generation before giving up");
		master->m_giveup_held = 1;
		return;
	}
	if (reload_rollback() == 0) {
		master->m_giveup_held = 1;
		master->m_nrestarts = 0;
		return;
	}
	log_warnx("giving up");
	master->m_exitcode = EXIT_GAVEUP;
	master_stop(1, "restart limit");
}

/* Workers of the running generation ready for connections. */
int
master_ready_count(void)
{
	int	i, n = 0;

	for (i = 0; i < master->m_nworkers; i++)
		if (master_worker_usable(master->m_workers[i], NULL))
			n++;
	return n;
}

/* Whether porter takes traffic: accepting, with a ready worker. */
int
master_is_ready(const char **why)
{
	*why = NULL;
	if (master->m_stopping)
		*why = "stopping";
	else if (master->m_delaying)
		*why = "shutdown_delay: stopping soon";
	else if (master_ready_count() == 0 && upstream_ready_count() == 0)
		*why = master->m_conf->c_nupstreams > 0 ?
		    "no worker or upstream is ready" : "no worker is ready";
	return *why == NULL;
}

/* One line for the service manager's STATUS=. */
static const char *
master_sd_status(void)
{
	static char	buf[160];

	snprintf(buf, sizeof(buf), "%s mode, %d/%d workers ready, %u "
	    "connection%s%s", conf_mode_name(master->m_conf->c_mode),
	    master_ready_count(), master->m_conf->c_workers, master_load(),
	    master_load() == 1 ? "" : "s", master->m_next != NULL ?
	    ", reloading" : "");
	return buf;
}

/* The first time every worker is ready: READY=1. Then STATUS= only. */
static void
master_sd_update(void)
{
	if (!sd_notifying() || master->m_stopping)
		return;
	if (!master->m_sd_ready &&
	    master_ready_count() < master->m_conf->c_workers) {
		sd_notify("STATUS=starting: %s", master_sd_status());
		return;
	}
	sd_notify("%sSTATUS=%s", master->m_sd_ready ? "" : "READY=1\n",
	    master_sd_status());
	master->m_sd_ready = 1;
}

static void
master_sd_status_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (master->m_stopping)
		return;
	if (master->m_sd_ready)
		sd_notify("STATUS=%s", master_sd_status());
	timer_arm(ev_sdstatus, SD_STATUS_EVERY);
}

/* SIGHUP or a rollback: the manager shows "reloading" until READY=1. */
void
master_sd_reloading(void)
{
	if (master->m_sd_ready)
		sd_notify("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
		    sd_monotonic_usec());
}

/*
 * A reload or rollback has ended. committed: its workers took over from
 * those that had hit restart_limit, and the count starts again.
 * Otherwise a give-up held back for it is judged now.
 */
void
master_reload_done(int committed)
{
	if (master->m_sd_ready)
		sd_notify("READY=1\nSTATUS=%s", master_sd_status());
	if (!master->m_giveup_held)
		return;
	master->m_giveup_held = 0;
	if (committed)
		master->m_nrestarts = 0;
	else if (!master->m_stopping)
		master_give_up();
}

/*
 * Take w out of service: it finishes its connections (told so unless it
 * asked itself) and is killed at graceful_timeout; it is not restarted.
 */
void
master_retire(struct worker *w, int tell)
{
	w->w_retiring = 1;
	master_worker_set_state(w, WS_DRAINING);
	if (w->w_pid <= 0) {
		master_worker_remove(w);
		return;
	}
	if (tell)
		master_ask_stop(w, "retired");
	timer_arm(w->w_timer, master->m_conf->c_graceful_timeout);
}

/* The delay before restarting or replacing a worker that failed n times
 * in a row: none for the first, then doubling up to BACKOFF_MAX. */
static int
master_backoff(unsigned int n)
{
	int	delay;

	if (n == 0)
		return 0;
	delay = BACKOFF_MIN << (n > 6 ? 6 : n - 1);
	return delay > BACKOFF_MAX ? BACKOFF_MAX : delay;
}

/* Processes that finish their connections, not to be restarted. */
static int
master_draining(void)
{
	int	i, n = 0;

	for (i = 0; i < master->m_nworkers; i++)
		if (master->m_workers[i]->w_retiring &&
		    master->m_workers[i]->w_pid > 0)
			n++;
	return n;
}

/* Start w's replacement now; w finishes its connections. */
static void
master_replace_now(struct worker *w)
{
	struct worker	*nw;
	int		 i;

	/* Asked for, not a crash: it does not count towards restart_limit
	 * (a worker that keeps asking is slowed down by master_replace). */
	w->w_replace = 0;
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
	nw->w_failures = w->w_failures;
	master_retire(w, 0);
	master_spawn(nw);
}

/*
 * Start a new process for w's slot and let the old one finish its
 * connections: Node cluster's answer to a worker's "suicide" message.
 * One that asks again soon after it started waits, with the back-off of
 * restarts, serving meanwhile; and past a bound on draining processes,
 * it is not replaced until some have finished.
 */
void
master_replace(struct worker *w, const char *why)
{
	int	delay, limit;

	if (w->w_retiring || w->w_replace || master->m_stopping)
		return;
	limit = master->m_conf->c_workers > 2 ? master->m_conf->c_workers : 2;
	if (master_draining() >= limit) {
		log_warnx_limit(&w->w_lim_msg, "worker %d (pid %ld) asks to be "
		    "replaced, but %d workers are still finishing; it stays "
		    "for now", w->w_id, (long)w->w_pid, limit);
		return;
	}
	/* The first time at once; again and again young: backing off. */
	if (clock_ms() - w->w_started < HEALTHY_AFTER) {
		delay = master_backoff(w->w_failures);
		w->w_failures++;
	} else {
		delay = 0;
		w->w_failures = 0;
	}
	/* One that serves, or will (starting), waits for its turn. */
	if (delay > 0 && (w->w_state == WS_READY ||
	    w->w_state == WS_STARTING))
		log_info("worker %d (pid %ld): replacing it in %d ms, %s",
		    w->w_id, (long)w->w_pid, delay, why);
	else {
		log_info("worker %d (pid %ld): replacing it, %s", w->w_id,
		    (long)w->w_pid, why);
		master_replace_now(w);
		return;
	}
	w->w_replace = 1;
	w->w_replace_at = clock_ms() + (uint64_t)delay;
	if (w->w_state == WS_READY)
		timer_arm(w->w_timer, delay);
	/* else master_worker_ready arms it: w_timer is its ready wait */
}

static void
master_exited(struct worker *w, int status)
{
	uint64_t	ms = clock_ms() - w->w_started;
	char		who[96];
	int		delay, asked;

	/* Who ended it: porter (and why), or someone else. */
	if (WIFSIGNALED(status) && w->w_killwhy != NULL &&
	    WTERMSIG(status) == w->w_killsig)
		snprintf(who, sizeof(who), ": porter sent it (%s)",
		    w->w_killwhy);
	else if (WIFSIGNALED(status))
		snprintf(who, sizeof(who), ": not from porter");
	else
		who[0] = '\0';
	/* It asked to be replaced, and left cleanly before that was due. */
	asked = w->w_replace && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (w->w_retiring || master->m_stopping || asked) {
		/* Asked to go: however it went is how it was meant to. */
		if (WIFSIGNALED(status))
			log_info("worker %d (pid %ld, generation %u) stopped "
			    "by signal %d (%s)%s", w->w_id, (long)w->w_pid,
			    w->w_gen, WTERMSIG(status),
			    strsignal(WTERMSIG(status)), who);
		else
			log_info("worker %d (pid %ld, generation %u) finished, "
			    "status %d", w->w_id, (long)w->w_pid, w->w_gen,
			    WEXITSTATUS(status));
	} else if (WIFSIGNALED(status))
		log_warnx("worker %d (pid %ld, generation %u) killed by signal "
		    "%d (%s) after %llu ms%s", w->w_id, (long)w->w_pid,
		    w->w_gen, WTERMSIG(status), strsignal(WTERMSIG(status)),
		    (unsigned long long)ms, who);
	else
		log_warnx("worker %d (pid %ld, generation %u) exited with "
		    "status %d after %llu ms", w->w_id, (long)w->w_pid,
		    w->w_gen, WEXITSTATUS(status), (unsigned long long)ms);
	w->w_killsig = 0;
	w->w_killwhy = NULL;
	w->w_stop_held = NULL;
	/* What it forked does not outlive it (nor keep its port): the
	 * restart waits until it is gone (master_spawn). */
	if (kill(-w->w_pid, SIGKILL) == 0) {
		log_info("worker %d: killed what was left of its process group",
		    w->w_id);
		w->w_oldgrp = w->w_pid;
		w->w_oldgrp_until = clock_ms() + GROUP_WAIT;
	}
	proc_forget(w);
	if (w->w_chan != NULL) {
		channel_free(w->w_chan);
		w->w_chan = NULL;
	}
	evtimer_del(w->w_timer);
	w->w_replace = 0;	/* it went first: restarted (below) */
	w->w_pid = 0;
	if (w->w_mode != MODE_PROXY) {
		/* Its clients went with it; relays count themselves. */
		w->w_active = 0;
		w->w_accepted_base = w->w_accepted;
	}
	handoff_reclaim(w);
	cluster_worker_gone(w);
	if (!w->w_retiring && master->m_next != NULL &&
	    w->w_gen != master->m_gen) {
		/* A new worker died while a reload waited for it. */
		snprintf(who, sizeof(who), "worker %d of the new generation "
		    "exited %s", w->w_id, w->w_state == WS_READY ?
		    "in its probation" : "before it was ready");
		w->w_retiring = 1;
		reload_abort(who);
	}
	if (w->w_retiring) {
		master_worker_remove(w);
		return;
	}
	master_worker_set_state(w, WS_IDLE);
	if (master->m_stopping)
		return;
	if (asked) {
		/* Its replacement, when it was due: not a restart. */
		delay = w->w_replace_at > clock_ms() ?
		    (int)(w->w_replace_at - clock_ms()) : 0;
		w->w_restarts++;
		log_info("worker %d: its replacement starts in %d ms", w->w_id,
		    delay);
		timer_arm(w->w_timer, delay);
		return;
	}
	if (master_count_restart() == -1) {
		master_give_up();
		return;
	}
	/* Back off while it keeps dying young; a good run resets that. */
	if (ms < HEALTHY_AFTER)
		w->w_failures++;
	else
		w->w_failures = 0;
	delay = master_backoff(w->w_failures);
	w->w_restarts++;
	log_info("restarting worker %d in %d ms", w->w_id, delay);
	timer_arm(w->w_timer, delay);
}

/*
 * While stopping: leave the loop once every worker is gone and, on a
 * graceful stop, no client waits on the master (but for sockets queued
 * for a handoff that no worker is left to take).
 */
static void
master_exit_check(void)
{
	int	i;

	if (!master->m_stopping)
		return;
	for (i = 0; i < master->m_nworkers; i++)
		if (master->m_workers[i]->w_pid > 0)
			return;
	if (master->m_stopping == 1 ||
	    master->m_stats.active == handoff_pending())
		event_base_loopexit(master->m_base, NULL);
}

/* Collect exited children; while stopping, leave once all are gone. */
static void
master_reap(void)
{
	pid_t	pid;
	int	status, i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < master->m_nworkers; i++)
			if (master->m_workers[i]->w_pid == pid) {
				master_exited(master->m_workers[i], status);
				break;
			}
	}
	master_exit_check();
}

/*
 * Graceful stop, step by step: once the master holds no client (in
 * handoff mode, every accepted socket is handed off), the workers are told
 * to finish; once they and the relays are done, the loop ends.
 */
static void
master_stop_check(void)
{
	if (master->m_stopping != 2)
		return;
	if (!master->m_quit_sent && (master->m_conf->c_mode != MODE_HANDOFF ||
	    master->m_stats.active == 0)) {
		master->m_quit_sent = 1;
		master_signal_workers(0);
	}
	master_exit_check();
}

/* sig 0: each worker's own graceful signal. */
static void
master_signal_workers(int sig)
{
	struct worker	*w;
	int		 i;

	for (i = 0; i < master->m_nworkers; i++) {
		w = master->m_workers[i];
		if (sig == 0)
			master_ask_stop(w, "porter stops");
		else
			master_kill(w, sig, sig == SIGKILL ?
			    "it did not stop in time" : "porter stops");
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
	master->m_delaying = 0;
	evtimer_del(ev_delay);
	sd_notify("STOPPING=1\nSTATUS=%s stop", how == 1 ? "fast" :
	    "graceful");
	if (master->m_next != NULL)
		reload_abort("stopping");
	listener_close_all();
	cluster_stop_accepting();
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

/* Make and start the workers of a conf's generation. */
int
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

/*
 * The control socket's "scale N": N workers of the running configuration
 * (until a reload), the ones past N retiring gracefully. 0 only beside
 * remote upstreams. 0, or -1 with *cause.
 */
int
master_scale_to(int n, char **cause)
{
	struct conf	*c = master->m_conf;
	struct worker	*w;
	int		 i, old = c->c_workers;

	if (master->m_stopping || master->m_next != NULL) {
		*cause = strdup(master->m_stopping ? "stopping" :
		    "a reload is under way");
		return -1;
	}
	if (n < 0 || n > PORTER_MAX_WORKERS / 2) {
		*cause = strdup("scale: 0 to 128 workers");
		return -1;
	}
	if (n == 0 && (c->c_mode != MODE_PROXY ||
	    upstream_remote_count() == 0)) {
		*cause = strdup("scale 0 needs mode proxy and upstreams to "
		    "send the clients to");
		return -1;
	}
	while (c->c_workers < n) {
		if ((w = master_worker_new(c, c->c_workers, master->m_gen)) ==
		    NULL || master_worker_insert(w, -1) == -1) {
			if (w != NULL)
				master_worker_free(w);
			*cause = strdup("cannot add a worker");
			return -1;
		}
		c->c_workers++;
		master_spawn(w);
	}
	if (c->c_workers > n) {
		c->c_workers = n;
		for (i = master->m_nworkers - 1; i >= 0; i--) {
			w = master->m_workers[i];
			if (w->w_id >= n && !w->w_retiring &&
			    w->w_gen == master->m_gen)
				master_retire(w, 1);
		}
	}
	if (old != n)
		log_info("control: scale: %d -> %d workers", old, n);
	return 0;
}

/* The built-in workers' stderr becomes the master's (the error_log). */
static void
master_send_stderr(void)
{
	struct worker	*w;
	int		 i;

	for (i = 0; i < master->m_nworkers; i++) {
		w = master->m_workers[i];
		if (w->w_kind == WORKER_BUILTIN && w->w_pid > 0 &&
		    w->w_chan != NULL &&
		    ipc_send_stderr(w->w_chan, STDERR_FILENO) == -1)
			log_warnx("worker %d: cannot send it the error log",
			    w->w_id);
	}
}

static int
master_same_path(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/*
 * The logs c names: the format, error_log (onto stderr, for every child
 * to inherit; the built-in workers running are sent it), access_log. At
 * start a failure is fatal; on reload the file that failed is left as it
 * was. Returns 0 or -1.
 */
int
master_logs(const struct conf *c)
{
	int	rv = 0;

	log_setformat(c->c_log_json);
	if (!master_same_path(log_file(), c->c_error_log)) {
		if (log_open(c->c_error_log) == -1) {
			log_warn("error_log %s", c->c_error_log);
			rv = -1;
		} else
			master_send_stderr();
	}
	if (access_open(c->c_access_log, c->c_access_json) == -1) {
		log_warn("access_log %s", c->c_access_log);
		rv = -1;
	}
	return rv;
}

/*
 * SIGUSR1 (porter -s reopen): the log files again, by name, after
 * logrotate renamed them. Built-in workers get the new error_log over
 * their channel; exec and node workers keep the stderr they started with.
 */
static void
master_reopen(void)
{
	int	rv = 0;

	if (log_file() == NULL && access_file() == NULL) {
		log_info("SIGUSR1: nothing to reopen: no error_log or "
		    "access_log file");
		return;
	}
	if (log_reopen() == -1) {
		log_warn("SIGUSR1: error_log %s", log_file());
		rv = -1;
	} else if (log_file() != NULL)
		master_send_stderr();
	if (access_reopen() == -1) {
		log_warn("SIGUSR1: access_log %s", access_file());
		rv = -1;
	}
	if (rv == 0)
		log_info("reopened logs");
}

static void
master_delay_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	master_stop(master->m_delaying, "shutdown_delay is over");
}

/*
 * SIGTERM, SIGINT, SIGQUIT. With shutdown_delay, porter first says it is
 * not ready (/readyz 503, STOPPING=1) and goes on serving for that long,
 * so that a balancer in front (a Kubernetes Service) stops sending before
 * porter stops accepting. A second signal meanwhile stops at once.
 */
static void
master_stop_after_delay(int how, int sig)
{
	int	delay = master->m_conf->c_shutdown_delay;

	if (master->m_stopping || master->m_delaying || delay == 0) {
		if (master->m_delaying > how)
			how = master->m_delaying;
		master_stop(how, strsignal(sig));
		return;
	}
	master->m_delaying = how;
	log_info("%s: shutdown_delay: not ready any more, serving %d ms "
	    "before the %s stop", strsignal(sig), delay, how == 1 ? "fast" :
	    "graceful");
	sd_notify("STOPPING=1\nSTATUS=shutdown_delay: serving %d ms before "
	    "stopping", delay);
	timer_arm(ev_delay, delay);
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
		master_stop_after_delay(1, sig);
		break;
	case SIGQUIT:
		master_stop_after_delay(2, sig);
		break;
	case SIGHUP:
		reload_start();
		break;
	case SIGUSR1:
		master_reopen();
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

int
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

/* Signals come through a signalfd, read in the loop. */
static void
master_signals(void)
{
	static const int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGQUIT, SIGHUP,
	    SIGUSR1, SIGTTIN, SIGTTOU };
	sigset_t	 set;
	size_t		 i;

	sigemptyset(&set);
	for (i = 0; i < nitems(sigs); i++)
		sigaddset(&set, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1 ||
	    (signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) ==
	    -1 || (ev_signal = event_new(master->m_base, signal_fd,
	    EV_READ | EV_PERSIST, master_signal_cb, NULL)) == NULL ||
	    event_add(ev_signal, NULL) == -1)
		fatal("cannot set up signal handling");
}

/* Stopped: everything goes. */
static void
master_free(void)
{
	status_stop();
	relay_close_all();
	relay_threads_stop();		/* before any worker struct goes */
	upstream_stop();		/* after the relays, before workers */
	access_close();
	handoff_close_all();
	handoff_free();
	reload_free();
	while (master->m_nworkers > 0)
		master_worker_free(master->m_workers[--master->m_nworkers]);
	proc_reap_orphans();
	listener_close_all();
	event_free(ev_signal);
	close(signal_fd);
	event_free(ev_stop);
	event_free(ev_delay);
	event_free(ev_sdstatus);
	if (master->m_conf->c_pidfile != NULL)
		unlink(master->m_conf->c_pidfile);
	conf_unref(master->m_conf);
	event_base_free(master->m_base);
	if (master->m_exefd != -1)
		close(master->m_exefd);
	free(master->m_restarts);
	free(master);
	master = NULL;
}

/* Run the master until it stops; returns the exit code. */
int
master_run(struct conf *c, const char *confpath, const struct overrides *o)
{
	char	*cause = NULL;
	int	 rv;

	if ((master = calloc(1, sizeof(*master))) == NULL)
		fatal("calloc");
	sd_init();
	master->m_conf = conf_ref(c);
	master->m_confpath = confpath;
	master->m_overrides = *o;
	master->m_pid = getpid();
	/* Logs first, as root: the workers inherit the error_log. */
	if (master_logs(c) == -1)
		return EXIT_START;
	/* Built-in workers exec this binary (proc.c); -1: they run forked. */
	master->m_exefd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	master->m_balance.b_kind = c->c_balance;
	master->m_started = clock_ms();
	if ((master->m_restarts = calloc((size_t)c->c_restart_limit,
	    sizeof(uint64_t))) == NULL)
		fatal("calloc");
	if ((master->m_base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
#ifdef HAVE_SYS_PRCTL_H
	/* What a worker leaves behind becomes porter's: proc_reap_orphans. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_warn("%s: PR_SET_CHILD_SUBREAPER", __func__);
#endif
	if (proc_setup_user(c->c_user) == -1 || proc_check_worker(c) == -1)
		return EXIT_START;
	master_rlimit(c);
	signal(SIGPIPE, SIG_IGN);

	if (c->c_mode == MODE_HANDOFF && handoff_init() == -1)
		fatalx("out of memory");
	if (listener_open(c, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		return EXIT_START;
	}
	listener_serve(c->c_mode);
	if (c->c_status_on && status_start(&cause) == -1) {
		log_warnx("status: %s", cause);
		free(cause);
		return EXIT_START;
	}
	if (upstream_start(&cause) == -1) {
		log_warnx("%s", cause ? cause : "upstream: cannot start");
		free(cause);
		return EXIT_START;
	}
	master_signals();
	if ((ev_stop = evtimer_new(master->m_base, master_stop_timer_cb,
	    NULL)) == NULL || (ev_delay = evtimer_new(master->m_base,
	    master_delay_cb, NULL)) == NULL || (ev_sdstatus =
	    evtimer_new(master->m_base, master_sd_status_cb, NULL)) == NULL)
		fatalx("evtimer_new failed");
	if (sd_notifying())
		timer_arm(ev_sdstatus, SD_STATUS_EVERY);
	/* After the signal mask: the threads inherit it, as signalfd needs. */
	relay_io_start(c->c_relay_io);
	if (relay_threads_start(c->c_relay_threads) == -1)
		fatal("cannot start %d relay threads", c->c_relay_threads);
	if (c->c_pidfile != NULL && master_pidfile(c->c_pidfile) == -1)
		return EXIT_START;

	master->m_basefds = master_count_fds();
	master->m_stats.peak_fds = master->m_basefds;
	if (master_start_workers(c, 0) == -1)
		return EXIT_START;
	master_fds(0);
	if (c->c_workers == 0)
		master_sd_update();	/* upstreams only: nobody to wait for */

	log_info("porter %s: %s mode, %d %s worker%s, listening on %s%s",
	    PORTER_VERSION, conf_mode_name(c->c_mode), c->c_workers,
	    conf_worker_name(c->c_worker), c->c_workers == 1 ? "" : "s",
	    c->c_listen[0].a_text, c->c_nlisten > 1 ? " and more" : "");
	event_base_dispatch(master->m_base);

	rv = master->m_exitcode;
	master_free();
	log_info("exiting with status %d", rv);
	return rv;
}
