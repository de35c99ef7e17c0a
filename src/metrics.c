/*
 * metrics.c - the /metrics endpoint.
 *
 * One table, counters[], names every metric with its help text, type and where
 * its value lives in struct server_counters; the renderer groups samples of one
 * family under a single HELP/TYPE pair as the format requires.  To add a metric,
 * add a counter field and a row.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "routes.h"
#include "metrics.h"
#include "banned.h"

struct metric {
	const char *name;
	const char *labels;	/* "" or {action="trigger"} */
	const char *type;
	const char *help;
	size_t offset;		/* into struct server_counters */
};

#define C(field) offsetof(struct server_counters, field)

static const struct metric counters[] = {
	{ "tocsin_events_received_total", "{action=\"trigger\"}", "counter",
	  "Events accepted and committed on the ingest endpoints.", C(events[0]) },
	{ "tocsin_events_received_total", "{action=\"acknowledge\"}", "counter", NULL,
	  C(events[1]) },
	{ "tocsin_events_received_total", "{action=\"resolve\"}", "counter", NULL, C(events[2]) },
	{ "tocsin_change_events_received_total", "", "counter",
	  "Change events accepted and committed.", C(changes) },
	{ "tocsin_events_rejected_total", "", "counter",
	  "Requests on the ingest endpoints refused as invalid (400).", C(rejected) },
	{ "tocsin_events_rate_limited_total", "", "counter",
	  "Requests refused over a routing key's rate limit (429, or 403 for v1).",
	  C(rate_limited) },
	{ "tocsin_store_faults_total", "", "counter",
	  "Requests answered 503 because the store could not commit.", C(store_faults) },
	{ "tocsin_incidents_opened_total", "", "counter", "Incidents opened.",
	  C(incidents_opened) },
	{ "tocsin_config_reloads_total", "{result=\"ok\"}", "counter",
	  "Configuration reloads on SIGHUP.", C(reloads) },
	{ "tocsin_config_reloads_total", "{result=\"refused\"}", "counter", NULL,
	  C(reload_failures) },
	{ "tocsin_checks_run_total", "", "counter", "Check runs completed.", C(checks_run) },
	{ "tocsin_notifications_total", "{outcome=\"sent\"}", "counter",
	  "Delivery attempts to people's contact methods, by outcome.", C(notify_sent) },
	{ "tocsin_notifications_total", "{outcome=\"retried\"}", "counter", NULL,
	  C(notify_retried) },
	{ "tocsin_notifications_total", "{outcome=\"failed\"}", "counter", NULL,
	  C(notify_failed) },
	{ "tocsin_notifications_total", "{outcome=\"cancelled\"}", "counter", NULL,
	  C(notify_cancelled) },
	{ "tocsin_notifications_total", "{outcome=\"bundled\"}", "counter", NULL,
	  C(notify_bundled) },
};

static void family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A histogram of lateness: cumulative buckets as the format wants. */
static void histogram(struct buf *b, const char *name, const char *help, const uint64_t *buckets,
		      const uint64_t *sum_ms, const uint64_t *count)
{
	family(b, name, "histogram", help);
	for (size_t i = 0; i < LATENESS_BUCKETS; i++)
		buf_addf(b, "%s_bucket{le=\"%g\"} %llu\n", name, (double)LATENESS_BOUNDS_MS[i] / 1000,
			 (unsigned long long)__atomic_load_n(&buckets[i], __ATOMIC_RELAXED));
	uint64_t n = __atomic_load_n(count, __ATOMIC_RELAXED);
	buf_addf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)n);
	buf_addf(b, "%s_sum %.3f\n", name,
		 (double)__atomic_load_n(sum_ms, __ATOMIC_RELAXED) / 1000);
	buf_addf(b, "%s_count %llu\n", name, (unsigned long long)n);
}

static void lateness(struct buf *b, const struct server_counters *c)
{
	histogram(b, "tocsin_timer_lateness_seconds",
		  "How late timers (escalations, ack timeouts, auto-resolves) took effect: "
		  "committed minus deadline.",
		  c->lateness, &c->lateness_ms_sum, &c->timers_fired);
	histogram(b, "tocsin_check_lateness_seconds",
		  "How late checks started: started minus when they were due.", c->check_lateness,
		  &c->check_lateness_ms_sum, &c->checks_started);
}

/* Responses by route and status code: only the series that happened. */
static void responses(struct buf *b, struct server *srv)
{
	char name[160];
	family(b, "tocsin_http_responses_total", "counter",
	       "HTTP responses by route (method and pattern) and status code.");
	for (size_t r = 0; r < routes_count(); r++)
		for (size_t k = 0; k < RESPONSE_CODES; k++) {
			uint64_t v = __atomic_load_n(&srv->responses[r * RESPONSE_CODES + k],
						     __ATOMIC_RELAXED);
			if (!v)
				continue;
			routes_name(r, name, sizeof(name));
			if (routes_code(k))
				buf_addf(b, "tocsin_http_responses_total{route=\"%s\",code=\"%d\"} %llu\n",
					 name, routes_code(k), (unsigned long long)v);
			else
				buf_addf(b, "tocsin_http_responses_total{route=\"%s\",code=\"other\"} %llu\n",
					 name, (unsigned long long)v);
		}
}

static void incidents(struct buf *b, struct server *srv)
{
	int64_t n[3] = { 0, 0, 0 };
	struct store_conn *c = store_read_begin(srv->store);
	int ok = c && store_ops(srv->store)->incident_counts(c, n) == STORE_OK;
	store_read_end(srv->store, c);
	if (!ok)
		return;
	family(b, "tocsin_incidents", "gauge", "Incidents in the store, by status.");
	for (int s = 0; s < 3; s++)
		buf_addf(b, "tocsin_incidents{status=\"%s\"} %lld\n",
			 incident_status_name((enum incident_status)s), (long long)n[s]);
}

static void commits(struct buf *b, struct server *srv)
{
	uint64_t buckets[STORE_COMMIT_BUCKETS], sum, n;
	store_commit_stats(srv->store, buckets, &sum, &n);
	family(b, "tocsin_store_commit_seconds", "histogram",
	       "How long the store writer's commits took, fsync included.");
	for (size_t i = 0; i < STORE_COMMIT_BUCKETS; i++)
		buf_addf(b, "tocsin_store_commit_seconds_bucket{le=\"%g\"} %llu\n",
			 (double)STORE_COMMIT_BOUNDS_US[i] / 1e6, (unsigned long long)buckets[i]);
	buf_addf(b, "tocsin_store_commit_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)n);
	buf_addf(b, "tocsin_store_commit_seconds_sum %.6f\n", (double)sum / 1e6);
	buf_addf(b, "tocsin_store_commit_seconds_count %llu\n", (unsigned long long)n);
}

void metrics_get(struct server *srv, struct http_request *req, const struct route_ctx *ctx)
{
	struct buf b = BUF_INIT;
	uint64_t jobs, batches;
	for (size_t i = 0; i < ARRAY_SIZE(counters); i++) {
		const struct metric *m = &counters[i];
		uint64_t v = __atomic_load_n((const uint64_t *)((const char *)&srv->counters +
								m->offset), __ATOMIC_RELAXED);
		if (m->help)
			family(&b, m->name, m->type, m->help);
		buf_addf(&b, "%s%s %llu\n", m->name, m->labels, (unsigned long long)v);
	}
	store_counters(srv->store, &jobs, &batches);
	family(&b, "tocsin_store_jobs_total", "counter", "Writes committed by the store writer.");
	buf_addf(&b, "tocsin_store_jobs_total %llu\n", (unsigned long long)jobs);
	family(&b, "tocsin_store_commits_total", "counter",
	       "Transactions the store writer committed (each holds a batch of writes).");
	buf_addf(&b, "tocsin_store_commits_total %llu\n", (unsigned long long)batches);
	family(&b, "tocsin_engine_timers_pending", "gauge",
	       "Deadlines (escalations, ack timeouts, auto-resolves) waiting in the engine.");
	buf_addf(&b, "tocsin_engine_timers_pending %zu\n", engine_pending(srv->engine));
	lateness(&b, &srv->counters);
	responses(&b, srv);
	incidents(&b, srv);
	commits(&b, srv);
	family(&b, "tocsin_start_time_seconds", "gauge", "When this tocsin started (Unix time).");
	buf_addf(&b, "tocsin_start_time_seconds %lld\n", (long long)(srv->started_at / 1000));
	size_t len;
	char *body = buf_detach(&b, &len);
	http_reply_take(req, 200, "text/plain; version=0.0.4; charset=utf-8", body, len);
}
