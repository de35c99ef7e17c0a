/*
 * The SQLite store: migrations from an empty file, refusing a newer schema, and the
 * writer's group commit (a failing job is rolled back alone).
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

static char *dir, *path;

Test(store, migrates_an_empty_store_to_the_newest_schema)
{
	log_set_quiet(1);
	struct store *st = test_store(&dir, &path);
	struct store_conn *c = store_read_begin(st);
	cr_assert_gt(store_ops(st)->schema_version(c), 0);
	cr_assert(store_ops(st)->ping(c));
	store_read_end(st, c);
	store_free(st);
	/* opening again is a no-op migration */
	char *err = NULL;
	st = store_open(path, NULL, &err);
	cr_assert_not_null(st, "%s", err ? err : "");
	test_store_close(st, dir, path);
}

Test(store, refuses_a_store_from_a_newer_tocsin)
{
	log_set_quiet(1);
	struct store *st = test_store(&dir, &path);
	store_free(st);
	sqlite3 *db;
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "PRAGMA user_version=999", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	char *err = NULL;
	cr_assert_null(store_open(path, NULL, &err));
	cr_assert(strstr(err, "newer than this tocsin"), "%s", err);
	free(err);
	test_remove(dir, path);
}

static int insert_change(struct store_tx *tx, struct store_job *job)
{
	struct change_event ch = { .service = "web", .at = 1, .summary = job->arg,
				   .payload = "{}" };
	int rc = tx->ops->change_insert(tx->conn, &ch);
	if (rc == STORE_OK && !strcmp(job->arg, "fail"))
		return -1;	/* the job's own failure after writing */
	return rc;
}

struct pending {
	struct store_job job;
	int finished;
	int rc;
};

static void pending_done(struct store_job *job, int rc)
{
	struct pending *p = (struct pending *)job;
	__atomic_store_n(&p->rc, rc, __ATOMIC_SEQ_CST);
	__atomic_store_n(&p->finished, 1, __ATOMIC_SEQ_CST);
}

Test(store, a_failing_job_is_rolled_back_alone_within_its_batch)
{
	log_set_quiet(1);
	struct store *st = test_store(&dir, &path);
	const char *names[] = { "one", "fail", "two" };
	struct pending p[3];
	memset(p, 0, sizeof(p));
	for (int i = 0; i < 3; i++) {
		p[i].job.apply = insert_change;
		p[i].job.done = pending_done;
		p[i].job.arg = (void *)names[i];
		p[i].job.savepoint = 1;
		store_submit(st, &p[i].job);
	}
	for (int i = 0; i < 3; i++)
		while (!__atomic_load_n(&p[i].finished, __ATOMIC_SEQ_CST))
			;
	cr_assert_eq(p[0].rc, STORE_OK);
	cr_assert_eq(p[1].rc, -1);
	cr_assert_eq(p[2].rc, STORE_OK);
	struct change_list l = { 0 };
	struct store_conn *c = store_read_begin(st);
	cr_assert_eq(store_ops(st)->change_list(c, "web", 0, 10, 0, &l), STORE_OK);
	store_read_end(st, c);
	cr_assert_eq(l.n, 2);
	cr_assert(strcmp(l.v[0].summary, "fail") && strcmp(l.v[1].summary, "fail"));
	change_list_release(&l);
	test_store_close(st, dir, path);
}
