/*
 * ratelimit.h - per routing key event rate limit (token bucket, events per minute).
 */
#ifndef TOCSIN_RATELIMIT_H
#define TOCSIN_RATELIMIT_H

#include <stdint.h>

struct ratelimit;

struct ratelimit *ratelimit_new(void);
void ratelimit_free(struct ratelimit *rl);
/*
 * Takes n events from key's bucket (per_minute capacity, refilled continuously).
 * Returns 0 when allowed, else the whole seconds until they would be (>= 1), and
 * takes nothing.  per_minute <= 0 means unlimited.
 */
int ratelimit_take(struct ratelimit *rl, const char *key, int per_minute, int n, int64_t now_ms);

#endif
