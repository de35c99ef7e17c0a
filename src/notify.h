/*
 * notify.h - paging people: from page requests to deliveries, and the worker that
 * sends them (docs/NOTIFY.md).
 *
 * Planning runs in the writer transaction that made the page (escalate.c): each of
 * the user's notification rules that applies to the incident's urgency becomes one
 * row in notifications, due at the page's time + the rule's `after`.  The worker
 * thread owns everything after that: it wakes at the earliest due row, sends it on
 * curl multi (many at once, so one hanging provider delays nobody else), and records
 * the outcome through the store writer: sent (a `notify` log entry), retry later
 * with capped exponential backoff (`notify_failed`), or permanent failure, after
 * which the user's next contact method is tried.
 */
#ifndef TOCSIN_NOTIFY_H
#define TOCSIN_NOTIFY_H

#include "config.h"
#include "model.h"
#include "store.h"

struct server;
struct notify;

/* In a writer transaction: the deliveries of page p of incident inc. */
int notify_plan_page(struct store_tx *tx, const struct config *cfg, const struct incident *inc,
		     const struct page *p);
/* In a writer transaction: a one-off message of kind ("postmortem", "reminder") to
 * the user's first contact method, due now; with paged, like a low-urgency page
 * instead: one delivery per notification rule that applies, at now + its `after`
 * (the first contact method when none does).  A user unknown or without contact
 * methods is told nothing (STORE_OK). */
int notify_user(struct store_tx *tx, const struct config *cfg, const char *user,
		const char *kind, const char *text, int64_t now, int paged);

/* In a writer transaction: the incident was acknowledged or resolved, so its pending
 * page deliveries are cancelled. */
int notify_cancel(struct store_tx *tx, int64_t incident);

/* Loads pending deliveries and starts the worker; NULL and *err on failure. */
struct notify *notify_start(struct server *srv, char **err);
void notify_stop(struct notify *w);
/* The store's notify hook: deliveries committed by a batch. */
void notify_on_commit(void *w, const struct timer_list *added);
/* Re-reads "now" (the test clock moved). */
void notify_wake(struct notify *w);

/* Retry delays: 1 s, 2 s, 4 s ... at most this, each with +-20% jitter. */
#define NOTIFY_BACKOFF_MAX_MS (60 * 1000)
/* The per-contact throttle of texts and calls. */
#define NOTIFY_THROTTLE_COUNT 5
#define NOTIFY_THROTTLE_WINDOW_MS (15 * 60 * 1000)

#endif
