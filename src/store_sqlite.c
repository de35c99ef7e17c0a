/*
 * store_sqlite.c - the embedded SQLite backend of struct store_ops.
 *
 * The only file that includes sqlite3.h.  One struct store_conn wraps one sqlite3
 * handle plus its prepared statements, prepared on first use from the stmt_sql[]
 * table and reused (reset + rebind) on every call: at tens of thousands of events a
 * second, parsing SQL per call would cost more than the inserts.
 *
 * Durability: WAL journal with synchronous=FULL, so a COMMIT returns only after the
 * WAL is fsync'ed; the writer batches jobs (store.c) so one fsync covers many events.
 * busy_timeout keeps a short external lock (a `tocsin token create` in another
 * process) from failing a batch.  SQL is never built by string formatting: every
 * value is a bound parameter.
 *
 * Schema changes are the numbered migrations of store_sqlite_schema.c; migrate()
 * applies those above PRAGMA user_version in one transaction each.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "store.h"
#include "banned.h"

enum stmt {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_SAVEPOINT,
	S_RELEASE,
	S_ROLLBACK_TO,
	S_ALERT_FIND_OPEN,
	S_ALERT_INSERT,
	S_ALERT_BUMP,
	S_ALERT_RESOLVE,
	S_ALERT_LIST,
	S_ALERT_RESOLVE_ALL,
	S_INCIDENT_INSERT,
	S_INCIDENT_GET,
	S_INCIDENT_UPDATE,
	S_INCIDENT_FIND_OPEN,
	S_INCIDENT_FIND_OPEN_GROUP,
	S_LOG_APPEND,
	S_LOG_LIST,
	S_CHANGE_INSERT,
	S_CHANGE_LIST,
	S_CHANGE_LIST_ALL,
	S_TOKEN_INSERT,
	S_TOKEN_LOOKUP,
	S_TIMER_INSERT,
	S_TIMER_GET,
	S_TIMER_DELETE,
	S_TIMER_CANCEL,
	S_TIMER_CANCEL_ALL,
	S_TIMER_LIST,
	S_TIMER_NEXT,
	S_INCIDENT_COUNTS,
	S_TIMER_SHIFT,
	S_PAGE_INSERT,
	S_PAGE_LIST,
	S_NOTIF_INSERT,
	S_NOTIF_GET,
	S_NOTIF_UPDATE,
	S_NOTIF_PENDING,
	S_NOTIF_LIST,
	S_NOTIF_CANCEL,
	S_NOTIF_SENT_SINCE,
	S_NOTIF_BY_STATUS,
	S_SETTING_GET,
	S_SETTING_PUT,
	S_ACT_USE,
	S_SHIFT_NOTICE,
	S_CHECK_STATUS_LIST,
	S_CHECK_STATUS_PUT,
	S_CHECK_PING,
	S_CHECK_RESULT_ADD,
	S_CHECK_RESULT_TRIM,
	S_CHECK_RESULTS,
	S_MAINT_SET,
	S_MAINT_ACTIVE,
	S_MAINT_HORIZON,
	S_OVERRIDE_INSERT,
	S_OVERRIDE_LIST,
	S_OVERRIDE_LIST_ALL,
	S_OVERRIDE_DELETE,
	S_PM_INSERT,
	S_PM_GET,
	S_PM_UPDATE,
	S_PM_LIST,
	S_PM_LIST_INCIDENT,
	S_REV_ADD,
	S_REV_LIST,
	S_ACT_INSERT,
	S_ACT_GET,
	S_ACT_UPDATE,
	S_ACT_DELETE,
	S_ACT_LIST,
	S_ACT_LIST_PM,
	S_ACT_LIST_DUE,
	S_PING,
	S_COUNT
};

#define ALERT_COLS "id, incident, service, dedup_key, resolved, count, summary, source, " \
		   "severity, details, integration, created_at, updated_at, resolved_at"
#define NOTIF_COLS "id, page, incident, user, contact, channel, kind, due, status, attempts, " \
		   "created_at, sent_at, last_error, text"
#define INCIDENT_COLS "number, service, title, status, severity, urgency_high, created_at, " \
		      "acknowledged_at, resolved_at, updated_at, assigned_to, escalation_level, " \
		      "alert_count, open_alerts, group_key, paged, policy, escalation_loop"

#define PM_COLS "id, incident, incidents, title, owner, status, severity, services, impact_start, " \
		"detected, acknowledged, mitigated, resolved, detection, factors, approvals, body, " \
		"revision, created_at, updated_at"
#define ACTION_COLS "id, postmortem, position, text, owner, due, due_at, status, reason, " \
		    "ticket, created_at, updated_at, reminded_at"

static const char *const stmt_sql[S_COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_SAVEPOINT] = "SAVEPOINT job",
	[S_RELEASE] = "RELEASE job",
	[S_ROLLBACK_TO] = "ROLLBACK TO job",
	[S_ALERT_FIND_OPEN] = "SELECT " ALERT_COLS " FROM alerts"
			      " WHERE service = ?1 AND dedup_key = ?2 AND resolved = 0",
	[S_ALERT_INSERT] = "INSERT INTO alerts (incident, service, dedup_key, resolved, count,"
			   " summary, source, severity, details, integration, created_at,"
			   " updated_at, resolved_at) VALUES (?1,?2,?3,0,1,?4,?5,?6,?7,?8,?9,?9,0)",
	[S_ALERT_BUMP] = "UPDATE alerts SET count = count + 1, updated_at = ?2 WHERE id = ?1",
	[S_ALERT_RESOLVE] = "UPDATE alerts SET resolved = 1, resolved_at = ?2, updated_at = ?2"
			    " WHERE id = ?1",
	[S_ALERT_LIST] = "SELECT " ALERT_COLS " FROM alerts WHERE incident = ?1 ORDER BY id",
	[S_ALERT_RESOLVE_ALL] = "UPDATE alerts SET resolved = 1, resolved_at = ?2, updated_at = ?2"
				" WHERE incident = ?1 AND resolved = 0",
	[S_INCIDENT_INSERT] = "INSERT INTO incidents (service, title, status, severity, urgency_high,"
			      " created_at, acknowledged_at, resolved_at, updated_at, assigned_to,"
			      " escalation_level, alert_count, open_alerts, group_key, paged, policy,"
			      " escalation_loop)"
			      " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)",
	[S_INCIDENT_GET] = "SELECT " INCIDENT_COLS " FROM incidents WHERE number = ?1",
	[S_INCIDENT_UPDATE] = "UPDATE incidents SET title = ?2, status = ?3, severity = ?4,"
			      " urgency_high = ?5, acknowledged_at = ?6, resolved_at = ?7,"
			      " updated_at = ?8, assigned_to = ?9, escalation_level = ?10,"
			      " alert_count = ?11, open_alerts = ?12, paged = ?13, policy = ?14,"
			      " escalation_loop = ?15 WHERE number = ?1",
	[S_INCIDENT_FIND_OPEN] = "SELECT " INCIDENT_COLS " FROM incidents WHERE service = ?1"
				 " AND status < 2 AND created_at >= ?2"
				 " ORDER BY number DESC LIMIT 1",
	[S_INCIDENT_FIND_OPEN_GROUP] = "SELECT " INCIDENT_COLS " FROM incidents WHERE service = ?1"
				       " AND status < 2 AND created_at >= ?2 AND group_key = ?3"
				       " ORDER BY number DESC LIMIT 1",
	[S_LOG_APPEND] = "INSERT INTO log (incident, at, type, actor, message) VALUES (?1,?2,?3,?4,?5)",
	[S_LOG_LIST] = "SELECT id, incident, at, type, actor, message FROM log WHERE incident = ?1"
		       " ORDER BY id",
	[S_CHANGE_INSERT] = "INSERT INTO changes (service, at, summary, source, payload)"
			    " VALUES (?1,?2,?3,?4,?5)",
	[S_CHANGE_LIST] = "SELECT id, service, at, summary, source, payload FROM changes"
			  " WHERE service = ?1 AND at >= ?2 AND at <= ?3 ORDER BY at DESC, id DESC"
			  " LIMIT ?4",
	[S_CHANGE_LIST_ALL] = "SELECT id, service, at, summary, source, payload FROM changes"
			      " WHERE at >= ?2 AND at <= ?3 ORDER BY at DESC, id DESC LIMIT ?4",
	[S_TOKEN_INSERT] = "INSERT INTO tokens (user, hash, created_at) VALUES (?1,?2,?3)",
	[S_TOKEN_LOOKUP] = "SELECT user FROM tokens WHERE hash = ?1 AND revoked_at = 0",
	[S_TIMER_INSERT] = "INSERT INTO timers (incident, kind, due) VALUES (?1,?2,?3)",
	[S_TIMER_GET] = "SELECT id, incident, kind, due FROM timers WHERE id = ?1",
	[S_TIMER_DELETE] = "DELETE FROM timers WHERE id = ?1",
	[S_TIMER_CANCEL] = "DELETE FROM timers WHERE incident = ?1 AND kind = ?2",
	[S_TIMER_CANCEL_ALL] = "DELETE FROM timers WHERE incident = ?1",
	[S_TIMER_LIST] = "SELECT id, incident, kind, due FROM timers ORDER BY due, id",
	[S_TIMER_SHIFT] = "UPDATE timers SET due = due + ?1",
	[S_INCIDENT_COUNTS] = "SELECT status, count(*) FROM incidents GROUP BY status",
	[S_TIMER_NEXT] = "SELECT min(due) FROM timers WHERE incident = ?1 AND kind = ?2",
	[S_PAGE_INSERT] = "INSERT INTO pages (incident, user, level, loop, reason, created_at, status)"
			  " VALUES (?1,?2,?3,?4,?5,?6,'planned')",
	[S_NOTIF_INSERT] = "INSERT INTO notifications (page, incident, user, contact, channel, kind,"
			   " due, status, attempts, created_at, sent_at, last_error, text)"
			   " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
	[S_NOTIF_GET] = "SELECT " NOTIF_COLS " FROM notifications WHERE id = ?1",
	[S_NOTIF_UPDATE] = "UPDATE notifications SET status = ?2, due = ?3, attempts = ?4,"
			   " sent_at = ?5, last_error = ?6 WHERE id = ?1",
	[S_NOTIF_PENDING] = "SELECT id, incident, kind, due FROM notifications"
			    " WHERE status = 'pending' ORDER BY due, id",
	[S_NOTIF_LIST] = "SELECT " NOTIF_COLS " FROM notifications WHERE incident = ?1 ORDER BY id",
	[S_NOTIF_CANCEL] = "UPDATE notifications SET status = 'cancelled' WHERE incident = ?1"
			   " AND status = 'pending' AND kind = 'page'",
	[S_NOTIF_SENT_SINCE] = "SELECT count(*), coalesce(min(sent_at), 0) FROM notifications"
			       " WHERE user = ?1 AND contact = ?2 AND sent_at >= ?3 AND sent_at > 0"
			       " AND status = 'sent' AND kind != 'shift'",
	[S_NOTIF_BY_STATUS] = "SELECT " NOTIF_COLS " FROM notifications WHERE user = ?1"
			      " AND contact = ?2 AND status = ?3 ORDER BY id",
	[S_SETTING_GET] = "SELECT value FROM settings WHERE name = ?1",
	[S_SETTING_PUT] = "INSERT OR REPLACE INTO settings (name, value) VALUES (?1, ?2)",
	[S_ACT_USE] = "INSERT OR IGNORE INTO act_uses (token, user, used_at) VALUES (?1,?2,?3)",
	[S_SHIFT_NOTICE] = "INSERT OR IGNORE INTO shift_notices (schedule, start_at, user)"
			   " VALUES (?1,?2,?3)",
	[S_CHECK_STATUS_LIST] = "SELECT id, state, hard_state, attempts, since, last_run, next_run,"
				" latency, output, flapping, suppressed, last_ping, history"
				" FROM check_status ORDER BY id",
	[S_CHECK_STATUS_PUT] = "INSERT OR REPLACE INTO check_status (id, state, hard_state, attempts,"
			       " since, last_run, next_run, latency, output, flapping, suppressed,"
			       " last_ping, history) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
	[S_CHECK_PING] = "UPDATE check_status SET last_ping = ?2 WHERE id = ?1",
	[S_CHECK_RESULT_ADD] = "INSERT INTO check_results (check_id, at, state, latency, output)"
			       " VALUES (?1,?2,?3,?4,?5)",
	[S_CHECK_RESULT_TRIM] = "DELETE FROM check_results WHERE check_id = ?1 AND id <= ("
				"SELECT id FROM check_results WHERE check_id = ?1"
				" ORDER BY id DESC LIMIT 1 OFFSET ?2)",
	[S_CHECK_RESULTS] = "SELECT at, state, latency, output FROM check_results"
			    " WHERE check_id = ?1 ORDER BY id DESC LIMIT ?2",
	[S_PAGE_LIST] = "SELECT id, incident, user, level, loop, reason, created_at, status"
			" FROM pages WHERE incident = ?1 ORDER BY id",
	[S_MAINT_SET] = "INSERT INTO maintenance (service, start_at, end_at, actor) VALUES (?1,?2,?3,?4)",
	[S_MAINT_ACTIVE] = "SELECT max(end_at) FROM maintenance WHERE service = ?1"
			   " AND start_at <= ?2 AND end_at > ?2",
	[S_MAINT_HORIZON] = "SELECT coalesce(max(end_at), 0) FROM maintenance",
	[S_OVERRIDE_INSERT] = "INSERT INTO overrides (schedule, user, start_at, end_at, created_at,"
			      " created_by) VALUES (?1,?2,?3,?4,?5,?6)",
	[S_OVERRIDE_LIST] = "SELECT id, schedule, user, start_at, end_at, created_at, created_by"
			    " FROM overrides WHERE schedule = ?1 AND end_at > ?2 AND start_at < ?3"
			    " ORDER BY created_at, id",
	[S_OVERRIDE_LIST_ALL] = "SELECT id, schedule, user, start_at, end_at, created_at, created_by"
				" FROM overrides WHERE end_at > ?2 AND start_at < ?3"
				" ORDER BY created_at, id",
	[S_OVERRIDE_DELETE] = "DELETE FROM overrides WHERE schedule = ?1 AND id = ?2",
	[S_PM_INSERT] = "INSERT INTO postmortems (incident, incidents, title, owner, status, severity,"
			" services, impact_start, detected, acknowledged, mitigated, resolved, detection,"
			" factors, approvals, body, revision, created_at, updated_at)"
			" VALUES (?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20)",
	[S_PM_GET] = "SELECT " PM_COLS " FROM postmortems WHERE id = ?1",
	[S_PM_UPDATE] = "UPDATE postmortems SET incident = ?2, incidents = ?3, title = ?4, owner = ?5,"
			" status = ?6, severity = ?7, services = ?8, impact_start = ?9, detected = ?10,"
			" acknowledged = ?11, mitigated = ?12, resolved = ?13, detection = ?14,"
			" factors = ?15, approvals = ?16, body = ?17, revision = ?18, created_at = ?19,"
			" updated_at = ?20 WHERE id = ?1",
	[S_PM_LIST] = "SELECT " PM_COLS " FROM postmortems WHERE (?1 IS NULL OR status = ?1)"
		      " AND (?2 IS NULL OR owner = ?2) AND (?3 = 0 OR incident = ?3) ORDER BY id DESC",
	/* the postmortem of an incident (at every resolve that may need one): its index */
	[S_PM_LIST_INCIDENT] = "SELECT " PM_COLS " FROM postmortems WHERE incident = ?3"
			       " AND (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR owner = ?2)"
			       " ORDER BY id DESC",
	[S_REV_ADD] = "INSERT INTO pm_revisions (postmortem, revision, at, actor, change, body)"
		      " VALUES (?1,?2,?3,?4,?5,?6)",
	[S_REV_LIST] = "SELECT id, postmortem, revision, at, actor, change, body FROM pm_revisions"
		       " WHERE postmortem = ?1 ORDER BY id",
	[S_ACT_INSERT] = "INSERT INTO action_items (postmortem, position, text, owner, due, due_at,"
			 " status, reason, ticket, created_at, updated_at, reminded_at)"
			 " VALUES (?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
	[S_ACT_GET] = "SELECT " ACTION_COLS " FROM action_items WHERE id = ?1",
	[S_ACT_UPDATE] = "UPDATE action_items SET postmortem = ?2, position = ?3, text = ?4, owner = ?5,"
			 " due = ?6, due_at = ?7, status = ?8, reason = ?9, ticket = ?10,"
			 " created_at = ?11, updated_at = ?12, reminded_at = ?13 WHERE id = ?1",
	[S_ACT_DELETE] = "DELETE FROM action_items WHERE id = ?1",
	[S_ACT_LIST] = "SELECT " ACTION_COLS " FROM action_items WHERE (?1 = 0 OR postmortem = ?1)"
		       " AND (?2 IS NULL OR owner = ?2) AND (?3 = 0 OR status = 'open')"
		       " AND (?4 = 0 OR due_at <= ?4) ORDER BY postmortem, position, id",
	/* one postmortem's items: its index */
	[S_ACT_LIST_PM] = "SELECT " ACTION_COLS " FROM action_items WHERE postmortem = ?1"
			  " AND (?2 IS NULL OR owner = ?2) AND (?3 = 0 OR status = 'open')"
			  " AND (?4 = 0 OR due_at <= ?4) ORDER BY position, id",
	/* the overdue ones (every reminder round): the partial index of open items */
	[S_ACT_LIST_DUE] = "SELECT " ACTION_COLS " FROM action_items WHERE status = 'open'"
			   " AND due_at <= ?4 AND (?1 = 0 OR postmortem = ?1)"
			   " AND (?2 IS NULL OR owner = ?2) ORDER BY due_at, id",
	[S_PING] = "SELECT count(*) FROM sqlite_master",
};

struct store_conn {
	sqlite3 *db;
	sqlite3_stmt *stmt[S_COUNT];
};

/* Any SQLite failure is a backend fault; it is logged once here with its context. */
static int fault(struct store_conn *c, const char *what)
{
	log_error("sqlite: %s: %s", what, sqlite3_errmsg(c->db));
	return STORE_FAULT;
}

static sqlite3_stmt *prep(struct store_conn *c, enum stmt s)
{
	if (!c->stmt[s] &&
	    sqlite3_prepare_v3(c->db, stmt_sql[s], -1, SQLITE_PREPARE_PERSISTENT, &c->stmt[s],
			       NULL) != SQLITE_OK) {
		fault(c, stmt_sql[s]);
		return NULL;
	}
	return c->stmt[s];
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? xstrdup((const char *)t) : NULL;
}

/* Runs a statement that returns no rows; resets it whatever happens.  Bindings are
 * not cleared: every caller binds every parameter before each step. */
static int finish(struct store_conn *c, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? STORE_OK : fault(c, what);
}

static int run_simple(struct store_conn *c, enum stmt s)
{
	sqlite3_stmt *st = prep(c, s);
	return st ? finish(c, st, stmt_sql[s]) : STORE_FAULT;
}

/* Steps one row: STORE_FOUND with the statement positioned on it, STORE_NOTFOUND
 * (statement reset) or STORE_FAULT (reset). */
static int step_row(struct store_conn *c, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return STORE_FOUND;
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? STORE_NOTFOUND : fault(c, what);
}

static void done_rows(sqlite3_stmt *st)
{
	sqlite3_reset(st);
}

/* Process-wide SQLite settings, before its first use: no allocation statistics
 * (they take a global mutex on every malloc, and nothing reads them). */
static void sq_global_init(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	sqlite3_initialize();
}

static struct store_conn *sq_connect(const char *target, char **err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, sq_global_init);
	struct store_conn *c = xcalloc(1, sizeof(*c));
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(target, &c->db, flags, NULL) != SQLITE_OK) {
		*err = xasprintf("cannot open store '%s': %s", target,
				 c->db ? sqlite3_errmsg(c->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(c->db, 5000);
	char *msg = NULL;
	if (sqlite3_exec(c->db,
			 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			 " PRAGMA foreign_keys=OFF; PRAGMA temp_store=MEMORY;"
			 " PRAGMA cache_size=-8000;",
			 NULL, NULL, &msg) != SQLITE_OK) {
		*err = xasprintf("cannot set up store '%s': %s", target, msg ? msg : "?");
		sqlite3_free(msg);
		goto fail;
	}
	return c;
fail:
	sqlite3_close(c->db);
	free(c);
	return NULL;
}

static void sq_disconnect(struct store_conn *c)
{
	if (!c)
		return;
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(c->stmt[i]);
	sqlite3_close(c->db);
	free(c);
}

static int sq_schema_version(struct store_conn *c)
{
	sqlite3_stmt *st;
	int v = -1;
	if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int sq_migrate(struct store_conn *c, char **err)
{
	int have = sq_schema_version(c);
	int want = (int)sqlite_migrations_count;
	if (have < 0) {
		*err = xasprintf("cannot read schema version: %s", sqlite3_errmsg(c->db));
		return STORE_FAULT;
	}
	if (have > want) {
		*err = xasprintf("store schema version %d is newer than this tocsin (%d): "
				 "refusing to run an old binary on a newer store", have, want);
		return STORE_FAULT;
	}
	for (int v = have; v < want; v++) {
		char *msg = NULL;
		char *sql = xasprintf("BEGIN IMMEDIATE; %s; PRAGMA user_version=%d; COMMIT;",
				      sqlite_migrations[v], v + 1);
		int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
		free(sql);
		if (rc != SQLITE_OK) {
			*err = xasprintf("migration %d failed: %s", v + 1, msg ? msg : "?");
			sqlite3_free(msg);
			sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
			return STORE_FAULT;
		}
		log_info("store: migrated schema to version %d", v + 1);
	}
	return STORE_OK;
}

static int sq_ping(struct store_conn *c)
{
	sqlite3_stmt *st = prep(c, S_PING);
	if (!st)
		return 0;
	int rc = step_row(c, st, "ping");
	if (rc == STORE_FOUND)
		done_rows(st);
	return rc == STORE_FOUND;
}

static int sq_begin(struct store_conn *c) { return run_simple(c, S_BEGIN); }
static int sq_commit(struct store_conn *c) { return run_simple(c, S_COMMIT); }
static int sq_savepoint(struct store_conn *c) { return run_simple(c, S_SAVEPOINT); }
static int sq_release(struct store_conn *c) { return run_simple(c, S_RELEASE); }

static int sq_rollback(struct store_conn *c)
{
	if (sqlite3_get_autocommit(c->db))
		return STORE_OK;	/* SQLite already rolled back (e.g. on SQLITE_FULL) */
	return run_simple(c, S_ROLLBACK);
}

static int sq_rollback_savepoint(struct store_conn *c)
{
	int rc = run_simple(c, S_ROLLBACK_TO);
	return rc == STORE_OK ? run_simple(c, S_RELEASE) : rc;
}

static void read_alert(sqlite3_stmt *st, struct alert *a)
{
	a->id = sqlite3_column_int64(st, 0);
	a->incident = sqlite3_column_int64(st, 1);
	a->service = col_text(st, 2);
	a->dedup_key = col_text(st, 3);
	a->resolved = sqlite3_column_int(st, 4);
	a->count = sqlite3_column_int64(st, 5);
	a->summary = col_text(st, 6);
	a->source = col_text(st, 7);
	a->severity = col_text(st, 8);
	a->details = col_text(st, 9);
	a->integration = col_text(st, 10);
	a->created_at = sqlite3_column_int64(st, 11);
	a->updated_at = sqlite3_column_int64(st, 12);
	a->resolved_at = sqlite3_column_int64(st, 13);
}

static int sq_alert_find_open(struct store_conn *c, const char *service, const char *key,
			      struct alert *out)
{
	sqlite3_stmt *st = prep(c, S_ALERT_FIND_OPEN);
	if (!st)
		return STORE_FAULT;
	bind_text(st, 1, service);
	bind_text(st, 2, key);
	int rc = step_row(c, st, "alert_find_open");
	if (rc == STORE_FOUND) {
		read_alert(st, out);
		done_rows(st);
	}
	return rc;
}

static int sq_alert_insert(struct store_conn *c, struct alert *a)
{
	sqlite3_stmt *st = prep(c, S_ALERT_INSERT);
	if (!st)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, a->incident);
	bind_text(st, 2, a->service);
	bind_text(st, 3, a->dedup_key);
	bind_text(st, 4, a->summary);
	bind_text(st, 5, a->source);
	bind_text(st, 6, a->severity);
	bind_text(st, 7, a->details);
	bind_text(st, 8, a->integration);
	sqlite3_bind_int64(st, 9, a->created_at);
	int rc = finish(c, st, "alert_insert");
	if (rc == STORE_OK) {
		a->id = sqlite3_last_insert_rowid(c->db);
		a->count = 1;
		a->updated_at = a->created_at;
	}
	return rc;
}

static int exec_id_at(struct store_conn *c, enum stmt s, int64_t id, int64_t at)
{
	sqlite3_stmt *st = prep(c, s);
	if (!st)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, at);
	return finish(c, st, stmt_sql[s]);
}

static int sq_alert_bump(struct store_conn *c, int64_t id, int64_t at)
{
	return exec_id_at(c, S_ALERT_BUMP, id, at);
}

static int sq_alert_resolve(struct store_conn *c, int64_t id, int64_t at)
{
	return exec_id_at(c, S_ALERT_RESOLVE, id, at);
}

static int sq_alert_resolve_all(struct store_conn *c, int64_t incident, int64_t at)
{
	return exec_id_at(c, S_ALERT_RESOLVE_ALL, incident, at);
}

static int sq_alert_list(struct store_conn *c, int64_t incident, struct alert_list *out)
{
	sqlite3_stmt *st = prep(c, S_ALERT_LIST);
	int rc;
	if (!st)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, incident);
	while ((rc = step_row(c, st, "alert_list")) == STORE_FOUND)
		read_alert(st, alert_list_add(out));
	return rc;
}

static void read_incident(sqlite3_stmt *st, struct incident *i)
{
	i->number = sqlite3_column_int64(st, 0);
	i->service = col_text(st, 1);
	i->title = col_text(st, 2);
	i->status = (enum incident_status)sqlite3_column_int(st, 3);
	i->severity = sqlite3_column_int(st, 4);
	i->urgency_high = sqlite3_column_int(st, 5);
	i->created_at = sqlite3_column_int64(st, 6);
	i->acknowledged_at = sqlite3_column_int64(st, 7);
	i->resolved_at = sqlite3_column_int64(st, 8);
	i->updated_at = sqlite3_column_int64(st, 9);
	i->assigned_to = col_text(st, 10);
	i->escalation_level = sqlite3_column_int(st, 11);
	i->alert_count = sqlite3_column_int(st, 12);
	i->open_alerts = sqlite3_column_int(st, 13);
	i->group_key = col_text(st, 14);
	i->paged = sqlite3_column_int(st, 15);
	i->policy = col_text(st, 16);
	i->escalation_loop = sqlite3_column_int(st, 17);
}

static int sq_incident_insert(struct store_conn *c, struct incident *i)
{
	sqlite3_stmt *st = prep(c, S_INCIDENT_INSERT);
	if (!st)
		return STORE_FAULT;
	bind_text(st, 1, i->service);
	bind_text(st, 2, i->title);
	sqlite3_bind_int(st, 3, i->status);
	sqlite3_bind_int(st, 4, i->severity);
	sqlite3_bind_int(st, 5, i->urgency_high);
	sqlite3_bind_int64(st, 6, i->created_at);
	sqlite3_bind_int64(st, 7, i->acknowledged_at);
	sqlite3_bind_int64(st, 8, i->resolved_at);
	sqlite3_bind_int64(st, 9, i->updated_at);
	bind_text(st, 10, i->assigned_to ? i->assigned_to : "[]");
	sqlite3_bind_int(st, 11, i->escalation_level);
	sqlite3_bind_int(st, 12, i->alert_count);
	sqlite3_bind_int(st, 13, i->open_alerts);
	bind_text(st, 14, i->group_key);
	sqlite3_bind_int(st, 15, i->paged);
	bind_text(st, 16, i->policy);
	sqlite3_bind_int(st, 17, i->escalation_loop);
	int rc = finish(c, st, "incident_insert");
	if (rc == STORE_OK)
		i->number = sqlite3_last_insert_rowid(c->db);
	return rc;
}

static int sq_incident_get(struct store_conn *c, int64_t number, struct incident *out)
{
	sqlite3_stmt *st = prep(c, S_INCIDENT_GET);
	if (!st)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, number);
	int rc = step_row(c, st, "incident_get");
	if (rc == STORE_FOUND) {
		read_incident(st, out);
		done_rows(st);
	}
	return rc;
}

static int sq_incident_update(struct store_conn *c, const struct incident *i)
{
	sqlite3_stmt *st = prep(c, S_INCIDENT_UPDATE);
	if (!st)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, i->number);
	bind_text(st, 2, i->title);
	sqlite3_bind_int(st, 3, i->status);
	sqlite3_bind_int(st, 4, i->severity);
	sqlite3_bind_int(st, 5, i->urgency_high);
	sqlite3_bind_int64(st, 6, i->acknowledged_at);
	sqlite3_bind_int64(st, 7, i->resolved_at);
	sqlite3_bind_int64(st, 8, i->updated_at);
	bind_text(st, 9, i->assigned_to ? i->assigned_to : "[]");
	sqlite3_bind_int(st, 10, i->escalation_level);
	sqlite3_bind_int(st, 11, i->alert_count);
	sqlite3_bind_int(st, 12, i->open_alerts);
	sqlite3_bind_int(st, 13, i->paged);
	bind_text(st, 14, i->policy);
	sqlite3_bind_int(st, 15, i->escalation_loop);
	return finish(c, st, "incident_update");
}

static int sq_incident_find_open(struct store_conn *c, const char *service, const char *group,
				 int64_t since, struct incident *out)
{
	sqlite3_stmt *st = prep(c, group ? S_INCIDENT_FIND_OPEN_GROUP : S_INCIDENT_FIND_OPEN);
	if (!st)
		return STORE_FAULT;
	bind_text(st, 1, service);
	sqlite3_bind_int64(st, 2, since);
	if (group)
		bind_text(st, 3, group);
	int rc = step_row(c, st, "incident_find_open");
	if (rc == STORE_FOUND) {
		read_incident(st, out);
		done_rows(st);
	}
	return rc;
}

/* The list query varies with the filter, so it is prepared per call from fixed
 * fragments (never from values: those are bound). */
static int sq_incident_list(struct store_conn *c, const struct incident_filter *f,
			    struct incident_list *out)
{
	struct buf sql = BUF_INIT;
	sqlite3_stmt *st = NULL;
	int rc;

	buf_adds(&sql, "SELECT " INCIDENT_COLS " FROM incidents WHERE created_at >= ?1");
	if (f->status_mask)
		buf_adds(&sql, " AND ((1 << status) & ?2) != 0");
	if (f->service)
		buf_adds(&sql, " AND service = ?3");
	buf_adds(&sql, " ORDER BY number DESC");
	if (f->limit > 0)
		buf_adds(&sql, " LIMIT ?4");
	if (sqlite3_prepare_v2(c->db, sql.s, -1, &st, NULL) != SQLITE_OK) {
		rc = fault(c, "incident_list");
		goto out;
	}
	sqlite3_bind_int64(st, 1, f->created_since);
	if (f->status_mask)
		sqlite3_bind_int64(st, 2, f->status_mask);
	if (f->service)
		bind_text(st, 3, f->service);
	if (f->limit > 0)
		sqlite3_bind_int64(st, 4, f->limit);
	while ((rc = step_row(c, st, "incident_list")) == STORE_FOUND)
		read_incident(st, incident_list_add(out));
out:
	sqlite3_finalize(st);
	buf_release(&sql);
	return rc;
}

static int sq_incident_counts(struct store_conn *c, int64_t counts[3])
{
	sqlite3_stmt *st = prep(c, S_INCIDENT_COUNTS);
	int rc;
	if (!st)
		return STORE_FAULT;
	counts[0] = counts[1] = counts[2] = 0;
	while ((rc = step_row(c, st, "incident_counts")) == STORE_FOUND) {
		int s = sqlite3_column_int(st, 0);
		if (s >= 0 && s < 3)
			counts[s] = sqlite3_column_int64(st, 1);
	}
	return rc;
}

static int sq_log_append(struct store_conn *c, struct log_entry *e)
{
	sqlite3_stmt *st = prep(c, S_LOG_APPEND);
	if (!st)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, e->incident);
	sqlite3_bind_int64(st, 2, e->at);
	bind_text(st, 3, e->type);
	bind_text(st, 4, e->actor);
	bind_text(st, 5, e->message ? e->message : "");
	int rc = finish(c, st, "log_append");
	if (rc == STORE_OK)
		e->id = sqlite3_last_insert_rowid(c->db);
	return rc;
}

static int sq_log_list(struct store_conn *c, int64_t incident, struct log_list *out)
{
	sqlite3_stmt *st = prep(c, S_LOG_LIST);
	int rc;
	if (!st)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, incident);
	while ((rc = step_row(c, st, "log_list")) == STORE_FOUND) {
		struct log_entry *e = log_list_add(out);
		e->id = sqlite3_column_int64(st, 0);
		e->incident = sqlite3_column_int64(st, 1);
		e->at = sqlite3_column_int64(st, 2);
		e->type = col_text(st, 3);
		e->actor = col_text(st, 4);
		e->message = col_text(st, 5);
	}
	return rc;
}

static int sq_change_insert(struct store_conn *c, struct change_event *ch)
{
	sqlite3_stmt *st = prep(c, S_CHANGE_INSERT);
	if (!st)
		return STORE_FAULT;
	bind_text(st, 1, ch->service);
	sqlite3_bind_int64(st, 2, ch->at);
	bind_text(st, 3, ch->summary);
	bind_text(st, 4, ch->source);
	bind_text(st, 5, ch->payload);
	int rc = finish(c, st, "change_insert");
	if (rc == STORE_OK)
		ch->id = sqlite3_last_insert_rowid(c->db);
	return rc;
}

static int sq_change_list(struct store_conn *c, const char *service, int64_t since,
			  int64_t until, int64_t limit, struct change_list *out)
{
	sqlite3_stmt *st = prep(c, service ? S_CHANGE_LIST : S_CHANGE_LIST_ALL);
	int rc;
	if (!st)
		return STORE_FAULT;
	if (service)
		bind_text(st, 1, service);
	sqlite3_bind_int64(st, 2, since);
	sqlite3_bind_int64(st, 3, until);
	sqlite3_bind_int64(st, 4, limit > 0 ? limit : -1);
	while ((rc = step_row(c, st, "change_list")) == STORE_FOUND) {
		struct change_event *ch = change_list_add(out);
		ch->id = sqlite3_column_int64(st, 0);
		ch->service = col_text(st, 1);
		ch->at = sqlite3_column_int64(st, 2);
		ch->summary = col_text(st, 3);
		ch->source = col_text(st, 4);
		ch->payload = col_text(st, 5);
	}
	return rc;
}

static int sq_token_insert(struct store_conn *c, const char *user, const char *hash, int64_t at)
{
	sqlite3_stmt *st = prep(c, S_TOKEN_INSERT);
	if (!st)
		return STORE_FAULT;
	bind_text(st, 1, user);
	bind_text(st, 2, hash);
	sqlite3_bind_int64(st, 3, at);
	return finish(c, st, "token_insert");
}

static int sq_token_lookup(struct store_conn *c, const char *hash, char **user)
{
	sqlite3_stmt *st = prep(c, S_TOKEN_LOOKUP);
	if (!st)
		return STORE_FAULT;
	bind_text(st, 1, hash);
	int rc = step_row(c, st, "token_lookup");
	if (rc == STORE_FOUND) {
		*user = col_text(st, 0);
		done_rows(st);
	}
	return rc;
}

static void read_timer(sqlite3_stmt *st, struct timer *t)
{
	t->id = sqlite3_column_int64(st, 0);
	t->incident = sqlite3_column_int64(st, 1);
	t->kind = col_text(st, 2);
	t->due = sqlite3_column_int64(st, 3);
}

static int sq_timer_insert(struct store_conn *c, struct timer *t)
{
	sqlite3_stmt *st = prep(c, S_TIMER_INSERT);
	if (!st)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, t->incident);
	bind_text(st, 2, t->kind);
	sqlite3_bind_int64(st, 3, t->due);
	int rc = finish(c, st, "timer_insert");
	if (rc == STORE_OK)
		t->id = sqlite3_last_insert_rowid(c->db);
	return rc;
}

static int sq_timer_get(struct store_conn *c, int64_t id, struct timer *out)
{
	sqlite3_stmt *st = prep(c, S_TIMER_GET);
	if (!st)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, id);
	int rc = step_row(c, st, "timer_get");
	if (rc == STORE_FOUND) {
		read_timer(st, out);
		done_rows(st);
	}
	return rc;
}

static int sq_timer_delete(struct store_conn *c, int64_t id)
{
	sqlite3_stmt *st = prep(c, S_TIMER_DELETE);
	if (!st)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, id);
	return finish(c, st, "timer_delete");
}

static int sq_timer_cancel(struct store_conn *c, int64_t incident, const char *kind)
{
	sqlite3_stmt *st = prep(c, kind ? S_TIMER_CANCEL : S_TIMER_CANCEL_ALL);
	if (!st)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, incident);
	if (kind)
		bind_text(st, 2, kind);
	return finish(c, st, "timer_cancel");
}

static int sq_timer_list(struct store_conn *c, struct timer_list *out)
{
	sqlite3_stmt *st = prep(c, S_TIMER_LIST);
	int rc;
	if (!st)
		return STORE_FAULT;
	while ((rc = step_row(c, st, "timer_list")) == STORE_FOUND)
		read_timer(st, timer_list_add(out));
	return rc;
}

static int sq_timer_shift(struct store_conn *c, int64_t delta)
{
	sqlite3_stmt *st = prep(c, S_TIMER_SHIFT);
	if (!st)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, delta);
	return finish(c, st, "timer_shift");
}

static int sq_timer_next(struct store_conn *c, int64_t incident, const char *kind, int64_t *due)
{
	sqlite3_stmt *st = prep(c, S_TIMER_NEXT);
	if (!st)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, incident);
	bind_text(st, 2, kind);
	int rc = step_row(c, st, "timer_next");
	if (rc != STORE_FOUND)
		return rc;
	int found = sqlite3_column_type(st, 0) != SQLITE_NULL;
	if (found)
		*due = sqlite3_column_int64(st, 0);
	done_rows(st);
	return found ? STORE_FOUND : STORE_NOTFOUND;
}

static int sq_page_insert(struct store_conn *c, struct page *p)
{
	sqlite3_stmt *st = prep(c, S_PAGE_INSERT);
	if (!st)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, p->incident);
	bind_text(st, 2, p->user);
	sqlite3_bind_int(st, 3, p->level);
	sqlite3_bind_int(st, 4, p->loop);
	bind_text(st, 5, p->reason);
	sqlite3_bind_int64(st, 6, p->created_at);
	int rc = finish(c, st, "page_insert");
	if (rc == STORE_OK)
		p->id = sqlite3_last_insert_rowid(c->db);
	return rc;
}

static int sq_page_list(struct store_conn *c, int64_t incident, struct page_list *out)
{
	sqlite3_stmt *st = prep(c, S_PAGE_LIST);
	int rc;
	if (!st)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, incident);
	while ((rc = step_row(c, st, "page_list")) == STORE_FOUND) {
		struct page *p = page_list_add(out);
		p->id = sqlite3_column_int64(st, 0);
		p->incident = sqlite3_column_int64(st, 1);
		p->user = col_text(st, 2);
		p->level = sqlite3_column_int(st, 3);
		p->loop = sqlite3_column_int(st, 4);
		p->reason = col_text(st, 5);
		p->created_at = sqlite3_column_int64(st, 6);
		p->status = col_text(st, 7);
	}
	return rc;
}

static void read_notification(sqlite3_stmt *st, struct notification *n)
{
	n->id = sqlite3_column_int64(st, 0);
	n->page = sqlite3_column_int64(st, 1);
	n->incident = sqlite3_column_int64(st, 2);
	n->user = col_text(st, 3);
	n->contact = col_text(st, 4);
	n->channel = col_text(st, 5);
	n->kind = col_text(st, 6);
	n->due = sqlite3_column_int64(st, 7);
	n->status = col_text(st, 8);
	n->attempts = sqlite3_column_int(st, 9);
	n->created_at = sqlite3_column_int64(st, 10);
	n->sent_at = sqlite3_column_int64(st, 11);
	n->last_error = col_text(st, 12);
	n->text = col_text(st, 13);
}

static int sq_notification_insert(struct store_conn *c, struct notification *n)
{
	sqlite3_stmt *st = prep(c, S_NOTIF_INSERT);
	if (!st)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, n->page);
	sqlite3_bind_int64(st, 2, n->incident);
	bind_text(st, 3, n->user);
	bind_text(st, 4, n->contact);
	bind_text(st, 5, n->channel);
	bind_text(st, 6, n->kind);
	sqlite3_bind_int64(st, 7, n->due);
	bind_text(st, 8, n->status ? n->status : "pending");
	sqlite3_bind_int(st, 9, n->attempts);
	sqlite3_bind_int64(st, 10, n->created_at);
	sqlite3_bind_int64(st, 11, n->sent_at);
	bind_text(st, 12, n->last_error);
	bind_text(st, 13, n->text);
	int rc = finish(c, st, "notification_insert");
	if (rc == STORE_OK)
		n->id = sqlite3_last_insert_rowid(c->db);
	return rc;
}

static int sq_notification_get(struct store_conn *c, int64_t id, struct notification *out)
{
	sqlite3_stmt *st = prep(c, S_NOTIF_GET);
	if (!st)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, id);
	int rc = step_row(c, st, "notification_get");
	if (rc == STORE_FOUND) {
		read_notification(st, out);
		done_rows(st);
	}
	return rc;
}

static int sq_notification_update(struct store_conn *c, const struct notification *n)
{
	sqlite3_stmt *st = prep(c, S_NOTIF_UPDATE);
	if (!st)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, n->id);
	bind_text(st, 2, n->status);
	sqlite3_bind_int64(st, 3, n->due);
	sqlite3_bind_int(st, 4, n->attempts);
	sqlite3_bind_int64(st, 5, n->sent_at);
	bind_text(st, 6, n->last_error);
	return finish(c, st, "notification_update");
}

static int sq_notification_pending(struct store_conn *c, struct timer_list *out)
{
	sqlite3_stmt *st = prep(c, S_NOTIF_PENDING);
	int rc;
	if (!st)
		return STORE_FAULT;
	while ((rc = step_row(c, st, "notification_pending")) == STORE_FOUND)
		read_timer(st, timer_list_add(out));
	return rc;
}

static int read_notifications(struct store_conn *c, sqlite3_stmt *st,
			      struct notification_list *out)
{
	int rc;
	while ((rc = step_row(c, st, "notifications")) == STORE_FOUND)
		read_notification(st, notification_list_add(out));
	return rc;
}

static int sq_notification_list(struct store_conn *c, int64_t incident,
				struct notification_list *out)
{
	sqlite3_stmt *st = prep(c, S_NOTIF_LIST);
	if (!st)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, incident);
	return read_notifications(c, st, out);
}

static int sq_notification_cancel(struct store_conn *c, int64_t incident)
{
	sqlite3_stmt *st = prep(c, S_NOTIF_CANCEL);
	if (!st)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, incident);
	return finish(c, st, "notification_cancel");
}

static int sq_notification_sent_since(struct store_conn *c, const char *user,
				      const char *contact, int64_t since, int64_t *count,
				      int64_t *earliest)
{
	sqlite3_stmt *st = prep(c, S_NOTIF_SENT_SINCE);
	if (!st)
		return STORE_FAULT;
	bind_text(st, 1, user);
	bind_text(st, 2, contact);
	sqlite3_bind_int64(st, 3, since);
	int rc = step_row(c, st, "notification_sent_since");
	if (rc != STORE_FOUND)
		return rc == STORE_NOTFOUND ? fault(c, "notification_sent_since") : rc;
	*count = sqlite3_column_int64(st, 0);
	*earliest = sqlite3_column_int64(st, 1);
	done_rows(st);
	return STORE_OK;
}

static int sq_notification_by_status(struct store_conn *c, const char *user,
				     const char *contact, const char *status,
				     struct notification_list *out)
{
	sqlite3_stmt *st = prep(c, S_NOTIF_BY_STATUS);
	if (!st)
		return STORE_FAULT;
	bind_text(st, 1, user);
	bind_text(st, 2, contact);
	bind_text(st, 3, status);
	return read_notifications(c, st, out);
}

static int sq_setting_get(struct store_conn *c, const char *name, struct buf *value)
{
	sqlite3_stmt *st = prep(c, S_SETTING_GET);
	if (!st)
		return STORE_FAULT;
	bind_text(st, 1, name);
	int rc = step_row(c, st, "setting_get");
	if (rc == STORE_FOUND) {
		buf_add(value, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
		done_rows(st);
	}
	return rc;
}

static int sq_setting_put(struct store_conn *c, const char *name, const void *value, size_t len)
{
	sqlite3_stmt *st = prep(c, S_SETTING_PUT);
	if (!st)
		return STORE_FAULT;
	bind_text(st, 1, name);
	sqlite3_bind_blob(st, 2, value, (int)len, SQLITE_STATIC);
	return finish(c, st, "setting_put");
}

/* Runs an INSERT OR IGNORE: STORE_OK when it inserted, STORE_FOUND when the row was
 * there already. */
static int insert_once(struct store_conn *c, sqlite3_stmt *st, const char *what)
{
	int rc = finish(c, st, what);
	if (rc != STORE_OK)
		return rc;
	return sqlite3_changes(c->db) ? STORE_OK : STORE_FOUND;
}

static int sq_act_use(struct store_conn *c, const char *token, const char *user, int64_t at)
{
	sqlite3_stmt *st = prep(c, S_ACT_USE);
	if (!st)
		return STORE_FAULT;
	bind_text(st, 1, token);
	bind_text(st, 2, user);
	sqlite3_bind_int64(st, 3, at);
	return insert_once(c, st, "act_use");
}

static int sq_shift_notice_add(struct store_conn *c, const char *schedule, const char *user,
			       int64_t start)
{
	sqlite3_stmt *st = prep(c, S_SHIFT_NOTICE);
	if (!st)
		return STORE_FAULT;
	bind_text(st, 1, schedule);
	sqlite3_bind_int64(st, 2, start);
	bind_text(st, 3, user);
	return insert_once(c, st, "shift_notice_add");
}

static int sq_check_status_list(struct store_conn *c, struct check_status_list *out)
{
	sqlite3_stmt *st = prep(c, S_CHECK_STATUS_LIST);
	int rc;
	if (!st)
		return STORE_FAULT;
	while ((rc = step_row(c, st, "check_status_list")) == STORE_FOUND) {
		struct check_status *s = check_status_list_add(out);
		s->id = col_text(st, 0);
		s->state = sqlite3_column_int(st, 1);
		s->hard_state = sqlite3_column_int(st, 2);
		s->attempts = sqlite3_column_int(st, 3);
		s->since = sqlite3_column_int64(st, 4);
		s->last_run = sqlite3_column_int64(st, 5);
		s->next_run = sqlite3_column_int64(st, 6);
		s->latency = sqlite3_column_int64(st, 7);
		s->output = col_text(st, 8);
		s->flapping = sqlite3_column_int(st, 9);
		s->suppressed = sqlite3_column_int(st, 10);
		s->last_ping = sqlite3_column_int64(st, 11);
		s->history = col_text(st, 12);
	}
	return rc;
}

static int sq_check_status_put(struct store_conn *c, const struct check_status *s)
{
	sqlite3_stmt *st = prep(c, S_CHECK_STATUS_PUT);
	if (!st)
		return STORE_FAULT;
	bind_text(st, 1, s->id);
	sqlite3_bind_int(st, 2, s->state);
	sqlite3_bind_int(st, 3, s->hard_state);
	sqlite3_bind_int(st, 4, s->attempts);
	sqlite3_bind_int64(st, 5, s->since);
	sqlite3_bind_int64(st, 6, s->last_run);
	sqlite3_bind_int64(st, 7, s->next_run);
	sqlite3_bind_int64(st, 8, s->latency);
	bind_text(st, 9, s->output);
	sqlite3_bind_int(st, 10, s->flapping);
	sqlite3_bind_int(st, 11, s->suppressed);
	sqlite3_bind_int64(st, 12, s->last_ping);
	bind_text(st, 13, s->history ? s->history : "");
	return finish(c, st, "check_status_put");
}

static int sq_check_ping(struct store_conn *c, const struct check_status *s)
{
	sqlite3_stmt *st = prep(c, S_CHECK_PING);
	if (!st)
		return STORE_FAULT;
	bind_text(st, 1, s->id);
	sqlite3_bind_int64(st, 2, s->last_ping);
	int rc = finish(c, st, "check_ping");
	if (rc == STORE_OK && !sqlite3_changes(c->db))
		rc = sq_check_status_put(c, s);
	return rc;
}

static int sq_check_result_add(struct store_conn *c, const char *id,
			       const struct check_result_row *r, int keep)
{
	sqlite3_stmt *st = prep(c, S_CHECK_RESULT_ADD), *trim = prep(c, S_CHECK_RESULT_TRIM);
	if (!st || !trim)
		return STORE_FAULT;
	bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, r->at);
	sqlite3_bind_int(st, 3, r->state);
	sqlite3_bind_int64(st, 4, r->latency);
	bind_text(st, 5, r->output);
	int rc = finish(c, st, "check_result_add");
	if (rc != STORE_OK || keep < 0)
		return rc;
	bind_text(trim, 1, id);
	sqlite3_bind_int(trim, 2, keep);
	return finish(c, trim, "check_result_trim");
}

static int sq_check_results(struct store_conn *c, const char *id, int64_t limit,
			    struct check_result_list *out)
{
	sqlite3_stmt *st = prep(c, S_CHECK_RESULTS);
	int rc;
	if (!st)
		return STORE_FAULT;
	bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, limit);
	while ((rc = step_row(c, st, "check_results")) == STORE_FOUND) {
		struct check_result_row *r = check_result_list_add(out);
		r->at = sqlite3_column_int64(st, 0);
		r->state = sqlite3_column_int(st, 1);
		r->latency = sqlite3_column_int64(st, 2);
		r->output = col_text(st, 3);
	}
	return rc;
}

static int sq_maintenance_set(struct store_conn *c, const char *service, int64_t start,
			      int64_t end, const char *actor)
{
	sqlite3_stmt *st = prep(c, S_MAINT_SET);
	if (!st)
		return STORE_FAULT;
	bind_text(st, 1, service);
	sqlite3_bind_int64(st, 2, start);
	sqlite3_bind_int64(st, 3, end);
	bind_text(st, 4, actor);
	return finish(c, st, "maintenance_set");
}

static int sq_maintenance_horizon(struct store_conn *c, int64_t *end)
{
	sqlite3_stmt *st = prep(c, S_MAINT_HORIZON);
	if (!st)
		return STORE_FAULT;
	int rc = step_row(c, st, "maintenance_horizon");
	if (rc != STORE_FOUND)
		return rc == STORE_NOTFOUND ? fault(c, "maintenance_horizon") : rc;
	*end = sqlite3_column_int64(st, 0);
	done_rows(st);
	return STORE_OK;
}

static int sq_maintenance_active(struct store_conn *c, const char *service, int64_t now,
				 int64_t *until)
{
	sqlite3_stmt *st = prep(c, S_MAINT_ACTIVE);
	if (!st)
		return STORE_FAULT;
	bind_text(st, 1, service);
	sqlite3_bind_int64(st, 2, now);
	int rc = step_row(c, st, "maintenance_active");
	if (rc != STORE_FOUND)
		return rc;
	int active = sqlite3_column_type(st, 0) != SQLITE_NULL;
	if (active && until)
		*until = sqlite3_column_int64(st, 0);
	done_rows(st);
	return active ? STORE_FOUND : STORE_NOTFOUND;
}

static int sq_override_insert(struct store_conn *c, struct override *o)
{
	sqlite3_stmt *st = prep(c, S_OVERRIDE_INSERT);
	if (!st)
		return STORE_FAULT;
	bind_text(st, 1, o->schedule);
	bind_text(st, 2, o->user);
	sqlite3_bind_int64(st, 3, o->start);
	sqlite3_bind_int64(st, 4, o->end);
	sqlite3_bind_int64(st, 5, o->created_at);
	bind_text(st, 6, o->created_by);
	int rc = finish(c, st, "override_insert");
	if (rc == STORE_OK)
		o->id = sqlite3_last_insert_rowid(c->db);
	return rc;
}

static int sq_override_list(struct store_conn *c, const char *schedule, int64_t from,
			    int64_t to, struct override_list *out)
{
	sqlite3_stmt *st = prep(c, schedule ? S_OVERRIDE_LIST : S_OVERRIDE_LIST_ALL);
	int rc;
	if (!st)
		return STORE_FAULT;
	bind_text(st, 1, schedule);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, to);
	while ((rc = step_row(c, st, "override_list")) == STORE_FOUND) {
		struct override *o = override_list_add(out);
		o->id = sqlite3_column_int64(st, 0);
		o->schedule = col_text(st, 1);
		o->user = col_text(st, 2);
		o->start = sqlite3_column_int64(st, 3);
		o->end = sqlite3_column_int64(st, 4);
		o->created_at = sqlite3_column_int64(st, 5);
		o->created_by = col_text(st, 6);
	}
	return rc;
}

static int sq_override_delete(struct store_conn *c, const char *schedule, int64_t id)
{
	sqlite3_stmt *st = prep(c, S_OVERRIDE_DELETE);
	if (!st)
		return STORE_FAULT;
	bind_text(st, 1, schedule);
	sqlite3_bind_int64(st, 2, id);
	int rc = finish(c, st, "override_delete");
	if (rc != STORE_OK)
		return rc;
	return sqlite3_changes(c->db) ? STORE_FOUND : STORE_NOTFOUND;
}

/* --- postmortems ---------------------------------------------------------------- */

/* Binds every column of p as ?1..?20 in PM_COLS order (?1, the id, unused by insert). */
static void bind_postmortem(sqlite3_stmt *st, const struct postmortem *p)
{
	sqlite3_bind_int64(st, 1, p->id);
	sqlite3_bind_int64(st, 2, p->incident);
	bind_text(st, 3, p->incidents);
	bind_text(st, 4, p->title);
	bind_text(st, 5, p->owner);
	bind_text(st, 6, p->status);
	sqlite3_bind_int(st, 7, p->severity);
	bind_text(st, 8, p->services);
	sqlite3_bind_int64(st, 9, p->impact_start);
	sqlite3_bind_int64(st, 10, p->detected);
	sqlite3_bind_int64(st, 11, p->acknowledged);
	sqlite3_bind_int64(st, 12, p->mitigated);
	sqlite3_bind_int64(st, 13, p->resolved);
	bind_text(st, 14, p->detection);
	bind_text(st, 15, p->factors);
	bind_text(st, 16, p->approvals);
	bind_text(st, 17, p->body);
	sqlite3_bind_int(st, 18, p->revision);
	sqlite3_bind_int64(st, 19, p->created_at);
	sqlite3_bind_int64(st, 20, p->updated_at);
}

static void read_postmortem(sqlite3_stmt *st, struct postmortem *p)
{
	p->id = sqlite3_column_int64(st, 0);
	p->incident = sqlite3_column_int64(st, 1);
	p->incidents = col_text(st, 2);
	p->title = col_text(st, 3);
	p->owner = col_text(st, 4);
	p->status = col_text(st, 5);
	p->severity = sqlite3_column_int(st, 6);
	p->services = col_text(st, 7);
	p->impact_start = sqlite3_column_int64(st, 8);
	p->detected = sqlite3_column_int64(st, 9);
	p->acknowledged = sqlite3_column_int64(st, 10);
	p->mitigated = sqlite3_column_int64(st, 11);
	p->resolved = sqlite3_column_int64(st, 12);
	p->detection = col_text(st, 13);
	p->factors = col_text(st, 14);
	p->approvals = col_text(st, 15);
	p->body = col_text(st, 16);
	p->revision = sqlite3_column_int(st, 17);
	p->created_at = sqlite3_column_int64(st, 18);
	p->updated_at = sqlite3_column_int64(st, 19);
}

static int sq_postmortem_insert(struct store_conn *c, struct postmortem *p)
{
	sqlite3_stmt *st = prep(c, S_PM_INSERT);
	if (!st)
		return STORE_FAULT;
	bind_postmortem(st, p);
	int rc = finish(c, st, "postmortem_insert");
	if (rc == STORE_OK)
		p->id = sqlite3_last_insert_rowid(c->db);
	return rc;
}

static int sq_postmortem_get(struct store_conn *c, int64_t id, struct postmortem *out)
{
	sqlite3_stmt *st = prep(c, S_PM_GET);
	if (!st)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, id);
	int rc = step_row(c, st, "postmortem_get");
	if (rc == STORE_FOUND) {
		read_postmortem(st, out);
		done_rows(st);
	}
	return rc;
}

static int sq_postmortem_update(struct store_conn *c, const struct postmortem *p)
{
	sqlite3_stmt *st = prep(c, S_PM_UPDATE);
	if (!st)
		return STORE_FAULT;
	bind_postmortem(st, p);
	return finish(c, st, "postmortem_update");
}

static int sq_postmortem_list(struct store_conn *c, const struct pm_filter *f,
			      struct postmortem_list *out)
{
	sqlite3_stmt *st = prep(c, f->incident ? S_PM_LIST_INCIDENT : S_PM_LIST);
	int rc;
	if (!st)
		return STORE_FAULT;
	bind_text(st, 1, f->status);
	bind_text(st, 2, f->owner);
	sqlite3_bind_int64(st, 3, f->incident);
	while ((rc = step_row(c, st, "postmortem_list")) == STORE_FOUND)
		read_postmortem(st, postmortem_list_add(out));
	return rc;
}

static int sq_pm_revision_add(struct store_conn *c, struct pm_revision *r)
{
	sqlite3_stmt *st = prep(c, S_REV_ADD);
	if (!st)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, r->postmortem);
	sqlite3_bind_int(st, 2, r->revision);
	sqlite3_bind_int64(st, 3, r->at);
	bind_text(st, 4, r->actor);
	bind_text(st, 5, r->change);
	bind_text(st, 6, r->body);
	int rc = finish(c, st, "pm_revision_add");
	if (rc == STORE_OK)
		r->id = sqlite3_last_insert_rowid(c->db);
	return rc;
}

static int sq_pm_revision_list(struct store_conn *c, int64_t postmortem,
			       struct pm_revision_list *out)
{
	sqlite3_stmt *st = prep(c, S_REV_LIST);
	int rc;
	if (!st)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, postmortem);
	while ((rc = step_row(c, st, "pm_revision_list")) == STORE_FOUND) {
		struct pm_revision *r = pm_revision_list_add(out);
		r->id = sqlite3_column_int64(st, 0);
		r->postmortem = sqlite3_column_int64(st, 1);
		r->revision = sqlite3_column_int(st, 2);
		r->at = sqlite3_column_int64(st, 3);
		r->actor = col_text(st, 4);
		r->change = col_text(st, 5);
		r->body = col_text(st, 6);
	}
	return rc;
}

/* Binds every column of a as ?1..?13 in ACTION_COLS order. */
static void bind_action(sqlite3_stmt *st, const struct action_item *a)
{
	sqlite3_bind_int64(st, 1, a->id);
	sqlite3_bind_int64(st, 2, a->postmortem);
	sqlite3_bind_int(st, 3, a->position);
	bind_text(st, 4, a->text);
	bind_text(st, 5, a->owner);
	bind_text(st, 6, a->due);
	sqlite3_bind_int64(st, 7, a->due_at);
	bind_text(st, 8, a->status);
	bind_text(st, 9, a->reason);
	bind_text(st, 10, a->ticket);
	sqlite3_bind_int64(st, 11, a->created_at);
	sqlite3_bind_int64(st, 12, a->updated_at);
	sqlite3_bind_int64(st, 13, a->reminded_at);
}

static void read_action(sqlite3_stmt *st, struct action_item *a)
{
	a->id = sqlite3_column_int64(st, 0);
	a->postmortem = sqlite3_column_int64(st, 1);
	a->position = sqlite3_column_int(st, 2);
	a->text = col_text(st, 3);
	a->owner = col_text(st, 4);
	a->due = col_text(st, 5);
	a->due_at = sqlite3_column_int64(st, 6);
	a->status = col_text(st, 7);
	a->reason = col_text(st, 8);
	a->ticket = col_text(st, 9);
	a->created_at = sqlite3_column_int64(st, 10);
	a->updated_at = sqlite3_column_int64(st, 11);
	a->reminded_at = sqlite3_column_int64(st, 12);
}

static int sq_action_insert(struct store_conn *c, struct action_item *a)
{
	sqlite3_stmt *st = prep(c, S_ACT_INSERT);
	if (!st)
		return STORE_FAULT;
	bind_action(st, a);
	int rc = finish(c, st, "action_insert");
	if (rc == STORE_OK)
		a->id = sqlite3_last_insert_rowid(c->db);
	return rc;
}

static int sq_action_get(struct store_conn *c, int64_t id, struct action_item *out)
{
	sqlite3_stmt *st = prep(c, S_ACT_GET);
	if (!st)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, id);
	int rc = step_row(c, st, "action_get");
	if (rc == STORE_FOUND) {
		read_action(st, out);
		done_rows(st);
	}
	return rc;
}

static int sq_action_update(struct store_conn *c, const struct action_item *a)
{
	sqlite3_stmt *st = prep(c, S_ACT_UPDATE);
	if (!st)
		return STORE_FAULT;
	bind_action(st, a);
	return finish(c, st, "action_update");
}

static int sq_action_delete(struct store_conn *c, int64_t id)
{
	sqlite3_stmt *st = prep(c, S_ACT_DELETE);
	if (!st)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, id);
	return finish(c, st, "action_delete");
}

static int sq_action_list(struct store_conn *c, const struct action_filter *f,
			  struct action_list *out)
{
	enum stmt which = f->postmortem			 ? S_ACT_LIST_PM
			  : f->open_only && f->due_before ? S_ACT_LIST_DUE
							  : S_ACT_LIST;
	sqlite3_stmt *st = prep(c, which);
	int rc;
	if (!st)
		return STORE_FAULT;
	sqlite3_bind_int64(st, 1, f->postmortem);
	bind_text(st, 2, f->owner);
	sqlite3_bind_int(st, 3, f->open_only);
	sqlite3_bind_int64(st, 4, f->due_before);
	while ((rc = step_row(c, st, "action_list")) == STORE_FOUND)
		read_action(st, action_list_add(out));
	return rc;
}

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.connect = sq_connect,
	.disconnect = sq_disconnect,
	.migrate = sq_migrate,
	.schema_version = sq_schema_version,
	.ping = sq_ping,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.savepoint = sq_savepoint,
	.release_savepoint = sq_release,
	.rollback_savepoint = sq_rollback_savepoint,
	.alert_find_open = sq_alert_find_open,
	.alert_insert = sq_alert_insert,
	.alert_bump = sq_alert_bump,
	.alert_resolve = sq_alert_resolve,
	.alert_list = sq_alert_list,
	.alert_resolve_all = sq_alert_resolve_all,
	.incident_insert = sq_incident_insert,
	.incident_get = sq_incident_get,
	.incident_update = sq_incident_update,
	.incident_find_open = sq_incident_find_open,
	.incident_list = sq_incident_list,
	.incident_counts = sq_incident_counts,
	.log_append = sq_log_append,
	.log_list = sq_log_list,
	.change_insert = sq_change_insert,
	.change_list = sq_change_list,
	.token_insert = sq_token_insert,
	.token_lookup = sq_token_lookup,
	.timer_insert = sq_timer_insert,
	.timer_get = sq_timer_get,
	.timer_delete = sq_timer_delete,
	.timer_cancel = sq_timer_cancel,
	.timer_list = sq_timer_list,
	.timer_next = sq_timer_next,
	.timer_shift = sq_timer_shift,
	.page_insert = sq_page_insert,
	.page_list = sq_page_list,
	.notification_insert = sq_notification_insert,
	.notification_get = sq_notification_get,
	.notification_update = sq_notification_update,
	.notification_pending = sq_notification_pending,
	.notification_list = sq_notification_list,
	.notification_cancel = sq_notification_cancel,
	.notification_sent_since = sq_notification_sent_since,
	.notification_by_status = sq_notification_by_status,
	.setting_get = sq_setting_get,
	.setting_put = sq_setting_put,
	.act_use = sq_act_use,
	.shift_notice_add = sq_shift_notice_add,
	.check_status_list = sq_check_status_list,
	.check_status_put = sq_check_status_put,
	.check_ping = sq_check_ping,
	.check_result_add = sq_check_result_add,
	.check_results = sq_check_results,
	.override_insert = sq_override_insert,
	.override_list = sq_override_list,
	.override_delete = sq_override_delete,
	.postmortem_insert = sq_postmortem_insert,
	.postmortem_get = sq_postmortem_get,
	.postmortem_update = sq_postmortem_update,
	.postmortem_list = sq_postmortem_list,
	.pm_revision_add = sq_pm_revision_add,
	.pm_revision_list = sq_pm_revision_list,
	.action_insert = sq_action_insert,
	.action_get = sq_action_get,
	.action_update = sq_action_update,
	.action_delete = sq_action_delete,
	.action_list = sq_action_list,
	.maintenance_set = sq_maintenance_set,
	.maintenance_horizon = sq_maintenance_horizon,
	.maintenance_active = sq_maintenance_active,
};
