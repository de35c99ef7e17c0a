/*
 * routes.h - the route table: every HTTP endpoint, its handler and its rights.
 *
 * One const table in routes.c drives dispatch, authentication and the role check,
 * and lists the endpoints for the docs; handlers live with their concern
 * (ingest.c for senders, api.c for the JSON API).  A handler runs after the route
 * matched and the caller was authenticated; path parameters ("{n}") are in
 * ctx->params in order.
 */
#ifndef TOCSIN_ROUTES_H
#define TOCSIN_ROUTES_H

#include <jansson.h>

#include "config.h"
#include "http.h"
#include "server.h"

#define ROUTE_PARAMS_MAX 4

enum route_auth {
	AUTH_NONE = -1,			/* open, or the routing key is the credential */
	AUTH_OBSERVER = ROLE_OBSERVER,
	AUTH_RESPONDER = ROLE_RESPONDER,
	AUTH_ADMIN = ROLE_ADMIN,
};

struct route_ctx {
	char *params[ROUTE_PARAMS_MAX];
	size_t nparams;
	const char *user;		/* NULL on AUTH_NONE routes */
	enum role role;
};

typedef void (*route_fn)(struct server *srv, struct http_request *req,
			 const struct route_ctx *ctx);

struct route {
	const char *method;
	const char *pattern;		/* "/api/incidents/{n}/ack" */
	route_fn handler;
	enum route_auth auth;
	const char *help;
	int query_token;		/* also takes ?token=T (calendar feeds cannot send headers) */
};

/* The http_dispatch_fn of the daemon; ctx is the struct server. */
void routes_dispatch(void *srv, struct http_request *req);
/* The http_replied_fn: counts the response by route and status code. */
void routes_replied(void *srv, int tag, int status);

/* Responses are counted in srv->responses[route * RESPONSE_CODES + code index]; route
 * 0 is "no route" (404, 405 and limits hit before routing). */
#define RESPONSE_CODES 17
size_t routes_count(void);
/* "POST /v2/enqueue" of route index i (0: "none"). */
const char *routes_name(size_t i, char *out, size_t outlen);
/* The status code of code index k; 0 for "other". */
int routes_code(size_t k);

/* Replies with a JSON document (taken: decref'ed here). */
void reply_json(struct http_request *req, int status, json_t *doc);
/* ms as an ISO 8601 UTC string; JSON null for 0 (never happened, not set). */
json_t *json_time(int64_t ms);

#endif
