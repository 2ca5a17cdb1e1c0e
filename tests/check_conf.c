/*
 * check_conf.c: the conf parser. Every file in tests/conf/good must load;
 * every file in tests/conf/bad must fail on the line and with the message
 * its first line names ("# error: LINE: text").
 */
#include "config.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "../src/porter.h"
#include "check_run.h"

static char *
confdir(const char *sub)
{
	static char	 path[4096];
	const char	*srcdir = getenv("srcdir");

	snprintf(path, sizeof(path), "%s/tests/conf/%s",
	    srcdir ? srcdir : ".", sub);
	return path;
}

static int
load(const char *path, char **cause)
{
	struct conf	*c = conf_new();
	int		 rv;

	ck_assert_ptr_nonnull(c);
	rv = conf_load(c, path, cause);
	if (rv == 0)
		rv = conf_check(c, cause);
	conf_free(c);
	return rv;
}

START_TEST(test_good_files)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[8192], *cause = NULL;
	int		 n = 0;

	ck_assert_ptr_nonnull(d = opendir(confdir("good")));
	while ((de = readdir(d)) != NULL) {
		if (strstr(de->d_name, ".conf") == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", confdir("good"),
		    de->d_name);
		ck_assert_msg(load(path, &cause) == 0, "%s: %s", path, cause);
		n++;
	}
	closedir(d);
	ck_assert_int_ge(n, 3);
}
END_TEST

START_TEST(test_bad_files)
{
	DIR		*d;
	struct dirent	*de;
	FILE		*f;
	char		 path[8192], first[512], want[8300], *cause, *text;
	int		 n = 0, line;

	ck_assert_ptr_nonnull(d = opendir(confdir("bad")));
	while ((de = readdir(d)) != NULL) {
		if (strstr(de->d_name, ".conf") == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", confdir("bad"),
		    de->d_name);
		ck_assert_ptr_nonnull(f = fopen(path, "r"));
		ck_assert_ptr_nonnull(fgets(first, sizeof(first), f));
		fclose(f);
		first[strcspn(first, "\n")] = '\0';
		ck_assert_msg(sscanf(first, "# error: %d:", &line) == 1,
		    "%s: first line must be '# error: LINE: text'", path);
		text = strchr(strchr(first, ':') + 1, ':') + 2;
		cause = NULL;
		ck_assert_msg(load(path, &cause) == -1, "%s loaded", path);
		ck_assert_ptr_nonnull(cause);
		snprintf(want, sizeof(want), "%s:%d: ", path, line);
		ck_assert_msg(strncmp(cause, want, strlen(want)) == 0,
		    "%s: expected \"%s...\", got \"%s\"", path, want, cause);
		ck_assert_msg(strstr(cause, text) != NULL,
		    "%s: expected \"%s\" in \"%s\"", path, text, cause);
		free(cause);
		n++;
	}
	closedir(d);
	ck_assert_int_ge(n, 20);
}
END_TEST

START_TEST(test_defaults)
{
	struct conf	*c = conf_new();
	char		*cause = NULL;

	ck_assert_int_eq(conf_parse(c, "t", "", 0, &cause), 0);
	ck_assert_int_eq(conf_check(c, &cause), 0);
	ck_assert_int_eq(c->c_nlisten, 1);
	ck_assert_str_eq(c->c_listen[0].a_text, "0.0.0.0:80");
	ck_assert_int_eq(c->c_mode, MODE_PROXY);
	ck_assert_int_ge(c->c_workers, 1);
	ck_assert_int_eq(c->c_worker, WORKER_BUILTIN);
	ck_assert_int_eq(c->c_balance, BALANCE_RR);
	ck_assert_int_eq(c->c_max_connections, 10000);
	ck_assert_int_eq(c->c_handoff_window, 32);
	ck_assert_int_eq(c->c_relay_io, RELAY_IO_EPOLL);
	ck_assert_int_eq(c->c_connect_timeout, 2000);
	ck_assert_int_eq(c->c_idle_timeout, 60000);
	ck_assert_int_eq(c->c_graceful_timeout, 30000);
	ck_assert_int_eq(c->c_restart_limit, 10);
	ck_assert_int_eq(c->c_restart_window, 60000);
	ck_assert_int_eq(c->c_reload_probation, 3000);
	ck_assert_int_eq(c->c_stop_signal, 0);
	ck_assert_int_eq(c->c_shutdown_delay, 0);
	ck_assert_int_eq(c->c_status_on, 0);
	ck_assert_str_eq(c->c_user, "nobody");
	ck_assert_ptr_null(c->c_pidfile);
	ck_assert_int_eq(c->c_env_clear, 0);
	ck_assert_int_eq(c->c_nenv, 0);
	ck_assert_ptr_null(c->c_env);
	conf_free(c);
}
END_TEST

START_TEST(test_env)
{
	static const char text[] =
	    "env HOME\nenv_clear on\nenv \"A=b c\"\nenv B=\nenv C=x=y\n";
	static const char *bad[] = {
	    "env 1X\n", "env =x\n", "env \"\"\n", "env A-B\n", "env A.B=1\n",
	    "env PORT=80\n", "env LISTEN_FDS\n", "env NODE_CHANNEL_FD=4\n",
	    "env PORTER_WORKER_MODE\n", "env A=1\nenv A=2\n", "env A\nenv A=1\n",
	    "env A B\n", "env\n", "env_clear 1\n", "env_clear on\nenv_clear on\n",
	};
	struct conf	*c = conf_new();
	char		*cause = NULL;
	size_t		 i;

	ck_assert_int_eq(conf_parse(c, "t", text, sizeof(text) - 1, &cause),
	    0);
	ck_assert_int_eq(c->c_env_clear, 1);
	ck_assert_int_eq(c->c_nenv, 4);
	ck_assert_str_eq(c->c_env[0], "HOME");
	ck_assert_str_eq(c->c_env[1], "A=b c");
	ck_assert_str_eq(c->c_env[2], "B=");
	ck_assert_str_eq(c->c_env[3], "C=x=y");
	ck_assert_ptr_null(c->c_env[4]);
	conf_free(c);

	for (i = 0; i < nitems(bad); i++) {
		c = conf_new();
		cause = NULL;
		ck_assert_msg(conf_parse(c, "t", bad[i], strlen(bad[i]),
		    &cause) == -1, "accepted: %s", bad[i]);
		ck_assert_msg(cause != NULL && strncmp(cause, "t:", 2) == 0,
		    "%s: %s", bad[i], cause);
		free(cause);
		conf_free(c);
	}
}
END_TEST

START_TEST(test_values)
{
	static const char text[] =
	    "listen 127.0.0.1:8080\nlisten *:8081 # two\n"
	    "workers 3\nbalance least-conn\nidle_timeout 1500ms\n"
	    "graceful_timeout 2m\nrestart_limit 5 10s\nstatus 127.0.0.1:9100\n"
	    "pidfile \"/tmp/a b.pid\"\nreload_probation 0\n"
	    "stop_signal sigquit\nshutdown_delay 5s\nrelay_io io_uring\n";
	struct conf	*c = conf_new();
	char		*cause = NULL;

	ck_assert_int_eq(conf_parse(c, "t", text, sizeof(text) - 1, &cause),
	    0);
	ck_assert_int_eq(c->c_nlisten, 2);
	ck_assert_str_eq(c->c_listen[0].a_text, "127.0.0.1:8080");
	ck_assert_str_eq(c->c_listen[1].a_text, "*:8081");
	ck_assert_int_eq(c->c_workers, 3);
	ck_assert_int_eq(c->c_balance, BALANCE_LEASTCONN);
	ck_assert_int_eq(c->c_idle_timeout, 1500);
	ck_assert_int_eq(c->c_graceful_timeout, 120000);
	ck_assert_int_eq(c->c_restart_limit, 5);
	ck_assert_int_eq(c->c_restart_window, 10000);
	ck_assert_int_eq(c->c_status_on, 1);
	ck_assert_str_eq(c->c_pidfile, "/tmp/a b.pid");
	ck_assert_int_eq(c->c_reload_probation, 0);
	ck_assert_int_eq(c->c_stop_signal, SIGQUIT);
	ck_assert_int_eq(c->c_shutdown_delay, 5000);
	ck_assert_int_eq(c->c_relay_io, RELAY_IO_URING);
	conf_free(c);
}
END_TEST

START_TEST(test_ready_check)
{
	static const struct {
		const char	*text;
		const char	*err;	/* NULL: good */
	} t[] = {
		{ "worker exec /bin/sleep 60\nready_check http /healthz\n",
		    NULL },
		{ "worker exec /bin/sleep 60\nready_check connect\n", NULL },
		{ "mode shared\nworker exec /bin/sleep 60\nready_check "
		    "notify\n", NULL },
		{ "ready_check ping\n", "t:1: ready_check: expected connect, "
		    "http PATH, notify or listen, not \"ping\"" },
		{ "mode handoff\nworker node /dev/null\nready_check listen\n",
		    NULL },
		{ "mode proxy\nworker node /dev/null\nready_check listen\n",
		    NULL },
		{ "worker exec /bin/sleep 60\nready_check listen\n",
		    "t:2: ready_check listen is for node workers" },
		{ "ready_check listen x\n", "t:1: ready_check: listen takes "
		    "no argument" },
		{ "env NODE_UNIQUE_ID=3\n", "t:1: env: porter sets "
		    "NODE_UNIQUE_ID" },
		{ "ready_check http\n", "t:1: ready_check: http needs a PATH" },
		{ "ready_check http ready\n", "t:1: ready_check: http: the "
		    "PATH must start with /" },
		{ "ready_check connect x\n", "t:1: ready_check: connect takes "
		    "no argument" },
		{ "ready_check http /a /b\n", "t:1: ready_check: takes" },
		{ "ready_check\n", "t:1: ready_check: takes" },
		{ "\nready_check notify\n", "t:2: ready_check is for exec and "
		    "node workers" },
		{ "worker exec /bin/sleep 60\nmode handoff\n", "t:1: worker "
		    "exec cannot take" },
		{ "worker node /dev/null\nmode handoff\nready_check http /\n",
		    "t:3: ready_check http needs each worker's own port" },
		{ "mode shared\nready_check connect\nworker exec /bin/sleep "
		    "60\n", "t:2: ready_check connect needs each worker's own "
		    "port, which only proxy mode gives; in shared mode any "
		    "worker could answer on the shared port: use ready_check "
		    "notify" },
		{ "env NOTIFY_SOCKET=@x\n", "t:1: env: porter sets "
		    "NOTIFY_SOCKET" },
	};
	struct conf	*c;
	char		*cause;
	size_t		 i;
	int		 rv;

	for (i = 0; i < nitems(t); i++) {
		c = conf_new();
		c->c_path = strdup("t");
		cause = NULL;
		rv = conf_parse(c, "t", t[i].text, strlen(t[i].text), &cause);
		if (rv == 0)
			rv = conf_check(c, &cause);
		if (t[i].err == NULL)
			ck_assert_msg(rv == 0, "%s: %s", t[i].text, cause);
		else {
			ck_assert_msg(rv == -1, "accepted: %s", t[i].text);
			ck_assert_msg(cause != NULL && strncmp(cause, t[i].err,
			    strlen(t[i].err)) == 0, "%s: expected \"%s\", got "
			    "\"%s\"", t[i].text, t[i].err, cause);
		}
		free(cause);
		conf_free(c);
	}

	c = conf_new();
	cause = NULL;
	ck_assert_int_eq(c->c_ready_check, READY_CHECK_DEFAULT);
	ck_assert_int_eq(conf_parse(c, "t", t[0].text, strlen(t[0].text),
	    &cause), 0);
	ck_assert_int_eq(c->c_ready_check, READY_CHECK_HTTP);
	ck_assert_str_eq(c->c_ready_path, "/healthz");
	conf_free(c);
}
END_TEST

START_TEST(test_logs)
{
	static const char text[] = "log_format json\nerror_log /var/log/e.log\n"
	    "access_log \"/var/log/a b.log\" json\n";
	static const char off[] = "error_log stderr\naccess_log off\n"
	    "log_format text\n";
	struct conf	*c = conf_new();
	char		*cause = NULL;

	ck_assert_int_eq(c->c_log_json, 0);
	ck_assert_ptr_null(c->c_error_log);
	ck_assert_ptr_null(c->c_access_log);
	ck_assert_int_eq(conf_parse(c, "t", text, sizeof(text) - 1, &cause),
	    0);
	ck_assert_int_eq(conf_check(c, &cause), 0);
	ck_assert_int_eq(c->c_log_json, 1);
	ck_assert_str_eq(c->c_error_log, "/var/log/e.log");
	ck_assert_str_eq(c->c_access_log, "/var/log/a b.log");
	ck_assert_int_eq(c->c_access_json, 1);
	conf_free(c);

	c = conf_new();
	ck_assert_int_eq(conf_parse(c, "t", off, sizeof(off) - 1, &cause), 0);
	ck_assert_int_eq(c->c_log_json, 0);
	ck_assert_ptr_null(c->c_error_log);
	ck_assert_ptr_null(c->c_access_log);
	/* Off needs no proxy mode. */
	ck_assert_int_eq(conf_set(c, "mode", "handoff", &cause), 0);
	ck_assert_int_eq(conf_check(c, &cause), 0);
	conf_free(c);

	/* A text access log in proxy mode; -m shared then blames its line. */
	c = conf_new();
	ck_assert_int_eq(conf_parse(c, "t", "\naccess_log /a.log text\n", 24,
	    &cause), 0);
	ck_assert_int_eq(c->c_access_json, 0);
	ck_assert_int_eq(conf_set(c, "mode", "shared", &cause), 0);
	ck_assert_int_eq(conf_check(c, &cause), -1);
	ck_assert_msg(strncmp(cause, "command line:2: access_log: only proxy "
	    "mode", 39) == 0, "%s", cause);
	free(cause);
	conf_free(c);
}
END_TEST

START_TEST(test_overrides)
{
	static const char text[] = "listen 127.0.0.1:8080\nlisten "
	    "127.0.0.1:8081\nworkers 2\n";
	struct conf	*c = conf_new();
	char		*cause = NULL;

	ck_assert_int_eq(conf_parse(c, "t", text, sizeof(text) - 1, &cause),
	    0);
	/* -l replaces every listen line; -w replaces workers. */
	ck_assert_int_eq(conf_set(c, "listen", "127.0.0.1:7000", &cause), 0);
	ck_assert_int_eq(c->c_nlisten, 1);
	ck_assert_str_eq(c->c_listen[0].a_text, "127.0.0.1:7000");
	ck_assert_int_eq(conf_set(c, "workers", "5", &cause), 0);
	ck_assert_int_eq(c->c_workers, 5);
	ck_assert_int_eq(conf_set(c, "mode", "bogus", &cause), -1);
	ck_assert_msg(strncmp(cause, "command line: mode:", 19) == 0, "%s",
	    cause);
	free(cause);
	conf_free(c);
}
END_TEST

START_TEST(test_duration)
{
	int	ms;

	ck_assert_int_eq(conf_parse_duration("500ms", &ms), 0);
	ck_assert_int_eq(ms, 500);
	ck_assert_int_eq(conf_parse_duration("30", &ms), 0);
	ck_assert_int_eq(ms, 30000);
	ck_assert_int_eq(conf_parse_duration("5m", &ms), 0);
	ck_assert_int_eq(ms, 300000);
	ck_assert_int_eq(conf_parse_duration("1h", &ms), 0);
	ck_assert_int_eq(ms, 3600000);
	ck_assert_int_eq(conf_parse_duration("", &ms), -1);
	ck_assert_int_eq(conf_parse_duration("-1s", &ms), -1);
	ck_assert_int_eq(conf_parse_duration("1d", &ms), -1);
	ck_assert_int_eq(conf_parse_duration("99999999h", &ms), -1);
}
END_TEST

START_TEST(test_addr)
{
	struct addr	a;

	ck_assert_int_eq(conf_parse_addr("127.0.0.1:80", &a, 0), 0);
	ck_assert_int_eq(a.a_ss.ss_family, AF_INET);
	ck_assert_int_eq(conf_parse_addr("8080", &a, 1), 0);
	ck_assert_str_eq(a.a_text, "0.0.0.0:8080");
	ck_assert_int_eq(conf_parse_addr("[::1]:80", &a, 0), 0);
	ck_assert_int_eq(a.a_ss.ss_family, AF_INET6);
	ck_assert_int_eq(conf_parse_addr("localhost:80", &a, 0), 0);
	ck_assert_int_eq(conf_parse_addr("1.2.3.4:0", &a, 0), -1);
	ck_assert_int_eq(conf_parse_addr("1.2.3.4:", &a, 0), -1);
	ck_assert_int_eq(conf_parse_addr("1.2.3.4:x", &a, 0), -1);
	ck_assert_int_eq(conf_parse_addr("::1:80", &a, 0), -1);
	ck_assert_int_eq(conf_parse_addr("[::1]80", &a, 0), -1);
}
END_TEST

/* Arbitrary bytes never crash the parser (a cheap stand-in for fuzzing). */
START_TEST(test_garbage)
{
	struct conf	*c;
	char		 buf[256], *cause;
	unsigned int	 seed = 1;
	int		 i, j;

	for (i = 0; i < 2000; i++) {
		for (j = 0; j < (int)sizeof(buf); j++) {
			seed = seed * 1103515245 + 12345;
			buf[j] = "workers listen\"# \n\t:0123456789abcxyz"
			    [(seed >> 16) % 37];
		}
		c = conf_new();
		cause = NULL;
		if (conf_parse(c, "fuzz", buf, sizeof(buf), &cause) == -1)
			ck_assert_ptr_nonnull(cause);
		free(cause);
		conf_free(c);
	}
}
END_TEST

START_TEST(test_port_ref)
{
	static const struct {
		const char	*s;
		int		 at;	/* -1: none */
		size_t		 len;
	} t[] = {
		{ "--port={port}", 7, 6 },
		{ "$PORT", 0, 5 },
		{ "${PORT}", 0, 7 },
		{ "127.0.0.1:$PORT/x", 10, 5 },
		{ "$PORTS", -1, 0 },
		{ "$PORT_X", -1, 0 },
		{ "$PORT9", -1, 0 },
		{ "$PORT-1", 0, 5 },
		{ "{PORT} $port", -1, 0 },
		{ "", -1, 0 },
		{ "$$PORT", 1, 5 },
	};
	const char	*p;
	size_t		 i, len;

	for (i = 0; i < nitems(t); i++) {
		p = conf_port_ref(t[i].s, &len);
		if (t[i].at == -1) {
			ck_assert_msg(p == NULL, "found in %s", t[i].s);
			continue;
		}
		ck_assert_msg(p == t[i].s + t[i].at, "where in %s", t[i].s);
		ck_assert_uint_eq(len, t[i].len);
	}
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("conf");
	TCase	*tc = tcase_create("conf");

	tcase_add_test(tc, test_good_files);
	tcase_add_test(tc, test_bad_files);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_env);
	tcase_add_test(tc, test_logs);
	tcase_add_test(tc, test_overrides);
	tcase_add_test(tc, test_ready_check);
	tcase_add_test(tc, test_duration);
	tcase_add_test(tc, test_addr);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_port_ref);
	suite_add_tcase(s, tc);
	return check_run(s);
}
