/*
 * api.h - the JSON API under /api: incidents, services, changes, tokens.
 * The handlers are listed in the route table (routes.c); the shapes are in
 * docs/API.md and DESIGN.md section 4.
 */
#ifndef TOCSIN_API_H
#define TOCSIN_API_H

#include "routes.h"

void api_info(struct server *srv, struct http_request *req, const struct route_ctx *ctx);
void api_incidents(struct server *srv, struct http_request *req, const struct route_ctx *ctx);
void api_incident_show(struct server *srv, struct http_request *req,
		       const struct route_ctx *ctx);
void api_incident_ack(struct server *srv, struct http_request *req,
		      const struct route_ctx *ctx);
void api_incident_resolve(struct server *srv, struct http_request *req,
			  const struct route_ctx *ctx);
void api_incident_note(struct server *srv, struct http_request *req,
		       const struct route_ctx *ctx);
void api_incident_severity(struct server *srv, struct http_request *req,
			   const struct route_ctx *ctx);
void api_incident_escalate(struct server *srv, struct http_request *req,
			   const struct route_ctx *ctx);
void api_incident_reassign(struct server *srv, struct http_request *req,
			   const struct route_ctx *ctx);
void api_incident_pages(struct server *srv, struct http_request *req,
			const struct route_ctx *ctx);
void api_incident_notifications(struct server *srv, struct http_request *req,
				const struct route_ctx *ctx);
void api_services(struct server *srv, struct http_request *req, const struct route_ctx *ctx);
void api_maintenance(struct server *srv, struct http_request *req,
		     const struct route_ctx *ctx);
void api_changes(struct server *srv, struct http_request *req, const struct route_ctx *ctx);
void api_token_create(struct server *srv, struct http_request *req,
		      const struct route_ctx *ctx);
void api_test_clock(struct server *srv, struct http_request *req,
		    const struct route_ctx *ctx);

/* Shared by the API's handlers (api.c, api_pm.c). */
/* The request body as a JSON object, or NULL after replying 400. */
json_t *api_body_object(struct http_request *req);
/* Borrows a reader; replies 503 and returns NULL when the store is unavailable. */
struct store_conn *api_reader(struct server *srv, struct http_request *req);
/* "42" or "#42" -> 42; 0 when malformed. */
int64_t api_parse_number(const char *s);
/* The number in a path parameter; 0 after replying 404 ("postmortem numbers are 1, 2, 3..."). */
int64_t api_id_or_404(struct http_request *req, const char *param, const char *what);
/* Replies a refusal whose rc is the HTTP status negated (INCIDENT_E*, REVIEW_E*), with why. */
void api_reply_refused(struct http_request *req, int rc, const char *why);
/* A JSON array kept as text in the store; an empty array when it is not one. */
json_t *api_json_array(const char *text);

/* JSON of an incident in the shape of DESIGN.md section 4 (new reference). */
json_t *incident_json(const struct incident *inc);
/* `show`'s document of incident n (alerts, timeline), or NULL with *rc
 * STORE_NOTFOUND or STORE_FAULT. */
json_t *incident_document(const struct store_ops *ops, struct store_conn *c, int64_t n, int *rc);

#endif
