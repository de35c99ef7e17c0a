/*
 * incident.c - the incident state machine.  See incident.h for the rules.
 *
 * Shape: one small function per transition (open, join, fold, ack, resolve, ...),
 * each writing the incident row, the alert rows and one log entry.  Timers are
 * rows too (store_tx_timer_add), so a deadline survives a crash together with the
 * state it belongs to; the engine only fires them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escalate.h"
#include "incident.h"
#include "notify.h"
#include "review.h"
#include "timeutil.h"
#include "banned.h"

void event_release(struct event *ev)
{
	free(ev->service);
	free(ev->dedup_key);
	free(ev->summary);
	free(ev->source);
	free(ev->severity);
	free(ev->details);
	free(ev->group_key);
	free(ev->integration);
	memset(ev, 0, sizeof(*ev));
}

static const char *const event_severities[] = { "critical", "error", "warning", "info" };

int severity_from_event(const char *s)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(event_severities); i++)
		if (!strcmp(s, event_severities[i]))
			return (int)i + 2;
	return 0;
}

int severity_parse(const char *s)
{
	if (s && !strncmp(s, "SEV-", 4) && s[4] >= '1' && s[4] <= '5' && !s[5])
		return s[4] - '0';
	return 0;
}

int urgency_high_for(const struct service *svc, const char *event_severity)
{
	if (svc && svc->urgency != URGENCY_ANY)
		return svc->urgency == URGENCY_HIGH;
	int sev = severity_from_event(event_severity);
	return sev == 0 || sev <= 3;
}

int incident_log(struct store_tx *tx, int64_t incident, int64_t at, const char *type,
		 const char *actor, const char *message)
{
	struct log_entry e = {
		.incident = incident,
		.at = at,
		.type = (char *)type,
		.actor = (char *)actor,
		.message = (char *)message,
	};
	return tx->ops->log_append(tx->conn, &e);
}

int incident_logf(struct store_tx *tx, int64_t incident, int64_t at, const char *type,
		  const char *actor, const char *fmt, ...)
{
	char small[512], *msg = small;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(small)) {	/* long summaries: format again on the heap */
		va_start(ap, fmt);
		msg = xvasprintf(fmt, ap);
		va_end(ap);
	}
	int rc = incident_log(tx, incident, at, type, actor, msg);
	if (msg != small)
		free(msg);
	return rc;
}

static int add_alert(struct store_tx *tx, const struct event *ev, int64_t incident, int64_t now)
{
	struct alert a = {
		.incident = incident,
		.service = ev->service,
		.dedup_key = ev->dedup_key,
		.summary = ev->summary,
		.source = ev->source,
		.severity = ev->severity,
		.details = ev->details,
		.integration = ev->integration,
		.created_at = now,
	};
	return tx->ops->alert_insert(tx->conn, &a);
}

static int in_maintenance(struct store_tx *tx, const char *service, int64_t now,
			  int64_t *until)
{
	if (tx->maint_horizon < 0 &&
	    tx->ops->maintenance_horizon(tx->conn, &tx->maint_horizon) != STORE_OK) {
		tx->maint_horizon = -1;
		return STORE_FAULT;
	}
	if (tx->maint_horizon <= now)
		return STORE_NOTFOUND;	/* no window is open anywhere */
	return tx->ops->maintenance_active(tx->conn, service, now, until);
}

/* A new alert opens a new incident. */
static int open_incident(struct store_tx *tx, const struct config *cfg,
			 const struct service *svc, const struct event *ev, int64_t now,
			 struct event_result *res)
{
	int64_t until = 0;
	int maint = in_maintenance(tx, ev->service, now, &until);
	if (maint == STORE_FAULT)
		return STORE_FAULT;
	struct incident inc = {
		.service = ev->service,
		.title = ev->summary,
		.status = INC_TRIGGERED,
		.severity = severity_from_event(ev->severity),
		.urgency_high = urgency_high_for(svc, ev->severity),
		.created_at = now,
		.updated_at = now,
		.assigned_to = "[]",
		.escalation_level = 1,
		.alert_count = 1,
		.open_alerts = 1,
		.group_key = ev->group_key,
		.paged = maint != STORE_FOUND,
		.policy = svc ? svc->escalation_policy : NULL,
	};
	int rc = tx->ops->incident_insert(tx->conn, &inc);
	if (rc == STORE_OK)
		rc = add_alert(tx, ev, inc.number, now);
	if (rc == STORE_OK)
		rc = incident_logf(tx, inc.number, now, "trigger", ev->integration,
			      "triggered: %s (dedup key %s)", ev->summary, ev->dedup_key);
	if (rc == STORE_OK && maint == STORE_FOUND) {
		char iso[ISO_LEN];
		iso_format_utc(until, iso);
		rc = incident_logf(tx, inc.number, now, "note", "system",
			      "service %s is in maintenance until %s: nobody is paged",
			      ev->service, iso);
	}
	if (rc == STORE_OK && svc && svc->auto_resolve > 0)
		rc = store_tx_timer_add(tx, inc.number, TIMER_AUTO_RESOLVE,
					now + svc->auto_resolve);
	if (rc == STORE_OK && inc.policy && inc.paged)
		rc = escalate_open(tx, cfg, inc.number, now);
	res->incident = inc.number;
	res->opened = 1;
	return rc;
}

/* A new alert joins an open incident (same sender group, or the group window). */
static int join_incident(struct store_tx *tx, struct incident *inc, const struct event *ev,
			 int64_t now, struct event_result *res)
{
	inc->alert_count++;
	inc->open_alerts++;
	inc->updated_at = now;
	int rc = tx->ops->incident_update(tx->conn, inc);
	if (rc == STORE_OK)
		rc = add_alert(tx, ev, inc->number, now);
	if (rc == STORE_OK)
		rc = incident_logf(tx, inc->number, now, "alert", ev->integration,
			      "alert joined: %s (dedup key %s)", ev->summary, ev->dedup_key);
	res->incident = inc->number;
	return rc;
}

/* Which open incident, if any, a new alert joins.  STORE_FOUND fills *inc. */
static int find_join_target(struct store_tx *tx, const struct service *svc,
			    const struct event *ev, int64_t now, struct incident *inc)
{
	if (ev->group_key)
		return tx->ops->incident_find_open(tx->conn, ev->service, ev->group_key, 0, inc);
	if (svc && svc->group_window > 0)
		return tx->ops->incident_find_open(tx->conn, ev->service, NULL,
						   now - svc->group_window, inc);
	return STORE_NOTFOUND;
}

static int trigger(struct store_tx *tx, const struct config *cfg, const struct service *svc,
		   const struct event *ev, int64_t now, struct event_result *res)
{
	struct alert a = { 0 };
	struct incident inc = { 0 };
	int rc = tx->ops->alert_find_open(tx->conn, ev->service, ev->dedup_key, &a);
	if (rc == STORE_FOUND) {
		/* the same problem again: fold it into the open alert */
		rc = tx->ops->alert_bump(tx->conn, a.id, now);
		if (rc == STORE_OK)
			rc = incident_logf(tx, a.incident, now, "alert", ev->integration,
				      "triggered again: %s (dedup key %s, %lld times)",
				      ev->summary, ev->dedup_key, (long long)a.count + 1);
		res->incident = a.incident;
		goto out;
	}
	if (rc != STORE_NOTFOUND)
		goto out;
	rc = find_join_target(tx, svc, ev, now, &inc);
	if (rc == STORE_FOUND)
		rc = join_incident(tx, &inc, ev, now, res);
	else if (rc == STORE_NOTFOUND)
		rc = open_incident(tx, cfg, svc, ev, now, res);
out:
	alert_release(&a);
	incident_release(&inc);
	return rc;
}

static int do_ack(struct store_tx *tx, const struct config *cfg, struct incident *inc,
		  const char *actor, int64_t now)
{
	if (inc->status != INC_TRIGGERED)
		return STORE_OK;	/* acknowledged already, or resolved: no change */
	const struct service *svc = config_service(cfg, inc->service);
	inc->status = INC_ACKNOWLEDGED;
	if (!inc->acknowledged_at)
		inc->acknowledged_at = now;
	inc->updated_at = now;
	int rc = tx->ops->incident_update(tx->conn, inc);
	if (rc == STORE_OK)
		rc = incident_logf(tx, inc->number, now, "ack", actor, "acknowledged by %s", actor);
	if (rc == STORE_OK)
		rc = escalate_stop(tx, inc);
	if (rc == STORE_OK)
		rc = notify_cancel(tx, inc->number);
	if (rc == STORE_OK && svc && svc->ack_timeout > 0)
		rc = store_tx_timer_add(tx, inc->number, TIMER_ACK_TIMEOUT,
					now + svc->ack_timeout);
	return rc;
}

static int do_resolve(struct store_tx *tx, const struct config *cfg, struct incident *inc,
		      const char *actor, const char *why, int64_t now)
{
	if (inc->status == INC_RESOLVED)
		return STORE_OK;
	inc->status = INC_RESOLVED;
	inc->resolved_at = now;
	inc->updated_at = now;
	inc->open_alerts = 0;
	int rc = tx->ops->alert_resolve_all(tx->conn, inc->number, now);
	if (rc == STORE_OK)
		rc = tx->ops->incident_update(tx->conn, inc);
	if (rc == STORE_OK)
		rc = incident_log(tx, inc->number, now, "resolve", actor, why);
	if (rc == STORE_OK)
		rc = tx->ops->timer_cancel(tx->conn, inc->number, NULL);
	if (rc == STORE_OK)
		rc = notify_cancel(tx, inc->number);
	if (rc == STORE_OK)
		rc = review_required(tx, cfg, inc, actor, now);
	return rc;
}

/* A resolve event resolves one alert; the incident follows when none is left. */
static int resolve_alert(struct store_tx *tx, const struct config *cfg, const struct alert *a,
			 const struct event *ev, int64_t now)
{
	struct incident inc = { 0 };
	int rc = tx->ops->incident_get(tx->conn, a->incident, &inc);
	if (rc != STORE_FOUND)
		goto out;
	rc = tx->ops->alert_resolve(tx->conn, a->id, now);
	if (rc != STORE_OK)
		goto out;
	if (inc.open_alerts <= 1) {
		char *why = xasprintf("resolved by %s: alert %s resolved", ev->integration,
				      a->dedup_key);
		rc = do_resolve(tx, cfg, &inc, ev->integration, why, now);
		free(why);
		goto out;
	}
	inc.open_alerts--;
	inc.updated_at = now;
	rc = tx->ops->incident_update(tx->conn, &inc);
	if (rc == STORE_OK)
		rc = incident_logf(tx, inc.number, now, "alert", ev->integration,
			      "alert %s resolved; %d still open", a->dedup_key, inc.open_alerts);
out:
	incident_release(&inc);
	return rc;
}

static int ack_alert(struct store_tx *tx, const struct config *cfg, const struct alert *a,
		     const struct event *ev, int64_t now)
{
	struct incident inc = { 0 };
	int rc = tx->ops->incident_get(tx->conn, a->incident, &inc);
	if (rc == STORE_FOUND)
		rc = do_ack(tx, cfg, &inc, ev->integration, now);
	incident_release(&inc);
	return rc;
}

int incident_apply_event(struct store_tx *tx, const struct config *cfg,
			 const struct event *ev, int64_t now, struct event_result *res)
{
	const struct service *svc = config_service(cfg, ev->service);
	struct alert a = { 0 };
	int rc;

	memset(res, 0, sizeof(*res));
	if (ev->action == EV_TRIGGER)
		return trigger(tx, cfg, svc, ev, now, res);
	rc = tx->ops->alert_find_open(tx->conn, ev->service, ev->dedup_key, &a);
	if (rc != STORE_FOUND)
		return rc;	/* unknown or resolved key: nothing changes */
	res->incident = a.incident;
	if (ev->action == EV_ACKNOWLEDGE)
		rc = ack_alert(tx, cfg, &a, ev, now);
	else
		rc = resolve_alert(tx, cfg, &a, ev, now);
	alert_release(&a);
	return rc;
}

static int act_on(struct store_tx *tx, const struct config *cfg, const struct action *a,
		  struct incident *inc, int64_t now, char **err)
{
	char sev[8];
	switch (a->kind) {
	case ACT_ACK:
		if (inc->status == INC_RESOLVED) {
			*err = xasprintf("incident #%lld is already resolved",
					 (long long)inc->number);
			return INCIDENT_ECONFLICT;
		}
		return do_ack(tx, cfg, inc, a->actor, now);
	case ACT_RESOLVE:
		return do_resolve(tx, cfg, inc, a->actor, "resolved", now);
	case ACT_NOTE:
		inc->updated_at = now;
		return incident_log(tx, inc->number, now, "note", a->actor, a->text);
	case ACT_ESCALATE:
		return escalate_manual(tx, cfg, inc, a->actor, now, err);
	case ACT_REASSIGN:
		return escalate_reassign(tx, cfg, inc, a->text, a->actor, now, err);
	case ACT_SEVERITY:
		if (inc->severity == a->severity)
			return STORE_OK;
		snprintf(sev, sizeof(sev), "SEV-%d", inc->severity);
		inc->severity = a->severity;
		inc->updated_at = now;
		int rc = tx->ops->incident_update(tx->conn, inc);
		if (rc == STORE_OK)
			rc = incident_logf(tx, inc->number, now, "severity", a->actor,
				      "severity changed from %s to SEV-%d", sev, a->severity);
		return rc;
	}
	return STORE_OK;
}

int incident_apply_action(struct store_tx *tx, const struct config *cfg,
			  const struct action *a, int64_t now, char **err)
{
	struct incident inc = { 0 };
	int rc = tx->ops->incident_get(tx->conn, a->number, &inc);
	if (rc == STORE_NOTFOUND) {
		*err = xasprintf("no incident #%lld", (long long)a->number);
		return INCIDENT_ENOTFOUND;
	}
	if (rc == STORE_FOUND)
		rc = act_on(tx, cfg, a, &inc, now, err);
	incident_release(&inc);
	return rc;
}

/* The acknowledgement timed out: triggered again, and escalation from level 1. */
static int ack_timed_out(struct store_tx *tx, const struct config *cfg,
			 const struct service *svc, struct incident *inc, int64_t now)
{
	char d[32];
	duration_format(svc ? svc->ack_timeout : now - inc->updated_at, d, sizeof(d));
	inc->status = INC_TRIGGERED;
	inc->updated_at = now;
	int rc = tx->ops->incident_update(tx->conn, inc);
	if (rc == STORE_OK)
		rc = incident_logf(tx, inc->number, now, "unack", "system",
				   "acknowledgement timed out after %s: triggered again", d);
	if (rc == STORE_OK)
		rc = escalate_restart(tx, cfg, inc, now);
	return rc;
}

static int fire(struct store_tx *tx, const struct config *cfg, const struct timer *t,
		int64_t now)
{
	struct incident inc = { 0 };
	char d[32];
	int rc = tx->ops->incident_get(tx->conn, t->incident, &inc);
	if (rc != STORE_FOUND)
		goto out;
	const struct service *svc = config_service(cfg, inc.service);
	rc = STORE_OK;
	if (!strcmp(t->kind, TIMER_ESCALATE)) {
		rc = escalate_fire(tx, cfg, &inc, t->due, now);
	} else if (!strcmp(t->kind, TIMER_ACK_TIMEOUT) && inc.status == INC_ACKNOWLEDGED) {
		rc = ack_timed_out(tx, cfg, svc, &inc, now);
	} else if (!strcmp(t->kind, TIMER_AUTO_RESOLVE) && inc.status != INC_RESOLVED) {
		duration_format(svc ? svc->auto_resolve : now - inc.created_at, d, sizeof(d));
		char *why = xasprintf("auto-resolved: open for %s", d);
		rc = do_resolve(tx, cfg, &inc, "system", why, now);
		free(why);
	}
out:
	incident_release(&inc);
	return rc;
}

int incident_fire_timer(struct store_tx *tx, const struct config *cfg, int64_t timer_id,
			int64_t now, struct timer *fired)
{
	int rc = tx->ops->timer_get(tx->conn, timer_id, fired);
	if (rc != STORE_FOUND)
		return rc;	/* cancelled meanwhile */
	if (fired->due > now)
		return TIMER_NOT_DUE;	/* a stale wake-up: the deadline was moved */
	rc = tx->ops->timer_delete(tx->conn, timer_id);
	if (rc == STORE_OK)
		rc = fire(tx, cfg, fired, now);
	return rc == STORE_OK ? STORE_FOUND : rc;
}
