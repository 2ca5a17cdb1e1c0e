/*
 * check_log.c: what the JSON logs are made of: the string escaper, the
 * RFC 3339 timestamps, and the access log's lines.
 */
#include "config.h"

#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "../src/porter.h"
#include "check_run.h"

static const char *
esc(const char *s, size_t len, size_t size)
{
	static char	buf[256];

	ck_assert_uint_le(size, sizeof(buf));
	ck_assert_uint_eq(log_json_escape(buf, size, s, len), strlen(buf));
	return buf;
}

#define ESC(s)	esc((s), sizeof(s) - 1, 256)

START_TEST(test_escape)
{
	ck_assert_str_eq(ESC(""), "");
	ck_assert_str_eq(ESC("plain text: 1/2"), "plain text: 1/2");
	ck_assert_str_eq(ESC("say \"hi\""), "say \\\"hi\\\"");
	ck_assert_str_eq(ESC("a\\b"), "a\\\\b");
	ck_assert_str_eq(ESC("l1\nl2\r\t"), "l1\\nl2\\r\\t");
	ck_assert_str_eq(ESC("\x01\x1f\x7f"), "\\u0001\\u001f\\u007f");
	/* A NUL inside the message is escaped, not the end of it. */
	ck_assert_str_eq(ESC("a\0b"), "a\\u0000b");
	/* Valid UTF-8 passes as it is: 2, 3 and 4 bytes. */
	ck_assert_str_eq(ESC("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	/* Invalid bytes: one U+FFFD each. */
	ck_assert_str_eq(ESC("a\xff" "b"), "a\xef\xbf\xbd" "b");
	ck_assert_str_eq(ESC("\x80"), "\xef\xbf\xbd");
	ck_assert_str_eq(ESC("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");
	ck_assert_str_eq(ESC("\xe0\x80\xaf"),		/* overlong */
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	ck_assert_str_eq(ESC("\xed\xa0\x80"),		/* a surrogate */
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	ck_assert_str_eq(ESC("\xf4\x90\x80\x80"),	/* past U+10FFFF */
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	ck_assert_str_eq(ESC("x\xe2\x82"),		/* cut short */
	    "x\xef\xbf\xbd\xef\xbf\xbd");
}
END_TEST

/* A small buffer: never a half escape or half a character, always NUL. */
START_TEST(test_escape_truncated)
{
	ck_assert_str_eq(esc("abcdef", 6, 4), "abc");
	ck_assert_str_eq(esc("ab\"cd", 5, 4), "ab");
	ck_assert_str_eq(esc("ab\"cd", 5, 5), "ab\\\"");
	ck_assert_str_eq(esc("a\x01", 2, 6), "a");
	ck_assert_str_eq(esc("a\x01", 2, 8), "a\\u0001");
	ck_assert_str_eq(esc("a\xe2\x82\xac", 4, 4), "a");
	ck_assert_str_eq(esc("a\xe2\x82\xac", 4, 5), "a\xe2\x82\xac");
	ck_assert_str_eq(esc("abc", 3, 1), "");
}
END_TEST

static const char *
when(long long sec, long nsec)
{
	static char	buf[LOG_TIME_LEN];
	struct timespec	ts = { (time_t)sec, nsec };

	ck_assert_uint_eq(log_time_rfc3339(buf, sizeof(buf), &ts), 24);
	return buf;
}

START_TEST(test_time)
{
	ck_assert_str_eq(when(0, 0), "1970-01-01T00:00:00.000Z");
	ck_assert_str_eq(when(951782400, 1000000), "2000-02-29T00:00:00.001Z");
	ck_assert_str_eq(when(951868799, 999999999),
	    "2000-02-29T23:59:59.999Z");
	ck_assert_str_eq(when(1795523696, 789000000),
	    "2026-11-24T12:34:56.789Z");
	ck_assert_str_eq(when(4107542399LL, 0), "2100-02-28T23:59:59.000Z");
	ck_assert_str_eq(when(4107542400LL, 0), "2100-03-01T00:00:00.000Z");
	ck_assert_str_eq(when(-1, 500000000), "1969-12-31T23:59:59.500Z");
}
END_TEST

/* Against gmtime_r, over 400 years (a whole Gregorian cycle) of days. */
START_TEST(test_time_gmtime)
{
	char		 want[64], got[LOG_TIME_LEN];
	struct timespec	 ts;
	struct tm	 tm;
	long long	 t;

	for (t = -86400LL * 365; t < 86400LL * 146097; t += 86400 + 3661) {
		ts.tv_sec = (time_t)t;
		ts.tv_nsec = 123456789;
		ck_assert_ptr_nonnull(gmtime_r(&ts.tv_sec, &tm));
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.123Z",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		log_time_rfc3339(got, sizeof(got), &ts);
		ck_assert_str_eq(got, want);
	}
}
END_TEST

static void
entry(struct access_entry *e, int family)
{
	struct sockaddr_in	*c = (struct sockaddr_in *)&e->a_client;
	struct sockaddr_in	*l = (struct sockaddr_in *)&e->a_local;
	struct sockaddr_in6	*c6 = (struct sockaddr_in6 *)&e->a_client;

	memset(e, 0, sizeof(*e));
	e->a_time_ms = 1795523696789LL;
	if (family == AF_INET6) {
		c6->sin6_family = AF_INET6;
		c6->sin6_port = htons(40001);
		inet_pton(AF_INET6, "::1", &c6->sin6_addr);
	} else {
		c->sin_family = AF_INET;
		c->sin_port = htons(40000);
		inet_pton(AF_INET, "10.1.2.3", &c->sin_addr);
	}
	l->sin_family = AF_INET;
	l->sin_port = htons(8080);
	inet_pton(AF_INET, "127.0.0.1", &l->sin_addr);
	e->a_worker = 1;
	e->a_wport = 9002;
	e->a_in = 78;
	e->a_out = 1234;
	e->a_ms = 5;
	e->a_end = "closed";
}

START_TEST(test_access_text)
{
	struct access_entry	e;
	char			buf[512];

	entry(&e, AF_INET);
	ck_assert_uint_gt(access_format(buf, sizeof(buf), &e, 0), 0);
	ck_assert_str_eq(buf, "2026-11-24T12:34:56.789Z 10.1.2.3:40000 "
	    "127.0.0.1:8080 1 9002 78 1234 5 closed\n");
	entry(&e, AF_INET6);
	e.a_worker = -1;
	e.a_in = e.a_out = 0;
	e.a_end = "no-worker";
	e.a_local.ss_family = AF_UNSPEC;
	ck_assert_uint_gt(access_format(buf, sizeof(buf), &e, 0), 0);
	ck_assert_str_eq(buf, "2026-11-24T12:34:56.789Z [::1]:40001 - - - 0 0 "
	    "5 no-worker\n");
	ck_assert_uint_eq(access_format(buf, 20, &e, 0), 0);
	/* A remote upstream: its address in the worker's column. */
	entry(&e, AF_INET);
	e.a_worker = -1;
	e.a_wport = 8080;
	e.a_upstream = "127.0.0.2:8080";
	ck_assert_uint_gt(access_format(buf, sizeof(buf), &e, 0), 0);
	ck_assert_str_eq(buf, "2026-11-24T12:34:56.789Z 10.1.2.3:40000 "
	    "127.0.0.1:8080 127.0.0.2:8080 8080 78 1234 5 closed\n");
	ck_assert_uint_gt(access_format(buf, sizeof(buf), &e, 1), 0);
	ck_assert_str_eq(buf, "{\"time\":\"2026-11-24T12:34:56.789Z\","
	    "\"client\":\"10.1.2.3\",\"client_port\":40000,"
	    "\"listener\":\"127.0.0.1:8080\",\"worker\":null,"
	    "\"worker_port\":8080,\"upstream\":\"127.0.0.2:8080\","
	    "\"bytes_in\":78,\"bytes_out\":1234,\"duration_ms\":5,"
	    "\"end\":\"closed\"}\n");
}
END_TEST

START_TEST(test_access_json)
{
	struct access_entry	e;
	char			buf[512];

	entry(&e, AF_INET);
	ck_assert_uint_gt(access_format(buf, sizeof(buf), &e, 1), 0);
	ck_assert_str_eq(buf, "{\"time\":\"2026-11-24T12:34:56.789Z\","
	    "\"client\":\"10.1.2.3\",\"client_port\":40000,"
	    "\"listener\":\"127.0.0.1:8080\",\"worker\":1,\"worker_port\":9002,"
	    "\"bytes_in\":78,\"bytes_out\":1234,\"duration_ms\":5,"
	    "\"end\":\"closed\"}\n");
	entry(&e, AF_INET6);
	e.a_worker = -1;
	e.a_end = "connect-failed";
	ck_assert_uint_gt(access_format(buf, sizeof(buf), &e, 1), 0);
	ck_assert_str_eq(buf, "{\"time\":\"2026-11-24T12:34:56.789Z\","
	    "\"client\":\"::1\",\"client_port\":40001,"
	    "\"listener\":\"127.0.0.1:8080\",\"worker\":null,"
	    "\"worker_port\":null,\"bytes_in\":78,\"bytes_out\":1234,"
	    "\"duration_ms\":5,\"end\":\"connect-failed\"}\n");
}
END_TEST

/* Each line the scanner (json.c) takes as one object. */
START_TEST(test_access_json_scans)
{
	struct access_entry	e;
	struct json_val		v;
	char			buf[512];
	size_t			n;

	entry(&e, AF_INET6);
	n = access_format(buf, sizeof(buf), &e, 1);
	ck_assert_uint_gt(n, 0);
	ck_assert_int_eq(json_scan(buf, n - 1, &v, NULL, NULL), 0);
	ck_assert_int_eq(v.j_type, JSON_OBJECT);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("log");
	TCase	*tc = tcase_create("log");

	tcase_add_test(tc, test_escape);
	tcase_add_test(tc, test_escape_truncated);
	tcase_add_test(tc, test_time);
	tcase_add_test(tc, test_time_gmtime);
	tcase_add_test(tc, test_access_text);
	tcase_add_test(tc, test_access_json);
	tcase_add_test(tc, test_access_json_scans);
	suite_add_tcase(s, tc);
	return check_run(s);
}
