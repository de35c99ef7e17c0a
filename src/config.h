/*
 * config.h - the parsed, validated tocsin.yaml.
 *
 * Structure is config, state is in the store: everything here is read-only once
 * config_load() returns, and shared between threads by reference count.  A reload
 * (SIGHUP) builds a whole new struct config and swaps the server's pointer; holders
 * of the old one keep it alive until they config_unref() it.
 *
 * config_load() reports *every* problem it finds, each as "file:line:col: message"
 * (git's message style: lowercase, no full stop, the subject quoted), and returns
 * NULL when there was at least one.  Durations are milliseconds.
 */
#ifndef TOCSIN_CONFIG_H
#define TOCSIN_CONFIG_H

#include <stdint.h>

#include "timeutil.h"
#include "util.h"

enum role { ROLE_OBSERVER = 0, ROLE_RESPONDER = 1, ROLE_ADMIN = 2 };
enum urgency { URGENCY_ANY = 0, URGENCY_HIGH, URGENCY_LOW };

enum contact_type {
	CONTACT_EMAIL,
	CONTACT_WEBHOOK,
	CONTACT_SLACK,
	CONTACT_TEAMS,
	CONTACT_SMS,
	CONTACT_VOICE,
};

struct contact_method {
	char *id;
	enum contact_type type;
	char *address;		/* email, sms, voice */
	char *url;		/* webhook, slack, teams */
	char *secret;		/* webhook: HMAC secret, may be NULL */
};

struct notification_rule {
	char *contact;		/* id of one of the user's contact methods */
	int64_t after;		/* ms after assignment */
	enum urgency urgency;	/* URGENCY_ANY when not given */
};

struct user {
	char *id;
	char *name;
	char *email;
	char *time_zone;	/* NULL: the server's */
	enum role role;
	struct contact_method *contacts;
	size_t ncontacts;
	struct notification_rule *rules;
	size_t nrules;
};

struct team {
	char *id;
	char *name;
	struct strlist members;	/* user ids */
};

/* A restriction window, in the schedule's zone, as minutes since Monday 00:00
 * (weekly) or since midnight (daily).  end < start means it crosses midnight / the
 * week's end. */
struct restrict_window {
	int start;
	int end;
};

struct layer {
	char *name;
	struct walltime start;	/* in the schedule's zone */
	struct turn turn;
	struct strlist users;
	struct restrict_window *daily;	/* at most one daily window is meaningful */
	size_t ndaily;
	struct restrict_window *weekly;
	size_t nweekly;
};

struct schedule {
	char *id;
	char *name;
	char *time_zone;
	struct layer *layers;
	size_t nlayers;
};

enum target_kind { TARGET_USER, TARGET_SCHEDULE };
struct target {
	enum target_kind kind;
	char *id;
};

/* "user:ID" or "schedule:ID": *out's kind, and its id pointing into s.  -1 when s
 * is neither. */
int target_parse(const char *s, struct target *out);

struct esc_level {
	struct target *targets;
	size_t ntargets;
	int64_t escalate_after;
};

struct escalation_policy {
	char *id;
	char *name;
	int repeat;
	struct esc_level *levels;
	size_t nlevels;
};

struct service {
	char *id;
	char *name;
	char *team;			/* may be NULL */
	char *escalation_policy;	/* may be NULL: incidents are not paged */
	struct strlist integration_keys;
	int64_t ack_timeout;		/* 0: none */
	int64_t auto_resolve;		/* 0: none */
	int postmortem_at;		/* 1..5; default 2 */
	int64_t group_window;		/* 0: one alert, one incident */
	enum urgency urgency;		/* URGENCY_ANY: follows event severity */
	int rate_limit;			/* events/min per routing key; -1: server default */
};

enum check_kind {
	CHECK_HTTP,
	CHECK_TCP,
	CHECK_PROCESS,
	CHECK_DISK,
	CHECK_HEARTBEAT,
	CHECK_COMMAND,
};

/* HTTP statuses a check accepts: lo..hi inclusive. */
struct status_range {
	int lo, hi;
};

struct check {
	char *id;
	char *service;
	enum check_kind kind;
	int64_t interval;	/* default 1m; heartbeat: unused */
	int64_t retry_interval;	/* between soft failures; default: interval */
	int64_t timeout;	/* default 10s */
	int retries;		/* re-checks before a failure is hard; default 0 */
	struct strlist depends_on;	/* check ids: no page while one of them is down */
	char *url;		/* http */
	char *method;		/* http, default GET */
	struct strlist headers;	/* http: "Name: value" */
	struct status_range *expect;	/* http; default 200 */
	size_t nexpect;
	int64_t max_latency;	/* http, 0: none */
	char *body_contains;	/* http */
	char *body_regex;	/* http, POSIX extended */
	int tls_verify;		/* http, default 1 */
	int cert_expiry;	/* http: WARNING this many days before the certificate ends; 0 */
	char *address;		/* tcp host:port */
	char *send;		/* tcp: sent after connecting */
	char *expect_text;	/* tcp: must be in what comes back */
	char *name;		/* process: /proc/PID/comm */
	char *pidfile;		/* process */
	int min_count;		/* process, default 1 */
	char *path;		/* disk */
	double min_free_pct;	/* disk: percent, or -1 */
	int64_t min_free_bytes;	/* disk: bytes, or -1 */
	double min_free_inodes;	/* disk: percent, or -1 */
	char *key;		/* heartbeat */
	int64_t expect_every;	/* heartbeat */
	int64_t grace;		/* heartbeat */
	char *command;		/* command */
	int shell;		/* command: run through /bin/sh -c */
};

struct config {
	int refs;		/* atomic; see config_ref() */
	char *path;

	/* server */
	char *listen;		/* "127.0.0.1:8080" */
	char *public_url;
	char *time_zone;	/* default "UTC" */
	int rate_limit;		/* events/min per routing key, default 6000; 0: unlimited */

	/* storage: exactly one of the two */
	char *sqlite_path;
	char *postgres;

	/* smtp */
	char *smtp_url;
	char *smtp_from;
	char *smtp_username;	/* NULL: no login */
	char *smtp_password;
	int smtp_starttls;	/* 1: STARTTLS is required */

	/* notify */
	int allow_private;
	int64_t notify_timeout;	/* one delivery attempt; default 10s */

	/* sms_gateway */
	char *sms_url;
	char *sms_method;
	char *sms_body;
	struct strlist sms_headers;	/* "Name: value" */

	struct user *users;
	size_t nusers;
	struct team *teams;
	size_t nteams;
	struct schedule *schedules;
	size_t nschedules;
	struct escalation_policy *policies;
	size_t npolicies;
	struct service *services;
	size_t nservices;
	struct check *checks;
	size_t nchecks;
};

/*
 * Loads and validates path.  On success returns a config with one reference.
 * On failure returns NULL and appends one "file:line:col: message" per problem to
 * errs (the caller owns errs).  A file that cannot be read is one error "file: ...".
 */
struct config *config_load(const char *path, struct strlist *errs);
/* The same from a string; name is used in messages in place of a path. */
struct config *config_parse(const char *name, const char *text, size_t len,
			    struct strlist *errs);

struct config *config_ref(struct config *c);
void config_unref(struct config *c);

/* Lookups by id; NULL when absent.  The pointer lives as long as the config. */
const struct service *config_service(const struct config *c, const char *id);
const struct service *config_service_by_key(const struct config *c, const char *key);
const struct user *config_user(const struct config *c, const char *id);
const struct team *config_team(const struct config *c, const char *id);
const struct schedule *config_schedule(const struct config *c, const char *id);
const struct escalation_policy *config_policy(const struct config *c, const char *id);
const struct check *config_check(const struct config *c, const char *id);

const char *role_name(enum role r);
const char *contact_type_name(enum contact_type t);
const char *check_kind_name(enum check_kind k);

#endif
