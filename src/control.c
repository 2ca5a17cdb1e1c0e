/*
 * control.c: the runtime API. A unix socket (control PATH, mode 0600,
 * owned by the user porter runs as) that takes one command a line and
 * answers with lines, then an empty line; an error is one line, "error:
 * ...". "porter -s COMMAND" is its client. What it changes lasts until
 * the next reload, which goes back to the conf file.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "porter.h"

#define CONTROL_MAX_CLIENTS	16
#define CONTROL_IDLE		60000	/* ms a client may be silent */
#define CONTROL_CLIENT_WAIT	10000	/* ms porter -s waits */

struct cclient {
	TAILQ_ENTRY(cclient)	 cl_entry;
	struct bufferevent	*cl_bev;
	struct event		*cl_idle;
	int			 cl_closing;	/* once answered */
};

static TAILQ_HEAD(, cclient) clients = TAILQ_HEAD_INITIALIZER(clients);
static int		 nclients;
static struct listener	*control_listener;
static char		*control_sockpath;

static const char control_help[] =
    "show workers\n"
    "show upstreams\n"
    "set upstream ADDR:PORT drain|ready|maint\n"
    "set weight ADDR:PORT N\n"
    "add upstream ADDR:PORT [weight N] [backup]\n"
    "add upstream NAME:PORT [weight N] [backup] resolve\n"
    "add upstream _SERVICE._PROTO.NAME [backup] resolve srv\n"
    "del upstream ADDR:PORT|NAME\n"
    "scale N\n"
    "reload\n";

static void	control_close(struct cclient *);

/* ---- the protocol (pure) ---- */

static int
control_number(const char *s, int min, int max, int *out)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

/*
 * One command line (split in place, at blanks) into cc. 0, or -1 with
 * *err: a static one-line message.
 */
int
control_parse(char *line, struct control_cmd *cc, const char **err)
{
	char	*w[CONTROL_MAX_WORDS + 1], *p = line;
	int	 n = 0, i;

	memset(cc, 0, sizeof(*cc));
	if (strlen(line) > CONTROL_MAX_LINE) {
		*err = "line too long";
		return -1;
	}
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p == '\0')
			break;
		if (n == CONTROL_MAX_WORDS) {
			*err = "too many words";
			return -1;
		}
		w[n++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r' &&
		    *p != '\n')
			p++;
		if (*p != '\0')
			*p++ = '\0';
	}
	for (i = 0; i < n; i++)
		for (p = w[i]; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				*err = "control character in the command";
				return -1;
			}
	if (n == 0) {
		*err = "empty command (try help)";
		return -1;
	}
	if (strcmp(w[0], "help") == 0 && n == 1) {
		cc->cc_verb = CONTROL_HELP;
		return 0;
	}
	if (strcmp(w[0], "reload") == 0 && n == 1) {
		cc->cc_verb = CONTROL_RELOAD;
		return 0;
	}
	if (strcmp(w[0], "show") == 0) {
		if (n == 2 && strcmp(w[1], "workers") == 0)
			cc->cc_verb = CONTROL_SHOW_WORKERS;
		else if (n == 2 && strcmp(w[1], "upstreams") == 0)
			cc->cc_verb = CONTROL_SHOW_UPSTREAMS;
		else {
			*err = "usage: show workers | show upstreams";
			return -1;
		}
		return 0;
	}
	if (strcmp(w[0], "scale") == 0) {
		if (n != 2 || control_number(w[1], 0, PORTER_MAX_WORKERS / 2,
		    &cc->cc_n) == -1) {
			*err = "usage: scale N (0 to 128 workers)";
			return -1;
		}
		cc->cc_verb = CONTROL_SCALE;
		return 0;
	}
	if (strcmp(w[0], "set") == 0 && n >= 2 &&
	    strcmp(w[1], "upstream") == 0) {
		cc->cc_verb = CONTROL_SET_STATE;
		if (n == 4 && strcmp(w[3], "ready") == 0)
			cc->cc_admin = TARGET_READY;
		else if (n == 4 && strcmp(w[3], "drain") == 0)
			cc->cc_admin = TARGET_DRAIN;
		else if (n == 4 && strcmp(w[3], "maint") == 0)
			cc->cc_admin = TARGET_MAINT;
		else {
			*err = "usage: set upstream ADDR:PORT "
			    "drain|ready|maint";
			return -1;
		}
		cc->cc_target = w[2];
		return 0;
	}
	if (strcmp(w[0], "set") == 0 && n >= 2 &&
	    strcmp(w[1], "weight") == 0) {
		if (n != 4 || control_number(w[3], 0, 65535, &cc->cc_n) ==
		    -1) {
			*err = "usage: set weight ADDR:PORT N (0 to 65535)";
			return -1;
		}
		cc->cc_verb = CONTROL_SET_WEIGHT;
		cc->cc_target = w[2];
		return 0;
	}
	if (strcmp(w[0], "add") == 0 && n >= 2 &&
	    strcmp(w[1], "upstream") == 0) {
		if (n < 3) {
			*err = "usage: add upstream ADDR:PORT [weight N] "
			    "[backup] [resolve [srv]]";
			return -1;
		}
		cc->cc_verb = CONTROL_ADD_UPSTREAM;
		for (i = 2; i < n; i++)
			cc->cc_argv[cc->cc_argc++] = w[i];
		return 0;
	}
	if (strcmp(w[0], "del") == 0 && n >= 2 &&
	    strcmp(w[1], "upstream") == 0) {
		if (n != 3) {
			*err = "usage: del upstream ADDR:PORT|NAME";
			return -1;
		}
		cc->cc_verb = CONTROL_DEL_UPSTREAM;
		cc->cc_target = w[2];
		return 0;
	}
	*err = "unknown command (try help)";
	return -1;
}

/* ---- running commands ---- */

static void
control_show_workers(struct evbuffer *b)
{
	const struct worker	*w;
	int			 i;

	evbuffer_add_printf(b, "# id generation pid port state health active "
	    "accepted restarts\n");
	for (i = 0; i < master->m_nworkers; i++) {
		w = master->m_workers[i];
		evbuffer_add_printf(b, "%d %u %ld %d %s %s %u %llu %u\n",
		    w->w_id, w->w_gen, (long)w->w_pid, master_worker_port(w),
		    master_state_name(w->w_state), w->w_target == NULL ||
		    w->w_mode != MODE_PROXY ? "-" : health_state_name(
		    w->w_target->t_health.h_state), w->w_active,
		    (unsigned long long)w->w_accepted, w->w_restarts);
	}
}

/* Run one line; the answer (and its empty line) goes to out. */
static void
control_run(struct evbuffer *out, char *line)
{
	struct control_cmd	 cc;
	struct upstream_line	 ul;
	struct target		*t;
	const char		*err;
	char			*msg = NULL;

	if (control_parse(line, &cc, &err) == -1) {
		evbuffer_add_printf(out, "error: %s\n\n", err);
		return;
	}
	switch (cc.cc_verb) {
	case CONTROL_HELP:
		evbuffer_add(out, control_help, sizeof(control_help) - 1);
		break;
	case CONTROL_SHOW_WORKERS:
		control_show_workers(out);
		break;
	case CONTROL_SHOW_UPSTREAMS:
		upstream_show(out);
		break;
	case CONTROL_SET_STATE:
	case CONTROL_SET_WEIGHT:
		if ((t = upstream_find(cc.cc_target)) == NULL) {
			(void)asprintf(&msg, "no target %.100s (see show "
			    "upstreams)", cc.cc_target);
			break;
		}
		if (cc.cc_verb == CONTROL_SET_STATE)
			upstream_set_admin(t, cc.cc_admin, "control");
		else
			upstream_set_weight(t, cc.cc_n, "control");
		t->t_runtime = 1;
		evbuffer_add_printf(out, "ok\n");
		break;
	case CONTROL_ADD_UPSTREAM:
		if (upstream_parse(cc.cc_argc, cc.cc_argv, 1, &ul, &msg) ==
		    -1 || upstream_add(&ul, &msg) == -1)
			break;
		evbuffer_add_printf(out, "ok\n");
		break;
	case CONTROL_DEL_UPSTREAM:
		if (upstream_del(cc.cc_target, &msg) == -1)
			break;
		evbuffer_add_printf(out, "ok\n");
		break;
	case CONTROL_SCALE:
		if (master_scale_to(cc.cc_n, &msg) == -1)
			break;
		evbuffer_add_printf(out, "ok\n");
		break;
	case CONTROL_RELOAD:
		if (master->m_stopping || master->m_next != NULL) {
			msg = strdup(master->m_stopping ? "stopping" :
			    "a reload is under way");
			break;
		}
		log_info("control: reload");
		reload_start();
		evbuffer_add_printf(out, "ok: reloading (the log says how it "
		    "went)\n");
		break;
	}
	if (msg != NULL) {
		evbuffer_add_printf(out, "error: %s\n", msg);
		free(msg);
	} else if (evbuffer_get_length(out) == 0)
		evbuffer_add_printf(out, "error: out of memory\n");
	evbuffer_add(out, "\n", 1);
}

/* ---- the socket ---- */

static void
control_idle(struct cclient *cl)
{
	timer_arm(cl->cl_idle, CONTROL_IDLE);
}

static void
control_read_cb(struct bufferevent *bev, void *arg)
{
	struct cclient	*cl = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	struct evbuffer	*out = bufferevent_get_output(bev);
	struct evbuffer	*ans;
	char		*line;
	size_t		 len;

	control_idle(cl);
	while (!cl->cl_closing && (line = evbuffer_readln(in, &len,
	    EVBUFFER_EOL_LF)) != NULL) {
		if ((ans = evbuffer_new()) == NULL) {
			free(line);
			control_close(cl);
			return;
		}
		if (len > CONTROL_MAX_LINE || memchr(line, '\0', len) != NULL)
			evbuffer_add_printf(ans, "error: %s\n\n", len >
			    CONTROL_MAX_LINE ? "line too long" : "NUL byte");
		else
			control_run(ans, line);
		free(line);
		evbuffer_add_buffer(out, ans);
		evbuffer_free(ans);
		if (master == NULL || master->m_stopping)
			cl->cl_closing = 1;
	}
	if (evbuffer_get_length(in) > CONTROL_MAX_LINE) {
		evbuffer_add_printf(out, "error: line too long\n\n");
		evbuffer_drain(in, evbuffer_get_length(in));
		cl->cl_closing = 1;
	}
	if (cl->cl_closing) {
		bufferevent_disable(bev, EV_READ);
		if (evbuffer_get_length(out) == 0)
			control_close(cl);
	}
}

static void
control_write_cb(struct bufferevent *bev, void *arg)
{
	struct cclient	*cl = arg;

	(void)bev;
	if (cl->cl_closing)
		control_close(cl);
}

static void
control_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct cclient	*cl = arg;

	/* EOF: what was asked is answered; then it goes. */
	if (what == (BEV_EVENT_READING | BEV_EVENT_EOF) &&
	    evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
		cl->cl_closing = 1;
		bufferevent_disable(bev, EV_READ);
		return;
	}
	control_close(cl);
}

static void
control_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	control_close(arg);
}

static void
control_close(struct cclient *cl)
{
	TAILQ_REMOVE(&clients, cl, cl_entry);
	nclients--;
	event_free(cl->cl_idle);
	bufferevent_free(cl->cl_bev);
	free(cl);
}

static void
control_accept_cb(int fd, struct sockaddr *sa, socklen_t len, void *arg)
{
	static const char	 busy[] =
	    "error: too many control clients\n\n";
	struct cclient		*cl;

	(void)sa;
	(void)len;
	(void)arg;
	if (nclients >= CONTROL_MAX_CLIENTS) {
		(void)send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT |
		    MSG_NOSIGNAL);
		close(fd);
		return;
	}
	if ((cl = calloc(1, sizeof(*cl))) == NULL ||
	    (cl->cl_bev = bufferevent_socket_new(master->m_base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		log_warnx("control: out of memory");
		free(cl);
		close(fd);
		return;
	}
	if ((cl->cl_idle = evtimer_new(master->m_base, control_idle_cb, cl)) ==
	    NULL) {
		bufferevent_free(cl->cl_bev);
		free(cl);
		return;
	}
	TAILQ_INSERT_TAIL(&clients, cl, cl_entry);
	nclients++;
	bufferevent_setcb(cl->cl_bev, control_read_cb, control_write_cb,
	    control_event_cb, cl);
	bufferevent_setwatermark(cl->cl_bev, EV_READ, 0,
	    2 * CONTROL_MAX_LINE);
	bufferevent_enable(cl->cl_bev, EV_READ | EV_WRITE);
	control_idle(cl);
}

static int
control_sockaddr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -1;
	memcpy(sun->sun_path, path, strlen(path));
	return 0;
}

/*
 * Listen on path, mode 0600. A socket left there by a porter that died
 * is replaced; one a running porter answers on is not. 0, or -1 with
 * *cause.
 */
int
control_start(const char *path, char **cause)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	mode_t			 old;
	int			 fd, probe, saved;

	if (control_sockaddr(path, &sun) == -1) {
		*cause = strdup("control: path too long");
		return -1;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			if (asprintf(cause, "control: %s exists and is not a "
			    "socket", path) == -1)
				*cause = NULL;
			return -1;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe != -1 && connect(probe, (struct sockaddr *)&sun,
		    sizeof(sun)) == 0) {
			close(probe);
			if (asprintf(cause, "control: %s: another porter "
			    "answers there", path) == -1)
				*cause = NULL;
			return -1;
		}
		if (probe != -1)
			close(probe);
		(void)unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		goto fail;
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		saved = errno;
		umask(old);
		close(fd);
		errno = saved;
		goto fail;
	}
	umask(old);
	if (chmod(path, 0600) == -1 || listen(fd, CONTROL_MAX_CLIENTS) == -1 ||
	    (control_listener = listener_new(master->m_base, fd,
	    control_accept_cb, NULL)) == NULL) {
		saved = errno;
		close(fd);
		(void)unlink(path);
		errno = saved;
		goto fail;
	}
	if ((control_sockpath = strdup(path)) == NULL) {
		control_stop();
		*cause = strdup("control: out of memory");
		return -1;
	}
	log_info("control: listening on %s", path);
	return 0;

 fail:
	if (asprintf(cause, "control: %s: %s", path, strerror(errno)) == -1)
		*cause = NULL;
	return -1;
}

void
control_stop(void)
{
	struct cclient	*cl;

	while ((cl = TAILQ_FIRST(&clients)) != NULL)
		control_close(cl);
	listener_free(control_listener);
	control_listener = NULL;
	if (control_sockpath != NULL) {
		(void)unlink(control_sockpath);
		free(control_sockpath);
		control_sockpath = NULL;
	}
}

const char *
control_path(void)
{
	return control_sockpath;
}

/* ---- porter -s COMMAND ---- */

/*
 * Send the words as one command to the control socket at path; print
 * the answer. Returns 0, 1 for an error answer, 2 if porter cannot be
 * reached.
 */
int
control_client(const char *path, int argc, char **argv)
{
	struct sockaddr_un	 sun;
	struct pollfd		 pfd;
	char			 line[CONTROL_MAX_LINE + 2], buf[4096];
	size_t			 len = 0, have = 0, cap = 0;
	char			*ans = NULL, *tmp;
	ssize_t			 n;
	int			 fd, i, rv;

	for (i = 0; i < argc; i++) {
		n = snprintf(line + len, sizeof(line) - len, "%s%s",
		    i > 0 ? " " : "", argv[i]);
		if (n < 0 || (size_t)n >= sizeof(line) - len - 1) {
			fprintf(stderr, "porter: -s: command too long\n");
			return EXIT_CONF;
		}
		len += (size_t)n;
	}
	line[len++] = '\n';
	if (control_sockaddr(path, &sun) == -1 || (fd = socket(AF_UNIX,
	    SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		fprintf(stderr, "porter: control socket %s: bad path\n", path);
		return EXIT_START;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    write(fd, line, len) != (ssize_t)len) {
		fprintf(stderr, "porter: cannot reach the control socket %s: "
		    "%s (is porter running?)\n", path, strerror(errno));
		close(fd);
		return EXIT_START;
	}
	/* Up to the empty line that ends an answer. */
	for (;;) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, CONTROL_CLIENT_WAIT) != 1) {
			fprintf(stderr, "porter: no answer from %s\n", path);
			rv = EXIT_START;
			goto done;
		}
		if ((n = read(fd, buf, sizeof(buf))) <= 0)
			break;
		if (have + (size_t)n + 1 > cap) {
			cap = (have + (size_t)n + 1) * 2;
			if ((tmp = realloc(ans, cap)) == NULL) {
				rv = EXIT_START;
				goto done;
			}
			ans = tmp;
		}
		memcpy(ans + have, buf, (size_t)n);
		have += (size_t)n;
		ans[have] = '\0';
		if ((have == 1 && ans[0] == '\n') || (have >= 2 &&
		    memcmp(ans + have - 2, "\n\n", 2) == 0))
			break;
	}
	if (have == 0) {
		fprintf(stderr, "porter: %s closed without an answer\n", path);
		rv = EXIT_START;
		goto done;
	}
	if (have >= 2 && ans[have - 1] == '\n' && ans[have - 2] == '\n')
		have--;		/* the empty line is the protocol's */
	rv = strncmp(ans, "error:", 6) == 0 ? EXIT_CONF : 0;
	fwrite(ans, 1, have, rv == 0 ? stdout : stderr);

 done:
	free(ans);
	close(fd);
	return rv;
}
