/*
 * routes.c - the route table and the dispatcher.
 *
 * routes[] is the whole HTTP surface of tocsin.  dispatch() matches method and
 * path (a "{x}" segment captures one path segment), authenticates when the route
 * asks for a role (token from "Authorization: Bearer T" or PagerDuty's
 * "Token token=T", looked up by hash in the store), checks the role, and calls the
 * handler.  To add an endpoint, add a row: nothing else decides who may call it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "act.h"
#include "api.h"
#include "api_pm.h"
#include "auth.h"
#include "check.h"
#include "ingest.h"
#include "metrics.h"
#include "oncall.h"
#include "routes.h"
#include "stats.h"
#include "timeutil.h"
#include "banned.h"

static void health(struct server *srv, struct http_request *req, const struct route_ctx *ctx);
static void ready(struct server *srv, struct http_request *req, const struct route_ctx *ctx);

static const struct route routes[] = {
	{ "POST", "/v2/enqueue", ingest_v2, AUTH_NONE, "PagerDuty Events API v2", 0 },
	{ "POST", "/v2/change/enqueue", ingest_change, AUTH_NONE, "PagerDuty change events", 0 },
	{ "POST", "/generic/2010-04-15/create_event.json", ingest_v1, AUTH_NONE,
	  "PagerDuty Events API v1", 0 },
	{ "POST", "/integrations/alertmanager/{key}", ingest_alertmanager, AUTH_NONE,
	  "Alertmanager webhook receiver", 0 },
	{ "GET", "/healthz", health, AUTH_NONE, "liveness", 0 },
	{ "GET", "/readyz", ready, AUTH_NONE, "readiness: the store answers", 0 },
	{ "GET", "/metrics", metrics_get, AUTH_NONE, "Prometheus metrics", 0 },
	{ "GET", "/api/info", api_info, AUTH_OBSERVER, "server version, zone and caller", 0 },
	{ "GET", "/api/incidents", api_incidents, AUTH_OBSERVER, "list incidents", 0 },
	{ "GET", "/api/incidents/{n}", api_incident_show, AUTH_OBSERVER,
	  "one incident with alerts and timeline", 0 },
	{ "POST", "/api/incidents/{n}/ack", api_incident_ack, AUTH_RESPONDER, "acknowledge", 0 },
	{ "POST", "/api/incidents/{n}/resolve", api_incident_resolve, AUTH_RESPONDER, "resolve", 0 },
	{ "POST", "/api/incidents/{n}/notes", api_incident_note, AUTH_RESPONDER, "add a note", 0 },
	{ "POST", "/api/incidents/{n}/severity", api_incident_severity, AUTH_RESPONDER,
	  "set severity", 0 },
	{ "POST", "/api/incidents/{n}/escalate", api_incident_escalate, AUTH_RESPONDER,
	  "escalate to the next level now", 0 },
	{ "POST", "/api/incidents/{n}/reassign", api_incident_reassign, AUTH_RESPONDER,
	  "hand over to user:ID or schedule:ID", 0 },
	{ "GET", "/api/incidents/{n}/pages", api_incident_pages, AUTH_OBSERVER,
	  "the incident's page requests (the outbox)", 0 },
	{ "GET", "/api/incidents/{n}/notifications", api_incident_notifications, AUTH_OBSERVER,
	  "the incident's deliveries: each contact method, attempts, outcome", 0 },
	{ "GET", "/act/{token}", act_show, AUTH_NONE,
	  "what a one-click link in a page would do, with its button", 0 },
	{ "POST", "/act/{token}", act_do, AUTH_NONE,
	  "acknowledge or resolve from a page's link (the link is the credential)", 0 },
	{ "GET", "/api/services", api_services, AUTH_OBSERVER, "services and maintenance", 0 },
	{ "POST", "/api/services/{id}/maintenance", api_maintenance, AUTH_RESPONDER,
	  "start a maintenance window", 0 },
	{ "GET", "/api/changes", api_changes, AUTH_OBSERVER, "change events", 0 },
	{ "POST", "/heartbeat/{key}", checks_heartbeat, AUTH_NONE,
	  "a heartbeat check's job checked in (the key is the credential)", 0 },
	{ "GET", "/api/checks", api_checks, AUTH_OBSERVER, "every check's state", 0 },
	{ "GET", "/api/checks/{id}", api_check, AUTH_OBSERVER,
	  "one check with its recent results", 0 },
	{ "GET", "/api/stats", api_stats, AUTH_OBSERVER,
	  "MTTA, MTTR, counts and pages per responder over a period", 0 },
	{ "GET", "/api/oncall", oncall_get, AUTH_OBSERVER, "who is on call", 0 },
	{ "GET", "/calendar/users/{file}", oncall_calendar_user, AUTH_OBSERVER,
	  "one user's shifts as iCalendar (USER.ics?token=T)", .query_token = 1 },
	{ "GET", "/calendar/{file}", oncall_calendar, AUTH_OBSERVER,
	  "a schedule's shifts as iCalendar (SCHEDULE.ics?token=T)", .query_token = 1 },
	{ "GET", "/api/schedules/{id}/shifts", oncall_shifts, AUTH_OBSERVER,
	  "a schedule's shifts over a window", 0 },
	{ "GET", "/api/schedules/{id}/overrides", oncall_overrides, AUTH_OBSERVER,
	  "a schedule's current and future overrides", 0 },
	{ "POST", "/api/schedules/{id}/overrides", oncall_override_add, AUTH_RESPONDER,
	  "add an override", 0 },
	{ "DELETE", "/api/schedules/{id}/overrides/{n}", oncall_override_delete, AUTH_RESPONDER,
	  "remove an override", 0 },
	{ "GET", "/api/postmortems", api_postmortems, AUTH_OBSERVER,
	  "list postmortems (?status=&owner=&incident=)", 0 },
	{ "POST", "/api/postmortems", api_postmortem_create, AUTH_RESPONDER,
	  "draft a postmortem of an incident from its timeline", 0 },
	{ "GET", "/api/postmortems/{n}", api_postmortem_show, AUTH_OBSERVER,
	  "one postmortem: fields, Markdown, action items, lint", 0 },
	{ "GET", "/api/postmortems/{n}/history", api_postmortem_history, AUTH_OBSERVER,
	  "a postmortem's revisions: who changed what, when", 0 },
	{ "GET", "/api/postmortems/{n}/markdown", api_postmortem_markdown, AUTH_OBSERVER,
	  "a postmortem's Markdown, as a file", 0 },
	{ "POST", "/api/postmortems/{n}/markdown", api_postmortem_edit, AUTH_RESPONDER,
	  "replace a postmortem's Markdown (a new revision)", 0 },
	{ "POST", "/api/postmortems/{n}/fields", api_postmortem_fields, AUTH_RESPONDER,
	  "set structured fields: owner, severity, times, detection, factors, services", 0 },
	{ "GET", "/api/postmortems/{n}/lint", api_postmortem_lint, AUTH_OBSERVER,
	  "a stored postmortem's lint findings", 0 },
	{ "GET", "/api/postmortems/{n}/page", api_postmortem_page, AUTH_OBSERVER,
	  "a postmortem as an HTML page with its timeline diagram (?token=T)", .query_token = 1 },
	{ "POST", "/api/postmortems/{n}/{step}", api_postmortem_step, AUTH_RESPONDER,
	  "submit, approve, reopen, publish, close or redraft a postmortem", 0 },
	{ "GET", "/api/actions", api_actions, AUTH_OBSERVER,
	  "action items (?overdue=1&owner=U&status=open|done|declined)", 0 },
	{ "POST", "/api/actions/{n}", api_action_update, AUTH_RESPONDER,
	  "mark an action item done, open or declined (with a reason)", 0 },
	{ "POST", "/api/tokens", api_token_create, AUTH_ADMIN, "mint a token for a user", 0 },
	{ "POST", "/api/test/clock", api_test_clock, AUTH_ADMIN,
	  "move the test clock (TOCSIN_TEST_CLOCK=1 only)", 0 },
};

void reply_json(struct http_request *req, int status, json_t *doc)
{
	char *s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	http_reply_take(req, status, "application/json", s, strlen(s));
}

json_t *json_time(int64_t ms)
{
	char iso[ISO_LEN];
	if (!ms)
		return json_null();
	iso_format_utc(ms, iso);
	return json_string(iso);
}

static void health(struct server *srv, struct http_request *req, const struct route_ctx *ctx)
{
	reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

static void ready(struct server *srv, struct http_request *req, const struct route_ctx *ctx)
{
	struct store_conn *c = store_read_begin(srv->store);
	int ok = c && store_ops(srv->store)->ping(c);
	store_read_end(srv->store, c);
	if (ok)
		reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
	else
		http_reply_error(req, 503, "store unavailable", "the store does not answer");
}

/* Matches path against pattern; captures {x} segments into ctx->params. */
static int match(const char *pattern, const char *path, struct route_ctx *ctx)
{
	const char *p = pattern, *s = path;
	while (*p && *s) {
		if (*p == '{') {
			const char *pe = strchr(p, '}');
			size_t n = strcspn(s, "/");
			if (!pe || n == 0 || ctx->nparams == ROUTE_PARAMS_MAX)
				return 0;
			ctx->params[ctx->nparams++] = xstrndup(s, n);
			p = pe + 1;
			s += n;
			continue;
		}
		if (*p++ != *s++)
			return 0;
	}
	return !*p && !*s;
}

static void ctx_release(struct route_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nparams; i++)
		free(ctx->params[i]);
	ctx->nparams = 0;
}

/* Finds the caller's user and role; replies 401/503 and returns -1 when it cannot. */
static int authenticate(struct server *srv, struct http_request *req, const struct route *r,
			char **user, enum role *role)
{
	size_t len = 0;
	const char *tok = auth_token_from_header(http_header(req, "Authorization"), &len);
	if (!tok && r->query_token && (tok = http_query(req, "token")))
		len = strlen(tok);
	if (!tok) {
		http_reply_error(req, 401, "authentication required",
				 "send 'Authorization: Bearer TOKEN'");
		return -1;
	}
	char hash[AUTH_HASH_HEX];
	char *t = xstrndup(tok, len);
	auth_token_hash(t, hash);
	free(t);
	struct store_conn *c = store_read_begin(srv->store);
	int rc = c ? store_ops(srv->store)->token_lookup(c, hash, user) : STORE_FAULT;
	store_read_end(srv->store, c);
	if (rc == STORE_FAULT) {
		server_reply_fault(srv, req);
		return -1;
	}
	struct config *cfg = server_config(srv);
	const struct user *u = rc == STORE_FOUND ? config_user(cfg, *user) : NULL;
	if (u)
		*role = u->role;
	config_unref(cfg);
	if (!u) {
		free(*user);
		*user = NULL;
		http_reply_error(req, 401, "authentication failed", "unknown or revoked token");
		return -1;
	}
	return 0;
}

static void add_zone_header(struct server *srv, struct http_request *req)
{
	struct config *cfg = server_config(srv);
	http_add_header(req, "X-Tocsin-Time-Zone", cfg->time_zone ? cfg->time_zone : "UTC");
	config_unref(cfg);
}

static void call(struct server *srv, struct http_request *req, const struct route *r,
		 struct route_ctx *ctx)
{
	char *user = NULL;
	enum role role = ROLE_OBSERVER;
	if (r->auth != AUTH_NONE) {
		add_zone_header(srv, req);
		if (authenticate(srv, req, r, &user, &role) < 0)
			return;
		if ((int)role < (int)r->auth) {
			char *need = xasprintf("this needs the %s role; '%s' is %s",
					       role_name((enum role)r->auth), user,
					       role_name(role));
			http_reply_error(req, 403, "forbidden", need);
			free(need);
			free(user);
			return;
		}
	}
	ctx->user = user;
	ctx->role = role;
	r->handler(srv, req, ctx);
	free(user);
}

void routes_dispatch(void *arg, struct http_request *req)
{
	struct server *srv = arg;
	const char *method = http_method(req), *path = http_path(req);
	int path_known = 0;

	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		struct route_ctx ctx = { .nparams = 0 };
		if (!match(routes[i].pattern, path, &ctx)) {
			ctx_release(&ctx);
			continue;
		}
		path_known = 1;
		if (strcmp(routes[i].method, method)) {
			ctx_release(&ctx);
			continue;
		}
		http_set_tag(req, (int)i + 1);
		call(srv, req, &routes[i], &ctx);
		ctx_release(&ctx);
		return;
	}
	if (path_known)
		http_reply_error(req, 405, "method not allowed", path);
	else
		http_reply_error(req, 404, "not found", path);
}

/* --- counting responses ----------------------------------------------------------- */

static const int codes[RESPONSE_CODES] = { 0, 200, 201, 202, 204, 400, 401, 403, 404, 405,
					   409, 410, 413, 429, 431, 500, 503 };

size_t routes_count(void)
{
	return ARRAY_SIZE(routes) + 1;
}

const char *routes_name(size_t i, char *out, size_t outlen)
{
	if (i == 0 || i > ARRAY_SIZE(routes))
		snprintf(out, outlen, "none");
	else
		snprintf(out, outlen, "%s %s", routes[i - 1].method, routes[i - 1].pattern);
	return out;
}

int routes_code(size_t k)
{
	return k < RESPONSE_CODES ? codes[k] : 0;
}

void routes_replied(void *arg, int tag, int status)
{
	struct server *srv = arg;
	size_t k = 0;
	for (size_t i = 1; i < RESPONSE_CODES && !k; i++)
		if (codes[i] == status)
			k = i;
	size_t route = tag > 0 && (size_t)tag <= ARRAY_SIZE(routes) ? (size_t)tag : 0;
	__atomic_add_fetch(&srv->responses[route * RESPONSE_CODES + k], 1, __ATOMIC_RELAXED);
}
