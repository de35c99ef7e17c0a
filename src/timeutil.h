/*
 * timeutil.h - durations, ISO 8601 instants, and time zones.
 *
 * All time in tocsin is int64_t milliseconds since the Unix epoch, UTC.  Zones matter
 * only at the edges (config wall-clock times, printing for people) and are handled
 * with libical's zone database, never with the process TZ.
 */
#ifndef TOCSIN_TIMEUTIL_H
#define TOCSIN_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#define MS_PER_SEC  1000LL
#define MS_PER_MIN  (60 * MS_PER_SEC)
#define MS_PER_HOUR (60 * MS_PER_MIN)
#define MS_PER_DAY  (24 * MS_PER_HOUR)
#define MS_PER_WEEK (7 * MS_PER_DAY)

/*
 * Parses "500ms", "30s", "15m", "4h", "1d", "1w" (one number, one unit; "0" alone
 * is accepted as zero).  Returns 0 and sets *ms, or -1 on anything else.
 */
int duration_parse(const char *s, int64_t *ms);

/* A rotation turn may also be whole months: "1mo", "3mo".  Exactly one of the two
 * fields is non-zero after a successful parse. */
struct turn {
	int months;
	int64_t ms;
};
int turn_parse(const char *s, struct turn *t);

/* Formats a duration the way a person reads it: "2h", "1h30m", "45s", "250ms". */
void duration_format(int64_t ms, char *out, size_t outlen);

/*
 * Parses an ISO 8601 / RFC 3339 instant that names its zone:
 *   2026-11-22T09:00:00Z, 2026-11-22T10:00:00+01:00, 2026-11-22T10:00:00.123+0100,
 *   2015-07-17T08:42:58.315+0000, 0001-01-01T00:00:00Z (Go's zero time).
 * Returns 0 and sets *ms; -1 when malformed or without a zone.
 */
int iso_parse(const char *s, int64_t *ms);

/* Formats as "2026-11-22T09:00:00Z" (no fraction when ms%1000 == 0, else ".123Z"). */
#define ISO_LEN 32
void iso_format_utc(int64_t ms, char out[ISO_LEN]);

/*
 * A local wall-clock time as written in config ("2026-11-02T09:00", seconds optional).
 * Returns 0 on success, -1 when malformed.
 */
struct walltime {
	int year, month, day, hour, minute, second;
};
int walltime_parse(const char *s, struct walltime *wt);

/* A calendar day "2026-12-01" at the start of s (not followed by a digit): its
 * length (10) and *wt (the time fields zero), or 0 when s does not start with one. */
size_t date_at(const char *s, struct walltime *wt);

/* True when name is a zone libical knows ("UTC", "Europe/Paris", ...). */
int tz_valid(const char *name);

/*
 * Formats ms in zone tz as "2026-11-22 10:00 CET" style (date, hh:mm, abbreviation)
 * for tables.  Falls back to UTC when tz is NULL or unknown.
 */
void time_format_zone(int64_t ms, const char *tz, char *out, size_t outlen);

/* Converts a wall-clock time in zone tz to UTC ms (DST gaps move forward). */
int64_t walltime_to_ms(const struct walltime *wt, const char *tz);

/* The wall-clock time in zone tz at UTC instant ms (to the second, rounded toward the
 * past) and its weekday, 0 = Monday (weekday may be NULL).  tz NULL or unknown: UTC. */
void ms_to_walltime(int64_t ms, const char *tz, struct walltime *wt, int *weekday);

/*
 * Naive wall-clock arithmetic, no zone involved: a wall-clock time as seconds since
 * 1970-01-01T00:00 of the same proleptic Gregorian calendar, and back.  "09:00 plus
 * one day" is 09:00 the next day whatever DST does: add to the count, convert back.
 */
int64_t walltime_to_naive(const struct walltime *wt);
void walltime_from_naive(int64_t sec, struct walltime *wt);
/* Days in month (1..12) of year: 28 to 31. */
int walltime_month_days(int year, int month);

#endif
