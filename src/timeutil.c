/*
 * timeutil.c - durations, ISO 8601 instants, wall-clock times and zones.
 *
 * Owns the conversion between what people write ("15m", "2026-11-22T10:00:00+01:00",
 * "2026-11-02T09:00" in America/New_York) and tocsin's one representation of time,
 * int64_t milliseconds since the Unix epoch, UTC.
 *
 * Calendar arithmetic is our own (Howard Hinnant's days-from-civil), so instants
 * before 1970 -- Go's zero time 0001-01-01T00:00:00Z, which Alertmanager sends --
 * are plain negative numbers and never go through timegm() or the process TZ.
 * Zones come from libical's copy of the IANA database; the only question we ask it
 * is "what is the UTC offset of zone Z at UTC instant T", which has exactly one
 * answer.  Local-to-UTC conversion is built on that question (walltime_to_ms).
 *
 * To add a duration unit, add a row to units[].
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <libical/ical.h>

#include "timeutil.h"
#include "util.h"
#include "banned.h"

#define SEC_PER_DAY 86400LL

/* ---- calendar ---- */

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && is_leap(y) ? 29 : mdays[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (negative before). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Broken-down UTC (or local, once an offset is added) time of epoch seconds. */
struct civil {
	int64_t year;
	int month, day, hour, minute, second;
};

static void civil_from_sec(int64_t sec, struct civil *c)
{
	int64_t days = floor_div(sec, SEC_PER_DAY);
	int64_t rem = sec - days * SEC_PER_DAY;

	civil_from_days(days, &c->year, &c->month, &c->day);
	c->hour = (int)(rem / 3600);
	c->minute = (int)(rem / 60 % 60);
	c->second = (int)(rem % 60);
}

static int64_t sec_from_walltime(const struct walltime *wt)
{
	return days_from_civil(wt->year, wt->month, wt->day) * SEC_PER_DAY +
	       wt->hour * 3600LL + wt->minute * 60LL + wt->second;
}

/* ---- durations ---- */

static const struct unit {
	const char *name;
	int64_t ms;
} units[] = {
	{ "ms", 1 },
	{ "s", MS_PER_SEC },
	{ "m", MS_PER_MIN },
	{ "h", MS_PER_HOUR },
	{ "d", MS_PER_DAY },
	{ "w", MS_PER_WEEK },
};

/* Reads one or more decimal digits into *n; returns the rest, NULL on overflow. */
static const char *read_count(const char *s, int64_t *n)
{
	if (*s < '0' || *s > '9')
		return NULL;
	for (*n = 0; *s >= '0' && *s <= '9'; s++) {
		if (*n > (INT64_MAX - (*s - '0')) / 10)
			return NULL;
		*n = *n * 10 + (*s - '0');
	}
	return s;
}

int duration_parse(const char *s, int64_t *ms)
{
	int64_t n;
	const char *rest = s ? read_count(s, &n) : NULL;

	if (!rest)
		return -1;
	if (!*rest && n == 0) {
		*ms = 0;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(rest, units[i].name))
			continue;
		if (n > INT64_MAX / units[i].ms)
			return -1;
		*ms = n * units[i].ms;
		return 0;
	}
	return -1;
}

#define MAX_TURN_MONTHS 1200

int turn_parse(const char *s, struct turn *t)
{
	int64_t n;
	const char *rest = s ? read_count(s, &n) : NULL;

	if (rest && !strcmp(rest, "mo")) {
		if (n <= 0 || n > MAX_TURN_MONTHS)
			return -1;
		t->months = (int)n;
		t->ms = 0;
		return 0;
	}
	if (duration_parse(s, &n) || n <= 0)
		return -1;
	t->months = 0;
	t->ms = n;
	return 0;
}

void duration_format(int64_t ms, char *out, size_t outlen)
{
	static const struct unit parts[] = {
		{ "d", MS_PER_DAY }, { "h", MS_PER_HOUR }, { "m", MS_PER_MIN },
		{ "s", MS_PER_SEC }, { "ms", 1 },
	};
	uint64_t left = ms < 0 ? 0 - (uint64_t)ms : (uint64_t)ms;
	size_t len = 0;

	if (!outlen)
		return;
	out[0] = '\0';
	if (ms == 0) {
		snprintf(out, outlen, "0s");
		return;
	}
	if (ms < 0)
		len += (size_t)snprintf(out, outlen, "-");
	for (size_t i = 0; i < ARRAY_SIZE(parts) && len < outlen; i++) {
		uint64_t n = left / (uint64_t)parts[i].ms;
		if (!n)
			continue;
		left -= n * (uint64_t)parts[i].ms;
		len += (size_t)snprintf(out + len, outlen - len, "%llu%s",
					(unsigned long long)n, parts[i].name);
	}
}

/* ---- ISO 8601 and wall-clock text ---- */

/* Reads exactly n digits; returns 0 and advances *p, or -1. */
static int fixed_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int expect_char(const char **p, char c)
{
	if (**p != c)
		return -1;
	(*p)++;
	return 0;
}

/* "YYYY-MM-DD", then 'T', 't' or ' ', then "HH:MM" and optionally ":SS". */
static int parse_date(const char **p, struct walltime *wt)
{
	return fixed_digits(p, 4, &wt->year) || expect_char(p, '-') ||
	       fixed_digits(p, 2, &wt->month) || expect_char(p, '-') ||
	       fixed_digits(p, 2, &wt->day) ? -1 : 0;
}

static int parse_date_time(const char **p, struct walltime *wt)
{
	if (parse_date(p, wt))
		return -1;
	if (**p != 'T' && **p != 't' && **p != ' ')
		return -1;
	(*p)++;
	if (fixed_digits(p, 2, &wt->hour) || expect_char(p, ':') ||
	    fixed_digits(p, 2, &wt->minute))
		return -1;
	wt->second = 0;
	if (**p == ':' && ((*p)++, fixed_digits(p, 2, &wt->second)))
		return -1;
	return 0;
}

static int walltime_valid(const struct walltime *wt)
{
	return wt->year >= 1 && wt->month >= 1 && wt->month <= 12 && wt->day >= 1 &&
	       wt->day <= days_in_month(wt->year, wt->month) && wt->hour <= 23 &&
	       wt->minute <= 59 && wt->second <= 59;
}

/* ".315" or ",315": any number of digits, kept to the millisecond (truncated). */
static int parse_fraction(const char **p, int *ms)
{
	int scale = 100;

	*ms = 0;
	if (**p != '.' && **p != ',')
		return 0;
	(*p)++;
	if (**p < '0' || **p > '9')
		return -1;
	for (; **p >= '0' && **p <= '9'; (*p)++, scale /= 10)
		*ms += (**p - '0') * scale;
	return 0;
}

/* "Z", "z", "+01:00", "+0100" or "+01"; sets the offset east of UTC in seconds. */
static int parse_zone(const char **p, int *off)
{
	int sign, colon, h, m = 0;

	if (**p == 'Z' || **p == 'z') {
		(*p)++;
		*off = 0;
		return 0;
	}
	if (**p != '+' && **p != '-')
		return -1;
	sign = *(*p)++ == '-' ? -1 : 1;
	if (fixed_digits(p, 2, &h))
		return -1;
	colon = **p == ':';
	*p += colon;
	if ((colon || (**p >= '0' && **p <= '9')) && fixed_digits(p, 2, &m))
		return -1;
	if (h > 23 || m > 59)
		return -1;
	*off = sign * (h * 3600 + m * 60);
	return 0;
}

int iso_parse(const char *s, int64_t *ms)
{
	struct walltime wt;
	int frac, off;

	if (!s || parse_date_time(&s, &wt) || !walltime_valid(&wt))
		return -1;
	if (parse_fraction(&s, &frac) || parse_zone(&s, &off) || *s)
		return -1;
	*ms = (sec_from_walltime(&wt) - off) * MS_PER_SEC + frac;
	return 0;
}

void iso_format_utc(int64_t ms, char out[ISO_LEN])
{
	int64_t sec = floor_div(ms, MS_PER_SEC);
	int frac = (int)(ms - sec * MS_PER_SEC);
	struct civil c;
	char fbuf[8] = "";

	civil_from_sec(sec, &c);
	if (frac)
		snprintf(fbuf, sizeof(fbuf), ".%03d", frac);
	snprintf(out, ISO_LEN, "%04lld-%02d-%02dT%02d:%02d:%02d%sZ", (long long)c.year,
		 c.month, c.day, c.hour, c.minute, c.second, fbuf);
}

int walltime_parse(const char *s, struct walltime *wt)
{
	struct walltime tmp;

	if (!s || parse_date_time(&s, &tmp) || *s || !walltime_valid(&tmp))
		return -1;
	*wt = tmp;
	return 0;
}

size_t date_at(const char *s, struct walltime *wt)
{
	struct walltime tmp = { 0 };
	const char *p = s;

	if (!s || parse_date(&p, &tmp) || (*p >= '0' && *p <= '9') || !walltime_valid(&tmp))
		return 0;
	*wt = tmp;
	return (size_t)(p - s);
}

/* ---- zones ---- */

/*
 * libical finds a builtin zone by a linear search of its ~600 names (about 1 us);
 * the on-call lookup converts several times per call in one zone, so each thread
 * remembers its last answer.  Builtin zones live as long as the process.
 */
static icaltimezone *zone_lookup(const char *name)
{
	static _Thread_local struct {
		char name[64];
		icaltimezone *z;
	} last;

	if (last.z && !strcmp(last.name, name))
		return last.z;
	icaltimezone *z = icaltimezone_get_builtin_timezone(name);
	if (z && strlen(name) < sizeof(last.name)) {
		memcpy(last.name, name, strlen(name) + 1);
		last.z = z;
	}
	return z;
}

static icaltimezone *zone_get(const char *name)
{
	icaltimezone *z = NULL;

	if (name && *name)
		z = zone_lookup(name);
	return z ? z : icaltimezone_get_utc_timezone();
}

int tz_valid(const char *name)
{
	return name && *name && icaltimezone_get_builtin_timezone(name) != NULL;
}

/* Seconds east of UTC in zone z at UTC instant sec; *dst set when daylight time. */
static int zone_offset(icaltimezone *z, int64_t sec, int *dst)
{
	struct icaltimetype t = icaltime_null_time();
	struct civil c;

	civil_from_sec(sec, &c);
	t.year = (int)c.year;
	t.month = c.month;
	t.day = c.day;
	t.hour = c.hour;
	t.minute = c.minute;
	t.second = c.second;
	t.zone = icaltimezone_get_utc_timezone();
	*dst = 0;
	return icaltimezone_get_utc_offset_of_utc_time(z, &t, dst);
}

/* Copies the n-th '/'-separated part of names ("CET/CEST"), or the only one. */
static void pick_name(const char *names, int n, char *out, size_t outlen)
{
	const char *slash = strchr(names, '/');
	const char *start = names;
	size_t len = strlen(names);

	if (slash && n == 1) {
		start = slash + 1;
		len = strlen(start);
	} else if (slash) {
		len = (size_t)(slash - names);
	}
	snprintf(out, outlen, "%.*s", (int)len, start);
}

/* The abbreviation people know ("CET", "EDT"), else the offset ("+05:30"). */
static void zone_abbrev(icaltimezone *z, int off, int dst, char *out, size_t outlen)
{
	const char *names = NULL;
	int a = off < 0 ? -off : off;

	if (z == icaltimezone_get_utc_timezone()) {
		snprintf(out, outlen, "UTC");
		return;
	}
	names = icaltimezone_get_tznames(z);
	if (names && *names)
		pick_name(names, dst, out, outlen);
	if (!names || !*names || !out[0] || strchr("+-0123456789", out[0]))
		snprintf(out, outlen, "%c%02d:%02d", off < 0 ? '-' : '+', a / 3600,
			 a / 60 % 60);
}

void time_format_zone(int64_t ms, const char *tz, char *out, size_t outlen)
{
	icaltimezone *z = zone_get(tz_valid(tz) ? tz : NULL);
	int64_t sec = floor_div(ms, MS_PER_SEC);
	char abbrev[32];
	struct civil c;
	int dst, off;

	off = zone_offset(z, sec, &dst);
	zone_abbrev(z, off, dst, abbrev, sizeof(abbrev));
	civil_from_sec(sec + off, &c);
	snprintf(out, outlen, "%04lld-%02d-%02d %02d:%02d %s", (long long)c.year, c.month,
		 c.day, c.hour, c.minute, abbrev);
}

/*
 * Local wall time L in zone z is UTC instant t when t + offset(t) == L.  The
 * offsets in force a day either side of L give the candidates.  Both valid: L
 * falls in a repeated hour (autumn); we take the earlier instant, the first time
 * the clock shows L.  Neither valid: L falls in a skipped hour (spring); we read L
 * with the offset from before the change, which lands as far past the gap's end
 * as L is past its start (02:30 on a 02:00->03:00 night becomes 03:30).
 */
int64_t walltime_to_ms(const struct walltime *wt, const char *tz)
{
	icaltimezone *z = zone_get(tz);
	int64_t local = sec_from_walltime(wt);
	int dst;
	int64_t before = local - zone_offset(z, local - SEC_PER_DAY, &dst);
	int64_t after = local - zone_offset(z, local + SEC_PER_DAY, &dst);
	int ok_before = before + zone_offset(z, before, &dst) == local;
	int ok_after = after + zone_offset(z, after, &dst) == local;
	int64_t t = before;

	if (ok_before && ok_after)
		t = before < after ? before : after;
	else if (ok_after)
		t = after;
	return t * MS_PER_SEC;
}

/* ---- naive wall-clock arithmetic ---- */

int64_t walltime_to_naive(const struct walltime *wt)
{
	return sec_from_walltime(wt);
}

void walltime_from_naive(int64_t sec, struct walltime *wt)
{
	struct civil c;

	civil_from_sec(sec, &c);
	*wt = (struct walltime){ (int)c.year, c.month, c.day, c.hour, c.minute, c.second };
}

int walltime_month_days(int year, int month)
{
	return days_in_month(year, month);
}

void ms_to_walltime(int64_t ms, const char *tz, struct walltime *wt, int *weekday)
{
	icaltimezone *z = zone_get(tz);
	int64_t sec = floor_div(ms, MS_PER_SEC);
	int dst;
	int64_t local = sec + zone_offset(z, sec, &dst);

	walltime_from_naive(local, wt);
	if (weekday) /* 1970-01-01 was a Thursday */
		*weekday = (int)((floor_div(local, SEC_PER_DAY) % 7 + 7 + 3) % 7);
}
