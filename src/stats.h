/*
 * stats.h - how fast the team acknowledges and resolves: MTTA and MTTR, counts, and
 * the load on each responder (DESIGN.md section 4, `tocsin stats`).
 *
 * MTTA is created -> first acknowledgement over the incidents that were
 * acknowledged, MTTR created -> resolved over those resolved, in seconds, as mean,
 * p50 and p90.  Percentiles interpolate linearly between the two closest ranks (as
 * numpy's default), so they are exact for small samples a person can check by hand.
 */
#ifndef TOCSIN_STATS_H
#define TOCSIN_STATS_H

#include <stddef.h>

#include "routes.h"

/* Percentile p (0..100) of values sorted ascending; 0 when n is 0. */
double stats_percentile(const double *sorted, size_t n, double p);

/* GET /api/stats?service=S&team=T&responder=U&since=30d|ISO&until=ISO */
void api_stats(struct server *srv, struct http_request *req, const struct route_ctx *ctx);

/* Pages between 22:00 and 07:00 in the paged person's zone count as at night. */
#define NIGHT_FROM_HOUR 22
#define NIGHT_UNTIL_HOUR 7

#endif
