/*
 * bench/oncall.c - how fast tocsin answers "who is on call" (src/schedule.c).
 *
 * One America/New_York schedule, bottom to top: a weekly rotation, a 12h rotation
 * starting mid-year (before it, lookups fall through to the weekly one) and a daily
 * rotation restricted to 18:00-08:00 on top; 50 overrides of 4 hours spread over
 * the year.  Measures 100,000 schedule_user_at() lookups at instants spread over
 * 2027 (the paging hot path), 1,000 schedule_shift_at() calls with a 30-day horizon
 * (GET /api/oncall) and one schedule_shifts() over the whole year.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "schedule.h"
#include "banned.h"

#define LOOKUPS 100000
#define SHIFT_ATS 1000
#define OVERRIDES 50

static const char yaml[] =
	"users: [{id: alice}, {id: bob}, {id: carol}, {id: dave}, {id: erin},"
	"        {id: frank}, {id: grace}, {id: heidi}]\n"
	"schedules:\n"
	"  - id: primary\n"
	"    time_zone: America/New_York\n"
	"    layers:\n"
	"      - {name: weekly, start: '2026-11-02T09:00', turn: 1w, users: [alice, bob, carol]}\n"
	"      - {name: halfdays, start: '2027-07-01T09:00', turn: 12h, users: [dave, erin]}\n"
	"      - {name: nights, start: '2026-11-02T18:00', turn: 1d, users: [frank, grace],\n"
	"         restrict: {daily: '18:00-08:00'}}\n";

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* A small LCG, so runs are comparable. */
static uint64_t next_rand(uint64_t *state)
{
	*state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
	return *state >> 33;
}

static void make_overrides(struct override *ov, int64_t year0)
{
	static char *const who[] = { "heidi", "alice", "dave" };

	for (int i = 0; i < OVERRIDES; i++) {
		ov[i] = (struct override){
			.id = i + 1,
			.schedule = "primary",
			.user = who[i % 3],
			.start = year0 + i * (365 * MS_PER_DAY / OVERRIDES) + 5 * MS_PER_HOUR,
			.created_at = i,
		};
		ov[i].end = ov[i].start + 4 * MS_PER_HOUR;
	}
}

int main(void)
{
	struct strlist errs = STRLIST_INIT;
	struct config *c = config_parse("bench.yaml", yaml, strlen(yaml), &errs);
	struct override ov[OVERRIDES];
	int64_t year0, year = 365 * MS_PER_DAY, t;
	struct shift *v = NULL;
	uint64_t rnd = 42, sink = 0;
	double t0;
	size_t n;

	if (!c) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.v[i]);
		return 1;
	}
	const struct schedule *s = config_schedule(c, "primary");
	if (iso_parse("2027-01-01T00:00:00Z", &year0))
		return 1;
	make_overrides(ov, year0);

	t0 = now_ns();
	for (int i = 0; i < LOOKUPS; i++) {
		t = year0 + (int64_t)(next_rand(&rnd) % (uint64_t)year);
		const char *u = schedule_user_at(s, ov, OVERRIDES, t);
		sink += u ? (uint64_t)u[0] : 1;
	}
	printf("schedule_user_at: %d lookups, %.0f ns per lookup\n", LOOKUPS,
	       (now_ns() - t0) / LOOKUPS);

	t0 = now_ns();
	for (int i = 0; i < SHIFT_ATS; i++) {
		t = year0 + (int64_t)(next_rand(&rnd) % (uint64_t)year);
		struct shift sh = schedule_shift_at(s, ov, OVERRIDES, t, 30 * MS_PER_DAY);
		sink += (uint64_t)(sh.end - sh.start);
	}
	printf("schedule_shift_at: %d calls, 30-day horizon, %.1f us per call\n", SHIFT_ATS,
	       (now_ns() - t0) / SHIFT_ATS / 1e3);

	t0 = now_ns();
	n = schedule_shifts(s, ov, OVERRIDES, year0, year0 + year, &v);
	printf("schedule_shifts: one year, %zu shifts, %.2f ms\n", n, (now_ns() - t0) / 1e6);
	printf("(checksum %llu)\n", (unsigned long long)sink);

	free(v);
	config_unref(c);
	strlist_release(&errs);
	return 0;
}
