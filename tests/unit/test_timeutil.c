/*
 * test_timeutil.c - durations, turns, ISO instants, wall-clock times and zones as a
 * user writes and reads them (config values, CLI --at/--from, Alertmanager's endsAt,
 * times printed in tables).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "timeutil.h"
#include "banned.h"

static int64_t dur(const char *s)
{
	int64_t ms = -42;

	cr_assert_eq(duration_parse(s, &ms), 0, "duration '%s' should parse", s);
	return ms;
}

static void dur_bad(const char *s)
{
	int64_t ms = -42;

	cr_assert_eq(duration_parse(s, &ms), -1, "duration '%s' should be rejected", s);
	cr_assert_eq(ms, -42, "a rejected duration must not change the output");
}

Test(duration, units_from_the_docs)
{
	cr_assert_eq(dur("500ms"), 500);
	cr_assert_eq(dur("30s"), 30 * MS_PER_SEC);
	cr_assert_eq(dur("15m"), 15 * MS_PER_MIN);
	cr_assert_eq(dur("4h"), 4 * MS_PER_HOUR);
	cr_assert_eq(dur("1d"), MS_PER_DAY);
	cr_assert_eq(dur("1w"), MS_PER_WEEK);
	cr_assert_eq(dur("0"), 0);
	cr_assert_eq(dur("0m"), 0);
}

Test(duration, rejects_what_is_not_one_number_and_one_unit)
{
	const char *bad[] = { "", "5", "m", "-5m", "+5m", "5 m", " 5m", "5m ", "1.5h", "5M",
			      "5min", "5 minutes", "1h30m", "0x5m", "5mo" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		dur_bad(bad[i]);
	dur_bad(NULL);
}

Test(duration, rejects_overflow)
{
	dur_bad("9223372036854775807w");
	dur_bad("99999999999999999999ms");
	cr_assert_eq(dur("9223372036854775807ms"), INT64_MAX);
}

Test(turn, months_or_a_duration)
{
	struct turn t;

	cr_assert_eq(turn_parse("1mo", &t), 0);
	cr_assert(t.months == 1 && t.ms == 0);
	cr_assert_eq(turn_parse("3mo", &t), 0);
	cr_assert(t.months == 3 && t.ms == 0);
	cr_assert_eq(turn_parse("1w", &t), 0);
	cr_assert(t.months == 0 && t.ms == MS_PER_WEEK);
	cr_assert_eq(turn_parse("12h", &t), 0);
	cr_assert(t.months == 0 && t.ms == 12 * MS_PER_HOUR);
}

Test(turn, rejects_zero_and_junk)
{
	const char *bad[] = { "0", "0s", "0mo", "mo", "1y", "1 mo", "-1mo", "1mon", "" };
	struct turn t;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(turn_parse(bad[i], &t), -1, "turn '%s' should be rejected", bad[i]);
}

Test(duration, format_reads_like_a_person_wrote_it)
{
	char out[32];
	const struct {
		int64_t ms;
		const char *want;
	} cases[] = {
		{ 2 * MS_PER_HOUR, "2h" },
		{ MS_PER_HOUR + 30 * MS_PER_MIN, "1h30m" },
		{ 45 * MS_PER_SEC, "45s" },
		{ 250, "250ms" },
		{ 0, "0s" },
		{ MS_PER_DAY + 2 * MS_PER_HOUR, "1d2h" },
		{ -90 * MS_PER_SEC, "-1m30s" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		duration_format(cases[i].ms, out, sizeof(out));
		cr_assert_str_eq(out, cases[i].want);
	}
}

Test(duration, format_truncates_safely)
{
	char out[4];

	duration_format(MS_PER_HOUR + 30 * MS_PER_MIN, out, sizeof(out));
	cr_assert_str_eq(out, "1h3");
}

static int64_t iso(const char *s)
{
	int64_t ms = -42;

	cr_assert_eq(iso_parse(s, &ms), 0, "'%s' should parse", s);
	return ms;
}

#define NOV22_0900Z 1795338000000LL	/* 2026-11-22T09:00:00Z */

Test(iso, zones_in_every_spelling)
{
	cr_assert_eq(iso("2026-11-22T09:00:00Z"), NOV22_0900Z);
	cr_assert_eq(iso("2026-11-22T10:00:00+01:00"), NOV22_0900Z);
	cr_assert_eq(iso("2026-11-22T10:00:00+0100"), NOV22_0900Z);
	cr_assert_eq(iso("2026-11-22T04:00:00-05:00"), NOV22_0900Z);
	cr_assert_eq(iso("2026-11-22t09:00:00z"), NOV22_0900Z);
	cr_assert_eq(iso("2026-11-22T14:30:00+05:30"), NOV22_0900Z);
}

Test(iso, fractions_of_any_length)
{
	cr_assert_eq(iso("2015-07-17T08:42:58.315+0000"), 1437122578315LL);
	cr_assert_eq(iso("2026-11-22T09:00:00.1Z"), NOV22_0900Z + 100);
	cr_assert_eq(iso("2026-11-22T09:00:00.123456789Z"), NOV22_0900Z + 123);
	cr_assert_eq(iso("2026-11-22T10:00:00.123+0100"), NOV22_0900Z + 123);
}

Test(iso, go_zero_time_from_alertmanager)
{
	cr_assert_eq(iso("0001-01-01T00:00:00Z"), -62135596800000LL);
	cr_assert_eq(iso("1969-12-31T23:59:59Z"), -1000);
	cr_assert_eq(iso("1970-01-01T00:00:00Z"), 0);
}

Test(iso, rejects_malformed_or_zoneless)
{
	const char *bad[] = {
		"",
		"2026-11-22T09:00:00",		/* no zone */
		"2026-11-22",
		"2026-11-22T09:00:00Zjunk",
		"2026-11-22T09:00:00+01:00 ",
		"2026-13-22T09:00:00Z",		/* month 13 */
		"2026-02-30T09:00:00Z",
		"2026-11-22T24:00:00Z",
		"2026-11-22T09:60:00Z",
		"2026-11-22T09:00:00.Z",
		"2026-11-22T09:00:00+01:0",
		"2026-11-22T09:00:00+25:00",
		"26-11-22T09:00:00Z",
		"2026-11-22X09:00:00Z",
		"0000-01-01T00:00:00Z",
	};
	int64_t ms = -42;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(iso_parse(bad[i], &ms), -1, "'%s' should be rejected", bad[i]);
	cr_assert_eq(ms, -42);
}

Test(iso, leap_day)
{
	int64_t ms;

	cr_assert_eq(iso_parse("2028-02-29T00:00:00Z", &ms), 0);
	cr_assert_eq(iso_parse("2026-02-29T00:00:00Z", &ms), -1);
	cr_assert_eq(iso_parse("2000-02-29T00:00:00Z", &ms), 0);
	cr_assert_eq(iso_parse("2100-02-29T00:00:00Z", &ms), -1);
}

Test(iso, format_utc_round_trips)
{
	char out[ISO_LEN];

	iso_format_utc(NOV22_0900Z, out);
	cr_assert_str_eq(out, "2026-11-22T09:00:00Z");
	iso_format_utc(NOV22_0900Z + 123, out);
	cr_assert_str_eq(out, "2026-11-22T09:00:00.123Z");
	iso_format_utc(-62135596800000LL, out);
	cr_assert_str_eq(out, "0001-01-01T00:00:00Z");
	iso_format_utc(-1, out);
	cr_assert_str_eq(out, "1969-12-31T23:59:59.999Z");
	cr_assert_eq(iso(out), -1);
}

Test(walltime, parses_config_times)
{
	struct walltime wt;

	cr_assert_eq(walltime_parse("2026-11-02T09:00", &wt), 0);
	cr_assert(wt.year == 2026 && wt.month == 11 && wt.day == 2 && wt.hour == 9 &&
		  wt.minute == 0 && wt.second == 0);
	cr_assert_eq(walltime_parse("2026-11-02T18:30:15", &wt), 0);
	cr_assert(wt.hour == 18 && wt.minute == 30 && wt.second == 15);
	cr_assert_eq(walltime_parse("2026-11-02T09:00Z", &wt), -1, "a zone is not a wall time");
	cr_assert_eq(walltime_parse("2026-11-02", &wt), -1);
	cr_assert_eq(walltime_parse("2026-11-31T09:00", &wt), -1);
	cr_assert_eq(walltime_parse("2026-11-02T9:00", &wt), -1);
}

Test(zone, known_and_unknown)
{
	cr_assert(tz_valid("UTC"));
	cr_assert(tz_valid("Europe/Paris"));
	cr_assert(tz_valid("America/New_York"));
	cr_assert(!tz_valid("Europe/Pariss"));
	cr_assert(!tz_valid(""));
	cr_assert(!tz_valid(NULL));
	cr_assert(!tz_valid("../../etc/passwd"));
}

static int64_t ny(const char *wall)
{
	struct walltime wt;

	cr_assert_eq(walltime_parse(wall, &wt), 0);
	return walltime_to_ms(&wt, "America/New_York");
}

Test(zone, walltime_to_ms_ordinary_days)
{
	cr_assert_eq(ny("2026-11-02T09:00"), iso("2026-11-02T14:00:00Z"), "EST is UTC-5");
	cr_assert_eq(ny("2026-07-01T09:00"), iso("2026-07-01T13:00:00Z"), "EDT is UTC-4");
	struct walltime wt = { 2026, 11, 22, 10, 0, 0 };
	cr_assert_eq(walltime_to_ms(&wt, "Europe/Paris"), NOV22_0900Z);
	cr_assert_eq(walltime_to_ms(&wt, "UTC"), NOV22_0900Z + MS_PER_HOUR);
	cr_assert_eq(walltime_to_ms(&wt, NULL), NOV22_0900Z + MS_PER_HOUR, "no zone is UTC");
}

/* 2026-03-08 02:00 EST the clocks jump to 03:00 EDT: 02:30 never happens. */
Test(zone, walltime_in_the_spring_gap_moves_forward)
{
	cr_assert_eq(ny("2026-03-08T02:30"), iso("2026-03-08T03:30:00-04:00"));
	cr_assert_eq(ny("2026-03-08T01:59"), iso("2026-03-08T01:59:00-05:00"));
	cr_assert_eq(ny("2026-03-08T03:00"), iso("2026-03-08T03:00:00-04:00"));
}

/* 2026-11-01 02:00 EDT the clocks go back to 01:00 EST: 01:30 happens twice; the
 * first (EDT) is the one meant. */
Test(zone, walltime_in_the_autumn_overlap_takes_the_first)
{
	cr_assert_eq(ny("2026-11-01T01:30"), iso("2026-11-01T01:30:00-04:00"));
	cr_assert_eq(ny("2026-11-01T02:00"), iso("2026-11-01T02:00:00-05:00"));
	cr_assert_eq(ny("2026-11-01T00:59"), iso("2026-11-01T00:59:00-04:00"));
}

Test(zone, format_names_the_zone)
{
	char out[64];

	time_format_zone(NOV22_0900Z, "Europe/Paris", out, sizeof(out));
	cr_assert_str_eq(out, "2026-11-22 10:00 CET");
	time_format_zone(iso("2026-07-01T09:00:00Z"), "Europe/Paris", out, sizeof(out));
	cr_assert_str_eq(out, "2026-07-01 11:00 CEST");
	time_format_zone(NOV22_0900Z, "America/New_York", out, sizeof(out));
	cr_assert_str_eq(out, "2026-11-22 04:00 EST");
	time_format_zone(NOV22_0900Z, "Asia/Kolkata", out, sizeof(out));
	cr_assert_str_eq(out, "2026-11-22 14:30 IST");
}

Test(zone, format_falls_back_to_utc_or_an_offset)
{
	char out[64];

	time_format_zone(NOV22_0900Z, NULL, out, sizeof(out));
	cr_assert_str_eq(out, "2026-11-22 09:00 UTC");
	time_format_zone(NOV22_0900Z, "Nowhere/Atlantis", out, sizeof(out));
	cr_assert_str_eq(out, "2026-11-22 09:00 UTC");
	time_format_zone(NOV22_0900Z, "America/Sao_Paulo", out, sizeof(out));
	cr_assert_str_eq(out, "2026-11-22 06:00 -03:00", "numeric abbreviations become offsets");
}

Test(date, reads_a_calendar_day_at_the_start_of_text)
{
	struct walltime wt;
	cr_assert_eq(date_at("2026-12-01", &wt), 10);
	cr_assert(wt.year == 2026 && wt.month == 12 && wt.day == 1 && wt.hour == 0);
	cr_assert_eq(date_at("2028-02-29) and more", &wt), 10, "a leap day, then text");
	cr_assert_eq(date_at("2026-12-01T09:00", &wt), 10);
	static const char *const bad[] = { "2026-02-29", "2026-13-01", "2026-00-10", "2026-12-32",
					   "2026-12-1", "2026-12-011", "2026-12-+1", " 2026-12-01",
					   "+202-12-01", "tomorrow", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(date_at(bad[i], &wt), 0, "'%s' read as a day", bad[i]);
	cr_assert_eq(date_at(NULL, &wt), 0);
}
