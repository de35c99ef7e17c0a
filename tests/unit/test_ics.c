/* The iCalendar feed: valid for libical's parser, CRLF, folded, stable UIDs. */
#include <criterion/criterion.h>
#include <libical/ical.h>
#include <stdlib.h>
#include <string.h>

#include "ics.h"

static const struct ics_event events[] = {
	{ "web-primary", "alice", 1794474000000LL, 1795078800000LL, 0 },
	{ "web-primary", "bob, the \"night\"; owl", 1795078800000LL, 1795683600000LL, 0 },
};

Test(ics, libical_parses_every_shift_with_its_utc_times)
{
	size_t len;
	char *text = ics_calendar("On call: a schedule whose name is long enough to need "
				  "folding at seventy-five octets, é é é", events, 2,
				  1794474000000LL, &len);
	icalcomponent *cal = icalparser_parse_string(text);
	cr_assert_not_null(cal, "libical refused the feed");
	cr_assert_eq(icalcomponent_isa(cal), ICAL_VCALENDAR_COMPONENT);
	int n = 0;
	for (icalcomponent *ev = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT);
	     ev; ev = icalcomponent_get_next_component(cal, ICAL_VEVENT_COMPONENT), n++) {
		struct icaltimetype st = icalcomponent_get_dtstart(ev);
		cr_assert(icaltime_is_utc(st));
		cr_assert_eq((int64_t)icaltime_as_timet(st) * 1000, events[n].start);
		cr_assert_eq((int64_t)icaltime_as_timet(icalcomponent_get_dtend(ev)) * 1000,
			     events[n].end);
	}
	cr_assert_eq(n, 2);
	cr_assert(strstr(icalcomponent_as_ical_string(cal), "bob\\, the \"night\"\\; owl"));
	icalcomponent_free(cal);
	/* every line ends in CRLF and none is longer than 75 octets */
	for (char *line = text, *end; *line; line = end + 2) {
		end = strstr(line, "\r\n");
		cr_assert_not_null(end);
		cr_assert_leq(end - line, 75);
	}
	free(text);
}

Test(ics, uids_are_stable_across_refreshes)
{
	size_t len;
	char *a = ics_calendar("x", events, 2, 1794474000000LL, &len);
	char *b = ics_calendar("x", events, 2, 1794474999000LL, &len);
	cr_assert_eq(strncmp(strstr(a, "UID:"), strstr(b, "UID:"), 68), 0);
	free(a);
	free(b);
}
