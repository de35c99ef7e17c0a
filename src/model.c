/*
 * model.c - release helpers and list growth for the records of model.h.
 */
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "util.h"
#include "banned.h"

void incident_release(struct incident *i)
{
	free(i->service);
	free(i->title);
	free(i->assigned_to);
	free(i->group_key);
	free(i->policy);
	memset(i, 0, sizeof(*i));
}

void alert_release(struct alert *a)
{
	free(a->service);
	free(a->dedup_key);
	free(a->summary);
	free(a->source);
	free(a->severity);
	free(a->details);
	free(a->integration);
	memset(a, 0, sizeof(*a));
}

void log_entry_release(struct log_entry *e)
{
	free(e->type);
	free(e->actor);
	free(e->message);
	memset(e, 0, sizeof(*e));
}

void change_release(struct change_event *c)
{
	free(c->service);
	free(c->summary);
	free(c->source);
	free(c->payload);
	memset(c, 0, sizeof(*c));
}

void timer_release(struct timer *t)
{
	free(t->kind);
	memset(t, 0, sizeof(*t));
}

void override_release(struct override *o)
{
	free(o->schedule);
	free(o->user);
	free(o->created_by);
	memset(o, 0, sizeof(*o));
}

void page_release(struct page *p)
{
	free(p->user);
	free(p->reason);
	free(p->status);
	memset(p, 0, sizeof(*p));
}

void notification_release(struct notification *n)
{
	free(n->user);
	free(n->contact);
	free(n->channel);
	free(n->kind);
	free(n->status);
	free(n->last_error);
	free(n->text);
	memset(n, 0, sizeof(*n));
}

void check_status_release(struct check_status *c)
{
	free(c->id);
	free(c->output);
	free(c->history);
	memset(c, 0, sizeof(*c));
}

void check_result_release(struct check_result_row *r)
{
	free(r->output);
	memset(r, 0, sizeof(*r));
}

void postmortem_release(struct postmortem *p)
{
	free(p->incidents);
	free(p->title);
	free(p->owner);
	free(p->status);
	free(p->services);
	free(p->detection);
	free(p->factors);
	free(p->approvals);
	free(p->body);
	memset(p, 0, sizeof(*p));
}

void pm_revision_release(struct pm_revision *r)
{
	free(r->actor);
	free(r->change);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

void action_item_release(struct action_item *a)
{
	free(a->text);
	free(a->owner);
	free(a->due);
	free(a->status);
	free(a->reason);
	free(a->ticket);
	memset(a, 0, sizeof(*a));
}

static void *list_add(void **v, size_t *n, size_t *cap, size_t size)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*v = xrealloc(*v, *cap * size);
	}
	char *slot = (char *)*v + (*n)++ * size;
	memset(slot, 0, size);
	return slot;
}

#define LIST_FUNCS(name, type, release)                                          \
	type *name##_add(struct name *l)                                          \
	{                                                                         \
		return list_add((void **)&l->v, &l->n, &l->cap, sizeof(type));    \
	}                                                                         \
	void name##_release(struct name *l)                                       \
	{                                                                         \
		for (size_t i = 0; i < l->n; i++)                                 \
			release(&l->v[i]);                                        \
		free(l->v);                                                       \
		memset(l, 0, sizeof(*l));                                         \
	}

LIST_FUNCS(incident_list, struct incident, incident_release)
LIST_FUNCS(alert_list, struct alert, alert_release)
LIST_FUNCS(log_list, struct log_entry, log_entry_release)
LIST_FUNCS(change_list, struct change_event, change_release)
LIST_FUNCS(timer_list, struct timer, timer_release)
LIST_FUNCS(override_list, struct override, override_release)
LIST_FUNCS(page_list, struct page, page_release)
LIST_FUNCS(notification_list, struct notification, notification_release)
LIST_FUNCS(check_status_list, struct check_status, check_status_release)
LIST_FUNCS(check_result_list, struct check_result_row, check_result_release)
LIST_FUNCS(postmortem_list, struct postmortem, postmortem_release)
LIST_FUNCS(pm_revision_list, struct pm_revision, pm_revision_release)
LIST_FUNCS(action_list, struct action_item, action_item_release)

static const char *const status_names[] = {
	[INC_TRIGGERED] = "triggered",
	[INC_ACKNOWLEDGED] = "acknowledged",
	[INC_RESOLVED] = "resolved",
};

const char *incident_status_name(enum incident_status s)
{
	return status_names[s];
}

int incident_status_parse(const char *s, enum incident_status *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(status_names); i++)
		if (!strcmp(s, status_names[i])) {
			*out = (enum incident_status)i;
			return 0;
		}
	return -1;
}
