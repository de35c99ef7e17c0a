/*
 * The postmortem draft from an incident's timeline (draft.c), the action items read
 * back from a postmortem's task list (postmortem_actions, postmortem_check_box), and
 * the end of an action item's due day (review_due_at): what a responder reads in the
 * draft and what the tracker makes of the items they write.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmark-gfm.h>

#include "draft.h"
#include "helpers.h"
#include "postmortem.h"
#include "review.h"
#include "timeutil.h"
#include "util.h"

/* --- fixtures ------------------------------------------------------------------- */

static struct config *make_cfg(const char *tz)
{
	char *yaml = xasprintf("server:\n"
			       "  time_zone: %s\n"
			       "users:\n"
			       "  - {id: alice, name: Alice Archer}\n"
			       "  - {id: bob}\n"
			       "services:\n"
			       "  - {id: web, name: Web site}\n",
			       tz);
	struct config *c = test_config(yaml);
	free(yaml);
	return c;
}

static int64_t iso(const char *s)
{
	int64_t ms = 0;
	cr_assert_eq(iso_parse(s, &ms), 0, "bad instant %s", s);
	return ms;
}

/* h:m UTC on 2026-11-22 (winter: Paris is UTC+1). */
static int64_t at(int h, int m)
{
	return iso("2026-11-22T00:00:00Z") + h * MS_PER_HOUR + m * MS_PER_MIN;
}

static struct log_entry entry(int64_t t, const char *type, const char *actor, const char *msg)
{
	return (struct log_entry){ .at = t, .type = (char *)type, .actor = (char *)actor,
				   .message = (char *)msg };
}

#define TRIGGER_MSG "triggered: site-http is CRITICAL: HTTP 503 (dedup key check:site-http)"
#define NOTE_MSG "restarted the DNS cache first " DRAFT_MISLEADING_TAG ", no change"

/* The incident of the story: site-http fails at 09:14 UTC, alice is paged and acks,
 * bob notes a misleading path, alice raises the severity and resolves at 10:02. */
static size_t story_log(struct log_entry *v)
{
	size_t n = 0;
	v[n++] = entry(at(9, 14), "trigger", "check:site-http", TRIGGER_MSG);
	v[n++] = entry(at(9, 14), "escalate", "system", "level 1: assigned to alice");
	v[n++] = entry(at(9, 15), "notify", "system", "alice paged by email 'mail' (attempt 1)");
	v[n++] = entry(at(9, 20), "ack", "alice", "acknowledged by alice");
	v[n++] = entry(at(9, 31), "note", "bob", NOTE_MSG);
	v[n++] = entry(at(9, 40), "severity", "alice", "severity changed from SEV-3 to SEV-2");
	v[n++] = entry(at(10, 2), "resolve", "alice", "resolved");
	return n;
}

static struct incident story_incident(void)
{
	return (struct incident){
		.number = 42, .service = "web", .title = "Site down", .status = INC_RESOLVED,
		.severity = 2, .urgency_high = 1, .created_at = at(9, 14),
		.acknowledged_at = at(9, 20), .resolved_at = at(10, 2), .updated_at = at(10, 2),
		.assigned_to = "[\"alice\"]",
	};
}

/* --- reading the draft ---------------------------------------------------------- */

/* The body of section "## name" (up to the next level-2 heading), a copy. */
static char *section(const char *md, const char *name)
{
	char *head = xasprintf("\n## %s\n", name);
	const char *s = strstr(md, head);
	cr_assert_not_null(s, "no section '%s' in:\n%s", name, md);
	s += strlen(head);
	free(head);
	const char *e = strstr(s, "\n## ");
	return xstrndup(s, e ? (size_t)(e - s) + 1 : strlen(s));
}

/* The lines of text that start with "- ". */
static void bullets(const char *text, struct strlist *out)
{
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		if (!strncmp(p, "- ", 2))
			strlist_push_take(out, xstrndup(p, n));
		p += n + (p[n] == '\n');
	}
}

static int starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Line `line` (1-based) of text, a copy. */
static char *line_at(const char *text, int line)
{
	const char *p = text;
	for (int l = 1; l < line && p; l++)
		if ((p = strchr(p, '\n')))
			p++;
	cr_assert_not_null(p, "no line %d", line);
	return xstrndup(p, strcspn(p, "\n"));
}

/* 1-based line number of the first occurrence of what in text. */
static int line_of(const char *text, const char *what)
{
	const char *p = strstr(text, what);
	cr_assert_not_null(p, "no '%s'", what);
	int line = 1;
	for (const char *q = text; q < p; q++)
		line += *q == '\n';
	return line;
}

/* The draft of inc whose log is the n entries of v, with changes (NULL: none). */
static char *draft_of(struct config *cfg, const struct incident *inc, struct log_entry *v,
		      size_t n, struct change_list *changes, const char *owner, int64_t now)
{
	struct log_list log = { v, n, n };
	struct change_list none = { 0 };
	struct draft_input in = { .cfg = cfg, .inc = inc, .log = &log,
				  .changes = changes ? changes : &none, .owner = owner, .now = now };
	char *md = draft_markdown(&in);
	cr_assert_not_null(md);
	return md;
}

static char *story_draft(const char *tz)
{
	struct config *cfg = make_cfg(tz);
	struct log_entry v[16];
	struct incident inc = story_incident();
	char *md = draft_of(cfg, &inc, v, story_log(v), NULL, "alice", at(10, 5));
	config_unref(cfg);
	return md;
}

/* --- the draft ---------------------------------------------------------------------- */

Test(draft, timeline_has_one_bullet_per_log_entry_in_order_with_its_time_and_message)
{
	struct log_entry v[16];
	size_t n = story_log(v);
	char *md = story_draft("UTC");
	char *tl = section(md, "Timeline");
	struct strlist b = STRLIST_INIT;
	bullets(tl, &b);

	cr_assert(strstr(tl, "All times are UTC.\n"), "%s", tl);
	cr_assert_eq(b.n, n, "%zu bullets for %zu log entries:\n%s", b.n, n, tl);
	for (size_t i = 0; i < n; i++) {
		struct walltime wt;
		ms_to_walltime(v[i].at, "UTC", &wt, NULL);
		char *prefix = xasprintf("- %02d:%02d - ", wt.hour, wt.minute);
		cr_assert(starts_with(b.v[i], prefix), "bullet %zu '%s' does not start '%s'", i,
			  b.v[i], prefix);
		if (!strcmp(v[i].type, "resolve"))
			cr_assert_str_eq(b.v[i] + strlen(prefix), "Resolved by alice.");
		else
			cr_assert(strstr(b.v[i], v[i].message), "bullet %zu '%s' lacks '%s'", i,
				  b.v[i], v[i].message);
		free(prefix);
	}
	cr_assert_str_eq(b.v[4], "- 09:31 - Misleading path, noted by bob: " NOTE_MSG ".");
	strlist_release(&b);
	free(tl);
	free(md);
}

Test(draft, misleading_note_is_listed_under_resolution_and_recovery)
{
	char *md = story_draft("UTC");
	char *rr = section(md, "Resolution and Recovery");
	cr_assert(strstr(rr, "Misleading paths, from the notes tagged #misleading"), "%s", rr);
	cr_assert(strstr(rr, "\n- 09:31 - bob: " NOTE_MSG "\n"), "%s", rr);
	/* the other notes and entries are not misleading paths */
	cr_assert_null(strstr(rr, "acknowledged by alice"), "%s", rr);
	free(rr);
	free(md);
}

Test(draft, issue_summary_states_start_end_zone_day_and_duration)
{
	char *md = story_draft("UTC");
	char *sum = section(md, "Issue Summary");
	cr_assert(strstr(sum, "From 09:14 to 10:02 UTC on 2026-11-22 (48 minutes)"), "%s", sum);
	cr_assert(strstr(sum, "detected by check:site-http at 09:14 UTC"), "%s", sum);
	cr_assert(strstr(sum, "acknowledged by alice after 6 minutes"), "%s", sum);
	cr_assert(strstr(sum, "resolved after 48 minutes"), "%s", sum);
	cr_assert(strstr(md, "All times are UTC."), "%s", md);
	free(sum);
	free(md);
}

Test(draft, the_draft_lints_with_only_its_unfilled_gaps)
{
	char *md = story_draft("UTC");
	struct pm_finding *f = NULL;
	size_t n = postmortem_lint(md, strlen(md), &f);
	size_t gaps = count(md, "<!-- fill in:");

	cr_assert_gt(gaps, 0);
	cr_assert_eq(n, gaps, "%zu findings for %zu gaps in:\n%s", n, gaps, md);
	for (size_t i = 0; i < n; i++) {
		cr_assert(f[i].error, "a warning: %d %s", f[i].line, f[i].message);
		cr_assert(starts_with(f[i].message, "unfilled gap:"), "%d %s", f[i].line,
			  f[i].message);
		char *line = line_at(md, f[i].line);
		cr_assert(strstr(line, "<!-- fill in:"), "finding at line %d '%s' is not on a gap: %s",
			  f[i].line, f[i].message, line);
		free(line);
	}
	pm_findings_free(f, n);
	free(md);
}

Test(draft, times_are_in_the_server_zone)
{
	char *md = story_draft("Europe/Paris");
	char *tl = section(md, "Timeline");
	struct strlist b = STRLIST_INIT;
	bullets(tl, &b);
	cr_assert(strstr(tl, "All times are Europe/Paris.\n"), "%s", tl);
	cr_assert_eq(b.n, 7);
	cr_assert(starts_with(b.v[0], "- 10:14 - Detected by check:site-http: "), "%s", b.v[0]);
	cr_assert_str_eq(b.v[6], "- 11:02 - Resolved by alice.");
	cr_assert(strstr(md, "From 10:14 to 11:02 Europe/Paris on 2026-11-22 (48 minutes)"), "%s", md);
	strlist_release(&b);
	free(tl);
	free(md);

	/* summer: UTC+2 */
	struct config *cfg = make_cfg("Europe/Paris");
	struct log_entry v[] = { entry(iso("2026-07-01T09:14:00Z"), "trigger", "check:site-http",
				       TRIGGER_MSG) };
	struct incident inc = story_incident();
	inc.created_at = v[0].at;
	inc.acknowledged_at = 0;
	inc.resolved_at = 0;
	md = draft_of(cfg, &inc, v, 1, NULL, NULL, v[0].at + 30 * MS_PER_MIN);
	cr_assert(strstr(md, "\n- 11:14 - Detected by check:site-http: "), "%s", md);
	cr_assert(strstr(md, "From 11:14 to 11:44 Europe/Paris on 2026-07-01 (30 minutes, still "
			     "open when this draft was written)"), "%s", md);
	free(md);
	config_unref(cfg);
}

/* 23:50 to 00:20 UTC across the night of 2026-11-22. */
static char *night_draft(const char *tz)
{
	struct config *cfg = make_cfg(tz);
	int64_t t0 = at(23, 50);
	struct log_entry v[] = {
		entry(t0, "trigger", "check:site-http", TRIGGER_MSG),
		entry(t0 + 5 * MS_PER_MIN, "ack", "alice", "acknowledged by alice"),
		entry(t0 + 30 * MS_PER_MIN, "resolve", "alice", "resolved"),
	};
	struct incident inc = story_incident();
	inc.created_at = t0;
	inc.acknowledged_at = t0 + 5 * MS_PER_MIN;
	inc.resolved_at = t0 + 30 * MS_PER_MIN;
	char *md = draft_of(cfg, &inc, v, ARRAY_SIZE(v), NULL, "alice", inc.resolved_at);
	config_unref(cfg);
	return md;
}

Test(draft, an_incident_across_midnight_prints_dated_times)
{
	char *md = night_draft("UTC");
	char *tl = section(md, "Timeline");
	struct strlist b = STRLIST_INIT;
	bullets(tl, &b);
	cr_assert_eq(b.n, 3, "%s", tl);
	cr_assert(starts_with(b.v[0], "- 2026-11-22 23:50 - "), "%s", b.v[0]);
	cr_assert(starts_with(b.v[1], "- 2026-11-22 23:55 - "), "%s", b.v[1]);
	cr_assert_str_eq(b.v[2], "- 2026-11-23 00:20 - Resolved by alice.");
	cr_assert(strstr(md, "From 2026-11-22 23:50 to 2026-11-23 00:20 UTC (30 minutes)"), "%s", md);
	strlist_release(&b);
	free(tl);
	free(md);

	/* the same night is one day in Paris (00:50 to 01:20): no dates */
	md = night_draft("Europe/Paris");
	cr_assert(strstr(md, "\n- 00:50 - Detected by"), "%s", md);
	cr_assert(strstr(md, "\n- 01:20 - Resolved by alice.\n"), "%s", md);
	cr_assert(strstr(md, "From 00:50 to 01:20 Europe/Paris on 2026-11-23 (30 minutes)"), "%s", md);
	free(md);
}

Test(draft, markup_from_notes_titles_and_changes_is_escaped)
{
	static const char note[] = "*bold* <script>alert(1)</script> [x](javascript:1) `c` _u_";
	struct config *cfg = make_cfg("UTC");
	struct log_entry v[] = {
		entry(at(9, 14), "trigger", "check:site-http", TRIGGER_MSG),
		entry(at(9, 20), "note", "bob", note),
		entry(at(9, 25), "note", "bob", "**strong** " DRAFT_MISLEADING_TAG " <img src=x>"),
		entry(at(10, 2), "resolve", "alice", "resolved"),
	};
	struct change_event ch = { .id = 7, .service = "web", .at = at(9, 0),
				   .summary = "deploy [220](javascript:alert(1)) <b>now</b>",
				   .source = "ci_*bot*" };
	struct change_list changes = { &ch, 1, 1 };
	struct incident inc = story_incident();
	inc.title = "*Site* <i>down</i>";
	char *md = draft_of(cfg, &inc, v, ARRAY_SIZE(v), &changes, "alice", at(10, 5));

	cr_assert(strstr(md, "\\*bold\\*"), "%s", md);
	cr_assert(strstr(md, "\\<script\\>alert(1)\\</script\\>"), "%s", md);
	cr_assert(strstr(md, "\\[x\\](javascript:1)"), "%s", md);
	cr_assert(strstr(md, "\\`c\\` \\_u\\_"), "%s", md);
	cr_assert(strstr(md, "\\*\\*strong\\*\\*"), "%s", md);
	cr_assert(strstr(md, "# Postmortem: \\*Site\\* \\<i\\>down\\</i\\>"), "%s", md);
	cr_assert(strstr(md, "deploy \\[220\\](javascript:alert(1)) \\<b\\>now\\</b\\> (ci\\_\\*bot\\*)"),
		  "%s", md);

	/* rendered even with raw HTML allowed: no emphasis, no HTML, no link, no code */
	char *html = cmark_markdown_to_html(md, strlen(md), CMARK_OPT_UNSAFE);
	static const char *const tags[] = { "<em>", "<strong>", "<script", "<a ", "<img", "<b>",
					    "<i>", "<code>" };
	for (size_t i = 0; i < ARRAY_SIZE(tags); i++)
		cr_assert_null(strstr(html, tags[i]), "'%s' in:\n%s", tags[i], html);
	/* and reads as written */
	cr_assert(strstr(html, "*bold* &lt;script&gt;alert(1)&lt;/script&gt; [x](javascript:1) `c` _u_"),
		  "%s", html);
	free(html);
	free(md);
	config_unref(cfg);
}

Test(draft, a_confirmed_change_is_the_start_of_the_impact)
{
	struct config *cfg = make_cfg("UTC");
	struct log_entry v[16];
	struct log_list log = { v, story_log(v), 16 };
	struct change_event ch = { .id = 7, .service = "web", .at = at(9, 5),
				   .summary = "deploy 220 of web", .source = "ci" };
	struct change_list changes = { &ch, 1, 1 };
	struct incident inc = story_incident();
	struct draft_input in = { .cfg = cfg, .inc = &inc, .log = &log, .changes = &changes,
				  .start = &ch, .owner = "alice", .now = at(10, 5) };
	char *md = draft_markdown(&in);
	char *tl = section(md, "Timeline");
	struct strlist b = STRLIST_INIT;
	bullets(tl, &b);
	cr_assert_eq(b.n, log.n + 1, "%s", tl);
	cr_assert_str_eq(b.v[0], "- 09:05 - Impact began with this change: deploy 220 of web (ci).");
	cr_assert(starts_with(b.v[1], "- 09:14 - Detected by check:site-http: "), "%s", b.v[1]);
	cr_assert(strstr(md, "From 09:05 to 10:02 UTC on 2026-11-22 (57 minutes)"), "%s", md);
	cr_assert(strstr(md, "- 09:05 - deploy 220 of web (ci), change 7\n"), "%s", md);
	strlist_release(&b);
	free(tl);
	free(md);

	struct postmortem pm = { 0 };
	draft_fields(&in, &pm);
	cr_assert_eq(pm.impact_start, at(9, 5));
	cr_assert_eq(pm.detected, at(9, 14));
	cr_assert_eq(pm.acknowledged, at(9, 20));
	cr_assert_eq(pm.resolved, at(10, 2));
	cr_assert_str_eq(pm.detection, "check:site-http");
	cr_assert_eq(pm.incident, 42);
	cr_assert_str_eq(pm.incidents, "[42]");
	cr_assert_str_eq(pm.services, "[\"web\"]");
	cr_assert_str_eq(pm.title, "Site down");
	cr_assert_eq(pm.severity, 2);
	postmortem_release(&pm);

	in.start = NULL;
	draft_fields(&in, &pm);
	cr_assert_eq(pm.impact_start, inc.created_at);
	postmortem_release(&pm);
	config_unref(cfg);
}

Test(draft, fields_take_the_first_trigger_and_the_first_ack)
{
	struct config *cfg = make_cfg("UTC");
	struct log_entry v[] = {
		entry(at(9, 13), "note", "system", "service web is in maintenance until never"),
		entry(at(9, 14), "trigger", "events_v2", "triggered: disk full (dedup key d1)"),
		entry(at(9, 20), "ack", "alice", "acknowledged by alice"),
		entry(at(9, 25), "unack", "system", "acknowledgement timed out"),
		entry(at(9, 26), "trigger", "check:site-http", "triggered: again (dedup key d2)"),
		entry(at(9, 30), "ack", "bob", "acknowledged by bob"),
	};
	struct log_list log = { v, ARRAY_SIZE(v), ARRAY_SIZE(v) };
	struct change_list changes = { 0 };
	struct incident inc = story_incident();
	inc.created_at = at(9, 13);
	inc.resolved_at = 0;
	struct draft_input in = { .cfg = cfg, .inc = &inc, .log = &log, .changes = &changes,
				  .now = at(9, 45) };
	struct postmortem pm = { 0 };
	draft_fields(&in, &pm);
	cr_assert_eq(pm.impact_start, at(9, 13));
	cr_assert_eq(pm.detected, at(9, 14));
	cr_assert_eq(pm.acknowledged, at(9, 20));
	cr_assert_eq(pm.resolved, 0);
	cr_assert_str_eq(pm.detection, "events_v2");
	postmortem_release(&pm);

	/* no trigger on the timeline: detected when the incident opened, by nobody known */
	log.v = v + 2;
	log.n = 1;
	draft_fields(&in, &pm);
	cr_assert_eq(pm.detected, at(9, 13));
	cr_assert_null(pm.detection);
	cr_assert_eq(pm.acknowledged, at(9, 20));
	postmortem_release(&pm);
	config_unref(cfg);
}

Test(draft, owner_is_the_resolver_else_the_first_acker_else_the_first_assignee)
{
	struct config *cfg = make_cfg("UTC");
	struct log_entry acked[] = {
		entry(at(9, 14), "trigger", "check:site-http", TRIGGER_MSG),
		entry(at(9, 20), "ack", "alice", "acknowledged by alice"),
		entry(at(9, 30), "ack", "bob", "acknowledged by bob"),
	};
	struct log_entry by_system[] = {
		entry(at(9, 14), "trigger", "check:site-http", TRIGGER_MSG),
		entry(at(9, 20), "ack", "system", "acknowledged by system"),
	};
	struct log_list log = { acked, 3, 3 }, sys = { by_system, 2, 2 }, none = { 0 };
	struct incident inc = story_incident();
	const char *o;

	inc.assigned_to = "[\"bob\"]";
	o = draft_owner(cfg, &inc, &log, "bob");
	cr_assert(o && !strcmp(o, "bob"), "resolver: %s", o ? o : "NULL");
	o = draft_owner(cfg, &inc, &log, "alice");
	cr_assert(o && !strcmp(o, "alice"), "resolver: %s", o ? o : "NULL");
	o = draft_owner(cfg, &inc, &log, "system");
	cr_assert(o && !strcmp(o, "alice"), "first acker: %s", o ? o : "NULL");
	o = draft_owner(cfg, &inc, &log, NULL);
	cr_assert(o && !strcmp(o, "alice"), "first acker: %s", o ? o : "NULL");

	inc.assigned_to = "[\"bob\",\"alice\"]";
	o = draft_owner(cfg, &inc, &sys, "check:site-http");
	cr_assert(o && !strcmp(o, "bob"), "first assignee: %s", o ? o : "NULL");
	o = draft_owner(cfg, &inc, &none, "zed");
	cr_assert(o && !strcmp(o, "bob"), "first assignee: %s", o ? o : "NULL");

	inc.assigned_to = "[\"zed\"]";
	cr_assert_null(draft_owner(cfg, &inc, &sys, "system"));
	inc.assigned_to = "[\"bobby\"]";	/* not bob */
	cr_assert_null(draft_owner(cfg, &inc, &sys, "system"));
	inc.assigned_to = "[]";
	cr_assert_null(draft_owner(cfg, &inc, &none, NULL));
	inc.assigned_to = NULL;
	cr_assert_null(draft_owner(cfg, &inc, &none, "zed"));
	config_unref(cfg);
}

Test(draft, action_items_are_due_in_15_days_for_sev1_and_30_otherwise)
{
	cr_assert_eq(draft_action_days(1), 15);
	for (int sev = 2; sev <= 5; sev++)
		cr_assert_eq(draft_action_days(sev), 30, "SEV-%d", sev);

	/* the draft's hint for the action items carries that due date */
	char *md = story_draft("UTC");	/* SEV-2, written 2026-11-22 */
	cr_assert(strstr(md, "(@owner, due 2026-12-22)"), "%s", md);
	free(md);
}

/* --- action items ---------------------------------------------------------------------- */

static const char actions_md[] =
	"# Postmortem: Site down (incident #42)\n"
	"\n"
	"## Issue Summary\n"
	"\n"
	"From 09:14 to 10:02 UTC on 2026-11-22 (48 minutes), the site was down.\n"
	"\n"
	"## Timeline\n"
	"\n"
	"All times are UTC.\n"
	"\n"
	"- [ ] 09:14 - not an action item (@dave, due 2026-01-01)\n"
	"\n"
	"## Corrective and Preventative Measures\n"
	"\n"
	"We will patch the servers and watch them better.\n"
	"\n"
	"- [ ] Patch nginx on web-01 (@bob, due 2026-12-01)\n"
	"- [x] Add a check ([OPS-12](https://tickets.example/OPS-12)) (@carol.n, due 2026-12-05)\n"
	"- [ ] mail ops@example.com about it (@alice)\n"
	"- Keep an eye on the error rate (@dave, due 2026-12-09)\n"
	"\n"
	"## Appendix\n"
	"\n"
	"- [ ] not this one either (@erin, due 2026-12-31)\n";

Test(actions, task_list_items_of_the_measures_section)
{
	struct pm_action *a = NULL;
	size_t n = postmortem_actions(actions_md, strlen(actions_md), &a);
	cr_assert_eq(n, 3, "%zu items", n);

	cr_assert_eq(a[0].line, line_of(actions_md, "- [ ] Patch nginx"));
	cr_assert_eq(a[0].checked, 0);
	cr_assert_str_eq(a[0].text, "Patch nginx on web-01 (@bob, due 2026-12-01)");
	cr_assert_str_eq(a[0].owner, "bob");
	cr_assert_str_eq(a[0].due, "2026-12-01");
	cr_assert_null(a[0].ticket);

	cr_assert_eq(a[1].line, line_of(actions_md, "- [x] Add a check"));
	cr_assert_eq(a[1].checked, 1);
	cr_assert_str_eq(a[1].text, "Add a check (OPS-12) (@carol.n, due 2026-12-05)");
	cr_assert_str_eq(a[1].owner, "carol.n");
	cr_assert_str_eq(a[1].due, "2026-12-05");
	cr_assert_str_eq(a[1].ticket, "https://tickets.example/OPS-12");

	cr_assert_eq(a[2].line, line_of(actions_md, "- [ ] mail ops@"));
	cr_assert_eq(a[2].checked, 0);
	cr_assert_str_eq(a[2].owner, "alice");	/* not "example.com" */
	cr_assert_null(a[2].due);
	cr_assert_null(a[2].ticket);
	pm_actions_free(a, n);
}

Test(actions, an_owner_at_the_end_of_a_sentence_and_no_owner)
{
	static const char md[] = "## Corrective and Preventative Measures\n"
				 "\n"
				 "- [ ] Rotate the keys, then tell @dave.\n"
				 "- [ ] Write to ops@example.com, due 2026-12-10\n";
	struct pm_action *a = NULL;
	size_t n = postmortem_actions(md, strlen(md), &a);
	cr_assert_eq(n, 2);
	cr_assert_eq(a[0].line, 3);
	cr_assert_str_eq(a[0].owner, "dave");
	cr_assert_null(a[0].due);
	cr_assert_eq(a[1].line, 4);
	cr_assert_null(a[1].owner, "an e-mail address is no owner: %s", a[1].owner);
	cr_assert_str_eq(a[1].due, "2026-12-10");
	pm_actions_free(a, n);

	/* no such section: no items */
	a = NULL;
	static const char other[] = "## Timeline\n\n- [ ] x (@bob, due 2026-12-01)\n";
	n = postmortem_actions(other, strlen(other), &a);
	cr_assert_eq(n, 0);
	pm_actions_free(a, n);
}

/* out differs from md in exactly the byte at index at, which became c. */
static void one_byte_changed(const char *md, const char *out, size_t at, char c)
{
	cr_assert_eq(strlen(out), strlen(md));
	for (size_t i = 0; md[i]; i++)
		if (i == at)
			cr_assert_eq(out[i], c, "byte %zu is '%c'", i, out[i]);
		else
			cr_assert_eq(out[i], md[i], "byte %zu changed: '%c' -> '%c'", i, md[i], out[i]);
}

Test(actions, check_box_ticks_and_clears_only_that_box)
{
	int patch = line_of(actions_md, "- [ ] Patch nginx");
	int check = line_of(actions_md, "- [x] Add a check");
	size_t patch_box = (size_t)(strstr(actions_md, "- [ ] Patch nginx") - actions_md) + 3;
	size_t check_box = (size_t)(strstr(actions_md, "- [x] Add a check") - actions_md) + 3;

	char *out = postmortem_check_box(actions_md, patch, 1);
	cr_assert_not_null(out);
	one_byte_changed(actions_md, out, patch_box, 'x');
	struct pm_action *a = NULL;
	size_t n = postmortem_actions(out, strlen(out), &a);
	cr_assert_eq(n, 3);
	cr_assert_eq(a[0].checked, 1, "the ticked box reads as done");
	cr_assert_eq(a[1].checked, 1);
	cr_assert_eq(a[2].checked, 0);
	pm_actions_free(a, n);
	free(out);

	out = postmortem_check_box(actions_md, check, 0);
	cr_assert_not_null(out);
	one_byte_changed(actions_md, out, check_box, ' ');
	free(out);

	/* ticking a ticked box changes nothing */
	out = postmortem_check_box(actions_md, check, 1);
	cr_assert_not_null(out);
	cr_assert_str_eq(out, actions_md);
	free(out);

	/* lines without a task box */
	cr_assert_null(postmortem_check_box(actions_md, line_of(actions_md, "- Keep an eye"), 1));
	cr_assert_null(postmortem_check_box(actions_md, line_of(actions_md, "We will patch"), 1));
	cr_assert_null(postmortem_check_box(actions_md, line_of(actions_md, "## Corrective"), 1));
	cr_assert_null(postmortem_check_box(actions_md, patch + 4, 1));	/* the blank line */
	cr_assert_null(postmortem_check_box(actions_md, 999, 1));
}

Test(actions, due_day_ends_at_midnight_in_the_server_zone)
{
	cr_assert_eq(review_due_at("2026-12-01", "UTC"), iso("2026-12-02T00:00:00Z"));
	cr_assert_eq(review_due_at("2026-12-01", "Europe/Paris"), iso("2026-12-01T23:00:00Z"));
	cr_assert_eq(review_due_at("2026-07-01", "Europe/Paris"), iso("2026-07-01T22:00:00Z"));
	cr_assert_eq(review_due_at("2026-12-31", "UTC"), iso("2027-01-01T00:00:00Z"));
	cr_assert_eq(review_due_at("2028-02-29", "UTC"), iso("2028-03-01T00:00:00Z"));

	static const char *const bad[] = { "2026-13-01", "2026-02-30", "2026-02-29", "2026-00-10",
					   "2026-12-32", "2026-12-00", "tomorrow", "2026-12-1",
					   "", "2026-12-01T09:00" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		cr_assert_eq(review_due_at(bad[i], "UTC"), 0, "'%s' accepted", bad[i]);
	cr_assert_eq(review_due_at(NULL, "UTC"), 0);
}

/* Regression: names of people and senders went into the draft as raw Markdown, so a
 * check id like site_*x* rendered as emphasis and a user id as raw HTML. */
Test(draft, regression_names_of_people_and_senders_are_escaped)
{
	struct config *cfg = make_cfg("UTC");
	struct log_entry v[] = {
		entry(at(9, 14), "trigger", "check:site_*x*", "triggered: x"),
		entry(at(9, 15), "ack", "*bob*", "acknowledged by bob"),
		entry(at(9, 16), "note", "*bob*", "cache flush " DRAFT_MISLEADING_TAG),
		entry(at(9, 17), "resolve", "<i>eve</i>", "resolved"),
	};
	struct incident inc = story_incident();
	char *md = draft_of(cfg, &inc, v, ARRAY_SIZE(v), NULL, NULL, at(10, 5));
	char *html = cmark_markdown_to_html(md, strlen(md), CMARK_OPT_UNSAFE);
	cr_assert(strstr(md, "Detected by check:site\\_\\*x\\*: triggered: x."), "%s", md);
	cr_assert(strstr(md, "Resolved by \\<i\\>eve\\</i\\>."), "%s", md);
	cr_assert(strstr(md, "It was detected by check:site\\_\\*x\\* at"), "%s", md);
	cr_assert(strstr(md, "acknowledged by \\*bob\\* after"), "%s", md);
	cr_assert(strstr(md, "- 09:16 - \\*bob\\*: cache flush"), "%s", md);
	cr_assert_null(strstr(html, "<em>"), "%s", html);
	cr_assert_null(strstr(html, "<i>"), "%s", html);
	free(html);
	free(md);
	config_unref(cfg);
}

/* Regression: a numbered task item could not be ticked, so marking it done left its
 * box empty and the next edit of the body set it open again. */
Test(actions, regression_numbered_task_items_can_be_ticked)
{
	static const char md[] = "## Corrective and Preventative Measures\n\n"
				 "1. [ ] ordered item (@bob, due 2026-12-01)\n"
				 "2) [x] second item (@bob, due 2026-12-02)\n";
	char *out = postmortem_check_box(md, 3, 1);
	cr_assert_not_null(out);
	one_byte_changed(md, out, (size_t)(strstr(md, "1. [ ]") - md) + 4, 'x');
	free(out);
	out = postmortem_check_box(md, 4, 0);
	cr_assert_not_null(out);
	one_byte_changed(md, out, (size_t)(strstr(md, "2) [x]") - md) + 4, ' ');
	free(out);
}

/* Regression: sscanf let malformed due days through ("2026-12-+1", "2026-1-011"). */
Test(actions, regression_malformed_due_days_are_refused)
{
	static const char *const bad[] = { "2026-12-1x", " 2026-12-1", "2026-12-+1", "2026-1-011",
					   "+202-12-01", "2026-12-01 " };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		cr_assert_eq(review_due_at(bad[i], "UTC"), 0, "'%s' accepted", bad[i]);
	static const char md[] = "## Corrective and Preventative Measures\n\n"
				 "- [ ] odd date (@bob, due 2026-12-+1)\n";
	struct pm_action *a = NULL;
	size_t n = postmortem_actions(md, strlen(md), &a);
	cr_assert_eq(n, 1);
	cr_assert_null(a[0].due, "'%s' read as a due day", a[0].due);
	pm_actions_free(a, n);
}

/* Regression: a link in a sub-item became the parent item's ticket. */
Test(actions, regression_a_sub_items_link_is_not_the_parents_ticket)
{
	static const char md[] = "## Corrective and Preventative Measures\n\n"
				 "- [ ] parent (@bob, due 2026-12-03)\n"
				 "  - [ ] child [T-1](https://t/1)\n";
	struct pm_action *a = NULL;
	size_t n = postmortem_actions(md, strlen(md), &a);
	cr_assert_eq(n, 1, "only the top-level items are tracked");
	cr_assert_null(a[0].ticket, "the parent took '%s'", a[0].ticket);
	pm_actions_free(a, n);
}

/* A sender repeating its alert every minute would bury the story: of a run of
 * repeats only the first and the last (which counts them all) are in the draft. */
Test(draft, repeats_of_an_alert_show_the_first_and_the_last)
{
	struct config *cfg = make_cfg("UTC");
	struct log_entry v[] = {
		entry(at(9, 14), "trigger", "alertmanager", "triggered: disk full (dedup key d)"),
		entry(at(9, 15), "alert", "alertmanager", "triggered again: disk full (dedup key d, 2 times)"),
		entry(at(9, 16), "alert", "alertmanager", "triggered again: disk full (dedup key d, 3 times)"),
		entry(at(9, 17), "alert", "alertmanager", "triggered again: disk full (dedup key d, 4 times)"),
		entry(at(9, 18), "alert", "alertmanager", "triggered again: disk full (dedup key d, 5 times)"),
		entry(at(9, 19), "ack", "alice", "acknowledged by alice"),
		entry(at(9, 20), "alert", "alertmanager", "triggered again: disk full (dedup key d, 6 times)"),
		entry(at(9, 30), "resolve", "alice", "resolved"),
	};
	struct incident inc = story_incident();
	char *md = draft_of(cfg, &inc, v, ARRAY_SIZE(v), NULL, NULL, at(10, 5));
	char *tl = section(md, "Timeline");
	struct strlist b = STRLIST_INIT;
	bullets(tl, &b);
	cr_assert_eq(b.n, 6, "%s", tl);
	cr_assert(strstr(b.v[1], "2 times"), "%s", b.v[1]);
	cr_assert(strstr(b.v[2], "5 times"), "%s", b.v[2]);
	cr_assert(strstr(b.v[4], "6 times"), "a repeat on its own is shown: %s", b.v[4]);
	cr_assert_null(strstr(tl, "3 times"));
	cr_assert_null(strstr(tl, "4 times"));
	strlist_release(&b);
	free(tl);
	free(md);
	config_unref(cfg);
}

/* examples/postmortem-draft.md is what the generator writes for the README's story;
 * TOCSIN_WRITE_EXAMPLES=1 writes it again after a change of the generator. */
Test(draft, the_example_draft_is_current)
{
	struct config *cfg = test_config("server: {time_zone: UTC}\n"
					 "users:\n"
					 "  - {id: alice, name: Alice Martin}\n"
					 "  - {id: bob, name: Bob Okafor}\n"
					 "  - {id: carol, name: Carol Nguyen}\n"
					 "services:\n"
					 "  - {id: website, name: Public website}\n");
	struct log_entry v[] = {
		entry(at(9, 14), "trigger", "check:site-http",
		      "triggered: site-http: HTTP CRITICAL: HTTP 500 from http://127.0.0.1:8081/checkout "
		      "(dedup key check:site-http)"),
		entry(at(9, 14), "escalate", "system",
		      "level 1, pass 1 of 3: assigned to carol (on call for web-primary)"),
		entry(at(9, 14), "notify", "system", "carol paged by email 'mail' (attempt 1)"),
		entry(at(9, 15), "notify", "system", "carol paged by sms 'phone' (attempt 1)"),
		entry(at(9, 19), "ack", "carol", "acknowledged by carol"),
		entry(at(9, 27), "note", "carol", "restarted the web servers; the errors came back "
						  "within a minute " DRAFT_MISLEADING_TAG),
		entry(at(9, 29), "escalate", "carol",
		      "escalated by carol: level 2, pass 1 of 3: assigned to bob"),
		entry(at(9, 29), "notify", "system", "bob paged by email 'mail' (attempt 1)"),
		entry(at(9, 41), "note", "bob", "application logs say: connection pool exhausted"),
		entry(at(9, 52), "note", "bob", "rolled back deploy 220"),
		entry(at(10, 2), "resolve", "check:site-http",
		      "resolved by check:site-http: alert check:site-http resolved"),
	};
	struct log_list log = { v, ARRAY_SIZE(v), ARRAY_SIZE(v) };
	struct change_event ch = { .id = 1, .service = "website", .at = at(9, 10),
				   .summary = "deploy 220 of the website", .source = "ci" };
	struct change_list changes = { &ch, 1, 1 };
	struct incident inc = {
		.number = 1, .service = "website",
		.title = "site-http: HTTP CRITICAL: HTTP 500 from http://127.0.0.1:8081/checkout",
		.status = INC_RESOLVED, .severity = 2, .urgency_high = 1, .created_at = at(9, 14),
		.acknowledged_at = at(9, 19), .resolved_at = at(10, 2), .updated_at = at(10, 2),
		.assigned_to = "[\"bob\"]",
	};
	struct draft_input in = { .cfg = cfg, .inc = &inc, .log = &log, .changes = &changes,
				  .now = at(10, 2) };
	in.owner = draft_owner(cfg, &inc, &log, "check:site-http");
	cr_assert_str_eq(in.owner, "carol", "the first acker owns it when a check resolved it");
	char *md = draft_markdown(&in);
	char path[4096];
	const char *slash = strrchr(__FILE__, '/');
	snprintf(path, sizeof(path), "%.*s/../../examples/postmortem-draft.md",
		 slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
	if (getenv("TOCSIN_WRITE_EXAMPLES")) {
		FILE *f = fopen(path, "w");
		cr_assert_not_null(f);
		fputs(md, f);
		fclose(f);
	}
	size_t len;
	char *err = NULL, *have = read_file(path, &len, &err);
	cr_assert_not_null(have, "%s (TOCSIN_WRITE_EXAMPLES=1 writes it)", err);
	cr_assert_str_eq(have, md, "%s is not what the generator writes now "
				   "(TOCSIN_WRITE_EXAMPLES=1 writes it)", path);
	free(have);
	free(md);
	config_unref(cfg);
}
