/* The host's monotonic clock.  Every timeout, rate limit and event-loop
 * timer reads this one clock, so deadlines taken in one place can be
 * compared with "now" taken in another. */
#ifndef XENKVM_CLOCK_H
#define XENKVM_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t clock_mono_ms(void)
{
	return clock_mono_ns() / 1000000ull;
}

#endif
