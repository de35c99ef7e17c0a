/*
 * api_pm.c - the postmortem API: records, their Markdown, lint and page, the review
 * workflow, and the action items (docs/API.md, docs/POSTMORTEMS.md).
 *
 * Reads borrow a reader.  Every change is one review_op (review.h) run as a tx_call
 * on the store writer; the answer, the postmortem as it now is, is read after the
 * commit.  The verbs without a body (submit, approve, ...) are rows of verbs[], so
 * a new step of the workflow is a row here and a route.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_pm.h"
#include "clock.h"
#include "postmortem.h"
#include "review.h"
#include "timeutil.h"
#include "banned.h"

static json_t *postmortem_json(const struct postmortem *p)
{
	char sev[8];
	snprintf(sev, sizeof(sev), "SEV-%d", p->severity);
	return json_pack("{s:I, s:I, s:o, s:s, s:s?, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:s?, "
			 "s:o, s:o, s:I, s:o, s:o}",
			 "id", (json_int_t)p->id, "incident", (json_int_t)p->incident, "incidents",
			 api_json_array(p->incidents), "title", p->title, "owner", p->owner,
			 "status", p->status, "severity", sev, "services",
			 api_json_array(p->services), "impact_start", json_time(p->impact_start),
			 "detected", json_time(p->detected), "acknowledged",
			 json_time(p->acknowledged), "mitigated", json_time(p->mitigated),
			 "resolved", json_time(p->resolved), "detection", p->detection, "factors",
			 api_json_array(p->factors), "approvals", api_json_array(p->approvals),
			 "revision", (json_int_t)p->revision, "created_at", json_time(p->created_at),
			 "updated_at", json_time(p->updated_at));
}

static json_t *action_json(const struct action_item *a, int64_t now)
{
	return json_pack("{s:I, s:I, s:I, s:s, s:s?, s:s, s:s, s:b, s:s?, s:s?, s:o, s:o}", "id",
			 (json_int_t)a->id, "postmortem", (json_int_t)a->postmortem, "position",
			 (json_int_t)a->position, "text", a->text, "owner", a->owner, "due", a->due,
			 "status", a->status, "overdue", !strcmp(a->status, ACTION_OPEN) &&
							 a->due_at <= now,
			 "reason", a->reason, "ticket", a->ticket, "reminded_at",
			 json_time(a->reminded_at), "updated_at", json_time(a->updated_at));
}

static json_t *lint_json(const char *md)
{
	struct pm_finding *f;
	size_t n = postmortem_lint(md, strlen(md), &f);
	json_t *arr = json_array();
	json_int_t errors = 0;
	for (size_t i = 0; i < n; i++) {
		errors += f[i].error;
		json_array_append_new(arr, json_pack("{s:i, s:s, s:s}", "line", f[i].line, "severity",
						     f[i].error ? "error" : "warning", "message",
						     f[i].message));
	}
	pm_findings_free(f, n);
	return json_pack("{s:I, s:I, s:o}", "errors", errors, "warnings", (json_int_t)n - errors,
			 "findings", arr);
}

/* The whole document: the record, its Markdown, its action items and its lint. */
static int read_document(const struct store_ops *ops, struct store_conn *c, int64_t id,
			 json_t **out)
{
	struct postmortem pm = { 0 };
	struct action_list al = { 0 };
	struct action_filter f = { .postmortem = id };
	int rc = ops->postmortem_get(c, id, &pm);
	if (rc == STORE_FOUND && ops->action_list(c, &f, &al) != STORE_OK)
		rc = STORE_FAULT;
	if (rc == STORE_FOUND) {
		int64_t now = clock_now_ms();
		json_t *items = json_array();
		for (size_t i = 0; i < al.n; i++)
			json_array_append_new(items, action_json(&al.v[i], now));
		*out = postmortem_json(&pm);
		json_object_set_new(*out, "markdown", json_string(pm.body));
		json_object_set_new(*out, "action_items", items);
		json_object_set_new(*out, "lint", lint_json(pm.body));
	}
	postmortem_release(&pm);
	action_list_release(&al);
	return rc;
}

/* Reads postmortem id with read; replies 404 or 503 when that fails. */
static int read_one(struct server *srv, struct http_request *req, int64_t id,
		    struct postmortem *pm)
{
	struct store_conn *c = api_reader(srv, req);
	if (!c)
		return STORE_FAULT;
	int rc = store_ops(srv->store)->postmortem_get(c, id, pm);
	store_read_end(srv->store, c);
	if (rc == STORE_NOTFOUND) {
		char *why = xasprintf("no postmortem #%lld", (long long)id);
		http_reply_error(req, 404, "not found", why);
		free(why);
	} else if (rc == STORE_FAULT) {
		server_reply_fault(srv, req);
	}
	return rc;
}

/* --- reads --------------------------------------------------------------------- */

void api_postmortems(struct server *srv, struct http_request *req, const struct route_ctx *ctx)
{
	struct pm_filter f = { .status = http_query(req, "status"), .owner = http_query(req, "owner") };
	const char *inc = http_query(req, "incident");
	struct postmortem_list l = { 0 };
	static const char *const statuses[] = { PM_DRAFT, PM_IN_REVIEW, PM_PUBLISHED, PM_CLOSED };
	int known = !f.status;
	for (size_t i = 0; i < ARRAY_SIZE(statuses); i++)
		known |= f.status && !strcmp(f.status, statuses[i]);
	if (!known) {
		http_reply_error(req, 400, "bad request",
				 "status must be draft, in_review, published or closed");
		return;
	}
	if (inc && !(f.incident = api_parse_number(inc))) {
		http_reply_error(req, 400, "bad request", "incident must be an incident number");
		return;
	}
	struct store_conn *c = api_reader(srv, req);
	if (!c)
		return;
	int rc = store_ops(srv->store)->postmortem_list(c, &f, &l);
	store_read_end(srv->store, c);
	if (rc == STORE_OK) {
		json_t *arr = json_array();
		for (size_t i = 0; i < l.n; i++)
			json_array_append_new(arr, postmortem_json(&l.v[i]));
		reply_json(req, 200, json_pack("{s:o}", "postmortems", arr));
	} else {
		server_reply_fault(srv, req);
	}
	postmortem_list_release(&l);
}

void api_postmortem_show(struct server *srv, struct http_request *req,
			 const struct route_ctx *ctx)
{
	int64_t id = api_id_or_404(req, ctx->params[0], "postmortem");
	struct store_conn *c = id ? api_reader(srv, req) : NULL;
	json_t *doc = NULL;
	if (!c)
		return;
	int rc = read_document(store_ops(srv->store), c, id, &doc);
	store_read_end(srv->store, c);
	if (rc == STORE_FOUND) {
		reply_json(req, 200, doc);
	} else if (rc == STORE_NOTFOUND) {
		char *why = xasprintf("no postmortem #%lld", (long long)id);
		http_reply_error(req, 404, "not found", why);
		free(why);
	} else {
		server_reply_fault(srv, req);
	}
}

void api_postmortem_history(struct server *srv, struct http_request *req,
			    const struct route_ctx *ctx)
{
	int64_t id = api_id_or_404(req, ctx->params[0], "postmortem");
	struct postmortem pm = { 0 };
	struct pm_revision_list l = { 0 };
	if (!id || read_one(srv, req, id, &pm) != STORE_FOUND)
		goto out;
	struct store_conn *c = api_reader(srv, req);
	if (!c)
		goto out;
	int rc = store_ops(srv->store)->pm_revision_list(c, id, &l);
	store_read_end(srv->store, c);
	if (rc != STORE_OK) {
		server_reply_fault(srv, req);
		goto out;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < l.n; i++)
		json_array_append_new(arr, json_pack("{s:I, s:o, s:s, s:s, s:b}", "revision",
						     (json_int_t)l.v[i].revision, "at",
						     json_time(l.v[i].at), "actor", l.v[i].actor,
						     "change", l.v[i].change, "body", l.v[i].body != NULL));
	reply_json(req, 200, json_pack("{s:I, s:o}", "postmortem", (json_int_t)id, "revisions", arr));
out:
	postmortem_release(&pm);
	pm_revision_list_release(&l);
}

/* GET of one postmortem's text, answered by reply, which takes the text. */
static void reply_text(struct server *srv, struct http_request *req, const struct route_ctx *ctx,
		       void (*reply)(struct http_request *req, char *md))
{
	int64_t id = api_id_or_404(req, ctx->params[0], "postmortem");
	struct postmortem pm = { 0 };
	if (id && read_one(srv, req, id, &pm) == STORE_FOUND) {
		reply(req, pm.body);
		pm.body = NULL;
	}
	postmortem_release(&pm);
}

static void as_markdown(struct http_request *req, char *md)
{
	http_reply_take(req, 200, "text/markdown; charset=utf-8", md, strlen(md));
}

static void as_lint(struct http_request *req, char *md)
{
	reply_json(req, 200, lint_json(md));
	free(md);
}

static void as_page(struct http_request *req, char *md)
{
	size_t len;
	char *html = postmortem_render(md, strlen(md), &len);
	free(md);
	http_reply_take(req, 200, "text/html; charset=utf-8", html, len);
}

void api_postmortem_markdown(struct server *srv, struct http_request *req,
			     const struct route_ctx *ctx)
{
	reply_text(srv, req, ctx, as_markdown);
}

void api_postmortem_lint(struct server *srv, struct http_request *req,
			 const struct route_ctx *ctx)
{
	reply_text(srv, req, ctx, as_lint);
}

void api_postmortem_page(struct server *srv, struct http_request *req,
			 const struct route_ctx *ctx)
{
	reply_text(srv, req, ctx, as_page);
}

void api_actions(struct server *srv, struct http_request *req, const struct route_ctx *ctx)
{
	const char *status = http_query(req, "status"), *overdue = http_query(req, "overdue");
	int64_t now = clock_now_ms();
	struct action_filter f = { .owner = http_query(req, "owner") };
	struct action_list l = { 0 };
	if (status && strcmp(status, ACTION_OPEN) && strcmp(status, ACTION_DONE) &&
	    strcmp(status, ACTION_DECLINED)) {
		http_reply_error(req, 400, "bad request", "status must be open, done or declined");
		return;
	}
	f.open_only = (status && !strcmp(status, ACTION_OPEN)) || overdue;
	f.due_before = overdue ? now : 0;
	struct store_conn *c = api_reader(srv, req);
	if (!c)
		return;
	int rc = store_ops(srv->store)->action_list(c, &f, &l);
	store_read_end(srv->store, c);
	if (rc != STORE_OK) {
		server_reply_fault(srv, req);
		goto out;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < l.n; i++)
		if (!status || !strcmp(status, l.v[i].status))
			json_array_append_new(arr, action_json(&l.v[i], now));
	reply_json(req, 200, json_pack("{s:o}", "action_items", arr));
out:
	action_list_release(&l);
}

/* --- changes ----------------------------------------------------------------------- */

struct pm_call {
	struct review_op op;
	char *actor, *text, *reason, *ticket;
	json_t *body;
	int64_t id;		/* the postmortem the op changed */
	int created;
};

static void pm_call_free(void *p)
{
	struct pm_call *d = p;
	free(d->actor);
	free(d->text);
	free(d->reason);
	free(d->ticket);
	json_decref(d->body);
	free(d);
}

static int pm_apply(struct tx_call *c, struct store_tx *tx)
{
	struct pm_call *d = c->data;
	return review_apply(tx, c->cfg, &d->op, clock_now_ms(), &d->id, &c->err);
}

static void pm_answer(struct tx_call *c, struct http_request *req)
{
	struct pm_call *d = c->data;
	json_t *doc = NULL;
	if (c->rc == STORE_FAULT) {
		server_reply_fault(c->srv, req);
		return;
	}
	if (c->rc < 0) {	/* REVIEW_E*: the status, negated */
		api_reply_refused(req, c->rc, c->err);
		return;
	}
	struct store_conn *conn = api_reader(c->srv, req);
	if (!conn)
		return;
	int rc = read_document(store_ops(c->srv->store), conn, d->id, &doc);
	store_read_end(c->srv->store, conn);
	if (rc == STORE_FOUND)
		reply_json(req, d->created ? 201 : 200, doc);
	else
		server_reply_fault(c->srv, req);
}

static const char *body_str(json_t *body, const char *key)
{
	return json_string_value(json_object_get(body, key));
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* Runs op for the caller with the request's JSON body (NULL: none needed). */
static void run(struct server *srv, struct http_request *req, const struct route_ctx *ctx,
		enum review_verb verb, int64_t id, json_t *body)
{
	json_t *start = json_object_get(body, "start_change");
	if (start && !json_is_null(start) &&
	    (!json_is_integer(start) || json_integer_value(start) <= 0)) {
		http_reply_error(req, 400, "bad request", "'start_change' must be a change event id");
		json_decref(body);
		return;
	}
	struct pm_call *d = xcalloc(1, sizeof(*d));
	d->actor = xstrdup(ctx->user);
	d->body = body;
	d->text = dup_or_null(body_str(body, verb == RV_ACTION ? "status" :
					     verb == RV_EDIT ? "markdown" : "reason"));
	d->reason = dup_or_null(body_str(body, "reason"));
	d->ticket = dup_or_null(body_str(body, "ticket"));
	json_int_t change = json_integer_value(json_object_get(body, "start_change"));
	d->op = (struct review_op){ .verb = verb, .id = id, .actor = d->actor, .text = d->text,
				    .reason = d->reason, .ticket = d->ticket, .change = change,
				    .fields = verb == RV_SET ? body : NULL };
	d->created = verb == RV_CREATE;
	server_run_tx(srv, req, tx_call_new(server_config(srv), pm_apply, pm_answer, d, pm_call_free));
}

/* The body, when the request has one, as a JSON object; NULL after replying 400.
 * An empty body reads as {}. */
static json_t *body_or_empty(struct http_request *req)
{
	size_t len;
	http_body(req, &len);
	return len ? api_body_object(req) : json_object();
}

void api_postmortem_create(struct server *srv, struct http_request *req,
			   const struct route_ctx *ctx)
{
	json_t *body = api_body_object(req);
	json_t *inc = body ? json_object_get(body, "incident") : NULL;
	int64_t n = json_is_integer(inc) ? json_integer_value(inc)
					 : api_parse_number(json_string_value(inc));
	if (body && n <= 0) {
		http_reply_error(req, 400, "bad request", "'incident' must be an incident number");
		json_decref(body);
		return;
	}
	if (body)
		run(srv, req, ctx, RV_CREATE, n, body);
}

/* POST of a JSON body to the record numbered by the path: one verb. */
static void run_on(struct server *srv, struct http_request *req, const struct route_ctx *ctx,
		   enum review_verb verb, const char *what)
{
	int64_t id = api_id_or_404(req, ctx->params[0], what);
	json_t *body = id ? api_body_object(req) : NULL;
	if (body)
		run(srv, req, ctx, verb, id, body);
}

void api_postmortem_edit(struct server *srv, struct http_request *req,
			 const struct route_ctx *ctx)
{
	run_on(srv, req, ctx, RV_EDIT, "postmortem");
}

void api_postmortem_fields(struct server *srv, struct http_request *req,
			   const struct route_ctx *ctx)
{
	run_on(srv, req, ctx, RV_SET, "postmortem");
}

/* POST /api/postmortems/{id}/{verb}, body optional. */
void api_postmortem_step(struct server *srv, struct http_request *req,
			 const struct route_ctx *ctx)
{
	static const struct {
		const char *name;
		enum review_verb verb;
	} verbs[] = {
		{ "submit", RV_SUBMIT }, { "approve", RV_APPROVE }, { "reopen", RV_REOPEN },
		{ "publish", RV_PUBLISH }, { "close", RV_CLOSE }, { "redraft", RV_REDRAFT },
	};
	int64_t id = api_id_or_404(req, ctx->params[0], "postmortem");
	for (size_t i = 0; id && i < ARRAY_SIZE(verbs); i++)
		if (!strcmp(ctx->params[1], verbs[i].name)) {
			json_t *body = body_or_empty(req);
			if (body)
				run(srv, req, ctx, verbs[i].verb, id, body);
			return;
		}
	if (id)
		http_reply_error(req, 404, "not found", "the steps are submit, approve, reopen, "
							"publish, close and redraft");
}

void api_action_update(struct server *srv, struct http_request *req,
		       const struct route_ctx *ctx)
{
	run_on(srv, req, ctx, RV_ACTION, "action item");
}
