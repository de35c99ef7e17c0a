/*
 * fault.c - test-only crash points.  See fault.h.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "fault.h"
#include "util.h"
#include "banned.h"

static char *armed;		/* the point's name, or NULL; written once at start */
static long remaining;		/* reaches left before the kill; atomic */

void fault_init_from_env(void)
{
	const char *v = getenv("TOCSIN_TEST_KILL_AT");
	if (!v || !*v || !clock_is_test())
		return;
	const char *colon = strchr(v, ':');
	armed = colon ? xstrndup(v, (size_t)(colon - v)) : xstrdup(v);
	remaining = colon ? strtol(colon + 1, NULL, 10) : 1;
	if (remaining < 1)
		remaining = 1;
	log_info("test: crash point '%s' armed (reach %ld)", armed, remaining);
}

void fault_point(const char *name)
{
	if (!armed || strcmp(armed, name))
		return;
	if (__atomic_sub_fetch(&remaining, 1, __ATOMIC_SEQ_CST) == 0) {
		log_info("test: crash point '%s' reached: SIGKILL", name);
		raise(SIGKILL);
	}
}
