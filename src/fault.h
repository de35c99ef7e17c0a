/*
 * fault.h - named crash points for the crash-safety tests.
 *
 * A test starts the daemon with TOCSIN_TEST_CLOCK=1 and TOCSIN_TEST_KILL_AT=NAME
 * (optionally NAME:N, the Nth time the point is reached); when the code reaches
 * fault_point("NAME") that time, the process sends itself SIGKILL, exactly as an
 * operator's `kill -9` would, but at a chosen instant: before a step writes, after
 * it wrote and before its commit, after the commit.  Without both variables a point
 * costs one load and one compare.  The chosen point is the process's only other
 * global mutable state outside struct server: it is set once at start and test-only.
 *
 * Points: escalate.before, escalate.written, escalate.committed (escalate.c, engine.c);
 * notify.answered, a provider accepted a delivery that is not recorded yet (notify.c);
 * postmortem.written, a required postmortem is written with its resolve, uncommitted
 * (review.c).
 */
#ifndef TOCSIN_FAULT_H
#define TOCSIN_FAULT_H

/* Reads TOCSIN_TEST_KILL_AT; call once at start, before threads. */
void fault_init_from_env(void);
/* Kills the process with SIGKILL when name is the armed point, on its Nth reach. */
void fault_point(const char *name);

#endif
