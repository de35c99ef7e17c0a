#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

struct config *test_config(const char *yaml)
{
	struct strlist errs = STRLIST_INIT;
	struct config *c = config_parse("test.yaml", yaml, strlen(yaml), &errs);
	for (size_t i = 0; i < errs.n; i++)
		cr_log_error("%s", errs.v[i]);
	cr_assert_not_null(c, "test config does not load");
	strlist_release(&errs);
	return c;
}

struct store *test_store(char **dir, char **path)
{
	char tmpl[] = "/tmp/tocsin-unit-XXXXXX";
	char *err = NULL;
	cr_assert_not_null(mkdtemp(tmpl));
	*dir = xstrdup(tmpl);
	*path = xasprintf("%s/store/tocsin.db", tmpl);
	struct store *st = store_open(*path, NULL, &err);
	cr_assert_not_null(st, "store_open: %s", err ? err : "?");
	return st;
}

void test_store_close(struct store *st, char *dir, char *path)
{
	store_free(st);
	test_remove(dir, path);
}

void test_remove(char *dir, char *path)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
	free(cmd);
	free(dir);
	free(path);
}
