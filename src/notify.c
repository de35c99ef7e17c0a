/*
 * notify.c - from page requests to messages people receive.  See notify.h and
 * docs/NOTIFY.md for the rules; this comment is about how.
 *
 * Planning (notify_plan_page) runs on the store writer inside the transaction that
 * made the page, so a page and its deliveries exist together or not at all.  Each
 * delivery is a row in notifications, due at page time + the rule's `after`; the
 * writer's notify hook hands (due, id) of committed rows to the worker.
 *
 * The worker is one thread around one curl multi handle.  It keeps a dueheap of
 * pending rows (loaded at start, fed by the hook), and in each turn:
 *
 *   1. starts every due row, up to INFLIGHT_MAX at once: it reads the row and its
 *      incident from a reader connection, drops it (cancelled) when the incident is
 *      no longer triggered, holds it back when the contact's throttle is full, else
 *      builds the message and adds a curl easy handle (notifier.c);
 *   2. lets curl run every transfer a little (curl_multi_perform), so a hanging
 *      provider only holds its own handle, until its timeout;
 *   3. for each finished transfer, takes the notifier's verdict and records it with
 *      a store job: sent; retry at now + backoff (1 s doubling to 60 s, +-20%
 *      jitter, re-queued through the notify hook once that record is committed, so
 *      the next attempt reads it); or permanent failure, after which the user's
 *      next contact method gets a delivery of its own;
 *   4. sleeps in curl_multi_poll until a socket is ready, the next row is due (at
 *      most a second), or curl_multi_wakeup() from the hook or the test clock.
 *
 * A row stays pending until the store job recording its success commits, so after
 * kill -9 every undelivered page goes out after restart; a duplicate is possible
 * only when the crash falls between the provider's 2xx and that commit.
 *
 * Throttle: texts and calls to one contact are at most NOTIFY_THROTTLE_COUNT per
 * NOTIFY_THROTTLE_WINDOW_MS.  A page over it is marked bundled, and one bundle row is
 * due when the window has room again: it sends a single summary of every bundled
 * page whose incident is still triggered.
 *
 * Shift notices: every SHIFT_CHECK_MS (and on every wake-up) the worker looks at who
 * is on call for each schedule; a shift that began in the last SHIFT_NOTICE_MS gets
 * one notice to its user's first contact method, recorded in shift_notices so it is
 * sent once, also across restarts.  At the same beat, overdue action items of
 * postmortems remind their owners (review_remind(), at most once a day each).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "act.h"
#include "api.h"
#include "clock.h"
#include "dueheap.h"
#include "fault.h"
#include "incident.h"
#include "notifier.h"
#include "notify.h"
#include "review.h"
#include "schedule.h"
#include "server.h"
#include "timeutil.h"
#include "banned.h"

#define INFLIGHT_MAX 64
#define TICK_MS 1000
#define RETRY_STORE_MS 1000	/* a row that could not be read: again this soon */
#define SHIFT_CHECK_MS (30 * MS_PER_SEC)
#define SHIFT_NOTICE_MS (10 * MS_PER_MIN)
#define ONE_OFF_ATTEMPTS 10	/* shift notices and bundles give up after this */

struct inflight {
	struct delivery d;
	struct notification n;
	const struct notifier *kind;
	struct config *cfg;
	int64_t *bundled;		/* a bundle: the rows it carries */
	size_t nbundled;
	struct inflight *next;
};

static void inflight_free(struct inflight *f)
{
	if (!f)
		return;
	delivery_release(&f->d);
	notification_release(&f->n);
	config_unref(f->cfg);
	free(f->bundled);
	free(f);
}

/* A throttled send this worker started: counted before its outcome is committed. */
struct recent {
	char *user, *contact;
	int64_t at;
	int64_t id;
};

struct notify {
	struct server *srv;
	pthread_t thread;
	pthread_mutex_t lock;
	struct dueheap heap;
	int stopping;			/* read and set atomically */
	CURLM *multi;
	struct inflight *inflight;
	size_t ninflight;
	int64_t next_shift_check;	/* atomic: the test clock's wake-up zeroes it */
	struct recent *recent;		/* this thread's own */
	size_t nrecent;
};

/* --- planning, in the writer's transaction ------------------------------------ */

static int rule_applies(const struct notification_rule *r, const struct incident *inc)
{
	return r->urgency == URGENCY_ANY || (r->urgency == URGENCY_HIGH) == !!inc->urgency_high;
}

static const struct contact_method *contact_of(const struct user *u, const char *id)
{
	for (size_t i = 0; u && i < u->ncontacts; i++)
		if (!strcmp(u->contacts[i].id, id))
			return &u->contacts[i];
	return NULL;
}

static int add_delivery(struct store_tx *tx, int64_t page, int64_t incident, const char *user,
			const struct contact_method *cm, const char *kind, int64_t due,
			int64_t now, const char *text)
{
	struct notification n = {
		.page = page, .incident = incident, .user = (char *)user,
		.contact = cm->id, .channel = (char *)contact_type_name(cm->type),
		.kind = (char *)kind, .due = due, .status = "pending", .created_at = now,
		.text = (char *)text,
	};
	return store_tx_notification_add(tx, &n);
}

/* One delivery per notification rule of u that applies at the incident's urgency,
 * each at base + its `after`; *planned how many. */
static int add_by_rules(struct store_tx *tx, const struct user *u, int urgency_high,
			int64_t page, int64_t incident, const char *kind, int64_t base,
			const char *text, size_t *planned)
{
	const struct incident inc = { .urgency_high = urgency_high };
	int rc = STORE_OK;
	*planned = 0;
	for (size_t i = 0; i < u->nrules && rc == STORE_OK; i++) {
		const struct notification_rule *r = &u->rules[i];
		const struct contact_method *cm = contact_of(u, r->contact);
		if (!cm || !rule_applies(r, &inc))
			continue;
		rc = add_delivery(tx, page, incident, u->id, cm, kind, base + r->after, base, text);
		++*planned;
	}
	return rc;
}

int notify_user(struct store_tx *tx, const struct config *cfg, const char *user,
		const char *kind, const char *text, int64_t now, int paged)
{
	const struct user *u = user ? config_user(cfg, user) : NULL;
	int rc = STORE_OK;
	size_t planned = 0;
	if (!u || !u->ncontacts)
		return STORE_OK;
	if (paged)
		rc = add_by_rules(tx, u, 0, 0, 0, kind, now, text, &planned);
	if (rc == STORE_OK && !planned)
		rc = add_delivery(tx, 0, 0, u->id, &u->contacts[0], kind, now, now, text);
	return rc;
}

int notify_plan_page(struct store_tx *tx, const struct config *cfg, const struct incident *inc,
		     const struct page *p)
{
	const struct user *u = config_user(cfg, p->user);
	size_t planned = 0;
	if (!u || !u->ncontacts)
		return incident_logf(tx, inc->number, p->created_at, "notify_failed", "system",
				     "%s has no contact methods: nobody was notified", p->user);
	if (!u->nrules)	/* no rules: the first contact method, at once */
		return add_delivery(tx, p->id, inc->number, u->id, &u->contacts[0], "page",
				    p->created_at, p->created_at, NULL);
	int rc = add_by_rules(tx, u, inc->urgency_high, p->id, inc->number, "page", p->created_at,
			      NULL, &planned);
	if (rc == STORE_OK && !planned)
		rc = incident_logf(tx, inc->number, p->created_at, "notify", "system",
				   "%s has no notification rule for %s-urgency incidents", u->id,
				   inc->urgency_high ? "high" : "low");
	return rc;
}

int notify_cancel(struct store_tx *tx, int64_t incident)
{
	return tx->ops->notification_cancel(tx->conn, incident);
}

/* --- recording outcomes, through the writer ----------------------------------- */

struct outcome {
	struct store_job job;
	struct config *cfg;
	struct notification n;		/* with its new status, due, attempts, ... */
	char *log_type;			/* NULL: no timeline entry */
	char *log_msg;
	int next_contact;		/* plan the user's next contact method */
	int64_t *bundled;		/* rows delivered in this bundle */
	size_t nbundled;
	int64_t bundle_due;		/* > 0: make sure a bundle is due then */
};

static void outcome_free(struct outcome *o)
{
	config_unref(o->cfg);
	notification_release(&o->n);
	free(o->log_type);
	free(o->log_msg);
	free(o->bundled);
	free(o);
}

/* The user's contact method after n's, or NULL. */
static const struct contact_method *next_contact(const struct config *cfg,
						 const struct notification *n)
{
	const struct user *u = config_user(cfg, n->user);
	for (size_t i = 0; u && i + 1 < u->ncontacts; i++)
		if (!strcmp(u->contacts[i].id, n->contact))
			return &u->contacts[i + 1];
	return NULL;
}

static int plan_next(struct store_tx *tx, const struct outcome *o, int64_t now)
{
	const struct contact_method *cm = next_contact(o->cfg, &o->n);
	if (!cm)
		return incident_logf(tx, o->n.incident, now, "notify_failed", "system",
				     "%s has no further contact method to try", o->n.user);
	int rc = add_delivery(tx, o->n.page, o->n.incident, o->n.user, cm, o->n.kind, now, now,
			      o->n.text);
	if (rc == STORE_OK)
		rc = incident_logf(tx, o->n.incident, now, "notify", "system",
				   "trying %s's next contact method: %s '%s'", o->n.user,
				   contact_type_name(cm->type), cm->id);
	return rc;
}

/* The bundled rows this bundle carried are delivered: each incident's timeline says so. */
static int mark_bundled_sent(struct store_tx *tx, const struct outcome *o, int64_t now)
{
	int rc = STORE_OK;
	for (size_t i = 0; i < o->nbundled && rc == STORE_OK; i++) {
		struct notification b = { 0 };
		rc = tx->ops->notification_get(tx->conn, o->bundled[i], &b);
		if (rc != STORE_FOUND)
			continue;
		free(b.status);
		b.status = xstrdup("sent");
		b.sent_at = now;
		rc = tx->ops->notification_update(tx->conn, &b);
		if (rc == STORE_OK && b.incident)
			rc = incident_logf(tx, b.incident, now, "notify", "system",
					   "%s notified by %s '%s' in a bundle of %zu held-back pages",
					   b.user, b.channel, b.contact, o->nbundled);
		notification_release(&b);
	}
	return rc == STORE_FOUND || rc == STORE_NOTFOUND ? STORE_OK : rc;
}

/* A throttled page: one pending bundle of the contact, due at o->bundle_due. */
static int ensure_bundle(struct store_tx *tx, const struct outcome *o, int64_t now)
{
	struct notification_list l = { 0 };
	int rc = tx->ops->notification_by_status(tx->conn, o->n.user, o->n.contact, "pending", &l);
	int have = 0;
	for (size_t i = 0; rc == STORE_OK && i < l.n; i++)
		have |= !strcmp(l.v[i].kind, "bundle");
	notification_list_release(&l);
	const struct contact_method *cm = contact_of(config_user(o->cfg, o->n.user), o->n.contact);
	if (rc == STORE_OK && !have && cm)
		rc = add_delivery(tx, 0, 0, o->n.user, cm, "bundle", o->bundle_due, now, NULL);
	return rc;
}

static int outcome_apply(struct store_tx *tx, struct store_job *job)
{
	struct outcome *o = (struct outcome *)job;
	int64_t now = clock_now_ms();
	int rc = tx->ops->notification_update(tx->conn, &o->n);
	if (rc == STORE_OK && !strcmp(o->n.status, "pending"))	/* a retry: due again */
		store_tx_delivery_due(tx, o->n.id, o->n.due);
	if (rc == STORE_OK && o->log_type && o->n.incident)
		rc = incident_log(tx, o->n.incident, now, o->log_type, "system", o->log_msg);
	if (rc == STORE_OK && o->next_contact)
		rc = plan_next(tx, o, now);
	if (rc == STORE_OK && o->nbundled)
		rc = mark_bundled_sent(tx, o, now);
	if (rc == STORE_OK && o->bundle_due)
		rc = ensure_bundle(tx, o, now);
	return rc;
}

static void outcome_done(struct store_job *job, int rc)
{
	struct outcome *o = (struct outcome *)job;
	if (rc == STORE_FAULT)	/* the row is still pending: it is tried again */
		log_error("notify: could not record the outcome of notification %lld",
			  (long long)o->n.id);
	outcome_free(o);
}

/* Takes n (moved into the job) with its new state and submits the record. */
static struct outcome *outcome_new(struct config *cfg, struct notification *n, const char *status)
{
	struct outcome *o = xcalloc(1, sizeof(*o));
	o->job.apply = outcome_apply;
	o->job.done = outcome_done;
	o->cfg = config_ref(cfg);
	o->n = *n;
	memset(n, 0, sizeof(*n));
	free(o->n.status);
	o->n.status = xstrdup(status);
	return o;
}

static void outcome_submit(struct notify *w, struct outcome *o, const char *type,
			   char *msg)
{
	o->log_type = type ? xstrdup(type) : NULL;
	o->log_msg = msg;
	store_submit(w->srv->store, &o->job);
}

/* --- messages ------------------------------------------------------------------ */

static void page_texts(struct message *m)
{
	const struct incident *inc = m->inc;
	const struct service *svc = config_service(m->cfg, inc->service);
	m->subject = xasprintf("[tocsin] #%lld SEV-%d %s: %s", (long long)inc->number,
			       inc->severity, inc->service, inc->title);
	m->text = xasprintf("%s\n\nService: %s\nSeverity: SEV-%d, %s urgency\nStatus: %s\n"
			    "Paged: %s, level %d of %s", inc->title,
			    svc && svc->name ? svc->name : inc->service, inc->severity,
			    inc->urgency_high ? "high" : "low", incident_status_name(inc->status),
			    m->user->id, inc->escalation_level,
			    inc->policy ? inc->policy : "a hand-made assignment");
	m->brief = xasprintf("tocsin #%lld SEV-%d %s: %.100s Ack: %s", (long long)inc->number,
			     inc->severity, inc->service, inc->title, m->ack_url);
}

static void links(struct notify *w, struct message *m)
{
	const char *base = m->cfg->public_url;
	m->incident_url = xasprintf("%s/api/incidents/%lld", base, (long long)m->inc->number);
	m->ack_url = act_link(w->srv, base, m->n, "ack");
	m->resolve_url = act_link(w->srv, base, m->n, "resolve");
}

/* The message of n, read through c.  Only a webhook carries the whole incident
 * document, so only a webhook page pays for reading it. */
static void build_message(struct notify *w, struct store_conn *c, struct message *m,
			  struct incident *inc, const char *bundle_text)
{
	if (!strcmp(m->n->kind, "page")) {
		int rc;
		m->inc = inc;
		links(w, m);
		if (m->cm->type == CONTACT_WEBHOOK)
			m->incident_doc = incident_document(store_ops(w->srv->store), c,
							    inc->number, &rc);
		page_texts(m);
		return;
	}
	static const struct {
		const char *kind, *subject;
	} subjects[] = {
		{ "shift", "[tocsin] your on-call shift begins" },
		{ "postmortem", "[tocsin] a postmortem is yours to write" },
		{ "reminder", "[tocsin] an action item is overdue" },
	};
	const char *text = bundle_text ? bundle_text : m->n->text ? m->n->text : "";
	const char *subject = "[tocsin] pages held back";
	for (size_t i = 0; i < ARRAY_SIZE(subjects); i++)
		if (!strcmp(m->n->kind, subjects[i].kind))
			subject = subjects[i].subject;
	m->subject = xstrdup(subject);
	m->text = xstrdup(text);
	m->brief = xasprintf("tocsin: %.280s", text);
}

/* --- the worker: starting deliveries ------------------------------------------- */

static void push(struct notify *w, int64_t due, int64_t id)
{
	pthread_mutex_lock(&w->lock);
	dueheap_push(&w->heap, due, id);
	pthread_mutex_unlock(&w->lock);
}

/* Sends to user's contact this worker started since, and the earliest of them;
 * entries older than the window are dropped on the way. */
static int64_t recent_count(struct notify *w, const char *user, const char *contact,
			    int64_t since, int64_t *earliest)
{
	int64_t n = 0;
	for (size_t i = 0; i < w->nrecent;) {
		struct recent *r = &w->recent[i];
		if (r->at < since) {
			free(r->user);
			free(r->contact);
			*r = w->recent[--w->nrecent];
			continue;
		}
		if (!strcmp(r->user, user) && !strcmp(r->contact, contact)) {
			if (!n || r->at < *earliest)
				*earliest = r->at;
			n++;
		}
		i++;
	}
	return n;
}

static void recent_add(struct notify *w, const struct notification *n, int64_t now)
{
	w->recent = xrealloc(w->recent, (w->nrecent + 1) * sizeof(*w->recent));
	w->recent[w->nrecent++] = (struct recent){ xstrdup(n->user), xstrdup(n->contact), now,
						   n->id };
}

/* A send that did not go out does not count against the throttle. */
static void recent_forget(struct notify *w, int64_t id)
{
	for (size_t i = 0; i < w->nrecent; i++)
		if (w->recent[i].id == id) {
			free(w->recent[i].user);
			free(w->recent[i].contact);
			w->recent[i] = w->recent[--w->nrecent];
			return;
		}
}

/* A page over the contact's throttle: bundled; 1 when it was.  The count is the
 * store's (sends committed, also before a restart) or this worker's own (sends
 * started, whose outcome may not be committed yet), whichever is higher. */
static int throttle(struct notify *w, struct store_conn *c, struct config *cfg,
		    struct notification *n, int64_t now)
{
	int64_t since = now - NOTIFY_THROTTLE_WINDOW_MS, count = 0, earliest = 0, mine_at = 0;
	if (store_ops(w->srv->store)->notification_sent_since(c, n->user, n->contact, since,
							      &count, &earliest) != STORE_OK)
		count = 0;
	int64_t mine = recent_count(w, n->user, n->contact, since, &mine_at);
	if (mine > count) {
		count = mine;
		earliest = mine_at;
	}
	if (count < NOTIFY_THROTTLE_COUNT) {
		recent_add(w, n, now);
		return 0;
	}
	COUNT(w->srv, notify_bundled);
	char when[64];
	int64_t due = earliest + NOTIFY_THROTTLE_WINDOW_MS;
	time_format_zone(due, cfg->time_zone, when, sizeof(when));
	char *msg = xasprintf("%s's %s '%s' held back: %lld sent in the last 15m; "
			      "bundled for %s", n->user, n->channel, n->contact, (long long)count,
			      when);
	struct outcome *o = outcome_new(cfg, n, "bundled");
	o->bundle_due = due;
	outcome_submit(w, o, "notify", msg);
	return 1;
}

/* A bundle's summary of the still-triggered pages it carries; NULL when none. */
static char *bundle_summary(struct notify *w, struct store_conn *c, struct inflight *f)
{
	const struct store_ops *ops = store_ops(w->srv->store);
	struct notification_list l = { 0 };
	struct buf b = BUF_INIT;
	if (ops->notification_by_status(c, f->n.user, f->n.contact, "bundled", &l) != STORE_OK)
		l.n = 0;
	f->bundled = xcalloc(l.n + 1, sizeof(*f->bundled));
	for (size_t i = 0; i < l.n; i++) {
		struct incident inc = { 0 };
		if (ops->incident_get(c, l.v[i].incident, &inc) == STORE_FOUND &&
		    inc.status == INC_TRIGGERED) {
			buf_addf(&b, "%s#%lld %.60s", b.len ? "; " : "", (long long)inc.number,
				 inc.title);
			f->bundled[f->nbundled++] = l.v[i].id;
		}
		incident_release(&inc);
	}
	notification_list_release(&l);
	if (!f->nbundled) {
		buf_release(&b);
		return NULL;
	}
	char *text = xasprintf("%zu pages were held back (at most %d texts per 15m): %s",
			       f->nbundled, NOTIFY_THROTTLE_COUNT, b.s);
	buf_release(&b);
	return text;
}

static void fail_now(struct notify *w, struct config *cfg, struct notification *n, char *why)
{
	COUNT(w->srv, notify_failed);
	char *msg = xasprintf("%s '%s' of %s failed: %s (attempt %d): permanent", n->channel,
			      n->contact, n->user, why, n->attempts + 1);
	struct outcome *o = outcome_new(cfg, n, "failed");
	o->n.attempts++;
	free(o->n.last_error);
	o->n.last_error = why;
	o->next_contact = !strcmp(o->n.kind, "page");
	outcome_submit(w, o, "notify_failed", msg);
}

static void cancel(struct notify *w, struct config *cfg, struct notification *n)
{
	COUNT(w->srv, notify_cancelled);
	outcome_submit(w, outcome_new(cfg, n, "cancelled"), NULL, NULL);
}

/* Reads row id and decides: send (returns the in-flight, added to curl), or
 * record why not. */
static void begin(struct notify *w, int64_t id, int64_t now)
{
	struct config *cfg = server_config(w->srv);
	const struct store_ops *ops = store_ops(w->srv->store);
	struct inflight *f = xcalloc(1, sizeof(*f));
	struct incident inc = { 0 };
	struct message m = { 0 };
	char *err = NULL, *summary = NULL;
	struct store_conn *c = store_read_begin(w->srv->store);
	int rc = c ? ops->notification_get(c, id, &f->n) : STORE_FAULT;
	if (rc == STORE_FAULT)
		push(w, now + RETRY_STORE_MS, id);
	if (rc != STORE_FOUND || strcmp(f->n.status, "pending"))
		goto drop;
	if (f->n.due > now) {		/* moved since it was queued */
		push(w, f->n.due, id);
		goto drop;
	}
	if (f->n.incident && (ops->incident_get(c, f->n.incident, &inc) != STORE_FOUND ||
			      inc.status != INC_TRIGGERED)) {
		cancel(w, cfg, &f->n);
		goto drop;
	}
	const struct user *u = config_user(cfg, f->n.user);
	const struct contact_method *cm = contact_of(u, f->n.contact);
	if (!cm) {
		fail_now(w, cfg, &f->n, xstrdup("the contact method is no longer in the configuration"));
		goto drop;
	}
	f->kind = notifier_for(cm->type);
	if (f->kind->throttled && !strcmp(f->n.kind, "page") && throttle(w, c, cfg, &f->n, now))
		goto drop;
	if (!strcmp(f->n.kind, "bundle") && !(summary = bundle_summary(w, c, f))) {
		cancel(w, cfg, &f->n);
		goto drop;
	}
	m = (struct message){ .cfg = cfg, .user = u, .cm = cm, .n = &f->n };
	build_message(w, c, &m, &inc, summary);
	store_read_end(w->srv->store, c);
	c = NULL;
	delivery_init(&f->d, cfg, f->kind->guarded);
	if (f->kind->prepare(&f->d, &m, &err) < 0) {
		fail_now(w, cfg, &f->n, err);
		goto drop;
	}
	f->cfg = cfg;
	cfg = NULL;
	curl_easy_setopt(f->d.easy, CURLOPT_PRIVATE, f);
	curl_multi_add_handle(w->multi, f->d.easy);
	f->next = w->inflight;
	w->inflight = f;
	w->ninflight++;
	f = NULL;
drop:
	store_read_end(w->srv->store, c);
	message_release(&m);
	incident_release(&inc);
	free(summary);
	inflight_free(f);
	config_unref(cfg);
}

static int in_flight(const struct notify *w, int64_t id)
{
	for (const struct inflight *f = w->inflight; f; f = f->next)
		if (f->n.id == id)
			return 1;
	return 0;
}

static void start_due(struct notify *w, int64_t now)
{
	pthread_mutex_lock(&w->lock);
	while (w->heap.n && w->heap.v[0].due <= now && w->ninflight < INFLIGHT_MAX) {
		struct due_item it = dueheap_pop(&w->heap);
		pthread_mutex_unlock(&w->lock);
		if (!in_flight(w, it.id))	/* the inflight list is this thread's own */
			begin(w, it.id, now);
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
}

/* --- the worker: finished deliveries -------------------------------------------- */

static int64_t backoff(int attempts)
{
	int64_t ms = MS_PER_SEC << (attempts > 16 ? 16 : attempts);
	if (ms > NOTIFY_BACKOFF_MAX_MS)
		ms = NOTIFY_BACKOFF_MAX_MS;
	int64_t jitter = ms / 5;
	return ms - jitter + (int64_t)randombytes_uniform((uint32_t)(2 * jitter + 1));
}

static void delivered(struct notify *w, struct inflight *f, int64_t now)
{
	COUNT(w->srv, notify_sent);
	char *msg = xasprintf("%s paged by %s '%s' (attempt %d)", f->n.user, f->n.channel,
			      f->n.contact, f->n.attempts + 1);
	struct outcome *o = outcome_new(f->cfg, &f->n, "sent");
	o->n.attempts++;
	o->n.sent_at = now;
	o->bundled = f->bundled;
	o->nbundled = f->nbundled;
	f->bundled = NULL;
	outcome_submit(w, o, strcmp(o->n.kind, "page") ? NULL : "notify", msg);
}

static void retry(struct notify *w, struct inflight *f, char *why, int64_t now)
{
	int attempt = f->n.attempts + 1;
	if (strcmp(f->n.kind, "page") && attempt >= ONE_OFF_ATTEMPTS) {
		fail_now(w, f->cfg, &f->n, why);
		return;
	}
	COUNT(w->srv, notify_retried);
	int64_t wait = backoff(attempt - 1);
	char *msg = xasprintf("%s '%s' of %s failed: %s (attempt %d); trying again in %llds",
			      f->n.channel, f->n.contact, f->n.user, why, attempt,
			      (long long)((wait + 500) / 1000));
	struct outcome *o = outcome_new(f->cfg, &f->n, "pending");
	o->n.attempts = attempt;
	o->n.due = now + wait;
	free(o->n.last_error);
	o->n.last_error = why;
	outcome_submit(w, o, "notify_failed", msg);	/* re-queued once committed */
}

static void unlink_inflight(struct notify *w, struct inflight *f)
{
	for (struct inflight **p = &w->inflight; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			break;
		}
	w->ninflight--;
}

static void finish(struct notify *w, struct inflight *f, CURLcode cc)
{
	char *why = NULL;
	int64_t now = clock_now_ms();
	enum verdict v = f->kind->verdict(&f->d, cc, &why);
	unlink_inflight(w, f);
	curl_multi_remove_handle(w->multi, f->d.easy);
	if (v != DELIVERED)
		recent_forget(w, f->n.id);
	if (v == DELIVERED) {
		fault_point("notify.answered");	/* tests: the duplicate window */
		delivered(w, f, now);
	} else if (v == RETRY)
		retry(w, f, why, now);
	else
		fail_now(w, f->cfg, &f->n, why);
	if (v == DELIVERED)
		free(why);
	inflight_free(f);
}

static void reap(struct notify *w)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(w->multi, &left))) {
		struct inflight *f = NULL;
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&f);
		finish(w, f, msg->data.result);
	}
}

/* --- shift notices --------------------------------------------------------------- */

struct shift_job {
	struct store_job job;
	struct config *cfg;
	char *schedule, *user, *text;
	int64_t start;
};

static int shift_apply(struct store_tx *tx, struct store_job *job)
{
	struct shift_job *s = (struct shift_job *)job;
	const struct user *u = config_user(s->cfg, s->user);
	int64_t now = clock_now_ms();
	int rc = tx->ops->shift_notice_add(tx->conn, s->schedule, s->user, s->start);
	if (rc == STORE_OK && u && u->ncontacts)
		rc = add_delivery(tx, 0, 0, u->id, &u->contacts[0], "shift", now, now, s->text);
	return rc == STORE_FOUND ? STORE_OK : rc;
}

static void shift_done(struct store_job *job, int rc)
{
	struct shift_job *s = (struct shift_job *)job;
	config_unref(s->cfg);
	free(s->schedule);
	free(s->user);
	free(s->text);
	free(s);
}

static void notice(struct notify *w, struct config *cfg, const struct schedule *sched,
		   const struct shift *sh)
{
	const struct user *u = config_user(cfg, sh->user);
	char until[64];
	const char *tz = u && u->time_zone ? u->time_zone : cfg->time_zone;
	time_format_zone(sh->end, tz, until, sizeof(until));
	struct shift_job *s = xcalloc(1, sizeof(*s));
	s->job.apply = shift_apply;
	s->job.done = shift_done;
	s->cfg = config_ref(cfg);
	s->schedule = xstrdup(sched->id);
	s->user = xstrdup(sh->user);
	s->start = sh->start;
	s->text = xasprintf("You are on call for %s until %s (%s).",
			    sched->name ? sched->name : sched->id, until, tz);
	store_submit(w->srv->store, &s->job);
}

/* --- reminders of overdue action items ---------------------------------------- */

struct remind_job {
	struct store_job job;
	struct config *cfg;
	int64_t now;
};

static int remind_apply(struct store_tx *tx, struct store_job *job)
{
	struct remind_job *r = (struct remind_job *)job;
	int sent;
	return review_remind(tx, r->cfg, r->now, &sent);
}

static void remind_done(struct store_job *job, int rc)
{
	struct remind_job *r = (struct remind_job *)job;
	config_unref(r->cfg);
	free(r);
}

static void check_actions(struct notify *w, struct config *cfg, int64_t now)
{
	struct remind_job *r = xcalloc(1, sizeof(*r));
	r->job.apply = remind_apply;
	r->job.done = remind_done;
	r->job.savepoint = 1;
	r->cfg = config_ref(cfg);
	r->now = now;
	store_submit(w->srv->store, &r->job);
}

static void check_shifts(struct notify *w, int64_t now)
{
	struct config *cfg = server_config(w->srv);
	struct store_conn *c = store_read_begin(w->srv->store);
	for (size_t i = 0; c && i < cfg->nschedules; i++) {
		const struct schedule *s = &cfg->schedules[i];
		struct override_list ov = { 0 };
		if (store_ops(w->srv->store)->override_list(c, s->id, now - MS_PER_DAY,
							    now + MS_PER_DAY, &ov) == STORE_OK) {
			struct shift sh = schedule_shift_at(s, ov.v, ov.n, now, MS_PER_DAY);
			if (sh.user && now - sh.start < SHIFT_NOTICE_MS)
				notice(w, cfg, s, &sh);
		}
		override_list_release(&ov);
	}
	store_read_end(w->srv->store, c);
	check_actions(w, cfg, now);
	config_unref(cfg);
	__atomic_store_n(&w->next_shift_check, now + SHIFT_CHECK_MS, __ATOMIC_RELAXED);
}

/* --- the thread ---------------------------------------------------------------- */

static void *notify_main(void *arg)
{
	struct notify *w = arg;
	int running = 0;
	while (!__atomic_load_n(&w->stopping, __ATOMIC_ACQUIRE)) {
		int64_t now = clock_now_ms();
		start_due(w, now);
		if (now >= __atomic_load_n(&w->next_shift_check, __ATOMIC_RELAXED))
			check_shifts(w, now);
		curl_multi_perform(w->multi, &running);
		reap(w);
		pthread_mutex_lock(&w->lock);
		int64_t wait = w->ninflight < INFLIGHT_MAX ? dueheap_wait(&w->heap, now, TICK_MS)
							   : TICK_MS;
		pthread_mutex_unlock(&w->lock);
		curl_multi_poll(w->multi, NULL, 0, (int)wait, NULL);
	}
	/* in-flight sends get a moment to finish; what does not stays pending */
	for (int64_t until = clock_mono_ms() + 5000; w->ninflight && clock_mono_ms() < until;) {
		curl_multi_perform(w->multi, &running);
		reap(w);
		curl_multi_poll(w->multi, NULL, 0, 100, NULL);
	}
	return NULL;
}

static int load_pending(struct notify *w, char **err)
{
	size_t n;
	if (store_load_due(w->srv->store, store_ops(w->srv->store)->notification_pending,
			   &w->heap, &n) < 0) {
		*err = xstrdup("notify: cannot load pending deliveries from the store");
		return -1;
	}
	if (n)
		log_info("notify: %zu pending deliveries loaded", n);
	return 0;
}

struct notify *notify_start(struct server *srv, char **err)
{
	struct notify *w = xcalloc(1, sizeof(*w));
	w->srv = srv;
	w->multi = curl_multi_init();
	curl_multi_setopt(w->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)INFLIGHT_MAX);
	pthread_mutex_init(&w->lock, NULL);
	/* hook first: a row committed while loading is then queued twice, and the
	 * second comes to nothing (begin() skips a row in flight or no longer due) */
	store_set_notify_hook(srv->store, notify_on_commit, w);
	if (load_pending(w, err) < 0) {
		store_set_notify_hook(srv->store, NULL, NULL);
		curl_multi_cleanup(w->multi);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return NULL;
	}
	pthread_create(&w->thread, NULL, notify_main, w);
	pthread_setname_np(w->thread, "tocsin-notify");
	return w;
}

void notify_stop(struct notify *w)
{
	if (!w)
		return;
	store_set_notify_hook(w->srv->store, NULL, NULL);
	__atomic_store_n(&w->stopping, 1, __ATOMIC_RELEASE);
	curl_multi_wakeup(w->multi);
	pthread_join(w->thread, NULL);
	while (w->inflight) {
		struct inflight *f = w->inflight;
		w->inflight = f->next;
		curl_multi_remove_handle(w->multi, f->d.easy);
		inflight_free(f);
	}
	curl_multi_cleanup(w->multi);
	pthread_mutex_destroy(&w->lock);
	dueheap_release(&w->heap);
	recent_count(w, "", "", INT64_MAX, &(int64_t){ 0 });	/* drops them all */
	free(w->recent);
	free(w);
}

void notify_on_commit(void *arg, const struct timer_list *added)
{
	struct notify *w = arg;
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < added->n; i++)
		dueheap_push(&w->heap, added->v[i].due, added->v[i].id);
	pthread_mutex_unlock(&w->lock);
	curl_multi_wakeup(w->multi);
}

void notify_wake(struct notify *w)
{
	if (!w)
		return;
	__atomic_store_n(&w->next_shift_check, 0, __ATOMIC_RELAXED);
	curl_multi_wakeup(w->multi);
}
