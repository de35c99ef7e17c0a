/*
 * check.h - built-in monitoring: checks that open and close incidents on their own
 * (docs/CHECKS.md).
 *
 * check.c is the scheduler and the state machine: one thread runs every check on
 * its interval, with a stable per-check phase so a restart does not fire them all
 * at once, up to CHECKS_RUNNING_MAX at a time, and turns results into Nagios-style
 * states (soft and hard, flapping, dependencies) and those into events on the
 * check's service with dedup key "check:ID", like any sender's.  check_types.c has
 * one struct check_type per kind: http, tcp, process, disk, heartbeat, command.
 *
 * A run is synchronous (process, disk, heartbeat: start() fills the outcome) or
 * waits on something: an HTTP transfer on the checker's curl multi handle, or one
 * file descriptor (a TCP socket, a plugin's output pipe) that the checker polls
 * with curl's, until the run's deadline.
 */
#ifndef TOCSIN_CHECK_H
#define TOCSIN_CHECK_H

#include <curl/curl.h>
#include <sys/types.h>

#include "config.h"
#include "routes.h"

enum check_state { CHK_OK = 0, CHK_WARNING = 1, CHK_CRITICAL = 2, CHK_UNKNOWN = 3 };
const char *check_state_name(int state);

#define CHECKS_RUNNING_MAX 512
#define CHECK_OUTPUT_MAX (64 * 1024)	/* what is kept of a plugin's output */

/* One run of one check. */
struct check_run {
	const struct check *def;	/* borrowed from cfg, which the run holds */
	struct config *cfg;
	int64_t started;		/* monotonic ms */
	int64_t deadline;		/* monotonic ms */
	/* the outcome */
	int state;
	struct buf output;		/* the first line: what the incident shows */
	struct buf long_output;
	struct buf perfdata;
	int64_t latency;		/* ms */
	/* what the run waits on, for the checker */
	CURL *easy;			/* http: the check's own handle, lent for the run */
	int fd;				/* tcp, command; -1: none */
	short events;			/* POLLIN / POLLOUT wanted on fd */
	/* the type's own */
	struct curl_slist *headers;
	struct buf got;			/* an answer or a plugin's output, capped */
	size_t seen;			/* bytes received in all */
	int phase;
	pid_t pid;
	int64_t last_ping;		/* heartbeat: given by the checker */
	int64_t watched_since;		/* heartbeat: when its wait began */
	int64_t now;			/* UTC ms when the run started */
};

/* Sets the outcome: state and a printf first line. */
void check_run_say(struct check_run *r, int state, const char *fmt, ...) PRINTF_LIKE(3, 4);

#define RUN_DONE 1
#define RUN_PENDING 0

struct check_type {
	enum check_kind kind;
	/* Starts r: RUN_DONE with the outcome set, or RUN_PENDING waiting on r->easy
	 * (added to multi by the checker) or r->fd. */
	int (*start)(struct check_run *r, CURLM *multi);
	/* r->fd is ready (revents), or the deadline passed (timed_out): RUN_DONE or
	 * RUN_PENDING.  NULL for kinds that never wait on a descriptor. */
	int (*step)(struct check_run *r, short revents, int timed_out);
	/* r->easy finished with cc.  NULL for kinds without HTTP. */
	void (*transfer_done)(struct check_run *r, CURLcode cc);
	/* Frees what start() and step() made (closes, kills, reaps). */
	void (*release)(struct check_run *r);
};

const struct check_type *check_type_for(enum check_kind kind);

struct server;
struct checker;

/* Loads the checks' stored status and starts the scheduler; NULL and *err on failure. */
struct checker *checker_start(struct server *srv, char **err);
void checker_stop(struct checker *c);
/* The test clock moved. */
void checker_wake(struct checker *c);

/* POST /heartbeat/{key}: the job checked in. */
void checks_heartbeat(struct server *srv, struct http_request *req, const struct route_ctx *ctx);
/* GET /api/checks and /api/checks/{id} (with its recent results). */
void api_checks(struct server *srv, struct http_request *req, const struct route_ctx *ctx);
void api_check(struct server *srv, struct http_request *req, const struct route_ctx *ctx);

/* Nagios' percent state change of a history of states (oldest first, digits 0-3):
 * changes between consecutive results, the newest weighted 1.2 and the oldest 0.8. */
double check_flap_percent(const char *history);

#endif
