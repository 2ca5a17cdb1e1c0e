/*
 * proxy_proto.c: the PROXY protocol (HAProxy's proxy-protocol.txt), v1
 * text and v2 binary. Pure: parse a header at the start of a buffer, build
 * one into a buffer; no I/O, unit-tested without sockets.
 */
#include "config.h"

#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include "porter.h"

#define PP_V1_SIG	"PROXY "
#define PP_V1_SIGLEN	6
#define PP_V2_SIG	"\r\n\r\n\0\r\nQUIT\n"
#define PP_V2_SIGLEN	12
#define PP_V2_HDRLEN	16
#define PP_V2_LOCAL	0x20		/* version 2, LOCAL */
#define PP_V2_PROXY	0x21		/* version 2, PROXY */
#define PP_V2_TCP4	0x11
#define PP_V2_TCP6	0x21
#define PP_V2_LEN4	12		/* 2 * 4 + 2 * 2 */
#define PP_V2_LEN6	36		/* 2 * 16 + 2 * 2 */
#define PP_V2_LENUNIX	216		/* 2 * 108 */

static void
proxy_proto_set4(struct sockaddr_storage *ss, const void *a, uint16_t port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr, a, 4);
	sin->sin_port = htons(port);
}

static void
proxy_proto_set6(struct sockaddr_storage *ss, const void *a, uint16_t port)
{
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	sin6->sin6_family = AF_INET6;
	memcpy(&sin6->sin6_addr, a, 16);
	sin6->sin6_port = htons(port);
}

/* A v1 port: decimal, no leading zero, 0 to 65535. */
static int
proxy_proto_port(const char *s, uint16_t *port)
{
	size_t	i, n = strlen(s);
	long	v = 0;

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* A v1 IPv4 address: four decimals 0-255, no leading zeros. */
static int
proxy_proto_ip4(const char *s, unsigned char a[4])
{
	int	i, n, v;

	for (i = 0; i < 4; i++) {
		if (i > 0 && *s++ != '.')
			return -1;
		for (n = 0, v = 0; s[n] >= '0' && s[n] <= '9'; n++) {
			if (n == 3)
				return -1;
			v = v * 10 + (s[n] - '0');
		}
		if (n == 0 || v > 255 || (n > 1 && s[0] == '0'))
			return -1;
		a[i] = (unsigned char)v;
		s += n;
	}
	return *s == '\0' ? 0 : -1;
}

/* A v1 IPv6 address: hex groups and colons (no dotted tail). */
static int
proxy_proto_ip6(const char *s, unsigned char a[16])
{
	size_t	n = strlen(s);

	if (n < 2 || n > 39 || strspn(s, "0123456789abcdefABCDEF:") != n)
		return -1;
	return inet_pton(AF_INET6, s, a) == 1 ? 0 : -1;
}

/* One v1 line, CRLF cut off (at most PROXY_V1_MAX - 2 bytes). */
static int
proxy_proto_v1_line(char *line, struct proxy_hdr *h, const char **cause)
{
	char		*f[6], *p = line;
	unsigned char	 src[16], dst[16];
	uint16_t	 sport, dport;
	int		 n, six;

	for (n = 0; n < 6 && p != NULL; n++)
		f[n] = strsep(&p, " ");
	if (strcmp(f[0], "UNKNOWN") == 0) {
		/* Whatever follows is to be ignored. */
		h->ph_local = 1;
		return 0;
	}
	if (strcmp(f[0], "TCP4") != 0 && strcmp(f[0], "TCP6") != 0) {
		*cause = "v1: not TCP4, TCP6 or UNKNOWN";
		return -1;
	}
	if (n != 5 || p != NULL) {
		*cause = "v1: not five fields after PROXY (or a double space)";
		return -1;
	}
	six = f[0][3] == '6';
	if (six ? proxy_proto_ip6(f[1], src) == -1 ||
	    proxy_proto_ip6(f[2], dst) == -1 :
	    proxy_proto_ip4(f[1], src) == -1 ||
	    proxy_proto_ip4(f[2], dst) == -1) {
		*cause = six ? "v1: bad IPv6 address" : "v1: bad IPv4 address";
		return -1;
	}
	if (proxy_proto_port(f[3], &sport) == -1 ||
	    proxy_proto_port(f[4], &dport) == -1) {
		*cause = "v1: bad port";
		return -1;
	}
	if (six) {
		proxy_proto_set6(&h->ph_src, src, sport);
		proxy_proto_set6(&h->ph_dst, dst, dport);
		h->ph_len = (socklen_t)sizeof(struct sockaddr_in6);
	} else {
		proxy_proto_set4(&h->ph_src, src, sport);
		proxy_proto_set4(&h->ph_dst, dst, dport);
		h->ph_len = (socklen_t)sizeof(struct sockaddr_in);
	}
	return 0;
}

static ssize_t
proxy_proto_v1(const unsigned char *buf, size_t len, struct proxy_hdr *h,
    const char **cause)
{
	char	line[PROXY_V1_MAX];
	size_t	i, max = len < PROXY_V1_MAX ? len : PROXY_V1_MAX;

	for (i = PP_V1_SIGLEN; i < max; i++) {
		if (buf[i] == '\r' && i + 1 < max && buf[i + 1] == '\n')
			break;
		if (buf[i] == '\n' || buf[i] == '\0' ||
		    (buf[i] == '\r' && i + 1 < max)) {
			*cause = "v1: a bare CR, LF or NUL in the line";
			return -1;
		}
	}
	if (i >= max) {
		if (len < PROXY_V1_MAX)
			return 0;		/* no CRLF yet */
		*cause = "v1: no CRLF in the first 107 bytes";
		return -1;
	}
	memcpy(line, buf + PP_V1_SIGLEN, i - PP_V1_SIGLEN);
	line[i - PP_V1_SIGLEN] = '\0';
	h->ph_version = 1;
	if (proxy_proto_v1_line(line, h, cause) == -1)
		return -1;
	return (ssize_t)(i + 2);
}

/* Well-formed TLVs, to be skipped: each fits, together they fill it. */
static int
proxy_proto_tlvs(const unsigned char *p, size_t len)
{
	size_t	n;

	while (len > 0) {
		if (len < 3)
			return -1;
		n = (size_t)p[1] << 8 | p[2];
		if (3 + n > len)
			return -1;
		p += 3 + n;
		len -= 3 + n;
	}
	return 0;
}

static ssize_t
proxy_proto_v2(const unsigned char *buf, size_t len, struct proxy_hdr *h,
    const char **cause)
{
	size_t		 alen, need;
	uint16_t	 sport, dport;
	unsigned char	 cmd, fam;

	if (len < PP_V2_HDRLEN)
		return 0;
	cmd = buf[12];
	if (cmd != PP_V2_LOCAL && cmd != PP_V2_PROXY) {
		*cause = (cmd & 0xf0) != 0x20 ? "v2: version is not 2" :
		    "v2: command is neither LOCAL nor PROXY";
		return -1;
	}
	fam = buf[13];
	if ((fam >> 4) > 3 || (fam & 0x0f) > 2) {
		*cause = "v2: unknown address family or transport";
		return -1;
	}
	alen = (size_t)buf[14] << 8 | buf[15];
	if (PP_V2_HDRLEN + alen > PROXY_HDR_MAX) {
		*cause = "v2: longer than porter takes";
		return -1;
	}
	need = (fam >> 4) == 1 ? PP_V2_LEN4 : (fam >> 4) == 2 ? PP_V2_LEN6 :
	    (fam >> 4) == 3 ? PP_V2_LENUNIX : 0;
	if (alen < need) {
		*cause = "v2: address block too short for its family";
		return -1;
	}
	if (len < PP_V2_HDRLEN + alen)
		return 0;
	buf += PP_V2_HDRLEN;
	/* Past known addresses, TLVs: skipped, but they must fit. */
	if (cmd == PP_V2_PROXY && need > 0 &&
	    proxy_proto_tlvs(buf + need, alen - need) == -1) {
		*cause = "v2: malformed TLV";
		return -1;
	}
	h->ph_version = 2;
	/* LOCAL, and what porter does not relay (UDP, unix), are "unknown":
	 * the connection's own addresses hold. */
	if (cmd == PP_V2_LOCAL || (fam != PP_V2_TCP4 &&
	    fam != PP_V2_TCP6)) {
		h->ph_local = 1;
		return (ssize_t)(PP_V2_HDRLEN + alen);
	}
	sport = (uint16_t)(buf[need - 4] << 8 | buf[need - 3]);
	dport = (uint16_t)(buf[need - 2] << 8 | buf[need - 1]);
	if (fam == PP_V2_TCP4) {
		proxy_proto_set4(&h->ph_src, buf, sport);
		proxy_proto_set4(&h->ph_dst, buf + 4, dport);
		h->ph_len = (socklen_t)sizeof(struct sockaddr_in);
	} else {
		proxy_proto_set6(&h->ph_src, buf, sport);
		proxy_proto_set6(&h->ph_dst, buf + 16, dport);
		h->ph_len = (socklen_t)sizeof(struct sockaddr_in6);
	}
	return (ssize_t)(PP_V2_HDRLEN + alen);
}

/*
 * A PROXY header (v1 or v2, whichever it is) at the start of buf. Returns
 * its length with *h filled in, 0 if buf is a valid start of one that
 * needs more bytes, or -1 with *cause (a constant string) if it is not
 * one. ph_local set: the sender knows no better (UNKNOWN, LOCAL, UNSPEC,
 * unix or UDP), use the connection's own addresses.
 */
ssize_t
proxy_proto_parse(const void *data, size_t len, struct proxy_hdr *h,
    const char **cause)
{
	const unsigned char	*buf = data;

	memset(h, 0, sizeof(*h));
	if (len > 0 && buf[0] == 'P') {
		if (memcmp(buf, PP_V1_SIG, len < PP_V1_SIGLEN ? len :
		    PP_V1_SIGLEN) != 0)
			goto bad;
		return len < PP_V1_SIGLEN ? 0 : proxy_proto_v1(buf, len, h,
		    cause);
	}
	if (memcmp(buf, PP_V2_SIG, len < PP_V2_SIGLEN ? len : PP_V2_SIGLEN) !=
	    0)
		goto bad;
	return proxy_proto_v2(buf, len, h, cause);

 bad:
	*cause = "not a PROXY protocol header";
	return -1;
}

/* Both IPv4 (mapped ones made plain), or both IPv6: their family, or 0. */
static int
proxy_proto_family(const struct sockaddr *src, const struct sockaddr *dst,
    struct sockaddr_storage *s, struct sockaddr_storage *d)
{
	const struct sockaddr_in6	*s6, *d6;

	if (src == NULL || dst == NULL || src->sa_family != dst->sa_family)
		return 0;
	if (src->sa_family == AF_INET) {
		memcpy(s, src, sizeof(struct sockaddr_in));
		memcpy(d, dst, sizeof(struct sockaddr_in));
		return AF_INET;
	}
	if (src->sa_family != AF_INET6)
		return 0;
	s6 = (const struct sockaddr_in6 *)(const void *)src;
	d6 = (const struct sockaddr_in6 *)(const void *)dst;
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) !=
	    IN6_IS_ADDR_V4MAPPED(&d6->sin6_addr))
		return 0;
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		proxy_proto_set4(s, &s6->sin6_addr.s6_addr[12],
		    ntohs(s6->sin6_port));
		proxy_proto_set4(d, &d6->sin6_addr.s6_addr[12],
		    ntohs(d6->sin6_port));
		return AF_INET;
	}
	memcpy(s, src, sizeof(struct sockaddr_in6));
	memcpy(d, dst, sizeof(struct sockaddr_in6));
	return AF_INET6;
}

/*
 * An IPv6 address as v1 wants it: hex groups only. inet_ntop() writes
 * some (::1.2.3.4) with a dotted tail, which v1 does not allow: those go
 * uncompressed.
 */
static const char *
proxy_proto_ntop6(const struct in6_addr *a, char *buf, size_t size)
{
	const unsigned char	*b = a->s6_addr;

	if (inet_ntop(AF_INET6, a, buf, (socklen_t)size) != NULL &&
	    strchr(buf, '.') == NULL)
		return buf;
	snprintf(buf, size, "%x:%x:%x:%x:%x:%x:%x:%x", b[0] << 8 | b[1],
	    b[2] << 8 | b[3], b[4] << 8 | b[5], b[6] << 8 | b[7],
	    b[8] << 8 | b[9], b[10] << 8 | b[11], b[12] << 8 | b[13],
	    b[14] << 8 | b[15]);
	return buf;
}

static ssize_t
proxy_proto_build_v1(int af, const struct sockaddr_storage *s,
    const struct sockaddr_storage *d, char *buf, size_t size)
{
	char	sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN];
	int	n;

	if (af == 0)
		n = snprintf(buf, size, "PROXY UNKNOWN\r\n");
	else if (af == AF_INET)
		n = snprintf(buf, size, "PROXY TCP4 %s %s %u %u\r\n",
		    inet_ntop(AF_INET, &((const struct sockaddr_in *)s)->
		    sin_addr, sa, sizeof(sa)), inet_ntop(AF_INET,
		    &((const struct sockaddr_in *)d)->sin_addr, da, sizeof(da)),
		    ntohs(((const struct sockaddr_in *)s)->sin_port),
		    ntohs(((const struct sockaddr_in *)d)->sin_port));
	else
		n = snprintf(buf, size, "PROXY TCP6 %s %s %u %u\r\n",
		    proxy_proto_ntop6(&((const struct sockaddr_in6 *)s)->
		    sin6_addr, sa, sizeof(sa)), proxy_proto_ntop6(
		    &((const struct sockaddr_in6 *)d)->sin6_addr, da,
		    sizeof(da)),
		    ntohs(((const struct sockaddr_in6 *)s)->sin6_port),
		    ntohs(((const struct sockaddr_in6 *)d)->sin6_port));
	if (n < 0 || (size_t)n >= size)
		return -1;
	return n;
}

static ssize_t
proxy_proto_build_v2(int af, const struct sockaddr_storage *s,
    const struct sockaddr_storage *d, char *buf, size_t size)
{
	const struct sockaddr_in	*s4, *d4;
	const struct sockaddr_in6	*s6, *d6;
	unsigned char			*p = (unsigned char *)buf;
	size_t				 alen;

	alen = af == AF_INET ? PP_V2_LEN4 : af == AF_INET6 ? PP_V2_LEN6 : 0;
	if (size < PP_V2_HDRLEN + alen)
		return -1;
	memcpy(p, PP_V2_SIG, PP_V2_SIGLEN);
	p[12] = af == 0 ? PP_V2_LOCAL : PP_V2_PROXY;
	p[13] = af == AF_INET ? PP_V2_TCP4 : af == AF_INET6 ? PP_V2_TCP6 : 0;
	p[14] = 0;
	p[15] = (unsigned char)alen;
	p += PP_V2_HDRLEN;
	if (af == AF_INET) {
		s4 = (const struct sockaddr_in *)s;
		d4 = (const struct sockaddr_in *)d;
		memcpy(p, &s4->sin_addr, 4);
		memcpy(p + 4, &d4->sin_addr, 4);
		memcpy(p + 8, &s4->sin_port, 2);
		memcpy(p + 10, &d4->sin_port, 2);
	} else if (af == AF_INET6) {
		s6 = (const struct sockaddr_in6 *)s;
		d6 = (const struct sockaddr_in6 *)d;
		memcpy(p, &s6->sin6_addr, 16);
		memcpy(p + 16, &d6->sin6_addr, 16);
		memcpy(p + 32, &s6->sin6_port, 2);
		memcpy(p + 34, &d6->sin6_port, 2);
	}
	return (ssize_t)(PP_V2_HDRLEN + alen);
}

/*
 * Build a version (1 or 2) header for a connection from src to dst into
 * buf (PROXY_OUT_MAX bytes are always enough). What it cannot express
 * (NULL, unix, mixed families) goes as v1 UNKNOWN or v2 LOCAL: the
 * receiver uses the connection's own addresses. Returns the length, or -1
 * if buf is too small.
 */
ssize_t
proxy_proto_build(int version, const struct sockaddr *src,
    const struct sockaddr *dst, char *buf, size_t size)
{
	struct sockaddr_storage	s, d;
	int			af;

	af = proxy_proto_family(src, dst, &s, &d);
	if (version == 1)
		return proxy_proto_build_v1(af, &s, &d, buf, size);
	return proxy_proto_build_v2(af, &s, &d, buf, size);
}

/* "1.2.3.4:5678" or "[::1]:5678" (or "?"), into buf. */
const char *
proxy_proto_ntop(const struct sockaddr *sa, char *buf, size_t size)
{
	char	a[INET6_ADDRSTRLEN];

	if (sa != NULL && sa->sa_family == AF_INET &&
	    inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)
	    sa)->sin_addr, a, sizeof(a)) != NULL)
		snprintf(buf, size, "%s:%u", a, ntohs(((const struct
		    sockaddr_in *)(const void *)sa)->sin_port));
	else if (sa != NULL && sa->sa_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)
	    sa)->sin6_addr, a, sizeof(a)) != NULL)
		snprintf(buf, size, "[%s]:%u", a, ntohs(((const struct
		    sockaddr_in6 *)(const void *)sa)->sin6_port));
	else
		snprintf(buf, size, "?");
	return buf;
}
