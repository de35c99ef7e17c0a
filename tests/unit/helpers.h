/* Shared helpers for the unit tests: a config from text, a store in a temp dir. */
#ifndef TOCSIN_TEST_HELPERS_H
#define TOCSIN_TEST_HELPERS_H

#include "config.h"
#include "store.h"

struct config *test_config(const char *yaml);
/* A fresh SQLite store in a new temporary directory; *dir is the caller's to free. */
struct store *test_store(char **dir, char **path);
void test_store_close(struct store *st, char *dir, char *path);
/* Removes a test directory and frees dir and path. */
void test_remove(char *dir, char *path);

#endif
