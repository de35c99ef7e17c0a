/*
 * stats.c - the reports of `tocsin stats` and GET /api/stats.  See stats.h.
 *
 * One pass over the incidents created in the period (and of the service, or of the
 * team's services): times to acknowledge and to resolve are collected, sorted, and
 * summarised; the responder of an incident is whoever acknowledged it first (its
 * first `ack` timeline entry), read only when the report is filtered by responder;
 * pages come from the page requests of those incidents, each counted for its user
 * and, when its hour in the user's zone is 22:00-07:00, as a page at night.
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "stats.h"
#include "timeutil.h"
#include "banned.h"

#define DEFAULT_PERIOD (30 * MS_PER_DAY)

double stats_percentile(const double *sorted, size_t n, double p)
{
	if (!n)
		return 0;
	double rank = p / 100.0 * (double)(n - 1);
	size_t lo = (size_t)rank;
	if (lo + 1 >= n)
		return sorted[n - 1];
	return sorted[lo] + (rank - (double)lo) * (sorted[lo + 1] - sorted[lo]);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Seconds, sorted; with their mean and percentiles once summed. */
struct sample {
	double *v;
	size_t n;
};

static void sample_add(struct sample *s, int64_t ms)
{
	s->v = xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
	s->v[s->n++] = (double)ms / 1000.0;
}

/* Sets "<name>_s", "<name>_p50_s", "<name>_p90_s" on o (null without data). */
static void sample_json(json_t *o, const char *name, struct sample *s)
{
	char key[32];
	double sum = 0;
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), cmp_double);
	for (size_t i = 0; i < s->n; i++)
		sum += s->v[i];
	const char *suffix[] = { "_s", "_p50_s", "_p90_s" };
	double value[] = { s->n ? sum / (double)s->n : 0, stats_percentile(s->v, s->n, 50),
			   stats_percentile(s->v, s->n, 90) };
	for (size_t i = 0; i < 3; i++) {
		snprintf(key, sizeof(key), "%s%s", name, suffix[i]);
		json_object_set_new(o, key, s->n ? json_real(value[i]) : json_null());
	}
	free(s->v);
}

/* The period and filters of the query; -1 after replying 400. */
struct query {
	const char *service, *team, *responder;
	int64_t since, until;
};

static int read_query(struct http_request *req, const struct config *cfg, struct query *q)
{
	const char *since = http_query(req, "since"), *until = http_query(req, "until");
	int64_t ms;
	q->service = http_query(req, "service");
	q->team = http_query(req, "team");
	q->responder = http_query(req, "responder");
	q->until = clock_now_ms();
	if (until && iso_parse(until, &q->until) < 0) {
		http_reply_error(req, 400, "bad request", "'until' must be an ISO 8601 time");
		return -1;
	}
	q->since = q->until - DEFAULT_PERIOD;
	if (since && duration_parse(since, &ms) == 0)
		q->since = q->until - ms;
	else if (since && iso_parse(since, &q->since) < 0) {
		http_reply_error(req, 400, "bad request",
				 "'since' must be a duration (30d) or an ISO 8601 time");
		return -1;
	}
	if (q->team && !config_team(cfg, q->team)) {
		char *why = xasprintf("no team '%s'", q->team);
		http_reply_error(req, 404, "not found", why);
		free(why);
		return -1;
	}
	return 0;
}

static int in_team(const struct config *cfg, const char *team, const char *service)
{
	const struct service *s = config_service(cfg, service);
	return s && s->team && !strcmp(s->team, team);
}

/* The first acknowledger of incident n; NULL when none (caller frees). */
static char *first_acker(const struct store_ops *ops, struct store_conn *c, int64_t n)
{
	struct log_list l = { 0 };
	char *who = NULL;
	if (ops->log_list(c, n, &l) == STORE_OK)
		for (size_t i = 0; i < l.n && !who; i++)
			if (!strcmp(l.v[i].type, "ack"))
				who = xstrdup(l.v[i].actor);
	log_list_release(&l);
	return who;
}

static void count(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	json_object_set_new(o, key, json_integer(v ? json_integer_value(v) + 1 : 1));
}

static int at_night(const struct config *cfg, const char *user, int64_t at)
{
	const struct user *u = config_user(cfg, user);
	struct walltime wt;
	ms_to_walltime(at, u && u->time_zone ? u->time_zone : cfg->time_zone, &wt, NULL);
	return wt.hour >= NIGHT_FROM_HOUR || wt.hour < NIGHT_UNTIL_HOUR;
}

/* The pages of incident n, counted per user and at night. */
static void count_pages(const struct store_ops *ops, struct store_conn *c, const struct config *cfg,
			int64_t n, json_t *pages, json_t *night)
{
	struct page_list l = { 0 };
	if (ops->page_list(c, n, &l) == STORE_OK)
		for (size_t i = 0; i < l.n; i++) {
			count(pages, l.v[i].user);
			if (at_night(cfg, l.v[i].user, l.v[i].created_at))
				count(night, l.v[i].user);
		}
	page_list_release(&l);
}

struct report {
	size_t incidents, acked, resolved;
	struct sample mtta, mttr;
	json_t *by_severity, *by_status, *pages, *night;
};

static void add_incident(struct report *r, const struct incident *inc)
{
	char sev[8];
	snprintf(sev, sizeof(sev), "SEV-%d", inc->severity);
	r->incidents++;
	count(r->by_severity, sev);
	count(r->by_status, incident_status_name(inc->status));
	if (inc->acknowledged_at) {
		r->acked++;
		sample_add(&r->mtta, inc->acknowledged_at - inc->created_at);
	}
	if (inc->resolved_at) {
		r->resolved++;
		sample_add(&r->mttr, inc->resolved_at - inc->created_at);
	}
}

/* Fills r from the store; STORE_OK or STORE_FAULT. */
static int build(struct server *srv, const struct config *cfg, const struct query *q,
		 struct report *r)
{
	const struct store_ops *ops = store_ops(srv->store);
	struct incident_filter f = { .service = q->service, .created_since = q->since };
	struct incident_list l = { 0 };
	struct store_conn *c = store_read_begin(srv->store);
	int rc = c ? ops->incident_list(c, &f, &l) : STORE_FAULT;
	for (size_t i = 0; rc == STORE_OK && i < l.n; i++) {
		const struct incident *inc = &l.v[i];
		if (inc->created_at > q->until || (q->team && !in_team(cfg, q->team, inc->service)))
			continue;
		if (q->responder) {
			char *who = first_acker(ops, c, inc->number);
			int mine = who && !strcmp(who, q->responder);
			free(who);
			if (!mine)
				continue;
		}
		add_incident(r, inc);
		count_pages(ops, c, cfg, inc->number, r->pages, r->night);
	}
	store_read_end(srv->store, c);
	incident_list_release(&l);
	return rc;
}

static void report_release(struct report *r)
{
	free(r->mtta.v);
	free(r->mttr.v);
	json_decref(r->by_severity);
	json_decref(r->by_status);
	json_decref(r->pages);
	json_decref(r->night);
}

static json_t *report_json(struct report *r, const struct query *q)
{
	char since[ISO_LEN], until[ISO_LEN];
	iso_format_utc(q->since, since);
	iso_format_utc(q->until, until);
	json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:O, s:O, s:O, s:O}", "since", since,
			      "until", until, "incidents", (json_int_t)r->incidents, "acknowledged",
			      (json_int_t)r->acked, "resolved", (json_int_t)r->resolved,
			      "by_severity", r->by_severity, "by_status", r->by_status, "pages",
			      r->pages, "pages_at_night", r->night);
	sample_json(o, "mtta", &r->mtta);
	sample_json(o, "mttr", &r->mttr);
	r->mtta.v = r->mttr.v = NULL;
	return o;
}

void api_stats(struct server *srv, struct http_request *req, const struct route_ctx *ctx)
{
	struct config *cfg = server_config(srv);
	struct query q;
	struct report r = { .by_severity = json_object(), .by_status = json_object(),
			    .pages = json_object(), .night = json_object() };
	if (read_query(req, cfg, &q) == 0) {
		if (build(srv, cfg, &q, &r) == STORE_OK)
			reply_json(req, 200, report_json(&r, &q));
		else
			server_reply_fault(srv, req);
	}
	report_release(&r);
	config_unref(cfg);
}
