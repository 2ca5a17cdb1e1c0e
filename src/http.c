/*
 * http.c: HTTP/1.1 requests for the built-in worker, on http-parser.
 * Pure: bytes come in through one evbuffer and responses go out through
 * another, so that it is unit-tested without sockets.
 *
 * http-parser 2.9 as Debian builds it (HTTP_PARSER_STRICT 0) lets pass
 * what RFC 9112 says to reject: a bare LF as a line end, whitespace
 * between a field name and its colon, obs-fold. So every byte of a request
 * head goes through http_scan() before the parser sees it.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <http_parser.h>

#include "porter.h"

enum http_scan {
	SCAN_START = 0,		/* before the request line (CRLFs skipped) */
	SCAN_LINE,		/* in the request line */
	SCAN_BOL,		/* at the start of a header line */
	SCAN_NAME,		/* in a field name */
	SCAN_VALUE,		/* in a field value */
	SCAN_BODY,		/* the head is over: the parser alone */
};

enum http_field {
	FIELD_OTHER = 0,
	FIELD_HOST,
	FIELD_EXPECT,
};

#define HTTP_CONTINUE	"100-continue"
#define HTTP_CONTINUE_LEN ((int)sizeof(HTTP_CONTINUE) - 1)
#define HTTP_LOWER(c)	((c) >= 'A' && (c) <= 'Z' ? (c) + ('a' - 'A') : (c))

struct http_conn {
	http_parser		 hc_parser;
	struct http_req		 hc_req;
	struct evbuffer		*hc_out;	/* while in http_conn_feed */
	size_t			 hc_hbytes;	/* header bytes of this request */
	int			 hc_error;	/* status to answer with, or 0 */
	int			 hc_complete;	/* a request waits to be served */
	int			 hc_partial;	/* bytes of a request seen */
	/* http_scan()'s state, for the head of the current request */
	enum http_scan		 hc_scan;
	int			 hc_cr;		/* the last byte was CR */
	char			 hc_name[8];	/* field name so far, lower */
	size_t			 hc_namelen;
	enum http_field		 hc_field;
	int			 hc_vmatch;	/* of "100-continue", or -1 */
	int			 hc_hosts;	/* Host fields */
	int			 hc_expect;	/* Expect: 100-continue */
};

static int	http_on_begin(http_parser *);
static int	http_on_url(http_parser *, const char *, size_t);
static int	http_on_header(http_parser *, const char *, size_t);
static int	http_on_headers_complete(http_parser *);
static int	http_on_complete(http_parser *);

static const http_parser_settings http_settings = {
	.on_message_begin = http_on_begin,
	.on_url = http_on_url,
	.on_header_field = http_on_header,
	.on_header_value = http_on_header,
	.on_headers_complete = http_on_headers_complete,
	.on_message_complete = http_on_complete,
};

/* What /bytes/N sends: added by reference, never copied. */
static char	http_fill[64 * 1024];

struct http_conn *
http_conn_new(void)
{
	struct http_conn	*hc;

	if ((hc = calloc(1, sizeof(*hc))) == NULL)
		return NULL;
	http_parser_init(&hc->hc_parser, HTTP_REQUEST);
	hc->hc_parser.data = hc;
	return hc;
}

void
http_conn_free(struct http_conn *hc)
{
	free(hc);
}

const struct http_req *
http_conn_request(const struct http_conn *hc)
{
	return &hc->hc_req;
}

/* Whether part of a request has arrived (the header clock runs). */
int
http_conn_partial(const struct http_conn *hc)
{
	return hc->hc_partial;
}

/*
 * Check the head's bytes in "buf" for what RFC 9112 rejects and the
 * parser does not: a bare LF or a bare CR (one not before LF, anywhere in
 * the head, whichever piece the LF comes in), whitespace before
 * a field's colon, obs-fold (a line that starts with SP or HT). Count
 * the Host fields and note Expect: 100-continue on the way. Returns how
 * many bytes of "buf" belong to the head and passed: all of them, or up
 * to and with the head's last LF (the rest is body or the next request),
 * or up to a bad byte, with hc_error set to 400.
 */
static size_t
http_scan(struct http_conn *hc, const char *buf, size_t len)
{
	const char	*lf, *end, *cr;
	size_t		 i;
	unsigned char	 ch;

	for (i = 0; i < len && hc->hc_scan != SCAN_BODY; i++) {
		if (hc->hc_scan == SCAN_LINE || (hc->hc_scan == SCAN_VALUE &&
		    hc->hc_field != FIELD_EXPECT)) {
			/*
			 * Most bytes: only CRs and the line's end matter. A
			 * CR is bare unless LF follows, here or as the next
			 * piece's first byte: the parser (not strict) would
			 * take it for a line's end, so what passes would
			 * depend on how the bytes arrived.
			 */
			lf = memchr(buf + i, '\n', len - i);
			end = lf != NULL ? lf : buf + len;
			if (hc->hc_cr && buf + i < end)
				goto bad;	/* CR, then not LF */
			for (cr = buf + i; (cr = memchr(cr, '\r',
			    (size_t)(end - cr))) != NULL; cr++)
				if (cr + 1 < end) {
					i = (size_t)(cr - buf);
					goto bad;
				}
			if (end > buf + i)
				hc->hc_cr = end[-1] == '\r';
			if (lf == NULL)
				return len;
			i = (size_t)(lf - buf);
		}
		ch = (unsigned char)buf[i];
		if (ch == '\n') {
			if (!hc->hc_cr)
				goto bad;	/* bare LF */
			hc->hc_cr = 0;
			switch (hc->hc_scan) {
			case SCAN_START:	/* empty line first: skipped */
				break;
			case SCAN_BOL:		/* the empty line: head over */
				hc->hc_scan = SCAN_BODY;
				break;
			case SCAN_VALUE:
				if (hc->hc_field == FIELD_EXPECT &&
				    hc->hc_vmatch == HTTP_CONTINUE_LEN)
					hc->hc_expect = 1;
				/* FALLTHROUGH */
			default:
				hc->hc_scan = SCAN_BOL;
				break;
			}
			continue;
		}
		if (hc->hc_cr)
			goto bad;		/* CR without LF */
		if (ch == '\r') {
			hc->hc_cr = 1;
			continue;
		}
		switch (hc->hc_scan) {
		case SCAN_START:
			hc->hc_scan = SCAN_LINE;
			break;
		case SCAN_LINE:
		case SCAN_BODY:
			break;
		case SCAN_BOL:
			if (ch == ' ' || ch == '\t')
				goto bad;	/* obs-fold */
			hc->hc_scan = SCAN_NAME;
			hc->hc_namelen = 0;
			/* FALLTHROUGH */
		case SCAN_NAME:
			if (ch == ' ' || ch == '\t')
				goto bad;	/* whitespace before ':' */
			if (ch != ':') {
				if (hc->hc_namelen < sizeof(hc->hc_name))
					hc->hc_name[hc->hc_namelen] =
					    (char)HTTP_LOWER(ch);
				if (hc->hc_namelen <= sizeof(hc->hc_name))
					hc->hc_namelen++;
				break;
			}
			hc->hc_scan = SCAN_VALUE;
			hc->hc_field = FIELD_OTHER;
			hc->hc_vmatch = 0;
			if (hc->hc_namelen == 4 &&
			    memcmp(hc->hc_name, "host", 4) == 0) {
				hc->hc_field = FIELD_HOST;
				hc->hc_hosts++;
			} else if (hc->hc_namelen == 6 &&
			    memcmp(hc->hc_name, "expect", 6) == 0)
				hc->hc_field = FIELD_EXPECT;
			break;
		case SCAN_VALUE:
			if (hc->hc_field != FIELD_EXPECT || hc->hc_vmatch == -1)
				break;
			/* "100-continue", any case, with optional whitespace */
			if (ch == ' ' || ch == '\t') {
				if (hc->hc_vmatch != 0 &&
				    hc->hc_vmatch != HTTP_CONTINUE_LEN)
					hc->hc_vmatch = -1;
			} else if (hc->hc_vmatch < HTTP_CONTINUE_LEN &&
			    HTTP_LOWER(ch) == HTTP_CONTINUE[hc->hc_vmatch])
				hc->hc_vmatch++;
			else
				hc->hc_vmatch = -1;
			break;
		}
	}
	return i;

 bad:
	hc->hc_error = 400;
	return i;
}

/* The next request's head starts: the scanner starts over. */
static void
http_scan_reset(struct http_conn *hc)
{
	hc->hc_scan = SCAN_START;
	hc->hc_cr = 0;
	hc->hc_hosts = 0;
	hc->hc_expect = 0;
}

static int
http_on_begin(http_parser *p)
{
	struct http_conn	*hc = p->data;

	hc->hc_req.r_pathlen = 0;
	hc->hc_req.r_path[0] = '\0';
	hc->hc_hbytes = 0;
	hc->hc_partial = 1;
	return 0;
}

/*
 * http-parser hands a URL over in pieces: add one to path (*len bytes so
 * far, at most max, NUL-terminated). -1 if it would not fit (414). The
 * built-in worker's and the status endpoint's.
 */
int
http_url_piece(char *path, size_t *len, size_t max, const char *at,
    size_t n)
{
	if (n > max - *len)
		return -1;
	memcpy(path + *len, at, n);
	*len += n;
	path[*len] = '\0';
	return 0;
}

/* Count a piece of a header field or value: -1 past max (431). */
int
http_header_piece(size_t *hbytes, size_t n, size_t max)
{
	*hbytes += n + 2;	/* ": " or CRLF per piece */
	return *hbytes > max ? -1 : 0;
}

static int
http_on_url(http_parser *p, const char *at, size_t len)
{
	struct http_conn	*hc = p->data;
	struct http_req		*r = &hc->hc_req;

	if (http_url_piece(r->r_path, &r->r_pathlen, HTTP_MAX_URL, at, len) ==
	    -1) {
		hc->hc_error = 414;
		return -1;
	}
	return 0;
}

static int
http_on_header(http_parser *p, const char *at, size_t len)
{
	struct http_conn	*hc = p->data;

	(void)at;
	if (http_header_piece(&hc->hc_hbytes, len, HTTP_MAX_HEADERS) == -1) {
		hc->hc_error = 431;
		return -1;
	}
	return 0;
}

static int
http_on_headers_complete(http_parser *p)
{
	struct http_conn	*hc = p->data;
	struct http_req		*r = &hc->hc_req;

	r->r_method = (int)p->method;
	r->r_head = p->method == HTTP_HEAD;
	if (p->method == HTTP_CONNECT) {
		hc->hc_error = 405;
		return -1;
	}
	/* RFC 9112 3.2: HTTP/1.1 needs exactly one Host; 1.0 at most one. */
	if (hc->hc_hosts > 1 || (hc->hc_hosts == 0 && (p->http_major > 1 ||
	    (p->http_major == 1 && p->http_minor >= 1)))) {
		hc->hc_error = 400;
		return -1;
	}
	/*
	 * RFC 9110 10.1.1: the client waits for 100 before it sends the
	 * body. We serve no route from a body, but answering 100 at once
	 * (and reading the body) keeps the connection usable, where a final
	 * status before the body would have to close it.
	 */
	if (hc->hc_expect && p->http_major == 1 && p->http_minor >= 1 &&
	    ((p->flags & F_CHUNKED) || (p->content_length > 0 &&
	    p->content_length != ULLONG_MAX)) && hc->hc_out != NULL)
		evbuffer_add(hc->hc_out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	return 0;
}

static int
http_on_complete(http_parser *p)
{
	struct http_conn	*hc = p->data;

	hc->hc_req.r_keepalive = http_should_keep_alive(p) && !p->upgrade;
	hc->hc_complete = 1;
	hc->hc_partial = 0;
	http_scan_reset(hc);
	http_parser_pause(p, 1);
	return 0;
}

/*
 * Parse what "in" holds and drain what was parsed. FEED_REQUEST: a request
 * is ready in http_conn_request(); answer it and call again for the next
 * one (pipelining). FEED_ERROR: an error response went to "out"; close
 * once it is written.
 */
enum http_feed
http_conn_feed(struct http_conn *hc, struct evbuffer *in, struct evbuffer *out)
{
	struct evbuffer_iovec	 vec[8];
	http_parser		*p = &hc->hc_parser;
	enum http_errno		 err;
	const char		*base;
	size_t			 n, k, off, done;
	int			 i, nvec;

	if (hc->hc_complete) {
		hc->hc_complete = 0;
		http_parser_pause(p, 0);
	}
	hc->hc_out = out;
	while (evbuffer_get_length(in) > 0) {
		nvec = evbuffer_peek(in, -1, NULL, vec, nitems(vec));
		if (nvec > (int)nitems(vec))
			nvec = (int)nitems(vec);
		done = 0;
		for (i = 0; i < nvec; i++) {
			base = vec[i].iov_base;
			for (off = 0; off < vec[i].iov_len; off += n) {
				/* The head is scanned first; a body is not. */
				k = vec[i].iov_len - off;
				if (hc->hc_scan != SCAN_BODY &&
				    (k = http_scan(hc, base + off, k)) == 0)
					goto fail;
				n = http_parser_execute(p, &http_settings,
				    base + off, k);
				done += n;
				err = HTTP_PARSER_ERRNO(p);
				if (err == HPE_PAUSED) {
					/* Just after a complete request. */
					evbuffer_drain(in, done);
					hc->hc_out = NULL;
					return FEED_REQUEST;
				}
				if (err != HPE_OK || p->upgrade) {
					if (err == HPE_OK) {
						/* Upgrade: served, closed. */
						evbuffer_drain(in, done);
						hc->hc_out = NULL;
						if (hc->hc_complete)
							return FEED_REQUEST;
					}
					goto fail;
				}
				if (n != k || hc->hc_error != 0)
					goto fail;
			}
		}
		evbuffer_drain(in, done);
	}
	hc->hc_out = NULL;
	return FEED_MORE;

 fail:
	hc->hc_out = NULL;
	evbuffer_drain(in, evbuffer_get_length(in));
	if (hc->hc_error == 0)
		hc->hc_error = HTTP_PARSER_ERRNO(p) == HPE_HEADER_OVERFLOW ?
		    431 : 400;
	http_reply_error(out, hc->hc_error);
	return FEED_ERROR;
}

static const char *
http_reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	default:  return "Error";
	}
}

/* Status line and headers. "extra" is zero or more "Name: value\r\n". */
static void
http_response_head(struct evbuffer *out, int code, size_t clen,
    int keepalive, const char *extra)
{
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Length: %zu\r\n"
	    "%s%s\r\n", code, http_reason(code), clen,
	    keepalive ? "" : "Connection: close\r\n", extra ? extra : "");
}

/* An error answer; the connection closes after it. */
void
http_reply_error(struct evbuffer *out, int code)
{
	char	body[64];
	int	n;

	n = snprintf(body, sizeof(body), "%d %s\n", code, http_reason(code));
	http_response_head(out, code, (size_t)n, 0,
	    code == 405 ? "Allow: GET, HEAD\r\n" : NULL);
	evbuffer_add(out, body, (size_t)n);
}

/* N bytes of filler, by reference to one static block. */
void
http_add_bytes(struct evbuffer *out, size_t n)
{
	size_t	chunk;

	if (http_fill[0] == '\0')
		memset(http_fill, 'x', sizeof(http_fill));
	while (n > 0) {
		chunk = n < sizeof(http_fill) ? n : sizeof(http_fill);
		evbuffer_add_reference(out, http_fill, chunk, NULL, NULL);
		n -= chunk;
	}
}

static int
http_number(const char *s, size_t len, long max, long *out)
{
	long	v = 0;
	size_t	i;

	if (len == 0 || len > 12)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/*
 * Map a request path (query string ignored) to a route; *arg gets N of
 * /bytes/N or MS of /delay/MS. ROUTE_BAD: a number out of range.
 */
enum http_route
http_route(const char *path, size_t len, long *arg)
{
	const char	*q;

	if ((q = memchr(path, '?', len)) != NULL)
		len = (size_t)(q - path);
	*arg = 0;
	if (len == 1 && path[0] == '/')
		return ROUTE_ROOT;
	if (len > 7 && memcmp(path, "/bytes/", 7) == 0)
		return http_number(path + 7, len - 7, HTTP_MAX_BYTES, arg) ==
		    -1 ? ROUTE_BAD : ROUTE_BYTES;
	if (len > 7 && memcmp(path, "/delay/", 7) == 0)
		return http_number(path + 7, len - 7, HTTP_MAX_DELAY, arg) ==
		    -1 ? ROUTE_BAD : ROUTE_DELAY;
	return ROUTE_NOTFOUND;
}

/*
 * Answer a parsed request. A /delay request is answered here once the
 * caller has waited. A /bytes body is not added here: *rest gets its
 * length, for the caller to add with http_add_bytes() as "out" drains
 * (64 MiB queued at once would cost 1 KiB of chain per 64 KiB). Returns
 * whether the connection stays open.
 */
int
http_serve(struct evbuffer *out, const struct http_req *r,
    const struct http_site *site, size_t *rest)
{
	char		 body[256];
	long		 arg;
	int		 n, keep = r->r_keepalive && !site->s_closing;
	const char	*extra = site->s_header;

	*rest = 0;
	if (r->r_method != HTTP_GET && r->r_method != HTTP_HEAD) {
		http_response_head(out, 405, 0, keep, "Allow: GET, HEAD\r\n");
		return keep;
	}
	switch (http_route(r->r_path, r->r_pathlen, &arg)) {
	case ROUTE_ROOT:
		n = snprintf(body, sizeof(body), "handled by worker %d, pid "
		    "%ld, via %s\n", site->s_id, (long)site->s_pid,
		    site->s_mode);
		if (site->s_client != NULL)
			n += snprintf(body + n, sizeof(body) - (size_t)n,
			    "client %s\n", site->s_client);
		break;
	case ROUTE_BYTES:
		http_response_head(out, 200, (size_t)arg, keep, extra);
		if (!r->r_head)
			*rest = (size_t)arg;
		return keep;
	case ROUTE_DELAY:
		n = snprintf(body, sizeof(body), "delayed %ld ms by worker "
		    "%d\n", arg, site->s_id);
		break;
	case ROUTE_BAD:
		http_reply_error(out, 400);
		return 0;
	case ROUTE_NOTFOUND:
	default:
		n = snprintf(body, sizeof(body), "404 Not Found\n");
		http_response_head(out, 404, (size_t)n, keep, extra);
		if (!r->r_head)
			evbuffer_add(out, body, (size_t)n);
		return keep;
	}
	http_response_head(out, 200, (size_t)n, keep, extra);
	if (!r->r_head)
		evbuffer_add(out, body, (size_t)n);
	return keep;
}
