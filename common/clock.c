/*
 * clock.c: the one reader of CLOCK_MONOTONIC (see clock.h).  It does not
 * read the wall clock, which log time stamps and the store's expiry use
 * on purpose.
 */
#include <time.h>

#include "clock.h"

uint64_t
clock_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t
clock_mono_ms(void)
{
	return (int64_t)(clock_mono_ns() / 1000000u);
}
