/*
 * reload.c: reload by generations. SIGHUP reads the conf again; a good one
 * starts a new generation of workers beside the running one. Once all of
 * them are ready and have stayed up for reload_probation, it takes over
 * while the old workers finish their connections; one that fails before
 * that leaves the running generation as it was. The listening sockets
 * never close.
 *
 * The configuration the last reload replaced is kept: if the generation
 * that took over later keeps dying (restart_limit), porter goes back to it
 * by the same road, rather than giving up while a configuration that
 * worked is at hand.
 */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "porter.h"

static struct event	*ev_probation;	/* a new generation on trial */
static int		 probation_over;
static int		 rolling_back;	/* m_next is the configuration before */

static void
reload_probation_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	probation_over = 1;
	reload_check();
}

/* Start nc's workers beside the running ones; 0, or -1 (nc dropped). */
static int
reload_begin(struct conf *nc)
{
	struct conf	*oc = master->m_conf;
	const char	*why = NULL;

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
		return -1;
	}
	if (nc->c_relay_threads != oc->c_relay_threads) {
		log_warnx("reload: relay_threads takes effect at the next "
		    "start; keeping %d", oc->c_relay_threads);
		nc->c_relay_threads = oc->c_relay_threads;
	}
	if (nc->c_relay_io != oc->c_relay_io) {
		log_warnx("reload: relay_io takes effect at the next start; "
		    "keeping %s", oc->c_relay_io == RELAY_IO_URING ?
		    "io_uring" : "epoll");
		nc->c_relay_io = oc->c_relay_io;
	}
	if (nc->c_mode == MODE_HANDOFF && handoff_init() == -1) {
		log_warnx("reload: out of memory; keeping the running "
		    "configuration");
		conf_unref(nc);
		return -1;
	}
	if (ev_probation == NULL && (ev_probation = evtimer_new(master->m_base,
	    reload_probation_cb, NULL)) == NULL) {
		log_warnx("reload: out of memory; keeping the running "
		    "configuration");
		conf_unref(nc);
		return -1;
	}
	master->m_next = nc;
	probation_over = 0;
	log_info("reload: starting %d %s worker%s in %s mode", nc->c_workers,
	    conf_worker_name(nc->c_worker), nc->c_workers == 1 ? "" : "s",
	    conf_mode_name(nc->c_mode));
	if (master_start_workers(nc, master->m_gen + 1) == -1) {
		reload_abort("cannot make the new workers");
		return -1;
	}
	reload_check();		/* workers 0: nothing to wait for */
	return 0;
}

/*
 * SIGHUP: read the conf again. A bad one is logged and the running one
 * kept. A good one starts its own workers; reload_check() commits it.
 */
void
reload_start(void)
{
	struct conf	*nc;
	char		*cause = NULL;

	if (master->m_stopping)
		return;
	if (master->m_next != NULL) {
		log_warnx("reload: one is under way already; ignored");
		return;
	}
	log_info("reload: reading %s", master->m_confpath);
	master_sd_reloading();
	if ((nc = conf_read(master->m_confpath, &master->m_overrides,
	    &cause)) == NULL) {
		log_warnx("reload: %s; keeping the running configuration",
		    cause ? cause : "bad configuration");
		free(cause);
		master_reload_done(0);
		return;
	}
	if (reload_begin(nc) == -1 && master->m_next == NULL)
		master_reload_done(0);
}

/*
 * The running generation keeps dying: go back to the configuration the
 * last reload replaced, if there is one. Returns 0 if that is under way;
 * -1 if there is nothing to go back to.
 */
int
reload_rollback(void)
{
	struct conf	*pc = master->m_prev;

	if (pc == NULL || master->m_stopping || master->m_next != NULL)
		return -1;
	master->m_prev = NULL;		/* once: no ping-pong */
	log_warnx("rolling back to the configuration before the last "
	    "reload (generation %u's)", master->m_gen - 1);
	master_sd_reloading();
	if (reload_begin(pc) == -1)
		return -1;
	rolling_back = 1;
	return 0;
}

/* A reload (or a rollback) is under way. */
int
reload_pending(void)
{
	return master->m_next != NULL;
}

/* What changes with the conf beyond the workers: the master's own parts. */
static void
reload_master(struct conf *oc, struct conf *nc)
{
	char		*cause = NULL;
	uint64_t	*rs;

	master->m_balance.b_kind = nc->c_balance;
	(void)master_logs(nc);	/* a file that fails: the old one stays */
	if (oc->c_mode != nc->c_mode) {
		listener_serve(nc->c_mode);
		if (oc->c_mode == MODE_HANDOFF)
			handoff_migrate();
	}
	if (nc->c_restart_limit != oc->c_restart_limit &&
	    (rs = calloc((size_t)nc->c_restart_limit, sizeof(*rs))) != NULL) {
		free(master->m_restarts);
		master->m_restarts = rs;
		master->m_nrestarts = 0;
	}
	if (oc->c_status_on != nc->c_status_on || (nc->c_status_on &&
	    !addr_eq(&oc->c_status, &nc->c_status))) {
		status_stop();
		if (nc->c_status_on && status_start(&cause) == -1) {
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
	upstream_reload(oc, nc);	/* upstreams, checks, control socket */
}

/* A new worker is ready: once the whole new generation is, it takes over. */
void
reload_check(void)
{
	struct conf	*oc = master->m_conf, *nc = master->m_next;
	struct worker	*w, *old[PORTER_MAX_WORKERS];
	int		 i, n = 0, rolled = rolling_back;

	if (nc == NULL)
		return;
	for (i = 0; i < master->m_nworkers; i++) {
		w = master->m_workers[i];
		if (w->w_gen != master->m_gen && !w->w_retiring &&
		    w->w_state != WS_READY)
			return;			/* not all up yet */
	}
	/* All up: they must stay up for the probation, serving nobody yet
	 * (with workers 0, nobody is on trial). */
	if (!probation_over && nc->c_reload_probation > 0 &&
	    nc->c_workers > 0) {
		if (!evtimer_pending(ev_probation, NULL)) {
			log_info("reload: new workers ready; on probation for "
			    "%d ms", nc->c_reload_probation);
			timer_arm(ev_probation, nc->c_reload_probation);
		}
		return;
	}
	evtimer_del(ev_probation);
	master->m_conf = nc;
	master->m_next = NULL;
	master->m_gen++;
	reload_master(oc, nc);
	/* What to go back to if this one fails later; not after a rollback. */
	if (master->m_prev != NULL)
		conf_unref(master->m_prev);
	master->m_prev = rolling_back ? NULL : conf_ref(oc);
	rolling_back = 0;
	master_reload_done(1);

	/* Retiring may remove a worker from the table: work on a copy. */
	for (i = 0; i < master->m_nworkers; i++) {
		w = master->m_workers[i];
		if (w->w_gen != master->m_gen && !w->w_retiring)
			old[n++] = w;
	}
	for (i = 0; i < n; i++)
		master_retire(old[i], 1);
	log_info("%s: done; %d old worker%s finishing", rolled ? "rollback" :
	    "reload", n, n == 1 ? "" : "s");
	conf_unref(oc);
	if (nc->c_mode == MODE_PROXY)
		relay_kick();
	else if (nc->c_mode == MODE_HANDOFF)
		handoff_kick();
	master_update_accepting();
}

/* The reload cannot finish: its workers go, the running ones stay. */
void
reload_abort(const char *why)
{
	struct worker	*w, *gone[PORTER_MAX_WORKERS];
	int		 i, n = 0;

	if (master->m_next == NULL)
		return;
	evtimer_del(ev_probation);
	log_warnx("%s failed: %s; keeping the running configuration",
	    rolling_back ? "rollback" : "reload", why);
	rolling_back = 0;
	for (i = 0; i < master->m_nworkers; i++) {
		w = master->m_workers[i];
		if (w->w_gen != master->m_gen && !w->w_retiring)
			gone[n++] = w;
	}
	for (i = 0; i < n; i++) {
		master_kill(gone[i], SIGKILL, "its reload failed");
		master_retire(gone[i], 0);
	}
	proc_setup_user(master->m_conf->c_user);
	conf_unref(master->m_next);
	master->m_next = NULL;
	master_reload_done(0);
}

void
reload_free(void)
{
	if (ev_probation != NULL)
		event_free(ev_probation);
	ev_probation = NULL;
	if (master->m_prev != NULL)
		conf_unref(master->m_prev);
	master->m_prev = NULL;
}
