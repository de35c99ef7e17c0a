/*
 * ics.c - iCalendar output (PROTOCOLS.md section 6; RFC 5545 sections 3.1, 3.3.11).
 *
 * Times are written in UTC with "Z", as GoAlert does, so no VTIMEZONE is needed and
 * every calendar client places shifts right whatever its own zone.  Content lines
 * are folded at 75 octets without splitting a UTF-8 sequence.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "ics.h"
#include "util.h"
#include "banned.h"

#define FOLD_AT 75

/* Appends one content line, folded, ending in CRLF. */
static void add_line(struct buf *b, const char *line)
{
	size_t len = strlen(line), col = 0;
	for (size_t i = 0; i < len; i++) {
		size_t seq = 1;
		unsigned char c = (unsigned char)line[i];
		if (c >= 0xF0)
			seq = 4;
		else if (c >= 0xE0)
			seq = 3;
		else if (c >= 0xC0)
			seq = 2;
		if (col + seq > FOLD_AT) {
			buf_add(b, "\r\n ", 3);
			col = 1;
		}
		buf_add(b, line + i, seq);
		col += seq;
		i += seq - 1;
	}
	buf_add(b, "\r\n", 2);
}

/* TEXT value escaping (3.3.11). */
static void add_text(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == ';' || *s == ',')
			buf_addc(b, '\\');
		if (*s == '\n')
			buf_adds(b, "\\n");
		else
			buf_addc(b, *s);
	}
}

static void stamp(int64_t ms, char out[20])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 20, "%Y%m%dT%H%M%SZ", &tm);
}

static void uid_of(const struct ics_event *e, char hex[65])
{
	unsigned char h[32];
	char *key = xasprintf("%s|%s|%lld", e->schedule, e->user,
			      (long long)(e->truncated ? -e->end : e->start));
	crypto_hash_sha256(h, (const unsigned char *)key, strlen(key));
	sodium_bin2hex(hex, 65, h, sizeof(h));
	free(key);
}

/* Appends one formatted content line. */
static void add_linef(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void add_linef(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *line = xvasprintf(fmt, ap);
	va_end(ap);
	add_line(b, line);
	free(line);
}

static void add_event(struct buf *b, const struct ics_event *e, const char *now)
{
	char uid[65], s[20], en[20];
	struct buf summary = BUF_INIT;
	uid_of(e, uid);
	stamp(e->start, s);
	stamp(e->end, en);
	buf_adds(&summary, "SUMMARY:On call: ");
	add_text(&summary, e->schedule);
	buf_adds(&summary, " (");
	add_text(&summary, e->user);
	buf_adds(&summary, ")");
	add_line(b, "BEGIN:VEVENT");
	add_linef(b, "UID:%s", uid);
	add_line(b, summary.s);
	add_linef(b, "DTSTAMP:%s", now);
	add_linef(b, "DTSTART:%s", s);
	add_linef(b, "DTEND:%s", en);
	add_line(b, "END:VEVENT");
	buf_release(&summary);
}

char *ics_calendar(const char *title, const struct ics_event *ev, size_t n, int64_t now,
		   size_t *len)
{
	struct buf b = BUF_INIT, name = BUF_INIT;
	char nowstamp[20];
	stamp(now, nowstamp);
	add_line(&b, "BEGIN:VCALENDAR");
	add_line(&b, "PRODID:-//tocsin//on call//EN");
	add_line(&b, "VERSION:2.0");
	add_line(&b, "CALSCALE:GREGORIAN");
	add_line(&b, "METHOD:PUBLISH");
	buf_adds(&name, "X-WR-CALNAME:");
	add_text(&name, title);
	add_line(&b, name.s);
	for (size_t i = 0; i < n; i++)
		add_event(&b, &ev[i], nowstamp);
	add_line(&b, "END:VCALENDAR");
	buf_release(&name);
	return buf_detach(&b, len);
}
