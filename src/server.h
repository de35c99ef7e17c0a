/*
 * server.h - struct server, the one place the daemon's shared state lives.
 *
 * No module keeps global mutable state: the config in force, the store, the engine,
 * the HTTP server, the rate limiter and the counters all hang off struct server,
 * which `tocsin serve` creates and every handler receives.
 *
 * The config is swapped whole on SIGHUP; a reader takes a reference with
 * server_config() and drops it with config_unref(), so a reload never frees a
 * config that a request or a writer job is still using.
 */
#ifndef TOCSIN_SERVER_H
#define TOCSIN_SERVER_H

#include <pthread.h>
#include <stdint.h>

#include "config.h"
#include "http.h"
#include "store.h"

#define TOCSIN_VERSION "0.1.0"

struct engine;
struct notify;
struct checker;
struct ratelimit;

#define LATENESS_BUCKETS 9
extern const int64_t LATENESS_BOUNDS_MS[LATENESS_BUCKETS];

struct server_counters {
	uint64_t events[3];		/* accepted: trigger, acknowledge, resolve */
	uint64_t changes;
	uint64_t rejected;		/* 400 */
	uint64_t rate_limited;		/* 429 / 403 */
	uint64_t store_faults;		/* 503 */
	uint64_t incidents_opened;
	uint64_t reloads;
	uint64_t reload_failures;
	/* timers fired, by lateness (fired minus deadline): le LATENESS_BOUNDS_MS[i] */
	uint64_t lateness[LATENESS_BUCKETS];
	uint64_t lateness_ms_sum;
	uint64_t timers_fired;
	/* deliveries by outcome */
	uint64_t notify_sent;
	uint64_t notify_retried;
	uint64_t notify_failed;
	uint64_t notify_cancelled;
	uint64_t notify_bundled;
	/* checks run, by lateness (started minus due) */
	uint64_t checks_run;
	uint64_t check_lateness[LATENESS_BUCKETS];
	uint64_t check_lateness_ms_sum;
	uint64_t checks_started;
};

struct server {
	pthread_mutex_t cfg_lock;
	struct config *cfg;
	struct store *store;
	struct engine *engine;
	struct http_server *http;
	struct ratelimit *rl;
	struct server_counters counters;	/* updated with __atomic builtins */
	int64_t started_at;
	struct notify *notify;
	struct checker *checker;
	uint64_t *responses;		/* [route][code] counters (routes.c), atomic */
	unsigned char act_key[32];	/* signs action links (act.c); set at start */
};

/* A new reference to the config in force; the caller config_unref()s it. */
struct config *server_config(struct server *srv);
#define COUNT(srv, field) __atomic_add_fetch(&(srv)->counters.field, 1, __ATOMIC_RELAXED)
/* Counts a fired timer that was late_ms late. */
void server_count_lateness(struct server *srv, int64_t late_ms);
/* Counts a check started late_ms after it was due. */
void server_count_check_lateness(struct server *srv, int64_t late_ms);

/* `tocsin serve`: runs until SIGTERM/SIGINT; returns the exit status. */
int server_serve(const char *config_path);

/*
 * A request that changes state: it is parked, apply() runs on the store writer
 * inside a batch, and after the commit answer() replies on an HTTP thread with
 * c->rc set (STORE_FAULT: answer 503).  server_run_tx() takes c: it is freed with
 * the request, after data_free(data).
 */
struct tx_call {
	struct store_job job;
	struct server *srv;
	struct config *cfg;		/* a reference, held for the call */
	struct http_request *req;
	int (*apply)(struct tx_call *c, struct store_tx *tx);
	void (*answer)(struct tx_call *c, struct http_request *req);
	int rc;
	char *err;			/* set by apply() to explain a failure */
	void *data;
	void (*data_free)(void *data);
};
void server_run_tx(struct server *srv, struct http_request *req, struct tx_call *c);
/* A new call holding cfg (a reference it takes) and data (freed by data_free). */
struct tx_call *tx_call_new(struct config *cfg, int (*apply)(struct tx_call *, struct store_tx *),
			    void (*answer)(struct tx_call *, struct http_request *), void *data,
			    void (*data_free)(void *));

/* Replies 503 for a failed commit and counts it. */
void server_reply_fault(struct server *srv, struct http_request *req);

#endif
