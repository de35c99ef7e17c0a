/*
 * draft.h - the postmortem draft: what the incident's timeline knows, written in the
 * template of DESIGN.md section 6, with marked gaps where only people know.
 *
 * The draft fills the Issue Summary's start, end, duration and zone, how and when
 * the problem was detected, how long acknowledgement and resolution took; one
 * Timeline bullet "TIME - text" per log entry, in log order, each carrying the log
 * message word for word (docs/POSTMORTEMS.md gives the sentence of each entry
 * type; of a run of repeats of one alert only the first and the last are shown); the change events of the hour before as "what changed"; the notes tagged
 * #misleading as the misleading paths; and a gap, <!-- fill in: ... -->, for the
 * impact on users, the root cause, the recovery and the action items.  The lint
 * reports each gap as an error until a person fills it.
 */
#ifndef TOCSIN_DRAFT_H
#define TOCSIN_DRAFT_H

#include <stdint.h>

#include "config.h"
#include "model.h"

struct draft_input {
	const struct config *cfg;		/* names, the server's zone */
	const struct incident *inc;
	const struct log_list *log;		/* the incident's timeline, oldest first */
	const struct change_list *changes;	/* the hour before until the end, newest first */
	const struct change_event *start;	/* the change a person confirmed as the start of
						 * the impact; NULL: the first alert */
	const char *owner;			/* user id, or NULL */
	int64_t now;
};

/* The tag that makes a note a misleading path. */
#define DRAFT_MISLEADING_TAG "#misleading"

/* The Markdown of the draft; the caller frees it. */
char *draft_markdown(const struct draft_input *in);

/* Sets the structured fields the timeline gives: impact_start, detected,
 * acknowledged (the first ack), resolved, detection (who detected it: the first
 * trigger's sender, e.g. check:site-http), severity, services, incidents, title. */
void draft_fields(const struct draft_input *in, struct postmortem *pm);

/* The owner a required postmortem gets: whoever resolved it when that is a person
 * of the config, else whoever acknowledged it first, else the first assignee; NULL
 * when none of them is. */
const char *draft_owner(const struct config *cfg, const struct incident *inc,
			const struct log_list *log, const char *resolver);

/* Days an action item has by default: 15 for SEV-1, 30 for the others. */
int draft_action_days(int severity);

#endif
