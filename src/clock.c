/*
 * clock.c - real time plus an optional, test-only forward offset.  See clock.h.
 */
#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "timeutil.h"
#include "util.h"
#include "banned.h"

static int64_t offset_ms;	/* atomic */
static int64_t step_ms;		/* atomic: a simulated wall-clock step */
static int test_enabled;	/* written once at start */

static int64_t ts_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_wall_ms(void)
{
	return ts_ms(CLOCK_REALTIME) + __atomic_load_n(&step_ms, __ATOMIC_RELAXED);
}

int64_t clock_now_ms(void)
{
	return clock_wall_ms() + __atomic_load_n(&offset_ms, __ATOMIC_RELAXED);
}

int64_t clock_mono_ms(void)
{
	return ts_ms(CLOCK_MONOTONIC);
}

int64_t clock_boot_ms(void)
{
	return ts_ms(CLOCK_BOOTTIME);
}

void clock_step(int64_t ms)
{
	if (test_enabled)
		__atomic_add_fetch(&step_ms, ms, __ATOMIC_RELAXED);
}

int clock_init_from_env(char **err)
{
	const char *on = getenv("TOCSIN_TEST_CLOCK");
	const char *off = getenv("TOCSIN_TEST_CLOCK_OFFSET");
	int64_t ms = 0;

	test_enabled = on && *on && *on != '0';
	if (!test_enabled || !off || !*off)
		return 0;
	if (duration_parse(off, &ms) < 0) {
		*err = xasprintf("TOCSIN_TEST_CLOCK_OFFSET: bad duration '%s'", off);
		return -1;
	}
	offset_ms = ms;
	return 0;
}

int clock_is_test(void)
{
	return test_enabled;
}

void clock_advance(int64_t ms)
{
	if (test_enabled && ms > 0)
		__atomic_add_fetch(&offset_ms, ms, __ATOMIC_RELAXED);
}

int64_t clock_offset(void)
{
	return __atomic_load_n(&offset_ms, __ATOMIC_RELAXED);
}
