/*
 * review.c - the postmortem workflow and its action items.  See review.h.
 *
 * Shape: review_apply() loads the postmortem, checks the verb's precondition (each
 * refusal says what to do instead), changes the record, and save() writes it with
 * one revision.  Creating and redrafting read the incident's timeline through the
 * transaction and hand it to the draft generator (draft.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draft.h"
#include "fault.h"
#include "incident.h"
#include "notify.h"
#include "postmortem.h"
#include "review.h"
#include "timeutil.h"
#include "banned.h"

#define CHANGE_LOOKBACK MS_PER_HOUR
#define CHANGES_READ 20

static int fail(char **err, int rc, char *why)
{
	*err = why;
	return rc;
}

static const char *zone(const struct config *cfg)
{
	return cfg->time_zone ? cfg->time_zone : "UTC";
}

int64_t review_due_at(const char *day, const char *tz)
{
	struct walltime wt;
	if (!day || date_at(day, &wt) != 10 || day[10])
		return 0;
	walltime_from_naive(walltime_to_naive(&wt) + 86400, &wt);	/* the next midnight */
	return walltime_to_ms(&wt, tz);
}

/* --- loading and saving ------------------------------------------------------- */

static int load(struct store_tx *tx, int64_t id, struct postmortem *pm, char **err)
{
	int rc = tx->ops->postmortem_get(tx->conn, id, pm);
	if (rc == STORE_NOTFOUND)
		return fail(err, REVIEW_ENOTFOUND, xasprintf("no postmortem #%lld", (long long)id));
	return rc == STORE_FOUND ? STORE_OK : rc;
}

/* Writes pm as its next revision: change says what changed; the body is kept in
 * the revision when with_body. */
static int save(struct store_tx *tx, struct postmortem *pm, const char *actor,
		const char *change, int with_body, int64_t now)
{
	pm->revision++;
	pm->updated_at = now;
	struct pm_revision r = {
		.postmortem = pm->id, .revision = pm->revision, .at = now, .actor = (char *)actor,
		.change = (char *)change, .body = with_body ? pm->body : NULL,
	};
	int rc = tx->ops->postmortem_update(tx->conn, pm);
	return rc == STORE_OK ? tx->ops->pm_revision_add(tx->conn, &r) : rc;
}

static void set_str(char **field, const char *value)
{
	free(*field);
	*field = value ? xstrdup(value) : NULL;
}

/* --- action items ------------------------------------------------------------------ */

/* The stored item each written one is: first every item whose text is unchanged,
 * then, among the rest, the one at the same place (a reworded item); NULL: new. */
static void match(struct action_list *have, const struct pm_action *v, size_t n,
		  struct action_item **pick)
{
	char *used = xcalloc(have->n + 1, 1);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < have->n && !pick[i]; k++)
			if (!used[k] && !strcmp(have->v[k].text, v[i].text))
				used[k] = 1, pick[i] = &have->v[k];
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < have->n && !pick[i]; k++)
			if (!used[k] && have->v[k].position == (int)i + 1)
				used[k] = 1, pick[i] = &have->v[k];
	free(used);
}

/* Copies what the body says of an item into the tracked one. */
static void take_item(struct action_item *it, const struct pm_action *a, int position,
		      const struct postmortem *pm, const struct config *cfg, int64_t now)
{
	char dflt[16];
	struct walltime wt;
	ms_to_walltime(pm->created_at + draft_action_days(pm->severity) * MS_PER_DAY, zone(cfg), &wt,
		       NULL);
	snprintf(dflt, sizeof(dflt), "%04d-%02d-%02d", wt.year % 10000, wt.month % 100, wt.day % 100);
	const char *due = a->due && review_due_at(a->due, zone(cfg)) ? a->due : dflt;
	it->postmortem = pm->id;
	it->position = position;
	set_str(&it->text, a->text);
	set_str(&it->owner, a->owner);
	set_str(&it->due, due);
	it->due_at = review_due_at(due, zone(cfg));
	set_str(&it->ticket, a->ticket);
	if (!it->status || (a->checked && strcmp(it->status, ACTION_DONE)))
		set_str(&it->status, a->checked ? ACTION_DONE : ACTION_OPEN);
	else if (!a->checked && !strcmp(it->status, ACTION_DONE))
		set_str(&it->status, ACTION_OPEN);	/* the box was cleared */
	if (!it->created_at)
		it->created_at = now;
	it->updated_at = now;
}

/* Brings the tracked items in step with the body's task list. */
static int sync_actions(struct store_tx *tx, const struct config *cfg,
			const struct postmortem *pm, int64_t now)
{
	struct action_list have = { 0 };
	struct action_filter f = { .postmortem = pm->id };
	struct pm_action *v = NULL;
	size_t n = postmortem_actions(pm->body, strlen(pm->body), &v);
	int rc = tx->ops->action_list(tx->conn, &f, &have);
	struct action_item **pick = xcalloc(n + 1, sizeof(*pick));
	char *kept = xcalloc(have.n + 1, 1);
	if (rc == STORE_OK)
		match(&have, v, n, pick);
	for (size_t i = 0; i < n && rc == STORE_OK; i++) {
		struct action_item fresh = { 0 };
		take_item(pick[i] ? pick[i] : &fresh, &v[i], (int)i + 1, pm, cfg, now);
		if (pick[i])
			kept[pick[i] - have.v] = 1;
		rc = pick[i] ? tx->ops->action_update(tx->conn, pick[i])
			     : tx->ops->action_insert(tx->conn, &fresh);
		action_item_release(&fresh);
	}
	for (size_t i = 0; i < have.n && rc == STORE_OK; i++)
		if (!kept[i])
			rc = tx->ops->action_delete(tx->conn, have.v[i].id);
	free(kept);
	free(pick);
	pm_actions_free(v, n);
	action_list_release(&have);
	return rc;
}

/* --- creating and drafting ---------------------------------------------------------- */

struct timeline {
	struct incident inc;
	struct log_list log;
	struct change_list changes;
	struct change_event *start;	/* points into changes */
};

static void timeline_release(struct timeline *t)
{
	incident_release(&t->inc);
	log_list_release(&t->log);
	change_list_release(&t->changes);
}

static int read_timeline(struct store_tx *tx, int64_t number, int64_t change, int64_t now,
			 struct timeline *t, char **err)
{
	int rc = tx->ops->incident_get(tx->conn, number, &t->inc);
	if (rc == STORE_NOTFOUND)
		return fail(err, REVIEW_ENOTFOUND, xasprintf("no incident #%lld", (long long)number));
	if (rc != STORE_FOUND)
		return rc;
	int64_t until = t->inc.resolved_at ? t->inc.resolved_at : now;
	if (tx->ops->log_list(tx->conn, number, &t->log) != STORE_OK ||
	    tx->ops->change_list(tx->conn, t->inc.service, t->inc.created_at - CHANGE_LOOKBACK, until,
				 CHANGES_READ, &t->changes) != STORE_OK)
		return STORE_FAULT;
	for (size_t i = 0; change && i < t->changes.n; i++)
		if (t->changes.v[i].id == change && t->changes.v[i].at <= t->inc.created_at)
			t->start = &t->changes.v[i];
	if (change && !t->start)
		return fail(err, REVIEW_EINVAL,
			    xasprintf("change %lld is not a change event of %s in the hour before "
				      "incident #%lld (the draft's Root Cause lists those, with "
				      "their ids)", (long long)change, t->inc.service,
				      (long long)number));
	return STORE_OK;
}

static void draft_input_of(struct draft_input *in, const struct config *cfg,
			   const struct timeline *t, const char *owner, int64_t now)
{
	*in = (struct draft_input){ .cfg = cfg, .inc = &t->inc, .log = &t->log,
				    .changes = &t->changes, .start = t->start, .owner = owner,
				    .now = now };
}

static int tell_owner(struct store_tx *tx, const struct config *cfg, const struct postmortem *pm,
		      int64_t now)
{
	char *text = xasprintf("Postmortem #%lld of incident #%lld (%s) is yours to write. Read the "
			       "draft at %s/api/postmortems/%lld/page?token=YOUR_TOKEN or with "
			       "`tocsin postmortem show %lld --markdown`.", (long long)pm->id,
			       (long long)pm->incident, pm->title,
			       cfg->public_url ? cfg->public_url : "", (long long)pm->id,
			       (long long)pm->id);
	int rc = notify_user(tx, cfg, pm->owner, "postmortem", text, now, 0);
	free(text);
	return rc;
}

/* A postmortem of incident number; *id the new one.  why is the incident's log
 * message; STORE_FOUND (and *id) when the incident has one already. */
static int create(struct store_tx *tx, const struct config *cfg, int64_t number, int64_t change,
		  const char *actor, const char *owner, const char *why, int64_t now, int64_t *id,
		  char **err)
{
	struct postmortem_list have = { 0 };
	struct pm_filter f = { .incident = number };
	struct timeline t = { 0 };
	struct postmortem pm = { 0 };
	struct draft_input in;
	int rc = tx->ops->postmortem_list(tx->conn, &f, &have);
	if (rc == STORE_OK && have.n) {
		*id = have.v[0].id;
		rc = STORE_FOUND;
		goto out;
	}
	if (rc != STORE_OK || (rc = read_timeline(tx, number, change, now, &t, err)) != STORE_OK)
		goto out;
	if (!owner)
		owner = draft_owner(cfg, &t.inc, &t.log, actor);
	draft_input_of(&in, cfg, &t, owner, now);
	draft_fields(&in, &pm);
	pm.owner = owner ? xstrdup(owner) : NULL;
	pm.status = xstrdup(PM_DRAFT);
	pm.factors = xstrdup("[]");
	pm.approvals = xstrdup("[]");
	pm.body = draft_markdown(&in);
	pm.revision = 1;
	pm.created_at = pm.updated_at = now;
	struct pm_revision r = { .revision = 1, .at = now, .actor = (char *)actor,
				 .change = "created from the timeline", .body = pm.body };
	if ((rc = tx->ops->postmortem_insert(tx->conn, &pm)) == STORE_OK) {
		r.postmortem = *id = pm.id;
		rc = tx->ops->pm_revision_add(tx->conn, &r);
	}
	if (rc == STORE_OK)
		rc = incident_logf(tx, number, now, "postmortem", actor, "postmortem #%lld %s; owner %s",
				   (long long)pm.id, why, owner ? owner : "not named yet");
	if (rc == STORE_OK)
		rc = tell_owner(tx, cfg, &pm, now);
	fault_point("postmortem.written");	/* tests: written with its resolve, not committed */
out:
	postmortem_list_release(&have);
	postmortem_release(&pm);
	timeline_release(&t);
	return rc;
}

int review_required(struct store_tx *tx, const struct config *cfg, const struct incident *inc,
		    const char *resolver, int64_t now)
{
	const struct service *svc = config_service(cfg, inc->service);
	int at = svc ? svc->postmortem_at : 2;
	if (inc->severity < 1 || inc->severity > at)
		return STORE_OK;
	char *why = xasprintf("required: SEV-%d is at or above the service's SEV-%d", inc->severity, at);
	char *err = NULL;
	int64_t id = 0;
	int rc = create(tx, cfg, inc->number, 0, resolver ? resolver : "system", NULL, why, now, &id,
			&err);
	free(why);
	free(err);
	return rc == STORE_FOUND ? STORE_OK : rc;
}

static int redraft(struct store_tx *tx, const struct config *cfg, struct postmortem *pm,
		   const struct review_op *op, int64_t now, char **err)
{
	struct timeline t = { 0 };
	struct draft_input in;
	struct postmortem fresh = { 0 };
	if (strcmp(pm->status, PM_DRAFT))
		return fail(err, REVIEW_ECONFLICT,
			    xasprintf("postmortem #%lld is %s: only a draft is drafted again (tocsin "
				      "postmortem reopen %lld first)", (long long)pm->id, pm->status,
				      (long long)pm->id));
	int rc = read_timeline(tx, pm->incident, op->change, now, &t, err);
	if (rc == STORE_OK) {
		draft_input_of(&in, cfg, &t, pm->owner, now);
		draft_fields(&in, &fresh);
		pm->impact_start = fresh.impact_start;
		free(pm->body);
		pm->body = draft_markdown(&in);
		rc = save(tx, pm, op->actor, "drafted again from the timeline", 1, now);
	}
	if (rc == STORE_OK)
		rc = sync_actions(tx, cfg, pm, now);
	postmortem_release(&fresh);
	timeline_release(&t);
	return rc;
}

/* --- fields ---------------------------------------------------------------------------- */

/* The time fields that RV_SET takes: ISO 8601, or null to clear. */
static int64_t *time_field(struct postmortem *pm, const char *name)
{
	static const char *const names[] = { "impact_start", "detected", "acknowledged", "mitigated",
					     "resolved" };
	int64_t *fields[] = { &pm->impact_start, &pm->detected, &pm->acknowledged, &pm->mitigated,
			      &pm->resolved };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(name, names[i]))
			return fields[i];
	return NULL;
}

static char *dump(json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* value as a JSON array (a new reference): an array as it is, or a comma-separated
 * string as its trimmed parts ("a, b"); NULL when it is neither. */
static json_t *list_of(json_t *value)
{
	if (json_is_array(value))
		return json_incref(value);
	if (!json_is_string(value))
		return NULL;
	json_t *out = json_array();
	for (const char *p = json_string_value(value); *p;) {
		size_t n = strcspn(p, ","), skip = strspn(p, " ");
		size_t len = n > skip ? n - skip : 0;
		while (len && p[skip + len - 1] == ' ')
			len--;
		if (len)
			json_array_append_new(out, json_stringn(p + skip, len));
		p += n + (p[n] == ',');
	}
	return out;
}

/* A JSON array of strings from value (see list_of) as text; NULL when value is not a
 * list of strings.  check, when set, vets each; the first it refuses is in *bad. */
static char *string_array(json_t *value, const struct config *cfg,
			  const struct service *(*check)(const struct config *, const char *),
			  char **bad)
{
	json_t *list = list_of(value), *v;
	size_t i;
	char *s = NULL;
	json_array_foreach(list, i, v)
		if (!json_is_string(v))
			goto out;
	json_array_foreach(list, i, v)
		if (check && !check(cfg, json_string_value(v)) && !*bad)
			*bad = xstrdup(json_string_value(v));
	s = list ? dump(list) : NULL;
out:
	json_decref(list);
	return s;
}

static char *set_one(struct postmortem *pm, const struct config *cfg, const char *key,
		     json_t *value, struct buf *what)
{
	int64_t *t = time_field(pm, key), ms = 0;
	const char *s = json_string_value(value);
	char *bad = NULL, *arr;
	if (t) {
		if (!json_is_null(value) && (!s || iso_parse(s, &ms) < 0))
			return xasprintf("%s must be an ISO 8601 time with a zone, or null", key);
		*t = ms;
	} else if (!strcmp(key, "owner")) {
		if (!s || !config_user(cfg, s))
			return xasprintf("owner must be a user of the configuration");
		set_str(&pm->owner, s);
	} else if (!strcmp(key, "severity")) {
		int sev = severity_parse(s);
		if (!sev)
			return xasprintf("severity must be SEV-1 to SEV-5");
		pm->severity = sev;
	} else if (!strcmp(key, "detection") || !strcmp(key, "title")) {
		if (!s || !*s)
			return xasprintf("%s must be a non-empty string", key);
		set_str(!strcmp(key, "title") ? &pm->title : &pm->detection, s);
	} else if (!strcmp(key, "factors") || !strcmp(key, "services")) {
		int services = !strcmp(key, "services");
		if (!(arr = string_array(value, cfg, services ? config_service : NULL, &bad)) || bad) {
			char *why = bad ? xasprintf("services: no service '%s' in the configuration", bad)
					: xasprintf("%s must be a list of strings", key);
			free(bad);
			free(arr);
			return why;
		}
		free(services ? pm->services : pm->factors);
		*(services ? &pm->services : &pm->factors) = arr;
	} else {
		return xasprintf("unknown field '%s' (owner, severity, title, incidents, impact_start, "
				 "detected, acknowledged, mitigated, resolved, detection, factors, "
				 "services)", key);
	}
	char *v = dump(value);
	buf_addf(what, "%s%s: %s", what->len ? ", " : "", key, v);
	free(v);
	return NULL;
}

/* An incident number: 12, "12" or "#12"; 0 when v is none. */
static int64_t incident_number(json_t *v)
{
	const char *s = json_string_value(v);
	char *end;
	if (json_is_integer(v))
		return json_integer_value(v) > 0 ? json_integer_value(v) : 0;
	if (!s || (s += *s == '#', *s < '1' || *s > '9'))
		return 0;
	long long n = strtoll(s, &end, 10);
	return *end ? 0 : n;
}

/* "incidents": the numbers of the incidents the postmortem covers (one incident, or
 * several with one cause), as a list or "12, 14"; the one it was opened for stays. */
static char *set_incidents(struct store_tx *tx, struct postmortem *pm, json_t *value, int *rc)
{
	json_t *list = list_of(value), *out = json_array(), *v;
	size_t i;
	int has_own = 0;
	char *why = list ? NULL : xstrdup("incidents must be incident numbers, e.g. \"12, 14\"");
	json_array_foreach(list, i, v) {
		struct incident inc = { 0 };
		int64_t n = incident_number(v);
		int found = n ? tx->ops->incident_get(tx->conn, n, &inc) : STORE_NOTFOUND;
		incident_release(&inc);
		if (!n)
			why = xstrdup("incidents must be incident numbers, e.g. \"12, 14\"");
		else if (found == STORE_NOTFOUND)
			why = xasprintf("incidents: no incident #%lld", (long long)n);
		else if (found == STORE_FAULT)
			*rc = STORE_FAULT;
		if (found != STORE_FOUND)
			break;
		has_own |= n == pm->incident;
		json_array_append_new(out, json_integer(n));
	}
	if (!why && *rc == STORE_OK && !has_own)
		why = xasprintf("incidents must include #%lld, which the postmortem was opened for",
				(long long)pm->incident);
	if (!why && *rc == STORE_OK) {
		free(pm->incidents);
		pm->incidents = dump(out);
	}
	json_decref(list);
	json_decref(out);
	return why;
}

static int set_fields(struct store_tx *tx, const struct config *cfg, struct postmortem *pm,
		      const struct review_op *op, int64_t now, char **err)
{
	const char *key;
	json_t *value;
	struct buf what = BUF_INIT;
	char *old_owner = pm->owner ? xstrdup(pm->owner) : NULL;
	int rc = STORE_OK;
	if (!json_is_object(op->fields) || !json_object_size(op->fields)) {
		rc = fail(err, REVIEW_EINVAL, xstrdup("give the fields to set as a JSON object"));
		goto out;
	}
	json_object_foreach(op->fields, key, value) {
		if (!strcmp(key, "incidents")) {
			if ((*err = set_incidents(tx, pm, value, &rc)) || rc != STORE_OK) {
				rc = *err ? REVIEW_EINVAL : rc;
				goto out;
			}
			char *v = dump(value);
			buf_addf(&what, "%sincidents: %s", what.len ? ", " : "", v);
			free(v);
		} else if ((*err = set_one(pm, cfg, key, value, &what))) {
			rc = REVIEW_EINVAL;
			goto out;
		}
	}
	rc = save(tx, pm, op->actor, what.s, 0, now);
	if (rc == STORE_OK && pm->owner && (!old_owner || strcmp(old_owner, pm->owner)))
		rc = tell_owner(tx, cfg, pm, now);
out:
	free(old_owner);
	buf_release(&what);
	return rc;
}

/* --- the workflow ---------------------------------------------------------------------- */

static int lint_errors(const char *body, char **first)
{
	struct pm_finding *f;
	size_t n = postmortem_lint(body, strlen(body), &f);
	int errors = 0;
	for (size_t i = 0; i < n; i++)
		if (f[i].error && !errors++)
			*first = xasprintf("line %d: %s", f[i].line, f[i].message);
	pm_findings_free(f, n);
	return errors;
}

static int move(struct store_tx *tx, struct postmortem *pm, const char *actor, const char *to,
		const char *why, int64_t now)
{
	char *change = xasprintf("status: %s -> %s%s%s", pm->status, to, why ? ": " : "",
				 why ? why : "");
	set_str(&pm->status, to);
	int rc = save(tx, pm, actor, change, 0, now);
	free(change);
	if (rc == STORE_OK && (!strcmp(to, PM_PUBLISHED) || !strcmp(to, PM_CLOSED)))
		rc = incident_logf(tx, pm->incident, now, "postmortem", actor, "postmortem #%lld %s",
				   (long long)pm->id, to);
	return rc;
}

static int submit(struct store_tx *tx, struct postmortem *pm, const struct review_op *op,
		  int64_t now, char **err)
{
	char *first = NULL;
	if (strcmp(pm->status, PM_DRAFT))
		return fail(err, REVIEW_ECONFLICT, xasprintf("postmortem #%lld is %s, not a draft",
							     (long long)pm->id, pm->status));
	if (!pm->owner)
		return fail(err, REVIEW_ECONFLICT,
			    xasprintf("postmortem #%lld has no owner: name one first (tocsin "
				      "postmortem set %lld owner=ID)", (long long)pm->id,
				      (long long)pm->id));
	int errors = lint_errors(pm->body, &first);
	if (errors) {
		*err = xasprintf("postmortem #%lld has %d lint error%s; fix them first (tocsin "
				 "postmortem lint %lld); %s", (long long)pm->id, errors,
				 errors == 1 ? "" : "s", (long long)pm->id, first);
		free(first);
		return REVIEW_ECONFLICT;
	}
	return move(tx, pm, op->actor, PM_IN_REVIEW, NULL, now);
}

static int approve(struct store_tx *tx, struct postmortem *pm, const struct review_op *op,
		   int64_t now, char **err)
{
	if (strcmp(pm->status, PM_IN_REVIEW))
		return fail(err, REVIEW_ECONFLICT,
			    xasprintf("postmortem #%lld is %s: only one in review is approved "
				      "(tocsin postmortem submit %lld)", (long long)pm->id, pm->status,
				      (long long)pm->id));
	if (pm->owner && !strcmp(pm->owner, op->actor))
		return fail(err, REVIEW_EFORBIDDEN,
			    xasprintf("%s owns postmortem #%lld: a reviewer other than the owner "
				      "approves it", op->actor, (long long)pm->id));
	json_t *a = json_loads(pm->approvals, 0, NULL), *v;
	size_t i;
	int rc = STORE_OK;
	if (!json_is_array(a)) {
		json_decref(a);
		a = json_array();
	}
	json_array_foreach(a, i, v)
		if (!strcmp(json_string_value(v) ? json_string_value(v) : "", op->actor))
			rc = fail(err, REVIEW_ECONFLICT, xasprintf("%s approved postmortem #%lld already",
								   op->actor, (long long)pm->id));
	if (rc == STORE_OK) {
		json_array_append_new(a, json_string(op->actor));
		free(pm->approvals);
		pm->approvals = dump(a);
		rc = save(tx, pm, op->actor, "approved", 0, now);
	}
	json_decref(a);
	return rc;
}

static int publish(struct store_tx *tx, struct postmortem *pm, const struct review_op *op,
		   int64_t now, char **err)
{
	if (strcmp(pm->status, PM_IN_REVIEW))
		return fail(err, REVIEW_ECONFLICT, xasprintf("postmortem #%lld is %s: it is published "
							     "from review", (long long)pm->id, pm->status));
	if (!strcmp(pm->approvals, "[]"))
		return fail(err, REVIEW_ECONFLICT,
			    xasprintf("postmortem #%lld has no approval yet: a reviewer other than "
				      "the owner approves it first", (long long)pm->id));
	return move(tx, pm, op->actor, PM_PUBLISHED, NULL, now);
}

static int close_pm(struct store_tx *tx, struct postmortem *pm, const struct review_op *op,
		    int64_t now, char **err)
{
	struct action_list open = { 0 };
	struct action_filter f = { .postmortem = pm->id, .open_only = 1 };
	if (strcmp(pm->status, PM_PUBLISHED))
		return fail(err, REVIEW_ECONFLICT, xasprintf("postmortem #%lld is %s: it is closed "
							     "once published", (long long)pm->id, pm->status));
	int rc = tx->ops->action_list(tx->conn, &f, &open);
	if (rc == STORE_OK && open.n) {
		struct buf ids = BUF_INIT;
		for (size_t i = 0; i < open.n; i++)
			buf_addf(&ids, "%s#%lld", i ? ", " : "", (long long)open.v[i].id);
		rc = fail(err, REVIEW_ECONFLICT,
			  xasprintf("postmortem #%lld has %zu open action item%s (%s): mark each done, "
				    "or decline it with a reason (tocsin actions decline ID REASON)",
				    (long long)pm->id, open.n, open.n == 1 ? "" : "s", ids.s));
		buf_release(&ids);
	}
	if (rc == STORE_OK)
		rc = move(tx, pm, op->actor, PM_CLOSED, NULL, now);
	action_list_release(&open);
	return rc;
}

static int reopen(struct store_tx *tx, struct postmortem *pm, const struct review_op *op,
		  int64_t now, char **err)
{
	if (strcmp(pm->status, PM_IN_REVIEW))
		return fail(err, REVIEW_ECONFLICT, xasprintf("postmortem #%lld is %s: only one in "
							     "review goes back to draft", (long long)pm->id,
							     pm->status));
	set_str(&pm->approvals, "[]");
	return move(tx, pm, op->actor, PM_DRAFT, op->text, now);
}

static int edit(struct store_tx *tx, const struct config *cfg, struct postmortem *pm,
		const struct review_op *op, int64_t now, char **err)
{
	int in_review = !strcmp(pm->status, PM_IN_REVIEW);
	if (!op->text || !*op->text)
		return fail(err, REVIEW_EINVAL, xstrdup("'markdown' is missing or empty"));
	if (strlen(op->text) > REVIEW_MARKDOWN_MAX)
		return fail(err, REVIEW_EINVAL, xstrdup("'markdown' is longer than 256 KiB"));
	if (!in_review && strcmp(pm->status, PM_DRAFT))
		return fail(err, REVIEW_ECONFLICT,
			    xasprintf("postmortem #%lld is %s: its text is the record now; action "
				      "items are still marked with tocsin actions", (long long)pm->id,
				      pm->status));
	set_str(&pm->body, op->text);
	if (in_review)	/* what was approved is not what is there now */
		set_str(&pm->approvals, "[]");
	int rc = save(tx, pm, op->actor, in_review ? "body (approvals dismissed)" : "body", 1, now);
	return rc == STORE_OK ? sync_actions(tx, cfg, pm, now) : rc;
}

/* An action item marked done, open or declined; the body's box follows. */
static int mark_action(struct store_tx *tx, const struct config *cfg, const struct review_op *op,
		       int64_t now, int64_t *id, char **err)
{
	struct action_item it = { 0 };
	struct postmortem pm = { 0 };
	const char *to = op->text;
	int rc = tx->ops->action_get(tx->conn, op->id, &it);
	if (rc == STORE_NOTFOUND)
		return fail(err, REVIEW_ENOTFOUND, xasprintf("no action item #%lld", (long long)op->id));
	if (rc != STORE_FOUND)
		return rc;
	rc = STORE_OK;
	if (!to || (strcmp(to, ACTION_OPEN) && strcmp(to, ACTION_DONE) && strcmp(to, ACTION_DECLINED)))
		rc = fail(err, REVIEW_EINVAL, xstrdup("status must be open, done or declined"));
	else if (!strcmp(to, ACTION_DECLINED) && (!op->reason || !*op->reason))
		rc = fail(err, REVIEW_EINVAL, xstrdup("declining an action item needs a reason"));
	if (rc == STORE_OK)
		rc = load(tx, it.postmortem, &pm, err);
	if (rc == STORE_OK && !strcmp(pm.status, PM_CLOSED))
		rc = fail(err, REVIEW_ECONFLICT, xasprintf("postmortem #%lld is closed: its action "
							   "items are final", (long long)pm.id));
	if (rc != STORE_OK)
		goto out;
	*id = pm.id;
	struct pm_action *v = NULL;
	size_t n = postmortem_actions(pm.body, strlen(pm.body), &v);
	char *body = (size_t)it.position <= n
			     ? postmortem_check_box(pm.body, v[it.position - 1].line,
						    !strcmp(to, ACTION_DONE))
			     : NULL;
	pm_actions_free(v, n);
	char *change = xasprintf("action item #%lld: %s -> %s%s%s", (long long)it.id, it.status, to,
				 op->reason ? ": " : "", op->reason ? op->reason : "");
	set_str(&it.status, to);
	set_str(&it.reason, !strcmp(to, ACTION_DECLINED) ? op->reason : NULL);
	if (op->ticket)
		set_str(&it.ticket, op->ticket);
	it.updated_at = now;
	rc = tx->ops->action_update(tx->conn, &it);
	if (body && strcmp(body, pm.body)) {
		free(pm.body);
		pm.body = body;
		body = NULL;
	}
	if (rc == STORE_OK)
		rc = save(tx, &pm, op->actor, change, 1, now);
	free(body);
	free(change);
out:
	action_item_release(&it);
	postmortem_release(&pm);
	return rc;
}

int review_apply(struct store_tx *tx, const struct config *cfg, const struct review_op *op,
		 int64_t now, int64_t *id, char **err)
{
	struct postmortem pm = { 0 };
	int rc;
	*id = op->id;
	if (op->verb == RV_CREATE) {
		rc = create(tx, cfg, op->id, op->change, op->actor, NULL, "drafted", now, id, err);
		if (rc == STORE_FOUND)
			rc = fail(err, REVIEW_ECONFLICT,
				  xasprintf("incident #%lld has postmortem #%lld already", (long long)op->id,
					    (long long)*id));
		return rc;
	}
	if (op->verb == RV_ACTION)
		return mark_action(tx, cfg, op, now, id, err);
	if ((rc = load(tx, op->id, &pm, err)) != STORE_OK)
		return rc;
	if (!strcmp(pm.status, PM_CLOSED)) {
		rc = fail(err, REVIEW_ECONFLICT, xasprintf("postmortem #%lld is closed: it is final",
							   (long long)pm.id));
		goto out;
	}
	switch (op->verb) {
	case RV_REDRAFT: rc = redraft(tx, cfg, &pm, op, now, err); break;
	case RV_EDIT: rc = edit(tx, cfg, &pm, op, now, err); break;
	case RV_SET: rc = set_fields(tx, cfg, &pm, op, now, err); break;
	case RV_SUBMIT: rc = submit(tx, &pm, op, now, err); break;
	case RV_APPROVE: rc = approve(tx, &pm, op, now, err); break;
	case RV_REOPEN: rc = reopen(tx, &pm, op, now, err); break;
	case RV_PUBLISH: rc = publish(tx, &pm, op, now, err); break;
	case RV_CLOSE: rc = close_pm(tx, &pm, op, now, err); break;
	default: break;
	}
out:
	postmortem_release(&pm);
	return rc;
}

/* --- reminders --------------------------------------------------------------------------- */

static int remind(struct store_tx *tx, const struct config *cfg, struct action_item *it,
		  int64_t now)
{
	struct postmortem pm = { 0 };
	int rc = tx->ops->postmortem_get(tx->conn, it->postmortem, &pm);
	if (rc != STORE_FOUND)
		return rc == STORE_NOTFOUND ? STORE_OK : rc;
	int late = now - it->due_at >= ACTION_GRACE_DAYS * MS_PER_DAY;
	const char *to = it->owner && config_user(cfg, it->owner) ? it->owner : pm.owner;
	char *text = xasprintf("Action item #%lld of postmortem #%lld was due %s: %s. Mark it done "
			       "with `tocsin actions done %lld`, or decline it with a reason.",
			       (long long)it->id, (long long)pm.id, it->due, it->text,
			       (long long)it->id);
	rc = notify_user(tx, cfg, to, "reminder", text, now, late);
	if (rc == STORE_OK && late && pm.owner && to && strcmp(pm.owner, to))	/* escalated */
		rc = notify_user(tx, cfg, pm.owner, "reminder", text, now, 1);
	it->reminded_at = now;
	if (rc == STORE_OK)
		rc = tx->ops->action_update(tx->conn, it);
	free(text);
	postmortem_release(&pm);
	return rc;
}

int review_remind(struct store_tx *tx, const struct config *cfg, int64_t now, int *sent)
{
	struct action_list due = { 0 };
	struct action_filter f = { .open_only = 1, .due_before = now };
	int rc = tx->ops->action_list(tx->conn, &f, &due);
	*sent = 0;
	for (size_t i = 0; i < due.n && rc == STORE_OK; i++) {
		if (due.v[i].reminded_at && now - due.v[i].reminded_at < MS_PER_DAY)
			continue;
		rc = remind(tx, cfg, &due.v[i], now);
		++*sent;
	}
	action_list_release(&due);
	return rc;
}
