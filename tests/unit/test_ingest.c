/*
 * Event validation: what each parser accepts from real senders, and the errors it
 * gives for what it refuses.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "incident.h"
#include "ingest.h"

static const char *yaml = "services:\n"
			  "  - {id: web, integration_keys: [0123456789abcdef0123456789abcdef]}\n";
static struct config *cfg;

static void setup(void)
{
	cfg = test_config(yaml);
}

static void teardown(void)
{
	config_unref(cfg);
}

TestSuite(ingest, .init = setup, .fini = teardown);

/* Parses a v2 body; returns the errors (caller releases) and fills ev. */
static struct strlist v2(const char *body, struct event *ev)
{
	struct strlist errs = STRLIST_INIT;
	json_error_t jerr;
	json_t *doc = json_loads(body, 0, &jerr);
	cr_assert_not_null(doc, "test JSON: %s", jerr.text);
	memset(ev, 0, sizeof(*ev));
	const struct service *svc = ingest_parse_v2(doc, cfg, ev, &errs);
	cr_assert_eq(svc == NULL, errs.n > 0);
	json_decref(doc);
	return errs;
}

#define KEY "\"routing_key\":\"0123456789abcdef0123456789abcdef\""

Test(ingest, v2_trigger_fills_the_event)
{
	struct event ev;
	struct strlist errs = v2("{" KEY ",\"event_action\":\"trigger\",\"dedup_key\":\"srv01/HTTP\","
				 "\"payload\":{\"summary\":\"HTTP down\",\"source\":\"srv01\","
				 "\"severity\":\"critical\",\"custom_details\":{\"a\":[1,\"x\"]}}}",
				 &ev);
	cr_assert_eq(errs.n, 0);
	cr_assert_eq(ev.action, EV_TRIGGER);
	cr_assert_str_eq(ev.service, "web");
	cr_assert_str_eq(ev.dedup_key, "srv01/HTTP");
	cr_assert_str_eq(ev.summary, "HTTP down");
	cr_assert_str_eq(ev.details, "{\"a\":[1,\"x\"]}");
	cr_assert_str_eq(ev.integration, "events_v2");
	event_release(&ev);
}

Test(ingest, v2_resolve_needs_only_key_and_dedup_key)
{
	struct event ev;
	struct strlist errs = v2("{" KEY ",\"event_action\":\"resolve\",\"dedup_key\":\"d\"}", &ev);
	cr_assert_eq(errs.n, 0);
	cr_assert_eq(ev.action, EV_RESOLVE);
	event_release(&ev);
}

Test(ingest, v2_reports_every_problem_at_once)
{
	struct event ev;
	struct strlist errs = v2("{\"event_action\":\"trigger\",\"payload\":{\"severity\":\"bad\"}}",
				 &ev);
	cr_assert_eq(errs.n, 4);
	cr_assert_str_eq(errs.v[0], "'routing_key' is missing or blank");
	cr_assert_str_eq(errs.v[1], "'payload.summary' is missing or blank");
	cr_assert_str_eq(errs.v[2], "'payload.source' is missing or blank");
	cr_assert(strstr(errs.v[3], "'payload.severity' is invalid"));
	strlist_release(&errs);
	event_release(&ev);
}

Test(ingest, v2_made_up_dedup_key_when_none_is_sent)
{
	struct event ev;
	struct strlist errs = v2("{" KEY ",\"event_action\":\"trigger\",\"payload\":{\"summary\":"
				 "\"s\",\"source\":\"h\",\"severity\":\"info\"}}", &ev);
	cr_assert_eq(errs.n, 0);
	cr_assert_eq(strlen(ev.dedup_key), 32);
	event_release(&ev);
}

Test(ingest, v2_summary_limit_counts_characters_not_bytes)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, "{" KEY ",\"event_action\":\"trigger\",\"payload\":{\"source\":\"h\","
		     "\"severity\":\"info\",\"summary\":\"");
	for (int i = 0; i < 1024; i++)
		buf_adds(&b, "\u00e9");
	buf_adds(&b, "\"}}");
	struct event ev;
	struct strlist errs = v2(b.s, &ev);
	cr_assert_eq(errs.n, 0, "1024 two-byte characters are within the limit");
	event_release(&ev);
	buf_release(&b);
}

Test(ingest, v1_accepts_alertmanagers_null_payload_and_empty_event_action)
{
	const char *body = "{\"service_key\":\"0123456789abcdef0123456789abcdef\","
			   "\"event_type\":\"trigger\",\"incident_key\":\"ik\",\"description\":"
			   "\"[FIRING:1] X\",\"event_action\":\"\",\"payload\":null}";
	json_t *doc = json_loads(body, 0, NULL);
	struct strlist errs = STRLIST_INIT;
	struct event ev = { 0 };
	cr_assert_not_null(ingest_parse_v1(doc, cfg, &ev, &errs));
	cr_assert_str_eq(ev.dedup_key, "ik");
	cr_assert_str_eq(ev.summary, "[FIRING:1] X");
	event_release(&ev);
	json_decref(doc);
}

Test(ingest, alertmanager_zero_end_time_is_firing_and_past_end_is_resolved)
{
	const char *body =
		"{\"groupKey\":\"{}:{alertname=\\\"X\\\"}\",\"alerts\":["
		"{\"status\":\"firing\",\"labels\":{\"alertname\":\"X\",\"severity\":\"warning\"},"
		"\"endsAt\":\"0001-01-01T00:00:00Z\",\"fingerprint\":\"aaaa\"},"
		"{\"status\":\"firing\",\"labels\":{\"alertname\":\"Y\"},"
		"\"endsAt\":\"2020-01-01T00:00:00Z\",\"fingerprint\":\"bbbb\"},"
		"{\"status\":\"resolved\",\"labels\":{\"alertname\":\"Z\"}}]}";
	json_t *doc = json_loads(body, 0, NULL);
	struct strlist errs = STRLIST_INIT;
	struct event *evs = NULL;
	size_t n = ingest_parse_alertmanager(doc, "web", 1700000000000LL, &evs, &errs);
	cr_assert_eq(errs.n, 0);
	cr_assert_eq(n, 3);
	cr_assert_eq(evs[0].action, EV_TRIGGER);
	cr_assert_str_eq(evs[0].severity, "warning");
	cr_assert_str_eq(evs[0].group_key, "alertmanager:{}:{alertname=\"X\"}");
	cr_assert_eq(evs[1].action, EV_RESOLVE);
	cr_assert_eq(evs[2].action, EV_RESOLVE);
	cr_assert_eq(strlen(evs[2].dedup_key), 16, "a fingerprint is made from the labels");
	cr_assert_str_eq(evs[1].severity, "error", "no severity label: error, as Alertmanager");
	for (size_t i = 0; i < n; i++)
		event_release(&evs[i]);
	free(evs);
	json_decref(doc);
}

Test(ingest, json_depth_counts_nesting_outside_strings)
{
	cr_assert_eq(json_depth("{}", 2), 1);
	cr_assert_eq(json_depth("{\"a\":[[{}]]}", 11), 4);
	cr_assert_eq(json_depth("{\"a\":\"[[[[\"}", 12), 1);
	cr_assert_eq(json_depth("{\"a\":\"\\\"[[\"}", 12), 1);
}
