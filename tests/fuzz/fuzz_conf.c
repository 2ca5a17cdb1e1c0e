/*
 * fuzz_conf.c: libFuzzer target for the conf parser. Any bytes as a conf
 * file: conf_parse() and conf_check() may refuse them, never crash or leak.
 */
#include "config.h"		/* _GNU_SOURCE: RTLD_NEXT */

#include <dlfcn.h>
#include <netdb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/porter.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

typedef int (*getaddrinfo_fn)(const char *, const char *,
    const struct addrinfo *, struct addrinfo **);

/*
 * conf_parse_addr() resolves names: here only numeric hosts and
 * /etc/hosts's localhost are looked up, so that a fuzzed "listen" line
 * never becomes a DNS query (slow, and traffic off this machine).
 */
int
getaddrinfo(const char *host, const char *serv, const struct addrinfo *hints,
    struct addrinfo **res)
{
	static getaddrinfo_fn	 real;
	struct addrinfo		 h;

	if (real == NULL &&
	    (real = (getaddrinfo_fn)dlsym(RTLD_NEXT, "getaddrinfo")) == NULL)
		abort();
	memset(&h, 0, sizeof(h));
	if (hints != NULL)
		h = *hints;
	if (host == NULL || strcmp(host, "localhost") != 0)
		h.ai_flags |= AI_NUMERICHOST;
	return real(host, serv, &h, res);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf	*c;
	char		*cause = NULL;

	if ((c = conf_new()) == NULL)
		abort();
	if (conf_parse(c, "/fuzz/porter.conf", (const char *)data, size,
	    &cause) == 0) {
		if (cause != NULL)	/* an answer with no error */
			abort();
		(void)conf_check(c, &cause);
	} else if (cause == NULL)	/* an error names file:line */
		abort();
	free(cause);
	conf_free(c);
	return 0;
}
