/*
 * auth.c - API tokens (see auth.h for the scheme and why a fast hash is right).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>

#include "auth.h"
#include "clock.h"
#include "config.h"
#include "banned.h"

#define TOKEN_PREFIX "tcn_"

int auth_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

char *auth_token_new(void)
{
	unsigned char r[32];
	char hex[65];
	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(hex, sizeof(hex), r, sizeof(r));
	sodium_memzero(r, sizeof(r));
	return xasprintf(TOKEN_PREFIX "%s", hex);
}

void auth_token_hash(const char *token, char out[AUTH_HASH_HEX])
{
	unsigned char h[32];
	crypto_generichash(h, sizeof(h), (const unsigned char *)token, strlen(token), NULL, 0);
	sodium_bin2hex(out, AUTH_HASH_HEX, h, sizeof(h));
}

const char *auth_token_from_header(const char *h, size_t *len)
{
	const char *t = NULL;
	if (!h)
		return NULL;
	if (!strncasecmp(h, "Bearer ", 7))
		t = h + 7;
	else if (!strncasecmp(h, "Token token=", 12))
		t = h + 12;
	if (!t)
		return NULL;
	while (*t == ' ')
		t++;
	*len = strcspn(t, " \t\r\n");
	return *len ? t : NULL;
}

int auth_token_store(struct store_tx *tx, const char *user, const char *token, int64_t now)
{
	char hash[AUTH_HASH_HEX];
	auth_token_hash(token, hash);
	return tx->ops->token_insert(tx->conn, user, hash, now);
}

struct mint {
	const char *user;
	const char *token;
};

static int mint_apply(struct store_tx *tx, struct store_job *job)
{
	const struct mint *m = job->arg;
	return auth_token_store(tx, m->user, m->token, clock_now_ms());
}

int auth_token_create_cmd(const char *config_path, const char *user)
{
	struct strlist errs = STRLIST_INIT;
	struct config *cfg = config_load(config_path, &errs);
	struct store *st = NULL;
	char *err = NULL, *token = NULL;
	int status = 1;

	log_set_quiet(1);
	if (!cfg) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.v[i]);
		goto out;
	}
	if (!config_user(cfg, user)) {
		fprintf(stderr, "tocsin: no user '%s' in %s\n", user, config_path);
		goto out;
	}
	if (auth_init() < 0 || !(st = store_open(cfg->sqlite_path, cfg->postgres, &err))) {
		fprintf(stderr, "tocsin: %s\n", err ? err : "cannot initialise libsodium");
		goto out;
	}
	token = auth_token_new();
	struct mint m = { user, token };
	if (store_run(st, mint_apply, &m) != STORE_OK) {
		fprintf(stderr, "tocsin: cannot store the token\n");
		goto out;
	}
	printf("%s\n", token);
	status = 0;
out:
	store_free(st);
	free(token);
	free(err);
	strlist_release(&errs);
	if (cfg)
		config_unref(cfg);
	return status;
}
