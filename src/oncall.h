/*
 * oncall.h - the on-call API: who is on call, shifts, and overrides (docs/API.md).
 */
#ifndef TOCSIN_ONCALL_H
#define TOCSIN_ONCALL_H

#include "routes.h"

void oncall_get(struct server *srv, struct http_request *req, const struct route_ctx *ctx);
void oncall_shifts(struct server *srv, struct http_request *req, const struct route_ctx *ctx);
void oncall_overrides(struct server *srv, struct http_request *req,
		      const struct route_ctx *ctx);
void oncall_override_add(struct server *srv, struct http_request *req,
			 const struct route_ctx *ctx);
void oncall_override_delete(struct server *srv, struct http_request *req,
			    const struct route_ctx *ctx);

void oncall_calendar(struct server *srv, struct http_request *req, const struct route_ctx *ctx);
void oncall_calendar_user(struct server *srv, struct http_request *req,
			  const struct route_ctx *ctx);

#endif
