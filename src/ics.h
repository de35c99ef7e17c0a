/*
 * ics.h - on-call shifts as an iCalendar (RFC 5545) feed.
 */
#ifndef TOCSIN_ICS_H
#define TOCSIN_ICS_H

#include <stddef.h>
#include <stdint.h>

struct ics_event {
	const char *schedule;
	const char *user;
	int64_t start, end;	/* UTC ms */
	int truncated;		/* start is the feed window's, not the shift's */
};

/*
 * The calendar text (CRLF lines, folded at 75 octets, UTC times): one VEVENT per
 * shift, with a UID stable across refreshes (SHA-256 of schedule, user and the
 * shift's start, or its end when the start was cut by the window).  Caller frees.
 */
char *ics_calendar(const char *title, const struct ics_event *ev, size_t n, int64_t now,
		   size_t *len);

#endif
