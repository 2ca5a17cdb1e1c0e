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
	    "[-s SIGNAL] [-v] [-V] [-h]\n"
	    "  -c FILE       conf file (default %s)\n"
	    "  -t            test the conf file and exit\n"
	    "  -m MODE       override mode: proxy | handoff | shared\n"
	    "  -w N          override workers: N or auto\n"
	    "  -l ADDR:PORT  override listen\n"
	    "  -s SIGNAL     tell the running master: reload | stop | quit | "
	    "reopen\n"
	    "  -v            more logging (repeatable)\n"
	    "  -V            print the version and exit\n"
	    "  -h            print this help and exit\n", DEFAULT_CONF);
	exit(code);
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
	const char	*confpath = DEFAULT_CONF, *mode = NULL, *workers = NULL;
	const char	*listen = NULL, *sig = NULL;
	char		*cause = NULL;
	int		 ch, test = 0, verbose = 0, rv;

	while ((ch = getopt(argc, argv, "c:hl:m:s:tVvw:")) != -1) {
		switch (ch) {
		case 'c':
			confpath = optarg;
			break;
		case 'h':
			usage(0);
		case 'l':
			listen = optarg;
			break;
		case 'm':
			mode = optarg;
			break;
		case 's':
			sig = optarg;
			break;
		case 't':
			test = 1;
			break;
		case 'V':
			printf("porter %s\n", PORTER_VERSION);
			return 0;
		case 'v':
			verbose++;
			break;
		case 'w':
			workers = optarg;
			break;
		default:
			usage(EXIT_CONF);
		}
	}
	if (optind != argc)
		usage(EXIT_CONF);
	log_init(verbose, "porter");

	if ((c = conf_new()) == NULL) {
		fprintf(stderr, "porter: out of memory\n");
		return EXIT_START;
	}
	if (conf_load(c, confpath, &cause) == -1 ||
	    (mode != NULL && conf_set(c, "mode", mode, &cause) == -1) ||
	    (workers != NULL && conf_set(c, "workers", workers, &cause) ==
	    -1) || (listen != NULL && conf_set(c, "listen", listen, &cause) ==
	    -1) || conf_check(c, &cause) == -1) {
		fprintf(stderr, "%s\n", cause ? cause : "bad configuration");
		free(cause);
		conf_free(c);
		return EXIT_CONF;
	}
	if (test) {
		printf("%s: ok\n", confpath);
		conf_free(c);
		return 0;
	}
	if (sig != NULL) {
		rv = send_signal(c, sig);
		conf_free(c);
		return rv;
	}
	rv = master_run(c, confpath);
	conf_free(c);
	return rv;
}
