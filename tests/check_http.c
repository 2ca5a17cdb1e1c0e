/*
 * check_http.c: request parsing and answers of the built-in worker,
 * bytes in and bytes out, no sockets.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/buffer.h>
#include <http_parser.h>

#include "../src/porter.h"
#include "check_run.h"

static struct http_conn	*hc;
static struct evbuffer	*in, *out;
static const struct http_site site = { 3, 4242, "proxy",
    "X-Porter-Worker: 3\r\n", 0 };

static void
setup(void)
{
	hc = http_conn_new();
	in = evbuffer_new();
	out = evbuffer_new();
}

static void
teardown(void)
{
	http_conn_free(hc);
	evbuffer_free(in);
	evbuffer_free(out);
}

static char *
drain_out(void)
{
	size_t	 len = evbuffer_get_length(out);
	char	*s = malloc(len + 1);

	evbuffer_remove(out, s, len);
	s[len] = '\0';
	return s;
}

static enum http_feed
feed(const char *s)
{
	evbuffer_add(in, s, strlen(s));
	return http_conn_feed(hc, in, out);
}

/* http_serve, with a /bytes body added at once. */
static int
serve(const struct http_req *r, const struct http_site *si)
{
	size_t	rest;
	int	keep;

	keep = http_serve(out, r, si, &rest);
	http_add_bytes(out, rest);
	return keep;
}

START_TEST(test_simple_get)
{
	const struct http_req	*r;
	char			*resp;

	ck_assert_int_eq(feed("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
	    FEED_REQUEST);
	r = http_conn_request(hc);
	ck_assert_str_eq(r->r_path, "/");
	ck_assert_int_eq(r->r_method, HTTP_GET);
	ck_assert_int_eq(r->r_keepalive, 1);
	ck_assert_int_eq(serve(r, &site), 1);
	resp = drain_out();
	ck_assert_msg(strncmp(resp, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s",
	    resp);
	ck_assert_ptr_nonnull(strstr(resp, "X-Porter-Worker: 3\r\n"));
	ck_assert_ptr_nonnull(strstr(resp, "Content-Length: 41\r\n"));
	ck_assert_ptr_null(strstr(resp, "Connection: close"));
	ck_assert_ptr_nonnull(strstr(resp,
	    "\r\n\r\nhandled by worker 3, pid 4242, via proxy\n"));
	free(resp);
	ck_assert_int_eq(http_conn_feed(hc, in, out), FEED_MORE);
}
END_TEST

START_TEST(test_byte_by_byte)
{
	const char	*req = "GET /bytes/10?x=1 HTTP/1.1\r\nHost: x\r\n"
	    "User-Agent: t\r\n\r\n";
	size_t		 i;

	for (i = 0; i + 1 < strlen(req); i++) {
		evbuffer_add(in, req + i, 1);
		ck_assert_int_eq(http_conn_feed(hc, in, out), FEED_MORE);
	}
	evbuffer_add(in, req + i, 1);
	ck_assert_int_eq(http_conn_feed(hc, in, out), FEED_REQUEST);
	ck_assert_str_eq(http_conn_request(hc)->r_path, "/bytes/10?x=1");
	ck_assert_uint_eq(evbuffer_get_length(out), 0);
}
END_TEST

START_TEST(test_pipelined)
{
	char	*resp;

	ck_assert_int_eq(feed("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /b HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /bytes/3 HTTP/1.1\r\nHost: x\r\n\r\nGET /part"),
	    FEED_REQUEST);
	ck_assert_str_eq(http_conn_request(hc)->r_path, "/a");
	ck_assert_int_eq(http_conn_feed(hc, in, out), FEED_REQUEST);
	ck_assert_str_eq(http_conn_request(hc)->r_path, "/b");
	ck_assert_int_eq(http_conn_feed(hc, in, out), FEED_REQUEST);
	ck_assert_str_eq(http_conn_request(hc)->r_path, "/bytes/3");
	serve(http_conn_request(hc), &site);
	resp = drain_out();
	ck_assert_ptr_nonnull(strstr(resp, "Content-Length: 3\r\n"));
	ck_assert_ptr_nonnull(strstr(resp, "\r\n\r\nxxx"));
	free(resp);
	ck_assert_int_eq(http_conn_feed(hc, in, out), FEED_MORE);
	ck_assert_int_eq(feed(" HTTP/1.1\r\nHost: x\r\n\r\n"),
	    FEED_REQUEST);
	ck_assert_str_eq(http_conn_request(hc)->r_path, "/part");
}
END_TEST

START_TEST(test_body_skipped)
{
	ck_assert_int_eq(feed("POST / HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 5\r\n\r\nhello" "GET /x HTTP/1.1\r\nHost: x"
	    "\r\n\r\n"), FEED_REQUEST);
	ck_assert_int_eq(http_conn_request(hc)->r_method, HTTP_POST);
	ck_assert_int_eq(serve(http_conn_request(hc), &site), 1);
	ck_assert_int_eq(http_conn_feed(hc, in, out), FEED_REQUEST);
	ck_assert_str_eq(http_conn_request(hc)->r_path, "/x");
}
END_TEST

START_TEST(test_chunked_body)
{
	ck_assert_int_eq(feed("POST / HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
	    FEED_REQUEST);
	ck_assert_uint_eq(evbuffer_get_length(in), 0);
}
END_TEST

static void
expect_error(const char *req, const char *status)
{
	char	*resp;

	ck_assert_int_eq(feed(req), FEED_ERROR);
	resp = drain_out();
	ck_assert_msg(strncmp(resp, status, strlen(status)) == 0,
	    "expected %s, got %s", status, resp);
	ck_assert_ptr_nonnull(strstr(resp, "Connection: close\r\n"));
	free(resp);
}

START_TEST(test_malformed)
{
	expect_error("GARBAGE\r\n\r\n", "HTTP/1.1 400 ");
}
END_TEST

START_TEST(test_bad_header)
{
	expect_error("GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
	    "HTTP/1.1 400 ");
}
END_TEST

START_TEST(test_bad_version)
{
	expect_error("GET / HTTP/x.y\r\n\r\n", "HTTP/1.1 400 ");
}
END_TEST

START_TEST(test_long_url)
{
	char	*req = malloc(HTTP_MAX_URL + 100);

	strcpy(req, "GET /");
	memset(req + 5, 'a', HTTP_MAX_URL);
	strcpy(req + 5 + HTTP_MAX_URL, " HTTP/1.1\r\n\r\n");
	expect_error(req, "HTTP/1.1 414 ");
	free(req);
}
END_TEST

START_TEST(test_url_at_limit)
{
	char	*req = malloc(HTTP_MAX_URL + 100);

	strcpy(req, "GET /");
	memset(req + 5, 'a', HTTP_MAX_URL - 1);
	strcpy(req + 4 + HTTP_MAX_URL, " HTTP/1.1\r\nHost: x\r\n\r\n");
	ck_assert_int_eq(feed(req), FEED_REQUEST);
	ck_assert_uint_eq(http_conn_request(hc)->r_pathlen, HTTP_MAX_URL);
	free(req);
}
END_TEST

START_TEST(test_big_headers)
{
	char	*req = malloc(HTTP_MAX_HEADERS + 100);

	strcpy(req, "GET / HTTP/1.1\r\nX-Big: ");
	memset(req + 23, 'b', HTTP_MAX_HEADERS);
	strcpy(req + 23 + HTTP_MAX_HEADERS, "\r\n\r\n");
	expect_error(req, "HTTP/1.1 431 ");
	free(req);
}
END_TEST

START_TEST(test_many_headers)
{
	int	i;

	evbuffer_add_printf(in, "GET / HTTP/1.1\r\n");
	for (i = 0; i < 2000; i++)
		evbuffer_add_printf(in, "X-H%d: v\r\n", i);
	expect_error("\r\n", "HTTP/1.1 431 ");
}
END_TEST

/* RFC 9112 where http-parser (not built strict) is lenient. */
START_TEST(test_space_before_colon)
{
	expect_error("GET / HTTP/1.1\r\nHost : x\r\n\r\n", "HTTP/1.1 400 ");
}
END_TEST

START_TEST(test_tab_before_colon)
{
	expect_error("GET / HTTP/1.1\r\nHost: x\r\nX-A\t: 1\r\n\r\n",
	    "HTTP/1.1 400 ");
}
END_TEST

START_TEST(test_space_in_name)
{
	expect_error("GET / HTTP/1.1\r\nHost: x\r\nX A: 1\r\n\r\n",
	    "HTTP/1.1 400 ");
}
END_TEST

START_TEST(test_missing_host)
{
	expect_error("GET / HTTP/1.1\r\nUser-Agent: t\r\n\r\n",
	    "HTTP/1.1 400 ");
}
END_TEST

START_TEST(test_host_optional_in_10)
{
	ck_assert_int_eq(feed("GET / HTTP/1.0\r\n\r\n"), FEED_REQUEST);
	ck_assert_int_eq(feed("GET / HTTP/1.0\r\nHost: x\r\n\r\n"),
	    FEED_REQUEST);
	expect_error("GET / HTTP/1.0\r\nHost: x\r\nHost: x\r\n\r\n",
	    "HTTP/1.1 400 ");
}
END_TEST

START_TEST(test_two_hosts)
{
	expect_error("GET / HTTP/1.1\r\nHost: a\r\nHOST: b\r\n\r\n",
	    "HTTP/1.1 400 ");
}
END_TEST

START_TEST(test_host_lookalikes)
{
	/* Hosts, X-Host, Ho: none of them is Host. */
	expect_error("GET / HTTP/1.1\r\nHosts: a\r\nX-Host: b\r\nHo: c\r\n"
	    "\r\n", "HTTP/1.1 400 ");
	teardown();
	setup();
	ck_assert_int_eq(feed("GET / HTTP/1.1\r\nhOsT: a\r\nHosts: b\r\n"
	    "\r\n"), FEED_REQUEST);
}
END_TEST

START_TEST(test_obs_fold)
{
	expect_error("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
	    "HTTP/1.1 400 ");
}
END_TEST

START_TEST(test_obs_fold_tab)
{
	expect_error("GET / HTTP/1.1\r\nX-A: a\r\n\tb\r\nHost: x\r\n\r\n",
	    "HTTP/1.1 400 ");
}
END_TEST

START_TEST(test_bare_lf)
{
	expect_error("GET / HTTP/1.1\nHost: x\n\n", "HTTP/1.1 400 ");
}
END_TEST

START_TEST(test_bare_lf_header)
{
	expect_error("GET / HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n",
	    "HTTP/1.1 400 ");
}
END_TEST

START_TEST(test_bare_lf_end)
{
	expect_error("GET / HTTP/1.1\r\nHost: x\r\n\n", "HTTP/1.1 400 ");
}
END_TEST

START_TEST(test_bare_cr)
{
	expect_error("GET / HTTP/1.1\r\nHost: x\rX-A: 1\r\n\r\n",
	    "HTTP/1.1 400 ");
}
END_TEST

/*
 * A bare CR in a header value or the request line, whole and byte by
 * byte: the lenient parser would end the line there, so the request's
 * fate must not depend on how its bytes arrived (fuzz_http found it).
 */
START_TEST(test_bare_cr_pieces)
{
	static const char *const reqs[] = {
		"GET / HTTP/1.1\r\nHost: \r\r\r x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n",
		"GET /\r HTTP/1.1\r\nHost: x\r\n\r\n",
	};
	enum http_feed	f;
	size_t		i, k;

	for (k = 0; k < nitems(reqs); k++) {
		expect_error(reqs[k], "HTTP/1.1 400 ");
		http_conn_free(hc);
		ck_assert_ptr_nonnull(hc = http_conn_new());
		evbuffer_drain(in, evbuffer_get_length(in));
		for (i = 0, f = FEED_MORE; reqs[k][i] != '\0' &&
		    f == FEED_MORE; i++) {
			evbuffer_add(in, reqs[k] + i, 1);
			f = http_conn_feed(hc, in, out);
		}
		ck_assert_msg(f == FEED_ERROR, "request %zu, byte by byte: %d",
		    k, f);
		free(drain_out());
		http_conn_free(hc);
		ck_assert_ptr_nonnull(hc = http_conn_new());
		evbuffer_drain(in, evbuffer_get_length(in));
	}
}
END_TEST

/* Strictness is on the head only, and starts over for each request. */
START_TEST(test_strict_per_request)
{
	const char	*req = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
	    "\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\n"
	    "a\nb : "
	    "GET /c HTTP/1.1\r\nHost: x\r\n\r\n";
	size_t		 i;
	int		 n = 0;

	/* Whole, then byte by byte: the scanner keeps its place. */
	ck_assert_int_eq(feed(req), FEED_REQUEST);
	ck_assert_int_eq(http_conn_feed(hc, in, out), FEED_REQUEST);
	ck_assert_str_eq(http_conn_request(hc)->r_path, "/b");
	ck_assert_int_eq(http_conn_feed(hc, in, out), FEED_REQUEST);
	ck_assert_str_eq(http_conn_request(hc)->r_path, "/c");
	ck_assert_int_eq(http_conn_feed(hc, in, out), FEED_MORE);
	for (i = 0; i < strlen(req); i++) {
		evbuffer_add(in, req + i, 1);
		while (http_conn_feed(hc, in, out) == FEED_REQUEST)
			n++;
	}
	ck_assert_int_eq(n, 3);
	ck_assert_uint_eq(evbuffer_get_length(out), 0);
}
END_TEST

/* Expect: 100-continue is answered when the head is in, before the body. */
START_TEST(test_expect_continue)
{
	char	*resp;

	ck_assert_int_eq(feed("POST / HTTP/1.1\r\nHost: x\r\n"
	    "Expect: 100-Continue \r\nContent-Length: 5\r\n\r\n"), FEED_MORE);
	resp = drain_out();
	ck_assert_str_eq(resp, "HTTP/1.1 100 Continue\r\n\r\n");
	free(resp);
	ck_assert_int_eq(feed("hello"), FEED_REQUEST);
	ck_assert_int_eq(serve(http_conn_request(hc), &site), 1);
	resp = drain_out();
	ck_assert_msg(strncmp(resp, "HTTP/1.1 405 ", 13) == 0, "%s", resp);
	free(resp);
}
END_TEST

START_TEST(test_expect_not_continue)
{
	/* No body, HTTP/1.0, or another expectation: no 100. */
	ck_assert_int_eq(feed("GET / HTTP/1.1\r\nHost: x\r\n"
	    "Expect: 100-continue\r\n\r\n"), FEED_REQUEST);
	ck_assert_int_eq(feed("POST / HTTP/1.0\r\nExpect: 100-continue\r\n"
	    "Content-Length: 1\r\n\r\nx"), FEED_REQUEST);
	ck_assert_int_eq(feed("POST / HTTP/1.1\r\nHost: x\r\nExpect: "
	    "100-continued\r\nContent-Length: 1\r\n\r\nx"), FEED_REQUEST);
	ck_assert_int_eq(feed("POST / HTTP/1.1\r\nHost: x\r\nX-Expect: "
	    "100-continue\r\nContent-Length: 1\r\n\r\nx"), FEED_REQUEST);
	ck_assert_uint_eq(evbuffer_get_length(out), 0);
}
END_TEST

START_TEST(test_expect_chunked)
{
	char	*resp;

	ck_assert_int_eq(feed("POST / HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\nExpect:100-continue\r\n\r\n"),
	    FEED_MORE);
	resp = drain_out();
	ck_assert_str_eq(resp, "HTTP/1.1 100 Continue\r\n\r\n");
	free(resp);
	ck_assert_int_eq(feed("0\r\n\r\n"), FEED_REQUEST);
}
END_TEST

START_TEST(test_connect_refused)
{
	expect_error("CONNECT a:443 HTTP/1.1\r\n\r\n", "HTTP/1.1 405 ");
}
END_TEST

START_TEST(test_keepalive_rules)
{
	ck_assert_int_eq(feed("GET / HTTP/1.0\r\n\r\n"), FEED_REQUEST);
	ck_assert_int_eq(http_conn_request(hc)->r_keepalive, 0);
	ck_assert_int_eq(feed("GET / HTTP/1.0\r\nConnection: keep-alive"
	    "\r\n\r\n"), FEED_REQUEST);
	ck_assert_int_eq(http_conn_request(hc)->r_keepalive, 1);
	ck_assert_int_eq(feed("GET / HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n"), FEED_REQUEST);
	ck_assert_int_eq(http_conn_request(hc)->r_keepalive, 0);
	ck_assert_int_eq(serve(http_conn_request(hc), &site), 0);
	evbuffer_drain(out, evbuffer_get_length(out));
}
END_TEST

START_TEST(test_routes)
{
	long	arg;

	ck_assert_int_eq(http_route("/", 1, &arg), ROUTE_ROOT);
	ck_assert_int_eq(http_route("/?q", 3, &arg), ROUTE_ROOT);
	ck_assert_int_eq(http_route("/bytes/1048576", 14, &arg), ROUTE_BYTES);
	ck_assert_int_eq(arg, 1048576);
	ck_assert_int_eq(http_route("/bytes/0", 8, &arg), ROUTE_BYTES);
	ck_assert_int_eq(http_route("/bytes/", 7, &arg), ROUTE_NOTFOUND);
	ck_assert_int_eq(http_route("/bytes/-1", 9, &arg), ROUTE_BAD);
	ck_assert_int_eq(http_route("/bytes/99999999999", 18, &arg),
	    ROUTE_BAD);
	ck_assert_int_eq(http_route("/delay/250", 10, &arg), ROUTE_DELAY);
	ck_assert_int_eq(arg, 250);
	ck_assert_int_eq(http_route("/delay/600000", 13, &arg), ROUTE_BAD);
	ck_assert_int_eq(http_route("/other", 6, &arg), ROUTE_NOTFOUND);
}
END_TEST

START_TEST(test_serve_variants)
{
	struct http_req		r;
	struct http_site	closing = site;
	char			*resp;

	memset(&r, 0, sizeof(r));
	r.r_method = HTTP_HEAD;
	r.r_head = 1;
	r.r_keepalive = 1;
	strcpy(r.r_path, "/bytes/100");
	r.r_pathlen = strlen(r.r_path);
	ck_assert_int_eq(serve(&r, &site), 1);
	resp = drain_out();
	ck_assert_ptr_nonnull(strstr(resp, "Content-Length: 100\r\n"));
	ck_assert_msg(strlen(strstr(resp, "\r\n\r\n")) == 4, "HEAD body");
	free(resp);

	r.r_method = HTTP_DELETE;
	r.r_head = 0;
	ck_assert_int_eq(serve(&r, &site), 1);
	resp = drain_out();
	ck_assert_ptr_nonnull(strstr(resp, "405 Method Not Allowed"));
	ck_assert_ptr_nonnull(strstr(resp, "Allow: GET, HEAD\r\n"));
	free(resp);

	/* A draining worker answers, then closes. */
	closing.s_closing = 1;
	r.r_method = HTTP_GET;
	strcpy(r.r_path, "/nope");
	r.r_pathlen = 5;
	ck_assert_int_eq(serve(&r, &closing), 0);
	resp = drain_out();
	ck_assert_ptr_nonnull(strstr(resp, "404 Not Found"));
	ck_assert_ptr_nonnull(strstr(resp, "Connection: close\r\n"));
	free(resp);
}
END_TEST

/* http_serve leaves a /bytes body to the caller. */
START_TEST(test_bytes_deferred)
{
	struct http_req	r;
	size_t		rest = 1;
	char		*resp;

	memset(&r, 0, sizeof(r));
	r.r_method = HTTP_GET;
	r.r_keepalive = 1;
	strcpy(r.r_path, "/bytes/67108864");
	r.r_pathlen = strlen(r.r_path);
	ck_assert_int_eq(http_serve(out, &r, &site, &rest), 1);
	ck_assert_uint_eq(rest, 67108864);
	ck_assert_uint_lt(evbuffer_get_length(out), 256);
	resp = drain_out();
	ck_assert_ptr_nonnull(strstr(resp, "Content-Length: 67108864\r\n"));
	ck_assert_msg(strlen(strstr(resp, "\r\n\r\n")) == 4, "no body yet");
	free(resp);
	strcpy(r.r_path, "/");
	r.r_pathlen = 1;
	ck_assert_int_eq(http_serve(out, &r, &site, &rest), 1);
	ck_assert_uint_eq(rest, 0);
}
END_TEST

START_TEST(test_bytes_body)
{
	size_t	n = 3 * 65536 + 17;
	char	*buf;

	http_add_bytes(out, n);
	ck_assert_uint_eq(evbuffer_get_length(out), n);
	buf = malloc(n);
	evbuffer_remove(out, buf, n);
	ck_assert_int_eq(buf[0], 'x');
	ck_assert_int_eq(buf[n - 1], 'x');
	free(buf);
}
END_TEST

/* ready.c's ready_check http: the status line, strictly. */
START_TEST(test_ready_status_line)
{
	static const struct {
		const char	*line;
		int		 status;
	} t[] = {
		{ "HTTP/1.1 200 OK\r\n", 200 },
		{ "HTTP/1.0 204 No Content\r\n", 204 },
		{ "HTTP/1.1 503\r\n", 503 },
		{ "HTTP/1.1 301 Moved\n", 301 },
		{ "HTTP/1.1 200", 200 },
		{ "HTTP/2 200 OK\r\n", -1 },
		{ "HTTP/1.1 20 OK\r\n", -1 },
		{ "HTTP/1.1 2000 OK\r\n", -1 },
		{ "HTTP/1.1 600 Odd\r\n", -1 },
		{ "HTTP/1.1  200 OK\r\n", -1 },
		{ "http/1.1 200 OK\r\n", -1 },
		{ "HTTP/1.x 200 OK\r\n", -1 },
		{ "HTTP/1.1 2x0 OK\r\n", -1 },
		{ "SSH-2.0-OpenSSH\r\n", -1 },
		{ "", -1 },
	};
	size_t	i;

	for (i = 0; i < nitems(t); i++)
		ck_assert_msg(ready_http_status(t[i].line, strlen(t[i].line)) ==
		    t[i].status, "\"%s\": expected %d", t[i].line,
		    t[i].status);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("http");
	TCase	*tc = tcase_create("http");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_simple_get);
	tcase_add_test(tc, test_byte_by_byte);
	tcase_add_test(tc, test_pipelined);
	tcase_add_test(tc, test_body_skipped);
	tcase_add_test(tc, test_chunked_body);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_bad_header);
	tcase_add_test(tc, test_bad_version);
	tcase_add_test(tc, test_long_url);
	tcase_add_test(tc, test_url_at_limit);
	tcase_add_test(tc, test_big_headers);
	tcase_add_test(tc, test_many_headers);
	tcase_add_test(tc, test_space_before_colon);
	tcase_add_test(tc, test_tab_before_colon);
	tcase_add_test(tc, test_space_in_name);
	tcase_add_test(tc, test_missing_host);
	tcase_add_test(tc, test_host_optional_in_10);
	tcase_add_test(tc, test_two_hosts);
	tcase_add_test(tc, test_host_lookalikes);
	tcase_add_test(tc, test_obs_fold);
	tcase_add_test(tc, test_obs_fold_tab);
	tcase_add_test(tc, test_bare_lf);
	tcase_add_test(tc, test_bare_lf_header);
	tcase_add_test(tc, test_bare_lf_end);
	tcase_add_test(tc, test_bare_cr);
	tcase_add_test(tc, test_bare_cr_pieces);
	tcase_add_test(tc, test_strict_per_request);
	tcase_add_test(tc, test_expect_continue);
	tcase_add_test(tc, test_expect_not_continue);
	tcase_add_test(tc, test_expect_chunked);
	tcase_add_test(tc, test_connect_refused);
	tcase_add_test(tc, test_keepalive_rules);
	tcase_add_test(tc, test_routes);
	tcase_add_test(tc, test_serve_variants);
	tcase_add_test(tc, test_bytes_deferred);
	tcase_add_test(tc, test_bytes_body);
	tcase_add_test(tc, test_ready_status_line);
	suite_add_tcase(s, tc);
	return check_run(s);
}
