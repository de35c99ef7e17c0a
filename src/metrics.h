/*
 * metrics.h - GET /metrics: tocsin's own counters in Prometheus text format 0.0.4.
 */
#ifndef TOCSIN_METRICS_H
#define TOCSIN_METRICS_H

#include "routes.h"

void metrics_get(struct server *srv, struct http_request *req, const struct route_ctx *ctx);

#endif
