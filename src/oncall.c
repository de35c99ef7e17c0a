/*
 * oncall.c - the on-call endpoints over schedule.c's computation.
 *
 * Schedules are config; overrides are store state.  Each read loads the overrides
 * that overlap the window it looks at, then asks schedule.c.  Overrides are
 * written through the store writer like every other change.
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ics.h"
#include "oncall.h"
#include "schedule.h"
#include "timeutil.h"
#include "banned.h"

#define SHIFT_HORIZON (366 * MS_PER_DAY)	/* how far a shift's bounds are looked for */
#define SHIFTS_MAX_WINDOW (366 * MS_PER_DAY)

static json_t *shift_json(const char *schedule, const struct shift *sh)
{
	return json_pack("{s:s, s:s?, s:o, s:o}", "schedule", schedule, "user", sh->user, "start",
			 json_time(sh->start), "end", json_time(sh->end));
}

/* A time query parameter: *ms = its value, or dflt when absent; 400 when bad. */
static int time_param(struct http_request *req, const char *name, int64_t dflt, int64_t *ms)
{
	const char *v = http_query(req, name);
	*ms = dflt;
	if (!v || iso_parse(v, ms) == 0)
		return 0;
	char *why = xasprintf("'%s' must be an ISO 8601 time with a zone, e.g. "
			      "2026-11-22T09:00:00Z", name);
	http_reply_error(req, 400, "bad request", why);
	free(why);
	return -1;
}

/* Loads the overrides of schedule overlapping [from, to); replies 503 on a fault. */
static int load_overrides(struct server *srv, struct http_request *req, const char *schedule,
			  int64_t from, int64_t to, struct override_list *out)
{
	struct store_conn *c = store_read_begin(srv->store);
	int rc = c ? store_ops(srv->store)->override_list(c, schedule, from, to, out)
		   : STORE_FAULT;
	store_read_end(srv->store, c);
	if (rc == STORE_FAULT)
		server_reply_fault(srv, req);
	return rc == STORE_FAULT ? -1 : 0;
}

static const struct schedule *schedule_or_404(struct http_request *req,
					      const struct config *cfg, const char *id)
{
	const struct schedule *s = config_schedule(cfg, id);
	if (!s) {
		char *why = xasprintf("no schedule '%s'", id);
		http_reply_error(req, 404, "not found", why);
		free(why);
	}
	return s;
}

/* Appends the shift holding t of schedule s to arr; -1 after replying 503. */
static int add_oncall(struct server *srv, struct http_request *req, const struct schedule *s,
		      int64_t t, json_t *arr, int level)
{
	struct override_list ov = { 0 };
	if (load_overrides(srv, req, s->id, t - SHIFT_HORIZON, t + SHIFT_HORIZON, &ov) < 0)
		return -1;
	struct shift sh = schedule_shift_at(s, ov.v, ov.n, t, SHIFT_HORIZON);
	json_t *o = shift_json(s->id, &sh);
	if (level)
		json_object_set_new(o, "level", json_integer(level));
	json_array_append_new(arr, o);
	override_list_release(&ov);
	return 0;
}

/* --policy: every level's targets; a user target is on call all the time. */
static int add_policy(struct server *srv, struct http_request *req, const struct config *cfg,
		      const struct escalation_policy *p, int64_t t, json_t *arr)
{
	for (size_t l = 0; l < p->nlevels; l++)
		for (size_t i = 0; i < p->levels[l].ntargets; i++) {
			const struct target *tg = &p->levels[l].targets[i];
			if (tg->kind == TARGET_USER) {
				json_array_append_new(arr, json_pack("{s:n, s:s, s:n, s:n, s:i}",
								     "schedule", "user", tg->id,
								     "start", "end", "level",
								     (int)l + 1));
			} else if (add_oncall(srv, req, config_schedule(cfg, tg->id), t, arr,
					      (int)l + 1) < 0) {
				return -1;
			}
		}
	return 0;
}

static int fill_oncall(struct server *srv, struct http_request *req, const struct config *cfg,
		       int64_t t, json_t *arr)
{
	const char *sid = http_query(req, "schedule"), *pid = http_query(req, "policy");
	if (pid) {
		const struct escalation_policy *p = config_policy(cfg, pid);
		if (!p) {
			char *why = xasprintf("no escalation policy '%s'", pid);
			http_reply_error(req, 404, "not found", why);
			free(why);
			return -1;
		}
		return add_policy(srv, req, cfg, p, t, arr);
	}
	if (sid) {
		const struct schedule *s = schedule_or_404(req, cfg, sid);
		return s ? add_oncall(srv, req, s, t, arr, 0) : -1;
	}
	for (size_t i = 0; i < cfg->nschedules; i++)
		if (add_oncall(srv, req, &cfg->schedules[i], t, arr, 0) < 0)
			return -1;
	return 0;
}

void oncall_get(struct server *srv, struct http_request *req, const struct route_ctx *ctx)
{
	struct config *cfg = server_config(srv);
	json_t *arr = json_array();
	int64_t t;
	if (time_param(req, "at", clock_now_ms(), &t) == 0 && fill_oncall(srv, req, cfg, t, arr) == 0)
		reply_json(req, 200, json_pack("{s:O}", "oncall", arr));
	json_decref(arr);
	config_unref(cfg);
}

void oncall_shifts(struct server *srv, struct http_request *req, const struct route_ctx *ctx)
{
	struct config *cfg = server_config(srv);
	struct override_list ov = { 0 };
	struct shift *sh = NULL;
	const struct schedule *s = schedule_or_404(req, cfg, ctx->params[0]);
	int64_t now = clock_now_ms(), from, to;
	if (!s || time_param(req, "from", now, &from) < 0 ||
	    time_param(req, "to", from + MS_PER_WEEK, &to) < 0)
		goto out;
	if (to <= from || to - from > SHIFTS_MAX_WINDOW) {
		http_reply_error(req, 400, "bad request",
				 "'to' must be after 'from', at most 366 days later");
		goto out;
	}
	if (load_overrides(srv, req, s->id, from, to, &ov) < 0)
		goto out;
	size_t n = schedule_shifts(s, ov.v, ov.n, from, to, &sh);
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, shift_json(s->id, &sh[i]));
	reply_json(req, 200, json_pack("{s:o}", "shifts", arr));
out:
	free(sh);
	override_list_release(&ov);
	config_unref(cfg);
}

static json_t *override_json(const struct override *o)
{
	return json_pack("{s:I, s:s, s:s, s:o, s:o, s:s}", "id", (json_int_t)o->id, "schedule",
			 o->schedule, "user", o->user, "start", json_time(o->start), "end",
			 json_time(o->end), "created_by", o->created_by);
}

void oncall_overrides(struct server *srv, struct http_request *req, const struct route_ctx *ctx)
{
	struct config *cfg = server_config(srv);
	struct override_list ov = { 0 };
	const struct schedule *s = schedule_or_404(req, cfg, ctx->params[0]);
	if (s && load_overrides(srv, req, s->id, clock_now_ms(), INT64_MAX, &ov) == 0) {
		json_t *arr = json_array();
		for (size_t i = 0; i < ov.n; i++)
			json_array_append_new(arr, override_json(&ov.v[i]));
		reply_json(req, 200, json_pack("{s:o}", "overrides", arr));
	}
	override_list_release(&ov);
	config_unref(cfg);
}

static void override_free(void *p)
{
	override_release(p);
	free(p);
}

static int override_apply(struct tx_call *c, struct store_tx *tx)
{
	return tx->ops->override_insert(tx->conn, c->data);
}

static void override_answer(struct tx_call *c, struct http_request *req)
{
	if (c->rc < 0)
		server_reply_fault(c->srv, req);
	else
		reply_json(req, 201, json_pack("{s:o}", "override", override_json(c->data)));
}

/* Reads {"user","start","end"} into o; replies 400 and returns -1 when bad. */
static int read_override(struct http_request *req, const struct config *cfg, struct override *o)
{
	size_t len;
	const char *body = http_body(req, &len);
	json_t *doc = json_loadb(body, len, 0, NULL);
	const char *user = json_string_value(json_object_get(doc, "user"));
	const char *start = json_string_value(json_object_get(doc, "start"));
	const char *end = json_string_value(json_object_get(doc, "end"));
	const char *why = NULL;
	if (!user || !config_user(cfg, user))
		why = "'user' must name a user of the configuration";
	else if (!start || !end || iso_parse(start, &o->start) < 0 || iso_parse(end, &o->end) < 0)
		why = "'start' and 'end' must be ISO 8601 times with a zone";
	else if (o->end <= o->start)
		why = "'end' must be after 'start'";
	if (!why)
		o->user = xstrdup(user);
	else
		http_reply_error(req, 400, "bad request", why);
	json_decref(doc);
	return why ? -1 : 0;
}

void oncall_override_add(struct server *srv, struct http_request *req,
			 const struct route_ctx *ctx)
{
	struct config *cfg = server_config(srv);
	struct override *o = xcalloc(1, sizeof(*o));
	const struct schedule *s = schedule_or_404(req, cfg, ctx->params[0]);
	if (s && read_override(req, cfg, o) == 0) {
		o->schedule = xstrdup(s->id);
		o->created_by = xstrdup(ctx->user);
		o->created_at = clock_now_ms();
		struct tx_call *c = tx_call_new(config_ref(cfg), override_apply, override_answer, o,
						     override_free);
		server_run_tx(srv, req, c);
		o = NULL;
	}
	if (o)
		override_free(o);
	config_unref(cfg);
}

struct override_del {
	char *schedule;
	int64_t id;
};

static void del_free(void *p)
{
	struct override_del *d = p;
	free(d->schedule);
	free(d);
}

static int del_apply(struct tx_call *c, struct store_tx *tx)
{
	struct override_del *d = c->data;
	return tx->ops->override_delete(tx->conn, d->schedule, d->id);
}

static void del_answer(struct tx_call *c, struct http_request *req)
{
	struct override_del *d = c->data;
	if (c->rc == STORE_FAULT)
		server_reply_fault(c->srv, req);
	else if (c->rc == STORE_NOTFOUND)
		http_reply_error(req, 404, "not found", "no such override on this schedule");
	else
		reply_json(req, 200, json_pack("{s:I}", "deleted", (json_int_t)d->id));
}

void oncall_override_delete(struct server *srv, struct http_request *req,
			    const struct route_ctx *ctx)
{
	struct override_del *d = xcalloc(1, sizeof(*d));
	d->schedule = xstrdup(ctx->params[0]);
	d->id = strtoll(ctx->params[1], NULL, 10);
	struct tx_call *c = tx_call_new(server_config(srv), del_apply, del_answer, d,
					     del_free);
	server_run_tx(srv, req, c);
}

/* --- calendar feeds ------------------------------------------------------------ */

#define FEED_PAST (7 * MS_PER_DAY)		/* a feed shows the last week ... */
#define FEED_FUTURE (358 * MS_PER_DAY)	/* ... and the next year, within 366 days */

/* "name.ics" -> "name" (caller frees); NULL after replying 404. */
static char *feed_name(struct http_request *req, const char *file)
{
	size_t n = strlen(file);
	if (n > 4 && !strcmp(file + n - 4, ".ics"))
		return xstrndup(file, n - 4);
	http_reply_error(req, 404, "not found", "calendar feeds end in .ics");
	return NULL;
}

/* Appends the shifts of s in [from, to) held by user (NULL: anyone) to *ev. */
static int feed_events(struct server *srv, struct http_request *req, const struct schedule *s,
		       const char *user, int64_t from, int64_t to, struct ics_event **ev,
		       size_t *n, struct override_list *keep)
{
	struct shift *sh = NULL;
	if (load_overrides(srv, req, s->id, from, to, keep) < 0)
		return -1;
	size_t count = schedule_shifts(s, keep->v, keep->n, from, to, &sh);
	for (size_t i = 0; i < count; i++) {
		if (!sh[i].user || (user && strcmp(user, sh[i].user)))
			continue;
		*ev = xrealloc(*ev, (*n + 1) * sizeof(**ev));
		(*ev)[(*n)++] = (struct ics_event){ .schedule = s->id, .user = sh[i].user,
						    .start = sh[i].start, .end = sh[i].end,
						    .truncated = sh[i].start == from };
	}
	free(sh);
	return 0;
}

/* Replies the feed of the schedules (all when only is NULL) for user (NULL: all). */
static void reply_feed(struct server *srv, struct http_request *req, const struct config *cfg,
		       const struct schedule *only, const char *user, const char *title)
{
	int64_t now = clock_now_ms(), from = now - FEED_PAST, to = now + FEED_FUTURE;
	struct override_list *ovs = xcalloc(cfg->nschedules + 1, sizeof(*ovs));
	struct ics_event *ev = NULL;
	size_t n = 0, used = 0, len;
	int rc = 0;
	for (size_t i = 0; i < cfg->nschedules && rc == 0; i++) {
		const struct schedule *s = &cfg->schedules[i];
		if (!only || s == only)
			rc = feed_events(srv, req, s, user, from, to, &ev, &n, &ovs[used++]);
	}
	if (rc == 0) {
		char *body = ics_calendar(title, ev, n, now, &len);
		http_reply_take(req, 200, "text/calendar; charset=utf-8", body, len);
	}
	for (size_t i = 0; i < used; i++)
		override_list_release(&ovs[i]);
	free(ovs);
	free(ev);
}

void oncall_calendar(struct server *srv, struct http_request *req, const struct route_ctx *ctx)
{
	struct config *cfg = server_config(srv);
	char *id = feed_name(req, ctx->params[0]);
	const struct schedule *s = id ? schedule_or_404(req, cfg, id) : NULL;
	if (s) {
		char *title = xasprintf("On call: %s", s->name ? s->name : s->id);
		reply_feed(srv, req, cfg, s, NULL, title);
		free(title);
	}
	free(id);
	config_unref(cfg);
}

void oncall_calendar_user(struct server *srv, struct http_request *req,
			  const struct route_ctx *ctx)
{
	struct config *cfg = server_config(srv);
	char *id = feed_name(req, ctx->params[0]);
	const struct user *u = id ? config_user(cfg, id) : NULL;
	if (id && !u) {
		char *why = xasprintf("no user '%s'", id);
		http_reply_error(req, 404, "not found", why);
		free(why);
	} else if (u) {
		char *title = xasprintf("On call: %s", u->name ? u->name : u->id);
		reply_feed(srv, req, cfg, NULL, u->id, title);
		free(title);
	}
	free(id);
	config_unref(cfg);
}
