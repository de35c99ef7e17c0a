/*
 * engine.c - the engine thread: every deadline tocsin keeps, fired on time.
 *
 * Design.  A deadline is a row in the store's timers table, written in the same
 * transaction as the state it belongs to (an acknowledged incident and its
 * ack_timeout, say), so a crash can never keep one without the other.  The engine
 * keeps an in-memory min-heap of (due, timer id) mirroring those rows:
 *
 *   - at start it loads every persisted timer (overdue ones fire at once, in due
 *     order, each exactly once: firing deletes the row in the same transaction);
 *   - after each commit the store hands it the timers that batch added;
 *   - cancelling is a row delete only; the stale heap entry fires into nothing.
 *
 * Waiting: the thread sleeps on a condition variable with a monotonic timeout of
 * at most one second, then compares the heap top with clock_now_ms() (UTC, plus
 * the test offset).  Tests that move the test clock call engine_wake() instead of
 * sleeping.
 *
 * Wall-clock steps.  Deadlines are UTC because they must survive restarts, but a
 * deadline means "this long after the event", so a step of the wall clock (`date -s`,
 * a VM restored, NTP correcting a bad clock) must not make every deadline in the
 * stepped-over hour fire at once, nor hold them all back by the step.  Each turn of
 * the loop compares wall time minus CLOCK_BOOTTIME (constant while the clock only
 * runs or slews) with its value at start; when it moved by STEP_MIN_MS or more, the
 * engine moves every pending deadline by the same amount: in the heap at once, in
 * the store by a job (timers.due += step) queued before any later firing.  A fire
 * job already in flight that then finds its row not yet due hands the timer back
 * with the shifts it missed.  Timers armed in the second between a step and its
 * detection move with the others (at most a second of error on those).
 *
 * Firing is a store job (incident_fire_timer) submitted without waiting; a job that
 * hits a store fault puts its timer back, one second later.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "dueheap.h"
#include "engine.h"
#include "escalate.h"
#include "fault.h"
#include "incident.h"
#include "server.h"
#include "banned.h"

#define ENGINE_TICK_MS 1000
#define ENGINE_RETRY_MS 1000
#define STEP_MIN_MS 2000	/* slewing moves the wall clock 0.5 ms a second at most */

struct engine {
	struct server *srv;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stopping;
	struct dueheap heap;
	int inflight;		/* fire jobs submitted, not yet done */
	int64_t wall_minus_boot;	/* at start, moved by each step seen */
	int64_t shifted;	/* sum of the steps deadlines were moved by */
};

struct fire_job {
	struct store_job job;
	struct engine *engine;
	struct config *cfg;
	int64_t timer_id;
	int64_t due;
	int64_t shifted;	/* e->shifted when submitted */
	struct timer fired;	/* set by apply when the timer still existed */
};

static int fire_apply(struct store_tx *tx, struct store_job *job)
{
	struct fire_job *f = (struct fire_job *)job;
	timer_release(&f->fired);
	return incident_fire_timer(tx, f->cfg, f->timer_id, clock_now_ms(), &f->fired);
}

/* A timer's effects are durable: how late it fired, counted for /metrics. */
static void fired(struct engine *e, const struct timer *t)
{
	int64_t late = clock_now_ms() - t->due;
	server_count_lateness(e->srv, late < 0 ? 0 : late);
	if (!strcmp(t->kind, TIMER_ESCALATE))
		fault_point("escalate.committed");
}

static void fire_done(struct store_job *job, int rc)
{
	struct fire_job *f = (struct fire_job *)job;
	struct engine *e = f->engine;
	if (rc == STORE_FOUND)
		fired(e, &f->fired);
	pthread_mutex_lock(&e->lock);
	if (rc == STORE_FAULT)
		dueheap_push(&e->heap, clock_now_ms() + ENGINE_RETRY_MS, f->timer_id);
	else if (rc == TIMER_NOT_DUE)	/* moved: wait for where it is now */
		dueheap_push(&e->heap, f->fired.due + (e->shifted - f->shifted), f->timer_id);
	e->inflight--;
	pthread_cond_signal(&e->cond);
	pthread_mutex_unlock(&e->lock);
	timer_release(&f->fired);
	config_unref(f->cfg);
	free(f);
}

/* Called with the lock held; submits every due timer. */
static void fire_due(struct engine *e, int64_t now)
{
	while (e->heap.n && e->heap.v[0].due <= now) {
		struct due_item it = dueheap_pop(&e->heap);
		struct fire_job *f = xcalloc(1, sizeof(*f));
		f->job.apply = fire_apply;
		f->job.done = fire_done;
		f->engine = e;
		f->cfg = server_config(e->srv);
		f->timer_id = it.id;
		f->due = it.due;
		f->shifted = e->shifted;
		e->inflight++;
		store_submit(e->srv->store, &f->job);
	}
}

static int shift_apply(struct store_tx *tx, struct store_job *job)
{
	return tx->ops->timer_shift(tx->conn, *(int64_t *)job->arg);
}

static void shift_done(struct store_job *job, int rc)
{
	if (rc == STORE_FAULT)
		log_error("engine: could not move the stored deadlines after a clock step; "
			  "they keep their old times");
	free(job->arg);
	free(job);
}

/* Called with the lock held: moves every deadline by a wall-clock step, if any. */
static void follow_steps(struct engine *e)
{
	int64_t now = clock_wall_ms() - clock_boot_ms();
	int64_t step = now - e->wall_minus_boot;
	if (step > -STEP_MIN_MS && step < STEP_MIN_MS)
		return;
	e->wall_minus_boot = now;
	e->shifted += step;
	dueheap_shift(&e->heap, step);
	struct store_job *job = xcalloc(1, sizeof(*job));
	int64_t *arg = xmalloc(sizeof(*arg));
	*arg = step;
	job->apply = shift_apply;
	job->done = shift_done;
	job->arg = arg;
	store_submit(e->srv->store, job);
	log_warn("engine: the wall clock was stepped by %+.0f s; %zu pending deadline(s) "
		 "moved with it", (double)step / 1000, e->heap.n);
}

static void wait_until(struct engine *e, int64_t now)
{
	int64_t wait = dueheap_wait(&e->heap, now, ENGINE_TICK_MS);
	if (wait <= 0)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += wait / 1000;
	ts.tv_nsec += (wait % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&e->cond, &e->lock, &ts);
}

static void *engine_main(void *arg)
{
	struct engine *e = arg;
	pthread_mutex_lock(&e->lock);
	while (!e->stopping) {
		follow_steps(e);
		int64_t now = clock_now_ms();
		fire_due(e, now);
		wait_until(e, now);
	}
	while (e->inflight > 0)	/* the store still owes us done() calls */
		pthread_cond_wait(&e->cond, &e->lock);
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

static int load_timers(struct engine *e, char **err)
{
	size_t n;
	if (store_load_due(e->srv->store, store_ops(e->srv->store)->timer_list, &e->heap, &n) < 0) {
		*err = xstrdup("engine: cannot load timers from the store");
		return -1;
	}
	if (n)
		log_info("engine: %zu pending timer(s) loaded", n);
	return 0;
}

struct engine *engine_start(struct server *srv, char **err)
{
	struct engine *e = xcalloc(1, sizeof(*e));
	pthread_condattr_t attr;
	e->srv = srv;
	e->wall_minus_boot = clock_wall_ms() - clock_boot_ms();
	pthread_mutex_init(&e->lock, NULL);
	/* hook first: a timer committed while loading is then heard of (twice is fine:
	 * the second firing finds its row gone) */
	store_set_commit_hook(srv->store, engine_on_commit, e);
	if (load_timers(e, err) < 0) {
		store_set_commit_hook(srv->store, NULL, NULL);
		pthread_mutex_destroy(&e->lock);
		free(e);
		return NULL;
	}
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&e->cond, &attr);
	pthread_condattr_destroy(&attr);
	pthread_create(&e->thread, NULL, engine_main, e);
	pthread_setname_np(e->thread, "tocsin-engine");
	return e;
}

void engine_stop(struct engine *e)
{
	if (!e)
		return;
	store_set_commit_hook(e->srv->store, NULL, NULL);
	pthread_mutex_lock(&e->lock);
	e->stopping = 1;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	pthread_join(e->thread, NULL);
	pthread_mutex_destroy(&e->lock);
	pthread_cond_destroy(&e->cond);
	dueheap_release(&e->heap);
	free(e);
}

void engine_wake(struct engine *e)
{
	pthread_mutex_lock(&e->lock);
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

void engine_on_commit(void *arg, const struct timer_list *added)
{
	struct engine *e = arg;
	pthread_mutex_lock(&e->lock);
	for (size_t i = 0; i < added->n; i++)
		dueheap_push(&e->heap, added->v[i].due, added->v[i].id);
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

size_t engine_pending(struct engine *e)
{
	pthread_mutex_lock(&e->lock);
	size_t n = e->heap.n;
	pthread_mutex_unlock(&e->lock);
	return n;
}
