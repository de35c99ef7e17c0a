/*
 * schedule.c - who is on call, and the shifts of a schedule (docs/SCHEDULES.md).
 *
 * Entry points: schedule_user_at() (the hot lookup: paging, the API's "on call now"),
 * schedule_shift_at() and schedule_shifts() (tables and calendars).
 *
 * Rotations are defined in wall-clock time: "09:00 local every Monday" stays 09:00
 * when DST starts.  So a handoff is computed on the *naive* local date-time, a count
 * of milliseconds since 1970-01-01T00:00 of the local calendar with no zone in it:
 * handoff k is start + k * turn there (or start plus k * months calendar months,
 * the day clamped to the month's end), and only then converted to UTC with
 * walltime_to_ms(), which applies the contract's gap and repeat rules.  Adding the
 * turn to a UTC instant instead would drift an hour at every DST change.
 *
 * schedule_user_at(t) reads t's local time once (struct moment).  For each layer it
 * estimates k from the naive difference, then corrects it by single steps until
 * handoff_k <= t < handoff_k+1 (several steps only for turns shorter than a DST jump).
 * A handoff two days or more from t on the naive scale is before or after t whatever
 * the zone does, so most lookups convert nothing to UTC.  The top layer with someone
 * inside its restrictions wins; an override covering t beats all layers.
 *
 * Shifts come from boundaries: the on-call user can change only where some input
 * does -- a layer's handoff, a restriction window's edge, a zone's offset change
 * (local time jumps over or back across an edge), an override's start or end.
 * Collect every such instant in the window, sort, evaluate schedule_user_at() at
 * each, keep the ones where the user changes.  Extra boundaries cost time, never
 * correctness; a missing one would hide a change, hence the generous margins.
 * schedule_shift_at() does the same in windows that double away from t.
 *
 * A new input kind (say, holidays) is one more boundary source in collect().
 */
#include <stdlib.h>
#include <string.h>

#include "schedule.h"
#include "banned.h"

/* Further apart on the naive scale than any zone's offset ever moved (26 h). */
#define NEAR_MS (2 * MS_PER_DAY)
#define MIN_PER_DAY (24 * 60)
#define MONDAY0 4 /* 1970-01-05, the first Monday after the epoch, in days */

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int same_user(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* ---- naive local time ---- */

/* t as the schedule's zone reads it, computed once per lookup. */
struct moment {
	int64_t t;
	int64_t local;	/* naive local ms */
	int day_min;	/* minutes since local midnight */
	int week_min;	/* minutes since local Monday 00:00 */
};

static void moment_init(struct moment *m, const char *tz, int64_t t)
{
	struct walltime wt;
	int weekday;

	ms_to_walltime(t, tz, &wt, &weekday);
	m->t = t;
	m->local = walltime_to_naive(&wt) * MS_PER_SEC + (t - floor_div(t, MS_PER_SEC) * MS_PER_SEC);
	m->day_min = wt.hour * 60 + wt.minute;
	m->week_min = weekday * MIN_PER_DAY + m->day_min;
}

/* UTC offset (ms) in force at t. */
static int64_t offset_at(const char *tz, int64_t t)
{
	struct moment m;

	moment_init(&m, tz, t);
	return m.local - t;
}

static int64_t naive_to_utc(int64_t naive, const char *tz)
{
	int64_t sec = floor_div(naive, MS_PER_SEC);
	struct walltime wt;

	walltime_from_naive(sec, &wt);
	return walltime_to_ms(&wt, tz) + (naive - sec * MS_PER_SEC);
}

/* ---- a layer's rotation ---- */

/* Naive local ms of handoff k >= 0. */
static int64_t handoff_naive(const struct layer *l, int64_t k)
{
	struct walltime wt = l->start;
	int64_t m;

	if (!l->turn.months)
		return walltime_to_naive(&l->start) * MS_PER_SEC + k * l->turn.ms;
	m = wt.year * 12LL + (wt.month - 1) + k * l->turn.months;
	wt.year = (int)(m / 12);
	wt.month = (int)(m % 12) + 1;
	if (wt.day > walltime_month_days(wt.year, wt.month))
		wt.day = walltime_month_days(wt.year, wt.month);
	return walltime_to_naive(&wt) * MS_PER_SEC;
}

/* The last k whose naive handoff is at or before naive time local; -1: none. */
static int64_t naive_index(const struct layer *l, int64_t local)
{
	int64_t start = handoff_naive(l, 0), k;
	struct walltime wt;

	if (local < start)
		return -1;
	if (!l->turn.months)
		return (local - start) / l->turn.ms;
	walltime_from_naive(floor_div(local, MS_PER_SEC), &wt);
	k = ((wt.year - l->start.year) * 12LL + (wt.month - l->start.month)) / l->turn.months;
	if (handoff_naive(l, k) > local)
		k--; /* same month, later day or time */
	return k;
}

/* Whether handoff k has happened by m->t; converts to UTC only when it is close. */
static int handoff_passed(const struct layer *l, const char *tz, int64_t k,
			  const struct moment *m)
{
	int64_t n = handoff_naive(l, k);

	if (n <= m->local - NEAR_MS)
		return 1;
	if (n > m->local + NEAR_MS)
		return 0;
	return naive_to_utc(n, tz) <= m->t;
}

/* The last k with handoff_k <= t; -1 before the first handoff. */
static int64_t layer_index(const struct layer *l, const char *tz, const struct moment *m)
{
	int64_t k = naive_index(l, m->local);

	while (k >= 0 && !handoff_passed(l, tz, k, m))
		k--;
	while (handoff_passed(l, tz, k + 1, m))
		k++;
	return k;
}

static int in_window(const struct restrict_window *w, int min)
{
	if (w->start < w->end)
		return min >= w->start && min < w->end;
	return min >= w->start || min < w->end;
}

/* Whether m falls inside the layer's restrictions (always, without any). */
static int layer_open(const struct layer *l, const struct moment *m)
{
	if (!l->ndaily && !l->nweekly)
		return 1;
	for (size_t i = 0; i < l->ndaily; i++)
		if (in_window(&l->daily[i], m->day_min))
			return 1;
	for (size_t i = 0; i < l->nweekly; i++)
		if (in_window(&l->weekly[i], m->week_min))
			return 1;
	return 0;
}

static const char *layer_user(const struct layer *l, const char *tz, const struct moment *m)
{
	int64_t k;

	if (!layer_open(l, m) || (k = layer_index(l, tz, m)) < 0)
		return NULL;
	return l->users.v[k % (int64_t)l->users.n];
}

/* ---- overrides ---- */

static int override_applies(const struct schedule *s, const struct override *o)
{
	return !o->schedule || !s->id || !strcmp(o->schedule, s->id);
}

static int override_newer(const struct override *a, const struct override *b)
{
	return a->created_at != b->created_at ? a->created_at > b->created_at : a->id > b->id;
}

static const struct override *override_at(const struct schedule *s, const struct override *ov,
					  size_t nov, int64_t t)
{
	const struct override *best = NULL;

	for (size_t i = 0; i < nov; i++) {
		const struct override *o = &ov[i];
		if (t < o->start || t >= o->end || !override_applies(s, o))
			continue;
		if (!best || override_newer(o, best))
			best = o;
	}
	return best;
}

const char *schedule_user_at(const struct schedule *s, const struct override *ov, size_t nov,
			     int64_t t)
{
	const struct override *o = override_at(s, ov, nov, t);
	struct moment m;

	if (o)
		return o->user;
	moment_init(&m, s->time_zone, t);
	for (size_t i = s->nlayers; i-- > 0;) {
		const char *u = layer_user(&s->layers[i], s->time_zone, &m);
		if (u)
			return u;
	}
	return NULL;
}

/* ---- boundaries ---- */

/* Instants in [lo, hi) where the on-call user may change; full: too many. */
struct bounds {
	int64_t lo, hi;
	int64_t *v;
	size_t n, cap;
	int full;
};

static void bound_add(struct bounds *b, int64_t t)
{
	if (t < b->lo || t >= b->hi || b->full)
		return;
	if (b->n == SCHEDULE_MAX_BOUNDARIES) {
		b->full = 1;
		return;
	}
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		b->v = xrealloc(b->v, b->cap * sizeof(*b->v));
	}
	b->v[b->n++] = t;
}

static void add_handoffs(struct bounds *b, const struct layer *l, const char *tz)
{
	int64_t k = naive_index(l, b->lo - NEAR_MS), n;

	for (k = k < 0 ? 0 : k; !b->full; k++) {
		n = handoff_naive(l, k);
		if (n > b->hi + NEAR_MS)
			break;
		bound_add(b, naive_to_utc(n, tz));
	}
}

/* Local time crosses naive instant e at e minus whichever offset is in force. */
static void add_edge(struct bounds *b, const char *tz, int64_t e)
{
	if (e < b->lo - NEAR_MS || e > b->hi + NEAR_MS)
		return;
	bound_add(b, e - offset_at(tz, e - MS_PER_DAY));
	bound_add(b, e - offset_at(tz, e + MS_PER_DAY));
}

/* Window edges repeating every period (a day or a week) from naive instant first. */
static void add_windows(struct bounds *b, const char *tz, const struct restrict_window *w,
			size_t n, int64_t first, int64_t period)
{
	for (int64_t p = first; p <= b->hi + NEAR_MS && !b->full; p += period) {
		for (size_t i = 0; i < n; i++) {
			add_edge(b, tz, p + w[i].start * MS_PER_MIN);
			add_edge(b, tz, p + w[i].end * MS_PER_MIN);
		}
	}
}

static void add_restrictions(struct bounds *b, const struct layer *l, const char *tz)
{
	int64_t day = floor_div(b->lo - NEAR_MS, MS_PER_DAY);
	int64_t monday = day - ((day - MONDAY0) % 7 + 7) % 7;

	add_windows(b, tz, l->daily, l->ndaily, day * MS_PER_DAY, MS_PER_DAY);
	add_windows(b, tz, l->weekly, l->nweekly, monday * MS_PER_DAY, MS_PER_WEEK);
}

/* The first second at which the offset differs from the one at second a (< z). */
static int64_t find_change(const char *tz, int64_t a, int64_t z)
{
	int64_t off = offset_at(tz, a * MS_PER_SEC);

	while (z - a > 1) {
		int64_t mid = a + (z - a) / 2;
		if (offset_at(tz, mid * MS_PER_SEC) == off)
			a = mid;
		else
			z = mid;
	}
	return z * MS_PER_SEC;
}

/* Offset changes, where local time jumps over (or back across) window edges.  Days
 * are sampled: two changes within one day that cancel out are not seen. */
static void add_transitions(struct bounds *b, const char *tz)
{
	int64_t sec = floor_div(b->lo, MS_PER_SEC) - 86400, end = floor_div(b->hi, MS_PER_SEC);
	int64_t off = offset_at(tz, sec * MS_PER_SEC), next;

	for (; sec <= end; sec += 86400, off = next) {
		next = offset_at(tz, (sec + 86400) * MS_PER_SEC);
		if (next != off)
			bound_add(b, find_change(tz, sec, sec + 86400));
	}
}

static int cmp_i64(const void *pa, const void *pb)
{
	int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;

	return (a > b) - (a < b);
}

/* Every instant in [lo, hi) where the user may change, lo included, sorted, unique. */
static void collect(struct bounds *b, const struct schedule *s, const struct override *ov,
		    size_t nov)
{
	int restricted = 0;
	size_t j = 0;

	bound_add(b, b->lo);
	for (size_t i = 0; i < s->nlayers; i++) {
		add_handoffs(b, &s->layers[i], s->time_zone);
		add_restrictions(b, &s->layers[i], s->time_zone);
		restricted |= s->layers[i].ndaily || s->layers[i].nweekly;
	}
	if (restricted)
		add_transitions(b, s->time_zone);
	for (size_t i = 0; i < nov; i++) {
		if (override_applies(s, &ov[i])) {
			bound_add(b, ov[i].start);
			bound_add(b, ov[i].end);
		}
	}
	qsort(b->v, b->n, sizeof(*b->v), cmp_i64);
	for (size_t i = 0; i < b->n; i++)
		if (!j || b->v[i] != b->v[j - 1])
			b->v[j++] = b->v[i];
	b->n = j;
}

/* ---- shifts ---- */

size_t schedule_shifts(const struct schedule *s, const struct override *ov, size_t nov,
		       int64_t from, int64_t to, struct shift **out)
{
	struct bounds b = { .lo = from, .hi = to };
	struct shift *v = NULL;
	size_t n = 0;

	*out = NULL;
	if (from >= to || to - from > SCHEDULE_MAX_SPAN)
		return 0;
	collect(&b, s, ov, nov);
	if (b.full)
		goto out;
	v = xmalloc(b.n * sizeof(*v));
	for (size_t i = 0; i < b.n; i++) {
		const char *u = schedule_user_at(s, ov, nov, b.v[i]);
		if (n && same_user(u, v[n - 1].user))
			continue;
		if (n)
			v[n - 1].end = b.v[i];
		v[n++] = (struct shift){ .user = u, .start = b.v[i] };
	}
	v[n - 1].end = to;
	*out = v;
out:
	free(b.v);
	return n;
}

/* The next window of a search from near towards limit: span ms long, near included. */
static struct bounds search_window(int64_t near, int64_t limit, int64_t span, int dir)
{
	if (dir > 0)
		return (struct bounds){ .lo = near, .hi = limit - near > span ? near + span : limit };
	return (struct bounds){ .lo = near - limit > span ? near - span : limit, .hi = near + 1 };
}

/*
 * Looks for a change of user away from t in direction dir (+1 later, -1 earlier), in
 * windows of 1, 2, 4... days, no further than limit.  Returns where u's shift ends
 * (dir +1) or starts (dir -1), or limit.  near is the last point known to hold u;
 * a window too full to search ends the search there.
 */
static int64_t shift_edge(const struct schedule *s, const struct override *ov, size_t nov,
			  const char *u, int64_t t, int64_t limit, int dir)
{
	int64_t near = t, edge = limit;

	for (int64_t span = MS_PER_DAY; near != limit && edge == limit; span *= 2) {
		struct bounds b = search_window(near, limit, span, dir);
		int64_t far = dir > 0 ? b.hi : b.lo;

		collect(&b, s, ov, nov);
		for (size_t i = 0; i < b.n && edge == limit && !b.full; i++) {
			int64_t at = b.v[dir > 0 ? i : b.n - 1 - i];
			if (!same_user(schedule_user_at(s, ov, nov, at), u))
				edge = dir > 0 ? at : near;
			near = at;
		}
		if (b.full)
			edge = near;
		near = far;
		free(b.v);
	}
	return edge;
}

struct shift schedule_shift_at(const struct schedule *s, const struct override *ov, size_t nov,
			       int64_t t, int64_t horizon)
{
	struct shift sh = { .user = schedule_user_at(s, ov, nov, t) };

	if (horizon < 1)
		horizon = 1;
	if (horizon > SCHEDULE_MAX_SPAN)
		horizon = SCHEDULE_MAX_SPAN;
	sh.start = shift_edge(s, ov, nov, sh.user, t, t - horizon, -1);
	sh.end = shift_edge(s, ov, nov, sh.user, t, t + horizon, +1);
	return sh;
}
