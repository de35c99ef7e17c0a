/*
 * The dedup and grouping rules of DESIGN.md section 7, run against a real SQLite
 * store through the writer, as the daemon does.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "incident.h"

static const char *yaml =
	"services:\n"
	"  - {id: web, integration_keys: [k1]}\n"
	"  - {id: db, integration_keys: [k2]}\n"
	"  - {id: grouped, integration_keys: [k3], group_window: 5m, auto_resolve: 4h}\n"
	"  - {id: calm, integration_keys: [k4], urgency: low}\n";

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

struct ev_call {
	struct event ev;
	int64_t now;
	struct event_result res;
};

static int apply_event(struct store_tx *tx, struct store_job *job)
{
	struct ev_call *c = job->arg;
	return incident_apply_event(tx, cfg, &c->ev, c->now, &c->res);
}

/* Sends one event at time now (ms); returns the incident it touched (0: none). */
static int64_t send(enum event_action action, const char *service, const char *key,
		    const char *group, int64_t now)
{
	struct ev_call c = {
		.ev = { .action = action, .service = (char *)service, .dedup_key = (char *)key,
			.summary = "disk full", .source = "db1", .severity = "critical",
			.group_key = (char *)group, .integration = "events_v2" },
		.now = now,
	};
	cr_assert_eq(store_run(st, apply_event, &c), STORE_OK);
	return c.res.incident;
}

static struct incident get(int64_t n)
{
	struct incident inc = { 0 };
	struct store_conn *c = store_read_begin(st);
	cr_assert_eq(store_ops(st)->incident_get(c, n, &inc), STORE_FOUND);
	store_read_end(st, c);
	return inc;
}

static size_t count_incidents(void)
{
	struct incident_filter f = { 0 };
	struct incident_list l = { 0 };
	struct store_conn *c = store_read_begin(st);
	cr_assert_eq(store_ops(st)->incident_list(c, &f, &l), STORE_OK);
	store_read_end(st, c);
	size_t n = l.n;
	incident_list_release(&l);
	return n;
}

TestSuite(incident, .init = setup, .fini = teardown);

Test(incident, same_key_folds_into_the_open_alert)
{
	int64_t a = send(EV_TRIGGER, "web", "k", NULL, 1000);
	int64_t b = send(EV_TRIGGER, "web", "k", NULL, 2000);
	cr_assert_eq(a, 1);
	cr_assert_eq(b, a);
	cr_assert_eq(count_incidents(), 1);
	struct incident inc = get(a);
	cr_assert_eq(inc.alert_count, 1);
	incident_release(&inc);
}

Test(incident, numbers_are_1_2_3_per_installation)
{
	cr_assert_eq(send(EV_TRIGGER, "web", "a", NULL, 1), 1);
	cr_assert_eq(send(EV_TRIGGER, "db", "a", NULL, 2), 2);
	cr_assert_eq(send(EV_TRIGGER, "web", "b", NULL, 3), 3);
}

Test(incident, resolve_then_trigger_opens_a_new_incident)
{
	int64_t a = send(EV_TRIGGER, "web", "k", NULL, 1000);
	cr_assert_eq(send(EV_RESOLVE, "web", "k", NULL, 2000), a);
	int64_t b = send(EV_TRIGGER, "web", "k", NULL, 3000);
	cr_assert_neq(a, b);
	struct incident old = get(a), new = get(b);
	cr_assert_eq(old.status, INC_RESOLVED);
	cr_assert_eq(old.resolved_at, 2000);
	cr_assert_eq(new.status, INC_TRIGGERED);
	incident_release(&old);
	incident_release(&new);
}

Test(incident, unknown_key_ack_and_resolve_change_nothing)
{
	cr_assert_eq(send(EV_RESOLVE, "web", "nope", NULL, 1), 0);
	cr_assert_eq(send(EV_ACKNOWLEDGE, "web", "nope", NULL, 1), 0);
	send(EV_TRIGGER, "web", "k", NULL, 1);
	cr_assert_eq(send(EV_RESOLVE, "db", "k", NULL, 2), 0, "another service's key");
	struct incident inc = get(1);
	cr_assert_eq(inc.status, INC_TRIGGERED);
	incident_release(&inc);
}

Test(incident, ack_keeps_the_first_acknowledgement_time)
{
	send(EV_TRIGGER, "web", "k", NULL, 1000);
	send(EV_ACKNOWLEDGE, "web", "k", NULL, 5000);
	send(EV_ACKNOWLEDGE, "web", "k", NULL, 9000);
	struct incident inc = get(1);
	cr_assert_eq(inc.status, INC_ACKNOWLEDGED);
	cr_assert_eq(inc.acknowledged_at, 5000);
	incident_release(&inc);
}

Test(incident, group_window_joins_alerts_created_within_it)
{
	int64_t a = send(EV_TRIGGER, "grouped", "x", NULL, 0);
	int64_t b = send(EV_TRIGGER, "grouped", "y", NULL, 4 * 60 * 1000);
	cr_assert_eq(a, b, "within 5m: same incident");
	int64_t c = send(EV_TRIGGER, "grouped", "z", NULL, 6 * 60 * 1000);
	cr_assert_neq(a, c, "past 5m of the incident's creation: a new one");
	struct incident inc = get(a);
	cr_assert_eq(inc.alert_count, 2);
	cr_assert_eq(inc.open_alerts, 2);
	incident_release(&inc);
}

Test(incident, incident_resolves_when_its_last_alert_does)
{
	send(EV_TRIGGER, "grouped", "x", NULL, 0);
	send(EV_TRIGGER, "grouped", "y", NULL, 1);
	send(EV_RESOLVE, "grouped", "x", NULL, 2);
	struct incident inc = get(1);
	cr_assert_eq(inc.status, INC_TRIGGERED);
	cr_assert_eq(inc.open_alerts, 1);
	incident_release(&inc);
	send(EV_RESOLVE, "grouped", "y", NULL, 3);
	inc = get(1);
	cr_assert_eq(inc.status, INC_RESOLVED);
	incident_release(&inc);
}

Test(incident, sender_group_key_joins_regardless_of_window)
{
	int64_t a = send(EV_TRIGGER, "web", "f1", "am:{}:{alertname=\"X\"}", 0);
	int64_t b = send(EV_TRIGGER, "web", "f2", "am:{}:{alertname=\"X\"}", 3600 * 1000);
	int64_t c = send(EV_TRIGGER, "web", "f3", "am:{}:{alertname=\"Y\"}", 3600 * 1000);
	cr_assert_eq(a, b);
	cr_assert_neq(a, c);
}

Test(incident, severity_and_urgency_follow_the_first_event_or_the_service)
{
	cr_assert_eq(severity_from_event("critical"), 2);
	cr_assert_eq(severity_from_event("error"), 3);
	cr_assert_eq(severity_from_event("warning"), 4);
	cr_assert_eq(severity_from_event("info"), 5);
	cr_assert_eq(severity_from_event("fatal"), 0);
	cr_assert_eq(severity_parse("SEV-1"), 1);
	cr_assert_eq(severity_parse("SEV-6"), 0);
	cr_assert_eq(severity_parse("sev-1"), 0);
	send(EV_TRIGGER, "calm", "k", NULL, 0);
	struct incident inc = get(1);
	cr_assert_eq(inc.severity, 2);
	cr_assert_eq(inc.urgency_high, 0, "the service fixes urgency low");
	incident_release(&inc);
	cr_assert(urgency_high_for(NULL, "error"));
	cr_assert_not(urgency_high_for(NULL, "warning"));
}

Test(incident, auto_resolve_deadline_is_a_persisted_timer)
{
	send(EV_TRIGGER, "grouped", "x", NULL, 1000);
	struct timer_list l = { 0 };
	struct store_conn *c = store_read_begin(st);
	cr_assert_eq(store_ops(st)->timer_list(c, &l), STORE_OK);
	store_read_end(st, c);
	cr_assert_eq(l.n, 1);
	cr_assert_str_eq(l.v[0].kind, TIMER_AUTO_RESOLVE);
	cr_assert_eq(l.v[0].due, 1000 + 4 * 3600 * 1000);
	timer_list_release(&l);
}
