/*
 * addr.c: what porter does with a parsed address (struct addr, made by
 * conf_parse_addr): its port, and whether two are the same.
 */
#include "config.h"

#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include "porter.h"

int
addr_port(const struct addr *a)
{
	if (a->a_ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&a->a_ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)&a->a_ss)->sin_port);
}

/* Set the port; the text becomes "port N". */
void
addr_set_port(struct addr *a, int port)
{
	in_port_t	p = htons((in_port_t)port);

	if (a->a_ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&a->a_ss)->sin6_port = p;
	else
		((struct sockaddr_in *)&a->a_ss)->sin_port = p;
	snprintf(a->a_text, sizeof(a->a_text), "port %d", port);
}

/* Same family, address and port (the text does not count). */
int
addr_eq(const struct addr *a, const struct addr *b)
{
	const struct sockaddr_in	*a4, *b4;
	const struct sockaddr_in6	*a6, *b6;

	if (a->a_ss.ss_family != b->a_ss.ss_family)
		return 0;
	if (a->a_ss.ss_family == AF_INET6) {
		a6 = (const struct sockaddr_in6 *)&a->a_ss;
		b6 = (const struct sockaddr_in6 *)&b->a_ss;
		return a6->sin6_port == b6->sin6_port &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr,
		    sizeof(a6->sin6_addr)) == 0;
	}
	a4 = (const struct sockaddr_in *)&a->a_ss;
	b4 = (const struct sockaddr_in *)&b->a_ss;
	return a4->sin_port == b4->sin_port &&
	    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
}

/* Whether binding both would collide: the same port, and the same address
 * or a wildcard on either side (within one family). */
int
addr_overlaps(const struct addr *a, const struct addr *b)
{
	const struct sockaddr_in	*a4, *b4;
	const struct sockaddr_in6	*a6, *b6;

	if (a->a_ss.ss_family != b->a_ss.ss_family ||
	    addr_port(a) != addr_port(b))
		return 0;
	if (a->a_ss.ss_family == AF_INET6) {
		a6 = (const struct sockaddr_in6 *)&a->a_ss;
		b6 = (const struct sockaddr_in6 *)&b->a_ss;
		return IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr) ||
		    IN6_IS_ADDR_UNSPECIFIED(&b6->sin6_addr) ||
		    memcmp(&a6->sin6_addr, &b6->sin6_addr,
		    sizeof(a6->sin6_addr)) == 0;
	}
	a4 = (const struct sockaddr_in *)&a->a_ss;
	b4 = (const struct sockaddr_in *)&b->a_ss;
	return a4->sin_addr.s_addr == b4->sin_addr.s_addr ||
	    a4->sin_addr.s_addr == htonl(INADDR_ANY) ||
	    b4->sin_addr.s_addr == htonl(INADDR_ANY);
}

/* "1.2.3.4:80" or "[::1]:80", for messages. */
void
addr_text(const struct addr *a, char *buf, size_t len)
{
	char	host[INET6_ADDRSTRLEN] = "?";

	if (a->a_ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)
		    &a->a_ss)->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%d", host, addr_port(a));
	} else if (a->a_ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)
		    &a->a_ss)->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%d", host, addr_port(a));
	} else
		snprintf(buf, len, "(family %d)", a->a_ss.ss_family);
}
