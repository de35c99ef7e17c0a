/*
 * store.h - durable state behind one interface, with one writer that group-commits.
 *
 * Backends (SQLite now, PostgreSQL later) fill a struct store_ops; nothing outside
 * store_*.c sees SQL or a driver header.  Every operation takes a struct store_conn,
 * a backend connection owned by exactly one thread at a time.
 *
 * Writes: all state changes run on the single writer thread, as jobs.  The writer
 * takes every queued job (up to STORE_BATCH_MAX), opens one transaction, runs each
 * job's apply(), commits once, and only then calls each job's done().  That is group
 * commit: one fsync for a whole batch, and a job's caller learns of success only
 * after its writes are durable.  STORE_FAULT (disk full, I/O error, lock timeout)
 * rolls the whole batch back and every job in it is done() with STORE_FAULT, so
 * nothing is half-written.
 *
 * An apply() may also fail on its own (return < 0 other than STORE_FAULT): the batch
 * goes on.  It must then have written nothing, unless the job sets .savepoint, which
 * runs it inside its own savepoint so its writes are undone.  Savepoints cost two
 * statements per job, so the hot path (events) does without: its appliers decide
 * everything before they write.
 *
 * Reads: store_read_begin() lends a reader connection from a pool (WAL readers see
 * the last commit and never block the writer); store_read_end() returns it.
 */
#ifndef TOCSIN_STORE_H
#define TOCSIN_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "util.h"

#define STORE_OK	0
#define STORE_FOUND	1
#define STORE_NOTFOUND	0
#define STORE_FAULT	(-1000)	/* the backend failed: retry later, answer 503 */

#define STORE_BATCH_MAX 512

struct store_conn;

struct incident_filter {
	unsigned status_mask;	/* bit (1 << INC_*); 0 means all */
	const char *service;	/* NULL: all */
	int64_t created_since;	/* 0: no bound */
	int64_t limit;		/* 0: no limit */
};

struct pm_filter {
	const char *status;	/* NULL: all */
	const char *owner;	/* NULL: all */
	int64_t incident;	/* 0: all; else the postmortems of this incident */
};

struct action_filter {
	int64_t postmortem;	/* 0: all */
	const char *owner;	/* NULL: all */
	int open_only;		/* only status open */
	int64_t due_before;	/* 0: no bound; else only due_at <= due_before */
};

/*
 * The backend.  Every hook is mandatory.  Return conventions:
 *  - STORE_OK (0) on success, STORE_FOUND (1) for a lookup that found its record,
 *    STORE_NOTFOUND (0) for one that did not, STORE_FAULT on a backend error.
 *  - Records written through an out-pointer are the caller's to release.
 */
struct store_ops {
	const char *name;
	/* Opens a connection to target (a path for SQLite, a conninfo for PostgreSQL). */
	struct store_conn *(*connect)(const char *target, char **err);
	void (*disconnect)(struct store_conn *c);
	/* Brings the schema to the newest version; idempotent. */
	int (*migrate)(struct store_conn *c, char **err);
	int (*schema_version)(struct store_conn *c);
	/* True when the backend is reachable and answers (readiness). */
	int (*ping)(struct store_conn *c);

	int (*begin)(struct store_conn *c);
	int (*commit)(struct store_conn *c);
	int (*rollback)(struct store_conn *c);
	int (*savepoint)(struct store_conn *c);
	int (*release_savepoint)(struct store_conn *c);
	int (*rollback_savepoint)(struct store_conn *c);

	int (*alert_find_open)(struct store_conn *c, const char *service,
			       const char *dedup_key, struct alert *out);
	int (*alert_insert)(struct store_conn *c, struct alert *a);	/* sets a->id */
	int (*alert_bump)(struct store_conn *c, int64_t id, int64_t at);
	int (*alert_resolve)(struct store_conn *c, int64_t id, int64_t at);
	int (*alert_list)(struct store_conn *c, int64_t incident, struct alert_list *out);
	int (*alert_resolve_all)(struct store_conn *c, int64_t incident, int64_t at);

	int (*incident_insert)(struct store_conn *c, struct incident *i);	/* sets number */
	int (*incident_get)(struct store_conn *c, int64_t number, struct incident *out);
	int (*incident_update)(struct store_conn *c, const struct incident *i);
	/* The newest open incident of service created at or after since, with group_key
	 * equal to group (NULL: any group). */
	int (*incident_find_open)(struct store_conn *c, const char *service,
				  const char *group, int64_t since, struct incident *out);
	int (*incident_list)(struct store_conn *c, const struct incident_filter *f,
			     struct incident_list *out);
	/* How many incidents are in each status (indexed by INC_*). */
	int (*incident_counts)(struct store_conn *c, int64_t counts[3]);

	int (*log_append)(struct store_conn *c, struct log_entry *e);	/* sets id */
	int (*log_list)(struct store_conn *c, int64_t incident, struct log_list *out);

	int (*change_insert)(struct store_conn *c, struct change_event *ch);
	/* Changes of service (NULL: all) with at in [since, until], newest first. */
	int (*change_list)(struct store_conn *c, const char *service, int64_t since,
			   int64_t until, int64_t limit, struct change_list *out);

	int (*token_insert)(struct store_conn *c, const char *user, const char *hash,
			    int64_t at);
	/* Finds the user of a live token by its hash; *user is the caller's to free. */
	int (*token_lookup)(struct store_conn *c, const char *hash, char **user);

	int (*timer_insert)(struct store_conn *c, struct timer *t);	/* sets id */
	int (*timer_get)(struct store_conn *c, int64_t id, struct timer *out);
	int (*timer_delete)(struct store_conn *c, int64_t id);
	/* Deletes the incident's timers of kind (NULL: every kind). */
	int (*timer_cancel)(struct store_conn *c, int64_t incident, const char *kind);
	int (*timer_list)(struct store_conn *c, struct timer_list *out);
	/* Moves every timer's deadline by delta ms (the wall clock was stepped). */
	int (*timer_shift)(struct store_conn *c, int64_t delta);
	/* STORE_FOUND and *due of the incident's earliest timer of kind. */
	int (*timer_next)(struct store_conn *c, int64_t incident, const char *kind, int64_t *due);

	int (*page_insert)(struct store_conn *c, struct page *p);	/* sets id */
	/* The incident's pages, oldest first. */
	int (*page_list)(struct store_conn *c, int64_t incident, struct page_list *out);

	int (*notification_insert)(struct store_conn *c, struct notification *n);	/* sets id */
	int (*notification_get)(struct store_conn *c, int64_t id, struct notification *out);
	/* Writes status, due, attempts, sent_at and last_error. */
	int (*notification_update)(struct store_conn *c, const struct notification *n);
	/* Every pending notification (id and due only), for the worker's start. */
	int (*notification_pending)(struct store_conn *c, struct timer_list *out);
	/* The incident's notifications, oldest first. */
	int (*notification_list)(struct store_conn *c, int64_t incident,
				 struct notification_list *out);
	/* Pending page deliveries of the incident become cancelled. */
	int (*notification_cancel)(struct store_conn *c, int64_t incident);
	/* How many deliveries to user's contact were sent at or after since, and the
	 * earliest of those sent_at (0 when none). */
	int (*notification_sent_since)(struct store_conn *c, const char *user, const char *contact,
				       int64_t since, int64_t *count, int64_t *earliest);
	/* user's notifications on contact with status (e.g. bundled), oldest first. */
	int (*notification_by_status)(struct store_conn *c, const char *user, const char *contact,
				      const char *status, struct notification_list *out);

	/* A value kept in the store (e.g. the key that signs action links). */
	int (*setting_get)(struct store_conn *c, const char *name, struct buf *value);
	int (*setting_put)(struct store_conn *c, const char *name, const void *value, size_t len);
	/* Records the single use of token: STORE_OK, or STORE_FOUND when it was used. */
	int (*act_use)(struct store_conn *c, const char *token, const char *user, int64_t at);
	/* Records that a shift notice went out: STORE_OK, or STORE_FOUND when it had. */
	int (*shift_notice_add)(struct store_conn *c, const char *schedule, const char *user,
				int64_t start);

	/* Every check's stored status. */
	int (*check_status_list)(struct store_conn *c, struct check_status_list *out);
	/* Writes one check's status (insert or replace). */
	int (*check_status_put)(struct store_conn *c, const struct check_status *s);
	/* Records a heartbeat ping: last_ping of an existing status, or the status s
	 * when the check has none yet. */
	int (*check_ping)(struct store_conn *c, const struct check_status *s);
	/* Adds a result to a check's history and, keep >= 0, keeps only its newest keep. */
	int (*check_result_add)(struct store_conn *c, const char *id,
				const struct check_result_row *r, int keep);
	/* A check's newest results, newest first. */
	int (*check_results)(struct store_conn *c, const char *id, int64_t limit,
			     struct check_result_list *out);

	int (*override_insert)(struct store_conn *c, struct override *o);	/* sets id */
	/* Overrides of schedule (NULL: all) that overlap [from, to), oldest first. */
	int (*override_list)(struct store_conn *c, const char *schedule, int64_t from, int64_t to,
			     struct override_list *out);
	/* STORE_FOUND when the override existed (and is gone), else STORE_NOTFOUND. */
	int (*override_delete)(struct store_conn *c, const char *schedule, int64_t id);

	int (*postmortem_insert)(struct store_conn *c, struct postmortem *p);	/* sets id */
	int (*postmortem_get)(struct store_conn *c, int64_t id, struct postmortem *out);
	int (*postmortem_update)(struct store_conn *c, const struct postmortem *p);
	/* The postmortems that match, newest first. */
	int (*postmortem_list)(struct store_conn *c, const struct pm_filter *f,
			       struct postmortem_list *out);
	int (*pm_revision_add)(struct store_conn *c, struct pm_revision *r);	/* sets id */
	/* A postmortem's revisions, oldest first. */
	int (*pm_revision_list)(struct store_conn *c, int64_t postmortem,
				struct pm_revision_list *out);
	int (*action_insert)(struct store_conn *c, struct action_item *a);	/* sets id */
	int (*action_get)(struct store_conn *c, int64_t id, struct action_item *out);
	int (*action_update)(struct store_conn *c, const struct action_item *a);
	int (*action_delete)(struct store_conn *c, int64_t id);
	/* The action items that match, by postmortem and position; the overdue ones
	 * (open_only and due_before, any postmortem) by due day. */
	int (*action_list)(struct store_conn *c, const struct action_filter *f,
			   struct action_list *out);

	int (*maintenance_set)(struct store_conn *c, const char *service, int64_t start,
			       int64_t end, const char *actor);
	/* The latest end of any maintenance window (0 when there is none). */
	int (*maintenance_horizon)(struct store_conn *c, int64_t *end);
	/* STORE_FOUND and *until when service is in a window at now. */
	int (*maintenance_active)(struct store_conn *c, const char *service, int64_t now,
				  int64_t *until);
};

extern const struct store_ops store_sqlite_ops;
/* The SQLite schema as numbered migrations (store_sqlite_schema.c). */
extern const char *const sqlite_migrations[];
extern const size_t sqlite_migrations_count;

struct store;

/*
 * A transaction on the writer's connection, handed to apply().  Timers that apply()
 * adds with store_tx_timer_add() are announced to the commit hook after commit.
 */
struct store_tx {
	const struct store_ops *ops;
	struct store_conn *conn;
	struct timer_list new_timers;
	/* Deliveries (id, due) that apply() added: announced to the notify hook. */
	struct timer_list new_deliveries;
	/* No maintenance window ends after this instant (-1: unknown).  Lets the writer
	 * skip the per-incident maintenance lookup when no window is open; whoever
	 * adds a window sets it back to -1. */
	int64_t maint_horizon;
};

struct store_job {
	/* Runs on the writer thread inside the batch transaction. */
	int (*apply)(struct store_tx *tx, struct store_job *job);
	/* Runs on the writer thread after the batch committed (rc = apply's result)
	 * or failed (rc = STORE_FAULT).  May free the job; must not block. */
	void (*done)(struct store_job *job, int rc);
	void *arg;
	int savepoint;		/* undo this job's writes when apply() fails */
	int rc;
	struct store_job *next;	/* the queue's link; owned by the store */
};

/*
 * Opens the backend named by the config's storage (SQLite path, creating its
 * directory), migrates it, and starts the writer thread.  NULL and *err on failure.
 */
struct store *store_open(const char *sqlite_path, const char *postgres, char **err);
/* Drains the queue, stops the writer and closes every connection. */
void store_free(struct store *st);

/* Queues a job for the writer.  Never blocks on the disk. */
void store_submit(struct store *st, struct store_job *job);
/* Queues a job and waits for its done(); returns its rc.  Not from the writer. */
int store_run(struct store *st, int (*apply)(struct store_tx *, struct store_job *),
	      void *arg);

/* A hook the writer calls after a commit with what the batch added; it runs on the
 * writer thread and must not block.  Set (or cleared, with NULL) at any time. */
typedef void store_hook_fn(void *ctx, const struct timer_list *added);
struct store_hook {
	store_hook_fn *fn;
	void *ctx;
};
/* The timers a batch added (the engine). */
void store_set_commit_hook(struct store *st, store_hook_fn *hook, void *ctx);
/* The deliveries a batch added (the notification worker). */
void store_set_notify_hook(struct store *st, store_hook_fn *hook, void *ctx);

/* Adds a delivery inside a transaction (sets n->id); the notify hook hears of it
 * after commit. */
int store_tx_notification_add(struct store_tx *tx, struct notification *n);
/* Announces a delivery (re)scheduled at due by this transaction, after commit. */
void store_tx_delivery_due(struct store_tx *tx, int64_t id, int64_t due);

/* Adds a timer inside a transaction; the commit hook hears of it after commit. */
int store_tx_timer_add(struct store_tx *tx, int64_t incident, const char *kind,
		       int64_t due);

struct dueheap;
/* Reads rows of (id, due) through a reader with op (timer_list, notification_pending)
 * into heap; *n how many.  STORE_OK or STORE_FAULT. */
int store_load_due(struct store *st, int (*op)(struct store_conn *, struct timer_list *),
		   struct dueheap *heap, size_t *n);

/* Lends a reader connection (blocking when all are busy) and takes it back. */
struct store_conn *store_read_begin(struct store *st);
void store_read_end(struct store *st, struct store_conn *c);
const struct store_ops *store_ops(const struct store *st);

/* Jobs committed and batches committed since start (for /metrics and the bench). */
void store_counters(struct store *st, uint64_t *jobs, uint64_t *batches);

/* How long commits took (begin to commit, fsync included): a histogram over
 * STORE_COMMIT_BOUNDS_US, cumulative; *sum_us and *count of all. */
#define STORE_COMMIT_BUCKETS 9
extern const int64_t STORE_COMMIT_BOUNDS_US[STORE_COMMIT_BUCKETS];
void store_commit_stats(struct store *st, uint64_t buckets[STORE_COMMIT_BUCKETS],
			uint64_t *sum_us, uint64_t *count);

#endif
