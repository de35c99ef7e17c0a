/*
 * incident.h - what events and people do to incidents: the state machine.
 *
 * Every function here runs inside a writer transaction (struct store_tx) and so sees
 * a consistent store and races with nobody.  They write the incident, its alerts,
 * its log entries (the timeline) and its timers, and nothing else: answering HTTP,
 * paging people and waking the engine happen after commit, elsewhere.
 *
 * Rules (DESIGN.md section 7): a trigger with a dedup key that names an open alert
 * of the service folds into it (count + 1, a log entry, no new incident); otherwise
 * a new alert opens a new incident, or joins an open one of the same sender group
 * (Alertmanager groupKey) or within the service's group_window.  Acknowledge and
 * resolve events act on the incident holding the open alert; unknown or resolved
 * keys change nothing.  An incident resolves when its last open alert does.
 */
#ifndef TOCSIN_INCIDENT_H
#define TOCSIN_INCIDENT_H

#include <stdint.h>

#include "config.h"
#include "model.h"
#include "store.h"

enum event_action { EV_TRIGGER, EV_ACKNOWLEDGE, EV_RESOLVE };

/* One event, already validated.  All strings owned; release with event_release(). */
struct event {
	enum event_action action;
	char *service;		/* service id */
	char *dedup_key;	/* never NULL once validated (the server makes one) */
	char *summary;
	char *source;
	char *severity;		/* critical|error|warning|info */
	char *details;		/* JSON text, may be NULL */
	char *group_key;	/* may be NULL */
	char *integration;	/* events_v2|events_v1|alertmanager|... : the log's actor */
};
void event_release(struct event *ev);

struct event_result {
	int64_t incident;	/* 0 when the event changed nothing */
	int opened;		/* a new incident was opened */
};

int incident_apply_event(struct store_tx *tx, const struct config *cfg,
			 const struct event *ev, int64_t now, struct event_result *res);

enum incident_action { ACT_ACK, ACT_RESOLVE, ACT_NOTE, ACT_SEVERITY, ACT_ESCALATE, ACT_REASSIGN };

struct action {
	enum incident_action kind;
	int64_t number;
	const char *actor;	/* user id, or "system" */
	const char *text;	/* ACT_NOTE: the note; ACT_REASSIGN: "user:ID" or "schedule:ID" */
	int severity;		/* ACT_SEVERITY: 1..5 */
};

/* Errors returned by incident_apply_action(), besides STORE_FAULT; *err says why.
 * The value is the HTTP status it answers, negated. */
#define INCIDENT_EINVAL (-400)
#define INCIDENT_ENOTFOUND (-404)
#define INCIDENT_ECONFLICT (-409)

int incident_apply_action(struct store_tx *tx, const struct config *cfg,
			  const struct action *a, int64_t now, char **err);

/* Fires a persisted timer (ack_timeout, auto_resolve, escalate) if it still exists:
 * STORE_FOUND with *fired the timer (the caller releases it), STORE_NOTFOUND when it
 * was cancelled meanwhile, TIMER_NOT_DUE with *fired when its deadline is later than
 * now (it was moved: the caller waits for the new one), STORE_FAULT. */
#define TIMER_NOT_DUE 2
int incident_fire_timer(struct store_tx *tx, const struct config *cfg, int64_t timer_id,
			int64_t now, struct timer *fired);

/* Appends an entry to an incident's timeline (message copied). */
int incident_log(struct store_tx *tx, int64_t incident, int64_t at, const char *type,
		 const char *actor, const char *message);
int incident_logf(struct store_tx *tx, int64_t incident, int64_t at, const char *type,
		  const char *actor, const char *fmt, ...) PRINTF_LIKE(6, 7);

#define TIMER_ACK_TIMEOUT  "ack_timeout"
#define TIMER_AUTO_RESOLVE "auto_resolve"

/* critical -> 2, error -> 3, warning -> 4, info -> 5; 0 for anything else. */
int severity_from_event(const char *s);
/* "SEV-2" -> 2; 0 when malformed. */
int severity_parse(const char *s);
/* High for critical and error unless the service fixes its urgency. */
int urgency_high_for(const struct service *svc, const char *event_severity);

#endif
