/*
 * store.c - the writer thread (group commit) and the reader pool, over any backend.
 *
 * Design.  Durability costs one fsync per commit, and an fsync takes about as long
 * as thousands of inserts.  So state changes are not committed one by one: callers
 * queue jobs (store_submit), and a single writer thread drains the queue in batches:
 *
 *     BEGIN
 *       job1.apply
 *       job2.apply                           (in a savepoint if the job asks)
 *       ...
 *     COMMIT                                 one fsync for the whole batch
 *     job1.done(rc), job2.done(rc), ...      callers may now answer "202"
 *
 * While a batch commits, new jobs pile up in the queue and form the next batch, so
 * the batch size adapts to the load by itself: one job when idle (no added
 * latency), hundreds under load (throughput).  A single writer also makes every
 * read-modify-write in apply() race-free without row locks.
 *
 * A backend fault (STORE_FAULT) anywhere rolls back the whole batch: every job in it
 * is told STORE_FAULT and nothing of it is visible, so an HTTP caller answers 503 and
 * the sender retries.  After a fault the writer backs off briefly before the next
 * batch, and recovers by itself when the fault clears.
 *
 * Readers borrow connections from a small pool; with WAL they see the last commit
 * and never wait for the writer.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "dueheap.h"
#include "store.h"
#include "banned.h"

#define READERS_MAX 16

struct store {
	const struct store_ops *ops;
	char *target;

	pthread_mutex_t lock;
	pthread_cond_t wake;		/* writer: jobs arrived or stopping */
	struct store_job *head, *tail;
	int stopping;
	pthread_t writer;
	struct store_conn *wconn;

	pthread_mutex_t rlock;
	pthread_cond_t rfree;
	struct store_conn *readers[READERS_MAX];
	size_t nreaders;		/* idle connections in readers[] */
	size_t nopen;			/* reader connections in existence */

	pthread_mutex_t hook_lock;
	struct store_hook commit;	/* new timers: the engine */
	struct store_hook notify;	/* new deliveries: the notification worker */

	uint64_t jobs_done, batches_done;	/* writer thread only; read racily */
	uint64_t commit_buckets[STORE_COMMIT_BUCKETS];	/* atomic */
	uint64_t commit_us_sum;
	uint64_t commits_ok;
};

/* Hooks are set and cleared by the threads they wake while the writer runs: a hook
 * is called under hook_lock, so once store_set_*_hook(NULL) returns no call of the
 * old one is running or will run.  Hooks only take their own locks: no deadlock. */
static void hook_call(struct store *st, const struct store_hook *slot,
		      const struct timer_list *added)
{
	pthread_mutex_lock(&st->hook_lock);
	if (slot->fn)
		slot->fn(slot->ctx, added);
	pthread_mutex_unlock(&st->hook_lock);
}

static void hook_set(struct store *st, struct store_hook *slot, store_hook_fn *fn, void *ctx)
{
	pthread_mutex_lock(&st->hook_lock);
	slot->fn = fn;
	slot->ctx = ctx;
	pthread_mutex_unlock(&st->hook_lock);
}

static int make_parent_dir(const char *path, char **err)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	int rc = 0;
	if (slash && slash != dir) {
		*slash = '\0';
		for (char *p = dir + 1; *p; p++) {
			if (*p != '/')
				continue;
			*p = '\0';
			mkdir(dir, 0750);
			*p = '/';
		}
		if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
			*err = xasprintf("cannot create directory '%s': %s", dir, strerror(errno));
			rc = -1;
		}
	}
	free(dir);
	return rc;
}

/* Runs one job (inside a savepoint when it asks); returns its rc, or STORE_FAULT. */
static int run_job(struct store *st, struct store_tx *tx, struct store_job *job)
{
	size_t ntimers = tx->new_timers.n, ndeliveries = tx->new_deliveries.n;
	if (job->savepoint && st->ops->savepoint(tx->conn) != STORE_OK)
		return STORE_FAULT;
	int rc = job->apply(tx, job);
	if (rc == STORE_FAULT)
		return rc;
	if (rc < 0) {	/* the job's own failure: forget its timers and deliveries */
		while (tx->new_timers.n > ntimers)
			timer_release(&tx->new_timers.v[--tx->new_timers.n]);
		while (tx->new_deliveries.n > ndeliveries)
			timer_release(&tx->new_deliveries.v[--tx->new_deliveries.n]);
	}
	if (!job->savepoint)
		return rc;
	if (rc < 0)
		return st->ops->rollback_savepoint(tx->conn) == STORE_OK ? rc : STORE_FAULT;
	return st->ops->release_savepoint(tx->conn) == STORE_OK ? rc : STORE_FAULT;
}

/* Applies and commits one batch; sets each job's rc. */
static int commit_batch(struct store *st, struct store_job *batch, struct store_tx *tx)
{
	if (st->ops->begin(tx->conn) != STORE_OK)
		return STORE_FAULT;
	for (struct store_job *j = batch; j; j = j->next) {
		j->rc = run_job(st, tx, j);
		if (j->rc == STORE_FAULT)
			goto fail;
	}
	if (st->ops->commit(tx->conn) != STORE_OK)
		goto fail;
	return STORE_OK;
fail:
	st->ops->rollback(tx->conn);
	return STORE_FAULT;
}

static struct store_job *take_batch(struct store *st)
{
	pthread_mutex_lock(&st->lock);
	while (!st->head && !st->stopping)
		pthread_cond_wait(&st->wake, &st->lock);
	struct store_job *batch = st->head, *last = batch;
	for (int n = 1; last && last->next && n < STORE_BATCH_MAX; n++)
		last = last->next;
	if (last) {
		st->head = last->next;
		if (!st->head)
			st->tail = NULL;
		last->next = NULL;
	}
	pthread_mutex_unlock(&st->lock);
	return batch;
}

static void finish_batch(struct store *st, struct store_job *batch, int fault,
			 struct store_tx *tx)
{
	if (!fault && tx->new_timers.n)
		hook_call(st, &st->commit, &tx->new_timers);
	if (!fault && tx->new_deliveries.n)
		hook_call(st, &st->notify, &tx->new_deliveries);
	timer_list_release(&tx->new_timers);
	timer_list_release(&tx->new_deliveries);
	for (struct store_job *j = batch, *next; j; j = next) {
		next = j->next;	/* done() may free j */
		if (fault)
			j->rc = STORE_FAULT;
		__atomic_fetch_add(&st->jobs_done, 1, __ATOMIC_RELAXED);
		j->done(j, j->rc);
	}
	__atomic_fetch_add(&st->batches_done, 1, __ATOMIC_RELAXED);
}

const int64_t STORE_COMMIT_BOUNDS_US[STORE_COMMIT_BUCKETS] = { 500, 1000, 2500, 5000, 10000,
								25000, 50000, 100000, 1000000 };

static void count_commit(struct store *st, int64_t us)
{
	for (size_t i = 0; i < STORE_COMMIT_BUCKETS; i++)
		if (us <= STORE_COMMIT_BOUNDS_US[i])
			__atomic_add_fetch(&st->commit_buckets[i], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&st->commit_us_sum, (uint64_t)us, __ATOMIC_RELAXED);
	__atomic_add_fetch(&st->commits_ok, 1, __ATOMIC_RELAXED);
}

static int64_t clock_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void *writer_main(void *arg)
{
	struct store *st = arg;
	struct store_tx tx = { .ops = st->ops, .conn = st->wconn, .maint_horizon = -1 };
	struct store_job *batch;

	while ((batch = take_batch(st))) {
		int64_t t0 = clock_mono_us();
		int fault = commit_batch(st, batch, &tx) == STORE_FAULT;
		if (!fault)
			count_commit(st, clock_mono_us() - t0);
		finish_batch(st, batch, fault, &tx);
		if (fault) {
			tx.maint_horizon = -1;	/* it may have seen rolled-back rows */
			struct timespec pause = { 0, 50 * 1000 * 1000 };
			nanosleep(&pause, NULL);
		}
	}
	return NULL;
}

struct store *store_open(const char *sqlite_path, const char *postgres, char **err)
{
	if (postgres) {
		*err = xstrdup("storage 'postgres' is not available in this build yet: "
			       "use 'sqlite'");
		return NULL;
	}
	if (make_parent_dir(sqlite_path, err) < 0)
		return NULL;
	struct store *st = xcalloc(1, sizeof(*st));
	st->ops = &store_sqlite_ops;
	st->target = xstrdup(sqlite_path);
	st->wconn = st->ops->connect(st->target, err);
	if (!st->wconn || st->ops->migrate(st->wconn, err) != STORE_OK)
		goto fail;
	chmod(st->target, 0600);
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->wake, NULL);
	pthread_mutex_init(&st->rlock, NULL);
	pthread_cond_init(&st->rfree, NULL);
	pthread_mutex_init(&st->hook_lock, NULL);
	pthread_create(&st->writer, NULL, writer_main, st);
	pthread_setname_np(st->writer, "tocsin-writer");
	return st;
fail:
	st->ops->disconnect(st->wconn);
	free(st->target);
	free(st);
	return NULL;
}

void store_free(struct store *st)
{
	if (!st)
		return;
	pthread_mutex_lock(&st->lock);
	st->stopping = 1;
	pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->lock);
	pthread_join(st->writer, NULL);
	st->ops->disconnect(st->wconn);
	for (size_t i = 0; i < st->nreaders; i++)
		st->ops->disconnect(st->readers[i]);
	pthread_mutex_destroy(&st->lock);
	pthread_cond_destroy(&st->wake);
	pthread_mutex_destroy(&st->rlock);
	pthread_cond_destroy(&st->rfree);
	pthread_mutex_destroy(&st->hook_lock);
	free(st->target);
	free(st);
}

void store_submit(struct store *st, struct store_job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&st->lock);
	if (st->tail)
		st->tail->next = job;
	else
		st->head = job;
	st->tail = job;
	pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->lock);
}

struct sync_job {
	struct store_job job;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int finished;
};

static void sync_done(struct store_job *job, int rc)
{
	struct sync_job *s = (struct sync_job *)job;
	pthread_mutex_lock(&s->lock);
	s->finished = 1;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

int store_run(struct store *st, int (*apply)(struct store_tx *, struct store_job *), void *arg)
{
	struct sync_job s = { .job = { .apply = apply, .done = sync_done, .arg = arg } };
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.cond, NULL);
	store_submit(st, &s.job);
	pthread_mutex_lock(&s.lock);
	while (!s.finished)
		pthread_cond_wait(&s.cond, &s.lock);
	pthread_mutex_unlock(&s.lock);
	pthread_mutex_destroy(&s.lock);
	pthread_cond_destroy(&s.cond);
	return s.job.rc;
}

void store_set_commit_hook(struct store *st, store_hook_fn *hook, void *ctx)
{
	hook_set(st, &st->commit, hook, ctx);
}

void store_set_notify_hook(struct store *st, store_hook_fn *hook, void *ctx)
{
	hook_set(st, &st->notify, hook, ctx);
}

int store_tx_notification_add(struct store_tx *tx, struct notification *n)
{
	int rc = tx->ops->notification_insert(tx->conn, n);
	if (rc == STORE_OK)
		store_tx_delivery_due(tx, n->id, n->due);
	return rc;
}

void store_tx_delivery_due(struct store_tx *tx, int64_t id, int64_t due)
{
	struct timer *added = timer_list_add(&tx->new_deliveries);
	added->id = id;
	added->due = due;
}

int store_tx_timer_add(struct store_tx *tx, int64_t incident, const char *kind, int64_t due)
{
	struct timer t = { .incident = incident, .kind = (char *)kind, .due = due };
	int rc = tx->ops->timer_insert(tx->conn, &t);
	if (rc != STORE_OK)
		return rc;
	struct timer *added = timer_list_add(&tx->new_timers);
	*added = t;
	added->kind = xstrdup(kind);
	return STORE_OK;
}

int store_load_due(struct store *st, int (*op)(struct store_conn *, struct timer_list *),
		   struct dueheap *heap, size_t *n)
{
	struct timer_list l = { 0 };
	struct store_conn *c = store_read_begin(st);
	int rc = c ? op(c, &l) : STORE_FAULT;
	store_read_end(st, c);
	for (size_t i = 0; rc != STORE_FAULT && i < l.n; i++)
		dueheap_push(heap, l.v[i].due, l.v[i].id);
	*n = rc == STORE_FAULT ? 0 : l.n;
	timer_list_release(&l);
	return rc == STORE_FAULT ? STORE_FAULT : STORE_OK;
}

struct store_conn *store_read_begin(struct store *st)
{
	struct store_conn *c = NULL;
	pthread_mutex_lock(&st->rlock);
	while (!st->nreaders && st->nopen >= READERS_MAX)
		pthread_cond_wait(&st->rfree, &st->rlock);
	if (st->nreaders)
		c = st->readers[--st->nreaders];
	else
		st->nopen++;
	pthread_mutex_unlock(&st->rlock);
	if (!c) {
		char *err = NULL;
		c = st->ops->connect(st->target, &err);
		if (!c) {
			log_error("store: %s", err);
			free(err);
			pthread_mutex_lock(&st->rlock);
			st->nopen--;
			pthread_mutex_unlock(&st->rlock);
		}
	}
	return c;
}

void store_read_end(struct store *st, struct store_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&st->rlock);
	st->readers[st->nreaders++] = c;
	pthread_cond_signal(&st->rfree);
	pthread_mutex_unlock(&st->rlock);
}

const struct store_ops *store_ops(const struct store *st)
{
	return st->ops;
}

void store_commit_stats(struct store *st, uint64_t buckets[STORE_COMMIT_BUCKETS],
			uint64_t *sum_us, uint64_t *count)
{
	for (size_t i = 0; i < STORE_COMMIT_BUCKETS; i++)
		buckets[i] = __atomic_load_n(&st->commit_buckets[i], __ATOMIC_RELAXED);
	*sum_us = __atomic_load_n(&st->commit_us_sum, __ATOMIC_RELAXED);
	*count = __atomic_load_n(&st->commits_ok, __ATOMIC_RELAXED);
}

void store_counters(struct store *st, uint64_t *jobs, uint64_t *batches)
{
	*jobs = __atomic_load_n(&st->jobs_done, __ATOMIC_RELAXED);
	*batches = __atomic_load_n(&st->batches_done, __ATOMIC_RELAXED);
}
