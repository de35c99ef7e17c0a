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

/*
 * The parsers behind the endpoints, for tests and reuse.  Each appends every problem
 * to errs.  The v2/v1 parsers fill ev completely (service, integration, a made-up
 * dedup key when none was sent) and return the service, or NULL when errs grew.
 * The Alertmanager parser returns the number of events in *out (caller releases
 * each with event_release() and frees the array).
 */
struct event;
const struct service *ingest_parse_v2(const json_t *doc, const struct config *cfg,
				     struct event *ev, struct strlist *errs);
const struct service *ingest_parse_v1(const json_t *doc, const struct config *cfg,
				     struct event *ev, struct strlist *errs);
size_t ingest_parse_alertmanager(const json_t *doc, const char *service, int64_t now,
				 struct event **out, struct strlist *errs);

/* Nesting depth of a JSON text (brackets outside strings); the parser's guard. */
int json_depth(const char *text, size_t len);
#define JSON_DEPTH_MAX 32

#endif
