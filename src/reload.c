/*
 * reload.c: reload by generations. SIGHUP reads the conf again; a good one
 * starts a new generation of workers beside the running one, and once all
 * of them are ready it takes over while the old workers finish their
 * connections. The listening sockets never close.
 */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "porter.h"

/*
 * SIGHUP: read the conf again. A bad one is logged and the running one
 * kept. A good one starts its own workers; reload_check() commits it.
 */
void
reload_start(void)
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
	if (nc->c_mode == MODE_HANDOFF && handoff_init() == -1) {
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
		reload_abort("cannot make the new workers");
}

/* What changes with the conf beyond the workers: the master's own parts. */
static void
reload_master(struct conf *oc, struct conf *nc)
{
	char		*cause = NULL;
	uint64_t	*rs;

	master->m_balance.b_kind = nc->c_balance;
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
}

/* A new worker is ready: once the whole new generation is, it takes over. */
void
reload_check(void)
{
	struct conf	*oc = master->m_conf, *nc = master->m_next;
	struct worker	*w, *old[PORTER_MAX_WORKERS];
	int		 i, n = 0;

	if (nc == NULL)
		return;
	for (i = 0; i < master->m_nworkers; i++) {
		w = master->m_workers[i];
		if (w->w_gen != master->m_gen && !w->w_retiring &&
		    w->w_state != WS_READY)
			return;			/* not all up yet */
	}
	master->m_conf = nc;
	master->m_next = NULL;
	master->m_gen++;
	reload_master(oc, nc);

	/* Retiring may remove a worker from the table: work on a copy. */
	for (i = 0; i < master->m_nworkers; i++) {
		w = master->m_workers[i];
		if (w->w_gen != master->m_gen && !w->w_retiring)
			old[n++] = w;
	}
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
void
reload_abort(const char *why)
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
		master_kill(gone[i], SIGKILL, "its reload failed");
		master_retire(gone[i], 0);
	}
	proc_setup_user(master->m_conf->c_user);
	conf_unref(master->m_next);
	master->m_next = NULL;
}
