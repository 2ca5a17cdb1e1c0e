/*
 * proc.c: making worker processes. fork(), the child's descriptors and
 * environment, exec for foreign workers, the privilege drop, and whether
 * the exec went through (then ready.c judges when the worker is ready).
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#ifdef HAVE_SYS_PRCTL_H
#include <sys/prctl.h>
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "porter.h"

#define PROC_ENV_OWN	10	/* variables porter sets for a worker */

static uid_t	proc_uid;
static gid_t	proc_gid;
static int	proc_drop;	/* become proc_uid/proc_gid in the child */
static char	proc_user[64];

static void	proc_exec_cb(evutil_socket_t, short, void *);

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
 * Why a child gave up before it became the worker: a step and an errno,
 * written to the exec-failure pipe, which proc_exec_read() logs.
 */
enum proc_step {
	PROC_STEP_FDS = 0,	/* its descriptors */
	PROC_STEP_USER,		/* becoming the workers' user */
	PROC_STEP_PDEATHSIG,	/* asking to die with the master */
	PROC_STEP_PARENT,	/* the master died already */
	PROC_STEP_EXEC,		/* exec */
};
struct proc_fail {
	int	pf_step;
	int	pf_errno;
};
static const char *proc_step_names[] = {
	"setting up its descriptors", "becoming its user",
	"asking for the parent-death signal", "finding its master",
	"exec",
};

/* In the child: where proc_child_fail() reports. */
static int	proc_errfd = -1;

/* In the child, async-signal-safe: n in decimal at buf (room for 21). */
static void
proc_utoa(char *buf, unsigned long n)
{
	char	tmp[24];
	size_t	i = 0, j = 0;

	do
		tmp[i++] = (char)('0' + n % 10);
	while ((n /= 10) != 0);
	while (i > 0)
		buf[j++] = tmp[--i];
	buf[j] = '\0';
}

/*
 * In the child, async-signal-safe (the master may run relay threads): tell
 * the master why this child gives up, then exit. Only if the pipe cannot
 * take it, a short line on the inherited stderr.
 */
static __dead void
proc_child_fail(enum proc_step step)
{
	struct proc_fail	 f = { (int)step, errno };
	char			 num[24];
	const char		*s;

	if (proc_errfd == -1 ||
	    write(proc_errfd, &f, sizeof(f)) != (ssize_t)sizeof(f)) {
		s = "porter: a worker cannot start: ";
		(void)!write(STDERR_FILENO, s, strlen(s));
		s = proc_step_names[step];
		(void)!write(STDERR_FILENO, s, strlen(s));
		s = ": errno ";
		(void)!write(STDERR_FILENO, s, strlen(s));
		proc_utoa(num, (unsigned long)f.pf_errno);
		(void)!write(STDERR_FILENO, num, strlen(num));
		(void)!write(STDERR_FILENO, "\n", 1);
	}
	_exit(step == PROC_STEP_EXEC ? 127 : EXIT_START);
}

/* In the child: close [lo, hi], or [lo, the fd limit) with hi -1. */
static void
proc_close_fds(int lo, int hi)
{
	struct rlimit	rl;
	int		fd;

	if (hi != -1 && lo > hi)
		return;
#ifdef HAVE_CLOSE_RANGE
	if (close_range((unsigned int)lo, hi == -1 ? ~0U : (unsigned int)hi,
	    0) == 0)
		return;
#endif
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur > INT_MAX)
		rl.rlim_cur = 65536;
	if (hi == -1 || hi >= (int)rl.rlim_cur)
		hi = (int)rl.rlim_cur - 1;
	for (fd = lo; fd <= hi; fd++)
		close(fd);
}

/*
 * In the child: put fds[i] at 3 + i, close-on-exec cleared for the first
 * ninherit and set for the rest, and close everything else above stderr.
 * Everything else goes first, so that the moves need no more than about
 * 3 + 3n descriptors however low the fd limit and however many the master
 * held: each fd is copied to the lowest free one at or above 3 + n (out of
 * the way, so that no dup2 clobbers a source), then onto its place.
 */
static void
proc_child_fds(const int *fds, int n, int ninherit)
{
	int	sorted[PORTER_MAX_LISTEN + 3], tmp[PORTER_MAX_LISTEN + 3];
	int	i, j, lo, v, e;

	if (n > (int)nitems(sorted)) {
		errno = E2BIG;
		proc_child_fail(PROC_STEP_FDS);
	}
	for (i = 0; i < n; i++) {
		for (v = fds[i], j = i; j > 0 && sorted[j - 1] > v; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = v;
	}
	for (i = 0, lo = 3; i < n; lo = sorted[i++] + 1)
		proc_close_fds(lo, sorted[i] - 1);
	proc_close_fds(lo, -1);

	for (i = 0; i < n; i++)
		if ((tmp[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3 + n)) == -1)
			proc_child_fail(PROC_STEP_FDS);
	/* The dup2s below may land on the pipe's old number: use the copy. */
	for (i = 0, e = -1; i < n; i++)
		if (fds[i] == proc_errfd)
			proc_errfd = tmp[e = i];
	for (i = 0; i < n; i++) {
		if (dup2(tmp[i], 3 + i) == -1)
			proc_child_fail(PROC_STEP_FDS);
		if (fcntl(3 + i, F_SETFD, i < ninherit ? 0 : FD_CLOEXEC) == -1)
			proc_child_fail(PROC_STEP_FDS);
	}
	if (e != -1)
		proc_errfd = 3 + e;
	proc_close_fds(3 + n, -1);
}

/*
 * In the child, before it becomes the worker: default signals, the fd
 * layout (proc_child_fds), the workers' user, and never outliving the
 * master. The parent-death signal comes after setuid(), which clears it,
 * and is then checked against a master that died in between. (It fires
 * when the forking thread ends: the master forks in its main thread.)
 */
static void
proc_child_setup(pid_t master_pid, const int *fds, int n, int ninherit)
{
	sigset_t	set;
	int		sig;

	/* A group of its own: porter signals the worker and whatever it
	 * forks (nginx's workers, a shell's children) as one. */
	(void)setpgid(0, 0);
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);

	proc_child_fds(fds, n, ninherit);
	if (proc_drop && (setgroups(1, &proc_gid) == -1 ||
	    setgid(proc_gid) == -1 || setuid(proc_uid) == -1))
		proc_child_fail(PROC_STEP_USER);
#ifdef HAVE_SYS_PRCTL_H
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
		proc_child_fail(PROC_STEP_PDEATHSIG);
#endif
	if (getppid() != master_pid) {
		errno = ESRCH;
		proc_child_fail(PROC_STEP_PARENT);
	}
}

/* s with every reference to the port ({port}, ${PORT}, $PORT) replaced
 * by port; NULL if out of memory. */
static char *
proc_expand(const char *s, const char *port)
{
	const char	*p, *ref;
	char		*out, *o;
	size_t		 len, n = 0, plen = strlen(port);

	for (p = s; (ref = conf_port_ref(p, &len)) != NULL; p = ref + len)
		n++;
	if ((out = malloc(strlen(s) + n * plen + 1)) == NULL)
		return NULL;
	for (o = out, p = s; (ref = conf_port_ref(p, &len)) != NULL;
	    p = ref + len) {
		memcpy(o, p, (size_t)(ref - p));
		o += ref - p;
		memcpy(o, port, plen);
		o += plen;
	}
	strcpy(o, p);
	return out;
}

/* argv for an exec or node worker, its port references expanded (proxy
 * mode; conf_check refuses them in the others); NULL if out of memory. */
static char **
proc_argv(const struct worker *w, const char *const *args)
{
	char		**argv, port[16];
	size_t		 n, i;
	size_t		 extra = w->w_kind == WORKER_NODE;

	for (n = 0; args[n] != NULL; n++)
		;
	if ((argv = calloc(n + 2, sizeof(*argv))) == NULL)
		return NULL;
	if (extra && (argv[0] = strdup("node")) == NULL)
		goto fail;
	snprintf(port, sizeof(port), "%d", w->w_port);
	for (i = 0; i < n; i++)
		if ((argv[i + extra] = proc_expand(args[i], port)) == NULL)
			goto fail;
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
/* Whether something listens on (or holds) a's port already. */
static int
proc_port_held(const struct addr *a)
{
	int	fd, on = 1, held;

	if ((fd = socket(a->a_ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
	    -1)
		return 0;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	held = bind(fd, (const struct sockaddr *)&a->a_ss, a->a_len) == -1 &&
	    errno == EADDRINUSE;
	close(fd);
	return held;
}

int
proc_port(struct worker *w)
{
	static struct log_limit	lim;
	struct worker	*o;
	int		 base, n, i, p, k, used;

	w->w_addr = w->w_conf->c_worker_ports;
	base = addr_port(&w->w_addr);
	n = 2 * (master->m_nworkers > w->w_conf->c_workers ?
	    master->m_nworkers : w->w_conf->c_workers);
	for (k = -1; k < n; k++) {
		p = k == -1 ? base + w->w_id : base + k;
		if (p > 65535 || (k >= 0 && k == w->w_id))
			continue;	/* beyond, or tried first already */
		for (i = used = 0; i < master->m_nworkers && !used; i++) {
			o = master->m_workers[i];
			used = o != w && o->w_pid > 0 && o->w_port == p;
		}
		if (used)
			continue;
		w->w_port = p;
		addr_set_port(&w->w_addr, p);
		if (proc_port_held(&w->w_addr)) {
			log_warnx_limit(&lim, "worker %d: port %d is held by "
			    "another process; trying another", w->w_id, p);
			continue;
		}
		return 0;
	}
	return -1;
}

/*
 * A worker's environment, made in the master before fork(): the child
 * only fills in LISTEN_PID and execs. Porter's own variables first win,
 * then the conf's env lines, then (unless env_clear) the master's
 * environment; with env_clear and no PATH line, PORTER_ENV_PATH.
 */
struct proc_env {
	char	**pe_vec;		/* NULL-terminated, for execve */
	char	 *pe_own[PROC_ENV_OWN];	/* strings made for it */
	int	  pe_nown;
	char	 *pe_listen_pid;	/* "LISTEN_PID=" + room for the pid */
};

static void
proc_env_free(struct proc_env *pe)
{
	int	i;

	for (i = 0; i < pe->pe_nown; i++)
		free(pe->pe_own[i]);
	free(pe->pe_vec);
	memset(pe, 0, sizeof(*pe));
}

static size_t
proc_env_namelen(const char *s)
{
	const char	*eq = strchr(s, '=');

	return eq != NULL ? (size_t)(eq - s) : strlen(s);
}

/* Whether vec[0..n) sets the variable that entry names. */
static int
proc_env_has(char *const *vec, size_t n, const char *entry)
{
	size_t	i, len = proc_env_namelen(entry);

	for (i = 0; i < n; i++)
		if (strncmp(vec[i], entry, len) == 0 && vec[i][len] == '=')
			return 1;
	return 0;
}

/* Porter's own "NAME=VALUE" for name, or NULL. */
static char *
proc_env_find(const char *name)
{
	char	**e;

	for (e = environ; e != NULL && *e != NULL; e++)
		if (proc_env_has(e, 1, name))
			return *e;
	return NULL;
}

static int	proc_env_own(struct proc_env *, size_t *, const char *, ...)
		    __printflike(3, 4);

/* One of porter's own variables, appended at vec[*n]. */
static int
proc_env_own(struct proc_env *pe, size_t *n, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 rv;

	if (pe->pe_nown == PROC_ENV_OWN)
		return -1;
	va_start(ap, fmt);
	rv = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (rv == -1)
		return -1;
	pe->pe_own[pe->pe_nown++] = s;
	pe->pe_vec[(*n)++] = s;
	return 0;
}

static int
proc_env_build(const struct worker *w, int chan, int nlfds,
    struct proc_env *pe)
{
	const struct conf	*c = w->w_conf;
	char			**e, *v;
	size_t			 n = 0, max;
	int			 i, rv = 0;

	memset(pe, 0, sizeof(*pe));
	max = PROC_ENV_OWN + (size_t)c->c_nenv + 2;
	for (e = environ; !c->c_env_clear && e != NULL && *e != NULL; e++)
		max++;
	if ((pe->pe_vec = calloc(max, sizeof(*pe->pe_vec))) == NULL)
		return -1;

	rv |= proc_env_own(pe, &n, "PORTER_WORKER_ID=%d", w->w_id);
	/* Its own NOTIFY_SOCKET: never the one porter may have inherited. */
	if (ready_notify_name(w) != NULL)
		rv |= proc_env_own(pe, &n, "NOTIFY_SOCKET=%s",
		    ready_notify_name(w));
	if (w->w_kind == WORKER_BUILTIN) {
		rv |= proc_env_own(pe, &n, "PORTER_WORKER_MODE=%s",
		    conf_mode_name(w->w_mode));
		rv |= proc_env_own(pe, &n, "PORTER_WORKER_ADDR=%s",
		    c->c_worker_ports.a_text);
		rv |= proc_env_own(pe, &n, "PORTER_WORKER_PORT=%d", w->w_port);
		rv |= proc_env_own(pe, &n, "PORTER_WORKER_TIMEOUTS=%d %d %d %d",
		    c->c_idle_timeout, c->c_header_timeout,
		    c->c_graceful_timeout, log_getverbose());
		if (w->w_mode == MODE_PROXY && c->c_proxy_protocol != 0)
			rv |= proc_env_own(pe, &n, "PORTER_WORKER_PROXY=v%d",
			    c->c_proxy_protocol);
		rv |= proc_env_own(pe, &n, "PORTER_WORKER_LOG=%s",
		    c->c_log_json ? "json" : "text");
	} else {
		/* A node worker listens on its PORT as on any port: in
		 * handoff and shared mode that is porter's own (cluster.c). */
		if (w->w_mode == MODE_PROXY)
			rv |= proc_env_own(pe, &n, "PORT=%d", w->w_port);
		else if (w->w_kind == WORKER_NODE)
			rv |= proc_env_own(pe, &n, "PORT=%d",
			    addr_port(&c->c_listen[0]));
		if (w->w_kind == WORKER_NODE)
			rv |= proc_env_own(pe, &n, "NODE_UNIQUE_ID=%u",
			    cluster_worker_id(w));
		if (chan) {
			rv |= proc_env_own(pe, &n, "NODE_CHANNEL_FD=3");
			rv |= proc_env_own(pe, &n,
			    "NODE_CHANNEL_SERIALIZATION_MODE=json");
		}
		if (nlfds > 0) {
			rv |= proc_env_own(pe, &n, "LISTEN_FDS=%d", nlfds);
			rv |= proc_env_own(pe, &n, "LISTEN_PID=%24s", "");
			if (rv == 0)
				pe->pe_listen_pid = pe->pe_vec[n - 1];
		}
	}
	if (rv != 0) {
		proc_env_free(pe);
		return -1;
	}

	/* env NAME=VALUE sets; env NAME passes porter's, if it has one. */
	for (i = 0; i < c->c_nenv; i++) {
		if (proc_env_has(pe->pe_vec, n, c->c_env[i]))
			continue;
		if (strchr(c->c_env[i], '=') != NULL)
			pe->pe_vec[n++] = c->c_env[i];
		else if ((v = proc_env_find(c->c_env[i])) != NULL)
			pe->pe_vec[n++] = v;
	}
	if (c->c_env_clear) {
		if (!proc_env_has(pe->pe_vec, n, "PATH"))
			pe->pe_vec[n++] = (char *)(uintptr_t)
			    ("PATH=" PORTER_ENV_PATH);
		return 0;
	}
	for (e = environ; e != NULL && *e != NULL; e++) {
		if (strchr(*e, '=') == NULL || proc_env_has(pe->pe_vec, n, *e))
			continue;
		/* A master started by a worker: its own never leak on. */
		if (strncmp(*e, "PORTER_WORKER_", 14) == 0)
			continue;
		/* Porter's manager is not the workers', nor is a Node
		 * primary that started porter theirs. */
		if (strncmp(*e, "NOTIFY_SOCKET=", 14) == 0 ||
		    strncmp(*e, "NODE_UNIQUE_ID=", 15) == 0 ||
		    strncmp(*e, "NODE_CHANNEL_", 13) == 0)
			continue;
		pe->pe_vec[n++] = *e;
	}
	return 0;
}

/*
 * In the child, after proc_child_setup(): a built-in worker execs porter
 * itself, so that it starts clean (the master may run relay threads, and
 * a forked child of a threaded process should do no more than this before
 * exec). The binary is the master's fd on it (exefd): the workers' user
 * needs no search permission on its path. What the worker needs of the
 * conf comes in PORTER_WORKER_* variables, as Node announces
 * NODE_CHANNEL_FD.
 */
static __dead void
proc_exec_builtin(struct worker *w, int exefd, char *name, char **envp)
{
	char	*argv[2];

	if (exefd != -1) {
		argv[0] = name;
		argv[1] = NULL;
		fexecve(exefd, argv, envp);
		/* Cannot exec (a noexec mount?): be the worker in here. */
		log_warn("worker %d: cannot exec porter; running it forked",
		    w->w_id);
	}
	close(proc_errfd);	/* the master reads EOF: started */
	proc_errfd = -1;
	worker_main(w->w_id, 3, w->w_mode, w->w_port, w->w_conf);
}

/*
 * Start w's process. chanfd: the child's end of the channel, or -1.
 * lfds: listening sockets an exec worker gets at fd 3 (shared mode).
 * Every child reports on a pipe: EOF once it exec'd, or why it could not
 * (proc_exec_read). Returns the pid, or -1.
 */
pid_t
proc_spawn(struct worker *w, int chanfd, const int *lfds, int nlfds)
{
	const struct conf	*c = w->w_conf;
	struct proc_env		 pe;
	char			**argv = NULL, name[32];
	int			 errp[2] = { -1, -1 };
	int			 fds[PORTER_MAX_LISTEN + 3];
	int			 n = 0, ninherit, exefd = -1, i;
	pid_t			 pid;

	/* Built before the fork: the child only execs. */
	if (ready_open(w) == -1)
		return -1;
	if (w->w_kind != WORKER_BUILTIN && (argv = proc_argv(w,
	    (const char *const *)c->c_worker_argv)) == NULL) {
		log_warn("%s", __func__);
		ready_forget(w);
		return -1;
	}
	if (proc_env_build(w, chanfd != -1, nlfds, &pe) == -1) {
		log_warn("%s: environment", __func__);
		ready_forget(w);
		conf_free_argv(argv);
		return -1;
	}
	if (pipe2(errp, O_CLOEXEC | O_NONBLOCK) == -1) {
		log_warn("%s: pipe", __func__);
		ready_forget(w);
		proc_env_free(&pe);
		conf_free_argv(argv);
		return -1;
	}
	snprintf(name, sizeof(name), "porter: worker %d", w->w_id);
	if (chanfd != -1)
		fds[n++] = chanfd;
	for (i = 0; i < nlfds && n < PORTER_MAX_LISTEN + 1; i++)
		fds[n++] = lfds[i];
	ninherit = n;
	if (w->w_kind == WORKER_BUILTIN && master->m_exefd != -1) {
		exefd = 3 + n;
		fds[n++] = master->m_exefd;
	}
	fds[n++] = errp[1];

	switch ((pid = fork())) {
	case -1:
		log_warn("%s: fork", __func__);
		close(errp[0]);
		close(errp[1]);
		ready_forget(w);
		proc_env_free(&pe);
		conf_free_argv(argv);
		return -1;
	case 0:
		proc_errfd = errp[1];
		proc_child_setup(master->m_pid, fds, n, ninherit);
		if (pe.pe_listen_pid != NULL)
			proc_utoa(pe.pe_listen_pid + strlen("LISTEN_PID="),
			    (unsigned long)getpid());
		if (w->w_kind == WORKER_BUILTIN)
			proc_exec_builtin(w, exefd, name, pe.pe_vec);
		environ = pe.pe_vec;	/* execvp searches its PATH */
		execvp(argv[0], argv);
		proc_child_fail(PROC_STEP_EXEC);
	}
	(void)setpgid(pid, pid);	/* as the child does: no race */
	close(errp[1]);
	proc_env_free(&pe);
	conf_free_argv(argv);
	w->w_execfd = errp[0];
	w->w_execev = event_new(master->m_base, errp[0], EV_READ,
	    proc_exec_cb, w);
	if (w->w_execev == NULL || event_add(w->w_execev, NULL) == -1)
		log_warnx("%s: cannot watch worker %d's start", __func__,
		    w->w_id);
	return pid;
}

/*
 * What w's start pipe says: 1 the exec went through (EOF: the write end
 * was close-on-exec), 0 the child gave up (logged here), -1 nothing yet.
 * Closes the pipe unless -1.
 */
static int
proc_exec_read(struct worker *w)
{
	struct proc_fail	 f;
	struct rlimit		 rl;
	char			 lim[48] = "";
	ssize_t			 n;
	int			 rv = 1;

	n = read(w->w_execfd, &f, sizeof(f));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return -1;
	if (n == (ssize_t)sizeof(f) && f.pf_step >= 0 &&
	    f.pf_step < (int)nitems(proc_step_names)) {
		rv = 0;
		if (f.pf_step == PROC_STEP_FDS &&
		    getrlimit(RLIMIT_NOFILE, &rl) == 0)
			snprintf(lim, sizeof(lim), " (open files limit %llu)",
			    (unsigned long long)rl.rlim_cur);
		if (f.pf_step == PROC_STEP_EXEC)
			log_warnx("worker %d: cannot run %s: %s", w->w_id,
			    w->w_kind == WORKER_NODE ? "node" :
			    w->w_conf->c_worker_argv[0], strerror(f.pf_errno));
		else
			log_warnx("worker %d: cannot start: %s%s%s%s: %s",
			    w->w_id, proc_step_names[f.pf_step],
			    f.pf_step == PROC_STEP_USER ? " " : "",
			    f.pf_step == PROC_STEP_USER ? proc_user : "", lim,
			    strerror(f.pf_errno));
	}
	if (w->w_execev != NULL) {
		event_free(w->w_execev);
		w->w_execev = NULL;
	}
	close(w->w_execfd);
	w->w_execfd = -1;
	return rv;
}

/*
 * w's process is gone (or w is): stop watching its start, its readiness
 * and its notify socket; if it failed to start, say why.
 */
void
proc_forget(struct worker *w)
{
	if (w->w_execfd != -1 && proc_exec_read(w) == -1) {
		close(w->w_execfd);
		w->w_execfd = -1;
	}
	if (w->w_execev != NULL) {
		event_free(w->w_execev);
		w->w_execev = NULL;
	}
	ready_forget(w);
}

/* The start pipe is readable: the child exec'd, or says why not. */
static void
proc_exec_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	int		 rv;

	(void)fd;
	(void)what;
	if ((rv = proc_exec_read(w)) == -1) {
		if (event_add(w->w_execev, NULL) == -1)
			log_warnx("%s: cannot watch worker %d's start",
			    __func__, w->w_id);
		return;
	}
	if (rv == 0 || w->w_kind == WORKER_BUILTIN)
		return;		/* failed: reaped and restarted as usual;
				   built-in: ready when its channel says so */
	ready_started(w);
}

/*
 * At the end: porter is a child subreaper, so whatever a worker left
 * behind (a daemon that left its process group) is porter's child now.
 * None outlives porter.
 */
void
proc_reap_orphans(void)
{
	DIR		*d;
	struct dirent	*de;
	FILE		*f;
	char		 path[64], line[512], *p;
	long		 ppid;
	pid_t		 pid, me = getpid();
	int		 n = 0;

	if ((d = opendir("/proc")) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if ((pid = (pid_t)atol(de->d_name)) <= 0 || pid == me)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		/* "pid (comm) state ppid ...": comm may hold anything */
		p = fgets(line, sizeof(line), f) != NULL ?
		    strrchr(line, ')') : NULL;
		fclose(f);
		if (p == NULL || sscanf(p + 1, " %*c %ld", &ppid) != 1 ||
		    ppid != me)
			continue;
		if (kill(pid, SIGKILL) == 0)
			n++;
	}
	closedir(d);
	if (n > 0)
		log_info("killed %d process%s the workers left behind", n,
		    n == 1 ? "" : "es");
	while (n > 0 && waitpid(-1, NULL, 0) > 0)
		n--;
}
