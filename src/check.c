/*
 * check.c - the check scheduler and its Nagios-style state machine.  See check.h
 * and docs/CHECKS.md.
 *
 * Scheduling.  Every check has a slot: its state, its next run (UTC ms) and a
 * dueheap entry.  The first run of a check is at start + a phase: a stable hash of
 * its id modulo its interval, so a restart spreads the checks over their interval
 * instead of firing them together.  After a run the next is due interval later
 * (retry_interval while failing softly), counted from when it was due, so a slow run
 * does not drift the schedule; a check that fell a whole step behind (downtime, a
 * run longer than its interval) runs once and then a step later, never in a burst.  Up to CHECKS_RUNNING_MAX run at once; HTTP ones are
 * transfers on one curl multi handle, TCP and command ones a descriptor polled with
 * curl's (curl_multi_poll's extra fds), each with a deadline of its timeout.
 *
 * States.  A result is OK, WARNING, CRITICAL or UNKNOWN.  A failure is soft until
 * it has been seen 1 + retries times in a row (re-checked at retry_interval), then
 * hard.  Only hard changes page: a hard failure triggers an event on the check's
 * service with dedup key "check:ID" (severity warning for WARNING, error for
 * UNKNOWN, critical for CRITICAL), so the incident pipeline folds repeats, groups,
 * honours maintenance windows and escalates; the first OK after a hard failure
 * resolves it.  A check whose depends_on check is hard down does not page (it is
 * "suppressed").  Flapping is Nagios' percent state change over the last 21
 * results (check_flap_percent): at 20% or more the check is flapping and neither
 * triggers nor resolves, at less than 5% it stops; both are noted on its open
 * incident.
 *
 * Every result is written through the store writer: the check's status row, one
 * row of its bounded history, and the event if any, in one transaction.  The
 * status row is how a restart continues (a heartbeat keeps its deadline) and what
 * GET /api/checks shows.  The slots are the checker thread's own, except the
 * heartbeat ping that an HTTP thread records under the lock.
 */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "dueheap.h"
#include "incident.h"
#include "server.h"
#include "timeutil.h"
#include "banned.h"

#define TICK_MS 1000
#define HISTORY_MAX 21		/* results the flap detection looks at */
#define RESULTS_KEPT 100	/* history rows kept per check ... */
#define TRIM_EVERY 10		/* ... trimmed every this many results: 100 to 110 */
#define BATCH_MAX 256		/* results written in one store job ... */
#define BATCH_WAIT_MS 50	/* ... or after this long, or at once when one pages */
#define FLAP_HIGH 20.0
#define FLAP_LOW 5.0

struct slot {
	char *id;
	struct check_status st;		/* as stored */
	int64_t due;			/* when the current or next run is due */
	struct check_run *run;		/* in flight, or NULL */
	int untrimmed;			/* results since its history was last trimmed */
	CURL *easy;			/* an http check's handle, reused run after run */
};

struct checker {
	struct server *srv;
	pthread_t thread;
	pthread_mutex_t lock;		/* slots' heartbeat fields */
	int stopping;			/* read and set atomically */
	struct config *cfg;		/* the config the slots were made for */
	struct slot *slots;
	size_t nslots;
	struct dueheap heap;		/* (due, slot index): this thread's own */
	CURLM *multi;
	size_t running;
	int64_t started_at;
	int draining;			/* a reload waits for the runs in flight */
	struct slot **fdruns;		/* slots whose run waits on a descriptor */
	size_t nfdruns;
	struct result_job **batch;	/* results not yet submitted ... */
	size_t nbatch;
	int64_t batch_since;		/* ... since this monotonic time */
	int64_t *pinged;		/* slots pinged since the last turn (under lock) */
	size_t npinged;
};

/* --- flap detection ------------------------------------------------------------- */

double check_flap_percent(const char *history)
{
	/* a history shorter than the window counts as if its first state had held
	 * before it, as Nagios fills its state history at start */
	char h[HISTORY_MAX];
	size_t n = strlen(history), pad = n < HISTORY_MAX ? HISTORY_MAX - n : 0;
	if (!n)
		return 0;
	for (size_t i = 0; i < HISTORY_MAX; i++)
		h[i] = i < pad ? history[0] : history[n - HISTORY_MAX + i];
	double changed = 0, total = 0;
	for (size_t i = 1; i < HISTORY_MAX; i++) {
		double w = 0.8 + 0.4 * (double)(i - 1) / (double)(HISTORY_MAX - 2);
		total += w;
		if (h[i] != h[i - 1])
			changed += w;
	}
	return 100.0 * changed / total;
}

static void history_push(struct check_status *st, int state)
{
	size_t n = st->history ? strlen(st->history) : 0;
	char *h = xmalloc(HISTORY_MAX + 1);
	size_t from = n >= HISTORY_MAX ? n - HISTORY_MAX + 1 : 0;
	memcpy(h, st->history ? st->history + from : "", n - from);
	h[n - from] = (char)('0' + state);
	h[n - from + 1] = '\0';
	free(st->history);
	st->history = h;
}

/* --- recording a result ------------------------------------------------------------ */

enum page_action { PAGE_NONE, PAGE_TRIGGER, PAGE_RESOLVE };

struct result_job {
	struct store_job job;
	struct config *cfg;
	struct check_status st;
	struct check_result_row row;
	enum page_action page;
	int trim;			/* trim the history after this result */
	char *service;
	char *details;			/* JSON of the run for the alert */
	char *note;			/* for the open incident: flapping began or ended */
};

static void result_job_free(struct result_job *j)
{
	config_unref(j->cfg);
	check_status_release(&j->st);
	check_result_release(&j->row);
	free(j->service);
	free(j->details);
	free(j->note);
	free(j);
}

static const char *event_severity(int state)
{
	return state == CHK_CRITICAL ? "critical" : state == CHK_WARNING ? "warning" : "error";
}

static int note_incident(struct store_tx *tx, const struct result_job *j, const char *key,
			 int64_t now)
{
	struct alert a = { 0 };
	int rc = tx->ops->alert_find_open(tx->conn, j->service, key, &a);
	if (rc == STORE_FOUND)
		rc = incident_log(tx, a.incident, now, "note", key, j->note);
	alert_release(&a);
	return rc == STORE_NOTFOUND || rc == STORE_FOUND ? STORE_OK : rc;
}

static int result_apply(struct store_tx *tx, struct store_job *job)
{
	struct result_job *j = (struct result_job *)job;
	int64_t now = clock_now_ms();
	char *key = xasprintf("check:%s", j->st.id);
	int rc = tx->ops->check_status_put(tx->conn, &j->st);
	if (rc == STORE_OK && j->row.at)
		rc = tx->ops->check_result_add(tx->conn, j->st.id, &j->row,
					       j->trim ? RESULTS_KEPT : -1);
	if (rc == STORE_OK && j->note)
		rc = note_incident(tx, j, key, now);
	if (rc == STORE_OK && j->page != PAGE_NONE) {
		char *summary = xasprintf("%s: %s", j->st.id, j->st.output ? j->st.output : "");
		struct event ev = {
			.action = j->page == PAGE_TRIGGER ? EV_TRIGGER : EV_RESOLVE,
			.service = j->service, .dedup_key = key, .summary = summary,
			.source = "tocsin", .severity = (char *)event_severity(j->st.hard_state),
			.details = j->details, .integration = key,
		};
		struct event_result res;
		rc = incident_apply_event(tx, j->cfg, &ev, now, &res);
		free(summary);
	}
	free(key);
	return rc;
}

static void result_done(struct store_job *job, int rc)
{
	struct result_job *j = (struct result_job *)job;
	if (rc == STORE_FAULT)
		log_error("checks: could not record a result of '%s'", j->st.id);
	result_job_free(j);
}

/* Results go to the writer in batches: one job, one commit, for many checks. */
struct batch_job {
	struct store_job job;
	struct result_job **v;
	size_t n;
};

static int batch_apply(struct store_tx *tx, struct store_job *job)
{
	struct batch_job *b = (struct batch_job *)job;
	int rc = STORE_OK;
	for (size_t i = 0; i < b->n && rc != STORE_FAULT; i++)
		rc = result_apply(tx, &b->v[i]->job);
	return rc == STORE_FAULT ? rc : STORE_OK;
}

static void batch_done(struct store_job *job, int rc)
{
	struct batch_job *b = (struct batch_job *)job;
	for (size_t i = 0; i < b->n; i++)
		result_done(&b->v[i]->job, rc);
	free(b->v);
	free(b);
}

static void flush_results(struct checker *ck)
{
	if (!ck->nbatch)
		return;
	struct batch_job *b = xcalloc(1, sizeof(*b));
	b->job.apply = batch_apply;
	b->job.done = batch_done;
	b->v = ck->batch;
	b->n = ck->nbatch;
	ck->batch = NULL;
	ck->nbatch = 0;
	store_submit(ck->srv->store, &b->job);
}

/* Queues j for the next batch, flushed at once when it pages or the batch is full. */
static void queue_result(struct checker *ck, struct result_job *j)
{
	if (!ck->nbatch)
		ck->batch_since = clock_mono_ms();
	ck->batch = xrealloc(ck->batch, (ck->nbatch + 1) * sizeof(*ck->batch));
	ck->batch[ck->nbatch++] = j;
	if (j->page != PAGE_NONE || j->note || ck->nbatch >= BATCH_MAX)
		flush_results(ck);
}

static void copy_status(struct check_status *to, const struct check_status *from)
{
	*to = *from;
	to->id = xstrdup(from->id);
	to->output = from->output ? xstrdup(from->output) : NULL;
	to->history = from->history ? xstrdup(from->history) : NULL;
}

static char *details_json(const struct check_run *r)
{
	json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:I}", "check", r->def->id, "state",
			      check_state_name(r->state), "output", buf_str(&r->output), "perfdata",
			      buf_str(&r->perfdata), "latency_ms", (json_int_t)r->latency);
	if (r->long_output.len)
		json_object_set_new(d, "long_output", json_string(buf_str(&r->long_output)));
	char *s = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	return s;
}

static void submit_result(struct checker *ck, struct slot *s, struct check_run *r,
			  enum page_action page, char *note)
{
	struct result_job *j = xcalloc(1, sizeof(*j));
	j->job.apply = result_apply;
	j->job.done = result_done;
	j->cfg = config_ref(r ? r->cfg : ck->cfg);
	pthread_mutex_lock(&ck->lock);
	copy_status(&j->st, &s->st);
	pthread_mutex_unlock(&ck->lock);
	if (r) {
		j->row = (struct check_result_row){ .at = r->now, .state = r->state,
						    .latency = r->latency,
						    .output = xstrdup(buf_str(&r->output)) };
		if (page != PAGE_NONE || note) {	/* what the incident shows */
			j->service = xstrdup(r->def->service);
			j->details = details_json(r);
		}
		j->trim = ++s->untrimmed >= TRIM_EVERY;
		if (j->trim)
			s->untrimmed = 0;
	}
	j->page = page;
	j->note = note;
	queue_result(ck, j);
}

/* --- the state machine ---------------------------------------------------------------- */

static const struct slot *slot_of(const struct checker *ck, const char *id)
{
	for (size_t i = 0; i < ck->nslots; i++)
		if (!strcmp(ck->slots[i].id, id))
			return &ck->slots[i];
	return NULL;
}

/* A check this one depends on is hard down. */
static int parent_down(const struct checker *ck, const struct check *c)
{
	for (size_t i = 0; i < c->depends_on.n; i++) {
		const struct slot *p = slot_of(ck, c->depends_on.v[i]);
		if (p && p->st.hard_state != CHK_OK && p->st.attempts > 0)
			return 1;
	}
	return 0;
}

/* Flapping starts or stops with this result: the note for the incident, or NULL. */
static char *flap_update(struct check_status *st)
{
	double pct = check_flap_percent(st->history);
	if (!st->flapping && pct >= FLAP_HIGH) {
		st->flapping = 1;
		return xasprintf("check %s is flapping (%.0f%% state change over its last %zu "
				 "results): it neither pages nor resolves until it settles",
				 st->id, pct, strlen(st->history));
	}
	if (st->flapping && pct < FLAP_LOW) {
		st->flapping = 0;
		return xasprintf("check %s stopped flapping (%.0f%% state change)", st->id, pct);
	}
	return NULL;
}

/* Applies result r to slot s; what it pages.  Called with the lock held. */
static enum page_action transition(struct checker *ck, struct slot *s, struct check_run *r,
				   char **note)
{
	struct check_status *st = &s->st;
	const struct check *c = r->def;
	int was_hard_down = st->hard_state != CHK_OK;
	enum page_action page = PAGE_NONE;
	if (r->state != st->state)
		st->since = r->now;
	st->state = r->state;
	st->last_run = r->now;
	st->latency = r->latency;
	free(st->output);
	st->output = xstrdup(buf_str(&r->output));
	history_push(st, r->state);
	*note = flap_update(st);
	if (r->state == CHK_OK) {
		st->attempts = 0;
		st->hard_state = CHK_OK;
		if (was_hard_down && !st->flapping && !st->suppressed)
			page = PAGE_RESOLVE;
		st->suppressed = 0;
		return page;
	}
	st->attempts++;
	if (st->attempts <= c->retries)
		return PAGE_NONE;	/* soft: re-checked at retry_interval */
	int changed = !was_hard_down || st->hard_state != r->state;
	st->hard_state = r->state;
	st->suppressed = parent_down(ck, c);
	return changed && !st->flapping && !st->suppressed ? PAGE_TRIGGER : PAGE_NONE;
}

/* Frees a run whose type has released what it held. */
static void run_free(struct check_run *r)
{
	buf_release(&r->output);
	buf_release(&r->long_output);
	buf_release(&r->perfdata);
	buf_release(&r->got);
	config_unref(r->cfg);
	free(r);
}

static void forget_fdrun(struct checker *ck, const struct slot *s)
{
	for (size_t i = 0; i < ck->nfdruns; i++)
		if (ck->fdruns[i] == s) {
			ck->fdruns[i] = ck->fdruns[--ck->nfdruns];
			return;
		}
}

static void finish_run(struct checker *ck, struct slot *s)
{
	struct check_run *r = s->run;
	if (r->fd >= 0)
		forget_fdrun(ck, s);
	const struct check *c = r->def;
	char *note = NULL;
	const struct check_type *t = check_type_for(c->kind);
	if (t->release)
		t->release(r);
	pthread_mutex_lock(&ck->lock);
	enum page_action page = transition(ck, s, r, &note);
	int soft = s->st.state != CHK_OK && s->st.attempts <= c->retries;
	int64_t step = soft ? c->retry_interval : c->interval;
	int64_t next = s->due + step, now = clock_now_ms();
	if (next <= now)	/* far behind (a long run, downtime): no burst, one step on */
		next = now + step;
	if (c->kind == CHECK_HEARTBEAT)	/* due when the wait runs out, checked again then */
		next = (s->st.last_ping ? s->st.last_ping : s->st.since) + c->expect_every + c->grace + 1;
	if (c->kind == CHECK_HEARTBEAT && next <= now)
		next = now + c->expect_every;
	s->st.next_run = next;
	s->due = next;
	pthread_mutex_unlock(&ck->lock);
	COUNT(ck->srv, checks_run);
	submit_result(ck, s, r, page, note);
	dueheap_push(&ck->heap, next, (int64_t)(s - ck->slots));
	run_free(r);
	s->run = NULL;
	ck->running--;
}

/* --- running checks ---------------------------------------------------------------------- */

static void start_run(struct checker *ck, struct slot *s, const struct check *c, int64_t now)
{
	const struct check_type *t = check_type_for(c->kind);
	struct check_run *r = xcalloc(1, sizeof(*r));
	r->def = c;
	r->cfg = config_ref(ck->cfg);
	r->fd = -1;
	r->now = now;
	r->started = clock_mono_ms();
	r->deadline = r->started + c->timeout;
	r->easy = s->easy;
	pthread_mutex_lock(&ck->lock);
	r->last_ping = s->st.last_ping;
	r->watched_since = s->st.since ? s->st.since : ck->started_at;
	pthread_mutex_unlock(&ck->lock);
	server_count_check_lateness(ck->srv, now - s->due);
	s->run = r;
	ck->running++;
	int done = t->start(r, ck->multi) == RUN_DONE;
	s->easy = r->easy;
	if (done) {
		finish_run(ck, s);
	} else if (r->easy) {
		curl_easy_setopt(r->easy, CURLOPT_PRIVATE, s);
	} else {
		ck->fdruns = xrealloc(ck->fdruns, (ck->nfdruns + 1) * sizeof(*ck->fdruns));
		ck->fdruns[ck->nfdruns++] = s;
	}
}

/* Heartbeats pinged by HTTP threads are due for a look now. */
static void take_pings(struct checker *ck, int64_t now)
{
	pthread_mutex_lock(&ck->lock);
	for (size_t i = 0; i < ck->npinged; i++) {
		struct slot *s = &ck->slots[ck->pinged[i]];
		if (!s->run) {
			s->due = now;
			dueheap_push(&ck->heap, now, ck->pinged[i]);
		}
	}
	ck->npinged = 0;
	pthread_mutex_unlock(&ck->lock);
}

static void start_due(struct checker *ck, int64_t now)
{
	if (ck->draining)
		return;
	while (ck->heap.n && ck->heap.v[0].due <= now && ck->running < CHECKS_RUNNING_MAX) {
		struct due_item it = dueheap_pop(&ck->heap);
		struct slot *s = &ck->slots[it.id];
		if (s->run || it.due != s->due)	/* in flight, or a stale entry */
			continue;
		start_run(ck, s, &ck->cfg->checks[it.id], now);
	}
}

static void reap_transfers(struct checker *ck)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(ck->multi, &left))) {
		struct slot *s = NULL;
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
		curl_multi_remove_handle(ck->multi, msg->easy_handle);
		check_type_for(s->run->def->kind)->transfer_done(s->run, msg->data.result);
		finish_run(ck, s);
	}
}

/* Steps the runs waiting on a descriptor, from the last poll's revents. */
static void step_fds(struct checker *ck, struct curl_waitfd *fds, struct slot **owners,
		     unsigned n)
{
	int64_t mono = clock_mono_ms();
	for (unsigned i = 0; i < n; i++) {
		struct slot *s = owners[i];
		struct check_run *r = s->run;
		int late = mono >= r->deadline;
		if (!fds[i].revents && !late)
			continue;
		const struct check_type *t = check_type_for(r->def->kind);
		if (t->step(r, (short)fds[i].revents, late && !fds[i].revents) == RUN_DONE)
			finish_run(ck, s);
	}
}

/* The descriptors runs wait on; *wait shortened to the nearest deadline. */
static unsigned collect_fds(struct checker *ck, struct curl_waitfd *fds, struct slot **owners,
			    int64_t *wait)
{
	unsigned n = 0;
	int64_t mono = clock_mono_ms();
	for (size_t i = 0; i < ck->nfdruns && n < CHECKS_RUNNING_MAX; i++) {
		struct check_run *r = ck->fdruns[i]->run;
		fds[n] = (struct curl_waitfd){ .fd = r->fd,
					       .events = (short)(r->events == POLLOUT ? CURL_WAIT_POLLOUT
										       : CURL_WAIT_POLLIN) };
		owners[n++] = ck->fdruns[i];
		if (r->deadline - mono < *wait)
			*wait = r->deadline - mono < 0 ? 0 : r->deadline - mono;
	}
	return n;
}

/* --- slots and the config -------------------------------------------------------------------- */

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* The slots of cfg's checks: stored status where there is one, else fresh. */
static void make_slots(struct checker *ck, const struct check_status_list *stored, int64_t now)
{
	const struct config *cfg = ck->cfg;
	ck->slots = xcalloc(cfg->nchecks + 1, sizeof(*ck->slots));
	ck->nslots = cfg->nchecks;
	for (size_t i = 0; i < cfg->nchecks; i++) {
		const struct check *c = &cfg->checks[i];
		struct slot *s = &ck->slots[i];
		s->id = xstrdup(c->id);
		for (size_t k = 0; stored && k < stored->n; k++)
			if (!strcmp(stored->v[k].id, c->id))
				copy_status(&s->st, &stored->v[k]);
		if (!s->st.id) {
			s->st.id = xstrdup(c->id);
			s->st.since = now;
			s->st.history = xstrdup("");
		}
		int64_t phase = (int64_t)(fnv1a(c->id) % (uint64_t)c->interval);
		s->due = c->kind == CHECK_HEARTBEAT
				 ? (s->st.last_ping ? s->st.last_ping : s->st.since) + c->expect_every +
					   c->grace + 1
				 : now + phase;
		if (c->kind == CHECK_HEARTBEAT && s->due < now)
			s->due = now;	/* overdue while tocsin was down: look at once */
		s->st.next_run = s->due;
		dueheap_push(&ck->heap, s->due, (int64_t)i);
	}
}

static void free_slots(struct checker *ck)
{
	for (size_t i = 0; i < ck->nslots; i++) {
		free(ck->slots[i].id);
		check_status_release(&ck->slots[i].st);
		if (ck->slots[i].easy)
			curl_easy_cleanup(ck->slots[i].easy);
	}
	free(ck->slots);
	ck->slots = NULL;
	ck->nslots = 0;
	dueheap_release(&ck->heap);
}

/* Checks the store has no status for yet get one now: PENDING, with their first run. */
static void seed(struct checker *ck, const struct check_status_list *stored)
{
	for (size_t i = 0; i < ck->nslots; i++) {
		int known = 0;
		for (size_t k = 0; k < stored->n && !known; k++)
			known = !strcmp(stored->v[k].id, ck->slots[i].id);
		if (!known)
			submit_result(ck, &ck->slots[i], NULL, PAGE_NONE, NULL);
	}
}

/* A reload: new slots for the new checks, keeping what is known of the same ids.
 * Waits for runs in flight to finish first (they hold the old config's checks). */
static void follow_config(struct checker *ck)
{
	struct config *cfg = server_config(ck->srv);
	ck->draining = cfg != ck->cfg;
	if (cfg == ck->cfg || ck->running) {
		config_unref(cfg);
		return;
	}
	ck->draining = 0;
	struct check_status_list keep = { 0 };
	pthread_mutex_lock(&ck->lock);
	for (size_t i = 0; i < ck->nslots; i++)
		copy_status(check_status_list_add(&keep), &ck->slots[i].st);
	ck->npinged = 0;	/* slot numbers change */
	free_slots(ck);
	config_unref(ck->cfg);
	ck->cfg = cfg;
	make_slots(ck, &keep, clock_now_ms());
	pthread_mutex_unlock(&ck->lock);
	seed(ck, &keep);
	check_status_list_release(&keep);
	log_info("checks: %zu check(s) after the reload", ck->nslots);
}

/* --- the thread --------------------------------------------------------------------------- */

static void *checker_main(void *arg)
{
	struct checker *ck = arg;
	struct curl_waitfd *fds = xcalloc(CHECKS_RUNNING_MAX, sizeof(*fds));
	struct slot **owners = xcalloc(CHECKS_RUNNING_MAX, sizeof(*owners));
	int still = 0;
	while (!__atomic_load_n(&ck->stopping, __ATOMIC_ACQUIRE)) {
		follow_config(ck);
		int64_t now = clock_now_ms();
		take_pings(ck, now);
		start_due(ck, now);
		curl_multi_perform(ck->multi, &still);
		reap_transfers(ck);
		int64_t wait = ck->running < CHECKS_RUNNING_MAX ? dueheap_wait(&ck->heap, now, TICK_MS)
								: TICK_MS;
		if (ck->nbatch && clock_mono_ms() - ck->batch_since >= BATCH_WAIT_MS)
			flush_results(ck);
		if (ck->nbatch && wait > BATCH_WAIT_MS)
			wait = BATCH_WAIT_MS;
		unsigned n = collect_fds(ck, fds, owners, &wait);
		curl_multi_poll(ck->multi, fds, n, (int)wait, NULL);
		step_fds(ck, fds, owners, n);
	}
	flush_results(ck);
	free(fds);
	free(owners);
	return NULL;
}

struct checker *checker_start(struct server *srv, char **err)
{
	struct checker *ck = xcalloc(1, sizeof(*ck));
	struct check_status_list stored = { 0 };
	struct store_conn *c = store_read_begin(srv->store);
	int rc = c ? store_ops(srv->store)->check_status_list(c, &stored) : STORE_FAULT;
	store_read_end(srv->store, c);
	if (rc == STORE_FAULT) {
		*err = xstrdup("checks: cannot load the checks' status from the store");
		free(ck);
		return NULL;
	}
	ck->srv = srv;
	ck->cfg = server_config(srv);
	ck->started_at = clock_now_ms();
	ck->multi = curl_multi_init();
	curl_multi_setopt(ck->multi, CURLMOPT_MAXCONNECTS, (long)CHECKS_RUNNING_MAX);
	pthread_mutex_init(&ck->lock, NULL);
	make_slots(ck, &stored, ck->started_at);
	seed(ck, &stored);
	check_status_list_release(&stored);
	if (ck->nslots)
		log_info("checks: %zu check(s) scheduled", ck->nslots);
	pthread_create(&ck->thread, NULL, checker_main, ck);
	pthread_setname_np(ck->thread, "tocsin-checks");
	return ck;
}

void checker_stop(struct checker *ck)
{
	if (!ck)
		return;
	__atomic_store_n(&ck->stopping, 1, __ATOMIC_RELEASE);
	curl_multi_wakeup(ck->multi);
	pthread_join(ck->thread, NULL);
	for (size_t i = 0; i < ck->nslots; i++) {
		struct check_run *r = ck->slots[i].run;
		if (!r)
			continue;
		const struct check_type *t = check_type_for(r->def->kind);
		if (r->easy)
			curl_multi_remove_handle(ck->multi, r->easy);
		if (t->release)
			t->release(r);
		run_free(r);
	}
	flush_results(ck);	/* the seed, when the thread never ran */
	free_slots(ck);
	free(ck->pinged);
	free(ck->fdruns);
	curl_multi_cleanup(ck->multi);
	config_unref(ck->cfg);
	pthread_mutex_destroy(&ck->lock);
	free(ck);
}

void checker_wake(struct checker *ck)
{
	if (ck)
		curl_multi_wakeup(ck->multi);
}

/* --- heartbeat pings ---------------------------------------------------------------------- */

struct ping {
	struct checker *ck;
	char *id;
	struct check_status st;		/* as it is after the ping */
};

static void ping_free(void *p)
{
	struct ping *pg = p;
	free(pg->id);
	check_status_release(&pg->st);
	free(pg);
}

static int ping_apply(struct tx_call *c, struct store_tx *tx)
{
	struct ping *pg = c->data;
	return tx->ops->check_ping(tx->conn, &pg->st);
}

static void ping_answer(struct tx_call *c, struct http_request *req)
{
	if (c->rc < 0) {
		server_reply_fault(c->srv, req);
		return;
	}
	checker_wake(((struct ping *)c->data)->ck);
	reply_json(req, 200, json_pack("{s:s, s:s}", "status", "ok", "check",
				       ((struct ping *)c->data)->id));
}

/* Records the ping on the slot of check id (under the lock): it is due for a look
 * now, which resolves a missed heartbeat.  0, or -1 when there is no such slot. */
static int record_ping(struct checker *ck, const char *id, int64_t now, struct check_status *out)
{
	int rc = -1;
	pthread_mutex_lock(&ck->lock);
	for (size_t i = 0; i < ck->nslots; i++) {
		struct slot *s = &ck->slots[i];
		if (strcmp(s->id, id))
			continue;
		s->st.last_ping = now;
		ck->pinged = xrealloc(ck->pinged, (ck->npinged + 1) * sizeof(*ck->pinged));
		ck->pinged[ck->npinged++] = (int64_t)i;
		copy_status(out, &s->st);
		rc = 0;
	}
	pthread_mutex_unlock(&ck->lock);
	if (rc == 0)
		curl_multi_wakeup(ck->multi);
	return rc;
}

void checks_heartbeat(struct server *srv, struct http_request *req, const struct route_ctx *ctx)
{
	struct config *cfg = server_config(srv);
	const struct check *hb = NULL;
	for (size_t i = 0; i < cfg->nchecks && !hb; i++)
		if (cfg->checks[i].kind == CHECK_HEARTBEAT && cfg->checks[i].key &&
		    !strcmp(cfg->checks[i].key, ctx->params[0]))
			hb = &cfg->checks[i];
	struct ping *pg = xcalloc(1, sizeof(*pg));
	pg->ck = srv->checker;
	if (!hb || record_ping(srv->checker, hb->id, clock_now_ms(), &pg->st) < 0) {
		http_reply_error(req, 404, "not found", "no heartbeat check has this key");
		ping_free(pg);
	} else {
		pg->id = xstrdup(hb->id);
		server_run_tx(srv, req, tx_call_new(config_ref(cfg), ping_apply, ping_answer, pg,
						    ping_free));
	}
	config_unref(cfg);
}

/* --- the API ----------------------------------------------------------------------------------- */

static json_t *status_json(const struct check *c, const struct check_status *st)
{
	int soft = st && st->state != CHK_OK && st->attempts <= c->retries;
	json_t *o = json_pack("{s:s, s:s, s:s, s:I}", "id", c->id, "service", c->service, "type",
			      check_kind_name(c->kind), "interval_s", (json_int_t)(c->interval / 1000));
	if (!st || !st->last_run) {
		json_object_set_new(o, "state", json_string("PENDING"));
		json_object_set_new(o, "next_run", json_time(st ? st->next_run : 0));
		return o;
	}
	json_object_set_new(o, "state", json_string(check_state_name(st->state)));
	json_object_set_new(o, "hard", json_boolean(!soft));
	json_object_set_new(o, "attempts", json_integer(st->attempts));
	json_object_set_new(o, "since", json_time(st->since));
	json_object_set_new(o, "last_run", json_time(st->last_run));
	json_object_set_new(o, "next_run", json_time(st->next_run));
	json_object_set_new(o, "latency_ms", json_integer(st->latency));
	json_object_set_new(o, "output", json_string(st->output ? st->output : ""));
	json_object_set_new(o, "flapping", json_boolean(st->flapping));
	json_object_set_new(o, "suppressed", json_boolean(st->suppressed));
	if (c->kind == CHECK_HEARTBEAT)
		json_object_set_new(o, "last_ping", json_time(st->last_ping));
	return o;
}

static const struct check_status *stored(const struct check_status_list *l, const char *id)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].id, id))
			return &l->v[i];
	return NULL;
}

/* The stored statuses; replies 503 and returns -1 on a fault. */
static int read_statuses(struct server *srv, struct http_request *req, struct check_status_list *l)
{
	struct store_conn *c = store_read_begin(srv->store);
	int rc = c ? store_ops(srv->store)->check_status_list(c, l) : STORE_FAULT;
	store_read_end(srv->store, c);
	if (rc == STORE_FAULT)
		server_reply_fault(srv, req);
	return rc == STORE_FAULT ? -1 : 0;
}

void api_checks(struct server *srv, struct http_request *req, const struct route_ctx *ctx)
{
	struct config *cfg = server_config(srv);
	struct check_status_list l = { 0 };
	if (read_statuses(srv, req, &l) == 0) {
		json_t *arr = json_array();
		for (size_t i = 0; i < cfg->nchecks; i++)
			json_array_append_new(arr, status_json(&cfg->checks[i],
							       stored(&l, cfg->checks[i].id)));
		reply_json(req, 200, json_pack("{s:o}", "checks", arr));
	}
	check_status_list_release(&l);
	config_unref(cfg);
}

void api_check(struct server *srv, struct http_request *req, const struct route_ctx *ctx)
{
	struct config *cfg = server_config(srv);
	const struct check *c = config_check(cfg, ctx->params[0]);
	struct check_status_list l = { 0 };
	struct check_result_list rl = { 0 };
	if (!c) {
		char *why = xasprintf("no check '%s'", ctx->params[0]);
		http_reply_error(req, 404, "not found", why);
		free(why);
	} else if (read_statuses(srv, req, &l) == 0) {
		struct store_conn *conn = store_read_begin(srv->store);
		int rc = conn ? store_ops(srv->store)->check_results(conn, c->id, RESULTS_KEPT, &rl)
			      : STORE_FAULT;
		store_read_end(srv->store, conn);
		json_t *o = status_json(c, stored(&l, c->id)), *arr = json_array();
		for (size_t i = 0; rc == STORE_OK && i < rl.n; i++)
			json_array_append_new(arr, json_pack("{s:o, s:s, s:I, s:s}", "at",
							     json_time(rl.v[i].at), "state",
							     check_state_name(rl.v[i].state),
							     "latency_ms", (json_int_t)rl.v[i].latency,
							     "output", rl.v[i].output ? rl.v[i].output : ""));
		json_object_set_new(o, "results", arr);
		reply_json(req, 200, json_pack("{s:o}", "check", o));
	}
	check_result_list_release(&rl);
	check_status_list_release(&l);
	config_unref(cfg);
}
