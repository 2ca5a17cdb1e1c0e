/*
 * fuzz_control.c: libFuzzer target for the control socket's line parser,
 * and the upstream line an "add upstream" carries (numeric: no DNS). Any
 * bytes: a command is taken or refused with a one-line message, never a
 * crash; what is taken is within bounds.
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
		fprintf(stderr, "fuzz_control.c:%d: %s\n", __LINE__,	\
		    (what));						\
		abort();						\
	}								\
} while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_cmd	 cc;
	struct upstream_line	 ul;
	const char		*err = NULL;
	char			*line, *msg = NULL;

	if ((line = malloc(size + 1)) == NULL)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';	/* the socket's reader stops at a NUL */
	if (control_parse(line, &cc, &err) == -1) {
		FAIL_IF(err == NULL, "refused without a message");
		FAIL_IF(strchr(err, '\n') != NULL, "a message of many lines");
		free(line);
		return 0;
	}
	FAIL_IF(cc.cc_argc < 0 || cc.cc_argc > CONTROL_MAX_WORDS,
	    "too many words");
	switch (cc.cc_verb) {
	case CONTROL_ADD_UPSTREAM:
		FAIL_IF(cc.cc_argc < 1, "add upstream without words");
		if (upstream_parse(cc.cc_argc, cc.cc_argv, 1, &ul, &msg) ==
		    -1)
			FAIL_IF(msg == NULL, "upstream refused without why");
		else {
			FAIL_IF(ul.ul_kind != UPSTREAM_SRV &&
			    (ul.ul_port < 1 || ul.ul_port > 65535),
			    "a port out of range");
			FAIL_IF(ul.ul_weight > 65535, "a weight out of range");
		}
		free(msg);
		break;
	case CONTROL_SET_STATE:
	case CONTROL_DEL_UPSTREAM:
		FAIL_IF(cc.cc_target == NULL, "no target");
		break;
	case CONTROL_SET_WEIGHT:
		FAIL_IF(cc.cc_target == NULL || cc.cc_n < 0 || cc.cc_n > 65535,
		    "bad weight");
		break;
	case CONTROL_SCALE:
		FAIL_IF(cc.cc_n < 0 || cc.cc_n > PORTER_MAX_WORKERS / 2,
		    "bad scale");
		break;
	default:
		break;
	}
	free(line);
	return 0;
}
