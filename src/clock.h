/*
 * clock.h - the one source of "now".
 *
 * clock_now_ms() is UTC milliseconds: real time plus a test offset.  The offset is 0
 * in production; when TOCSIN_TEST_CLOCK=1 is in the environment, tests may move time
 * forward (clock_advance, reached through POST /api/test/clock) so escalations,
 * ack timeouts and auto-resolve can be tested in seconds instead of hours, and the
 * start offset can be given as TOCSIN_TEST_CLOCK_OFFSET (a duration, e.g. "2h") so a
 * restarted daemon continues at the moved time.  This offset is the process's only
 * global mutable state outside struct server: every module needs "now", and the
 * offset is test-only.
 *
 * clock_mono_ms() is the monotonic clock, for measuring and waiting: never for
 * deadlines, which are UTC and persisted.  clock_boot_ms() is CLOCK_BOOTTIME, the
 * monotonic clock that also counts suspended time: wall time minus boot time changes
 * only when the wall clock is stepped, which is how the engine notices a step.
 *
 * clock_step() (tests only, POST /api/test/clock {"step": ...}) simulates such a
 * step: it moves clock_wall_ms() and clock_now_ms() but not the boot clock, exactly
 * as `date -s` would, without touching the machine's clock.
 */
#ifndef TOCSIN_CLOCK_H
#define TOCSIN_CLOCK_H

#include <stdint.h>

int64_t clock_now_ms(void);
int64_t clock_mono_ms(void);
int64_t clock_boot_ms(void);
/* The wall clock as the machine has it (plus a simulated step): no test offset. */
int64_t clock_wall_ms(void);

/* Reads TOCSIN_TEST_CLOCK / TOCSIN_TEST_CLOCK_OFFSET; returns -1 with *err on a bad
 * offset.  Call once at start, before threads. */
int clock_init_from_env(char **err);
/* True when the test clock is enabled. */
int clock_is_test(void);
/* Moves the test clock forward by ms (>= 0).  No effect unless enabled. */
void clock_advance(int64_t ms);
int64_t clock_offset(void);
/* Simulates a wall-clock step of ms (either sign).  No effect unless enabled. */
void clock_step(int64_t ms);

#endif
