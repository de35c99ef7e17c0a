/*
 * postmortem.h - the postmortem lint (DESIGN.md section 6, `tocsin postmortem lint`).
 *
 * The Markdown is parsed with cmark-gfm (with its task-list extension) and every
 * rule looks at the tree: the sections and their order, what the Issue Summary must
 * state, the Timeline's "TIME - text" items and their zone, the action items' owner
 * and due date, the length, blameless wording, and the gaps a draft leaves for people
 * (<!-- fill in: ... -->).  Each finding says how to fix it.  A section that still
 * holds such a gap is not judged on its content (the gap is the finding), nor is the
 * length of a document that has any.
 */
#ifndef TOCSIN_POSTMORTEM_H
#define TOCSIN_POSTMORTEM_H

#include <stddef.h>

struct pm_finding {
	int line;		/* 1-based, in the Markdown */
	int error;		/* 1 error, 0 warning */
	char *message;
};

/* Lints md: the findings in line order (*out, the caller frees each message and the
 * array with pm_findings_free); returns how many. */
size_t postmortem_lint(const char *md, size_t len, struct pm_finding **out);
void pm_findings_free(struct pm_finding *f, size_t n);

/*
 * The page of a postmortem: one self-contained HTML document (CSS inline, no
 * script) with an SVG timeline of the Timeline section's milestones (detection,
 * pages, acknowledgement, escalations, mitigation, resolution) on a time axis, the
 * outage span shaded, then the Markdown rendered by cmark-gfm with raw HTML left out.
 * *len its length; the caller frees it.
 */
char *postmortem_render(const char *md, size_t len, size_t *outlen);

/* An action item of the Corrective and Preventative Measures task list:
 * "- [ ] patch nginx on web-01 (@bob, due 2026-12-01)", an optional link its ticket. */
struct pm_action {
	int line;		/* 1-based, in the Markdown */
	int checked;		/* [x] */
	char *text;		/* the item's text, without the box */
	char *owner;		/* what follows '@'; NULL: none */
	char *due;		/* YYYY-MM-DD after "due "; NULL: none */
	char *ticket;		/* the first link's URL; NULL: none */
};

/* The task list's items in order (*out; free with pm_actions_free); how many. */
size_t postmortem_actions(const char *md, size_t len, struct pm_action **out);
void pm_actions_free(struct pm_action *v, size_t n);

/* A copy of md with the task box of the item at line ticked (checked) or cleared;
 * NULL when that line holds no task box.  The caller frees it. */
char *postmortem_check_box(const char *md, int line, int checked);

#define PM_WORDS_MIN 400
#define PM_WORDS_MAX 600

#endif
