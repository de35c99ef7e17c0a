/*
 * ingest.c - the endpoints real monitoring tools send events to.
 *
 * Each protocol is a parser from a JSON body to struct event(s) plus the exact
 * answer its senders expect (PROTOCOLS.md): PagerDuty Events v2 and v1, change
 * events, and Alertmanager's webhook.  Parsing collects *every* problem into a
 * list, so one 400 names all the fields that are wrong.  Then the rate limit is
 * taken, and the events go to the store writer as one job: the sender is answered
 * 202 only after its batch is committed, or 503 if the store failed (nothing of the
 * request was written, so a retry cannot duplicate it).
 *
 * Liberal in what is accepted: unknown keys are ignored (Alertmanager adds fields
 * over time and sends "payload":null in v1 mode), custom_details is kept as opaque
 * JSON, and Go's zero time 0001-01-01T00:00:00Z means "no end".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <sodium.h>

#include "clock.h"
#include "incident.h"
#include "ingest.h"
#include "ratelimit.h"
#include "timeutil.h"
#include "banned.h"

#define SUMMARY_MAX 1024
#define DEDUP_KEY_MAX 255

enum proto { PROTO_V2, PROTO_V1, PROTO_CHANGE, PROTO_ALERTMANAGER };

static const char *const proto_names[] = {
	[PROTO_V2] = "events_v2",
	[PROTO_V1] = "events_v1",
	[PROTO_CHANGE] = "change_events",
	[PROTO_ALERTMANAGER] = "alertmanager",
};

/* What one request carries to the writer and back. */
struct batch {
	enum proto proto;
	struct event *ev;
	size_t n;
	struct change_event change;
	int opened;
};

static void batch_free(void *p)
{
	struct batch *b = p;
	for (size_t i = 0; i < b->n; i++)
		event_release(&b->ev[i]);
	free(b->ev);
	change_release(&b->change);
	free(b);
}

int json_depth(const char *s, size_t len)
{
	int depth = 0, max = 0, in_str = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"') {
			in_str = 1;
		} else if (c == '{' || c == '[') {
			if (++depth > max)
				max = depth;
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	return max;
}

static size_t utf8_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* The string value of key, or NULL when absent, null, not a string or blank. */
static const char *str_of(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s && *s ? s : NULL;
}

static void reply_pd(struct http_request *req, int status, const char *st, const char *msg,
		     const struct strlist *errs)
{
	json_t *e = json_array();
	for (size_t i = 0; errs && i < errs->n; i++)
		json_array_append_new(e, json_string(errs->v[i]));
	reply_json(req, status, json_pack("{s:s, s:s, s:o}", "status", st, "message", msg,
					  "errors", e));
}

static void reply_invalid(struct server *srv, struct http_request *req,
			  const struct strlist *errs)
{
	COUNT(srv, rejected);
	reply_pd(req, 400, "invalid event", "Event object is invalid", errs);
}

/* Parses the body as a JSON object within the depth limit; replies 400 if not. */
static json_t *parse_body(struct server *srv, struct http_request *req)
{
	size_t len;
	const char *body = http_body(req, &len);
	json_error_t jerr;
	struct strlist errs = STRLIST_INIT;
	json_t *doc = NULL;

	if (json_depth(body, len) > JSON_DEPTH_MAX)
		strlist_pushf(&errs, "JSON nesting is deeper than %d levels", JSON_DEPTH_MAX);
	else if (!(doc = json_loadb(body, len, 0, &jerr)))
		strlist_pushf(&errs, "JSON parse error: %s at line %d column %d", jerr.text,
			      jerr.line, jerr.column);
	else if (!json_is_object(doc))
		strlist_push(&errs, "JSON parse error: the body is not a JSON object");
	if (errs.n) {
		COUNT(srv, rejected);
		reply_pd(req, 400, "Unrecognized object", "Event object format is unrecognized",
			 &errs);
		json_decref(doc);
		doc = NULL;
	}
	strlist_release(&errs);
	return doc;
}

static void check_len(struct strlist *errs, const char *field, const char *v, size_t max)
{
	if (v && utf8_len(v) > max)
		strlist_pushf(errs, "'%s' is longer than %zu characters", field, max);
}

static int parse_action(const char *s, enum event_action *out)
{
	static const char *const names[] = { "trigger", "acknowledge", "resolve" };
	for (size_t i = 0; s && i < ARRAY_SIZE(names); i++)
		if (!strcmp(s, names[i])) {
			*out = (enum event_action)i;
			return 0;
		}
	return -1;
}

static char *new_dedup_key(void)
{
	unsigned char r[16];
	char hex[33];
	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(hex, sizeof(hex), r, sizeof(r));
	return xstrdup(hex);
}

static char *dump_or_null(const json_t *v)
{
	return v && !json_is_null(v) ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
}

/* Finds the service of a routing key; NULL when the key is unknown. */
static const struct service *service_of(const struct config *cfg, const char *key)
{
	return key ? config_service_by_key(cfg, key) : NULL;
}

/* Takes n events from the key's budget; replies status (429, or 403 for v1). */
static int rate_limited(struct server *srv, struct http_request *req, const struct config *cfg,
			const struct service *svc, const char *key, int n, int status)
{
	int limit = svc->rate_limit >= 0 ? svc->rate_limit : cfg->rate_limit;
	int wait = ratelimit_take(srv->rl, key, limit, n, clock_now_ms());
	if (!wait)
		return 0;
	char secs[16], *why = xasprintf("more than %d events a minute for this routing key", limit);
	struct strlist errs = STRLIST_INIT;
	strlist_push_take(&errs, why);
	snprintf(secs, sizeof(secs), "%d", wait);
	http_add_header(req, "Retry-After", secs);
	COUNT(srv, rate_limited);
	reply_pd(req, status, "throttle event", "Too many events: retry later", &errs);
	strlist_release(&errs);
	return 1;
}

static int batch_apply(struct tx_call *c, struct store_tx *tx)
{
	struct batch *b = c->data;
	int64_t now = clock_now_ms();
	if (b->proto == PROTO_CHANGE) {
		if (!b->change.at)
			b->change.at = now;
		return tx->ops->change_insert(tx->conn, &b->change);
	}
	for (size_t i = 0; i < b->n; i++) {
		struct event_result res;
		int rc = incident_apply_event(tx, c->cfg, &b->ev[i], now, &res);
		if (rc < 0)
			return rc;
		b->opened += res.opened;
	}
	return STORE_OK;
}

static void count_batch(struct server *srv, const struct batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		__atomic_add_fetch(&srv->counters.events[b->ev[i].action], 1, __ATOMIC_RELAXED);
	if (b->proto == PROTO_CHANGE)
		COUNT(srv, changes);
	__atomic_add_fetch(&srv->counters.incidents_opened, (uint64_t)b->opened,
			   __ATOMIC_RELAXED);
}

/* The success answer, built by hand: it is on the hot path, and jansson's
 * pack-and-dump costs more than the rest of the answer together. */
static void reply_success(struct http_request *req, int status, const char *message,
			  const char *key_name, const char *key, long long number)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "{\"status\":\"success\",\"message\":\"%s\",\"%s\":", message, key_name);
	if (key)
		buf_add_json_string(&b, key);
	else
		buf_addf(&b, "%lld", number);
	buf_addc(&b, '}');
	size_t len;
	char *body = buf_detach(&b, &len);
	http_reply_take(req, status, "application/json", body, len);
}

static void batch_answer(struct tx_call *c, struct http_request *req)
{
	struct batch *b = c->data;
	if (c->rc < 0) {
		server_reply_fault(c->srv, req);
		return;
	}
	count_batch(c->srv, b);
	switch (b->proto) {
	case PROTO_V2:
		reply_success(req, 202, "Event processed", "dedup_key", b->ev[0].dedup_key, 0);
		break;
	case PROTO_V1:
		reply_success(req, 200, "Event processed", "incident_key", b->ev[0].dedup_key, 0);
		break;
	case PROTO_CHANGE:
		reply_success(req, 202, "Change event processed", "id", NULL, b->change.id);
		break;
	case PROTO_ALERTMANAGER:
		reply_success(req, 200, "Alerts processed", "alerts", NULL, (long long)b->n);
		break;
	}
}

static void submit(struct server *srv, struct http_request *req, struct config *cfg,
		   struct batch *b)
{
	struct tx_call *c = tx_call_new(config_ref(cfg), batch_apply, batch_answer, b,
					     batch_free);
	server_run_tx(srv, req, c);
}

static struct batch *batch_new(enum proto proto, size_t n)
{
	struct batch *b = xcalloc(1, sizeof(*b));
	b->proto = proto;
	b->n = n;
	b->ev = n ? xcalloc(n, sizeof(*b->ev)) : NULL;
	return b;
}

/* Fills ev from a v2 body; appends every problem to errs. */
static void parse_v2(const json_t *doc, struct event *ev, struct strlist *errs)
{
	const json_t *payload = json_object_get(doc, "payload");
	const json_t *dk = json_object_get(doc, "dedup_key");
	const char *action = json_string_value(json_object_get(doc, "event_action"));

	if (parse_action(action, &ev->action) < 0) {
		strlist_push(errs, "'event_action' is invalid (must be one of: trigger "
				   "acknowledge resolve)");
		action = NULL;	/* nothing more can be said of the other fields */
	}
	if (dk && !json_is_null(dk) && !json_is_string(dk))
		strlist_push(errs, "'dedup_key' must be a string");
	ev->dedup_key = str_of(doc, "dedup_key") ? xstrdup(str_of(doc, "dedup_key")) : NULL;
	check_len(errs, "dedup_key", ev->dedup_key, DEDUP_KEY_MAX);
	if (!ev->dedup_key && action && ev->action != EV_TRIGGER)
		strlist_push(errs, "'dedup_key' is missing or blank (required to acknowledge "
				   "or resolve)");
	if (ev->action != EV_TRIGGER || !action)
		return;
	if (!json_is_object(payload)) {
		strlist_push(errs, "'payload' is missing or not an object");
		return;
	}
	const char *summary = str_of(payload, "summary"), *source = str_of(payload, "source");
	const char *sev = str_of(payload, "severity"), *ts = str_of(payload, "timestamp");
	int64_t when;
	if (!summary)
		strlist_push(errs, "'payload.summary' is missing or blank");
	check_len(errs, "payload.summary", summary, SUMMARY_MAX);
	if (!source)
		strlist_push(errs, "'payload.source' is missing or blank");
	if (!severity_from_event(sev))
		strlist_push(errs, "'payload.severity' is invalid (must be one of: critical "
				   "error warning info)");
	if (ts && iso_parse(ts, &when) < 0)
		strlist_push(errs, "'payload.timestamp' is not an ISO 8601 date-time");
	ev->summary = summary ? xstrdup(summary) : NULL;
	ev->source = source ? xstrdup(source) : NULL;
	ev->severity = sev ? xstrdup(sev) : NULL;
	ev->details = dump_or_null(json_object_get(payload, "custom_details"));
}

/* The routing key's service, or a 400 naming the field. */
static const struct service *check_key(const struct config *cfg, const char *key,
				       const char *field, struct strlist *errs)
{
	const struct service *svc = service_of(cfg, key);
	if (!key)
		strlist_pushf(errs, "'%s' is missing or blank", field);
	else if (!svc)
		strlist_pushf(errs, "'%s' is not the integration key of any service", field);
	return svc;
}

void ingest_change(struct server *srv, struct http_request *req, const struct route_ctx *ctx)
{
	struct config *cfg = server_config(srv);
	struct strlist errs = STRLIST_INIT;
	struct batch *b = NULL;
	json_t *doc = parse_body(srv, req);
	if (!doc)
		goto out;
	const char *key = str_of(doc, "routing_key");
	const struct service *svc = check_key(cfg, key, "routing_key", &errs);
	const json_t *payload = json_object_get(doc, "payload");
	const char *summary = str_of(payload, "summary"), *ts = str_of(payload, "timestamp");
	int64_t at = 0;
	if (!summary)
		strlist_push(&errs, "'payload.summary' is missing or blank");
	check_len(&errs, "payload.summary", summary, SUMMARY_MAX);
	if (ts && iso_parse(ts, &at) < 0)
		strlist_push(&errs, "'payload.timestamp' is not an ISO 8601 date-time");
	if (errs.n) {
		reply_invalid(srv, req, &errs);
		goto out;
	}
	if (rate_limited(srv, req, cfg, svc, key, 1, 429))
		goto out;
	b = batch_new(PROTO_CHANGE, 0);
	b->change.service = xstrdup(svc->id);
	b->change.at = at;
	b->change.summary = xstrdup(summary);
	b->change.source = str_of(payload, "source") ? xstrdup(str_of(payload, "source")) : NULL;
	json_object_del(doc, "routing_key");	/* a credential: never stored */
	b->change.payload = json_dumps(doc, JSON_COMPACT);
	submit(srv, req, cfg, b);
	b = NULL;
out:
	if (b)
		batch_free(b);
	strlist_release(&errs);
	json_decref(doc);
	config_unref(cfg);
}

static void parse_v1(const json_t *doc, struct event *ev, struct strlist *errs)
{
	const char *type = json_string_value(json_object_get(doc, "event_type"));
	const char *desc = str_of(doc, "description"), *key = str_of(doc, "incident_key");

	if (parse_action(type, &ev->action) < 0) {
		strlist_push(errs, "event_type is invalid (must be one of: trigger acknowledge "
				   "resolve)");
		type = NULL;
	}
	check_len(errs, "incident_key", key, DEDUP_KEY_MAX);
	if (!key && type && ev->action != EV_TRIGGER)
		strlist_push(errs, "incident_key is missing or blank (required to acknowledge "
				   "or resolve)");
	if (!desc && type && ev->action == EV_TRIGGER)
		strlist_push(errs, "description is missing or blank");
	check_len(errs, "description", desc, SUMMARY_MAX);
	ev->dedup_key = key ? xstrdup(key) : NULL;
	ev->summary = xstrdup(desc ? desc : "");
	ev->source = xstrdup(str_of(doc, "client") ? str_of(doc, "client") : "events_v1");
	ev->severity = xstrdup("error");
	ev->details = dump_or_null(json_object_get(doc, "details"));
}

/* --- one event per request: Events API v2 and v1 ------------------------------ */

struct single_proto {
	enum proto proto;
	const char *key_field;		/* where the routing key is */
	void (*parse)(const json_t *doc, struct event *ev, struct strlist *errs);
	int limited_status;		/* v1 says "too fast" with 403 */
};

static const struct single_proto events_v2 = { PROTO_V2, "routing_key", parse_v2, 429 };
static const struct single_proto events_v1 = { PROTO_V1, "service_key", parse_v1, 403 };

static const struct service *parse_single(const struct single_proto *p, const json_t *doc,
					  const struct config *cfg, struct event *ev,
					  struct strlist *errs)
{
	const struct service *svc = check_key(cfg, str_of(doc, p->key_field), p->key_field, errs);
	p->parse(doc, ev, errs);
	if (errs->n)
		return NULL;
	if (!ev->dedup_key)
		ev->dedup_key = new_dedup_key();
	ev->service = xstrdup(svc->id);
	ev->integration = xstrdup(proto_names[p->proto]);
	return svc;
}

static void ingest_single(const struct single_proto *p, struct server *srv,
			  struct http_request *req)
{
	struct config *cfg = server_config(srv);
	struct strlist errs = STRLIST_INIT;
	struct batch *b = NULL;
	json_t *doc = parse_body(srv, req);
	if (!doc)
		goto out;
	b = batch_new(p->proto, 1);
	const struct service *svc = parse_single(p, doc, cfg, &b->ev[0], &errs);
	if (!svc)
		reply_invalid(srv, req, &errs);
	else if (!rate_limited(srv, req, cfg, svc, str_of(doc, p->key_field), 1,
			       p->limited_status)) {
		submit(srv, req, cfg, b);
		b = NULL;
	}
out:
	if (b)
		batch_free(b);
	strlist_release(&errs);
	json_decref(doc);
	config_unref(cfg);
}

const struct service *ingest_parse_v2(const json_t *doc, const struct config *cfg,
				     struct event *ev, struct strlist *errs)
{
	return parse_single(&events_v2, doc, cfg, ev, errs);
}

const struct service *ingest_parse_v1(const json_t *doc, const struct config *cfg,
				     struct event *ev, struct strlist *errs)
{
	return parse_single(&events_v1, doc, cfg, ev, errs);
}

void ingest_v2(struct server *srv, struct http_request *req, const struct route_ctx *ctx)
{
	ingest_single(&events_v2, srv, req);
}

void ingest_v1(struct server *srv, struct http_request *req, const struct route_ctx *ctx)
{
	ingest_single(&events_v1, srv, req);
}

/* --- Alertmanager webhook ---------------------------------------------------- */

static const struct {
	const char *label;
	const char *severity;
} am_severities[] = {
	{ "critical", "critical" }, { "page", "critical" },  { "error", "error" },
	{ "high", "error" },	    { "warning", "warning" }, { "warn", "warning" },
	{ "info", "info" },	    { "informational", "info" }, { "none", "info" },
};

static const char *am_severity(const json_t *labels)
{
	const char *s = str_of(labels, "severity");
	for (size_t i = 0; s && i < ARRAY_SIZE(am_severities); i++)
		if (!strcasecmp(s, am_severities[i].label))
			return am_severities[i].severity;
	return "error";	/* what Alertmanager's own PagerDuty integration sends */
}

/* A label set's own fingerprint when the sender gave none: hash of sorted pairs. */
static char *am_fingerprint(const json_t *labels)
{
	char *text = json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS);
	unsigned char h[8];
	char hex[17];
	crypto_generichash(h, sizeof(h), (const unsigned char *)text, strlen(text), NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	free(text);
	return xstrdup(hex);
}

static char *am_summary(const json_t *labels, const json_t *ann)
{
	const char *s = str_of(ann, "summary") ? str_of(ann, "summary") : str_of(ann, "description");
	const char *name = str_of(labels, "alertname"), *inst = str_of(labels, "instance");
	char *out = s ? xstrdup(s)
		      : inst ? xasprintf("%s on %s", name ? name : "alert", inst)
			     : xstrdup(name ? name : "Alertmanager alert");
	/* cut at SUMMARY_MAX characters, as Alertmanager does for PagerDuty */
	size_t n = 0;
	for (char *p = out; *p; p++)
		if (((unsigned char)*p & 0xC0) != 0x80 && ++n > SUMMARY_MAX) {
			*p = '\0';
			break;
		}
	return out;
}

/* A firing alert carries endsAt 0001-01-01 (or a future time): not ended. */
static int am_ended(const json_t *alert, int64_t now)
{
	const char *status = str_of(alert, "status"), *ends = str_of(alert, "endsAt");
	int64_t end;
	if (status && !strcmp(status, "resolved"))
		return 1;
	return ends && iso_parse(ends, &end) == 0 && end > 0 && end <= now;
}

static void parse_am_alert(const json_t *a, size_t i, const char *group, struct event *ev,
			   struct strlist *errs, int64_t now)
{
	const json_t *labels = json_object_get(a, "labels"), *ann = json_object_get(a, "annotations");
	const char *fp = str_of(a, "fingerprint");
	if (!json_is_object(a) || !json_is_object(labels)) {
		strlist_pushf(errs, "'alerts[%zu].labels' is missing or not an object", i);
		return;
	}
	ev->action = am_ended(a, now) ? EV_RESOLVE : EV_TRIGGER;
	ev->dedup_key = fp ? xstrdup(fp) : am_fingerprint(labels);
	check_len(errs, "fingerprint", ev->dedup_key, DEDUP_KEY_MAX);
	ev->summary = am_summary(labels, ann);
	ev->severity = xstrdup(am_severity(labels));
	const char *src = str_of(labels, "instance") ? str_of(labels, "instance")
						      : str_of(labels, "job");
	ev->source = xstrdup(src ? src : "alertmanager");
	ev->details = json_dumps(a, JSON_COMPACT);
	ev->group_key = group ? xasprintf("alertmanager:%s", group) : NULL;
	ev->integration = xstrdup(proto_names[PROTO_ALERTMANAGER]);
}

size_t ingest_parse_alertmanager(const json_t *doc, const char *service, int64_t now,
				 struct event **out, struct strlist *errs)
{
	const json_t *alerts = json_object_get(doc, "alerts");
	const char *group = str_of(doc, "groupKey");
	size_t n = json_array_size(alerts);
	*out = NULL;
	if (!json_is_array(alerts)) {
		strlist_push(errs, "'alerts' is missing or not an array");
		return 0;
	}
	*out = n ? xcalloc(n, sizeof(**out)) : NULL;
	for (size_t i = 0; i < n; i++) {
		parse_am_alert(json_array_get(alerts, i), i, group, &(*out)[i], errs, now);
		(*out)[i].service = xstrdup(service);
	}
	return n;
}

void ingest_alertmanager(struct server *srv, struct http_request *req,
			 const struct route_ctx *ctx)
{
	struct config *cfg = server_config(srv);
	struct strlist errs = STRLIST_INIT;
	struct batch *b = NULL;
	const char *key = ctx->params[0];
	const struct service *svc = service_of(cfg, key);
	json_t *doc = NULL;
	if (!svc) {
		COUNT(srv, rejected);
		http_reply_error(req, 404, "unknown integration key",
				 "the URL's key is not the integration key of any service");
		goto out;
	}
	if (!(doc = parse_body(srv, req)))
		goto out;
	b = batch_new(PROTO_ALERTMANAGER, 0);
	b->n = ingest_parse_alertmanager(doc, svc->id, clock_now_ms(), &b->ev, &errs);
	if (errs.n) {
		reply_invalid(srv, req, &errs);
		goto out;
	}
	if (rate_limited(srv, req, cfg, svc, key, (int)b->n, 429))
		goto out;
	submit(srv, req, cfg, b);
	b = NULL;
out:
	if (b)
		batch_free(b);
	strlist_release(&errs);
	json_decref(doc);
	config_unref(cfg);
}
