/*
 * test_schedule.c - who is on call, as people notice it (docs/SCHEDULES.md): handoffs
 * at the same local time across DST in both hemispheres, month turns that clamp,
 * restrictions, layers falling through, overrides, shifts and their bounds.
 * Expected instants are computed by hand and checked against Python's zoneinfo.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "schedule.h"
#include "banned.h"

#define USERS "users: [{id: alice}, {id: bob}, {id: carol}, {id: dave}]\n"

static struct config *cfg;

/* A config holding one schedule "s" in zone tz with the given layers (YAML flow list). */
static const struct schedule *sched(const char *tz, const char *layers)
{
	char *yaml = xasprintf(USERS "schedules:\n  - id: s\n    time_zone: %s\n    layers: %s\n",
			       tz, layers);

	cfg = test_config(yaml);
	free(yaml);
	return config_schedule(cfg, "s");
}

static void done(void)
{
	config_unref(cfg);
	cfg = NULL;
}

static int64_t at(const char *iso)
{
	int64_t ms;

	cr_assert_eq(iso_parse(iso, &ms), 0, "bad instant '%s' in the test", iso);
	return ms;
}

static void expect_user(const struct schedule *s, const struct override *ov, size_t nov,
			const char *iso, const char *user)
{
	const char *got = schedule_user_at(s, ov, nov, at(iso));

	if (!user)
		cr_expect_null(got, "at %s: expected nobody, got '%s'", iso, got);
	else
		cr_expect(got && !strcmp(got, user), "at %s: expected '%s', got '%s'", iso, user,
			  got ? got : "(nobody)");
}

static void expect_shift(const struct schedule *s, const char *iso, const char *user,
			 const char *start, const char *end)
{
	struct shift sh = schedule_shift_at(s, NULL, 0, at(iso), 60 * MS_PER_DAY);
	char a[ISO_LEN], b[ISO_LEN];

	iso_format_utc(sh.start, a);
	iso_format_utc(sh.end, b);
	cr_expect(user ? sh.user && !strcmp(sh.user, user) : !sh.user,
		  "at %s: expected '%s', got '%s'", iso, user ? user : "(nobody)",
		  sh.user ? sh.user : "(nobody)");
	cr_expect_str_eq(a, start, "shift at %s starts %s, expected %s", iso, a, start);
	cr_expect_str_eq(b, end, "shift at %s ends %s, expected %s", iso, b, end);
}

#define WEEKLY_NY "[{start: '2026-11-02T09:00', turn: 1w, users: [alice, bob]}]"

Test(rotation, weekly_handoff_is_monday_0900_local_across_dst, .fini = done)
{
	const struct schedule *s = sched("America/New_York", WEEKLY_NY);

	/* 09:00 EST is 14:00Z; after 2027-03-14 09:00 EDT is 13:00Z */
	expect_user(s, NULL, 0, "2026-11-02T13:59:59.999Z", NULL);
	expect_user(s, NULL, 0, "2026-11-02T14:00:00Z", "alice");
	expect_user(s, NULL, 0, "2026-11-09T13:59:59Z", "alice");
	expect_user(s, NULL, 0, "2026-11-09T14:00:00Z", "bob");
	expect_shift(s, "2027-03-10T00:00:00Z", "alice", "2027-03-08T14:00:00Z",
		     "2027-03-15T13:00:00Z");
	expect_user(s, NULL, 0, "2027-03-15T12:59:59Z", "alice");
	expect_user(s, NULL, 0, "2027-03-15T13:00:00Z", "bob");
}

Test(rotation, weekly_handoff_moves_an_hour_in_utc_at_both_2026_changes, .fini = done)
{
	const struct schedule *s =
		sched("America/New_York",
		      "[{start: '2026-02-23T09:00', turn: 1w, users: [alice, bob]}]");

	/* spring 2026-03-08: Monday 03-02 at 14:00Z, Monday 03-09 at 13:00Z */
	expect_shift(s, "2026-03-05T00:00:00Z", "bob", "2026-03-02T14:00:00Z",
		     "2026-03-09T13:00:00Z");
	/* autumn 2026-11-01: Monday 10-26 at 13:00Z, Monday 11-02 at 14:00Z */
	expect_shift(s, "2026-10-30T00:00:00Z", "bob", "2026-10-26T13:00:00Z",
		     "2026-11-02T14:00:00Z");
	expect_user(s, NULL, 0, "2026-11-02T13:30:00Z", "bob");
	expect_user(s, NULL, 0, "2026-11-02T14:00:00Z", "alice");
}

Test(rotation, daily_turn_keeps_0900_local_across_spring_forward, .fini = done)
{
	const struct schedule *s =
		sched("America/New_York",
		      "[{start: '2026-03-06T09:00', turn: 1d, users: [alice, bob]}]");

	expect_shift(s, "2026-03-07T20:00:00Z", "bob", "2026-03-07T14:00:00Z",
		     "2026-03-08T13:00:00Z");
	expect_shift(s, "2026-03-08T20:00:00Z", "alice", "2026-03-08T13:00:00Z",
		     "2026-03-09T13:00:00Z");
}

Test(rotation, daily_handoff_in_the_gap_moves_forward_and_in_the_repeat_is_the_first,
     .fini = done)
{
	const struct schedule *s =
		sched("America/New_York",
		      "[{start: '2026-03-07T02:30', turn: 1d, users: [alice, bob]},"
		      " {start: '2026-10-31T01:30', turn: 1d, users: [carol, dave]}]");

	/* 02:30 does not exist on 2026-03-08: 03:30 EDT; the day after is 02:30 EDT */
	expect_shift(s, "2026-03-08T12:00:00Z", "bob", "2026-03-08T07:30:00Z",
		     "2026-03-09T06:30:00Z");
	/* 01:30 happens twice on 2026-11-01: the first (EDT), so dave's day is 25 h */
	expect_shift(s, "2026-11-01T12:00:00Z", "dave", "2026-11-01T05:30:00Z",
		     "2026-11-02T06:30:00Z");
}

Test(rotation, turn_shorter_than_the_spring_gap_skips_the_missing_hour, .fini = done)
{
	const struct schedule *s =
		sched("America/New_York",
		      "[{start: '2026-03-08T01:00', turn: 30m, users: [alice, bob, carol, dave]}]");

	/* 02:00 and 02:30 (turns 2, 3) convert to the same instants as 03:00 and 03:30
	 * (turns 4, 5): the later turn has the hour */
	expect_user(s, NULL, 0, "2026-03-08T06:59:59Z", "bob");
	expect_user(s, NULL, 0, "2026-03-08T07:00:00Z", "alice");
	expect_user(s, NULL, 0, "2026-03-08T07:30:00Z", "bob");
	expect_user(s, NULL, 0, "2026-03-08T08:00:00Z", "carol");
	expect_shift(s, "2026-03-08T07:10:00Z", "alice", "2026-03-08T07:00:00Z",
		     "2026-03-08T07:30:00Z");
}

Test(rotation, twelve_hour_turn_hands_off_at_0900_and_2100_local, .fini = done)
{
	const struct schedule *s =
		sched("America/New_York",
		      "[{start: '2026-11-02T09:00', turn: 12h, users: [alice, bob]}]");

	expect_shift(s, "2026-11-03T03:00:00Z", "bob", "2026-11-03T02:00:00Z",
		     "2026-11-03T14:00:00Z");
	/* the night DST starts is an hour shorter: 21:00 EST to 09:00 EDT */
	expect_shift(s, "2027-03-14T05:00:00Z", "bob", "2027-03-14T02:00:00Z",
		     "2027-03-14T13:00:00Z");
	expect_user(s, NULL, 0, "2027-03-14T13:00:00Z", "alice");
}

Test(rotation, month_turn_from_jan_31_clamps_to_the_months_last_day, .fini = done)
{
	const struct schedule *s =
		sched("UTC", "[{start: '2027-01-31T09:00', turn: 1mo, users: [alice, bob, carol]}]");

	expect_user(s, NULL, 0, "2027-02-28T08:59:59Z", "alice");
	expect_shift(s, "2027-03-01T00:00:00Z", "bob", "2027-02-28T09:00:00Z",
		     "2027-03-31T09:00:00Z");
	expect_shift(s, "2027-04-10T00:00:00Z", "carol", "2027-03-31T09:00:00Z",
		     "2027-04-30T09:00:00Z");
	/* leap year: 2028-01-31 is turn 12 (alice), 2028-02-29 turn 13 (bob) */
	expect_user(s, NULL, 0, "2028-02-28T12:00:00Z", "alice");
	expect_user(s, NULL, 0, "2028-02-29T09:00:00Z", "bob");
}

Test(rotation, kolkata_half_hour_offset, .fini = done)
{
	const struct schedule *s =
		sched("Asia/Kolkata", "[{start: '2026-11-02T09:00', turn: 1d, users: [alice, bob]}]");

	/* +05:30, no DST: 09:00 IST is 03:30Z every day */
	expect_user(s, NULL, 0, "2026-11-02T03:29:59Z", NULL);
	expect_shift(s, "2026-11-02T12:00:00Z", "alice", "2026-11-02T03:30:00Z",
		     "2026-11-03T03:30:00Z");
	expect_user(s, NULL, 0, "2027-07-01T03:30:00Z", "bob");
}

Test(rotation, sydney_southern_dst_in_october_and_april, .fini = done)
{
	const struct schedule *s =
		sched("Australia/Sydney",
		      "[{start: '2026-09-28T09:00', turn: 1w, users: [alice, bob]}]");

	/* DST starts 2026-10-04 (+10 to +11), ends 2027-04-04 (+11 to +10) */
	expect_shift(s, "2026-10-01T00:00:00Z", "alice", "2026-09-27T23:00:00Z",
		     "2026-10-04T22:00:00Z");
	expect_shift(s, "2027-04-01T00:00:00Z", "alice", "2027-03-28T22:00:00Z",
		     "2027-04-04T23:00:00Z");
	expect_user(s, NULL, 0, "2027-04-04T23:00:00Z", "bob");
}

Test(restrict, daily_window_crossing_midnight, .fini = done)
{
	const struct schedule *s =
		sched("Europe/Paris", "[{start: '2026-11-02T09:00', turn: 1w, users: [alice],"
				      " restrict: {daily: '18:00-08:00'}}]");

	/* Paris is +01:00 in November */
	expect_user(s, NULL, 0, "2026-11-03T16:59:59Z", NULL);
	expect_user(s, NULL, 0, "2026-11-03T17:00:00Z", "alice");
	expect_user(s, NULL, 0, "2026-11-03T23:30:00Z", "alice");
	expect_user(s, NULL, 0, "2026-11-04T06:59:59Z", "alice");
	expect_user(s, NULL, 0, "2026-11-04T07:00:00Z", NULL);
	expect_shift(s, "2026-11-04T01:00:00Z", "alice", "2026-11-03T17:00:00Z",
		     "2026-11-04T07:00:00Z");
}

Test(restrict, weekly_window_leaves_the_weekend_to_nobody, .fini = done)
{
	const struct schedule *s =
		sched("UTC", "[{start: '2026-11-02T00:00', turn: 1d, users: [alice, bob],"
			     " restrict: {weekly: ['mon 09:00-fri 17:00']}}]");

	expect_user(s, NULL, 0, "2026-11-02T08:59:59Z", NULL);
	expect_user(s, NULL, 0, "2026-11-02T09:00:00Z", "alice");
	expect_user(s, NULL, 0, "2026-11-04T03:00:00Z", "alice"); /* nights are inside */
	expect_user(s, NULL, 0, "2026-11-06T16:59:59Z", "alice"); /* day 4: alice */
	expect_user(s, NULL, 0, "2026-11-06T17:00:00Z", NULL);
	expect_user(s, NULL, 0, "2026-11-07T12:00:00Z", NULL);
	expect_shift(s, "2026-11-08T12:00:00Z", NULL, "2026-11-06T17:00:00Z",
		     "2026-11-09T09:00:00Z");
}

Test(restrict, weekly_window_wrapping_over_the_weeks_end, .fini = done)
{
	const struct schedule *s =
		sched("UTC", "[{start: '2026-11-02T00:00', turn: 1w, users: [alice],"
			     " restrict: {weekly: ['fri 17:00-mon 09:00']}}]");

	expect_user(s, NULL, 0, "2026-11-06T16:59:59Z", NULL);
	expect_user(s, NULL, 0, "2026-11-08T12:00:00Z", "alice");
	expect_user(s, NULL, 0, "2026-11-09T08:59:59Z", "alice");
	expect_user(s, NULL, 0, "2026-11-09T09:00:00Z", NULL);
}

Test(restrict, window_edge_in_the_spring_gap_opens_when_the_clock_jumps, .fini = done)
{
	const struct schedule *s =
		sched("America/New_York", "[{start: '2026-03-01T00:00', turn: 1w, users: [alice],"
					  " restrict: {daily: '02:30-05:00'}}]");
	struct shift *v = NULL;
	size_t n;

	/* 2026-03-08: 01:59:59 EST (06:59:59Z), then 03:00 EDT (07:00Z) is inside */
	expect_user(s, NULL, 0, "2026-03-08T06:59:59Z", NULL);
	expect_user(s, NULL, 0, "2026-03-08T07:00:00Z", "alice");
	n = schedule_shifts(s, NULL, 0, at("2026-03-08T00:00:00Z"), at("2026-03-09T00:00:00Z"), &v);
	cr_assert_eq(n, 3);
	cr_expect_eq(v[1].start, at("2026-03-08T07:00:00Z"));
	cr_expect_eq(v[1].end, at("2026-03-08T09:00:00Z"));
	free(v);
}

Test(layers, later_layer_wins_only_where_it_has_someone, .fini = done)
{
	const struct schedule *s =
		sched("UTC", "[{start: '2026-11-02T09:00', turn: 1w, users: [alice]},"
			     " {start: '2026-11-02T09:00', turn: 1d, users: [bob, carol],"
			     "  restrict: {daily: '18:00-08:00'}},"
			     " {start: '2026-11-20T00:00', turn: 1w, users: [dave]}]");

	expect_user(s, NULL, 0, "2026-11-02T08:00:00Z", NULL); /* before every start */
	expect_user(s, NULL, 0, "2026-11-02T12:00:00Z", "alice");
	expect_user(s, NULL, 0, "2026-11-02T20:00:00Z", "bob");
	expect_user(s, NULL, 0, "2026-11-03T07:59:59Z", "bob");
	expect_user(s, NULL, 0, "2026-11-03T08:00:00Z", "alice");
	expect_user(s, NULL, 0, "2026-11-03T20:00:00Z", "carol");
	expect_user(s, NULL, 0, "2026-11-19T23:59:59Z", "carol"); /* turn 17 */
	expect_user(s, NULL, 0, "2026-11-20T00:00:00Z", "dave");
}

static struct override ovr(int64_t id, const char *user, const char *from, const char *to,
			   int64_t created_at)
{
	return (struct override){ .id = id, .schedule = "s", .user = (char *)user,
				  .start = at(from), .end = at(to), .created_at = created_at };
}

Test(overrides, replace_the_layers_until_their_end_exactly, .fini = done)
{
	const struct schedule *s = sched("UTC", WEEKLY_NY);
	struct override ov[] = { ovr(1, "carol", "2026-11-03T10:00:00Z", "2026-11-03T12:00:00Z", 1) };

	expect_user(s, ov, 1, "2026-11-03T09:59:59.999Z", "alice");
	expect_user(s, ov, 1, "2026-11-03T10:00:00Z", "carol");
	expect_user(s, ov, 1, "2026-11-03T11:59:59.999Z", "carol");
	expect_user(s, ov, 1, "2026-11-03T12:00:00Z", "alice");
	expect_user(s, ov, 1, "2026-11-01T11:00:00Z", NULL);
}

Test(overrides, overlapping_later_created_wins_ties_go_to_the_higher_id, .fini = done)
{
	const struct schedule *s = sched("UTC", WEEKLY_NY);
	struct override ov[] = {
		ovr(2, "carol", "2026-11-03T10:00:00Z", "2026-11-03T11:00:00Z", 200),
		ovr(1, "dave", "2026-11-03T09:00:00Z", "2026-11-03T13:00:00Z", 100),
		ovr(4, "bob", "2026-11-03T12:00:00Z", "2026-11-03T14:00:00Z", 300),
		ovr(3, "alice", "2026-11-03T12:00:00Z", "2026-11-03T14:00:00Z", 300),
	};

	expect_user(s, ov, 4, "2026-11-03T09:30:00Z", "dave");
	expect_user(s, ov, 4, "2026-11-03T10:30:00Z", "carol");
	expect_user(s, ov, 4, "2026-11-03T11:30:00Z", "dave");
	expect_user(s, ov, 4, "2026-11-03T12:30:00Z", "bob");
}

Test(overrides, fill_a_gap_and_ignore_other_schedules, .fini = done)
{
	const struct schedule *s =
		sched("UTC", "[{start: '2026-11-02T00:00', turn: 1w, users: [alice],"
			     " restrict: {weekly: ['mon 09:00-fri 17:00']}}]");
	struct override ov[] = {
		ovr(1, "bob", "2026-11-07T00:00:00Z", "2026-11-08T00:00:00Z", 1),
		ovr(2, "carol", "2026-11-07T00:00:00Z", "2026-11-08T00:00:00Z", 2),
	};

	ov[1].schedule = "other";
	expect_user(s, ov, 2, "2026-11-07T12:00:00Z", "bob");
}

Test(overrides, release_frees_and_zeroes)
{
	struct override o = { .id = 7, .schedule = xstrdup("s"), .user = xstrdup("bob"),
			      .created_by = xstrdup("alice"), .start = 1, .end = 2 };

	override_release(&o);
	cr_assert_null(o.user);
	cr_assert_eq(o.id, 0);
}

static void expect_shifts_well_formed(const struct shift *v, size_t n, int64_t from, int64_t to)
{
	cr_assert_gt(n, 0);
	cr_expect_eq(v[0].start, from);
	cr_expect_eq(v[n - 1].end, to);
	for (size_t i = 0; i < n; i++) {
		cr_expect_lt(v[i].start, v[i].end);
		if (i) {
			cr_expect_eq(v[i].start, v[i - 1].end);
			cr_expect(!(v[i].user == v[i - 1].user ||
				    (v[i].user && v[i - 1].user && !strcmp(v[i].user, v[i - 1].user))),
				  "shifts %zu and %zu have the same user", i - 1, i);
		}
	}
}

Test(shifts, a_week_with_gaps_and_an_override, .fini = done)
{
	const struct schedule *s =
		sched("Europe/Paris", "[{start: '2026-11-02T09:00', turn: 1d, users: [carol, dave],"
				      " restrict: {weekly: ['mon 09:00-fri 17:00']}}]");
	struct override ov[] = { ovr(1, "alice", "2026-11-04T12:00:00Z", "2026-11-04T13:00:00Z", 1) };
	static const struct {
		const char *user, *start, *end;
	} want[] = {
		{ NULL, "2026-11-02T00:00:00Z", "2026-11-02T08:00:00Z" },
		{ "carol", "2026-11-02T08:00:00Z", "2026-11-03T08:00:00Z" },
		{ "dave", "2026-11-03T08:00:00Z", "2026-11-04T08:00:00Z" },
		{ "carol", "2026-11-04T08:00:00Z", "2026-11-04T12:00:00Z" },
		{ "alice", "2026-11-04T12:00:00Z", "2026-11-04T13:00:00Z" },
		{ "carol", "2026-11-04T13:00:00Z", "2026-11-05T08:00:00Z" },
		{ "dave", "2026-11-05T08:00:00Z", "2026-11-06T08:00:00Z" },
		{ "carol", "2026-11-06T08:00:00Z", "2026-11-06T16:00:00Z" },
		{ NULL, "2026-11-06T16:00:00Z", "2026-11-09T00:00:00Z" },
	};
	struct shift *v = NULL;
	size_t n = schedule_shifts(s, ov, 1, at("2026-11-02T00:00:00Z"), at("2026-11-09T00:00:00Z"), &v);

	cr_assert_eq(n, ARRAY_SIZE(want), "got %zu shifts", n);
	for (size_t i = 0; i < n; i++) {
		cr_expect(want[i].user ? v[i].user && !strcmp(v[i].user, want[i].user) : !v[i].user,
			  "shift %zu: user", i);
		cr_expect_eq(v[i].start, at(want[i].start), "shift %zu: start", i);
		cr_expect_eq(v[i].end, at(want[i].end), "shift %zu: end", i);
	}
	expect_shifts_well_formed(v, n, at("2026-11-02T00:00:00Z"), at("2026-11-09T00:00:00Z"));
	free(v);
}

/* Every shift of a year agrees with schedule_user_at() sampled every 7 minutes. */
static void expect_shifts_agree(const struct schedule *s, const struct override *ov, size_t nov,
				int64_t from, int64_t to)
{
	struct shift *v = NULL;
	size_t n = schedule_shifts(s, ov, nov, from, to, &v), i = 0;

	expect_shifts_well_formed(v, n, from, to);
	for (int64_t t = from; t < to; t += 7 * MS_PER_MIN + 13) {
		while (t >= v[i].end)
			i++;
		const char *u = schedule_user_at(s, ov, nov, t);
		cr_assert(u == v[i].user || (u && v[i].user && !strcmp(u, v[i].user)),
			  "at %lld: user_at and shifts disagree", (long long)t);
		if (v[i].start == from || v[i].end == to || (t - from) % 97 != 0)
			continue;
		struct shift sh = schedule_shift_at(s, ov, nov, t, 5 * MS_PER_DAY);
		cr_assert_eq(sh.start, v[i].start > t - 5 * MS_PER_DAY ? v[i].start : t - 5 * MS_PER_DAY);
		cr_assert_eq(sh.end, v[i].end < t + 5 * MS_PER_DAY ? v[i].end : t + 5 * MS_PER_DAY);
	}
	free(v);
}

Test(shifts, agree_with_user_at_over_a_year_of_dst, .fini = done)
{
	const struct schedule *s =
		sched("America/New_York",
		      "[{start: '2026-02-23T09:00', turn: 1w, users: [alice, bob]},"
		      " {start: '2026-01-01T01:30', turn: 1d, users: [carol, dave],"
		      "  restrict: {daily: '18:00-02:30', weekly: ['sat 01:15-sat 03:00']}},"
		      " {start: '2026-01-01T21:00', turn: 12h, users: [dave],"
		      "  restrict: {daily: '01:00-01:45'}}]");
	struct override ov[] = { ovr(1, "alice", "2026-11-01T05:45:00Z", "2026-11-01T06:15:00Z", 1) };

	expect_shifts_agree(s, ov, 1, at("2026-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z"));
}

Test(shifts, refuse_windows_over_366_days_and_empty_ones, .fini = done)
{
	const struct schedule *s = sched("UTC", WEEKLY_NY);
	struct shift *v = (struct shift *)1;

	cr_expect_eq(schedule_shifts(s, NULL, 0, 0, 367 * MS_PER_DAY, &v), 0);
	cr_expect_null(v);
	cr_expect_eq(schedule_shifts(s, NULL, 0, 5, 5, &v), 0);
	cr_expect_null(v);
	cr_expect_eq(schedule_shifts(s, NULL, 0, 0, 366 * MS_PER_DAY, &v), 1);
	cr_expect_null(v[0].user);
	free(v);
}

Test(shift_at, bounds_stop_at_the_horizon_when_nothing_changes, .fini = done)
{
	const struct schedule *s =
		sched("UTC", "[{start: '2026-11-02T09:00', turn: 4w, users: [alice, bob]}]");
	int64_t t = at("2026-11-10T00:00:00Z");
	struct shift sh = schedule_shift_at(s, NULL, 0, t, 3 * MS_PER_DAY);

	cr_expect_str_eq(sh.user, "alice");
	cr_expect_eq(sh.start, t - 3 * MS_PER_DAY);
	cr_expect_eq(sh.end, t + 3 * MS_PER_DAY);
	sh = schedule_shift_at(s, NULL, 0, t, 10 * MS_PER_DAY);
	cr_expect_eq(sh.start, at("2026-11-02T09:00:00Z"));
	cr_expect_eq(sh.end, t + 10 * MS_PER_DAY);
	/* before the start: a gap up to the first handoff */
	sh = schedule_shift_at(s, NULL, 0, at("2026-11-01T00:00:00Z"), 30 * MS_PER_DAY);
	cr_expect_null(sh.user);
	cr_expect_eq(sh.start, at("2026-10-02T00:00:00Z"));
	cr_expect_eq(sh.end, at("2026-11-02T09:00:00Z"));
}
