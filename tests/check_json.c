/*
 * check_json.c: the JSON scanner against jansson, line by line and over
 * mutations of the lines (same verdict, same values), plus its helpers.
 */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "check_run.h"

#define LINE_MAX_LEN	16384	/* longest line any test compares */
#define MUT_MAX_LEN	2048	/* a mutated line grows no longer */
#define MUT_SRC_LEN	512	/* lines longer are not mutated */
#define MUTATIONS	200000
#define MAXMEM		1024	/* members or elements of one container */

struct line {
	const char	*s;
	size_t		 len;
	int		 ok;	/* porter's verdict (RFC 8259); -1: jansson's */
};
#define OK(s)	{ s, sizeof(s) - 1, 1 }
#define BAD(s)	{ s, sizeof(s) - 1, 0 }

/*
 * The corpus. Lines jansson judges differently (see enum div) carry
 * porter's verdict here, and are checked against it rather than jansson.
 */
static const struct line corpus[] = {
	/* What porter sees. */
	OK("{\"cmd\":\"NODE_HANDLE_ACK\"}"),
	OK("{\"cmd\":\"NODE_HANDLE_NACK\"}"),
	OK("{\"cmd\":\"PORTER_LOAD\",\"active\":3,\"accepted\":10}"),
	OK("{\"cmd\":\"PORTER_READY\"}"),
	OK("{\"cmd\":\"NODE_CLUSTER\",\"act\":\"queryServer\",\"index\":0,"
	    "\"data\":null,\"address\":null,\"port\":3000,\"addressType\":4,"
	    "\"backlog\":0,\"seq\":1}"),
	OK("{\"cmd\":\"NODE_CLUSTER\",\"act\":\"online\",\"seq\":0}"),
	OK("{\"cmd\":\"NODE_CLUSTER\",\"act\":\"listening\",\"address\":\"::\","
	    "\"port\":3000,\"addressType\":6,\"fd\":-1,\"seq\":2}"),
	OK("{\"cmd\":\"NODE_CLUSTER\",\"ack\":1,\"sockname\":{\"address\":"
	    "\"0.0.0.0\",\"family\":\"IPv4\",\"port\":3000},\"errno\":0,"
	    "\"key\":\"0.0.0.0:3000:4\",\"seq\":1}"),
	OK("{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Socket\",\"msg\":{\"cmd\":"
	    "\"NODE_CLUSTER\",\"act\":\"newconn\",\"key\":\"0.0.0.0:3000\","
	    "\"seq\":7},\"key\":\"x\"}"),
	OK("{\"act\":\"suicide\"}"),
	OK("{\"act\":\"exitedAfterDisconnect\",\"seq\":3}"),
	OK("{\"cmd\":\"NODE_HANDLE_ACK\"}\r\n"),
	OK("  {  \"cmd\"  :  \"NODE_HANDLE_ACK\"  }  "),
	OK("{\"c\\u006dd\":\"NODE_HANDLE_ACK\"}"),
	OK("{\"cmd\":\"N\\u004fDE_HANDLE_ACK\"}"),
	OK("{\"cmd\":\"PORTER_LOAD\",\"active\":-1,\"accepted\":1.5}"),
	OK("{\"cmd\":\"x\",\"cmd\":\"NODE_HANDLE_ACK\"}"),
	OK("{\"cmd\":\"NODE_HANDLE_ACK\",\"cmd\":{\"nested\":true}}"),

	/* Containers. */
	OK("{}"),
	OK("[]"),
	OK("{ }"),
	OK("[ ]"),
	OK(" \t\r\n{}\r\n\t "),
	OK("[1,2,3]"),
	OK("[ 1 , 2 , 3 ]"),
	OK("[[[]]]"),
	OK("[{}]"),
	OK("[{},{}]"),
	OK("{\"a\":[]}"),
	OK("{\"a\":{}}"),
	OK("{\"a\":[],\"b\":{},\"c\":[{}],\"d\":[[],[]]}"),
	OK("{\"a\":[1,{\"b\":[2,{\"c\":null}]}]}"),
	OK("{ \"x\" : [ true , false , null ] }"),
	OK("[\"a\",1,true,false,null,{},[],-0.5e-3]"),
	OK("{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":\"f\"}}}}}"),
	OK("[[1,[2,[3,[4]]]],{\"k\":[{\"k\":[]}]}]"),
	OK("{\"\":\"\"}"),
	OK("{\"\":0,\"\":1}"),
	OK("[\"\"]"),
	OK("{\"a\":1,\"a\":2}"),
	OK("{\"a\":\"x\",\"b\":{\"c\":1},\"a\":{\"d\":[true]}}"),
	OK("{\"a\":{\"x\":1,\"x\":[2]},\"a\":{\"x\":3,\"y\":4,\"x\":5}}"),
	OK("{\"a\\\"b\":1,\"a\\\\b\":2,\"a/b\":3,\"a\\/b\":4}"),
	OK("{\"\\u0063md\":\"x\"}"),
	OK("{\"k\\n\":\"\\t\"}"),
	OK("{\"\\u00e9\":1,\"\xc3\xa9\":2}"),
	OK("{\"\\ud83d\\ude00\":\"\xf0\x9f\x98\x80\"}"),
	OK("{\"k00\":0,\"k01\":1,\"k02\":2,\"k03\":3,\"k04\":4,\"k05\":5,"
	    "\"k06\":6,\"k07\":7,\"k08\":8,\"k09\":9,\"k10\":10,\"k11\":11,"
	    "\"k12\":12,\"k13\":13,\"k14\":14,\"k15\":15,\"k16\":16,\"k17\":17,"
	    "\"k18\":18,\"k19\":19,\"k20\":[20],\"k21\":{\"k21\":21}}"),

	/* Scalars at the top. */
	OK("\"str\""),
	OK("\"\""),
	OK("\"  \""),
	OK("  \"padded\"  "),
	OK("true"),
	OK("false"),
	OK("null"),
	OK(" null "),
	OK("0"),
	OK("-0"),
	OK("1"),
	OK("-1"),
	OK("10"),
	OK("123"),
	OK("-0.0"),
	OK("0.5"),
	OK("1.0"),
	OK("0.5e-10"),
	OK("1E+2"),
	OK("1e2"),
	OK("1E2"),
	OK("1e-2"),
	OK("1.5E-3"),
	OK("-1.25e+300"),
	OK("100e0"),
	OK("0e0"),
	OK("0E-0"),
	OK("-0e+0"),
	OK("0.000001"),
	OK("1e-400"),
	OK("12345678901234567890.5"),
	OK("[0,-0,0.0,-0.0,1e01,1e001]"),
	OK("9223372036854775807"),
	OK("-9223372036854775808"),
	OK("{\"n\":9223372036854775807,\"m\":-9223372036854775808}"),

	/* Strings: escapes, Unicode. */
	OK("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""),
	OK("[\"\\\"\",\"\\\\\",\"\\/\",\"\\b\",\"\\f\",\"\\n\",\"\\r\",\"\\t\"]"),
	OK("\"\\u0000\""),
	OK("\"a\\u0000b\""),
	OK("{\"v\":\"\\u0000\\u0000\"}"),
	OK("\"\\u0041\\u00e9\\u4e2d\\ud83d\\ude00\""),
	OK("\"\\uD83D\\uDE00\""),
	OK("\"\\uDBFF\\uDFFF\""),
	OK("\"\\ud800\\udc00\""),
	OK("\"\\uABCD\\uabcd\\uAbCd\""),
	OK("\"\\u007f\\u0080\\u07ff\\u0800\\uffff\\ufffd\""),
	OK("\"\\u001f\\u0020\""),
	OK("\"\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\""),
	OK("\"\x7f\""),
	OK("\"\xc2\x80\""),		/* U+0080 */
	OK("\"\xdf\xbf\""),		/* U+07FF */
	OK("\"\xe0\xa0\x80\""),		/* U+0800 */
	OK("\"\xed\x9f\xbf\""),		/* U+D7FF */
	OK("\"\xee\x80\x80\""),		/* U+E000 */
	OK("\"\xef\xbf\xbf\""),		/* U+FFFF */
	OK("\"\xef\xbb\xbf\""),		/* U+FEFF in a string */
	OK("\"\xf0\x90\x80\x80\""),	/* U+10000 */
	OK("\"\xf4\x8f\xbf\xbf\""),	/* U+10FFFF */
	OK("\"'single' and \\\"double\\\"\""),
	OK("\"/* not a comment */\""),
	OK("\"\\\\u0041\""),
	OK("\"a very long string: 0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "\""),

	/* Valid JSON (RFC 8259, JSON.parse) that jansson refuses. */
	OK("\"\\ud800\""),
	OK("\"\\udc00\""),
	OK("\"\\uDFFF\""),
	OK("\"\\ud800\\ud800\""),
	OK("\"\\udc00\\ud800\""),
	OK("\"\\ud800x\""),
	OK("\"\\udbff\\u0041\""),
	OK("{\"cmd\":\"\\ud800\"}"),
	OK("9223372036854775808"),
	OK("-9223372036854775809"),
	OK("{\"big\":99999999999999999999}"),
	OK("1e400"),
	OK("-1e400"),
	OK("[1.5e999999]"),
	OK("{\"a\\u0000\":1}"),
	OK("{\"\\u0000\":\"\"}"),

	/* Numbers RFC 8259 refuses. */
	BAD("01"),
	BAD("-01"),
	BAD("00"),
	BAD("0123"),
	BAD("[01]"),
	BAD("{\"a\":01}"),
	BAD("1-2"),
	BAD("[1-2]"),
	BAD(".5"),
	BAD("-.5"),
	BAD("5."),
	BAD("5.e3"),
	BAD("[5.]"),
	BAD("-"),
	BAD("[-]"),
	BAD("--1"),
	BAD("-a"),
	BAD("1e"),
	BAD("1E"),
	BAD("1e+"),
	BAD("1e-"),
	BAD("1e+-5"),
	BAD("1e-+5"),
	BAD("1ee5"),
	BAD("1e5.5"),
	BAD("1.5.5"),
	BAD("+1"),
	BAD("[+1]"),
	BAD("0x10"),
	BAD("1_000"),
	BAD("Infinity"),
	BAD("-Infinity"),
	BAD("NaN"),
	BAD("[1e]"),
	BAD("{\"a\":1.}"),
	BAD("1 2"),
	BAD("- 1"),

	/* Literals. */
	BAD("tru"),
	BAD("truex"),
	BAD("True"),
	BAD("TRUE"),
	BAD("nul"),
	BAD("nulll"),
	BAD("Null"),
	BAD("fals"),
	BAD("falsey"),
	BAD("FALSE"),
	BAD("undefined"),
	BAD("[true false]"),
	BAD("[t]"),

	/* Structure. */
	BAD(""),
	BAD(" "),
	BAD("\r\n"),
	BAD("["),
	BAD("{"),
	BAD("]"),
	BAD("}"),
	BAD("[[]"),
	BAD("[]]"),
	BAD("{}}"),
	BAD("[}"),
	BAD("{]"),
	BAD("{\"a\":[}"),
	BAD("{\"a\":1"),
	BAD("{\"a\":1,"),
	BAD("{\"a\""),
	BAD("{\"a\":"),
	BAD("[1,]"),
	BAD("{\"a\":1,}"),
	BAD("[,1]"),
	BAD("[1,,2]"),
	BAD("[,]"),
	BAD("{,}"),
	BAD("{\"a\"}"),
	BAD("{\"a\":}"),
	BAD("{\"a\" 1}"),
	BAD("{\"a\"::1}"),
	BAD("{\"a\":1 \"b\":2}"),
	BAD("{\"a\":1;\"b\":2}"),
	BAD("{a:1}"),
	BAD("{'a':1}"),
	BAD("['x']"),
	BAD("{1:1}"),
	BAD("{null:1}"),
	BAD("{[]:1}"),
	BAD("{\"a\":1}}"),
	BAD("[1]]"),
	BAD("{\"a\":1}x"),
	BAD("{\"a\":1}{}"),
	BAD("[] []"),
	BAD("\"a\" \"b\""),
	BAD("{\"cmd\":\"NODE_HANDLE_ACK\"},"),
	BAD("{\"cmd\":\"NODE_HANDLE_ACK\"}\n{}"),
	BAD("{\"a\":1}\0"),
	BAD("\0{}"),
	BAD("{}\f"),
	BAD("\f{}"),
	BAD("{}\v"),
	BAD("{\"a\":\xc2\xa0" "1}"),	/* U+00A0 is not whitespace */
	BAD("\xef\xbb\xbf{}"),		/* no byte order mark */
	BAD("/* c */ {}"),
	BAD("{} // c"),
	BAD("{\"a\":1 /* c */}"),

	/* Strings RFC 8259 refuses. */
	BAD("\""),
	BAD("\"abc"),
	BAD("'abc'"),
	BAD("\"\\\""),
	BAD("\"\\"),
	BAD("\"\\x41\""),
	BAD("\"\\a\""),
	BAD("\"\\'\""),
	BAD("\"\\0\""),
	BAD("\"\\U0041\""),
	BAD("\"\\u\""),
	BAD("\"\\u1\""),
	BAD("\"\\u12\""),
	BAD("\"\\u123\""),
	BAD("\"\\u12G4\""),
	BAD("\"\\u-123\""),
	BAD("\"\\u 123\""),
	BAD("\"\\ud800\\u12\""),
	BAD("\"\\ud800\\\""),
	BAD("\"tab\there\""),
	BAD("\"new\nline\""),
	BAD("\"cr\rhere\""),
	BAD("\"nul\0here\""),
	BAD("{\"a\x01\":1}"),
	BAD("{\"a\":\"\x1f\"}"),
	BAD("\"\xc0\x80\""),		/* overlong NUL */
	BAD("\"\xc1\xbf\""),		/* overlong U+007F */
	BAD("\"\xe0\x80\x80\""),	/* overlong NUL */
	BAD("\"\xe0\x9f\xbf\""),	/* overlong U+07FF */
	BAD("\"\xf0\x80\x80\x80\""),	/* overlong NUL */
	BAD("\"\xf0\x8f\xbf\xbf\""),	/* overlong U+FFFF */
	BAD("\"\xed\xa0\x80\""),	/* U+D800 */
	BAD("\"\xed\xbf\xbf\""),	/* U+DFFF */
	BAD("\"\xed\xa0\xbd\xed\xb8\x80\""),	/* CESU-8 U+1F600 */
	BAD("\"\xf4\x90\x80\x80\""),	/* U+110000 */
	BAD("\"\xf5\x80\x80\x80\""),
	BAD("\"\xf8\x88\x80\x80\x80\""),
	BAD("\"\xfe\""),
	BAD("\"\xff\""),
	BAD("\"\x80\""),		/* lone continuation */
	BAD("\"\xbf\""),
	BAD("\"\xc2\""),		/* truncated */
	BAD("\"\xc2" "A\""),
	BAD("\"\xe4\xb8\""),
	BAD("\"\xe4\" \"\xb8\xad\""),
	BAD("\"\xf0\x9f\x98\""),
	BAD("\"\xf0\x9f\x98" "A\""),
	BAD("\"\xc3\xa9\xc3\""),
	BAD("{\"\xff\":1}"),
	BAD("{\"cmd\":\"NODE_HANDLE_ACK\xc0\"}"),
	BAD("\xc3\xa9"),		/* a UTF-8 character, unquoted */
};


static const char	*cur;		/* the line being compared */
static size_t		 curlen;

/* Fail, showing the line being compared (escaped, cut short). */
static void
fail_line(int lineno, const char *what)
{
	char	 show[600];
	size_t	 i, o = 0;

	for (i = 0; i < curlen && o < sizeof(show) - 8; i++) {
		unsigned char	c = (unsigned char)cur[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			show[o++] = (char)c;
		else
			o += (size_t)snprintf(show + o, sizeof(show) - o,
			    "\\x%02x", c);
	}
	show[o] = '\0';
	ck_abort_msg("check_json.c:%d: %s: line [%s] (%zu bytes)", lineno,
	    what, show, curlen);
}

/* ck_assert reports every passing check to the runner: too slow here. */
#define FAIL_IF(cond, what) do {					\
	if (cond)							\
		fail_line(__LINE__, (what));				\
} while (0)

#include "json_diff.h"

static const char *const div_names[DIV_COUNT] = {
	"none", "lone surrogate", "integer beyond long long",
	"number beyond double", "NUL in key", "depth 65..2048",
	"jansson skips a NUL",
};

static unsigned long	stats[DIV_COUNT], both_ok, both_bad, repaired;

#define HEX(c)	(((c) >= '0' && (c) <= '9') || \
		    (((c) | 0x20) >= 'a' && ((c) | 0x20) <= 'f'))
#define DIGIT(c) ((c) >= '0' && (c) <= '9')

/*
 * Rewrite s into out so that jansson's stricter classes go away, each step
 * keeping the text valid or invalid alike under RFC 8259: every 6 bytes
 * \uD800..\uDFFF become \uFFFD, every \u0000 becomes \u0001 (whether the
 * backslash starts an escape or ends a "\\", the text stays an escape or
 * stays plain), the digits after e or E (and a sign) become zeros (an
 * exponent may have leading zeros; in a string, digits are plain; hex
 * digits stay hex), and a run of more than 18 digits is cut to 18 (its
 * first digit, which says leading zero or not, stays, and so do the 4
 * digits of an escape it may start in). The length of out is returned.
 */
static size_t
repair(const char *s, size_t len, char *out)
{
	size_t	i, o = 0, run = 0;
	int	exp = 0;

	for (i = 0; i < len; i++) {
		if (len - i >= 6 && s[i] == '\\' && s[i + 1] == 'u' &&
		    HEX(s[i + 2]) && HEX(s[i + 3]) && HEX(s[i + 4]) &&
		    HEX(s[i + 5])) {
			if ((s[i + 2] | 0x20) == 'd' && (s[i + 3] >= '8' ||
			    (s[i + 3] | 0x20) >= 'a')) {
				memcpy(out + o, "\\uFFFD", 6);
				o += 6;
				i += 5;
				run = 0;
				exp = 0;
				continue;
			}
			if (memcmp(s + i + 2, "0000", 4) == 0) {
				memcpy(out + o, "\\u0001", 6);
				o += 6;
				i += 5;
				run = 0;
				exp = 0;
				continue;
			}
		}
		if (DIGIT(s[i])) {
			if (++run > 18)
				continue;
			out[o++] = exp ? '0' : s[i];
			continue;
		}
		run = 0;
		exp = s[i] == 'e' || s[i] == 'E' ||
		    (exp && (s[i] == '+' || s[i] == '-') && i > 0 &&
		    (s[i - 1] == 'e' || s[i - 1] == 'E'));
		out[o++] = s[i];
	}
	return o;
}

static void	diff_level(const char *, size_t, int, int);

/* Bring porter and jansson to the same line (diff_line), with ok. */
static void
diff_line(const char *s, size_t len, int ok)
{
	diff_level(s, len, ok, 0);
}

/*
 * Run porter and jansson on one line: the same verdict, unless a documented
 * divergence explains it; if both accept, the same values. ok is porter's
 * expected verdict, or -1 to take jansson's. A line jansson judges by a
 * stricter rule is checked again rewritten (repair(), or without the NULs
 * jansson skipped) at level + 1: there, jansson and porter must agree, and
 * porter must keep its verdict.
 */
static void
diff_level(const char *s, size_t len, int ok, int level)
{
	static char	 again[3][LINE_MAX_LEN];
	static int	 repairing;
	json_error_t	 err;
	json_t		*j;
	struct json_val	 top;
	enum div	 dv;
	const char	*p, *end = s + len;
	size_t		 n;
	int		 pok, jok;

	cur = s;
	curlen = len;
	FAIL_IF(len >= LINE_MAX_LEN, "line too long for the test");
	FAIL_IF(level >= (int)nitems(again), "rewritten too many times");
	j = json_loadb(s, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	jok = j != NULL;
	pok = json_scan(s, len, &top, NULL, NULL) == 0;
	dv = divergence(s, len, j, &err);
	stats[dv]++;
	if (ok != -1)
		FAIL_IF(pok != ok, pok ? "porter accepts a bad line" :
		    "porter rejects a good line");
	FAIL_IF(!pok && top.j_type != P_NONE, "rejected, top set");
	switch (dv) {
	case DIV_NONE:
		if (pok != jok)
			fail_line(__LINE__, pok ? "porter accepts, jansson "
			    "rejects" : "porter rejects, jansson accepts");
		break;
	case DIV_DEPTH:
		FAIL_IF(pok, "porter accepts more than JSON_MAX_DEPTH levels");
		break;
	case DIV_JNUL:
		FAIL_IF(pok, "porter accepts a NUL byte");
		/* What jansson read: the line without its NULs. */
		for (p = s, n = 0; p < end; p++)
			if (*p != '\0')
				again[level][n++] = *p;
		json_decref(j);
		j = json_loadb(again[level], n, JSON_DECODE_ANY |
		    JSON_ALLOW_NUL, &err);
		FAIL_IF(j == NULL, "jansson skips more than a NUL");
		json_decref(j);
		diff_level(again[level], n, -1, level + 1);
		return;
	default:
		/* jansson is stricter: porter keeps its verdict repaired. */
		FAIL_IF(repairing, "the repair leaves jansson's complaint");
		repaired++;
		n = repair(s, len, again[level]);
		repairing = 1;
		diff_level(again[level], n, pok, level + 1);
		repairing = 0;
		cur = s;
		curlen = len;
		break;
	}
	if (!pok) {
		if (!jok && dv == DIV_NONE)
			both_bad++;
		json_decref(j);
		return;
	}

	/* top is the text without its whitespace. */
	for (p = s; p < end && (*p == ' ' || *p == '\t' || *p == '\r' ||
	    *p == '\n'); p++)
		;
	FAIL_IF(top.j_p != p, "top does not start at the value");
	for (p = top.j_p + top.j_len; p < end && (*p == ' ' || *p == '\t' ||
	    *p == '\r' || *p == '\n'); p++)
		;
	FAIL_IF(p != end, "top does not end at the value");
	walk_val(&top, 0);
	if (jok) {
		both_ok++;
		cmp_val(j, &top, 0);
	}
	json_decref(j);
}

START_TEST(test_corpus)
{
	size_t	i;

	for (i = 0; i < nitems(corpus); i++)
		diff_line(corpus[i].s, corpus[i].len, corpus[i].ok);
	printf("check_json: %zu corpus lines: %lu accepted by both, %lu "
	    "divergent\n", nitems(corpus), both_ok, stats[DIV_SURROGATE] +
	    stats[DIV_BIGINT] + stats[DIV_BIGREAL] + stats[DIV_NULKEY]);
	fflush(stdout);
	/* Each divergence class is in the corpus, with porter's verdict. */
	ck_assert_uint_gt(stats[DIV_SURROGATE], 0);
	ck_assert_uint_gt(stats[DIV_BIGINT], 0);
	ck_assert_uint_gt(stats[DIV_BIGREAL], 0);
	ck_assert_uint_gt(stats[DIV_NULKEY], 0);
}
END_TEST

/* Lines built around each byte value: control bytes, high bytes. */
#define BYTE_LINES	(256 * 8)
static char	 blines[BYTE_LINES][16];
static size_t	 blens[BYTE_LINES];
static int	 boks[BYTE_LINES];

static void
build_byte_lines(void)
{
	size_t	n = 0;
	int	c, plain, ws;

#define ADD(ok, ...) do {						\
	blens[n] = (size_t)snprintf(blines[n], sizeof(blines[n]),	\
	    __VA_ARGS__);						\
	boks[n++] = (ok);						\
} while (0)
	for (c = 0; c < 256; c++) {
		plain = c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
		ws = c == ' ' || c == '\t' || c == '\r' || c == '\n';
		/* snprintf stops at a NUL byte: %c writes it all the same */
		ADD(plain, "\"%c\"", c);
		ADD(plain, "{\"a\":\"x%cy\"}", c);
		ADD(plain, "{\"k%c\":1}", c);
		ADD(ws, "%c{}", c);
		ADD(ws, "{}%c", c);
		ADD(c == ',', "[1%c[]]", c);
		ADD(ws || (c >= '1' && c <= '9') || c == '-', "[1,%c2]", c);
		ADD(c == '"' || c == '\\' || c == '/' || c == 'b' ||
		    c == 'f' || c == 'n' || c == 'r' || c == 't',
		    "\"\\%c\"", c);
	}
#undef ADD
	ck_assert_uint_eq(n, BYTE_LINES);
}

START_TEST(test_bytes)
{
	char	 line[32];
	size_t	 i, len;
	int	 a, b, k, h;

	build_byte_lines();
	for (i = 0; i < BYTE_LINES; i++)
		diff_line(blines[i], blens[i], boks[i]);

	/* Every lead byte, every second byte, then 0 to 2 more bytes. */
	for (a = 0x80; a < 0x100; a++)
		for (b = 0; b < 0x100; b++)
			for (k = 0; k <= 2; k++) {
				len = 0;
				line[len++] = '"';
				line[len++] = (char)a;
				line[len++] = (char)b;
				for (h = 0; h < k; h++)
					line[len++] = (char)(h ? 0xbf : 0x80);
				line[len++] = '"';
				diff_line(line, len, -1);
			}

	/* \uXX3c and \uD83D\uXX00 for every XX: surrogates, pairs. */
	for (a = 0; a < 0x100; a++) {
		len = (size_t)snprintf(line, sizeof(line), "\"\\u%02x3c\"", a);
		diff_line(line, len, 1);
		len = (size_t)snprintf(line, sizeof(line),
		    "\"\\uD83D\\u%02X00\"", a);
		diff_line(line, len, 1);
		len = (size_t)snprintf(line, sizeof(line),
		    "{\"\\u%02x00\\u%02x00\":0}", a, a);
		diff_line(line, len, 1);
	}
}
END_TEST

/* n levels of open, then mid, then n levels of close, in buf. */
static size_t
nest(char *buf, size_t bufsz, int n, const char *open, const char *mid,
    const char *close)
{
	size_t	len = 0, lo = strlen(open), lm = strlen(mid), lc = strlen(close);
	int	i;

	ck_assert_uint_lt((size_t)n * (lo + lc) + lm, bufsz);
	for (i = 0; i < n; i++, len += lo)
		memcpy(buf + len, open, lo);
	memcpy(buf + len, mid, lm);
	len += lm;
	for (i = 0; i < n; i++, len += lc)
		memcpy(buf + len, close, lc);
	return len;
}

START_TEST(test_depth)
{
	static char	 buf[3 * 2100 * 8];
	struct json_val	 top;
	size_t		 len;
	int		 n;

	for (n = 1; n <= JSON_MAX_DEPTH + 2; n++) {
		len = nest(buf, sizeof(buf), n, "[", "", "]");
		diff_line(buf, len, n <= JSON_MAX_DEPTH);
		len = nest(buf, sizeof(buf), n, "[", "1", "]");
		diff_line(buf, len, n <= JSON_MAX_DEPTH);
		len = nest(buf, sizeof(buf), n, "{\"a\":", "{}", "}");
		diff_line(buf, len, n < JSON_MAX_DEPTH);
		len = nest(buf, sizeof(buf), n, "[{\"k\":", "\"v\"", "}]");
		diff_line(buf, len, 2 * n <= JSON_MAX_DEPTH);
		len = nest(buf, sizeof(buf), n, " [ ", " ", " ] ");
		diff_line(buf, len, n <= JSON_MAX_DEPTH);
		/* One close short: never valid, whatever the depth. */
		len = nest(buf, sizeof(buf), n, "[", "", "]");
		diff_line(buf, len - 1, 0);
	}
	/* Deeper than jansson goes: both refuse. */
	len = nest(buf, sizeof(buf), 3000, "[", "", "]");
	diff_line(buf, len, 0);
	len = nest(buf, sizeof(buf), 3000, "{\"\":", "0", "}");
	diff_line(buf, len, 0);
	ck_assert_uint_gt(stats[DIV_DEPTH], 0);

	/* A nested object deep down scans again from its own text. */
	len = nest(buf, sizeof(buf), JSON_MAX_DEPTH, "{\"a\":", "0", "}");
	ck_assert_int_eq(json_scan(buf, len, &top, NULL, NULL), 0);
	ck_assert_int_eq(json_scan(buf + 5, len - 6, &top, NULL, NULL), 0);
	ck_assert_int_eq(top.j_type, P_OBJECT);
	ck_assert_uint_eq(top.j_len, len - 6);
}
END_TEST

/* xorshift64*: the same mutations on every run and every machine. */
static uint64_t	rng = 0x5eed2024cafef00dULL;

static size_t
rnd(size_t n)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (size_t)((rng * 0x2545f4914f6cdd1dULL) >> 33) % n;
}

/* Bytes and snippets that tend to cross a boundary of the grammar. */
static const char	 hot[] = "\"\\{}[],:0123456789-+.eE tfn\t\r\n\x7f"
			    "\x01\x1f\x80\xbf\xc0\xc1\xc2\xdf\xe0\xed\xef\xf0"
			    "\xf4\xf5\xff\0";
static const char *const snippets[] = {
	"\\u", "\\ud800", "\\udc00", "\\uDBFF\\uDFFF", "\\u0000", "\\ud83d",
	"\\ude00", "\\\"", "\\\\", "e+", "e-", "-0", ".5", "1e400",
	"99999999999999999999", "9223372036854775808", "true", "null",
	"false", "{}", "[]", "\"\"", "\"a\":", ",\"a\":1", "{\"a\":",
	"\xf0\x9f\x98\x80", "\xed\xa0\x80", "\xc3\xa9", "\xe0\x80",
};
/* What may go inside a string, and in place of a digit. */
static const char *const in_string[] = {
	"\\u0041", "\\u00e9", "\\uD83D\\uDE00", "\\ud800", "\\udfff",
	"\\u0000", "\\n", "\\/", "\\\"", "\\\\", "\xc3\xa9", "\xe4\xb8\xad",
	"\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf", "\x7f", " ", "cmd", "\\u",
	"\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80", "\t",
};
static const char *const numbers[] = {
	"0", "-0", "-1", "12", "0.5", "-0.0", "1e3", "1E+2", "0.5e-10",
	"9223372036854775807", "-9223372036854775808", "9223372036854775808",
	"-9223372036854775809", "1e400", "1e-400", "01", "1.", ".5", "1e+",
};

/* One to three mutations of a line, in place: its new length. */
static size_t
mutate(char *buf, size_t len, const struct line *src, size_t nsrc)
{
	const struct line	*o;
	const char		*ins;
	size_t			 i, n, at, from, ilen;
	const char		*q;
	char			 tmp[64];

	/* Mostly one: a line with one fault still has values to compare. */
	n = rnd(20);
	for (n = n < 12 ? 1 : n < 17 ? 2 : 3; n > 0; n--) {
		at = rnd(len + 1);
		ins = NULL;
		ilen = 0;
		switch (rnd(13)) {
		case 0:		/* overwrite with a hot byte */
		case 1:
			if (at < len)
				buf[at] = hot[rnd(sizeof(hot) - 1)];
			break;
		case 2:		/* overwrite with any byte */
			if (at < len)
				buf[at] = (char)rnd(256);
			break;
		case 3:		/* flip a bit */
			if (at < len)
				buf[at] = (char)(buf[at] ^ (1 << rnd(8)));
			break;
		case 4:		/* insert a hot byte or any byte */
			tmp[0] = rnd(2) ? hot[rnd(sizeof(hot) - 1)] :
			    (char)rnd(256);
			ins = tmp;
			ilen = 1;
			break;
		case 5:		/* delete 1 to 8 bytes */
		case 6:
			if (at < len) {
				i = 1 + rnd(8);
				if (i > len - at)
					i = len - at;
				memmove(buf + at, buf + at + i, len - at - i);
				len -= i;
			}
			break;
		case 7:		/* insert a piece of another line */
			o = &src[rnd(nsrc)];
			if (o->len == 0)
				break;
			from = rnd(o->len);
			ilen = 1 + rnd(sizeof(tmp));
			if (ilen > o->len - from)
				ilen = o->len - from;
			memcpy(tmp, o->s + from, ilen);
			ins = tmp;
			break;
		case 8:		/* repeat a piece of itself */
			if (len == 0)
				break;
			from = rnd(len);
			ilen = 1 + rnd(sizeof(tmp));
			if (ilen > len - from)
				ilen = len - from;
			memcpy(tmp, buf + from, ilen);
			ins = tmp;
			break;
		case 9:		/* insert a snippet */
			ins = snippets[rnd(nitems(snippets))];
			ilen = strlen(ins);
			break;
		case 10:	/* insert after a quote: into a string, often */
		case 11:
			if ((q = memchr(buf + at, '"', len - at)) == NULL)
				break;
			at = (size_t)(q - buf) + 1;
			ins = in_string[rnd(nitems(in_string))];
			ilen = strlen(ins);
			break;
		case 12:	/* a digit becomes a number */
			for (; at < len && !(buf[at] >= '0' && buf[at] <= '9');
			    at++)
				;
			if (at == len)
				break;
			memmove(buf + at, buf + at + 1, len - at - 1);
			len--;
			ins = numbers[rnd(nitems(numbers))];
			ilen = strlen(ins);
			break;
		}
		if (ins != NULL && len + ilen <= MUT_MAX_LEN) {
			memmove(buf + at + ilen, buf + at, len - at);
			memcpy(buf + at, ins, ilen);
			len += ilen;
		}
	}
	return len;
}

START_TEST(test_mutations)
{
	static struct line	 src[nitems(corpus) + BYTE_LINES];
	static char		 buf[MUT_MAX_LEN];
	const struct line	*l;
	size_t			 nsrc = 0, ncorpus, i, len;
	unsigned long		 ok0, bad0;
	clock_t			 t0 = clock();

	build_byte_lines();
	for (i = 0; i < nitems(corpus); i++)
		if (corpus[i].len <= MUT_SRC_LEN)
			src[nsrc++] = corpus[i];
	ncorpus = nsrc;
	for (i = 0; i < BYTE_LINES; i++) {
		src[nsrc].s = blines[i];
		src[nsrc].len = blens[i];
		src[nsrc++].ok = boks[i];
	}
	ok0 = both_ok;
	bad0 = both_bad;
	for (i = 0; i < MUTATIONS; i++) {
		/* Mostly from the corpus, else from the byte lines. */
		l = &src[rnd(4) ? rnd(ncorpus) : ncorpus + rnd(BYTE_LINES)];
		memcpy(buf, l->s, l->len);
		len = mutate(buf, l->len, src, nsrc);
		diff_line(buf, len, -1);
	}
	printf("check_json: %d mutations in %.2fs: %lu accepted by both, "
	    "%lu rejected by both, %lu checked again repaired; divergent:",
	    MUTATIONS, (double)(clock() - t0) / CLOCKS_PER_SEC, both_ok - ok0,
	    both_bad - bad0, repaired);
	for (i = 1; i < DIV_COUNT; i++)
		printf(" %lu %s%s", stats[i], div_names[i],
		    i + 1 < DIV_COUNT ? "," : "\n");
	fflush(stdout);
	/* The values were compared often enough to mean something. */
	ck_assert_uint_gt(both_ok - ok0, MUTATIONS / 20);
}
END_TEST

static struct json_val	 got_key[8], got_val[8];
static int		 ngot;

/* A json_member_fn: keep what json_scan hands out, in got_*. */
static void
got(const struct json_val *key, const struct json_val *val, void *arg)
{
	ck_assert_ptr_eq(arg, &ngot);
	ck_assert_int_lt(ngot, 8);
	if (key != NULL)
		got_key[ngot] = *key;
	else
		memset(&got_key[ngot], 0, sizeof(got_key[ngot]));
	got_val[ngot++] = *val;
}

/* The text of v equals s. */
#define TEXT_EQ(v, s) do {						\
	ck_assert_uint_eq((v).j_len, strlen(s));			\
	ck_assert_int_eq(memcmp((v).j_p, (s), (v).j_len), 0);		\
} while (0)

START_TEST(test_members)
{
	const char	*t;
	struct json_val	 top, sub;

#define SCAN(s) (ngot = 0, t = (s), json_scan(t, strlen(t), &top, got, &ngot))
	/* The hot path: one member. */
	ck_assert_int_eq(SCAN("{\"cmd\":\"NODE_HANDLE_ACK\"}"), 0);
	ck_assert_int_eq(top.j_type, P_OBJECT);
	ck_assert_ptr_eq(top.j_p, t);
	ck_assert_int_eq(ngot, 1);
	ck_assert_int_eq(got_key[0].j_type, P_STRING);
	TEXT_EQ(got_key[0], "\"cmd\"");
	ck_assert_int_eq(got_val[0].j_type, P_STRING);
	TEXT_EQ(got_val[0], "\"NODE_HANDLE_ACK\"");
	ck_assert_int_eq(json_eq(&got_key[0], "cmd"), 1);
	ck_assert_int_eq(json_eq(&got_val[0], "NODE_HANDLE_ACK"), 1);

	/* In order, duplicates included, values as written. */
	ck_assert_int_eq(SCAN(" { \"a\" : 1 , \"b\" : { \"c\" : [ 2 ] } ,"
	    "\"a\":-3.5e1,\"d\":[],\"e\":null,\"f\":true,\"g\":false } "), 0);
	ck_assert_int_eq(ngot, 7);
	TEXT_EQ(got_key[0], "\"a\"");
	TEXT_EQ(got_val[0], "1");
	ck_assert_int_eq(got_val[0].j_type, P_NUMBER);
	TEXT_EQ(got_key[1], "\"b\"");
	TEXT_EQ(got_val[1], "{ \"c\" : [ 2 ] }");
	ck_assert_int_eq(got_val[1].j_type, P_OBJECT);
	TEXT_EQ(got_key[2], "\"a\"");
	TEXT_EQ(got_val[2], "-3.5e1");
	TEXT_EQ(got_val[3], "[]");
	ck_assert_int_eq(got_val[3].j_type, P_ARRAY);
	ck_assert_int_eq(got_val[4].j_type, P_NULL);
	ck_assert_int_eq(got_val[5].j_type, P_TRUE);
	ck_assert_int_eq(got_val[6].j_type, P_FALSE);
	TEXT_EQ(top, "{ \"a\" : 1 , \"b\" : { \"c\" : [ 2 ] } ,"
	    "\"a\":-3.5e1,\"d\":[],\"e\":null,\"f\":true,\"g\":false }");

	/* Descend into "b": its own members. */
	sub = got_val[1];
	ngot = 0;
	ck_assert_int_eq(json_scan(sub.j_p, sub.j_len, &top, got, &ngot), 0);
	ck_assert_int_eq(ngot, 1);
	TEXT_EQ(got_key[0], "\"c\"");
	TEXT_EQ(got_val[0], "[ 2 ]");
	sub = got_val[0];
	ngot = 0;
	ck_assert_int_eq(json_elems(&sub, got, &ngot), 0);
	ck_assert_int_eq(ngot, 1);
	ck_assert_int_eq(got_key[0].j_type, P_NONE);
	TEXT_EQ(got_val[0], "2");

	/* Not an object: no member. */
	ck_assert_int_eq(SCAN("[{\"a\":1},2]"), 0);
	ck_assert_int_eq(ngot, 0);
	ck_assert_int_eq(top.j_type, P_ARRAY);
	ck_assert_int_eq(SCAN("\"cmd\""), 0);
	ck_assert_int_eq(ngot, 0);
	ck_assert_int_eq(top.j_type, P_STRING);
	TEXT_EQ(top, "\"cmd\"");
	ck_assert_int_eq(SCAN("{}"), 0);
	ck_assert_int_eq(ngot, 0);
	ck_assert_int_eq(json_elems(&top, got, &ngot), -1);

	/* Members come before the error is found: the caller drops them. */
	ck_assert_int_eq(SCAN("{\"a\":1,\"b\":x}"), -1);
	ck_assert_int_eq(ngot, 1);
	ck_assert_int_eq(top.j_type, P_NONE);
	ck_assert_int_eq(SCAN("{\"a\":1} x"), -1);
	ck_assert_int_eq(ngot, 1);

	/* No callback, and a length that stops inside the text. */
	t = "{\"a\":1}{\"b\":2}";
	ck_assert_int_eq(json_scan(t, 7, &top, NULL, NULL), 0);
	ck_assert_int_eq(json_scan(t, 6, &top, NULL, NULL), -1);
	ck_assert_int_eq(json_scan(t, 0, &top, NULL, NULL), -1);
	ck_assert_int_eq(json_scan("1234", 2, &top, NULL, NULL), 0);
	ck_assert_uint_eq(top.j_len, 2);
#undef SCAN
}
END_TEST

/* The first top-level member of line (an object) named key. */
static struct json_val
member(const char *line, const char *key)
{
	struct json_val	 top;
	int		 i;

	ngot = 0;
	ck_assert_int_eq(json_scan(line, strlen(line), &top, got, &ngot), 0);
	for (i = 0; i < ngot; i++)
		if (json_eq(&got_key[i], key))
			return got_val[i];
	ck_abort_msg("no member %s in %s", key, line);
	return top;
}

/* The top value of line. */
static struct json_val
value(const char *line)
{
	struct json_val	 top;

	ck_assert_int_eq(json_scan(line, strlen(line), &top, NULL, NULL), 0);
	return top;
}

START_TEST(test_eq)
{
	struct json_val	v;

	v = value("\"cmd\"");
	ck_assert_int_eq(json_eq(&v, "cmd"), 1);
	ck_assert_int_eq(json_eq(&v, "cm"), 0);
	ck_assert_int_eq(json_eq(&v, "cmdx"), 0);
	ck_assert_int_eq(json_eq(&v, "CMD"), 0);
	ck_assert_int_eq(json_eq(&v, ""), 0);
	v = value("\"\"");
	ck_assert_int_eq(json_eq(&v, ""), 1);
	ck_assert_int_eq(json_eq(&v, "a"), 0);
	v = value("\"c\\u006dd\"");
	ck_assert_int_eq(json_eq(&v, "cmd"), 1);
	v = value("\"\\u0063\\u006D\\u0064\"");
	ck_assert_int_eq(json_eq(&v, "cmd"), 1);
	v = value("\"a\\/b\\\"c\\\\d\\n\"");
	ck_assert_int_eq(json_eq(&v, "a/b\"c\\d\n"), 1);
	v = value("\"\\u00e9\\ud83d\\ude00\"");
	ck_assert_int_eq(json_eq(&v, "\xc3\xa9\xf0\x9f\x98\x80"), 1);
	ck_assert_int_eq(json_eq(&v, "\xc3\xa9"), 0);
	v = value("\"\\ud800\"");
	ck_assert_int_eq(json_eq(&v, "\xef\xbf\xbd"), 1);
	/* A decoded NUL never equals. */
	v = value("\"\\u0000\"");
	ck_assert_int_eq(json_eq(&v, ""), 0);
	v = value("\"a\\u0000\"");
	ck_assert_int_eq(json_eq(&v, "a"), 0);
	v = value("\"a\\u0000b\"");
	ck_assert_int_eq(json_eq(&v, "a"), 0);
	/* Not strings. */
	v = value("1");
	ck_assert_int_eq(json_eq(&v, "1"), 0);
	v = value("null");
	ck_assert_int_eq(json_eq(&v, "null"), 0);
	v = member("{\"cmd\":[\"NODE_HANDLE_ACK\"]}", "cmd");
	ck_assert_int_eq(json_eq(&v, "NODE_HANDLE_ACK"), 0);
	v = member("{\"act\":\"suicide\",\"c\\u006Dd\":\"x\"}", "cmd");
	ck_assert_int_eq(json_eq(&v, "x"), 1);
}
END_TEST

START_TEST(test_str)
{
	struct json_val	 v;
	char		 out[16];

	v = value("\"abc\"");
	ck_assert_int_eq(json_str(&v, out, sizeof(out)), 3);
	ck_assert_str_eq(out, "abc");
	ck_assert_int_eq(json_str(&v, out, 4), 3);
	ck_assert_str_eq(out, "abc");
	ck_assert_int_eq(json_str(&v, out, 3), -1);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(json_str(&v, out, 1), -1);
	ck_assert_int_eq(json_str(&v, out, 0), -1);
	v = value("\"\"");
	ck_assert_int_eq(json_str(&v, out, 1), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(json_str(&v, out, 0), -1);

	/* \u0000 counts. */
	v = value("\"\\u0000\"");
	memset(out, 'x', sizeof(out));
	ck_assert_int_eq(json_str(&v, out, sizeof(out)), 1);
	ck_assert_int_eq(out[0], '\0');
	ck_assert_int_eq(out[1], '\0');
	v = value("\"a\\u0000b\"");
	ck_assert_int_eq(json_str(&v, out, sizeof(out)), 3);
	ck_assert_int_eq(memcmp(out, "a\0b", 4), 0);
	ck_assert_int_eq(json_str(&v, out, 3), -1);

	/* Every escape, and UTF-8 out. */
	v = value("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"");
	ck_assert_int_eq(json_str(&v, out, sizeof(out)), 8);
	ck_assert_str_eq(out, "\"\\/\b\f\n\r\t");
	v = value("\"\\u0041\\u00e9\\u4e2d\"");
	ck_assert_int_eq(json_str(&v, out, sizeof(out)), 6);
	ck_assert_str_eq(out, "A\xc3\xa9\xe4\xb8\xad");
	v = value("\"\\uD83D\\uDE00\\uDBFF\\uDFFF\"");
	ck_assert_int_eq(json_str(&v, out, sizeof(out)), 8);
	ck_assert_str_eq(out, "\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf");
	ck_assert_int_eq(json_str(&v, out, 8), -1);
	v = value("\"\xf0\x9f\x98\x80\"");
	ck_assert_int_eq(json_str(&v, out, sizeof(out)), 4);
	ck_assert_str_eq(out, "\xf0\x9f\x98\x80");
	ck_assert_int_eq(json_str(&v, out, 4), -1);

	/* Lone surrogates: U+FFFD each. */
	v = value("\"\\ud800\"");
	ck_assert_int_eq(json_str(&v, out, sizeof(out)), 3);
	ck_assert_str_eq(out, "\xef\xbf\xbd");
	v = value("\"\\udc00\\ud800\\udc00\"");
	ck_assert_int_eq(json_str(&v, out, sizeof(out)), 7);
	ck_assert_str_eq(out, "\xef\xbf\xbd\xf0\x90\x80\x80");
	v = value("\"\\ud800\\ud800x\"");
	ck_assert_int_eq(json_str(&v, out, sizeof(out)), 7);
	ck_assert_str_eq(out, "\xef\xbf\xbd\xef\xbf\xbdx");
	v = value("\"\\udbff\\u0041\"");
	ck_assert_int_eq(json_str(&v, out, sizeof(out)), 4);
	ck_assert_str_eq(out, "\xef\xbf\xbd" "A");

	/* Not strings. */
	v = value("12");
	ck_assert_int_eq(json_str(&v, out, sizeof(out)), -1);
	v = value("{\"a\":\"b\"}");
	ck_assert_int_eq(json_str(&v, out, sizeof(out)), -1);
	v.j_type = P_NONE;
	ck_assert_int_eq(json_str(&v, out, sizeof(out)), -1);
}
END_TEST

START_TEST(test_int)
{
	struct json_val	 v;
	long long	 n;

#define INT_OK(s, want) do {						\
	n = 42;								\
	v = value(s);							\
	ck_assert_int_eq(json_int(&v, &n), 0);				\
	ck_assert(n == (want));						\
} while (0)
#define INT_BAD(s) do {							\
	n = 42;								\
	v = value(s);							\
	ck_assert_int_eq(json_int(&v, &n), -1);				\
	ck_assert(n == 42);						\
} while (0)
	INT_OK("0", 0);
	INT_OK("-0", 0);
	INT_OK("7", 7);
	INT_OK("-7", -7);
	INT_OK(" 3000 ", 3000);
	INT_OK("9223372036854775807", LLONG_MAX);
	INT_OK("-9223372036854775808", LLONG_MIN);
	INT_OK("-9223372036854775807", -LLONG_MAX);
	INT_BAD("9223372036854775808");
	INT_BAD("-9223372036854775809");
	INT_BAD("18446744073709551616");
	INT_BAD("99999999999999999999999");
	INT_BAD("1e3");
	INT_BAD("1E3");
	INT_BAD("1.0");
	INT_BAD("0.5");
	INT_BAD("-0.0");
	INT_BAD("1e-0");
	INT_BAD("\"1\"");
	INT_BAD("true");
	INT_BAD("null");
	INT_BAD("[1]");
	v = member("{\"cmd\":\"PORTER_LOAD\",\"active\":3,\"accepted\":10}",
	    "accepted");
	ck_assert_int_eq(json_int(&v, &n), 0);
	ck_assert(n == 10);
#undef INT_OK
#undef INT_BAD
}
END_TEST

/* What the comparison assumes of jansson. */
START_TEST(test_jansson)
{
	json_error_t	 err;
	json_t		*j;

	j = json_loads("{\"a\":1,\"b\":0,\"a\":2}", 0, &err);
	ck_assert_ptr_nonnull(j);
	ck_assert_uint_eq(json_object_size(j), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "a")), 2);
	json_decref(j);
	j = json_loads("\"\\ud800\"", JSON_DECODE_ANY, &err);
	ck_assert_ptr_null(j);
	ck_assert_int_eq(divergence("", 0, j, &err), DIV_SURROGATE);
	j = json_loads("[9223372036854775808]", 0, &err);
	ck_assert_ptr_null(j);
	ck_assert_int_eq(divergence("", 0, j, &err), DIV_BIGINT);
	j = json_loads("[-9223372036854775809]", 0, &err);
	ck_assert_ptr_null(j);
	ck_assert_int_eq(divergence("", 0, j, &err), DIV_BIGINT);
	j = json_loads("[1e400]", 0, &err);
	ck_assert_ptr_null(j);
	ck_assert_int_eq(divergence("", 0, j, &err), DIV_BIGREAL);
	j = json_loadb("{\"\\u0000\":1}", 12, JSON_ALLOW_NUL, &err);
	ck_assert_ptr_null(j);
	ck_assert_int_eq(divergence("", 0, j, &err), DIV_NULKEY);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("json");
	TCase	*tc = tcase_create("json");

	tcase_add_test(tc, test_jansson);
	tcase_add_test(tc, test_corpus);
	tcase_add_test(tc, test_bytes);
	tcase_add_test(tc, test_depth);
	tcase_add_test(tc, test_members);
	tcase_add_test(tc, test_eq);
	tcase_add_test(tc, test_str);
	tcase_add_test(tc, test_int);
	tcase_add_test(tc, test_mutations);
	tcase_set_timeout(tc, 120);	/* the mutations, under ASan */
	suite_add_tcase(s, tc);
	return check_run(s);
}
