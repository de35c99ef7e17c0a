/*
 * dueheap.c - a binary min-heap of (due, id).  See dueheap.h.
 */
#include <stdlib.h>
#include <string.h>

#include "dueheap.h"
#include "util.h"
#include "banned.h"

static int less(const struct due_item *a, const struct due_item *b)
{
	return a->due < b->due || (a->due == b->due && a->id < b->id);
}

static void swap(struct due_item *a, struct due_item *b)
{
	struct due_item t = *a;
	*a = *b;
	*b = t;
}

void dueheap_push(struct dueheap *h, int64_t due, int64_t id)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 64;
		h->v = xrealloc(h->v, h->cap * sizeof(*h->v));
	}
	size_t i = h->n++;
	h->v[i] = (struct due_item){ due, id };
	while (i > 0 && less(&h->v[i], &h->v[(i - 1) / 2])) {
		swap(&h->v[i], &h->v[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
}

struct due_item dueheap_pop(struct dueheap *h)
{
	struct due_item top = h->v[0];
	h->v[0] = h->v[--h->n];
	for (size_t i = 0;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < h->n && less(&h->v[l], &h->v[m]))
			m = l;
		if (r < h->n && less(&h->v[r], &h->v[m]))
			m = r;
		if (m == i)
			break;
		swap(&h->v[i], &h->v[m]);
		i = m;
	}
	return top;
}

void dueheap_shift(struct dueheap *h, int64_t delta)
{
	for (size_t i = 0; i < h->n; i++)
		h->v[i].due += delta;
}

int64_t dueheap_wait(const struct dueheap *h, int64_t now, int64_t max)
{
	if (!h->n || h->v[0].due - now >= max)
		return max;
	return h->v[0].due - now < 0 ? 0 : h->v[0].due - now;
}

void dueheap_release(struct dueheap *h)
{
	free(h->v);
	memset(h, 0, sizeof(*h));
}
