/*
 * escalate.c - the escalation engine: who is paged for an incident, and when the
 * next level takes over.  Entry points are in escalate.h; incident.c calls them
 * from its transitions (open, ack, ack timeout, timers) and from people's actions.
 *
 * Design.  An escalation policy is read as a sequence of steps: its levels in
 * order, and then the whole list again `repeat` more times,
 *
 *     step k  =  level (k mod nlevels) + 1  of pass (k div nlevels) + 1,
 *     for k < (repeat + 1) * nlevels,
 *
 * and an incident remembers the step it is at (escalation_level, escalation_loop)
 * with the policy id it was opened with, so a reload that moves a service to
 * another policy leaves open incidents where they were (one that deletes the policy
 * stops their escalation, logged).  An incident without one (opened before its
 * service had a policy, or by a tocsin older than escalation) follows the service's
 * policy of the moment when it is escalated or triggered again.  Taking step k means, at one instant:
 *
 *   1. resolving the level's targets: user:ID is that user, schedule:ID whoever
 *      schedule.c says is on call then, overrides from the store included;
 *   2. writing the assignment on the incident (assigned_to, level, pass);
 *   3. one "escalate" entry on the timeline saying why and who;
 *   4. one page request per assigned user in the outbox (table pages), which the
 *      notification worker turns into e-mails, webhooks and texts;
 *   5. unless k is the last step, an "escalate" timer at base + the level's
 *      escalate_after.  After the last step the incident stays at the last level.
 *
 * A level where nobody at all is on call is logged ("moving on") and the next one
 * is taken at the same instant.  When that walk finds nobody (a whole pass, or the
 * rest of the policy), the incident stays with whoever held it (unassigned if
 * nobody ever did), logged, and the timer still runs where steps remain, so that a
 * later step may find someone.
 *
 * Crash safety comes from the store: all five writes happen in the writer
 * transaction of whatever caused the step (the trigger event, the fired timer, the
 * person's request), with the fired timer's own row deleted in it too.  A kill -9
 * before the commit leaves the old timer row, which fires after restart; after the
 * commit the next timer row exists.  So no step is skipped and none is doubled.
 *
 * Catch-up: the next deadline counts from the deadline that fired (base), not from
 * the moment it was handled.  After downtime every overdue step fires once, in
 * order, as soon as the engine loads the timers; steps not yet due keep their time.
 */
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "escalate.h"
#include "fault.h"
#include "incident.h"
#include "notify.h"
#include "schedule.h"
#include "timeutil.h"
#include "banned.h"

/* Who one level (or a reassign target) resolves to at one instant. */
struct assignment {
	struct strlist users;	/* distinct user ids, in target order */
	struct buf who;		/* "alice (on call for web-primary), carol" */
	struct strlist empty;	/* schedules with nobody on call */
};

static void assignment_release(struct assignment *a)
{
	strlist_release(&a->users);
	buf_release(&a->who);
	strlist_release(&a->empty);
}

static void add_user(struct assignment *a, const char *user, const char *schedule)
{
	if (strlist_has(&a->users, user))
		return;
	strlist_push(&a->users, user);
	buf_addf(&a->who, "%s%s", a->who.len ? ", " : "", user);
	if (schedule)
		buf_addf(&a->who, " (on call for %s)", schedule);
}

/* Adds whoever is on call for schedule id at now (or notes it empty). */
static int add_oncall(struct store_tx *tx, const struct config *cfg, const char *id, int64_t now,
		      struct assignment *a)
{
	const struct schedule *s = config_schedule(cfg, id);
	struct override_list ov = { 0 };
	int rc = s ? tx->ops->override_list(tx->conn, id, now, now + 1, &ov) : STORE_OK;
	const char *user = s && rc == STORE_OK ? schedule_user_at(s, ov.v, ov.n, now) : NULL;
	if (user)
		add_user(a, user, id);
	else if (rc == STORE_OK)
		strlist_push(&a->empty, id);
	override_list_release(&ov);
	return rc;
}

static int add_target(struct store_tx *tx, const struct config *cfg, const struct target *t,
		      int64_t now, struct assignment *a)
{
	if (t->kind == TARGET_SCHEDULE)
		return add_oncall(tx, cfg, t->id, now, a);
	add_user(a, t->id, NULL);
	return STORE_OK;
}

static int resolve_level(struct store_tx *tx, const struct config *cfg,
			 const struct esc_level *lv, int64_t now, struct assignment *a)
{
	int rc = STORE_OK;
	for (size_t i = 0; i < lv->ntargets && rc == STORE_OK; i++)
		rc = add_target(tx, cfg, &lv->targets[i], now, a);
	return rc;
}

/* ", " joined list of the empty schedules, for messages. */
static char *empty_text(const struct assignment *a)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < a->empty.n; i++)
		buf_addf(&b, "%s%s", i ? ", " : "", a->empty.v[i]);
	return buf_detach(&b, NULL);
}

static void set_assigned(struct incident *inc, const struct strlist *users)
{
	struct buf b = BUF_INIT;
	buf_addc(&b, '[');
	for (size_t i = 0; i < users->n; i++) {
		if (i)
			buf_addc(&b, ',');
		buf_add_json_string(&b, users->v[i]);
	}
	buf_addc(&b, ']');
	free(inc->assigned_to);
	inc->assigned_to = buf_detach(&b, NULL);
}

/* One page request per user, each with its deliveries planned (notify.c). */
static int add_pages(struct store_tx *tx, const struct config *cfg, const struct incident *inc,
		     const struct strlist *users, const char *reason, int64_t now)
{
	int rc = STORE_OK;
	for (size_t i = 0; i < users->n && rc == STORE_OK; i++) {
		struct page p = { .incident = inc->number, .user = users->v[i],
				  .level = inc->escalation_level, .loop = inc->escalation_loop,
				  .reason = (char *)reason, .created_at = now };
		rc = tx->ops->page_insert(tx->conn, &p);
		if (rc == STORE_OK)
			rc = notify_plan_page(tx, cfg, inc, &p);
	}
	return rc;
}

static int64_t steps_of(const struct escalation_policy *p)
{
	return ((int64_t)p->repeat + 1) * (int64_t)p->nlevels;
}

/* The step the incident is at, within p (levels removed by a reload clamp it). */
static int64_t step_of(const struct escalation_policy *p, const struct incident *inc)
{
	int64_t level = inc->escalation_level < 1 ? 1 : inc->escalation_level;
	if (level > (int64_t)p->nlevels)
		level = (int64_t)p->nlevels;
	int64_t k = (int64_t)inc->escalation_loop * (int64_t)p->nlevels + level - 1;
	return k < steps_of(p) ? k : steps_of(p) - 1;
}

static void set_step(struct incident *inc, const struct escalation_policy *p, int64_t k)
{
	inc->escalation_level = (int)(k % (int64_t)p->nlevels) + 1;
	inc->escalation_loop = (int)(k / (int64_t)p->nlevels);
}

/* The policy inc follows from now on is recorded on it. */
static void adopt(struct incident *inc, const struct escalation_policy *p)
{
	if (inc->policy && !strcmp(inc->policy, p->id))
		return;
	free(inc->policy);
	inc->policy = xstrdup(p->id);
}

/* "level 2" or "level 1, pass 2 of 3" */
static void step_name(struct buf *b, const struct escalation_policy *p, int64_t k)
{
	buf_addf(b, "level %lld", (long long)(k % (int64_t)p->nlevels) + 1);
	if (p->repeat > 0)
		buf_addf(b, ", pass %lld of %d", (long long)(k / (int64_t)p->nlevels) + 1,
			 p->repeat + 1);
}

/* Arms the timer of step k when a later step exists. */
static int arm(struct store_tx *tx, const struct escalation_policy *p, const struct incident *inc,
	       int64_t k, int64_t base)
{
	if (k + 1 >= steps_of(p))
		return STORE_OK;
	int64_t after = p->levels[k % (int64_t)p->nlevels].escalate_after;
	return store_tx_timer_add(tx, inc->number, TIMER_ESCALATE, base + after);
}

/* What caused a step, for its log entry. */
struct cause {
	const char *actor;	/* system, or the person */
	const char *why;	/* "not acknowledged within 15m", or NULL */
};

static int log_step(struct store_tx *tx, const struct escalation_policy *p,
		    const struct incident *inc, int64_t k, const struct cause *c,
		    const struct assignment *a, int64_t now)
{
	struct buf m = BUF_INIT;
	if (c->why)
		buf_addf(&m, "%s: ", c->why);
	step_name(&m, p, k);
	if (a->users.n) {
		buf_addf(&m, ": assigned to %s", a->who.s);
	} else {
		char *empty = empty_text(a);
		buf_addf(&m, ": nobody is on call for %s: moving on", empty);
		free(empty);
	}
	if (a->users.n && a->empty.n) {
		char *empty = empty_text(a);
		buf_addf(&m, " (nobody on call for %s)", empty);
		free(empty);
	}
	int rc = incident_log(tx, inc->number, now, "escalate", c->actor, m.s);
	buf_release(&m);
	return rc;
}

/* Step k found people: the assignment, its pages and the next deadline. */
static int assign_step(struct store_tx *tx, const struct config *cfg,
		       const struct escalation_policy *p, struct incident *inc, int64_t k,
		       int64_t base, int64_t now, const struct assignment *a)
{
	adopt(inc, p);
	set_step(inc, p, k);
	set_assigned(inc, &a->users);
	inc->updated_at = now;
	int rc = tx->ops->incident_update(tx->conn, inc);
	if (rc == STORE_OK)
		rc = add_pages(tx, cfg, inc, &a->users, "escalate", now);
	if (rc == STORE_OK)
		rc = arm(tx, p, inc, k, base);
	return rc;
}

/* "alice, bob" from the incident's assigned_to; "" when nobody holds it. */
static void held_by(const struct incident *inc, struct buf *who)
{
	json_t *arr = json_loads(inc->assigned_to ? inc->assigned_to : "[]", 0, NULL), *v;
	size_t i;
	json_array_foreach(arr, i, v) {
		const char *id = json_string_value(v);
		buf_addf(who, "%s%s", who->len ? ", " : "", id ? id : "?");
	}
	json_decref(arr);
}

/* The walk found nobody (a whole pass, or the rest of the policy): the incident is
 * at step k, and stays with whoever held it, or is unassigned when nobody did. */
static int assign_nobody(struct store_tx *tx, const struct escalation_policy *p,
			 struct incident *inc, int64_t k, int64_t base, int64_t now,
			 const struct cause *c)
{
	struct buf who = BUF_INIT;
	held_by(inc, &who);
	adopt(inc, p);
	set_step(inc, p, k);
	inc->updated_at = now;
	int rc = tx->ops->incident_update(tx->conn, inc);
	if (rc == STORE_OK && who.len)
		rc = incident_logf(tx, inc->number, now, "escalate", c->actor,
				   "nobody is on call at the next levels of %s: the incident stays "
				   "with %s", p->id, who.s);
	else if (rc == STORE_OK)
		rc = incident_logf(tx, inc->number, now, "escalate", c->actor,
				   "nobody is on call at any level of %s: the incident is "
				   "unassigned", p->id);
	if (rc == STORE_OK)
		rc = arm(tx, p, inc, k, base);
	buf_release(&who);
	return rc;
}

/* Takes step k at now, moving past levels where nobody is on call. */
static int take_step(struct store_tx *tx, const struct config *cfg,
		     const struct escalation_policy *p, struct incident *inc, int64_t k,
		     int64_t base, int64_t now, const struct cause *c)
{
	int64_t total = steps_of(p);
	struct cause then = *c;	/* the cause is said once, on the first entry */
	for (size_t tries = 0; tries < p->nlevels && k < total; tries++, k++) {
		struct assignment a = { STRLIST_INIT, BUF_INIT, STRLIST_INIT };
		int rc = resolve_level(tx, cfg, &p->levels[k % (int64_t)p->nlevels], now, &a);
		if (rc == STORE_OK)
			rc = log_step(tx, p, inc, k, &then, &a, now);
		then.why = NULL;
		if (rc == STORE_OK && a.users.n)
			rc = assign_step(tx, cfg, p, inc, k, base, now, &a);
		int found = a.users.n > 0;
		assignment_release(&a);
		if (rc != STORE_OK || found)
			return rc;
	}
	return assign_nobody(tx, p, inc, k - 1, base, now, c);
}

/* The id of the policy inc follows: its own, else its service's now (NULL: none). */
static const char *policy_id(const struct config *cfg, const struct incident *inc)
{
	const struct service *svc = inc->policy ? NULL : config_service(cfg, inc->service);
	return inc->policy ? inc->policy : svc ? svc->escalation_policy : NULL;
}

/* The policy inc follows; NULL (logged once per call) when the config lost it. */
static const struct escalation_policy *policy_of(struct store_tx *tx, const struct config *cfg,
						 const struct incident *inc, int64_t now, int *rc)
{
	const char *id = policy_id(cfg, inc);
	*rc = STORE_OK;
	if (!id)
		return NULL;
	const struct escalation_policy *p = config_policy(cfg, id);
	if (!p)
		*rc = incident_logf(tx, inc->number, now, "escalate", "system",
				    "escalation policy '%s' is no longer in the configuration: "
				    "escalation stops", id);
	return p;
}

int escalate_open(struct store_tx *tx, const struct config *cfg, int64_t number, int64_t now)
{
	struct incident inc = { 0 };
	int rc = tx->ops->incident_get(tx->conn, number, &inc);
	if (rc != STORE_FOUND)
		goto out;
	const struct escalation_policy *p = inc.paged ? policy_of(tx, cfg, &inc, now, &rc) : NULL;
	struct cause c = { "system", NULL };
	if (p)
		rc = take_step(tx, cfg, p, &inc, 0, now, now, &c);
out:
	incident_release(&inc);
	return rc;
}

int escalate_fire(struct store_tx *tx, const struct config *cfg, struct incident *inc,
		  int64_t due, int64_t now)
{
	int rc = STORE_OK;
	if (inc->status != INC_TRIGGERED || !inc->paged)
		return STORE_OK;	/* acknowledged or resolved meanwhile */
	const struct escalation_policy *p = policy_of(tx, cfg, inc, now, &rc);
	if (!p)
		return rc;
	fault_point("escalate.before");
	int64_t k = step_of(p, inc);
	if (k + 1 >= steps_of(p))
		return STORE_OK;
	char after[32];
	duration_format(p->levels[k % (int64_t)p->nlevels].escalate_after, after, sizeof(after));
	char *why = xasprintf("not acknowledged within %s", after);
	struct cause c = { "system", why };
	rc = take_step(tx, cfg, p, inc, k + 1, due, now, &c);
	free(why);
	fault_point("escalate.written");
	return rc;
}

int escalate_restart(struct store_tx *tx, const struct config *cfg, struct incident *inc,
		     int64_t now)
{
	int rc = STORE_OK;
	const struct escalation_policy *p = inc->paged ? policy_of(tx, cfg, inc, now, &rc) : NULL;
	if (!p)
		return rc;
	rc = tx->ops->timer_cancel(tx->conn, inc->number, TIMER_ESCALATE);
	struct cause c = { "system", "triggered again" };
	if (rc == STORE_OK)
		rc = take_step(tx, cfg, p, inc, 0, now, now, &c);
	return rc;
}

int escalate_stop(struct store_tx *tx, const struct incident *inc)
{
	return tx->ops->timer_cancel(tx->conn, inc->number, TIMER_ESCALATE);
}

/* An acknowledged incident handed on by hand is the new holder's to acknowledge. */
static int retrigger(struct store_tx *tx, struct incident *inc)
{
	if (inc->status != INC_ACKNOWLEDGED)
		return STORE_OK;
	inc->status = INC_TRIGGERED;
	return tx->ops->timer_cancel(tx->conn, inc->number, TIMER_ACK_TIMEOUT);
}

static int conflict(char **err, const char *msg)
{
	*err = xstrdup(msg);
	return INCIDENT_ECONFLICT;
}

int escalate_manual(struct store_tx *tx, const struct config *cfg, struct incident *inc,
		    const char *actor, int64_t now, char **err)
{
	if (inc->status == INC_RESOLVED)
		return conflict(err, "the incident is resolved");
	const char *id = policy_id(cfg, inc);
	const struct escalation_policy *p = id ? config_policy(cfg, id) : NULL;
	if (!p) {
		*err = id ? xasprintf("escalation policy '%s' is no longer in the configuration",
				      id)
			  : xasprintf("service '%s' has no escalation policy", inc->service);
		return INCIDENT_ECONFLICT;
	}
	int64_t k = inc->paged ? step_of(p, inc) + 1 : 0;
	if (k >= steps_of(p)) {
		struct buf b = BUF_INIT;
		buf_addf(&b, "the incident is at the last step of '%s' already (", p->id);
		step_name(&b, p, k - 1);
		buf_adds(&b, ")");
		*err = buf_detach(&b, NULL);
		return INCIDENT_ECONFLICT;
	}
	inc->paged = 1;
	char *why = xasprintf("escalated by %s", actor);
	struct cause c = { actor, why };
	int rc = retrigger(tx, inc);
	if (rc == STORE_OK)
		rc = tx->ops->timer_cancel(tx->conn, inc->number, TIMER_ESCALATE);
	if (rc == STORE_OK)
		rc = take_step(tx, cfg, p, inc, k, now, now, &c);
	free(why);
	return rc;
}

/* Resolves "user:ID" or "schedule:ID" at now; INCIDENT_E* with *err when it cannot. */
static int resolve_to(struct store_tx *tx, const struct config *cfg, const char *to, int64_t now,
		      struct assignment *a, char **err)
{
	struct target t;
	if (target_parse(to, &t) < 0) {
		*err = xasprintf("bad target '%s' (use user:ID or schedule:ID)", to);
		return INCIDENT_EINVAL;
	}
	int user = t.kind == TARGET_USER;
	if (user ? !config_user(cfg, t.id) : !config_schedule(cfg, t.id)) {
		*err = xasprintf("no %s '%s' in the configuration", user ? "user" : "schedule", t.id);
		return INCIDENT_EINVAL;
	}
	int rc = add_target(tx, cfg, &t, now, a);
	if (rc == STORE_OK && !a->users.n) {
		*err = xasprintf("nobody is on call for schedule '%s' now", t.id);
		return INCIDENT_ECONFLICT;
	}
	return rc;
}

/* After a reassign: the current level's delay again, when a later step exists. */
static int rearm(struct store_tx *tx, const struct config *cfg, const struct incident *inc,
		 int64_t now)
{
	const char *id = policy_id(cfg, inc);
	const struct escalation_policy *p = id ? config_policy(cfg, id) : NULL;
	int rc = tx->ops->timer_cancel(tx->conn, inc->number, TIMER_ESCALATE);
	if (rc == STORE_OK && p)
		rc = arm(tx, p, inc, step_of(p, inc), now);
	return rc;
}

int escalate_reassign(struct store_tx *tx, const struct config *cfg, struct incident *inc,
		      const char *to, const char *actor, int64_t now, char **err)
{
	struct assignment a = { STRLIST_INIT, BUF_INIT, STRLIST_INIT };
	int was_acked = inc->status == INC_ACKNOWLEDGED;
	int rc = inc->status == INC_RESOLVED ? conflict(err, "the incident is resolved")
					     : resolve_to(tx, cfg, to, now, &a, err);
	if (rc != STORE_OK)
		goto out;
	rc = retrigger(tx, inc);
	inc->paged = 1;
	set_assigned(inc, &a.users);
	inc->updated_at = now;
	if (rc == STORE_OK)
		rc = tx->ops->incident_update(tx->conn, inc);
	if (rc == STORE_OK)
		rc = incident_logf(tx, inc->number, now, "reassign", actor, "reassigned by %s to %s%s",
				   actor, a.who.s,
				   was_acked ? ": triggered again until acknowledged" : "");
	if (rc == STORE_OK)
		rc = add_pages(tx, cfg, inc, &a.users, "reassign", now);
	if (rc == STORE_OK)
		rc = rearm(tx, cfg, inc, now);
out:
	assignment_release(&a);
	return rc;
}
