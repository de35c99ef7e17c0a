/*
 * The postmortem lint: the committed example (examples/postmortem.md) lints clean,
 * and each rule has a case that breaks it, made from the example by one edit.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "postmortem.h"
#include "util.h"

static char *example(void)
{
	char path[4096];
	const char *slash = strrchr(__FILE__, '/');
	snprintf(path, sizeof(path), "%.*s/../../examples/postmortem.md",
		 slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
	size_t len;
	char *err = NULL;
	char *md = read_file(path, &len, &err);
	cr_assert_not_null(md, "%s", err ? err : "");
	return md;
}

/* md (taken) with the first `from` replaced by `to`. */
static char *swap(char *md, const char *from, const char *to)
{
	char *at = strstr(md, from);
	cr_assert_not_null(at, "no '%s' to replace", from);
	char *out = xasprintf("%.*s%s%s", (int)(at - md), md, to, at + strlen(from));
	free(md);
	return out;
}

/* The example with the first `from` replaced by `to`. */
static char *edited(const char *from, const char *to)
{
	return swap(example(), from, to);
}

/* The findings of md as "LINE error|warning message" lines. */
static char *lint(char *md)
{
	struct pm_finding *f = NULL;
	size_t n = postmortem_lint(md, strlen(md), &f);
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < n; i++)
		buf_addf(&b, "%d %s %s\n", f[i].line, f[i].error ? "error" : "warning", f[i].message);
	pm_findings_free(f, n);
	free(md);
	return buf_detach(&b, NULL);
}

static void expect(char *md, const char *want)
{
	char *got = lint(md);
	cr_assert(strstr(got, want), "wanted '%s' in:\n%s", want, got);
	free(got);
}

static void expect_none(char *md, const char *unwanted)
{
	char *got = lint(md);
	cr_assert_null(strstr(got, unwanted), "did not want '%s' in:\n%s", unwanted, got);
	free(got);
}

Test(postmortem, the_example_lints_clean)
{
	char *got = lint(example());
	cr_assert_str_eq(got, "");
	free(got);
}

Test(postmortem, a_missing_section_is_an_error)
{
	expect(edited("## Root Cause\n", "## Why\n"),
	       "error missing section '## Root Cause'");
}

Test(postmortem, the_combined_section_stands_for_the_two_middle_ones)
{
	char *md = edited("## Root Cause\n", "## Root Cause and Resolution\n");
	md = swap(md, "## Resolution and Recovery\n", "### Recovery\n");
	expect_none(md, "missing section");
}

Test(postmortem, sections_out_of_order)
{
	char *md = example();
	char *summary = strstr(md, "## Issue Summary"), *timeline = strstr(md, "## Timeline");
	char *rest = strstr(md, "## Root Cause\n");
	char *out = xasprintf("%.*s%.*s%.*s%s", (int)(summary - md), md, (int)(rest - timeline),
			      timeline, (int)(timeline - summary), summary, rest);
	free(md);
	expect(out, "is out of order");
}

Test(postmortem, the_summary_needs_times_with_a_zone_impact_and_cause)
{
	expect(edited("From 09:14 to 10:02 UTC on", "From nine to ten on"),
	       "Issue Summary: give the duration with its start and end times");
	expect(edited("09:14 to 10:02 UTC", "09:14 to 10:02"), "and their time zone");
	expect(edited("The root cause was a database connection pool that the 220 deploy shrank from 50\n"
		      "to 5 connections, because a configuration default changed",
		      "A database connection pool shrank from 50\nto 5 connections when a "
		      "configuration default changed"),
	       "Issue Summary: name the root cause");
}

Test(postmortem, timeline_items_are_time_dash_text)
{
	expect(edited("- 09:41 - Bob found", "- Bob found"),
	       "error Timeline: write each item as 'TIME - what happened'");
	expect(edited("All times are UTC.", "All times are local."),
	       "error Timeline: state the time zone once");
	expect_none(edited("- 09:29 - Carol escalated to Bob", "- 09:29 - Carol called Bob"),
		    "who was paged");	/* "paged Carol" still tells it */
	expect(swap(edited("- 09:14 - tocsin paged Carol", "- 09:14 - tocsin told Carol"),
		    "- 09:29 - Carol escalated to Bob", "- 09:29 - Carol called Bob"),
	       "warning Timeline: no item tells who was paged or escalated to");
}

Test(postmortem, action_items_need_an_owner_and_a_due_date)
{
	expect(edited("(@carol, due 2026-12-05)", "(soon)"),
	       "error action item needs an owner and a due date");
	char *md = example(), *list = strstr(md, "- [ ] Set");
	*list = '\0';
	char *got = lint(xstrdup(md));
	free(md);
	cr_assert(strstr(got, "list the specific action items as a task list"), "%s", got);
	free(got);
}

Test(postmortem, unfilled_gaps_are_errors)
{
	expect(edited("Customers could browse", "<!-- fill in: impact on users, % affected -->\n"
						"Customers could browse"),
	       "error unfilled gap: impact on users, % affected: write it");
}

Test(postmortem, blame_is_a_warning)
{
	expect(edited("Bob rolled back deploy 220.", "Bob rolled back deploy 220; it was human "
						     "error by the deployer."),
	       "warning blameless wording: 'human error'");
	expect(edited("our configuration relied on", "Dave should have set it, our configuration relied on"),
	       "warning blameless wording: 'should have'");
}

Test(postmortem, length_outside_400_to_600_words_is_a_warning)
{
	char *md = example(), *rc = strstr(md, "## Corrective");
	char *pad = xstrdup("");
	for (int i = 0; i < 40; i++) {
		char *more = xasprintf("%sThe pool also served the reporting jobs at night. ", pad);
		free(pad);
		pad = more;
	}
	char *out = xasprintf("%.*s%s\n\n%s", (int)(rc - md), md, pad, rc);
	free(pad);
	free(md);
	expect(out, "warning length:");
}
