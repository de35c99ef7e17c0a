/*
 * api.c - the JSON API behind the CLI and the web UI (docs/API.md).
 *
 * Reads borrow a reader connection and answer at once.  Writes (ack, resolve,
 * notes, severity, maintenance, tokens) are tx_calls: the request is parked, the
 * change runs on the store writer, and the answer is built after the commit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "auth.h"
#include "check.h"
#include "clock.h"
#include "engine.h"
#include "escalate.h"
#include "notify.h"
#include "incident.h"
#include "ingest.h"
#include "timeutil.h"
#include "banned.h"

static json_t *json_or_null(const char *text)
{
	json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
	return v ? v : json_null();
}

json_t *api_json_array(const char *text)
{
	json_t *v = json_or_null(text);
	if (!json_is_array(v)) {
		json_decref(v);
		v = json_array();
	}
	return v;
}

json_t *incident_json(const struct incident *inc)
{
	char sev[8];
	snprintf(sev, sizeof(sev), "SEV-%d", inc->severity);
	json_t *assigned = api_json_array(inc->assigned_to);
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:b, "
			 "s:s?, s:I}",
			 "number", (json_int_t)inc->number, "title", inc->title, "service",
			 inc->service, "status", incident_status_name(inc->status), "severity", sev,
			 "urgency", inc->urgency_high ? "high" : "low", "created_at",
			 json_time(inc->created_at), "acknowledged_at",
			 json_time(inc->acknowledged_at), "resolved_at",
			 json_time(inc->resolved_at), "assigned_to", assigned,
			 "escalation_level", (json_int_t)inc->escalation_level, "alert_count",
			 (json_int_t)inc->alert_count, "open_alerts", (json_int_t)inc->open_alerts,
			 "paged", inc->paged, "escalation_policy", inc->policy, "escalation_pass",
			 (json_int_t)inc->escalation_loop + 1);
}

static json_t *alert_json(const struct alert *a)
{
	return json_pack("{s:s, s:s, s:I, s:s, s:s?, s:s, s:s, s:o, s:o, s:o}", "dedup_key",
			 a->dedup_key, "status", a->resolved ? "resolved" : "triggered", "count",
			 (json_int_t)a->count, "summary", a->summary, "source", a->source,
			 "severity", a->severity, "integration", a->integration, "created_at",
			 json_time(a->created_at), "resolved_at", json_time(a->resolved_at),
			 "details", json_or_null(a->details));
}

static json_t *log_json(const struct log_entry *e)
{
	return json_pack("{s:o, s:s, s:s, s:s}", "at", json_time(e->at), "type", e->type,
			 "actor", e->actor, "message", e->message);
}

/* "42" or "#42" -> 42; 0 when malformed. */
int64_t api_parse_number(const char *s)
{
	char *end;
	if (s && *s == '#')
		s++;
	if (!s || *s < '1' || *s > '9')
		return 0;
	long long n = strtoll(s, &end, 10);
	return *end || n <= 0 ? 0 : n;
}

/* Borrows a reader; replies 503 and returns NULL when the store is unavailable. */
struct store_conn *api_reader(struct server *srv, struct http_request *req)
{
	struct store_conn *c = store_read_begin(srv->store);
	if (!c)
		server_reply_fault(srv, req);
	return c;
}

void api_info(struct server *srv, struct http_request *req, const struct route_ctx *ctx)
{
	struct config *cfg = server_config(srv);
	char iso[ISO_LEN];
	iso_format_utc(clock_now_ms(), iso);
	reply_json(req, 200, json_pack("{s:s, s:s, s:s, s:s, s:s}", "version", TOCSIN_VERSION,
				       "time_zone", cfg->time_zone ? cfg->time_zone : "UTC", "now",
				       iso, "user", ctx->user, "role", role_name(ctx->role)));
	config_unref(cfg);
}

/* Reads ?status=a,b&service=S&limit=N; replies 400 and returns -1 when bad. */
static int parse_filter(struct http_request *req, struct incident_filter *f)
{
	const char *status = http_query(req, "status"), *limit = http_query(req, "limit");
	memset(f, 0, sizeof(*f));
	f->service = http_query(req, "service");
	for (const char *p = status; p && *p;) {
		size_t n = strcspn(p, ",");
		char *one = xstrndup(p, n);
		enum incident_status s;
		int ok = incident_status_parse(one, &s) == 0;
		if (ok)
			f->status_mask |= 1u << s;
		else
			http_reply_error(req, 400, "bad status filter",
					 "status must be triggered, acknowledged or resolved");
		free(one);
		if (!ok)
			return -1;
		p += n + (p[n] == ',');
	}
	if (limit && (f->limit = strtoll(limit, NULL, 10)) <= 0) {
		http_reply_error(req, 400, "bad limit", "limit must be a positive number");
		return -1;
	}
	return 0;
}

void api_incidents(struct server *srv, struct http_request *req, const struct route_ctx *ctx)
{
	struct incident_filter f;
	struct incident_list l = { 0 };
	struct store_conn *c;
	if (parse_filter(req, &f) < 0 || !(c = api_reader(srv, req)))
		return;
	int rc = store_ops(srv->store)->incident_list(c, &f, &l);
	store_read_end(srv->store, c);
	if (rc == STORE_FAULT) {
		server_reply_fault(srv, req);
		goto out;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < l.n; i++)
		json_array_append_new(arr, incident_json(&l.v[i]));
	reply_json(req, 200, json_pack("{s:o}", "incidents", arr));
out:
	incident_list_release(&l);
}

/* Change events of the service from this long before the incident until it
 * resolved are shown on its timeline: "what changed before this?" */
#define CHANGE_LOOKBACK MS_PER_HOUR
#define CHANGES_SHOWN 20

/* The timeline: log entries and the service's change events, merged by time. */
static json_t *timeline_json(const struct log_list *ll, const struct change_list *cl)
{
	json_t *out = json_array();
	size_t i = 0, j = cl->n;	/* changes come newest first: walk them backwards */
	while (i < ll->n || j > 0) {
		if (j > 0 && (i == ll->n || cl->v[j - 1].at <= ll->v[i].at)) {
			const struct change_event *ch = &cl->v[--j];
			json_array_append_new(out, json_pack("{s:o, s:s, s:s, s:s, s:I}", "at",
							     json_time(ch->at), "type", "change",
							     "actor", ch->source ? ch->source : "change_events",
							     "message", ch->summary, "change",
							     (json_int_t)ch->id));
		} else {
			json_array_append_new(out, log_json(&ll->v[i++]));
		}
	}
	return out;
}

/* Reads what `show` needs; STORE_FOUND, STORE_NOTFOUND or STORE_FAULT. */
static int read_incident_all(const struct store_ops *ops, struct store_conn *c, int64_t n,
			     struct incident *inc, struct alert_list *al, struct log_list *ll,
			     struct change_list *cl, int64_t *escalates_at)
{
	int rc = ops->incident_get(c, n, inc);
	if (rc != STORE_FOUND)
		return rc;
	*escalates_at = 0;
	if (ops->timer_next(c, n, TIMER_ESCALATE, escalates_at) == STORE_FAULT)
		return STORE_FAULT;
	int64_t until = inc->resolved_at ? inc->resolved_at : clock_now_ms();
	if (ops->alert_list(c, n, al) != STORE_OK || ops->log_list(c, n, ll) != STORE_OK ||
	    ops->change_list(c, inc->service, inc->created_at - CHANGE_LOOKBACK, until,
			     CHANGES_SHOWN, cl) != STORE_OK)
		return STORE_FAULT;
	return STORE_FOUND;
}

/* A read of incident n that found nothing (404) or, with n 0, failed (503). */
static void reply_unread(struct server *srv, struct http_request *req, int64_t n)
{
	if (!n) {
		server_reply_fault(srv, req);
		return;
	}
	char *why = xasprintf("no incident #%lld", (long long)n);
	http_reply_error(req, 404, "not found", why);
	free(why);
}

json_t *incident_document(const struct store_ops *ops, struct store_conn *c, int64_t n, int *rc)
{
	struct incident inc = { 0 };
	struct alert_list al = { 0 };
	struct log_list ll = { 0 };
	struct change_list cl = { 0 };
	json_t *doc = NULL;
	int64_t escalates_at = 0;
	*rc = read_incident_all(ops, c, n, &inc, &al, &ll, &cl, &escalates_at);
	if (*rc == STORE_FOUND) {
		doc = incident_json(&inc);
		json_object_set_new(doc, "escalates_at", json_time(escalates_at));
		json_t *a = json_array();
		for (size_t i = 0; i < al.n; i++)
			json_array_append_new(a, alert_json(&al.v[i]));
		json_object_set_new(doc, "alerts", a);
		json_object_set_new(doc, "log", timeline_json(&ll, &cl));
	}
	incident_release(&inc);
	alert_list_release(&al);
	log_list_release(&ll);
	change_list_release(&cl);
	return doc;
}

/* The incident with its alerts and timeline, or NULL (replied 404/503). */
static json_t *read_shown(struct server *srv, struct http_request *req, int64_t n)
{
	int rc;
	struct store_conn *c = api_reader(srv, req);
	if (!c)
		return NULL;
	json_t *doc = incident_document(store_ops(srv->store), c, n, &rc);
	store_read_end(srv->store, c);
	if (!doc)
		reply_unread(srv, req, rc == STORE_NOTFOUND ? n : 0);
	return doc;
}

int64_t api_id_or_404(struct http_request *req, const char *param, const char *what)
{
	int64_t n = api_parse_number(param);
	if (!n) {
		char *why = xasprintf("%s numbers are 1, 2, 3...", what);
		http_reply_error(req, 404, "not found", why);
		free(why);
	}
	return n;
}

static int64_t number_or_404(struct http_request *req, const struct route_ctx *ctx)
{
	return api_id_or_404(req, ctx->params[0], "incident");
}

void api_reply_refused(struct http_request *req, int rc, const char *why)
{
	static const struct {
		int status;
		const char *title;
	} titles[] = { { 400, "bad request" }, { 403, "forbidden" }, { 404, "not found" },
		       { 409, "conflict" } };
	const char *title = "refused";
	for (size_t i = 0; i < ARRAY_SIZE(titles); i++)
		if (titles[i].status == -rc)
			title = titles[i].title;
	http_reply_error(req, -rc, title, why);
}

void api_incident_show(struct server *srv, struct http_request *req,
		       const struct route_ctx *ctx)
{
	int64_t n = number_or_404(req, ctx);
	json_t *doc = n ? read_shown(srv, req, n) : NULL;
	if (doc)
		reply_json(req, 200, doc);
}

/* --- actions ----------------------------------------------------------------- */

struct act_data {
	struct action a;
	char *actor;
	char *text;
};

static void act_data_free(void *p)
{
	struct act_data *d = p;
	free(d->actor);
	free(d->text);
	free(d);
}

static int act_apply(struct tx_call *c, struct store_tx *tx)
{
	struct act_data *d = c->data;
	return incident_apply_action(tx, c->cfg, &d->a, clock_now_ms(), &c->err);
}

static void act_answer(struct tx_call *c, struct http_request *req)
{
	struct act_data *d = c->data;
	if (c->rc == STORE_FAULT) {
		server_reply_fault(c->srv, req);
		return;
	}
	if (c->rc < 0) {	/* INCIDENT_E*: the status, negated */
		api_reply_refused(req, c->rc, c->err);
		return;
	}
	struct store_conn *conn = api_reader(c->srv, req);
	struct incident inc = { 0 };
	if (!conn)
		return;
	int rc = store_ops(c->srv->store)->incident_get(conn, d->a.number, &inc);
	store_read_end(c->srv->store, conn);
	if (rc == STORE_FOUND)
		reply_json(req, 200, json_pack("{s:o}", "incident", incident_json(&inc)));
	else
		server_reply_fault(c->srv, req);
	incident_release(&inc);
}

static void run_action(struct server *srv, struct http_request *req, const struct route_ctx *ctx,
		       enum incident_action kind, char *text, int severity)
{
	int64_t n = number_or_404(req, ctx);
	if (!n) {
		free(text);
		return;
	}
	struct act_data *d = xcalloc(1, sizeof(*d));
	d->actor = xstrdup(ctx->user);
	d->text = text;
	d->a = (struct action){ .kind = kind, .number = n, .actor = d->actor, .text = d->text,
				.severity = severity };
	struct tx_call *c = tx_call_new(server_config(srv), act_apply, act_answer, d,
					     act_data_free);
	server_run_tx(srv, req, c);
}

void api_incident_ack(struct server *srv, struct http_request *req, const struct route_ctx *ctx)
{
	run_action(srv, req, ctx, ACT_ACK, NULL, 0);
}

void api_incident_resolve(struct server *srv, struct http_request *req,
			  const struct route_ctx *ctx)
{
	run_action(srv, req, ctx, ACT_RESOLVE, NULL, 0);
}

void api_incident_escalate(struct server *srv, struct http_request *req,
			   const struct route_ctx *ctx)
{
	run_action(srv, req, ctx, ACT_ESCALATE, NULL, 0);
}

static char *body_string(struct http_request *req, const char *field);

void api_incident_reassign(struct server *srv, struct http_request *req,
			   const struct route_ctx *ctx)
{
	char *to = body_string(req, "to");
	if (to)
		run_action(srv, req, ctx, ACT_REASSIGN, to, 0);
}

static json_t *page_json(const struct page *p)
{
	return json_pack("{s:I, s:s, s:I, s:I, s:s, s:o, s:s}", "id", (json_int_t)p->id, "user",
			 p->user, "level", (json_int_t)p->level, "pass", (json_int_t)p->loop + 1,
			 "reason", p->reason, "created_at", json_time(p->created_at), "status",
			 p->status);
}

static json_t *notification_json(const struct notification *n)
{
	return json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:o, s:s, s:I, s:o, s:s?}", "id",
			 (json_int_t)n->id, "page", (json_int_t)n->page, "user", n->user, "contact",
			 n->contact, "channel", n->channel, "kind", n->kind, "due",
			 json_time(n->due), "status", n->status, "attempts",
			 (json_int_t)n->attempts, "sent_at", json_time(n->sent_at), "last_error",
			 n->last_error);
}

/* GET /api/incidents/N/WHAT: one list of the incident's records as JSON. */
struct incident_list_kind {
	const char *key;
	int (*read)(const struct store_ops *ops, struct store_conn *c, int64_t n, json_t *arr);
};

static int read_pages(const struct store_ops *ops, struct store_conn *c, int64_t n, json_t *arr)
{
	struct page_list l = { 0 };
	int rc = ops->page_list(c, n, &l);
	for (size_t i = 0; rc == STORE_OK && i < l.n; i++)
		json_array_append_new(arr, page_json(&l.v[i]));
	page_list_release(&l);
	return rc;
}

static int read_notifications(const struct store_ops *ops, struct store_conn *c, int64_t n,
			      json_t *arr)
{
	struct notification_list l = { 0 };
	int rc = ops->notification_list(c, n, &l);
	for (size_t i = 0; rc == STORE_OK && i < l.n; i++)
		json_array_append_new(arr, notification_json(&l.v[i]));
	notification_list_release(&l);
	return rc;
}

static void incident_records(struct server *srv, struct http_request *req,
			     const struct route_ctx *ctx, const struct incident_list_kind *k)
{
	int64_t n = number_or_404(req, ctx);
	struct incident inc = { 0 };
	struct store_conn *c = n ? api_reader(srv, req) : NULL;
	json_t *arr = json_array();
	if (!c) {
		json_decref(arr);
		return;
	}
	int rc = store_ops(srv->store)->incident_get(c, n, &inc);
	if (rc == STORE_FOUND)
		rc = k->read(store_ops(srv->store), c, n, arr) == STORE_OK ? STORE_FOUND
									   : STORE_FAULT;
	store_read_end(srv->store, c);
	if (rc == STORE_FOUND)
		reply_json(req, 200, json_pack("{s:O}", k->key, arr));
	else
		reply_unread(srv, req, rc == STORE_NOTFOUND ? n : 0);
	json_decref(arr);
	incident_release(&inc);
}

void api_incident_pages(struct server *srv, struct http_request *req,
			const struct route_ctx *ctx)
{
	static const struct incident_list_kind k = { "pages", read_pages };
	incident_records(srv, req, ctx, &k);
}

void api_incident_notifications(struct server *srv, struct http_request *req,
				const struct route_ctx *ctx)
{
	static const struct incident_list_kind k = { "notifications", read_notifications };
	incident_records(srv, req, ctx, &k);
}

/* The request body as a JSON object, or NULL after replying 400. */
json_t *api_body_object(struct http_request *req)
{
	size_t len;
	const char *body = http_body(req, &len);
	json_error_t jerr;
	json_t *doc = NULL;
	if (json_depth(body, len) <= JSON_DEPTH_MAX)
		doc = json_loadb(body, len, 0, &jerr);
	if (!json_is_object(doc)) {
		http_reply_error(req, 400, "bad request", "the body must be a JSON object");
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* A non-blank string field of the body, copied; NULL after replying 400. */
static char *body_string(struct http_request *req, const char *field)
{
	json_t *doc = api_body_object(req);
	const char *s = doc ? json_string_value(json_object_get(doc, field)) : NULL;
	char *out = s && *s ? xstrdup(s) : NULL;
	if (doc && !out) {
		char *why = xasprintf("'%s' is missing or blank", field);
		http_reply_error(req, 400, "bad request", why);
		free(why);
	}
	json_decref(doc);
	return out;
}

void api_incident_note(struct server *srv, struct http_request *req, const struct route_ctx *ctx)
{
	char *text = body_string(req, "text");
	if (text && strlen(text) > 65536) {
		http_reply_error(req, 400, "bad request", "'text' is longer than 65536 bytes");
		free(text);
		return;
	}
	if (text)
		run_action(srv, req, ctx, ACT_NOTE, text, 0);
}

void api_incident_severity(struct server *srv, struct http_request *req,
			   const struct route_ctx *ctx)
{
	char *s = body_string(req, "severity");
	int sev = severity_parse(s);
	if (s && !sev)
		http_reply_error(req, 400, "bad request",
				 "'severity' must be one of SEV-1 SEV-2 SEV-3 SEV-4 SEV-5");
	free(s);
	if (sev)
		run_action(srv, req, ctx, ACT_SEVERITY, NULL, sev);
}

/* --- services, maintenance, changes ----------------------------------------- */

static json_t *service_json(const struct service *s, struct store_conn *c,
			    const struct store_ops *ops, int64_t now)
{
	struct incident_filter f = { .status_mask = (1u << INC_TRIGGERED) | (1u << INC_ACKNOWLEDGED),
				     .service = s->id };
	struct incident_list l = { 0 };
	int64_t until = 0;
	ops->incident_list(c, &f, &l);
	int maint = ops->maintenance_active(c, s->id, now, &until) == STORE_FOUND;
	json_t *o = json_pack("{s:s, s:s, s:s?, s:s?, s:I, s:o}", "id", s->id, "name",
			      s->name ? s->name : s->id, "team", s->team, "escalation_policy",
			      s->escalation_policy, "open_incidents", (json_int_t)l.n,
			      "maintenance_until", json_time(maint ? until : 0));
	incident_list_release(&l);
	return o;
}

void api_services(struct server *srv, struct http_request *req, const struct route_ctx *ctx)
{
	struct config *cfg = server_config(srv);
	struct store_conn *c = api_reader(srv, req);
	if (c) {
		json_t *arr = json_array();
		for (size_t i = 0; i < cfg->nservices; i++)
			json_array_append_new(arr, service_json(&cfg->services[i], c,
								store_ops(srv->store),
								clock_now_ms()));
		store_read_end(srv->store, c);
		reply_json(req, 200, json_pack("{s:o}", "services", arr));
	}
	config_unref(cfg);
}

struct maint_data {
	char *service;
	char *actor;
	int64_t start, end;
};

static void maint_free(void *p)
{
	struct maint_data *m = p;
	free(m->service);
	free(m->actor);
	free(m);
}

static int maint_apply(struct tx_call *c, struct store_tx *tx)
{
	struct maint_data *m = c->data;
	tx->maint_horizon = -1;
	return tx->ops->maintenance_set(tx->conn, m->service, m->start, m->end, m->actor);
}

static void maint_answer(struct tx_call *c, struct http_request *req)
{
	struct maint_data *m = c->data;
	if (c->rc < 0) {
		server_reply_fault(c->srv, req);
		return;
	}
	reply_json(req, 200, json_pack("{s:s, s:o, s:o}", "service", m->service, "start",
				       json_time(m->start), "end", json_time(m->end)));
}

void api_maintenance(struct server *srv, struct http_request *req, const struct route_ctx *ctx)
{
	struct config *cfg = server_config(srv);
	char *dur = NULL;
	int64_t ms = 0;
	if (!config_service(cfg, ctx->params[0])) {
		char *why = xasprintf("no service '%s'", ctx->params[0]);
		http_reply_error(req, 404, "not found", why);
		free(why);
	} else if ((dur = body_string(req, "for")) && (duration_parse(dur, &ms) < 0 || ms <= 0)) {
		http_reply_error(req, 400, "bad request",
				 "'for' must be a duration such as 30m, 2h or 1d");
	} else if (dur) {
		struct maint_data *m = xcalloc(1, sizeof(*m));
		m->service = xstrdup(ctx->params[0]);
		m->actor = xstrdup(ctx->user);
		m->start = clock_now_ms();
		m->end = m->start + ms;
		struct tx_call *c = tx_call_new(config_ref(cfg), maint_apply, maint_answer, m,
						     maint_free);
		server_run_tx(srv, req, c);
	}
	free(dur);
	config_unref(cfg);
}

void api_changes(struct server *srv, struct http_request *req, const struct route_ctx *ctx)
{
	const char *limit = http_query(req, "limit");
	struct change_list l = { 0 };
	struct store_conn *c = api_reader(srv, req);
	if (!c)
		return;
	int rc = store_ops(srv->store)->change_list(c, http_query(req, "service"), 0, INT64_MAX,
						    limit ? strtoll(limit, NULL, 10) : 0, &l);
	store_read_end(srv->store, c);
	if (rc == STORE_FAULT) {
		server_reply_fault(srv, req);
	} else {
		json_t *arr = json_array();
		for (size_t i = 0; i < l.n; i++)
			json_array_append_new(
				arr, json_pack("{s:I, s:s, s:o, s:s, s:s?, s:o}", "id",
					       (json_int_t)l.v[i].id, "service", l.v[i].service, "at", json_time(l.v[i].at),
					       "summary", l.v[i].summary, "source", l.v[i].source,
					       "payload", json_or_null(l.v[i].payload)));
		reply_json(req, 200, json_pack("{s:o}", "changes", arr));
	}
	change_list_release(&l);
}

/* --- tokens and the test clock ---------------------------------------------- */

struct token_data {
	char *user;
	char *token;
};

static void token_free(void *p)
{
	struct token_data *t = p;
	free(t->user);
	free(t->token);
	free(t);
}

static int token_apply(struct tx_call *c, struct store_tx *tx)
{
	struct token_data *t = c->data;
	return auth_token_store(tx, t->user, t->token, clock_now_ms());
}

static void token_answer(struct tx_call *c, struct http_request *req)
{
	struct token_data *t = c->data;
	if (c->rc < 0)
		server_reply_fault(c->srv, req);
	else
		reply_json(req, 201, json_pack("{s:s, s:s}", "user", t->user, "token", t->token));
}

void api_token_create(struct server *srv, struct http_request *req,
		      const struct route_ctx *ctx)
{
	struct config *cfg = server_config(srv);
	char *user = body_string(req, "user");
	if (user && !config_user(cfg, user)) {
		char *why = xasprintf("no user '%s' in the configuration", user);
		http_reply_error(req, 400, "bad request", why);
		free(why);
	} else if (user) {
		struct token_data *t = xcalloc(1, sizeof(*t));
		t->user = user;
		t->token = auth_token_new();
		user = NULL;
		struct tx_call *c = tx_call_new(config_ref(cfg), token_apply, token_answer, t,
						     token_free);
		server_run_tx(srv, req, c);
	}
	free(user);
	config_unref(cfg);
}

/* A duration with an optional sign: "-1h". */
static int signed_duration(const char *s, int64_t *ms)
{
	int neg = *s == '-';
	if (duration_parse(s + (neg || *s == '+'), ms) < 0)
		return -1;
	if (neg)
		*ms = -*ms;
	return 0;
}

/* {"advance":"30m"} moves test time forward; {"step":"-1h"} simulates a step of the
 * wall clock, which the engine must see through. */
void api_test_clock(struct server *srv, struct http_request *req, const struct route_ctx *ctx)
{
	json_t *doc;
	char iso[ISO_LEN];
	int64_t ms = 0;
	if (!clock_is_test()) {
		http_reply_error(req, 404, "not found", "the test clock is off");
		return;
	}
	if (!(doc = api_body_object(req)))
		return;
	const char *adv = json_string_value(json_object_get(doc, "advance"));
	const char *step = json_string_value(json_object_get(doc, "step"));
	if (adv && duration_parse(adv, &ms) == 0) {
		clock_advance(ms);
	} else if (!adv && step && signed_duration(step, &ms) == 0) {
		clock_step(ms);
	} else {
		http_reply_error(req, 400, "bad request",
				 "give 'advance' (a duration) or 'step' (a duration, may be negative)");
		json_decref(doc);
		return;
	}
	engine_wake(srv->engine);
	notify_wake(srv->notify);
	checker_wake(srv->checker);
	iso_format_utc(clock_now_ms(), iso);
	reply_json(req, 200, json_pack("{s:s, s:I}", "now", iso, "offset_ms",
				       (json_int_t)clock_offset()));
	json_decref(doc);
}
