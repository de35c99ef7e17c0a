/*
 * engine.h - the engine thread: fires persisted timers at their deadlines.
 */
#ifndef TOCSIN_ENGINE_H
#define TOCSIN_ENGINE_H

#include "model.h"

struct server;
struct engine;

/* Loads every persisted timer and starts the thread; NULL and *err on failure. */
struct engine *engine_start(struct server *srv, char **err);
void engine_stop(struct engine *e);
/* Re-reads "now" (the test clock moved). */
void engine_wake(struct engine *e);
/* The store's commit hook: schedules timers added by a committed batch. */
void engine_on_commit(void *engine, const struct timer_list *added);
/* Timers waiting in the heap (for /metrics and tests). */
size_t engine_pending(struct engine *e);

#endif
