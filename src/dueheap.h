/*
 * dueheap.h - a min-heap of (due, id) pairs: what is due next, in due order.
 *
 * The engine keeps its timers in one and the notification worker its deliveries.
 * Ties are broken by id, so equal deadlines come out in the order they were made.
 * Not thread-safe: the owner locks around it.  A zeroed struct is an empty heap;
 * dueheap_release() frees the storage.
 */
#ifndef TOCSIN_DUEHEAP_H
#define TOCSIN_DUEHEAP_H

#include <stddef.h>
#include <stdint.h>

struct due_item {
	int64_t due;
	int64_t id;
};

struct dueheap {
	struct due_item *v;
	size_t n, cap;
};

void dueheap_push(struct dueheap *h, int64_t due, int64_t id);
/* The earliest item; the heap must not be empty. */
struct due_item dueheap_pop(struct dueheap *h);
/* Moves every due by delta (the order holds). */
void dueheap_shift(struct dueheap *h, int64_t delta);
/* ms until the earliest item is due at now, capped to max (max when empty). */
int64_t dueheap_wait(const struct dueheap *h, int64_t now, int64_t max);
void dueheap_release(struct dueheap *h);

#endif
