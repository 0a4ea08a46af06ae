/*
 * clock.h: the monotonic clock, read one way everywhere (durations in
 * logs, caches' ages, timings).  Never the wall clock: a step of the
 * system time must not make a duration negative or an entry immortal.
 */
#ifndef MOAT_CLOCK_H
#define MOAT_CLOCK_H

#include <stdint.h>

/* clock_mono_ns: nanoseconds on CLOCK_MONOTONIC (an arbitrary origin). */
uint64_t clock_mono_ns(void);
/* clock_mono_ms: the same in milliseconds. */
int64_t	clock_mono_ms(void);

#endif
