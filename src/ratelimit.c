/*
 * ratelimit.c - token buckets per routing key.
 *
 * Each key has a bucket of per_minute tokens, refilled continuously (per_minute
 * tokens per 60 s), so a burst of a minute's worth is allowed and a steady rate
 * above the limit is not.  Only keys that name a service reach here, so the table
 * stays as small as the config; it is a plain array under one mutex.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"
#include "util.h"
#include "banned.h"

struct bucket {
	char *key;
	double tokens;
	int64_t last_ms;
};

struct ratelimit {
	pthread_mutex_t lock;
	struct bucket *b;
	size_t n, cap;
};

struct ratelimit *ratelimit_new(void)
{
	struct ratelimit *rl = xcalloc(1, sizeof(*rl));
	pthread_mutex_init(&rl->lock, NULL);
	return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	for (size_t i = 0; i < rl->n; i++)
		free(rl->b[i].key);
	free(rl->b);
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

static struct bucket *find(struct ratelimit *rl, const char *key, int per_minute,
			   int64_t now)
{
	for (size_t i = 0; i < rl->n; i++)
		if (!strcmp(rl->b[i].key, key))
			return &rl->b[i];
	if (rl->n == rl->cap) {
		rl->cap = rl->cap ? rl->cap * 2 : 8;
		rl->b = xrealloc(rl->b, rl->cap * sizeof(*rl->b));
	}
	struct bucket *b = &rl->b[rl->n++];
	b->key = xstrdup(key);
	b->tokens = per_minute;
	b->last_ms = now;
	return b;
}

int ratelimit_take(struct ratelimit *rl, const char *key, int per_minute, int n, int64_t now)
{
	if (per_minute <= 0 || n <= 0)
		return 0;
	int wait = 0;
	double rate = per_minute / 60000.0;	/* tokens per ms */
	pthread_mutex_lock(&rl->lock);
	struct bucket *b = find(rl, key, per_minute, now);
	if (now > b->last_ms)
		b->tokens += (double)(now - b->last_ms) * rate;
	if (b->tokens > per_minute)
		b->tokens = per_minute;
	b->last_ms = now > b->last_ms ? now : b->last_ms;
	if (b->tokens >= n)
		b->tokens -= n;
	else
		wait = (int)((n - b->tokens) / rate / 1000.0) + 1;
	pthread_mutex_unlock(&rl->lock);
	return wait;
}
