/*
 * fuzz_proxy_proto.c: libFuzzer target for the PROXY protocol parser. Any
 * bytes: proxy_proto_parse() may refuse them, never read past them; a
 * header it takes is self-contained, and what it found builds into v1 and
 * v2 headers that parse back to the same addresses. "Need more" holds for
 * every shorter start of the input too.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/porter.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FAIL_IF(cond, what) do {					\
	if (cond) {							\
		fprintf(stderr, "fuzz_proxy_proto.c:%d: %s\n", __LINE__, \
		    (what));						\
		abort();						\
	}								\
} while (0)

static void
round_trip(const struct proxy_hdr *h)
{
	struct proxy_hdr	 b;
	char			 buf[PROXY_OUT_MAX];
	const char		*cause;
	ssize_t			 n;
	int			 v;

	for (v = 1; v <= 2; v++) {
		n = proxy_proto_build(v, (const struct sockaddr *)&h->ph_src,
		    (const struct sockaddr *)&h->ph_dst, buf, sizeof(buf));
		FAIL_IF(n <= 0, "cannot build what was parsed");
		FAIL_IF(proxy_proto_parse(buf, (size_t)n, &b, &cause) != n,
		    "what was built does not parse");
		FAIL_IF(b.ph_local || b.ph_len != h->ph_len ||
		    memcmp(&b.ph_src, &h->ph_src, h->ph_len) != 0 ||
		    memcmp(&b.ph_dst, &h->ph_dst, h->ph_len) != 0,
		    "the addresses changed on the way round");
	}
}

/* IPv4-mapped IPv6 goes out as TCP4 (or UNKNOWN): not the same. */
static int
proxy_mapped(const struct proxy_hdr *h)
{
	const struct sockaddr_in6	*s6, *d6;

	if (h->ph_src.ss_family != AF_INET6)
		return 0;
	s6 = (const struct sockaddr_in6 *)&h->ph_src;
	d6 = (const struct sockaddr_in6 *)&h->ph_dst;
	return IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) ||
	    IN6_IS_ADDR_V4MAPPED(&d6->sin6_addr);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_hdr	 h, again;
	const char		*cause = NULL;
	uint8_t			*copy;
	ssize_t			 n;

	/* An exact-size copy: ASan catches a read past the input. */
	if ((copy = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	n = proxy_proto_parse(copy, size, &h, &cause);
	if (n == -1)
		FAIL_IF(cause == NULL, "an error without a cause");
	else if (n == 0) {
		FAIL_IF(size >= PROXY_HDR_MAX, "need more past the limit");
		FAIL_IF(size > 0 && proxy_proto_parse(copy, size - 1, &again,
		    &cause) != 0, "a start of a start is not one");
	} else {
		FAIL_IF((size_t)n > size || n > PROXY_HDR_MAX,
		    "a header longer than the input");
		FAIL_IF(proxy_proto_parse(copy, (size_t)n, &again, &cause) != n,
		    "the header alone does not parse");
		FAIL_IF(h.ph_local != (h.ph_len == 0), "local, with addresses");
		if (!h.ph_local && !proxy_mapped(&h))
			round_trip(&h);
	}
	free(copy);
	return 0;
}
