/*
 * review.h - postmortems as records: required, owned, revised, reviewed, published,
 * closed; their action items tracked to done (DESIGN.md section 6,
 * docs/POSTMORTEMS.md).
 *
 * Every function runs in a writer transaction, like the incident state machine, so
 * a postmortem is created in the same commit as the resolve that required it, and
 * every change is written together with its revision (who, when, what, and the
 * body it left).  The workflow:
 *
 *   draft --submit--> in_review --publish--> published --close--> closed
 *            <--reopen--          (an approval by a reviewer other than the owner
 *                                  first; closing needs every action item done or
 *                                  declined with a reason)
 *
 * The body is the source of the action items: each save parses the task list of
 * Corrective and Preventative Measures and keeps the tracked items in step (text,
 * @owner, due date, ticket link; a ticked box is done).  Marking an item done or
 * open through the API ticks or clears its box in the body too, so the two never
 * disagree.  Overdue items remind their owner once a day; past ACTION_GRACE_DAYS the
 * reminder is an escalation, paged like any other page (through the notification
 * rules, as low urgency) to the item's owner and to the postmortem's owner.
 */
#ifndef TOCSIN_REVIEW_H
#define TOCSIN_REVIEW_H

#include <stdint.h>
#include <jansson.h>

#include "config.h"
#include "model.h"
#include "store.h"

#define PM_DRAFT "draft"
#define PM_IN_REVIEW "in_review"
#define PM_PUBLISHED "published"
#define PM_CLOSED "closed"

#define ACTION_OPEN "open"
#define ACTION_DONE "done"
#define ACTION_DECLINED "declined"

#define ACTION_GRACE_DAYS 7
#define REVIEW_MARKDOWN_MAX (256 * 1024)	/* the longest postmortem text taken */

/* Errors besides STORE_FAULT, as the HTTP status they answer, negated; *err says
 * what is wrong and how to go on. */
#define REVIEW_EINVAL (-400)
#define REVIEW_EFORBIDDEN (-403)
#define REVIEW_ENOTFOUND (-404)
#define REVIEW_ECONFLICT (-409)

enum review_verb {
	RV_CREATE,	/* id: the incident; change: the confirmed start, 0: none */
	RV_REDRAFT,	/* a draft again from the timeline; change as for create */
	RV_EDIT,	/* text: the new Markdown */
	RV_SET,		/* fields: {"owner":..., "mitigated": ISO, ...} */
	RV_SUBMIT,
	RV_APPROVE,
	RV_REOPEN,	/* back to draft; text: why, may be NULL */
	RV_PUBLISH,
	RV_CLOSE,
	RV_ACTION,	/* id: the action item; text: open|done|declined; reason; ticket */
};

struct review_op {
	enum review_verb verb;
	int64_t id;		/* the postmortem, except for RV_CREATE and RV_ACTION */
	const char *actor;	/* a user id */
	const char *text;
	const char *reason;
	const char *ticket;
	int64_t change;
	json_t *fields;		/* borrowed */
};

/* Carries out op; *id is the postmortem it changed (RV_CREATE: the new one). */
int review_apply(struct store_tx *tx, const struct config *cfg, const struct review_op *op,
		 int64_t now, int64_t *id, char **err);

/* At resolve: when the incident's severity is at or above its service's
 * postmortem_at and it has no postmortem yet, one is drafted, owned and its owner
 * told.  resolver is the resolve's actor. */
int review_required(struct store_tx *tx, const struct config *cfg, const struct incident *inc,
		    const char *resolver, int64_t now);

/* Reminds the owners of overdue action items (each at most once a day); *sent how
 * many reminders were queued. */
int review_remind(struct store_tx *tx, const struct config *cfg, int64_t now, int *sent);

/* The end of day "YYYY-MM-DD" in zone tz, as UTC ms; 0 when malformed. */
int64_t review_due_at(const char *day, const char *tz);

#endif
