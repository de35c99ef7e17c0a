/*
 * server.c - `tocsin serve`: start-up, signals, reload, shutdown; and the tx_call
 * glue that lets an HTTP request wait for its group commit without holding a thread.
 *
 * Start-up order matters: config, store (migrated), the action-link key, the
 * notification worker (loads pending deliveries), the engine (loads persisted
 * timers and may fire overdue ones at once, which page people), then HTTP, so
 * nothing arrives before the state it needs.  The main thread then
 * only waits for signals (sigwait): SIGHUP reloads the config (a bad file is logged
 * and refused, the old one stays in force), SIGTERM/SIGINT stop accepting, let
 * parked requests finish their commit, and shut down in reverse order.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "act.h"
#include "auth.h"
#include "check.h"
#include "clock.h"
#include "engine.h"
#include "fault.h"
#include "notify.h"
#include "ratelimit.h"
#include "routes.h"
#include "server.h"
#include "banned.h"

struct config *server_config(struct server *srv)
{
	pthread_mutex_lock(&srv->cfg_lock);
	struct config *c = config_ref(srv->cfg);
	pthread_mutex_unlock(&srv->cfg_lock);
	return c;
}

const int64_t LATENESS_BOUNDS_MS[LATENESS_BUCKETS] = { 10, 50, 100, 250, 500, 1000, 2500,
							5000, 10000 };

static void count_late(uint64_t *buckets, uint64_t *sum, uint64_t *count, int64_t late_ms)
{
	if (late_ms < 0)
		late_ms = 0;
	for (size_t i = 0; i < LATENESS_BUCKETS; i++)
		if (late_ms <= LATENESS_BOUNDS_MS[i])
			__atomic_add_fetch(&buckets[i], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(sum, (uint64_t)late_ms, __ATOMIC_RELAXED);
	__atomic_add_fetch(count, 1, __ATOMIC_RELAXED);
}

void server_count_lateness(struct server *srv, int64_t late_ms)
{
	count_late(srv->counters.lateness, &srv->counters.lateness_ms_sum,
		   &srv->counters.timers_fired, late_ms);
}

void server_count_check_lateness(struct server *srv, int64_t late_ms)
{
	count_late(srv->counters.check_lateness, &srv->counters.check_lateness_ms_sum,
		   &srv->counters.checks_started, late_ms);
}

void server_reply_fault(struct server *srv, struct http_request *req)
{
	COUNT(srv, store_faults);
	http_add_header(req, "Retry-After", "1");
	http_reply_error(req, 503, "store unavailable",
			 "the event was not stored: retry later");
}

static void tx_call_free(void *p)
{
	struct tx_call *c = p;
	if (c->data_free)
		c->data_free(c->data);
	config_unref(c->cfg);
	free(c->err);
	free(c);
}

static int tx_apply(struct store_tx *tx, struct store_job *job)
{
	struct tx_call *c = (struct tx_call *)job;
	return c->apply(c, tx);
}

static void tx_done(struct store_job *job, int rc)
{
	struct tx_call *c = (struct tx_call *)job;
	c->rc = rc;
	http_resume(c->req);
}

static void tx_resume(struct http_request *req, void *arg)
{
	struct tx_call *c = arg;
	c->answer(c, req);
}

struct tx_call *tx_call_new(struct config *cfg, int (*apply)(struct tx_call *, struct store_tx *),
			    void (*answer)(struct tx_call *, struct http_request *), void *data,
			    void (*data_free)(void *))
{
	struct tx_call *c = xcalloc(1, sizeof(*c));
	c->cfg = cfg;
	c->apply = apply;
	c->answer = answer;
	c->data = data;
	c->data_free = data_free;
	return c;
}

void server_run_tx(struct server *srv, struct http_request *req, struct tx_call *c)
{
	c->job.apply = tx_apply;
	c->job.done = tx_done;
	c->srv = srv;
	c->req = req;
	http_set_data(req, c, tx_call_free);
	/* park first: the writer may finish before store_submit() returns */
	http_suspend(req, tx_resume, c);
	store_submit(srv->store, &c->job);
}

static void reload(struct server *srv, const char *path)
{
	struct strlist errs = STRLIST_INIT;
	struct config *cfg = config_load(path, &errs);
	if (!cfg) {
		for (size_t i = 0; i < errs.n; i++)
			log_error("%s", errs.v[i]);
		log_error("reload of %s refused: %zu error(s); the old configuration stays "
			  "in force", path, errs.n);
		COUNT(srv, reload_failures);
		strlist_release(&errs);
		return;
	}
	pthread_mutex_lock(&srv->cfg_lock);
	struct config *old = srv->cfg;
	srv->cfg = cfg;
	pthread_mutex_unlock(&srv->cfg_lock);
	config_unref(old);
	COUNT(srv, reloads);
	log_info("reloaded %s", path);
}

static unsigned http_threads(void)
{
	const char *env = getenv("TOCSIN_HTTP_THREADS");
	if (env && atoi(env) > 0)
		return (unsigned)atoi(env);
	/* one core stays for the store writer; the others serve HTTP */
	long n = sysconf(_SC_NPROCESSORS_ONLN) - 1;
	return n < 1 ? 1 : (unsigned)(n > 16 ? 16 : n);
}

static int start(struct server *srv, const char *path)
{
	char *err = NULL;
	srv->store = store_open(srv->cfg->sqlite_path, srv->cfg->postgres, &err);
	if (!srv->store)
		goto fail;
	/* deliveries first: overdue escalations fire as soon as the engine starts */
	if (act_init(srv, &err) < 0 || !(srv->notify = notify_start(srv, &err)) ||
	    !(srv->engine = engine_start(srv, &err)) || !(srv->checker = checker_start(srv, &err)))
		goto fail;
	srv->responses = xcalloc(routes_count() * RESPONSE_CODES, sizeof(*srv->responses));
	srv->http = http_start(srv->cfg->listen, http_threads(), routes_dispatch, routes_replied,
			       srv, &err);
	if (!srv->http)
		goto fail;
	log_info("tocsin %s listening on %s (store %s, config %s)", TOCSIN_VERSION,
		 srv->cfg->listen, srv->cfg->sqlite_path ? srv->cfg->sqlite_path : "postgres",
		 path);
	return 0;
fail:
	log_error("%s", err);
	free(err);
	return -1;
}

static void stop(struct server *srv)
{
	http_stop(srv->http, 10000);
	checker_stop(srv->checker);
	engine_stop(srv->engine);
	notify_stop(srv->notify);
	store_free(srv->store);
}

static int wait_signals(struct server *srv, const char *path, sigset_t *set)
{
	for (;;) {
		int sig = 0;
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			reload(srv, path);
			continue;
		}
		log_info("signal %d: shutting down", sig);
		return 0;
	}
}

static struct config *load_or_report(const char *path)
{
	struct strlist errs = STRLIST_INIT;
	struct config *cfg = config_load(path, &errs);
	for (size_t i = 0; i < errs.n; i++)
		log_error("%s", errs.v[i]);
	if (!cfg)
		log_error("%s: %zu error(s); not starting", path, errs.n);
	strlist_release(&errs);
	return cfg;
}

int server_serve(const char *config_path)
{
	struct server srv = { .started_at = clock_now_ms() };
	sigset_t set;
	char *err = NULL;
	int status = 1;

	if (clock_init_from_env(&err) < 0 || auth_init() < 0) {
		log_error("%s", err ? err : "cannot initialise libsodium");
		free(err);
		return 1;
	}
	if (!(srv.cfg = load_or_report(config_path)))
		return 1;
	fault_init_from_env();
	curl_global_init(CURL_GLOBAL_DEFAULT);	/* before any thread */
	/* every thread inherits this mask; only sigwait() sees these signals */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	pthread_mutex_init(&srv.cfg_lock, NULL);
	srv.rl = ratelimit_new();
	if (start(&srv, config_path) == 0)
		status = wait_signals(&srv, config_path, &set);
	stop(&srv);
	curl_global_cleanup();
	free(srv.responses);
	ratelimit_free(srv.rl);
	config_unref(srv.cfg);
	pthread_mutex_destroy(&srv.cfg_lock);
	return status;
}
