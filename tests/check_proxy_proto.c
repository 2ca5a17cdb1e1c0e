/*
 * check_proxy_proto.c: the PROXY protocol parser and builder, without
 * sockets: valid v1 and v2 headers, malformed ones, truncated ones, and
 * what the builder writes read back by the parser.
 */
#include "config.h"

#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "../src/porter.h"
#include "check_run.h"

#define V2SIG	"\r\n\r\n\0\r\nQUIT\n"

static struct proxy_hdr	 h;
static const char	*cause;

static ssize_t
parse(const void *buf, size_t len)
{
	cause = NULL;
	return proxy_proto_parse(buf, len, &h, &cause);
}

static ssize_t
parse_str(const char *s)
{
	return parse(s, strlen(s));
}

/* The text of an address the parser filled in: "1.2.3.4:5" or "[::1]:5". */
static const char *
text(const struct sockaddr_storage *ss)
{
	static char	buf[2][64];
	static int	i;

	i = !i;
	return proxy_proto_ntop((const struct sockaddr *)ss, buf[i],
	    sizeof(buf[i]));
}

/* A v2 header: 16 bytes, then len bytes of block. */
static size_t
v2(unsigned char *buf, unsigned char cmd, unsigned char fam, size_t len)
{
	memcpy(buf, V2SIG, 12);
	buf[12] = cmd;
	buf[13] = fam;
	buf[14] = (unsigned char)(len >> 8);
	buf[15] = (unsigned char)len;
	memset(buf + 16, 0, len);
	return 16 + len;
}

START_TEST(test_v1_tcp4)
{
	const char	*s = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"
	    "GET / HTTP/1.1\r\n";

	ck_assert_int_eq(parse_str(s), 47);
	ck_assert_int_eq(h.ph_version, 1);
	ck_assert_int_eq(h.ph_local, 0);
	ck_assert_str_eq(text(&h.ph_src), "192.168.0.1:56324");
	ck_assert_str_eq(text(&h.ph_dst), "192.168.0.11:443");
	s = "PROXY TCP4 255.255.255.255 0.0.0.0 65535 0\r\n";
	ck_assert_int_eq(parse_str(s), (ssize_t)strlen(s));
	ck_assert_str_eq(text(&h.ph_src), "255.255.255.255:65535");
	ck_assert_str_eq(text(&h.ph_dst), "0.0.0.0:0");
}
END_TEST

START_TEST(test_v1_tcp6)
{
	ck_assert_int_eq(parse_str("PROXY TCP6 2001:db8::1 ::1 1234 80\r\n"),
	    36);
	ck_assert_int_eq(h.ph_local, 0);
	ck_assert_str_eq(text(&h.ph_src), "[2001:db8::1]:1234");
	ck_assert_str_eq(text(&h.ph_dst), "[::1]:80");
	ck_assert_int_eq(parse_str("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:"
	    "ffff:ffff FFFF:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"),
	    104);
}
END_TEST

START_TEST(test_v1_unknown)
{
	ck_assert_int_eq(parse_str("PROXY UNKNOWN\r\n"), 15);
	ck_assert_int_eq(h.ph_local, 1);
	ck_assert_int_eq(h.ph_len, 0);
	/* The rest of an UNKNOWN line is ignored, even nonsense. */
	ck_assert_int_eq(parse_str("PROXY UNKNOWN ffff:f...f:ffff x 1 2\r\n"),
	    37);
	ck_assert_int_eq(h.ph_local, 1);
	ck_assert_int_eq(parse_str("PROXY UNKNOWNX\r\n"), -1);
}
END_TEST

START_TEST(test_v1_malformed)
{
	static const char *const bad[] = {
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",	/* bare LF */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX\n",	/* bare CR */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 99999 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",	/* leading zero */
		"PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n",
		"PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",
		"PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",
		"PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n",
		"PROXY TCP4 ::1 ::1 1 2\r\n",		/* wrong family */
		"PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY TCP6 ::ffff:1.2.3.4 ::1 1 2\r\n",
		"PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",	/* a field short */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",	/* one too many */
		"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",	/* double space */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n",
		"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY \r\n",
		"PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n",
		"proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
		"GET / HTTP/1.1\r\n",
		"\r\n\r\nX",
	};
	size_t	i;

	for (i = 0; i < nitems(bad); i++) {
		ck_assert_msg(parse_str(bad[i]) == -1, "accepted %s", bad[i]);
		ck_assert_ptr_nonnull(cause);
	}
	/* A NUL inside the line. */
	ck_assert_int_eq(parse("PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n", 33), -1);
}
END_TEST

START_TEST(test_v1_length)
{
	char	buf[200];

	/* 107 bytes with the CRLF at the end: the longest there is. */
	memset(buf, 'x', sizeof(buf));
	memcpy(buf, "PROXY UNKNOWN ", 14);
	memcpy(buf + 105, "\r\n", 2);
	ck_assert_int_eq(parse(buf, 107), 107);
	ck_assert_int_eq(parse(buf, sizeof(buf)), 107);
	/* 108: too long, known as soon as 107 bytes hold no CRLF. */
	memset(buf, 'x', sizeof(buf));
	memcpy(buf, "PROXY UNKNOWN ", 14);
	memcpy(buf + 106, "\r\n", 2);
	ck_assert_int_eq(parse(buf, 106), 0);
	ck_assert_int_eq(parse(buf, 107), -1);
	ck_assert_int_eq(parse(buf, 108), -1);
	ck_assert_str_eq(cause, "v1: no CRLF in the first 107 bytes");
}
END_TEST

START_TEST(test_v1_truncated)
{
	const char	*s = "PROXY TCP4 10.0.0.1 10.0.0.2 1000 2000\r\n";
	size_t		 i, n = strlen(s);

	for (i = 0; i < n; i++)
		ck_assert_msg(parse(s, i) == 0, "%zu bytes are not a start", i);
	ck_assert_int_eq(parse(s, n), (ssize_t)n);
	/* A wrong start is wrong at once. */
	ck_assert_int_eq(parse("PRX", 3), -1);
	ck_assert_int_eq(parse("G", 1), -1);
}
END_TEST

START_TEST(test_v2_tcp4)
{
	unsigned char	buf[64];
	size_t		n;

	n = v2(buf, 0x21, 0x11, 12);
	memcpy(buf + 16, "\x7f\x00\x00\x01\x0a\x00\x00\x02\x04\xd2\x00\x50",
	    12);
	memcpy(buf + n, "GET", 3);
	ck_assert_int_eq(parse(buf, n + 3), 28);
	ck_assert_int_eq(h.ph_version, 2);
	ck_assert_int_eq(h.ph_local, 0);
	ck_assert_str_eq(text(&h.ph_src), "127.0.0.1:1234");
	ck_assert_str_eq(text(&h.ph_dst), "10.0.0.2:80");
}
END_TEST

START_TEST(test_v2_tcp6)
{
	unsigned char	buf[64];
	size_t		n;

	n = v2(buf, 0x21, 0x21, 36);
	buf[16 + 15] = 1;			/* ::1 */
	buf[32] = 0x20;				/* 2001:db8:: */
	buf[33] = 0x01;
	buf[34] = 0x0d;
	buf[35] = 0xb8;
	buf[48] = 0xff;				/* port 65535 */
	buf[49] = 0xff;
	buf[51] = 0x01;				/* port 1 */
	ck_assert_int_eq(parse(buf, n), 52);
	ck_assert_str_eq(text(&h.ph_src), "[::1]:65535");
	ck_assert_str_eq(text(&h.ph_dst), "[2001:db8::]:1");
}
END_TEST

START_TEST(test_v2_tlvs)
{
	unsigned char	buf[128];
	size_t		n;

	/* TCP4 and two TLVs: an authority, a NOOP of nothing. */
	n = v2(buf, 0x21, 0x11, 12 + 3 + 7 + 3);
	memcpy(buf + 16, "\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02",
	    12);
	memcpy(buf + 28, "\x02\x00\x07" "example" "\x04\x00\x00", 13);
	ck_assert_int_eq(parse(buf, n), (ssize_t)n);
	ck_assert_str_eq(text(&h.ph_src), "1.2.3.4:1");
	/* A TLV running past the block, or a stray byte: malformed. */
	buf[30] = 8;
	ck_assert_int_eq(parse(buf, n), -1);
	ck_assert_str_eq(cause, "v2: malformed TLV");
	n = v2(buf, 0x21, 0x11, 13);
	ck_assert_int_eq(parse(buf, n), -1);
}
END_TEST

START_TEST(test_v2_local_unspec)
{
	unsigned char	buf[300];
	size_t		n;

	n = v2(buf, 0x20, 0x00, 0);
	ck_assert_int_eq(parse(buf, n), 16);
	ck_assert_int_eq(h.ph_local, 1);
	/* LOCAL: whatever follows, the block is skipped. */
	n = v2(buf, 0x20, 0x11, 12);
	ck_assert_int_eq(parse(buf, n), 28);
	ck_assert_int_eq(h.ph_local, 1);
	/* PROXY over UNSPEC, unix or UDP: the connection's addresses. */
	n = v2(buf, 0x21, 0x00, 5);
	ck_assert_int_eq(parse(buf, n), 21);
	ck_assert_int_eq(h.ph_local, 1);
	n = v2(buf, 0x21, 0x31, 216);
	ck_assert_int_eq(parse(buf, n), 232);
	ck_assert_int_eq(h.ph_local, 1);
	n = v2(buf, 0x21, 0x12, 12);
	ck_assert_int_eq(parse(buf, n), 28);
	ck_assert_int_eq(h.ph_local, 1);
}
END_TEST

START_TEST(test_v2_malformed)
{
	unsigned char	buf[64];
	size_t		n;

	n = v2(buf, 0x11, 0x11, 12);		/* version 1 */
	ck_assert_int_eq(parse(buf, n), -1);
	ck_assert_str_eq(cause, "v2: version is not 2");
	n = v2(buf, 0x31, 0x11, 12);		/* version 3 */
	ck_assert_int_eq(parse(buf, n), -1);
	n = v2(buf, 0x22, 0x11, 12);		/* command 2 */
	ck_assert_int_eq(parse(buf, n), -1);
	ck_assert_str_eq(cause, "v2: command is neither LOCAL nor PROXY");
	n = v2(buf, 0x2f, 0x11, 12);
	ck_assert_int_eq(parse(buf, n), -1);
	n = v2(buf, 0x21, 0x41, 12);		/* family 4 */
	ck_assert_int_eq(parse(buf, n), -1);
	ck_assert_str_eq(cause, "v2: unknown address family or transport");
	n = v2(buf, 0x21, 0x13, 12);		/* transport 3 */
	ck_assert_int_eq(parse(buf, n), -1);
	n = v2(buf, 0x21, 0x11, 11);		/* TCP4 in 11 bytes */
	ck_assert_int_eq(parse(buf, n), -1);
	n = v2(buf, 0x21, 0x21, 12);		/* TCP6 in 12 bytes */
	ck_assert_int_eq(parse(buf, n), -1);
	/* Bad signature: one byte off anywhere. */
	n = v2(buf, 0x21, 0x11, 12);
	buf[4] = 'x';
	ck_assert_int_eq(parse(buf, n), -1);
	ck_assert_int_eq(parse(buf, 5), -1);
	ck_assert_str_eq(cause, "not a PROXY protocol header");
	n = v2(buf, 0x21, 0x11, 12);
	buf[11] = '\r';
	ck_assert_int_eq(parse(buf, n), -1);
}
END_TEST

START_TEST(test_v2_too_long)
{
	unsigned char	buf[16];

	v2(buf, 0x21, 0x11, 0);
	buf[14] = (unsigned char)((PROXY_HDR_MAX - 16 + 1) >> 8);
	buf[15] = (unsigned char)(PROXY_HDR_MAX - 16 + 1);
	/* Known from the 16 bytes, without waiting for the rest. */
	ck_assert_int_eq(parse(buf, 16), -1);
	ck_assert_str_eq(cause, "v2: longer than porter takes");
	buf[14] = 0xff;
	buf[15] = 0xff;
	ck_assert_int_eq(parse(buf, 16), -1);
}
END_TEST

START_TEST(test_v2_truncated)
{
	unsigned char	buf[64];
	size_t		i, n;

	n = v2(buf, 0x21, 0x21, 36);
	for (i = 0; i < n; i++)
		ck_assert_msg(parse(buf, i) == 0, "%zu bytes are not a start", i);
	ck_assert_int_eq(parse(buf, n), (ssize_t)n);
}
END_TEST

/* Build with version, parse it back: the same addresses. */
static void
round_trip(int version, const char *src, const char *dst, int af,
    int sport, int dport, const char *want_src, const char *want_dst)
{
	struct sockaddr_storage	 s, d;
	char			 buf[PROXY_OUT_MAX];
	ssize_t			 n;

	memset(&s, 0, sizeof(s));
	memset(&d, 0, sizeof(d));
	s.ss_family = d.ss_family = (sa_family_t)af;
	if (af == AF_INET) {
		inet_pton(AF_INET, src, &((struct sockaddr_in *)&s)->sin_addr);
		inet_pton(AF_INET, dst, &((struct sockaddr_in *)&d)->sin_addr);
		((struct sockaddr_in *)&s)->sin_port = htons((uint16_t)sport);
		((struct sockaddr_in *)&d)->sin_port = htons((uint16_t)dport);
	} else {
		inet_pton(AF_INET6, src,
		    &((struct sockaddr_in6 *)&s)->sin6_addr);
		inet_pton(AF_INET6, dst,
		    &((struct sockaddr_in6 *)&d)->sin6_addr);
		((struct sockaddr_in6 *)&s)->sin6_port = htons((uint16_t)sport);
		((struct sockaddr_in6 *)&d)->sin6_port = htons((uint16_t)dport);
	}
	n = proxy_proto_build(version, (struct sockaddr *)&s,
	    (struct sockaddr *)&d, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(parse(buf, (size_t)n), n);
	ck_assert_int_eq(h.ph_version, version);
	ck_assert_int_eq(h.ph_local, 0);
	ck_assert_str_eq(text(&h.ph_src), want_src);
	ck_assert_str_eq(text(&h.ph_dst), want_dst);
}

START_TEST(test_round_trip)
{
	int	v;

	for (v = 1; v <= 2; v++) {
		round_trip(v, "127.0.0.1", "10.1.2.3", AF_INET, 5678, 80,
		    "127.0.0.1:5678", "10.1.2.3:80");
		round_trip(v, "255.255.255.255", "0.0.0.0", AF_INET, 65535, 0,
		    "255.255.255.255:65535", "0.0.0.0:0");
		round_trip(v, "2001:db8::5", "::1", AF_INET6, 1, 443,
		    "[2001:db8::5]:1", "[::1]:443");
		round_trip(v, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AF_INET6, 65535,
		    65535, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
		    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
		/* inet_ntop writes this one with a dotted tail. */
		round_trip(v, "::102:304", "::1", AF_INET6, 1, 2,
		    "[::1.2.3.4]:1", "[::1]:2");
		/* IPv4-mapped IPv6 goes as TCP4. */
		round_trip(v, "::ffff:1.2.3.4", "::ffff:5.6.7.8", AF_INET6, 9,
		    10, "1.2.3.4:9", "5.6.7.8:10");
	}
}
END_TEST

START_TEST(test_build_unknown)
{
	struct sockaddr_storage	 s, d;
	char			 buf[PROXY_OUT_MAX];

	memset(&s, 0, sizeof(s));
	memset(&d, 0, sizeof(d));
	s.ss_family = AF_UNIX;
	d.ss_family = AF_UNIX;
	ck_assert_int_eq(proxy_proto_build(1, (struct sockaddr *)&s,
	    (struct sockaddr *)&d, buf, sizeof(buf)), 15);
	ck_assert_int_eq(memcmp(buf, "PROXY UNKNOWN\r\n", 15), 0);
	ck_assert_int_eq(proxy_proto_build(2, NULL, NULL, buf, sizeof(buf)),
	    16);
	ck_assert_int_eq(memcmp(buf, V2SIG "\x20\x00\x00\x00", 16), 0);
	ck_assert_int_eq(parse(buf, 16), 16);
	ck_assert_int_eq(h.ph_local, 1);
	/* Mixed families cannot be said either. */
	s.ss_family = AF_INET;
	d.ss_family = AF_INET6;
	ck_assert_int_eq(proxy_proto_build(1, (struct sockaddr *)&s,
	    (struct sockaddr *)&d, buf, sizeof(buf)), 15);
	/* Too small a buffer. */
	ck_assert_int_eq(proxy_proto_build(2, NULL, NULL, buf, 15), -1);
	ck_assert_int_eq(proxy_proto_build(1, NULL, NULL, buf, 15), -1);
}
END_TEST

START_TEST(test_build_exact)
{
	struct sockaddr_in	s, d;
	char			buf[PROXY_OUT_MAX];

	memset(&s, 0, sizeof(s));
	memset(&d, 0, sizeof(d));
	s.sin_family = d.sin_family = AF_INET;
	s.sin_addr.s_addr = htonl(0x7f000001);
	d.sin_addr.s_addr = htonl(0x7f000001);
	s.sin_port = htons(5678);
	d.sin_port = htons(80);
	ck_assert_int_eq(proxy_proto_build(1, (struct sockaddr *)&s,
	    (struct sockaddr *)&d, buf, sizeof(buf)), 40);
	ck_assert_int_eq(memcmp(buf, "PROXY TCP4 127.0.0.1 127.0.0.1 5678 "
	    "80\r\n", 40), 0);
	ck_assert_int_eq(proxy_proto_build(2, (struct sockaddr *)&s,
	    (struct sockaddr *)&d, buf, sizeof(buf)), 28);
	ck_assert_int_eq(memcmp(buf, V2SIG "\x21\x11\x00\x0c"
	    "\x7f\x00\x00\x01\x7f\x00\x00\x01\x16\x2e\x00\x50", 28), 0);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("proxy_proto");
	TCase	*tc = tcase_create("proxy_proto");

	tcase_add_test(tc, test_v1_tcp4);
	tcase_add_test(tc, test_v1_tcp6);
	tcase_add_test(tc, test_v1_unknown);
	tcase_add_test(tc, test_v1_malformed);
	tcase_add_test(tc, test_v1_length);
	tcase_add_test(tc, test_v1_truncated);
	tcase_add_test(tc, test_v2_tcp4);
	tcase_add_test(tc, test_v2_tcp6);
	tcase_add_test(tc, test_v2_tlvs);
	tcase_add_test(tc, test_v2_local_unspec);
	tcase_add_test(tc, test_v2_malformed);
	tcase_add_test(tc, test_v2_too_long);
	tcase_add_test(tc, test_v2_truncated);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_build_unknown);
	tcase_add_test(tc, test_build_exact);
	suite_add_tcase(s, tc);
	return check_run(s);
}
