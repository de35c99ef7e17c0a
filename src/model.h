/*
 * model.h - the records tocsin keeps in its store: incidents, alerts, log entries
 * (the timeline), change events, timers, overrides, pages (the outbox), and the
 * postmortems written afterwards with their revisions and action items.
 *
 * Plain structs with owned strings.  *_release() frees what a record owns and zeroes
 * it; records filled by the store are the caller's to release.  Times are int64_t
 * milliseconds UTC, 0 meaning "not yet" (null in JSON).
 */
#ifndef TOCSIN_MODEL_H
#define TOCSIN_MODEL_H

#include <stddef.h>
#include <stdint.h>

enum incident_status { INC_TRIGGERED = 0, INC_ACKNOWLEDGED, INC_RESOLVED };

struct incident {
	int64_t number;
	char *service;
	char *title;
	enum incident_status status;
	int severity;			/* 1 (SEV-1, worst) .. 5 */
	int urgency_high;		/* 1 high, 0 low */
	int64_t created_at;
	int64_t acknowledged_at;	/* 0: never */
	int64_t resolved_at;		/* 0: open */
	int64_t updated_at;
	char *assigned_to;		/* JSON array of user ids, e.g. ["alice"] */
	int escalation_level;
	int alert_count;		/* every alert that joined */
	int open_alerts;		/* alerts not yet resolved */
	char *group_key;		/* NULL, or the sender's group (Alertmanager groupKey) */
	int paged;			/* 0: opened in a maintenance window, nobody paged */
	char *policy;			/* escalation policy id taken at open; NULL: none */
	int escalation_loop;		/* 0: first pass through the policy, 1: first repeat */
};

struct alert {
	int64_t id;
	int64_t incident;
	char *service;
	char *dedup_key;
	int resolved;
	int64_t count;			/* trigger events folded into this alert */
	char *summary;
	char *source;
	char *severity;			/* critical|error|warning|info */
	char *details;			/* opaque JSON text (custom_details), may be NULL */
	char *integration;		/* events_v2|events_v1|alertmanager|cli|... */
	int64_t created_at;
	int64_t updated_at;
	int64_t resolved_at;
};

struct log_entry {
	int64_t id;
	int64_t incident;
	int64_t at;
	char *type;			/* trigger alert ack unack escalate ... */
	char *actor;			/* alice | system | events_v2 | check:ID ... */
	char *message;
};

struct change_event {
	int64_t id;
	char *service;
	int64_t at;
	char *summary;
	char *source;
	char *payload;			/* the whole event as JSON text */
};

struct timer {
	int64_t id;
	int64_t incident;
	char *kind;			/* ack_timeout | auto_resolve | escalate */
	int64_t due;
};

/* A page request in the outbox: user was assigned the incident (by the escalation
 * policy at level/loop, or by hand) and is to be notified through their rules. */
struct page {
	int64_t id;
	int64_t incident;
	char *user;
	int level;			/* 1-based; 0 for a hand-made assignment */
	int loop;
	char *reason;			/* escalate | reassign */
	int64_t created_at;
	char *status;			/* planned: its deliveries are in notifications */
};

/* One delivery to one contact method: a page through a notification rule, a shift
 * notice, or a bundle of throttled pages.  status: pending (due at .due), sent,
 * failed (permanent), cancelled (acknowledged or resolved first), bundled (held by
 * the throttle; a bundle row carries them). */
struct notification {
	int64_t id;
	int64_t page;			/* 0: not a page */
	int64_t incident;		/* 0: a shift notice */
	char *user;
	char *contact;			/* the user's contact method id */
	char *channel;			/* its type: email webhook slack teams sms voice */
	char *kind;			/* page | shift | bundle */
	int64_t due;
	char *status;
	int attempts;
	int64_t created_at;
	int64_t sent_at;
	char *last_error;
	char *text;			/* shift and bundle: the message */
};

/* What a built-in check last found, as the store keeps it (check.c owns it). */
struct check_status {
	char *id;
	int state;			/* 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN */
	int hard_state;			/* the last hard state */
	int attempts;			/* consecutive failures */
	int64_t since;			/* when state last changed */
	int64_t last_run;
	int64_t next_run;
	int64_t latency;		/* ms */
	char *output;			/* the first line */
	int flapping;
	int suppressed;			/* a check it depends on is down */
	int64_t last_ping;		/* heartbeat */
	char *history;			/* the last states, oldest first: "0002220" */
};

/* One result in a check's history. */
struct check_result_row {
	int64_t at;
	int state;
	int64_t latency;
	char *output;
};

/* An on-call override: user replaces whoever the schedule's layers give in
 * [start, end).  Where overrides overlap, the one created last wins (ties: higher id). */
struct override {
	int64_t id;
	char *schedule;
	char *user;
	int64_t start, end;
	int64_t created_at;
	char *created_by;
};

/* A postmortem: the Markdown body plus the structured fields reports query
 * (DESIGN.md section 6).  status: draft, in_review, published, closed. */
struct postmortem {
	int64_t id;
	int64_t incident;		/* the incident it was opened for */
	char *incidents;		/* JSON array of incident numbers, e.g. [42] */
	char *title;
	char *owner;			/* user id; NULL: nobody could be named */
	char *status;
	int severity;			/* 1..5 */
	char *services;			/* JSON array of service ids */
	int64_t impact_start;		/* 0: not known yet */
	int64_t detected;
	int64_t acknowledged;
	int64_t mitigated;
	int64_t resolved;
	char *detection;		/* how it was detected: check:site-http, alertmanager, ... */
	char *factors;			/* JSON array of contributing factors */
	char *approvals;		/* JSON array of the reviewers who approved */
	char *body;			/* the Markdown */
	int revision;			/* 1 at creation, + 1 per change */
	int64_t created_at;
	int64_t updated_at;
};

/* One change to a postmortem: who, when, what ("body", "owner: alice -> bob",
 * "status: draft -> in_review", "approved"), and the body it left when it changed
 * the body (NULL otherwise). */
struct pm_revision {
	int64_t id;
	int64_t postmortem;
	int revision;
	int64_t at;
	char *actor;
	char *change;
	char *body;
};

/* An action item of a postmortem, parsed from its task list and tracked here.
 * status: open, done, declined (reason says why). */
struct action_item {
	int64_t id;
	int64_t postmortem;
	int position;			/* 1-based, in the task list */
	char *text;			/* the item as written, owner and due date included */
	char *owner;			/* user id; NULL: none written */
	char *due;			/* YYYY-MM-DD */
	int64_t due_at;			/* the end of the due day in the server's zone */
	char *status;
	char *reason;
	char *ticket;			/* a link in the item, or NULL */
	int64_t created_at;
	int64_t updated_at;
	int64_t reminded_at;		/* the last reminder sent; 0: none */
};

/* A growable list of records; release with the matching *_list_release(). */
#define MODEL_LIST(name, type) \
	struct name {          \
		type *v;       \
		size_t n;      \
		size_t cap;    \
	}
MODEL_LIST(incident_list, struct incident);
MODEL_LIST(alert_list, struct alert);
MODEL_LIST(log_list, struct log_entry);
MODEL_LIST(change_list, struct change_event);
MODEL_LIST(timer_list, struct timer);
MODEL_LIST(override_list, struct override);
MODEL_LIST(page_list, struct page);
MODEL_LIST(notification_list, struct notification);
MODEL_LIST(check_status_list, struct check_status);
MODEL_LIST(check_result_list, struct check_result_row);
MODEL_LIST(postmortem_list, struct postmortem);
MODEL_LIST(pm_revision_list, struct pm_revision);
MODEL_LIST(action_list, struct action_item);

void incident_release(struct incident *i);
void alert_release(struct alert *a);
void log_entry_release(struct log_entry *e);
void change_release(struct change_event *c);
void timer_release(struct timer *t);
void override_release(struct override *o);
void page_release(struct page *p);
void notification_release(struct notification *n);
void check_status_release(struct check_status *c);
void check_result_release(struct check_result_row *r);
void postmortem_release(struct postmortem *p);
void pm_revision_release(struct pm_revision *r);
void action_item_release(struct action_item *a);

/* Appends a zeroed record and returns it. */
struct incident *incident_list_add(struct incident_list *l);
struct alert *alert_list_add(struct alert_list *l);
struct log_entry *log_list_add(struct log_list *l);
struct change_event *change_list_add(struct change_list *l);
struct timer *timer_list_add(struct timer_list *l);
struct override *override_list_add(struct override_list *l);
struct page *page_list_add(struct page_list *l);
struct notification *notification_list_add(struct notification_list *l);
struct check_status *check_status_list_add(struct check_status_list *l);
struct check_result_row *check_result_list_add(struct check_result_list *l);
struct postmortem *postmortem_list_add(struct postmortem_list *l);
struct pm_revision *pm_revision_list_add(struct pm_revision_list *l);
struct action_item *action_list_add(struct action_list *l);
void incident_list_release(struct incident_list *l);
void alert_list_release(struct alert_list *l);
void log_list_release(struct log_list *l);
void change_list_release(struct change_list *l);
void timer_list_release(struct timer_list *l);
void override_list_release(struct override_list *l);
void page_list_release(struct page_list *l);
void notification_list_release(struct notification_list *l);
void check_status_list_release(struct check_status_list *l);
void check_result_list_release(struct check_result_list *l);
void postmortem_list_release(struct postmortem_list *l);
void pm_revision_list_release(struct pm_revision_list *l);
void action_list_release(struct action_list *l);

const char *incident_status_name(enum incident_status s);
int incident_status_parse(const char *s, enum incident_status *out);

#endif
