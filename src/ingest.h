/*
 * ingest.h - the event endpoints real senders post to: PagerDuty Events API v2
 * and v1, change events, and Alertmanager's webhook.  They answer exactly as the
 * senders expect (PROTOCOLS.md), and only after the event is committed.
 */
#ifndef TOCSIN_INGEST_H
#define TOCSIN_INGEST_H

#include <stddef.h>

#include "routes.h"

void ingest_v2(struct server *srv, struct http_request *req, const struct route_ctx *ctx);
void ingest_change(struct server *srv, struct http_request *req, const struct route_ctx *ctx);
void ingest_v1(struct server *srv, struct http_request *req, const struct route_ctx *ctx);
void ingest_alertmanager(struct server *srv, struct http_request *req,
			 const struct route_ctx *ctx);

/* Nesting depth of a JSON text (brackets outside strings); the parser's guard. */
int json_depth(const char *text, size_t len);
#define JSON_DEPTH_MAX 32

#endif
