/*
 * check_upstream.c: the pure parts of remote upstreams, without sockets:
 * weighted balancing over targets (balance.c), the health state machine
 * (health.c), the control protocol's parsing (control.c), upstream lines
 * and their directives (upstream.c), the DNS helpers (resolve.c).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "../src/porter.h"
#include "check_run.h"

#define NT	4

static struct target	 ts[NT];
static struct target	*tab[NT];

static int
all_usable(const struct target *t, void *arg)
{
	(void)arg;
	return t->t_health.h_state == HEALTH_UP;
}

static void
setup(void)
{
	int	i;

	memset(ts, 0, sizeof(ts));
	for (i = 0; i < NT; i++) {
		ts[i].t_serial = (uint64_t)i + 1;
		ts[i].t_weight = 1;
		health_reset(&ts[i].t_health);
		tab[i] = &ts[i];
	}
}

static int
pick(struct balance *b, int n)
{
	return balance_pick_target(b, tab, n, all_usable, NULL);
}

START_TEST(test_equal_weights_round_robin)
{
	struct balance	b = { BALANCE_RR, 0 };
	int		i;

	for (i = 0; i < 12; i++)
		ck_assert_int_eq(pick(&b, NT), i % NT);
}
END_TEST

START_TEST(test_weights_interleave)
{
	struct balance	b = { BALANCE_RR, 0 };
	static const int want[] = { 0, 0, 1, 0, 2, 0, 0 };
	int		i;

	/* nginx's example: 5 1 1 gives a a b a c a a. */
	ts[0].t_weight = 5;
	for (i = 0; i < 7; i++)
		ck_assert_int_eq(pick(&b, 3), want[i]);
}
END_TEST

START_TEST(test_weights_shares)
{
	struct balance	b = { BALANCE_RR, 0 };
	int		counts[NT] = { 0 }, i;

	ts[0].t_weight = 1;
	ts[1].t_weight = 2;
	ts[2].t_weight = 3;
	ts[3].t_weight = 4;
	for (i = 0; i < 10000; i++)
		counts[pick(&b, NT)]++;
	ck_assert_int_eq(counts[0], 1000);
	ck_assert_int_eq(counts[1], 2000);
	ck_assert_int_eq(counts[2], 3000);
	ck_assert_int_eq(counts[3], 4000);
}
END_TEST

START_TEST(test_weight_zero_and_down)
{
	struct balance	b = { BALANCE_RR, 0 };
	int		i;

	ts[1].t_weight = 0;
	ts[2].t_health.h_state = HEALTH_DOWN;
	for (i = 0; i < 20; i++) {
		int	k = pick(&b, NT);

		ck_assert(k == 0 || k == 3);
	}
	ts[0].t_weight = 0;
	ts[3].t_weight = 0;
	ck_assert_int_eq(pick(&b, NT), -1);
	ck_assert_int_eq(pick(&b, 0), -1);
}
END_TEST

START_TEST(test_backup_only_when_no_primary)
{
	struct balance	b = { BALANCE_RR, 0 };
	int		i;

	ts[2].t_backup = 1;
	ts[3].t_backup = 1;
	for (i = 0; i < 20; i++)
		ck_assert_int_lt(pick(&b, NT), 2);
	ts[0].t_health.h_state = HEALTH_DOWN;
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(pick(&b, NT), 1);
	ts[1].t_health.h_state = HEALTH_DOWN;
	/* No primary up: the backups, weighted among themselves. */
	ts[3].t_weight = 3;
	{
		int	counts[NT] = { 0 };

		for (i = 0; i < 400; i++)
			counts[pick(&b, NT)]++;
		ck_assert_int_eq(counts[2], 100);
		ck_assert_int_eq(counts[3], 300);
	}
	ts[0].t_health.h_state = HEALTH_UP;
	ck_assert_int_eq(pick(&b, NT), 0);
}
END_TEST

START_TEST(test_leastconn_weighted)
{
	struct balance	b = { BALANCE_LEASTCONN, 0 };

	/* Connections per unit of weight: 10/5 = 2 beats 3/1. */
	ts[0].t_weight = 5;
	ts[0].t_active = 10;
	ts[1].t_active = 3;
	ts[2].t_active = 4;
	ts[3].t_active = 7;
	ck_assert_int_eq(pick(&b, NT), 0);
	ts[0].t_active = 16;
	ck_assert_int_eq(pick(&b, NT), 1);
	/* Ties go by weight: 0 0 0 0 with 3 1 1 1 gives 0 three times in
	 * six picks. */
	{
		int	counts[NT] = { 0 }, i;

		ts[0].t_weight = 3;
		for (i = 0; i < NT; i++)
			ts[i].t_active = 0;
		for (i = 0; i < 600; i++)
			counts[pick(&b, NT)]++;
		ck_assert_int_eq(counts[0], 300);
		ck_assert_int_eq(counts[1], 100);
	}
}
END_TEST

static int
not_tried(const struct target *t, void *arg)
{
	const uint64_t	*tried = arg;

	return t->t_serial != *tried;
}

START_TEST(test_tried_goes_to_backup)
{
	struct balance	b = { BALANCE_RR, 0 };
	uint64_t	tried = 1;

	/* The only primary refused this client: a backup takes it. */
	ts[1].t_backup = 1;
	ck_assert_int_eq(balance_pick_target(&b, tab, 2, not_tried, &tried),
	    1);
	tried = 0;
	ck_assert_int_eq(balance_pick_target(&b, tab, 2, not_tried, &tried),
	    0);
}
END_TEST

static struct health_conf
hconf(enum health_kind k, int rise, int fall, int max_fails, int fail_to)
{
	struct health_conf	hc;

	memset(&hc, 0, sizeof(hc));
	hc.hc_kind = k;
	hc.hc_interval = 2000;
	hc.hc_rise = rise;
	hc.hc_fall = fall;
	hc.hc_max_fails = max_fails;
	hc.hc_fail_timeout = fail_to;
	return hc;
}

/* As the setter does: apply what the machine says. */
static enum health_state
act(struct health *h, const struct health_conf *hc, int ok)
{
	return h->h_state = health_active(h, hc, ok);
}

START_TEST(test_health_rise_fall)
{
	struct health_conf	hc = hconf(HEALTH_TCP, 2, 3, 1, 10000);
	struct health		h;

	health_reset(&h);
	ck_assert_int_eq(h.h_state, HEALTH_UP);
	ck_assert_int_eq(act(&h, &hc, 0), HEALTH_UP);
	ck_assert_int_eq(act(&h, &hc, 0), HEALTH_UP);
	ck_assert_int_eq(act(&h, &hc, 1), HEALTH_UP);	/* starts again */
	ck_assert_int_eq(act(&h, &hc, 0), HEALTH_UP);
	ck_assert_int_eq(act(&h, &hc, 0), HEALTH_UP);
	ck_assert_int_eq(act(&h, &hc, 0), HEALTH_DOWN);	/* fall 3 */
	ck_assert_int_eq(h.h_passive, 0);
	ck_assert_int_eq(act(&h, &hc, 1), HEALTH_DOWN);
	ck_assert_int_eq(act(&h, &hc, 0), HEALTH_DOWN);	/* starts again */
	ck_assert_int_eq(act(&h, &hc, 1), HEALTH_DOWN);
	ck_assert_int_eq(act(&h, &hc, 1), HEALTH_UP);	/* rise 2 */
	ck_assert_int_eq(act(&h, &hc, 1), HEALTH_UP);
}
END_TEST

START_TEST(test_health_passive)
{
	struct health_conf	hc = hconf(HEALTH_NONE, 2, 3, 3, 1000);
	struct health		h;

	health_reset(&h);
	/* 3 within 1 s: down; 2, then a third after the window: not. */
	ck_assert_int_eq(health_passive(&h, &hc, 100), HEALTH_UP);
	ck_assert_int_eq(health_passive(&h, &hc, 500), HEALTH_UP);
	ck_assert_int_eq(health_passive(&h, &hc, 1200), HEALTH_UP);
	ck_assert_int_eq(health_passive(&h, &hc, 1300), HEALTH_UP);
	h.h_state = health_passive(&h, &hc, 1400);
	ck_assert_int_eq(h.h_state, HEALTH_DOWN);
	ck_assert_int_eq(h.h_passive, 1);
	/* No checks: back once fail_timeout is over, not before. */
	ck_assert_int_eq(health_expire(&h, &hc, 2399), HEALTH_DOWN);
	h.h_state = health_expire(&h, &hc, 2400);
	ck_assert_int_eq(h.h_state, HEALTH_UP);
	ck_assert_int_eq(h.h_passive, 0);
	/* max_fails 0: passive failures count for nothing. */
	hc.hc_max_fails = 0;
	ck_assert_int_eq(health_passive(&h, &hc, 3000), HEALTH_UP);
	ck_assert_int_eq(health_passive(&h, &hc, 3001), HEALTH_UP);
	ck_assert_int_eq(health_passive(&h, &hc, 3002), HEALTH_UP);
}
END_TEST

START_TEST(test_health_passive_with_checks)
{
	struct health_conf	hc = hconf(HEALTH_HTTP, 2, 3, 1, 1000);
	struct health		h;

	health_reset(&h);
	h.h_state = health_passive(&h, &hc, 50);
	ck_assert_int_eq(h.h_state, HEALTH_DOWN);
	/* With active checks time does not bring it back; rise does. */
	ck_assert_int_eq(health_expire(&h, &hc, 100000), HEALTH_DOWN);
	ck_assert_int_eq(act(&h, &hc, 1), HEALTH_DOWN);
	ck_assert_int_eq(act(&h, &hc, 1), HEALTH_UP);
	ck_assert_int_eq(h.h_passive, 0);
	/* Down by checks, then a reload turns them off: up at once. */
	ck_assert_int_eq(act(&h, &hc, 0), HEALTH_UP);
	ck_assert_int_eq(act(&h, &hc, 0), HEALTH_UP);
	ck_assert_int_eq(act(&h, &hc, 0), HEALTH_DOWN);
	hc.hc_kind = HEALTH_NONE;
	ck_assert_int_eq(health_expire(&h, &hc, 0), HEALTH_UP);
}
END_TEST

START_TEST(test_health_request)
{
	struct addr	a;
	char		buf[512];
	int		n;

	ck_assert_int_eq(conf_parse_addr("127.0.0.2:8080", &a, 0), 0);
	n = health_request(buf, sizeof(buf), "/healthz", &a, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.2:8080"
	    "\r\nConnection: close\r\nUser-Agent: porter-health-check\r\n"
	    "\r\n");
	n = health_request(buf, sizeof(buf), "/", &a, 1);
	ck_assert_int_gt(n, 0);
	ck_assert(strncmp(buf, "PROXY UNKNOWN\r\nGET / HTTP/1.1\r\n", 31) ==
	    0);
	ck_assert_int_eq(health_request(buf, 20, "/", &a, 0), -1);
}
END_TEST

static int
parse(const char *text, struct control_cmd *cc, const char **err)
{
	static char	line[4096];

	snprintf(line, sizeof(line), "%s", text);
	return control_parse(line, cc, err);
}

START_TEST(test_control_parse)
{
	struct control_cmd	 cc;
	const char		*err;

	ck_assert_int_eq(parse("show upstreams", &cc, &err), 0);
	ck_assert_int_eq(cc.cc_verb, CONTROL_SHOW_UPSTREAMS);
	ck_assert_int_eq(parse("  show   workers \r", &cc, &err), 0);
	ck_assert_int_eq(cc.cc_verb, CONTROL_SHOW_WORKERS);
	ck_assert_int_eq(parse("set upstream 10.0.0.1:80 drain", &cc, &err),
	    0);
	ck_assert_int_eq(cc.cc_verb, CONTROL_SET_STATE);
	ck_assert_int_eq(cc.cc_admin, TARGET_DRAIN);
	ck_assert_str_eq(cc.cc_target, "10.0.0.1:80");
	ck_assert_int_eq(parse("set upstream [::1]:80 maint", &cc, &err), 0);
	ck_assert_int_eq(cc.cc_admin, TARGET_MAINT);
	ck_assert_int_eq(parse("set upstream x:1 ready", &cc, &err), 0);
	ck_assert_int_eq(cc.cc_admin, TARGET_READY);
	ck_assert_int_eq(parse("set weight 10.0.0.1:80 7", &cc, &err), 0);
	ck_assert_int_eq(cc.cc_verb, CONTROL_SET_WEIGHT);
	ck_assert_int_eq(cc.cc_n, 7);
	ck_assert_int_eq(parse("add upstream 10.0.0.2:80 weight 3 backup",
	    &cc, &err), 0);
	ck_assert_int_eq(cc.cc_verb, CONTROL_ADD_UPSTREAM);
	ck_assert_int_eq(cc.cc_argc, 4);
	ck_assert_str_eq(cc.cc_argv[0], "10.0.0.2:80");
	ck_assert_str_eq(cc.cc_argv[3], "backup");
	ck_assert_int_eq(parse("del upstream web.test:80", &cc, &err), 0);
	ck_assert_int_eq(cc.cc_verb, CONTROL_DEL_UPSTREAM);
	ck_assert_int_eq(parse("scale 0", &cc, &err), 0);
	ck_assert_int_eq(cc.cc_verb, CONTROL_SCALE);
	ck_assert_int_eq(cc.cc_n, 0);
	ck_assert_int_eq(parse("reload", &cc, &err), 0);
	ck_assert_int_eq(cc.cc_verb, CONTROL_RELOAD);
	ck_assert_int_eq(parse("help", &cc, &err), 0);
	ck_assert_int_eq(cc.cc_verb, CONTROL_HELP);
}
END_TEST

START_TEST(test_control_parse_bad)
{
	static const char *bad[] = {
		"", "   ", "bogus", "show", "show everything", "show workers x",
		"set", "set upstream", "set upstream 1.2.3.4:80",
		"set upstream 1.2.3.4:80 down", "set weight 1.2.3.4:80",
		"set weight 1.2.3.4:80 -1", "set weight 1.2.3.4:80 65536",
		"set weight 1.2.3.4:80 1x", "add upstream", "add", "del upstream",
		"del upstream a b", "scale", "scale -1", "scale 129", "scale x",
		"reload now", "help me", "show\x01workers",
		"a b c d e f g h i j k l m n o p q",
	};
	struct control_cmd	 cc;
	const char		*err;
	char			 big[3000];
	size_t			 i;

	for (i = 0; i < nitems(bad); i++) {
		err = NULL;
		ck_assert_msg(parse(bad[i], &cc, &err) == -1, "\"%s\" parsed",
		    bad[i]);
		ck_assert_ptr_nonnull(err);
		ck_assert(strchr(err, '\n') == NULL);	/* one line */
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(parse(big, &cc, &err), -1);
}
END_TEST

static int
uparse(const char *text, int numeric, struct upstream_line *ul, char **msg)
{
	char	buf[1024], *w[16], *p;
	int	n = 0;

	snprintf(buf, sizeof(buf), "%s", text);
	for (p = strtok(buf, " "); p != NULL && n < 16; p = strtok(NULL, " "))
		w[n++] = p;
	return upstream_parse(n, w, numeric, ul, msg);
}

START_TEST(test_upstream_parse)
{
	struct upstream_line	 ul;
	char			*msg = NULL;

	ck_assert_int_eq(uparse("127.0.0.2:8080", 1, &ul, &msg), 0);
	ck_assert_int_eq(ul.ul_kind, UPSTREAM_STATIC);
	ck_assert_int_eq(ul.ul_weight, 1);
	ck_assert_int_eq(ul.ul_backup, 0);
	ck_assert_int_eq(addr_port(&ul.ul_addr), 8080);
	ck_assert_int_eq(uparse("[::1]:80 weight 0 backup", 1, &ul, &msg), 0);
	ck_assert_int_eq(ul.ul_weight, 0);
	ck_assert_int_eq(ul.ul_backup, 1);
	ck_assert_int_eq(ul.ul_addr.a_ss.ss_family, AF_INET6);
	ck_assert_int_eq(uparse("web.example.com:8080 resolve weight 5", 1,
	    &ul, &msg), 0);
	ck_assert_int_eq(ul.ul_kind, UPSTREAM_RESOLVE);
	ck_assert_str_eq(ul.ul_host, "web.example.com");
	ck_assert_int_eq(ul.ul_port, 8080);
	ck_assert_int_eq(ul.ul_weight, 5);
	ck_assert_int_eq(uparse("_http._tcp.example.com resolve srv backup",
	    1, &ul, &msg), 0);
	ck_assert_int_eq(ul.ul_kind, UPSTREAM_SRV);
	ck_assert_int_eq(ul.ul_weight, -1);
	ck_assert_int_eq(ul.ul_backup, 1);
	/* At load time a static name is resolved once (localhost). */
	ck_assert_int_eq(uparse("localhost:80", 0, &ul, &msg), 0);
	ck_assert_int_eq(ul.ul_kind, UPSTREAM_STATIC);
	free(msg);
}
END_TEST

START_TEST(test_upstream_parse_bad)
{
	static const struct {
		const char	*line;
		const char	*error;
	} bad[] = {
		{ "127.0.0.2", "bad address" },
		{ "127.0.0.2:0", "bad address" },
		{ "127.0.0.2:70000", "bad address" },
		{ "::1:80", "bad address" },
		{ ":80", "bad address" },
		{ "0.0.0.0:80", "no one's address" },
		{ "127.0.0.2:80 weight", "weight needs a number" },
		{ "127.0.0.2:80 weight 65536", "not a number" },
		{ "127.0.0.2:80 weight x", "not a number" },
		{ "127.0.0.2:80 weight 1 weight 2", "weight given twice" },
		{ "127.0.0.2:80 backup backup", "backup given twice" },
		{ "127.0.0.2:80 heavy", "unknown option" },
		{ "web.test:80", "is a name: add resolve" },
		{ "bad_host!:80 resolve", "bad host name" },
		{ "web.test:80 resolve srv", "needs an SRV name" },
		{ "_http._tcp.web.test resolve srv weight 2", "drop weight" },
		{ "_http._tcp..test resolve srv", "needs an SRV name" },
	};
	struct upstream_line	 ul;
	char			*msg = NULL;
	size_t			 i;

	for (i = 0; i < nitems(bad); i++) {
		ck_assert_msg(uparse(bad[i].line, 1, &ul, &msg) == -1,
		    "\"%s\" parsed", bad[i].line);
		ck_assert_msg(strstr(msg, bad[i].error) != NULL,
		    "\"%s\": \"%s\" not in \"%s\"", bad[i].line, bad[i].error,
		    msg);
	}
	free(msg);
}
END_TEST

static struct conf *
conf_of(const char *text, char **cause)
{
	struct conf	*c = conf_new();

	ck_assert_ptr_nonnull(c);
	if (conf_parse(c, "t", text, strlen(text), cause) == -1 ||
	    conf_check(c, cause) == -1) {
		conf_free(c);
		return NULL;
	}
	return c;
}

START_TEST(test_conf_lines)
{
	struct conf	*c;
	char		*cause = NULL;

	c = conf_of("workers 0\nupstream 127.0.0.2:80 weight 3\n"
	    "upstream 127.0.0.3:80 backup\nupstream web.test:80 resolve\n"
	    "upstream _web._tcp.test resolve srv\n"
	    "health_check http /healthz interval 500ms rise 3 fall 4 "
	    "timeout 200ms\nmax_fails 2\nfail_timeout 5s\n"
	    "resolver 127.0.0.1:5353\nresolver ::1\nresolve_min 200ms\n"
	    "resolve_max 10s\ncontrol /run/porter.sock\n", &cause);
	ck_assert_msg(c != NULL, "%s", cause);
	ck_assert_int_eq(c->c_workers, 0);
	ck_assert_int_eq(c->c_nupstreams, 4);
	ck_assert_int_eq(c->c_upstreams[0].ul_weight, 3);
	ck_assert_int_eq(c->c_upstreams[1].ul_backup, 1);
	ck_assert_int_eq(c->c_upstreams[2].ul_kind, UPSTREAM_RESOLVE);
	ck_assert_int_eq(c->c_upstreams[3].ul_kind, UPSTREAM_SRV);
	ck_assert_int_eq(c->c_upstreams[3].ul_line, 5);
	ck_assert_int_eq(c->c_health.hc_kind, HEALTH_HTTP);
	ck_assert_str_eq(c->c_health.hc_path, "/healthz");
	ck_assert_int_eq(c->c_health.hc_interval, 500);
	ck_assert_int_eq(c->c_health.hc_rise, 3);
	ck_assert_int_eq(c->c_health.hc_fall, 4);
	ck_assert_int_eq(c->c_health.hc_timeout, 200);
	ck_assert_int_eq(c->c_health.hc_max_fails, 2);
	ck_assert_int_eq(c->c_health.hc_fail_timeout, 5000);
	ck_assert_int_eq(c->c_nresolvers, 2);
	ck_assert_int_eq(addr_port(&c->c_resolvers[0]), 5353);
	ck_assert_int_eq(addr_port(&c->c_resolvers[1]), 53);
	ck_assert_int_eq(c->c_resolve_min, 200);
	ck_assert_int_eq(c->c_resolve_max, 10000);
	ck_assert_str_eq(c->c_control, "/run/porter.sock");
	conf_free(c);

	/* The defaults: HAProxy's checks, nginx's passive ones. */
	c = conf_of("", &cause);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->c_health.hc_kind, HEALTH_NONE);
	ck_assert_int_eq(c->c_health.hc_interval, 2000);
	ck_assert_int_eq(c->c_health.hc_rise, 2);
	ck_assert_int_eq(c->c_health.hc_fall, 3);
	ck_assert_int_eq(c->c_health.hc_max_fails, 1);
	ck_assert_int_eq(c->c_health.hc_fail_timeout, 10000);
	ck_assert_int_eq(c->c_resolve_min, 1000);
	ck_assert_int_eq(c->c_resolve_max, 30000);
	ck_assert_ptr_null(c->c_control);
	conf_free(c);

	/* A later health_check line replaces the first... once only. */
	c = conf_of("health_check tcp\nhealth_check off\n", &cause);
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(strstr(cause, "t:2: health_check: already set"));
	free(cause);
}
END_TEST

START_TEST(test_conf_lines_bad)
{
	static const struct {
		const char	*text;
		const char	*error;
	} bad[] = {
		{ "workers 0\n", ":1: workers 0 needs mode proxy and upstream" },
		{ "mode handoff\nworkers 0\nupstream 10.0.0.1:80\n",
		    ":3: upstream needs mode proxy" },
		{ "upstream 10.0.0.1:80\nupstream 10.0.0.1:80 weight 2\n",
		    "t:2: upstream: 10.0.0.1:80 given twice (line 1)" },
		{ "upstream a.test:80 resolve\nupstream A.TEST:80 resolve\n",
		    "t:2: upstream: A.TEST:80 given twice" },
		{ "health_check udp\n", "t:1: health_check: expected tcp" },
		{ "health_check http\n", "t:1: health_check: http needs a PATH" },
		{ "health_check http healthz\n", "needs a PATH starting with /" },
		{ "health_check tcp every 1s\n", "unknown option \"every\"" },
		{ "health_check tcp rise\n", "health_check: rise needs a value" },
		{ "health_check tcp rise 0\n", "not a number from 1 to 100" },
		{ "health_check tcp interval 10ms\n", "less than 100 ms" },
		{ "health_check off now\n", "off takes nothing" },
		{ "max_fails -1\n", "max_fails: \"-1\" is not a number" },
		{ "fail_timeout 0\n", "fail_timeout: 0 is less than 1 ms" },
		{ "resolver dns.example\n", "resolver: expected an IP address" },
		{ "resolver 1.1.1.1\nresolver 1.0.0.1\nresolver 8.8.8.8\n"
		    "resolver 8.8.4.4\n", "t:4: resolver: at most 3" },
		{ "resolve_min 5s\nresolve_max 1s\n",
		    ":2: resolve_min (5000 ms) is more than resolve_max" },
		{ "resolve_min 10ms\n", "less than 100 ms" },
		{ "control \"\"\n", "control: the path must have" },
		{ "upstream 10.0.0.1:80 weight 1 backup resolve srv x\n",
		    "upstream: takes 1 to 6 arguments" },
	};
	struct conf	*c;
	char		*cause;
	size_t		 i;

	for (i = 0; i < nitems(bad); i++) {
		cause = NULL;
		c = conf_of(bad[i].text, &cause);
		ck_assert_msg(c == NULL, "\"%s\" loaded", bad[i].text);
		ck_assert_msg(cause != NULL && strstr(cause, bad[i].error) !=
		    NULL, "\"%s\": \"%s\" not in \"%s\"", bad[i].text,
		    bad[i].error, cause);
		free(cause);
	}
}
END_TEST

START_TEST(test_resolve_next)
{
	ck_assert_int_eq(resolve_next_ms(5, 1000, 30000), 5000);
	ck_assert_int_eq(resolve_next_ms(0, 1000, 30000), 1000);
	ck_assert_int_eq(resolve_next_ms(3600, 1000, 30000), 30000);
	ck_assert_int_eq(resolve_next_ms(-1, 1000, 30000), 30000);
	ck_assert_int_eq(resolve_next_ms(2147483647LL, 200, 2000), 2000);
}
END_TEST

/* An answer to _web._tcp.t SRV: two records (TTLs 60 and 7), then an A
 * record of TTL 1 in the answer section too (not SRV: not counted). */
static const unsigned char srv_msg[] = {
	0x12, 0x34, 0x81, 0x80, 0, 1, 0, 3, 0, 0, 0, 0,
	/* question: _web._tcp.t SRV IN */
	4, '_', 'w', 'e', 'b', 4, '_', 't', 'c', 'p', 1, 't', 0,
	0, 33, 0, 1,
	/* answer 1: pointer to the name, SRV IN TTL 60 */
	0xc0, 12, 0, 33, 0, 1, 0, 0, 0, 60, 0, 10,
	0, 0, 0, 1, 0x1f, 0x90, 1, 'a', 0xc0, 22,
	/* answer 2: SRV IN TTL 7 */
	0xc0, 12, 0, 33, 0, 1, 0, 0, 0, 7, 0, 10,
	0, 1, 0, 2, 0x1f, 0x90, 1, 'b', 0xc0, 22,
	/* answer 3: a.t A IN TTL 1 */
	1, 'a', 0xc0, 22, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 127, 0, 0, 2,
};

START_TEST(test_resolve_srv_ttl)
{
	unsigned char	m[sizeof(srv_msg)];
	unsigned int	ttl = 0;
	size_t		i;

	ck_assert_int_eq(resolve_srv_ttl(srv_msg, sizeof(srv_msg), &ttl), 0);
	ck_assert_uint_eq(ttl, 7);
	/* Cut anywhere: never read past the end, never a TTL. */
	for (i = 0; i < sizeof(srv_msg); i++)
		ck_assert_int_eq(resolve_srv_ttl(srv_msg, i, &ttl), -1);
	/* A TTL with its top bit set counts as 0 (RFC 2181): the first
	 * answer's TTL is at 12 + 13 (name) + 4 + 6. */
	memcpy(m, srv_msg, sizeof(m));
	m[35] = 0x80;
	ck_assert_int_eq(resolve_srv_ttl(m, sizeof(m), &ttl), 0);
	ck_assert_uint_eq(ttl, 0);
	/* No SRV record: no TTL. */
	memcpy(m, srv_msg, sizeof(m));
	m[7] = 0;
	ck_assert_int_eq(resolve_srv_ttl(m, sizeof(m), &ttl), -1);
	/* A label that runs off the end; a bad label type. */
	memcpy(m, srv_msg, sizeof(m));
	m[12] = 63;
	ck_assert_int_eq(resolve_srv_ttl(m, 40, &ttl), -1);
	m[12] = 0x40;
	ck_assert_int_eq(resolve_srv_ttl(m, sizeof(m), &ttl), -1);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("upstream");
	TCase	*tb = tcase_create("balance");
	TCase	*th = tcase_create("health");
	TCase	*tc = tcase_create("control");
	TCase	*tu = tcase_create("conf");
	TCase	*tr = tcase_create("resolve");

	tcase_add_checked_fixture(tb, setup, NULL);
	tcase_add_test(tb, test_equal_weights_round_robin);
	tcase_add_test(tb, test_weights_interleave);
	tcase_add_test(tb, test_weights_shares);
	tcase_add_test(tb, test_weight_zero_and_down);
	tcase_add_test(tb, test_backup_only_when_no_primary);
	tcase_add_test(tb, test_leastconn_weighted);
	tcase_add_test(tb, test_tried_goes_to_backup);
	suite_add_tcase(s, tb);
	tcase_add_test(th, test_health_rise_fall);
	tcase_add_test(th, test_health_passive);
	tcase_add_test(th, test_health_passive_with_checks);
	tcase_add_test(th, test_health_request);
	suite_add_tcase(s, th);
	tcase_add_test(tc, test_control_parse);
	tcase_add_test(tc, test_control_parse_bad);
	suite_add_tcase(s, tc);
	tcase_add_test(tu, test_upstream_parse);
	tcase_add_test(tu, test_upstream_parse_bad);
	tcase_add_test(tu, test_conf_lines);
	tcase_add_test(tu, test_conf_lines_bad);
	suite_add_tcase(s, tu);
	tcase_add_test(tr, test_resolve_next);
	tcase_add_test(tr, test_resolve_srv_ttl);
	suite_add_tcase(s, tr);
	return check_run(s);
}
