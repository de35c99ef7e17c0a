/*
 * draft.c - the postmortem draft from the timeline.  See draft.h.
 *
 * Shape: one function per section of the template, each appending Markdown to one
 * buffer.  Every time is printed in the server's zone, which the Timeline states
 * once.  Text that came from people or senders (summaries, notes, change events) is
 * escaped, so it reads as written and never becomes markup or raw HTML.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draft.h"
#include "timeutil.h"
#include "banned.h"

/* "09:14", or "2026-11-22 09:14" when the incident spans days. */
static void clock_text(struct buf *b, int64_t ms, const char *tz, int dated)
{
	struct walltime wt;
	ms_to_walltime(ms, tz, &wt, NULL);
	if (dated)
		buf_addf(b, "%04d-%02d-%02d ", wt.year, wt.month, wt.day);
	buf_addf(b, "%02d:%02d", wt.hour, wt.minute);
}

static void date_text(struct buf *b, int64_t ms, const char *tz)
{
	struct walltime wt;
	ms_to_walltime(ms, tz, &wt, NULL);
	buf_addf(b, "%04d-%02d-%02d", wt.year, wt.month, wt.day);
}

static int same_day(int64_t a, int64_t b, const char *tz)
{
	struct walltime x, y;
	ms_to_walltime(a, tz, &x, NULL);
	ms_to_walltime(b, tz, &y, NULL);
	return x.year == y.year && x.month == y.month && x.day == y.day;
}

/* "48 minutes", "1 hour 12 minutes", "2 days 3 hours", "40 seconds". */
static void duration_text(struct buf *b, int64_t ms)
{
	static const struct {
		int64_t ms;
		const char *unit;
	} units[] = { { MS_PER_DAY, "day" }, { MS_PER_HOUR, "hour" }, { MS_PER_MIN, "minute" } };
	int64_t s = ms / MS_PER_SEC;
	if (ms < MS_PER_MIN) {
		buf_addf(b, "%lld second%s", (long long)s, s == 1 ? "" : "s");
		return;
	}
	for (size_t i = 0, shown = 0; i < ARRAY_SIZE(units) && shown < 2; i++) {
		int64_t n = ms / units[i].ms;
		ms %= units[i].ms;
		if (!n && !shown)
			continue;
		if (n)
			buf_addf(b, "%s%lld %s%s", shown ? " " : "", (long long)n, units[i].unit,
				 n == 1 ? "" : "s");
		shown++;
	}
}

/* Text from outside as Markdown that reads the same: one line, markup escaped. */
static void md_text(struct buf *b, const char *s)
{
	for (const char *p0 = s; s && *s; s++) {
		int intraword = *s == '_' && s > p0 && isalnum((unsigned char)s[-1]) &&
				isalnum((unsigned char)s[1]);	/* events_v2 is no emphasis */
		if (*s == '\n' || *s == '\r' || *s == '\t')
			buf_addc(b, ' ');
		else if (!intraword && strchr("\\`*_[]<>", *s)) {
			buf_addc(b, '\\');
			buf_addc(b, *s);
		} else
			buf_addc(b, *s);
	}
}

static const char *who(const char *actor)
{
	return !actor || !strcmp(actor, "system") ? "tocsin" : actor;
}

static int misleading(const struct log_entry *e)
{
	return !strcmp(e->type, "note") && strstr(e->message, DRAFT_MISLEADING_TAG);
}

/* The lead of each entry type's sentence, which the actor follows when by is set.
 * NULL: the message names the people itself and stands alone. */
static const struct {
	const char *type, *lead;
	int by;
} leads[] = {
	{ "trigger", "Detected by ", 1 },
	{ "alert", "Alert from ", 1 },
	{ "ack", NULL, 0 },
	{ "unack", NULL, 0 },
	{ "reassign", NULL, 0 },
	{ "notify", NULL, 0 },
	{ "notify_failed", "Page not delivered", 0 },
	{ "escalate", "Escalation by ", 1 },
	{ "note", "Note from ", 1 },
	{ "severity", "Severity set by ", 1 },
	{ "resolve", "Resolved by ", 1 },
};

/* True when message says "by ACTOR" itself. */
static int names(const char *message, const char *actor)
{
	size_t n = strlen(actor);
	for (const char *p = message; (p = strstr(p, "by ")); p += 3)
		if (!strncmp(p + 3, actor, n) && !isalnum((unsigned char)p[3 + n]) && p[3 + n] != '-')
			return 1;
	return 0;
}

/* One Timeline bullet: "TIME - lead: message." */
static void timeline_bullet(struct buf *b, const struct log_entry *e, const char *tz, int dated)
{
	const char *lead = "", *actor = who(e->actor);
	int by = 1;
	for (size_t i = 0; i < ARRAY_SIZE(leads); i++)
		if (!strcmp(leads[i].type, e->type)) {
			lead = leads[i].lead;
			by = leads[i].by;
		}
	if (misleading(e))
		lead = "Misleading path, noted by ";
	if (lead && !strcmp(e->type, "escalate") && !strcmp(actor, "tocsin")) {
		lead = "Escalation";
		by = 0;
	}
	if (lead && by && names(e->message, actor))
		lead = NULL;	/* "resolved by check:site-http: ..." says it all */
	buf_adds(b, "- ");
	clock_text(b, e->at, tz, dated);
	buf_adds(b, " - ");
	if (lead) {
		buf_adds(b, lead);
		if (by)
			md_text(b, actor);
	}
	if (lead && !strcmp(e->type, "resolve") && !strcmp(e->message, "resolved")) {
		buf_adds(b, ".\n");	/* by a person: nothing to add */
		return;
	}
	if (lead && (by || *lead))
		buf_adds(b, ": ");
	md_text(b, e->message);
	size_t n = b->len;
	if (n && !strchr(".!?", b->s[n - 1]))
		buf_addc(b, '.');
	buf_addc(b, '\n');
}

static int64_t first_of(const struct log_list *log, const char *type, const char **actor)
{
	for (size_t i = 0; i < log->n; i++)
		if (!strcmp(log->v[i].type, type)) {
			if (actor)
				*actor = log->v[i].actor;
			return log->v[i].at;
		}
	return 0;
}

static int64_t impact_start(const struct draft_input *in)
{
	return in->start ? in->start->at : in->inc->created_at;
}

static int64_t impact_end(const struct draft_input *in)
{
	return in->inc->resolved_at ? in->inc->resolved_at : in->now;
}

static const char *zone_of(const struct draft_input *in)
{
	return in->cfg->time_zone ? in->cfg->time_zone : "UTC";
}

static void header(struct buf *b, const struct draft_input *in)
{
	const struct service *svc = config_service(in->cfg, in->inc->service);
	const struct user *owner = in->owner ? config_user(in->cfg, in->owner) : NULL;
	buf_adds(b, "# Postmortem: ");
	md_text(b, in->inc->title);
	buf_addf(b, " (incident #%lld)\n\nSeverity SEV-%d. Service: ", (long long)in->inc->number,
		 in->inc->severity);
	md_text(b, svc && svc->name ? svc->name : in->inc->service);
	buf_adds(b, ". Owner: ");
	md_text(b, owner && owner->name ? owner->name : in->owner ? in->owner : "nobody yet");
	buf_adds(b, ". Status: draft.\n\n");
}

static void summary(struct buf *b, const struct draft_input *in)
{
	const char *tz = zone_of(in), *detector = NULL, *acker = NULL;
	int64_t start = impact_start(in), end = impact_end(in);
	int dated = !same_day(start, end, tz);
	int64_t detected = first_of(in->log, "trigger", &detector);
	int64_t acked = first_of(in->log, "ack", &acker);
	buf_adds(b, "## Issue Summary\n\nFrom ");
	clock_text(b, start, tz, dated);
	buf_adds(b, " to ");
	clock_text(b, end, tz, dated);
	buf_addf(b, " %s", tz);
	if (!dated) {
		buf_adds(b, " on ");
		date_text(b, start, tz);
	}
	buf_adds(b, " (");
	duration_text(b, end - start);
	buf_addf(b, "%s), ", in->inc->resolved_at ? "" : ", still open when this draft was written");
	const struct service *svc = config_service(in->cfg, in->inc->service);
	md_text(b, svc && svc->name ? svc->name : in->inc->service);
	buf_adds(b, " had an incident: ");
	md_text(b, in->inc->title);
	buf_adds(b, ". <!-- fill in: impact on users: what was down or slow, what users saw, "
		    "what share of them -->\n\n");
	buf_adds(b, "It was detected by ");
	md_text(b, who(detector ? detector : in->inc->service));
	buf_adds(b, " at ");
	clock_text(b, detected ? detected : in->inc->created_at, tz, dated);
	buf_addf(b, " %s", tz);
	if (acked) {
		buf_adds(b, ", acknowledged by ");
		md_text(b, who(acker));
		buf_adds(b, " after ");
		duration_text(b, acked - in->inc->created_at);
	}
	if (in->inc->resolved_at) {
		buf_adds(b, ", and resolved after ");
		duration_text(b, in->inc->resolved_at - in->inc->created_at);
	}
	buf_adds(b, ". <!-- fill in: the root cause, in one sentence -->\n\n");
}

static int repeat(const struct log_list *log, size_t i)
{
	return i < log->n && !strcmp(log->v[i].type, "alert") &&
	       !strncmp(log->v[i].message, "triggered again:", 16);
}

/* A sender that repeats its alert every minute would bury the story: of a run of
 * repeats, the first and the last (which counts them all) are shown. */
static int folded(const struct log_list *log, size_t i)
{
	return repeat(log, i) && i > 0 && repeat(log, i - 1) && repeat(log, i + 1);
}

static void timeline(struct buf *b, const struct draft_input *in)
{
	const char *tz = zone_of(in);
	int dated = !same_day(impact_start(in), impact_end(in), tz);
	buf_addf(b, "## Timeline\n\nAll times are %s.\n\n", tz);
	if (in->start) {
		buf_adds(b, "- ");
		clock_text(b, in->start->at, tz, dated);
		buf_adds(b, " - Impact began with this change: ");
		md_text(b, in->start->summary);
		if (in->start->source) {
			buf_adds(b, " (");
			md_text(b, in->start->source);
			buf_addc(b, ')');
		}
		buf_adds(b, ".\n");
	}
	for (size_t i = 0; i < in->log->n; i++)
		if (strcmp(in->log->v[i].type, "postmortem") && !folded(in->log, i))
			timeline_bullet(b, &in->log->v[i], tz, dated);
	buf_addc(b, '\n');
}

static void root_cause(struct buf *b, const struct draft_input *in)
{
	const char *tz = zone_of(in);
	buf_adds(b, "## Root Cause\n\n");
	size_t shown = 0;
	for (size_t j = in->changes->n; j > 0; j--) {	/* newest first: walk backwards */
		const struct change_event *ch = &in->changes->v[j - 1];
		if (ch->at > in->inc->created_at)
			continue;
		if (!shown++)
			buf_adds(b, "What changed in the hour before the incident (change events):\n\n");
		buf_adds(b, "- ");
		clock_text(b, ch->at, tz, !same_day(ch->at, in->inc->created_at, tz));
		buf_adds(b, " - ");
		md_text(b, ch->summary);
		if (ch->source) {
			buf_adds(b, " (");
			md_text(b, ch->source);
			buf_addc(b, ')');
		}
		buf_addf(b, ", change %lld\n", (long long)ch->id);
	}
	if (shown)
		buf_addc(b, '\n');
	buf_adds(b, "<!-- fill in: the root cause: what failed, why it failed then, and what "
		    "allowed it -->\n\n");
}

static void recovery(struct buf *b, const struct draft_input *in)
{
	const char *tz = zone_of(in);
	size_t shown = 0;
	buf_adds(b, "## Resolution and Recovery\n\n");
	for (size_t i = 0; i < in->log->n; i++) {
		const struct log_entry *e = &in->log->v[i];
		if (!misleading(e))
			continue;
		if (!shown++)
			buf_adds(b, "Misleading paths, from the notes tagged " DRAFT_MISLEADING_TAG
				    " during the incident:\n\n");
		buf_adds(b, "- ");
		clock_text(b, e->at, tz, !same_day(e->at, in->inc->created_at, tz));
		buf_adds(b, " - ");
		md_text(b, who(e->actor));
		buf_adds(b, ": ");
		md_text(b, e->message);
		buf_addc(b, '\n');
	}
	if (shown)
		buf_addc(b, '\n');
	buf_adds(b, "<!-- fill in: how the service was restored, how long recovery took, and "
		    "what was left to clean up -->\n\n");
}

int draft_action_days(int severity)
{
	return severity <= 1 ? 15 : 30;
}

static void measures(struct buf *b, const struct draft_input *in)
{
	struct walltime wt;
	int64_t due = in->now + draft_action_days(in->inc->severity) * MS_PER_DAY;
	ms_to_walltime(due, zone_of(in), &wt, NULL);
	buf_addf(b, "## Corrective and Preventative Measures\n\n"
		    "<!-- fill in: the broad improvements, then each specific action item as a "
		    "task: '[ ] what to do (@owner, due %04d-%02d-%02d)' -->\n",
		 wt.year, wt.month, wt.day);
}

char *draft_markdown(const struct draft_input *in)
{
	struct buf b = BUF_INIT;
	header(&b, in);
	summary(&b, in);
	timeline(&b, in);
	root_cause(&b, in);
	recovery(&b, in);
	measures(&b, in);
	return buf_detach(&b, NULL);
}

void draft_fields(const struct draft_input *in, struct postmortem *pm)
{
	const char *detector = NULL;
	pm->incident = in->inc->number;
	pm->incidents = xasprintf("[%lld]", (long long)in->inc->number);
	pm->title = xstrdup(in->inc->title);
	pm->severity = in->inc->severity;
	struct buf s = BUF_INIT;
	buf_adds(&s, "[");
	buf_add_json_string(&s, in->inc->service);
	buf_adds(&s, "]");
	pm->services = buf_detach(&s, NULL);
	pm->impact_start = impact_start(in);
	pm->detected = first_of(in->log, "trigger", &detector);
	if (!pm->detected)
		pm->detected = in->inc->created_at;
	pm->acknowledged = first_of(in->log, "ack", NULL);
	pm->resolved = in->inc->resolved_at;
	pm->detection = detector ? xstrdup(detector) : NULL;
}

const char *draft_owner(const struct config *cfg, const struct incident *inc,
			const struct log_list *log, const char *resolver)
{
	const char *acker = NULL;
	if (resolver && config_user(cfg, resolver))
		return resolver;
	if (first_of(log, "ack", &acker) && config_user(cfg, acker))
		return acker;
	/* assigned_to is a JSON array of ids: the first one */
	const char *q = inc->assigned_to ? strchr(inc->assigned_to, '"') : NULL;
	for (size_t i = 0; q && i < cfg->nusers; i++) {
		size_t n = strlen(cfg->users[i].id);
		if (!strncmp(q + 1, cfg->users[i].id, n) && q[1 + n] == '"')
			return cfg->users[i].id;
	}
	return NULL;
}
