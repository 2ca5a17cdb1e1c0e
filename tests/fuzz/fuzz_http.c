/*
 * fuzz_http.c: libFuzzer target for the built-in worker's request handling.
 * The input is what a client sends on one connection. It goes through
 * http_conn_feed() and http_serve() as worker.c drives them, once in one
 * piece and once cut into pieces of pseudo-random sizes (TCP may cut it
 * anywhere): both runs must see the same requests and answer the same
 * number of bytes, and every answer must start with a status line.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "../../src/porter.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * Past this size the runs may differ by design: http.c counts header bytes
 * per parser callback (+2 each), and a cut header makes one more callback,
 * so the 431 limit can come a little earlier in pieces. Below it neither
 * count reaches HTTP_MAX_HEADERS: a byte counts 1, plus 2 per cut (at most
 * one a byte), plus 2 per empty piece (at most one per 4-byte "X:\r\n").
 */
#define SAME_MAX	(HTTP_MAX_HEADERS / 4)

#define FAIL_IF(cond, what) do {					\
	if (cond) {							\
		fprintf(stderr, "fuzz_http.c:%d: %s\n", __LINE__, (what)); \
		abort();						\
	}								\
} while (0)

static const struct http_site site = { 3, 4242, "proxy",
    "X-Porter-Worker: 3\r\n", 0, NULL };

struct trace {			/* what one run saw */
	uint64_t	t_hash;		/* of the requests and how it ended */
	size_t		t_out;		/* bytes answered */
	unsigned int	t_nreq;
	int		t_end;		/* 0 open, 1 error, 2 closed */
};

static uint64_t
hash_add(uint64_t h, const void *p, size_t len)
{
	const unsigned char	*b = p;
	size_t			 i;

	for (i = 0; i < len; i++)	/* FNV-1a */
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

/* The next piece's size: mostly small, now and then larger. */
static size_t
piece(uint64_t *rng, size_t left)
{
	uint64_t	r;
	size_t		n;

	*rng ^= *rng >> 12;		/* xorshift64* */
	*rng ^= *rng << 25;
	*rng ^= *rng >> 27;
	r = *rng * 0x2545f4914f6cdd1dULL;
	n = 1 + (size_t)((r >> 8) % ((r & 3) == 0 ? 512 : 8));
	return n < left ? n : left;
}

/* What was answered since last time: it must start a response. */
static void
take_output(struct evbuffer *out, struct trace *t)
{
	size_t		 len = evbuffer_get_length(out);
	unsigned char	*p;

	FAIL_IF(len == 0, "no answer");
	FAIL_IF((p = evbuffer_pullup(out, 9)) == NULL ||
	    memcmp(p, "HTTP/1.1 ", 9) != 0, "an answer with no status line");
	t->t_out += len;
	evbuffer_drain(out, len);
}

/* Serve data as one connection; rng 0: it arrives in one piece. */
static void
run(const uint8_t *data, size_t size, uint64_t rng, struct trace *t)
{
	struct http_conn	*hc;
	struct evbuffer		*in, *out;
	const struct http_req	*r;
	size_t			 off = 0, n, rest;

	memset(t, 0, sizeof(*t));
	if ((hc = http_conn_new()) == NULL || (in = evbuffer_new()) == NULL ||
	    (out = evbuffer_new()) == NULL)
		abort();		/* out of memory */
	while (off < size && t->t_end == 0) {
		n = rng == 0 ? size : piece(&rng, size - off);
		evbuffer_add(in, data + off, n);
		off += n;
		while (t->t_end == 0) {
			switch (http_conn_feed(hc, in, out)) {
			case FEED_MORE:
				FAIL_IF(evbuffer_get_length(in) != 0,
				    "FEED_MORE with input left");
				FAIL_IF(evbuffer_get_length(out) != 0,
				    "FEED_MORE with an answer");
				goto next;
			case FEED_ERROR:
				t->t_end = 1;
				take_output(out, t);
				break;
			case FEED_REQUEST:
				r = http_conn_request(hc);
				FAIL_IF(r->r_pathlen > HTTP_MAX_URL ||
				    r->r_path[r->r_pathlen] != '\0',
				    "a bad path");
				t->t_nreq++;
				t->t_hash = hash_add(t->t_hash, &r->r_method,
				    sizeof(r->r_method));
				t->t_hash = hash_add(t->t_hash, &r->r_keepalive,
				    sizeof(r->r_keepalive));
				t->t_hash = hash_add(t->t_hash, &r->r_head,
				    sizeof(r->r_head));
				t->t_hash = hash_add(t->t_hash, r->r_path,
				    r->r_pathlen + 1);
				/* A /delay answer waits for a timer in
				 * worker.c: the same call, later. */
				if (!http_serve(out, r, &site, &rest))
					t->t_end = 2;
				/* worker.c adds a /bytes body as its output
				 * drains; here a bounded part of it at once. */
				http_add_bytes(out, rest < 65536 ? rest : 65536);
				take_output(out, t);
				break;
			}
		}
 next:		;
	}
	t->t_hash = hash_add(t->t_hash, &t->t_end, sizeof(t->t_end));
	evbuffer_free(in);
	evbuffer_free(out);
	http_conn_free(hc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace	 whole, cut;
	uint64_t	 seed;

	run(data, size, 0, &whole);
	seed = hash_add(0xcbf29ce484222325ULL, data, size) | 1;
	run(data, size, seed, &cut);
	if (size <= SAME_MAX) {
		FAIL_IF(whole.t_nreq != cut.t_nreq,
		    "cut in pieces: not the same number of requests");
		FAIL_IF(whole.t_hash != cut.t_hash,
		    "cut in pieces: not the same requests");
		FAIL_IF(whole.t_out != cut.t_out,
		    "cut in pieces: not the same answers");
	}
	return 0;
}
