/*
 * schedule.h - who is on call: layers, restrictions and overrides (docs/SCHEDULES.md).
 *
 * Pure functions of a schedule from the config, the schedule's overrides from the
 * store and an instant: no I/O, no store, no clock.  Every instant is UTC ms.  The
 * user ids returned are borrowed from the schedule or the overrides passed in and
 * live as long as they do.
 */
#ifndef TOCSIN_SCHEDULE_H
#define TOCSIN_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "model.h"	/* struct override: as the store keeps it */

/* The longest window schedule_shifts() answers for, and the longest horizon of
 * schedule_shift_at() (a longer one is shortened to this). */
#define SCHEDULE_MAX_SPAN (366 * MS_PER_DAY)
/* Instants where the on-call user may change, at most, within one window: a turn of
 * a few minutes over a year would need more; schedule_shifts() then refuses. */
#define SCHEDULE_MAX_BOUNDARIES (1 << 18)

struct shift {
	const char *user;	/* borrowed; NULL: nobody is on call (a gap) */
	int64_t start, end;	/* UTC ms, [start, end) */
};

/*
 * In the three calls, ov[0..nov) are the schedule's overrides in any order: each
 * replaces the layers' user in [start, end); where they overlap the later created_at
 * wins, on a tie the higher id.  One naming another schedule (schedule non-NULL and
 * not s->id) is ignored.
 */

/* Who is on call at t: a user id, or NULL for nobody.  O(layers + overrides), no
 * allocation, thread-safe: this is the hot lookup. */
const char *schedule_user_at(const struct schedule *s, const struct override *ov, size_t nov,
			     int64_t t);

/*
 * The shift holding t: its user and bounds, searched at most horizon ms before and
 * after t.  A bound the search does not reach is t - horizon or t + horizon.  horizon
 * is taken as at least 1 ms and at most SCHEDULE_MAX_SPAN.
 */
struct shift schedule_shift_at(const struct schedule *s, const struct override *ov, size_t nov,
			       int64_t t, int64_t horizon);

/*
 * The shifts covering [from, to): maximal intervals with one user (or nobody), in
 * order, adjacent ones with different users, the first starting at from and the last
 * ending at to.  Returns how many and sets *out (the caller free()s it).  Returns 0
 * with *out NULL when from >= to, to - from > SCHEDULE_MAX_SPAN or the window holds
 * more than SCHEDULE_MAX_BOUNDARIES possible changes: callers check the span first.
 */
size_t schedule_shifts(const struct schedule *s, const struct override *ov, size_t nov,
		       int64_t from, int64_t to, struct shift **out) WARN_UNUSED;

#endif
