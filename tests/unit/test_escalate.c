/*
 * The escalation engine's decisions (escalate.c) against a real SQLite store through
 * the writer: who is assigned at each step, when the next deadline is, what a
 * refused request leaves behind (nothing).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "escalate.h"
#include "helpers.h"
#include "incident.h"

#define MIN (60 * 1000)

static const char *yaml =
	"users:\n"
	"  - {id: alice, contact_methods: [{id: m, type: email, address: a@example.com}]}\n"
	"  - {id: bob, contact_methods: [{id: m, type: email, address: b@example.com}]}\n"
	"  - {id: carol, contact_methods: [{id: m, type: email, address: c@example.com}]}\n"
	"schedules:\n"
	"  - id: days\n"
	"    time_zone: UTC\n"
	"    layers:\n"
	"      - {name: d, start: \"1970-01-01T00:00\", turn: 1d, users: [bob, carol]}\n"
	"  - id: never\n"
	"    time_zone: UTC\n"
	"    layers:\n"
	"      - {name: n, start: \"2099-01-01T00:00\", turn: 1d, users: [alice]}\n"
	"escalation_policies:\n"
	"  - id: two\n"
	"    repeat: 1\n"
	"    levels:\n"
	"      - {targets: [user:alice, schedule:days, user:alice], escalate_after: 5m}\n"
	"      - {targets: [schedule:never, user:carol], escalate_after: 10m}\n"
	"  - id: skip\n"
	"    levels:\n"
	"      - {targets: [schedule:never], escalate_after: 5m}\n"
	"      - {targets: [user:bob], escalate_after: 5m}\n"
	"  - id: hop\n"
	"    levels:\n"
	"      - {targets: [user:alice], escalate_after: 5m}\n"
	"      - {targets: [schedule:never], escalate_after: 5m}\n"
	"      - {targets: [user:bob], escalate_after: 5m}\n"
	"  - id: dead-end\n"
	"    levels:\n"
	"      - {targets: [user:alice], escalate_after: 5m}\n"
	"      - {targets: [schedule:never], escalate_after: 5m}\n"
	"services:\n"
	"  - {id: web, escalation_policy: two, integration_keys: [k1], ack_timeout: 30m}\n"
	"  - {id: gap, escalation_policy: skip, integration_keys: [k2]}\n"
	"  - {id: none, integration_keys: [k3]}\n"
	"  - {id: end, escalation_policy: dead-end, integration_keys: [k4]}\n"
	"  - {id: hops, escalation_policy: hop, integration_keys: [k5]}\n";

static struct config *cfg;
static struct store *st;
static char *dir, *path;

static void setup(void)
{
	log_set_quiet(1);
	cfg = test_config(yaml);
	st = test_store(&dir, &path);
}

static void teardown(void)
{
	test_store_close(st, dir, path);
	config_unref(cfg);
}

TestSuite(escalate, .init = setup, .fini = teardown);

struct call {
	struct event ev;
	struct action act;
	int64_t timer;
	int64_t now;
	char *err;
	int rc;
};

static int apply_event(struct store_tx *tx, struct store_job *job)
{
	struct call *c = job->arg;
	struct event_result res;
	return incident_apply_event(tx, cfg, &c->ev, c->now, &res);
}

static void trigger(const char *service, int64_t now)
{
	struct call c = { .ev = { .action = EV_TRIGGER, .service = (char *)service,
				  .dedup_key = "k", .summary = "down", .severity = "critical",
				  .integration = "events_v2" },
			  .now = now };
	cr_assert_eq(store_run(st, apply_event, &c), STORE_OK);
}

static int apply_action(struct store_tx *tx, struct store_job *job)
{
	struct call *c = job->arg;
	return incident_apply_action(tx, cfg, &c->act, c->now, &c->err);
}

/* Runs an action on incident 1; returns its rc, *err (if asked) the reason. */
static int act(enum incident_action kind, const char *text, int64_t now, char **err)
{
	struct call c = { .act = { .kind = kind, .number = 1, .actor = "bob", .text = text },
			  .now = now };
	int rc = store_run(st, apply_action, &c);
	if (err)
		*err = c.err;
	else
		free(c.err);
	return rc;
}

static struct timer_list timers(void)
{
	struct timer_list l = { 0 };
	struct store_conn *c = store_read_begin(st);
	cr_assert_eq(store_ops(st)->timer_list(c, &l), STORE_OK);
	store_read_end(st, c);
	return l;
}

/* The due time of incident 1's escalate timer; 0 when it has none. */
static int64_t escalate_due(void)
{
	struct timer_list l = timers();
	int64_t due = 0;
	for (size_t i = 0; i < l.n; i++)
		if (!strcmp(l.v[i].kind, TIMER_ESCALATE)) {
			cr_assert_eq(due, 0, "at most one escalate timer");
			due = l.v[i].due;
		}
	timer_list_release(&l);
	return due;
}

static int apply_fire(struct store_tx *tx, struct store_job *job)
{
	struct call *c = job->arg;
	struct timer t = { 0 };
	int rc = incident_fire_timer(tx, cfg, c->timer, c->now, &t);
	timer_release(&t);
	return rc;
}

/* Fires incident 1's escalate timer at now; its rc. */
static int fire_escalate(int64_t now)
{
	struct timer_list l = timers();
	struct call c = { .now = now };
	for (size_t i = 0; i < l.n; i++)
		if (!strcmp(l.v[i].kind, TIMER_ESCALATE))
			c.timer = l.v[i].id;
	timer_list_release(&l);
	cr_assert_neq(c.timer, 0, "no escalate timer to fire");
	return store_run(st, apply_fire, &c);
}

static struct incident get(void)
{
	struct incident inc = { 0 };
	struct store_conn *c = store_read_begin(st);
	cr_assert_eq(store_ops(st)->incident_get(c, 1, &inc), STORE_FOUND);
	store_read_end(st, c);
	return inc;
}

static void expect(const char *assigned, int level, int loop)
{
	struct incident inc = get();
	cr_assert_str_eq(inc.assigned_to, assigned);
	cr_assert_eq(inc.escalation_level, level);
	cr_assert_eq(inc.escalation_loop, loop);
	incident_release(&inc);
}

static size_t count_pages(void)
{
	struct page_list l = { 0 };
	struct store_conn *c = store_read_begin(st);
	cr_assert_eq(store_ops(st)->page_list(c, 1, &l), STORE_OK);
	store_read_end(st, c);
	size_t n = l.n;
	page_list_release(&l);
	return n;
}

static struct log_list timeline(void)
{
	struct log_list l = { 0 };
	struct store_conn *c = store_read_begin(st);
	cr_assert_eq(store_ops(st)->log_list(c, 1, &l), STORE_OK);
	store_read_end(st, c);
	return l;
}

static char *last_message(void)
{
	struct log_list l = timeline();
	char *m = xstrdup(l.v[l.n - 1].message);
	log_list_release(&l);
	return m;
}

Test(escalate, level_one_assigns_users_and_the_schedule_oncall_once_each)
{
	trigger("web", 0);	/* day 0: bob is on call for "days" */
	expect("[\"alice\",\"bob\"]", 1, 0);
	cr_assert_eq(count_pages(), 2);
	cr_assert_eq(escalate_due(), 5 * MIN);
	char *m = last_message();
	cr_assert_str_eq(m, "level 1, pass 1 of 2: assigned to alice, bob (on call for days)");
	free(m);
}

Test(escalate, deadlines_chain_from_the_deadline_that_fired)
{
	trigger("web", 0);
	/* handled 7 minutes late: level 2's 10 minutes still count from 5m */
	cr_assert_eq(fire_escalate(12 * MIN), STORE_FOUND);
	expect("[\"carol\"]", 2, 0);
	cr_assert_eq(escalate_due(), 15 * MIN);
	cr_assert_eq(fire_escalate(15 * MIN), STORE_FOUND);
	expect("[\"alice\",\"bob\"]", 1, 1);
	cr_assert_eq(fire_escalate(20 * MIN), STORE_FOUND);
	expect("[\"carol\"]", 2, 1);
	cr_assert_eq(escalate_due(), 0, "the last step of the last pass has no next");
	cr_assert_eq(count_pages(), 2 + 1 + 2 + 1);
}

Test(escalate, a_timer_that_is_not_due_does_not_fire)
{
	trigger("web", 0);
	cr_assert_eq(fire_escalate(5 * MIN - 1), TIMER_NOT_DUE);
	expect("[\"alice\",\"bob\"]", 1, 0);
	cr_assert_eq(escalate_due(), 5 * MIN, "the timer stays for its own time");
}

Test(escalate, regression_cancelled_timer_id_was_reused_by_the_next_timer)
{
	/* SQLite reuses the rowid of a deleted last row unless AUTOINCREMENT: a
	 * reassign cancelled the escalate timer and armed a new one under the same id,
	 * and the engine's stale wake-up for the old one fired the new one early. */
	trigger("web", 0);
	struct timer_list before = timers();
	cr_assert_eq(act(ACT_REASSIGN, "user:carol", 3 * MIN, NULL), STORE_OK);
	struct timer_list after = timers();
	for (size_t i = 0; i < before.n; i++)
		for (size_t j = 0; j < after.n; j++)
			cr_assert_neq(before.v[i].id, after.v[j].id, "timer id reused");
	timer_list_release(&before);
	timer_list_release(&after);
	cr_assert_eq(escalate_due(), 8 * MIN);
}

Test(escalate, an_empty_level_is_skipped_at_once)
{
	trigger("gap", 1000);
	expect("[\"bob\"]", 2, 0);
	struct log_list l = timeline();
	cr_assert_eq(l.n, 3);
	cr_assert_str_eq(l.v[1].message, "level 1: nobody is on call for never: moving on");
	cr_assert_str_eq(l.v[2].message, "level 2: assigned to bob");
	log_list_release(&l);
	cr_assert_eq(escalate_due(), 0);
}

Test(escalate, a_level_with_someone_notes_its_empty_schedule)
{
	trigger("web", 0);
	fire_escalate(5 * MIN);
	char *m = last_message();
	cr_assert_str_eq(m, "not acknowledged within 5m: level 2, pass 1 of 2: assigned to carol "
			    "(nobody on call for never)");
	free(m);
}

Test(escalate, ack_stops_and_its_timeout_restarts_from_level_one)
{
	trigger("web", 0);
	fire_escalate(5 * MIN);
	cr_assert_eq(act(ACT_ACK, NULL, 6 * MIN, NULL), STORE_OK);
	cr_assert_eq(escalate_due(), 0);
	struct timer_list l = timers();
	cr_assert_eq(l.n, 1);
	cr_assert_str_eq(l.v[0].kind, TIMER_ACK_TIMEOUT);
	struct call c = { .timer = l.v[0].id, .now = 36 * MIN };
	timer_list_release(&l);
	cr_assert_eq(store_run(st, apply_fire, &c), STORE_FOUND);
	expect("[\"alice\",\"bob\"]", 1, 0);
	cr_assert_eq(escalate_due(), 41 * MIN);
}

Test(escalate, manual_escalate_at_the_last_step_is_refused_and_writes_nothing)
{
	trigger("gap", 0);
	size_t pages = count_pages();
	struct log_list before = timeline();
	char *err = NULL;
	cr_assert_eq(act(ACT_ESCALATE, NULL, MIN, &err), INCIDENT_ECONFLICT);
	cr_assert_str_eq(err, "the incident is at the last step of 'skip' already (level 2)");
	free(err);
	struct log_list after = timeline();
	cr_assert_eq(after.n, before.n);
	cr_assert_eq(count_pages(), pages);
	log_list_release(&before);
	log_list_release(&after);
}

Test(escalate, manual_escalate_without_a_policy_is_refused)
{
	trigger("none", 0);
	char *err = NULL;
	cr_assert_eq(act(ACT_ESCALATE, NULL, MIN, &err), INCIDENT_ECONFLICT);
	cr_assert_str_eq(err, "service 'none' has no escalation policy");
	free(err);
	cr_assert_eq(count_pages(), 0);
}

Test(escalate, reassign_refuses_bad_targets_and_writes_nothing)
{
	trigger("web", 0);
	char *err = NULL;
	cr_assert_eq(act(ACT_REASSIGN, "team:web", MIN, &err), INCIDENT_EINVAL);
	cr_assert_str_eq(err, "bad target 'team:web' (use user:ID or schedule:ID)");
	free(err);
	cr_assert_eq(act(ACT_REASSIGN, "user:zed", MIN, &err), INCIDENT_EINVAL);
	cr_assert_str_eq(err, "no user 'zed' in the configuration");
	free(err);
	cr_assert_eq(act(ACT_REASSIGN, "schedule:zed", MIN, &err), INCIDENT_EINVAL);
	cr_assert_str_eq(err, "no schedule 'zed' in the configuration");
	free(err);
	cr_assert_eq(act(ACT_REASSIGN, "user:", MIN, &err), INCIDENT_EINVAL);
	cr_assert_str_eq(err, "bad target 'user:' (use user:ID or schedule:ID)");
	free(err);
	cr_assert_eq(act(ACT_REASSIGN, "schedule:never", MIN, &err), INCIDENT_ECONFLICT);
	cr_assert_str_eq(err, "nobody is on call for schedule 'never' now");
	free(err);
	expect("[\"alice\",\"bob\"]", 1, 0);
	cr_assert_eq(count_pages(), 2);
	cr_assert_eq(escalate_due(), 5 * MIN);
}

Test(escalate, reassign_to_a_schedule_pages_whoever_is_on_call_then)
{
	trigger("web", 0);
	/* day 1: carol's turn on "days" */
	cr_assert_eq(act(ACT_REASSIGN, "schedule:days", 24 * 60 * MIN + 1, NULL), STORE_OK);
	expect("[\"carol\"]", 1, 0);
	char *m = last_message();
	cr_assert_str_eq(m, "reassigned by bob to carol (on call for days)");
	free(m);
	cr_assert_eq(escalate_due(), 24 * 60 * MIN + 1 + 5 * MIN);
}

Test(escalate, an_empty_last_level_leaves_the_incident_with_its_holder)
{
	trigger("end", 0);
	cr_assert_eq(fire_escalate(5 * MIN), STORE_FOUND);
	expect("[\"alice\"]", 2, 0);
	struct log_list l = timeline();
	cr_assert_str_eq(l.v[l.n - 2].message, "not acknowledged within 5m: level 2: nobody is on "
					       "call for never: moving on");
	cr_assert_str_eq(l.v[l.n - 1].message, "nobody is on call at the next levels of dead-end: "
					       "the incident stays with alice");
	log_list_release(&l);
	cr_assert_eq(escalate_due(), 0);
	cr_assert_eq(count_pages(), 1, "nobody new was paged");
}

Test(escalate, a_walk_past_an_empty_level_says_its_cause_once)
{
	trigger("hops", 0);
	cr_assert_eq(fire_escalate(5 * MIN), STORE_FOUND);
	expect("[\"bob\"]", 3, 0);
	struct log_list l = timeline();
	cr_assert_str_eq(l.v[l.n - 2].message, "not acknowledged within 5m: level 2: nobody is on "
					       "call for never: moving on");
	cr_assert_str_eq(l.v[l.n - 1].message, "level 3: assigned to bob");
	log_list_release(&l);
}

Test(escalate, each_page_plans_a_delivery_and_ack_cancels_it)
{
	trigger("web", 0);
	struct notification_list l = { 0 };
	struct store_conn *c = store_read_begin(st);
	cr_assert_eq(store_ops(st)->notification_list(c, 1, &l), STORE_OK);
	store_read_end(st, c);
	cr_assert_eq(l.n, 2, "alice and bob, each their first contact method at once");
	cr_assert_str_eq(l.v[0].user, "alice");
	cr_assert_str_eq(l.v[0].status, "pending");
	cr_assert_eq(l.v[0].due, 0);
	notification_list_release(&l);
	cr_assert_eq(act(ACT_ACK, NULL, MIN, NULL), STORE_OK);
	c = store_read_begin(st);
	cr_assert_eq(store_ops(st)->notification_list(c, 1, &l), STORE_OK);
	store_read_end(st, c);
	cr_assert_str_eq(l.v[0].status, "cancelled");
	cr_assert_str_eq(l.v[1].status, "cancelled");
	notification_list_release(&l);
}
