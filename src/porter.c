/*
 * porter.c: main. Options, the conf file, -t and -s, then the master.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef HAVE_SYS_PRCTL_H
#include <sys/prctl.h>
#endif

#include <ares.h>
#include <event2/event.h>
#include <http_parser.h>

#include "porter.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR	"/etc"
#endif
#define DEFAULT_CONF	SYSCONFDIR "/porter.conf"

static __dead void
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: porter [-c FILE] [-t] [-m MODE] [-w N] [-l ADDR:PORT] "
	    "[-s SIGNAL | -s COMMAND...] [-v] [-V] [-h]\n"
	    "  -c FILE       conf file (default %s)\n"
	    "  -t            test the conf file and exit\n"
	    "  -m MODE       override mode: proxy | handoff | shared\n"
	    "  -w N          override workers: N or auto\n"
	    "  -l ADDR:PORT  override listen\n"
	    "  -s SIGNAL     tell the running master: reload | stop | quit | "
	    "reopen\n"
	    "  -s COMMAND    run a command on its control socket (-s help)\n"
	    "  -v            more logging (repeatable)\n"
	    "  -V            print the version and build features and exit\n"
	    "  -h            print this help and exit\n", DEFAULT_CONF);
	exit(code);
}

/*
 * -V: one line, "porter VERSION" first (scripts and tests read it), then
 * the libraries porter runs with (their runtime versions) and what this
 * build has, as configure and the headers found it.
 */
static void
version(void)
{
	unsigned long	hp = http_parser_version();

	printf("porter %s (libevent %s, http-parser %lu.%lu.%lu, c-ares %s; "
	    "relay threads, io_uring"
#ifdef SO_REUSEPORT
	    ", SO_REUSEPORT"
#endif
#if defined(HAVE_SYS_PRCTL_H) && defined(PR_SET_CHILD_SUBREAPER)
	    ", PR_SET_CHILD_SUBREAPER"
#endif
#if defined(HAVE_SYS_PRCTL_H) && defined(PR_SET_PDEATHSIG)
	    ", PR_SET_PDEATHSIG"
#endif
#ifdef HAVE_CLOSE_RANGE
	    ", close_range"
#endif
	    ", sd_notify, socket activation, node-cluster"
	    "%s%s)\n", PORTER_VERSION, event_get_version(),
	    (hp >> 16) & 255, (hp >> 8) & 255, hp & 255, ares_version(NULL),
	    PORTER_BUILD_SANITIZERS[0] != '\0' ? ", " : "",
	    PORTER_BUILD_SANITIZERS);
}

/* -s: signal the master named by the pidfile. */
static int
send_signal(const struct conf *c, const char *name)
{
	static const struct {
		const char	*name;
		int		 sig;
	} sigs[] = {
		{ "reload", SIGHUP }, { "stop", SIGTERM }, { "quit", SIGQUIT },
		{ "reopen", SIGUSR1 },
	};
	FILE	*f;
	long	 pid;
	size_t	 i;

	for (i = 0; i < nitems(sigs); i++)
		if (strcmp(sigs[i].name, name) == 0)
			break;
	if (i == nitems(sigs)) {
		fprintf(stderr, "porter: -s %s: expected reload, stop, quit "
		    "or reopen\n", name);
		return EXIT_CONF;
	}
	if (c->c_pidfile == NULL) {
		fprintf(stderr, "porter: -s needs a pidfile; %s has none\n",
		    c->c_path ? c->c_path : "the conf");
		return EXIT_CONF;
	}
	if ((f = fopen(c->c_pidfile, "r")) == NULL) {
		fprintf(stderr, "porter: cannot read pidfile %s: %s (is "
		    "porter running?)\n", c->c_pidfile, strerror(errno));
		return EXIT_START;
	}
	if (fscanf(f, "%ld", &pid) != 1 || pid <= 1) {
		fclose(f);
		fprintf(stderr, "porter: pidfile %s holds no pid\n",
		    c->c_pidfile);
		return EXIT_START;
	}
	fclose(f);
	if (kill((pid_t)pid, sigs[i].sig) == -1) {
		if (errno == ESRCH)
			fprintf(stderr, "porter: stale pidfile %s: pid %ld is "
			    "not running\n", c->c_pidfile, pid);
		else
			fprintf(stderr, "porter: cannot signal pid %ld: %s\n",
			    pid, strerror(errno));
		return EXIT_START;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	struct conf	*c;
	struct overrides o = { NULL, NULL, NULL };
	const char	*confpath = DEFAULT_CONF, *sig = NULL;
	char		*cause = NULL, **words;
	int		 ch, test = 0, verbose = 0, rv;

	/* Exec'd by the master as a built-in worker? */
	if (getenv("PORTER_WORKER_MODE") != NULL)
		worker_exec_main();

	while ((ch = getopt(argc, argv, "c:hl:m:s:tVvw:")) != -1) {
		switch (ch) {
		case 'c':
			confpath = optarg;
			break;
		case 'h':
			usage(0);
		case 'l':
			o.o_listen = optarg;
			break;
		case 'm':
			o.o_mode = optarg;
			break;
		case 's':
			sig = optarg;
			break;
		case 't':
			test = 1;
			break;
		case 'V':
			version();
			return 0;
		case 'v':
			verbose++;
			break;
		case 'w':
			o.o_workers = optarg;
			break;
		default:
			usage(EXIT_CONF);
		}
	}
	/* -s show upstreams: the words after -s's make one command. */
	if (optind != argc && sig == NULL)
		usage(EXIT_CONF);
	log_init(verbose, "porter");

	if ((c = conf_read(confpath, &o, &cause)) == NULL) {
		fprintf(stderr, "%s\n", cause ? cause : "bad configuration");
		free(cause);
		return EXIT_CONF;
	}
	if (test) {
		printf("%s: ok\n", confpath);
		conf_free(c);
		return 0;
	}
	if (sig != NULL && optind == argc && (strcmp(sig, "reload") == 0 ||
	    strcmp(sig, "stop") == 0 || strcmp(sig, "quit") == 0 ||
	    strcmp(sig, "reopen") == 0)) {
		rv = send_signal(c, sig);
		conf_free(c);
		return rv;
	}
	if (sig != NULL) {
		/* Anything else is for the control socket. */
		if (c->c_control == NULL) {
			fprintf(stderr, "porter: -s %s: not a signal (reload, "
			    "stop, quit, reopen), and %s has no control "
			    "socket for commands\n", sig, confpath);
			conf_free(c);
			return EXIT_CONF;
		}
		if ((words = calloc((size_t)(argc - optind + 1),
		    sizeof(*words))) == NULL)
			fatal("calloc");
		words[0] = (char *)(uintptr_t)sig;
		for (ch = optind; ch < argc; ch++)
			words[ch - optind + 1] = argv[ch];
		rv = control_client(c->c_control, argc - optind + 1, words);
		free(words);
		conf_free(c);
		return rv;
	}
	/* The master keeps its own references to the confs it runs. */
	rv = master_run(c, confpath, &o);
	conf_unref(c);
	return rv;
}
