/*
 * auth.h - API tokens: minting, hashing, and finding the caller of a request.
 *
 * A token is 32 random bytes (libsodium), shown once as "tcn_" + 64 hex digits.
 * The store keeps only its BLAKE2b-256 hash: a stolen database does not yield
 * usable tokens, and since tokens are high-entropy a fast hash is enough (slow
 * password hashing is for the low-entropy secrets people choose).  No token is
 * ever logged.
 */
#ifndef TOCSIN_AUTH_H
#define TOCSIN_AUTH_H

#include "store.h"

#define AUTH_HASH_HEX 65

/* sodium_init(); 0 on success. */
int auth_init(void);
/* A new random token (caller frees). */
char *auth_token_new(void);
void auth_token_hash(const char *token, char out[AUTH_HASH_HEX]);
/* Reads "Bearer T" or "Token token=T"; returns a pointer into header or NULL. */
const char *auth_token_from_header(const char *header, size_t *len);
/* `tocsin token create USER -c FILE`: prints the token alone; returns exit status. */
int auth_token_create_cmd(const char *config_path, const char *user);
/* Inserts a token for user inside a transaction. */
int auth_token_store(struct store_tx *tx, const char *user, const char *token, int64_t now);

#endif
