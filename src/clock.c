/*
 * clock.c: time as porter counts it: milliseconds on a clock that never
 * jumps, and the timevals libevent wants.
 */
#include "config.h"

#include <time.h>

#include "porter.h"

/* Milliseconds since some fixed point (CLOCK_MONOTONIC). */
uint64_t
clock_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A timeval in milliseconds. */
long long
clock_tv_ms(const struct timeval *tv)
{
	return (long long)tv->tv_sec * 1000 + tv->tv_usec / 1000;
}

/* ms milliseconds as a timeval, in tv, which is returned. */
struct timeval *
clock_tv(long long ms, struct timeval *tv)
{
	if (ms < 0)
		ms = 0;
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)((ms % 1000) * 1000);
	return tv;
}
