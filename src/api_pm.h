/*
 * api_pm.h - the postmortem API: /api/postmortems and /api/actions.  The handlers
 * are rows of the route table (routes.c); the shapes are in docs/API.md.
 */
#ifndef TOCSIN_API_PM_H
#define TOCSIN_API_PM_H

#include "routes.h"

void api_postmortems(struct server *srv, struct http_request *req, const struct route_ctx *ctx);
void api_postmortem_create(struct server *srv, struct http_request *req,
			   const struct route_ctx *ctx);
void api_postmortem_show(struct server *srv, struct http_request *req,
			 const struct route_ctx *ctx);
void api_postmortem_history(struct server *srv, struct http_request *req,
			    const struct route_ctx *ctx);
void api_postmortem_markdown(struct server *srv, struct http_request *req,
			     const struct route_ctx *ctx);
void api_postmortem_edit(struct server *srv, struct http_request *req,
			 const struct route_ctx *ctx);
void api_postmortem_fields(struct server *srv, struct http_request *req,
			   const struct route_ctx *ctx);
void api_postmortem_lint(struct server *srv, struct http_request *req,
			 const struct route_ctx *ctx);
void api_postmortem_page(struct server *srv, struct http_request *req,
			 const struct route_ctx *ctx);
void api_postmortem_step(struct server *srv, struct http_request *req,
			 const struct route_ctx *ctx);
void api_actions(struct server *srv, struct http_request *req, const struct route_ctx *ctx);
void api_action_update(struct server *srv, struct http_request *req,
		       const struct route_ctx *ctx);

#endif
