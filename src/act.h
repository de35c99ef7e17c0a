/*
 * act.h - one-click acknowledge and resolve links carried by every page.
 *
 * A link is /act/TOKEN with TOKEN = "N.ACTION.EXPIRES.MAC": the notification id,
 * ack or resolve, the expiry (Unix seconds, ACT_TTL after the page) and an
 * HMAC-SHA256 (first 16 bytes, hex) of the rest under a key the store keeps
 * (settings, made at first start).  So a link cannot be forged or altered, dies at
 * its expiry, and works once: its use is recorded in the same transaction as the
 * action.  GET only shows what the link would do, with a button; POST does it, as
 * the user the page was for.  No state changes on GET (mail scanners fetch links).
 */
#ifndef TOCSIN_ACT_H
#define TOCSIN_ACT_H

#include "routes.h"

#define ACT_TTL_MS (24 * MS_PER_HOUR)
#define ACT_KEY_BYTES 32

/* Loads the signing key from the store, making it on first start; -1 with *err. */
int act_init(struct server *srv, char **err);
/* The absolute link doing action ("ack" or "resolve") for notification n (caller
 * frees). */
char *act_link(const struct server *srv, const char *public_url, const struct notification *n,
	       const char *action);

void act_show(struct server *srv, struct http_request *req, const struct route_ctx *ctx);
void act_do(struct server *srv, struct http_request *req, const struct route_ctx *ctx);

#endif
