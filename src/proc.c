/*
 * proc.c: making worker processes. fork(), the child's descriptors and
 * environment, exec for foreign workers, the privilege drop, and finding
 * out when an exec'd worker is up: its exec went through and, in proxy
 * mode, its port accepts connections.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#ifdef HAVE_SYS_PRCTL_H
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "porter.h"

#define PROBE_INTERVAL	100	/* ms between connect attempts */
#define FD_SPARE	100	/* where fds wait while the layout is built */

static uid_t	proc_uid;
static gid_t	proc_gid;
static int	proc_drop;	/* become proc_uid/proc_gid in the child */
static char	proc_user[64];

static void	proc_exec_cb(evutil_socket_t, short, void *);
static void	proc_probe_cb(evutil_socket_t, short, void *);
static void	proc_probe_timer_cb(evutil_socket_t, short, void *);
static void	proc_probe_later(struct worker *);
static void	proc_probe(struct worker *);
static __dead void proc_exec_builtin(struct worker *, const int *, int);

/* Workers started by root run as user; the check happens once, here. */
int
proc_setup_user(const char *user)
{
	struct passwd	*pw;

	if (geteuid() != 0 || user == NULL)
		return 0;
	if ((pw = getpwnam(user)) == NULL) {
		log_warnx("user %s: no such user", user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		log_warnx("user %s is root: the workers would run as root",
		    user);
		return -1;
	}
	proc_uid = pw->pw_uid;
	proc_gid = pw->pw_gid;
	proc_drop = 1;
	snprintf(proc_user, sizeof(proc_user), "%s", user);
	return 0;
}

/*
 * Whether the workers' user may open path with mode (R_OK, X_OK): asked in
 * a child that has become that user, since access(2) answers for root.
 */
static int
proc_user_access(const char *path, int mode)
{
	pid_t	pid;
	int	status;

	if (!proc_drop)
		return access(path, mode) == 0;
	if ((pid = fork()) == -1)
		return 1;	/* cannot tell: let the worker's start say */
	if (pid == 0) {
		if (setgroups(1, &proc_gid) == -1 || setgid(proc_gid) == -1 ||
		    setuid(proc_uid) == -1)
			_exit(2);
		_exit(access(path, mode) == 0 ? 0 : 1);
	}
	if (waitpid(pid, &status, 0) == -1)
		return 1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Before any worker starts: can they run what the conf names? */
int
proc_check_worker(const struct conf *c)
{
	const char	*path = c->c_worker_argv ? c->c_worker_argv[0] : NULL;
	int		 mode;

	if (c->c_worker == WORKER_BUILTIN || path == NULL)
		return 0;
	mode = c->c_worker == WORKER_NODE ? R_OK : X_OK;
	if (c->c_worker == WORKER_EXEC && strchr(path, '/') == NULL)
		return 0;	/* found in PATH at exec time */
	if (proc_user_access(path, mode))
		return 0;
	log_warnx("worker: %s cannot %s %s (workers run as user %s when "
	    "porter is root: make it reachable, or set \"user\")",
	    proc_drop ? proc_user : "porter", mode == R_OK ? "read" : "run",
	    path, proc_drop ? proc_user : "porter");
	return -1;
}

/*
 * In the child: never outlive the master, start from default signals, put
 * keep[i] at fd 3 + i (close-on-exec cleared) and close everything else
 * above stderr. errfd, if not -1, lands after them and stays close-on-exec.
 * Returns the fd errfd landed on.
 */
static int
proc_child_fds(pid_t master_pid, const int *keep, int nkeep, int errfd)
{
	struct rlimit	rl;
	sigset_t	set;
	int		sig, i, fd, tmp[PORTER_MAX_LISTEN + 2], n = 0;

	if (nkeep > PORTER_MAX_LISTEN + 1)
		_exit(EXIT_START);

#ifdef HAVE_SYS_PRCTL_H
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
		_exit(EXIT_START);
#endif
	if (getppid() != master_pid)
		_exit(EXIT_START);	/* the master died already */
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);

	/* Out of the way first, so that no dup2 clobbers a source. */
	for (i = 0; i < nkeep; i++)
		if ((tmp[n++] = fcntl(keep[i], F_DUPFD_CLOEXEC, FD_SPARE)) == -1)
			_exit(EXIT_START);
	if (errfd != -1 &&
	    (tmp[n++] = fcntl(errfd, F_DUPFD_CLOEXEC, FD_SPARE)) == -1)
		_exit(EXIT_START);
	for (i = 0; i < n; i++) {
		if (dup2(tmp[i], 3 + i) == -1)
			_exit(EXIT_START);
		if (i < nkeep && fcntl(3 + i, F_SETFD, 0) == -1)
			_exit(EXIT_START);
		if (i == nkeep && fcntl(3 + i, F_SETFD, FD_CLOEXEC) == -1)
			_exit(EXIT_START);
	}
#ifdef HAVE_CLOSE_RANGE
	if (close_range((unsigned int)(3 + n), ~0U, 0) == -1)
#endif
	{
		if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
			rl.rlim_cur = 1024;
		for (fd = 3 + n; fd < (int)rl.rlim_cur; fd++)
			close(fd);
	}
	if (proc_drop && (setgroups(1, &proc_gid) == -1 ||
	    setgid(proc_gid) == -1 || setuid(proc_uid) == -1)) {
		log_warn("cannot become user %s", proc_user);
		_exit(EXIT_START);
	}
	return errfd == -1 ? -1 : 3 + nkeep;
}

/*
 * In the child: become a built-in worker by exec'ing porter itself, so
 * that the worker starts clean (the master may run relay threads, and a
 * forked child of a threaded process should do no more than this before
 * exec). The binary is the master's fd on it: the workers' user needs no
 * search permission on its path. What the worker needs of the conf comes
 * in PORTER_WORKER_* variables, as Node announces NODE_CHANNEL_FD.
 */
static __dead void
proc_exec_builtin(struct worker *w, const int *keep, int nkeep)
{
	const struct conf	*c = w->w_conf;
	char			 buf[64], name[32];
	char			*argv[2];
	int			 exefd;

	exefd = proc_child_fds(master->m_pid, keep, nkeep, master->m_exefd);
	if (exefd == -1)
		worker_main(w->w_id, 3, w->w_mode, w->w_port, c);
	snprintf(buf, sizeof(buf), "%d", w->w_id);
	setenv("PORTER_WORKER_ID", buf, 1);
	setenv("PORTER_WORKER_MODE", conf_mode_name(w->w_mode), 1);
	setenv("PORTER_WORKER_ADDR", c->c_worker_ports.a_text, 1);
	snprintf(buf, sizeof(buf), "%d", w->w_port);
	setenv("PORTER_WORKER_PORT", buf, 1);
	snprintf(buf, sizeof(buf), "%d %d %d %d", c->c_idle_timeout,
	    c->c_header_timeout, c->c_graceful_timeout, log_getverbose());
	setenv("PORTER_WORKER_TIMEOUTS", buf, 1);
	snprintf(name, sizeof(name), "porter: worker %d", w->w_id);
	argv[0] = name;
	argv[1] = NULL;
	fexecve(exefd, argv, environ);
	/* Cannot exec (a noexec mount?): be the worker in this process. */
	log_warn("worker %d: cannot exec porter; running it forked",
	    w->w_id);
	worker_main(w->w_id, 3, w->w_mode, w->w_port, c);
}

/* argv for an exec or node worker, with {port} replaced; NULL if out of
 * memory. */
static char **
proc_argv(const struct worker *w, const char *const *args)
{
	char		**argv, port[16];
	const char	*p;
	size_t		 n, i, len;
	size_t		 extra = w->w_kind == WORKER_NODE;

	for (n = 0; args[n] != NULL; n++)
		;
	if ((argv = calloc(n + 2, sizeof(*argv))) == NULL)
		return NULL;
	if (extra && (argv[0] = strdup("node")) == NULL)
		goto fail;
	snprintf(port, sizeof(port), "%d", w->w_port);
	for (i = 0; i < n; i++) {
		if ((p = strstr(args[i], "{port}")) == NULL) {
			if ((argv[i + extra] = strdup(args[i])) == NULL)
				goto fail;
			continue;
		}
		len = strlen(args[i]) - 6 + strlen(port);
		if ((argv[i + extra] = malloc(len + 1)) == NULL)
			goto fail;
		snprintf(argv[i + extra], len + 1, "%.*s%s%s",
		    (int)(p - args[i]), args[i], port, p + 6);
	}
	return argv;

 fail:
	/* Every slot, past a NULL too (calloc: unset ones are NULL). */
	for (i = 0; i < n + extra; i++)
		free(argv[i]);
	free(argv);
	return NULL;
}

/*
 * Proxy mode: a private port from the pool [base, base + 2 * workers),
 * base + id when free. Old and new processes of one worker coexist while
 * the old one drains, hence twice the worker count.
 */
int
proc_port(struct worker *w)
{
	struct worker	*o;
	int		 base, n, i, p, k, used;

	w->w_addr = w->w_conf->c_worker_ports;
	base = addr_port(&w->w_addr);
	n = 2 * (master->m_nworkers > w->w_conf->c_workers ?
	    master->m_nworkers : w->w_conf->c_workers);
	for (k = -1; k < n; k++) {
		p = k == -1 ? base + w->w_id : base + k;
		if (p > 65535)
			continue;
		for (i = used = 0; i < master->m_nworkers && !used; i++) {
			o = master->m_workers[i];
			used = o != w && o->w_pid > 0 && o->w_port == p;
		}
		if (used)
			continue;
		w->w_port = p;
		addr_set_port(&w->w_addr, p);
		return 0;
	}
	return -1;
}

/*
 * Start w's process. chanfd: the child's end of the channel, or -1.
 * lfds: listening sockets an exec worker gets at fd 3 (shared mode).
 * Returns the pid, or -1.
 */
pid_t
proc_spawn(struct worker *w, int chanfd, const int *lfds, int nlfds)
{
	const struct conf	*c = w->w_conf;
	char			**argv = NULL, buf[32];
	int			 errp[2] = { -1, -1 }, keep[PORTER_MAX_LISTEN + 1];
	int			 nkeep = 0, errfd, e, i;
	pid_t			 pid;

	if (w->w_kind != WORKER_BUILTIN) {
		/* Built before the fork: the child only execs. */
		if ((argv = proc_argv(w, (const char *const *)
		    c->c_worker_argv)) == NULL ||
		    pipe2(errp, O_CLOEXEC) == -1) {
			log_warn("%s", __func__);
			conf_free_argv(argv);
			return -1;
		}
	}
	if (chanfd != -1)
		keep[nkeep++] = chanfd;
	for (i = 0; i < nlfds && nkeep < PORTER_MAX_LISTEN + 1; i++)
		keep[nkeep++] = lfds[i];

	switch ((pid = fork())) {
	case -1:
		log_warn("%s: fork", __func__);
		if (errp[0] != -1) {
			close(errp[0]);
			close(errp[1]);
		}
		conf_free_argv(argv);
		return -1;
	case 0:
		if (w->w_kind == WORKER_BUILTIN)
			proc_exec_builtin(w, keep, nkeep);	/* no return */
		errfd = proc_child_fds(master->m_pid, keep, nkeep, errp[1]);
		/* exec and node workers */
		snprintf(buf, sizeof(buf), "%d", w->w_id);
		setenv("PORTER_WORKER_ID", buf, 1);
		if (w->w_mode == MODE_PROXY) {
			snprintf(buf, sizeof(buf), "%d", w->w_port);
			setenv("PORT", buf, 1);
		}
		if (chanfd != -1) {
			setenv("NODE_CHANNEL_FD", "3", 1);
			setenv("NODE_CHANNEL_SERIALIZATION_MODE", "json", 1);
		}
		if (nlfds > 0) {
			snprintf(buf, sizeof(buf), "%d", nlfds);
			setenv("LISTEN_FDS", buf, 1);
			snprintf(buf, sizeof(buf), "%ld", (long)getpid());
			setenv("LISTEN_PID", buf, 1);
		}
		execvp(argv[0], argv);
		e = errno;
		(void)write(errfd, &e, sizeof(e));
		_exit(127);
	}
	conf_free_argv(argv);
	if (w->w_kind != WORKER_BUILTIN) {
		close(errp[1]);
		w->w_execfd = errp[0];
		w->w_execev = event_new(master->m_base, errp[0], EV_READ,
		    proc_exec_cb, w);
		if (w->w_execev == NULL || event_add(w->w_execev, NULL) == -1)
			log_warnx("%s: cannot watch worker %d's exec", __func__,
			    w->w_id);
	}
	return pid;
}

/* Stop watching w's exec and port. */
void
proc_forget(struct worker *w)
{
	if (w->w_execev != NULL) {
		event_free(w->w_execev);
		w->w_execev = NULL;
	}
	if (w->w_execfd != -1) {
		close(w->w_execfd);
		w->w_execfd = -1;
	}
	if (w->w_probeev != NULL) {
		event_free(w->w_probeev);
		w->w_probeev = NULL;
	}
	if (w->w_probefd != -1) {
		close(w->w_probefd);
		w->w_probefd = -1;
	}
}

/*
 * The exec-failure pipe: EOF means exec went through (the write end was
 * close-on-exec); an errno means it did not, and the child exits 127.
 */
static void
proc_exec_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	int		 e;
	ssize_t		 n;

	(void)what;
	n = read(fd, &e, sizeof(e));
	event_free(w->w_execev);
	w->w_execev = NULL;
	close(fd);
	w->w_execfd = -1;
	if (n == (ssize_t)sizeof(e)) {
		log_warnx("worker %d: cannot run %s: %s", w->w_id,
		    w->w_kind == WORKER_NODE ? "node" :
		    w->w_conf->c_worker_argv[0], strerror(e));
		return;		/* reaped and restarted as usual */
	}
	if (w->w_mode == MODE_PROXY)
		proc_probe(w);		/* up once its port accepts */
	else
		master_worker_ready(w);
}

/* Proxy mode: try to connect to the worker's port until it accepts. */
static void
proc_probe(struct worker *w)
{
	int	fd;

	proc_forget(w);
	fd = socket(w->w_addr.a_ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto again;
	w->w_addr.a_len = w->w_addr.a_ss.ss_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	if (connect(fd, (struct sockaddr *)&w->w_addr.a_ss, w->w_addr.a_len) ==
	    0) {
		close(fd);
		master_worker_ready(w);
		return;
	}
	if (errno != EINPROGRESS) {
		close(fd);
		goto again;
	}
	w->w_probefd = fd;
	w->w_probeev = event_new(master->m_base, fd, EV_WRITE, proc_probe_cb,
	    w);
	if (w->w_probeev != NULL && event_add(w->w_probeev, NULL) == 0)
		return;
 again:
	proc_probe_later(w);
}

static void
proc_probe_later(struct worker *w)
{
	struct timeval	tv = { 0, PROBE_INTERVAL * 1000 };

	proc_forget(w);
	w->w_probeev = evtimer_new(master->m_base, proc_probe_timer_cb, w);
	if (w->w_probeev != NULL)
		evtimer_add(w->w_probeev, &tv);
}

static void
proc_probe_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	proc_probe(arg);
}

static void
proc_probe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	socklen_t	 len = sizeof(int);
	int		 err = 0;

	(void)what;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 || err) {
		proc_probe_later(w);	/* not listening yet */
		return;
	}
	proc_forget(w);
	master_worker_ready(w);
}
