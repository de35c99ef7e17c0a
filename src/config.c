/*
 * config.c - reads tocsin.yaml into a validated, immutable struct config.
 *
 * Entry points: config_load() / config_parse(), config_ref() / config_unref(),
 * and the config_*() lookups.  Everything else is private.
 *
 * The shape of the file lives in tables, not in code: every mapping has a
 * `struct map_spec` listing its allowed keys, and each key names a setter that
 * checks and stores one value (a string, a duration, an enum, a nested mapping,
 * a list of mappings...).  walk_map() drives them all, so "unknown key",
 * "missing required key" and position reporting are written once.  To add a key,
 * add a row to the right table (and a field to config.h); to add a section, add a
 * map_spec or list_spec and a row in root_fields[].
 *
 * Validation never stops at the first problem.  Each one is collected with its
 * line and column (the key or value at fault), and at the end they are sorted by
 * position and handed to the caller as "file:line:col: message".  References
 * between objects (a policy naming a schedule, a rule naming a contact method)
 * are recorded while parsing and resolved once everything is read, because YAML
 * order says nothing about dependency order.
 *
 * libfyaml builds the document; we only read it.  It has no public start mark for
 * collections, so a collection's position is that of its first scalar, and an
 * empty one takes the position of the key that holds it.
 */
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfyaml.h>

#include "config.h"
#include "banned.h"

#define DEFAULT_LISTEN "127.0.0.1:8080"
#define DEFAULT_SQLITE "var/tocsin.db"
#define DEFAULT_RATE_LIMIT 6000

/* ---- problems and references collected during a parse ---- */

struct pos {
	int line, col;		/* 1-based; 0 when unknown */
};

struct problem {
	struct pos at;
	size_t seq;
	char *msg;
};

enum ref_kind { REF_USER, REF_TEAM, REF_SCHEDULE, REF_POLICY, REF_SERVICE, REF_CONTACT,
		REF_CHECK };

/* "owner_what 'owner id' names unknown <kind> 'id'", checked after the parse. */
struct ref {
	enum ref_kind kind;
	char *id;
	const char *owner_what;
	const void *owner;	/* a struct whose first member is `char *id` */
	struct pos at;
};

struct ctx {
	const char *name;
	struct config *c;
	struct problem *probs;
	size_t nprobs, capprobs;
	struct ref *refs;
	size_t nrefs, caprefs;
	struct pos here;	/* the key being handled: fallback position */
	struct strlist *ids;	/* ids seen so far in the list being parsed */
	const char *id_what;
	const char *owner_what;	/* the top-level object being parsed */
	const void *owner;
	struct strlist keys;	/* integration keys of every service */
	struct strlist beats;	/* heartbeat keys of every check */
};

static int node_pos(struct fy_node *n, struct pos *p)
{
	void *it = NULL;
	struct fy_node_pair *pair;
	struct fy_token *tok;

	if (!n)
		return -1;
	switch (fy_node_get_type(n)) {
	case FYNT_SCALAR:
		tok = fy_node_get_scalar_token(n);
		if (!tok)
			return -1;
		p->line = fy_token_start_mark(tok)->line + 1;
		p->col = fy_token_start_mark(tok)->column + 1;
		/* the mark of a quoted scalar is inside the quotes: point at the quote */
		if (fy_node_get_style(n) == FYNS_SINGLE_QUOTED ||
		    fy_node_get_style(n) == FYNS_DOUBLE_QUOTED)
			p->col -= p->col > 1;
		return 0;
	case FYNT_SEQUENCE:
		return node_pos(fy_node_sequence_iterate(n, &it), p);
	case FYNT_MAPPING:
		pair = fy_node_mapping_iterate(n, &it);
		return pair ? node_pos(fy_node_pair_key(pair), p) : -1;
	}
	return -1;
}

static void problem_at(struct ctx *x, struct pos at, const char *fmt, va_list ap)
{
	if (x->nprobs == x->capprobs) {
		x->capprobs = x->capprobs ? 2 * x->capprobs : 16;
		x->probs = xrealloc(x->probs, x->capprobs * sizeof(*x->probs));
	}
	x->probs[x->nprobs] = (struct problem){ at, x->nprobs, xvasprintf(fmt, ap) };
	x->nprobs++;
}

/* Records a problem at node n, or at the key being handled when n has no position. */
PRINTF_LIKE(3, 4)
static void problem(struct ctx *x, struct fy_node *n, const char *fmt, ...)
{
	struct pos at = x->here;
	va_list ap;

	node_pos(n, &at);
	va_start(ap, fmt);
	problem_at(x, at, fmt, ap);
	va_end(ap);
}

static void add_ref(struct ctx *x, enum ref_kind kind, struct fy_node *n, const char *id)
{
	struct ref *r;

	if (x->nrefs == x->caprefs) {
		x->caprefs = x->caprefs ? 2 * x->caprefs : 16;
		x->refs = xrealloc(x->refs, x->caprefs * sizeof(*x->refs));
	}
	r = &x->refs[x->nrefs++];
	*r = (struct ref){ kind, xstrdup(id), x->owner_what, x->owner, x->here };
	node_pos(n, &r->at);
}

static int problem_cmp(const void *a, const void *b)
{
	const struct problem *p = a, *q = b;

	if (p->at.line != q->at.line)
		return p->at.line < q->at.line ? -1 : 1;
	if (p->at.col != q->at.col)
		return p->at.col < q->at.col ? -1 : 1;
	return p->seq < q->seq ? -1 : p->seq > q->seq;
}

static void flush_problems(struct ctx *x, struct strlist *errs)
{
	qsort(x->probs, x->nprobs, sizeof(*x->probs), problem_cmp);
	for (size_t i = 0; i < x->nprobs; i++)
		strlist_pushf(errs, "%s:%d:%d: %s", x->name, x->probs[i].at.line,
			      x->probs[i].at.col, x->probs[i].msg);
}

static void ctx_release(struct ctx *x)
{
	for (size_t i = 0; i < x->nprobs; i++)
		free(x->probs[i].msg);
	for (size_t i = 0; i < x->nrefs; i++)
		free(x->refs[i].id);
	free(x->probs);
	free(x->refs);
	strlist_release(&x->keys);
	strlist_release(&x->beats);
}

/* ---- the tables' vocabulary ---- */

struct field;
typedef void set_fn(struct ctx *x, const struct field *f, struct fy_node *val, void *obj);

struct field {
	const char *key;
	set_fn *set;
	size_t off;		/* where the setter stores, from the object's start */
	size_t noff;		/* lists: where the element count goes */
	const void *arg;	/* setter-specific: enum table, nested spec */
	int iarg;		/* setter-specific: reference kind, weekly window */
	bool required;		/* the key must be present */
	bool nonempty;		/* lists: at least one entry */
	bool positive;		/* durations: greater than zero */
};

struct map_spec {
	const char *what;	/* the key holding the mapping, for messages */
	const struct field *fields;
	size_t nfields;
};

struct list_spec {
	const char *singular;	/* "escalation policy": ids, references */
	bool owner;		/* entries own references made inside them */
	size_t size;
	const struct map_spec *map;
	void (*init)(void *obj);
	void (*done)(struct ctx *x, struct fy_node *map, void *obj, uint64_t seen);
};

struct enum_name {
	const char *name;
	int value;
};

struct enum_spec {
	const struct enum_name *names;
	size_t n;
	const char *hint;
};

#define SLOT(obj, f, type) ((type *)((char *)(obj) + (f)->off))
#define SPEC(what, tab) { what, tab, ARRAY_SIZE(tab) }

static int saw(const struct map_spec *s, uint64_t seen, const char *key)
{
	for (size_t i = 0; i < s->nfields; i++)
		if (!strcmp(s->fields[i].key, key))
			return (seen >> i) & 1;
	return 0;
}

/* ---- walking mappings and lists ---- */

static const struct field *find_field(struct ctx *x, const struct map_spec *s,
				      struct fy_node *key)
{
	const char *name;

	if (fy_node_get_type(key) != FYNT_SCALAR) {
		problem(x, key, "keys in '%s' must be plain strings", s->what);
		return NULL;
	}
	name = fy_node_get_scalar0(key);
	for (size_t i = 0; i < s->nfields; i++)
		if (name && !strcmp(s->fields[i].key, name))
			return &s->fields[i];
	problem(x, key, "unknown key '%s' in '%s'", name ? name : "", s->what);
	return NULL;
}

static void check_required(struct ctx *x, struct fy_node *map, const struct map_spec *s,
			   uint64_t seen)
{
	for (size_t i = 0; i < s->nfields; i++)
		if (s->fields[i].required && !((seen >> i) & 1))
			problem(x, map, "missing required key '%s' in '%s'", s->fields[i].key,
				s->what);
}

/* Hands every key of map to its setter; returns the set of keys seen (bit = row). */
static uint64_t walk_map(struct ctx *x, struct fy_node *map, const struct map_spec *s,
			 void *obj)
{
	struct pos saved = x->here;
	struct fy_node_pair *pair;
	uint64_t seen = 0;
	void *it = NULL;

	while ((pair = fy_node_mapping_iterate(map, &it))) {
		struct fy_node *key = fy_node_pair_key(pair);
		struct fy_node *val = fy_node_pair_value(pair);
		const struct field *f = key ? find_field(x, s, key) : NULL;

		if (!key)
			problem(x, val, "keys in '%s' must be plain strings", s->what);
		if (!f)
			continue;
		node_pos(key, &x->here);
		seen |= 1ULL << (f - s->fields);
		if (val)
			f->set(x, f, val, obj);
		else
			problem(x, key, "missing value for '%s'", f->key);
	}
	x->here = saved;
	check_required(x, map, s, seen);
	return seen;
}

static int is_null(struct fy_node *n)
{
	return fy_node_get_type(n) == FYNT_SCALAR && !fy_node_get_scalar_token(n);
}

static int want_type(struct ctx *x, const struct field *f, struct fy_node *val,
		     enum fy_node_type type)
{
	static const char *const names[] = {
		[FYNT_SCALAR] = "a string", [FYNT_SEQUENCE] = "a list",
		[FYNT_MAPPING] = "a mapping",
	};

	if (fy_node_get_type(val) == type)
		return 0;
	problem(x, NULL, "'%s' must be %s", f->key, names[type]);
	return -1;
}

static void entry(struct ctx *x, const struct list_spec *ls, struct fy_node *n, void *obj)
{
	uint64_t seen;

	ls->init(obj);
	if (ls->owner) {
		x->owner = obj;
		x->owner_what = ls->singular;
	}
	if (fy_node_get_type(n) != FYNT_MAPPING) {
		problem(x, n, "entries of '%s' must be mappings", ls->map->what);
		return;
	}
	seen = walk_map(x, n, ls->map, obj);
	if (ls->done)
		ls->done(x, n, obj, seen);
}

/* A list of mappings into a calloc'd array at f->off, its length at f->noff. */
static void set_list(struct ctx *x, const struct field *f, struct fy_node *val, void *obj)
{
	const struct list_spec *ls = f->arg;
	struct strlist ids = STRLIST_INIT, *saved_ids = x->ids;
	const char *saved_what = x->id_what;
	struct fy_node *item;
	void *it = NULL;
	size_t n = 0;
	char *arr;

	if (!is_null(val) && want_type(x, f, val, FYNT_SEQUENCE))
		return;
	if (!is_null(val))
		n = (size_t)fy_node_sequence_item_count(val);
	if (!n && f->nonempty)
		problem(x, NULL, "'%s' must not be empty", f->key);
	arr = xcalloc(n, ls->size);
	*SLOT(obj, f, void *) = arr;
	*(size_t *)((char *)obj + f->noff) = n;
	x->ids = &ids;
	x->id_what = ls->singular;
	for (size_t i = 0; i < n && (item = fy_node_sequence_iterate(val, &it)); i++)
		entry(x, ls, item, arr + i * ls->size);
	x->ids = saved_ids;
	x->id_what = saved_what;
	if (ls->owner)
		x->owner = NULL;
	strlist_release(&ids);
}

static void set_section(struct ctx *x, const struct field *f, struct fy_node *val,
			void *obj)
{
	if (!is_null(val) && !want_type(x, f, val, FYNT_MAPPING))
		walk_map(x, val, f->arg, obj);
}

/* ---- scalar setters ---- */

static set_fn set_count, set_status, set_bool, set_dur, set_tz, set_start, set_turn;
static set_fn set_headers;

/* What a scalar setter expects, for "'%s' must be %s". */
static const char *scalar_noun(const struct field *f)
{
	static const struct {
		set_fn *set;
		const char *noun;
	} nouns[] = {
		{ set_count, "an integer" }, { set_status, "an integer" },
		{ set_bool, "true or false" }, { set_dur, "a duration" },
		{ set_tz, "a time zone" }, { set_start, "a date and time" },
		{ set_turn, "a duration" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(nouns); i++)
		if (nouns[i].set == f->set)
			return nouns[i].noun;
	return "a string";
}

/* The scalar's text, copied; NULL (with a problem recorded) when not a non-empty scalar. */
static char *text_of(struct ctx *x, const struct field *f, struct fy_node *val)
{
	const char *s;
	size_t len = 0;

	if (fy_node_get_type(val) != FYNT_SCALAR) {
		problem(x, NULL, "'%s' must be %s", f->key, scalar_noun(f));
		return NULL;
	}
	s = fy_node_get_scalar(val, &len);
	if (!s || !len) {
		problem(x, val, "'%s' must not be empty", f->key);
		return NULL;
	}
	return xstrndup(s, len);
}

static void set_str(struct ctx *x, const struct field *f, struct fy_node *val, void *obj)
{
	char *s = text_of(x, f, val);

	if (!s)
		return;
	free(*SLOT(obj, f, char *));
	*SLOT(obj, f, char *) = s;
}

static void set_id(struct ctx *x, const struct field *f, struct fy_node *val, void *obj)
{
	set_str(x, f, val, obj);
	const char *id = *SLOT(obj, f, char *);
	if (!id || !x->ids)
		return;
	if (strlist_has(x->ids, id))
		problem(x, val, "duplicate %s id '%s'", x->id_what, id);
	else
		strlist_push(x->ids, id);
}

/* A string naming another object; checked once everything is read. */
static void set_ref(struct ctx *x, const struct field *f, struct fy_node *val, void *obj)
{
	set_str(x, f, val, obj);
	if (*SLOT(obj, f, char *))
		add_ref(x, (enum ref_kind)f->iarg, val, *SLOT(obj, f, char *));
}

static int int_of(struct ctx *x, const struct field *f, struct fy_node *val, long long lo,
		  long long hi, long long *out)
{
	char *s = text_of(x, f, val), *end = NULL;
	int rc = -1;

	if (!s)
		return -1;
	*out = strtoll(s, &end, 10);
	if (!isdigit((unsigned char)s[s[0] == '-']) || *end || *out < INT_MIN ||
	    *out > INT_MAX)
		problem(x, val, "'%s' must be an integer", f->key);
	else if (*out < 0 && lo == 0)
		problem(x, val, "'%s' must not be negative", f->key);
	else if (*out < lo || *out > hi)
		problem(x, val, "'%s' must be between %lld and %lld", f->key, lo, hi);
	else
		rc = 0;
	free(s);
	return rc;
}

/* An integer >= 0 (counts, rates). */
static void set_count(struct ctx *x, const struct field *f, struct fy_node *val, void *obj)
{
	long long v;

	if (!int_of(x, f, val, 0, INT_MAX, &v))
		*SLOT(obj, f, int) = (int)v;
}

static void set_status(struct ctx *x, const struct field *f, struct fy_node *val, void *obj)
{
	long long v;

	if (!int_of(x, f, val, 100, 599, &v))
		*SLOT(obj, f, int) = (int)v;
}

static void set_bool(struct ctx *x, const struct field *f, struct fy_node *val, void *obj)
{
	char *s = text_of(x, f, val);

	if (s && (!strcmp(s, "true") || !strcmp(s, "false")))
		*SLOT(obj, f, int) = !strcmp(s, "true");
	else if (s)
		problem(x, val, "'%s' must be true or false", f->key);
	free(s);
}

static void set_dur(struct ctx *x, const struct field *f, struct fy_node *val, void *obj)
{
	char *s = text_of(x, f, val);
	int64_t ms;

	if (s && duration_parse(s, &ms))
		problem(x, val, "bad duration '%s' for '%s' (use e.g. 500ms, 30s, 15m, 4h, 1d, 1w)",
			s, f->key);
	else if (s && f->positive && ms <= 0)
		problem(x, val, "'%s' must be greater than zero", f->key);
	else if (s)
		*SLOT(obj, f, int64_t) = ms;
	free(s);
}

static void set_tz(struct ctx *x, const struct field *f, struct fy_node *val, void *obj)
{
	set_str(x, f, val, obj);
	const char *tz = *SLOT(obj, f, char *);
	if (tz && !tz_valid(tz))
		problem(x, val, "unknown time zone '%s' for '%s' (use e.g. UTC, Europe/Paris)",
			tz, f->key);
}

static void set_enum(struct ctx *x, const struct field *f, struct fy_node *val, void *obj)
{
	const struct enum_spec *e = f->arg;
	char *s = text_of(x, f, val);
	size_t i;

	if (!s)
		return;
	for (i = 0; i < e->n && strcmp(e->names[i].name, s); i++)
		;
	if (i < e->n)
		*SLOT(obj, f, int) = e->names[i].value;
	else
		problem(x, val, "bad value '%s' for '%s' (use %s)", s, f->key, e->hint);
	free(s);
}

static int addr_valid(const char *s)
{
	const char *colon = strrchr(s, ':');
	char *end = NULL;
	long port;

	if (!colon || colon == s || strpbrk(s, " \t"))
		return 0;
	if (s[0] == '[' && colon[-1] != ']')
		return 0;
	port = strtol(colon + 1, &end, 10);
	return isdigit((unsigned char)colon[1]) && !*end && port >= 1 && port <= 65535;
}

/* host:port, as for listen and tcp checks. */
static void set_addr(struct ctx *x, const struct field *f, struct fy_node *val, void *obj)
{
	set_str(x, f, val, obj);
	char **slot = SLOT(obj, f, char *);
	if (!*slot || addr_valid(*slot))
		return;
	problem(x, val, "bad address '%s' for '%s' (use host:port, e.g. 127.0.0.1:8080)", *slot,
		f->key);
}

static void set_start(struct ctx *x, const struct field *f, struct fy_node *val, void *obj)
{
	char *s = text_of(x, f, val);

	if (s && walltime_parse(s, SLOT(obj, f, struct walltime)))
		problem(x, val, "bad time '%s' for '%s' (use e.g. 2026-11-02T09:00)", s, f->key);
	free(s);
}

static void set_turn(struct ctx *x, const struct field *f, struct fy_node *val, void *obj)
{
	char *s = text_of(x, f, val);

	if (s && turn_parse(s, SLOT(obj, f, struct turn)))
		problem(x, val, "bad turn '%s' for '%s' (use e.g. 12h, 1d, 1w, 1mo)", s, f->key);
	free(s);
}

/* ---- disk thresholds: "10%" or bytes "500MB" ---- */

/* Binary multiples, as df and du count: name, shift. */
static const struct enum_name byte_units[] = {
	{ "", 0 }, { "B", 0 }, { "K", 10 }, { "KB", 10 }, { "KIB", 10 }, { "M", 20 },
	{ "MB", 20 }, { "MIB", 20 }, { "G", 30 }, { "GB", 30 }, { "GIB", 30 },
	{ "T", 40 }, { "TB", 40 }, { "TIB", 40 },
};

static int parse_bytes(const char *s, int64_t *out)
{
	char *end = NULL;
	long long n;

	if (!isdigit((unsigned char)*s))
		return -1;
	n = strtoll(s, &end, 10);
	for (size_t i = 0; i < ARRAY_SIZE(byte_units); i++) {
		int shift = byte_units[i].value;
		if (strcasecmp(end, byte_units[i].name))
			continue;
		if (n == LLONG_MAX || n > (INT64_MAX >> shift))
			return -1;
		*out = (int64_t)n << shift;
		return 0;
	}
	return -1;
}

static int parse_percent(const char *s, double *out)
{
	char *end = NULL;
	double v;

	if (!isdigit((unsigned char)*s))
		return -1;
	v = strtod(s, &end);
	if (strcmp(end, "%") || !isfinite(v) || v > 100)
		return -1;
	*out = v;
	return 0;
}

static void set_min_free(struct ctx *x, const struct field *f, struct fy_node *val,
			 void *obj)
{
	struct check *ck = obj;
	char *s = text_of(x, f, val);

	if (!s)
		return;
	ck->min_free_pct = ck->min_free_bytes = -1;
	if (strchr(s, '%') ? parse_percent(s, &ck->min_free_pct) :
	    parse_bytes(s, &ck->min_free_bytes))
		problem(x, val, "bad value '%s' for '%s' (use e.g. 10%%, 500MB, 10GB)", s,
			f->key);
	free(s);
}

/* ---- lists of strings ---- */

/* Calls each(x, f, item, obj) for every entry of a list of non-empty strings. */
static void each_string(struct ctx *x, const struct field *f, struct fy_node *val,
			void *obj,
			void (*each)(struct ctx *, const struct field *, struct fy_node *,
				     char *, void *))
{
	struct fy_node *item;
	void *it = NULL;

	if (!is_null(val) && want_type(x, f, val, FYNT_SEQUENCE))
		return;
	if (f->nonempty && (is_null(val) || !fy_node_sequence_item_count(val)))
		problem(x, NULL, "'%s' must not be empty", f->key);
	while (!is_null(val) && (item = fy_node_sequence_iterate(val, &it))) {
		char *s = NULL;
		if (fy_node_get_type(item) != FYNT_SCALAR)
			problem(x, item, "entries of '%s' must be strings", f->key);
		else
			s = text_of(x, f, item);
		if (s)
			each(x, f, item, s, obj);
	}
}

static void add_user(struct ctx *x, const struct field *f, struct fy_node *item, char *s,
		     void *obj)
{
	add_ref(x, REF_USER, item, s);
	strlist_push_take(SLOT(obj, f, struct strlist), s);
}

/* User ids (team members, layer users). */
static void set_users(struct ctx *x, const struct field *f, struct fy_node *val, void *obj)
{
	each_string(x, f, val, obj, add_user);
}

static void add_key(struct ctx *x, const struct field *f, struct fy_node *item, char *s,
		    void *obj)
{
	if (strpbrk(s, " \t\r\n"))
		problem(x, item, "bad integration key '%s' (no spaces allowed)", s);
	else if (strlist_has(&x->keys, s))
		problem(x, item, "duplicate integration key '%s'", s);
	else
		strlist_push(&x->keys, s);
	strlist_push_take(SLOT(obj, f, struct strlist), s);
}

static void set_keys(struct ctx *x, const struct field *f, struct fy_node *val, void *obj)
{
	each_string(x, f, val, obj, add_key);
}

/* "Name: value", as sent: a name of token characters, a colon, no line breaks. */
static void add_header(struct ctx *x, const struct field *f, struct fy_node *item, char *s,
		       void *obj)
{
	size_t name = strcspn(s, ":");
	if (!s[name] || !name || name != strspn(s, "!#$%&'*+-.^_`|~0123456789"
						   "abcdefghijklmnopqrstuvwxyz"
						   "ABCDEFGHIJKLMNOPQRSTUVWXYZ") ||
	    strpbrk(s, "\r\n"))
		problem(x, item, "bad header '%s' (use \"Name: value\")", s);
	strlist_push_take(SLOT(obj, f, struct strlist), s);
}

static void set_headers(struct ctx *x, const struct field *f, struct fy_node *val, void *obj)
{
	each_string(x, f, val, obj, add_header);
}

static const struct target_prefix {
	const char *prefix;
	enum target_kind kind;
	enum ref_kind ref;
} target_prefixes[] = {
	{ "user:", TARGET_USER, REF_USER },
	{ "schedule:", TARGET_SCHEDULE, REF_SCHEDULE },
};

int target_parse(const char *s, struct target *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(target_prefixes); i++) {
		const struct target_prefix *t = &target_prefixes[i];
		size_t plen = strlen(t->prefix);
		if (!strncmp(s, t->prefix, plen) && s[plen]) {
			*out = (struct target){ t->kind, (char *)s + plen };
			return (int)i;
		}
	}
	return -1;
}

static void add_target(struct ctx *x, const struct field *f, struct fy_node *item, char *s,
		       void *obj)
{
	struct esc_level *lv = obj;
	struct target t;
	int i = target_parse(s, &t);

	if (i < 0) {
		problem(x, item, "bad target '%s' (use user:ID or schedule:ID)", s);
	} else {
		lv->targets = xrealloc(lv->targets, (lv->ntargets + 1) * sizeof(*lv->targets));
		lv->targets[lv->ntargets++] = (struct target){ t.kind, xstrdup(t.id) };
		add_ref(x, target_prefixes[i].ref, item, t.id);
	}
	free(s);
}

static void set_targets(struct ctx *x, const struct field *f, struct fy_node *val, void *obj)
{
	each_string(x, f, val, obj, add_target);
}

/* ---- restriction windows ---- */

static const char *const day_names[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

/* "HH:MM" into minutes since midnight; "24:00" only when end is set. */
static const char *read_hhmm(const char *s, int end, int *min)
{
	int h, m;

	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) || s[2] != ':' ||
	    !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
		return NULL;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && (m || !end)))
		return NULL;
	*min = h * 60 + m;
	return s + 5;
}

/* Optionally "ddd " (weekly), then "HH:MM", as minutes since Monday / midnight. */
static const char *read_point(const char *s, int weekly, int end, int *min)
{
	int day = 0;

	while (*s == ' ')
		s++;
	if (weekly) {
		for (day = 0; day < 7 && strncasecmp(s, day_names[day], 3); day++)
			;
		if (day == 7 || s[3] != ' ')
			return NULL;
		for (s += 3; *s == ' '; s++)
			;
	}
	s = read_hhmm(s, end, min);
	if (s)
		*min += day * 24 * 60;
	return s;
}

static int parse_window(const char *s, int weekly, struct restrict_window *w)
{
	s = read_point(s, weekly, 0, &w->start);
	if (!s)
		return -1;
	for (; *s == ' '; s++)
		;
	if (*s++ != '-')
		return -1;
	s = read_point(s, weekly, 1, &w->end);
	for (; s && *s == ' '; s++)
		;
	return s && !*s && w->start != w->end ? 0 : -1;
}

static void add_window(struct ctx *x, const struct field *f, struct fy_node *item, char *s,
		       void *obj)
{
	struct layer *l = obj;
	int weekly = f->iarg == 1;
	struct restrict_window w;
	struct restrict_window **arr = weekly ? &l->weekly : &l->daily;
	size_t *n = weekly ? &l->nweekly : &l->ndaily;

	if (!parse_window(s, weekly, &w)) {
		*arr = xrealloc(*arr, (*n + 1) * sizeof(**arr));
		(*arr)[(*n)++] = w;
	} else {
		problem(x, item, "bad %s window '%s' (use e.g. %s)", f->key, s,
			weekly ? "mon 09:00-fri 17:00" : "18:00-08:00");
	}
	free(s);
}

/* One window as a string, or a list of them; iarg 1: weekly. */
static void set_windows(struct ctx *x, const struct field *f, struct fy_node *val, void *obj)
{
	char *s;

	if (fy_node_get_type(val) != FYNT_SCALAR || is_null(val)) {
		each_string(x, f, val, obj, add_window);
		return;
	}
	s = text_of(x, f, val);
	if (s)
		add_window(x, f, val, s, obj);
}

/* ---- the enums, spelled as in YAML ---- */

static const struct enum_name role_names[] = {
	{ "observer", ROLE_OBSERVER }, { "responder", ROLE_RESPONDER }, { "admin", ROLE_ADMIN },
};
static const struct enum_spec role_enum = {
	role_names, ARRAY_SIZE(role_names), "admin, responder or observer"
};

static const struct enum_name contact_names[] = {
	{ "email", CONTACT_EMAIL }, { "webhook", CONTACT_WEBHOOK }, { "slack", CONTACT_SLACK },
	{ "teams", CONTACT_TEAMS }, { "sms", CONTACT_SMS }, { "voice", CONTACT_VOICE },
};
static const struct enum_spec contact_enum = {
	contact_names, ARRAY_SIZE(contact_names), "email, webhook, slack, teams, sms or voice"
};

static const struct enum_name urgency_names[] = {
	{ "any", URGENCY_ANY }, { "high", URGENCY_HIGH }, { "low", URGENCY_LOW },
};
static const struct enum_spec rule_urgency_enum = {
	urgency_names, ARRAY_SIZE(urgency_names), "any, high or low"
};
static const struct enum_spec service_urgency_enum = {
	urgency_names + 1, ARRAY_SIZE(urgency_names) - 1, "high or low"
};

static const struct enum_name check_names[] = {
	{ "http", CHECK_HTTP }, { "tcp", CHECK_TCP }, { "process", CHECK_PROCESS },
	{ "disk", CHECK_DISK }, { "heartbeat", CHECK_HEARTBEAT }, { "command", CHECK_COMMAND },
};
static const struct enum_spec check_enum = {
	check_names, ARRAY_SIZE(check_names), "http, tcp, process, disk, heartbeat or command"
};

static const struct enum_name sev_names[] = {
	{ "SEV-1", 1 }, { "SEV-2", 2 }, { "SEV-3", 3 }, { "SEV-4", 4 }, { "SEV-5", 5 },
};
static const struct enum_spec sev_enum = {
	sev_names, ARRAY_SIZE(sev_names), "SEV-1, SEV-2, SEV-3, SEV-4 or SEV-5"
};

static const char *enum_name(const struct enum_name *names, size_t n, int value)
{
	for (size_t i = 0; i < n; i++)
		if (names[i].value == value)
			return names[i].name;
	return "?";
}

/* ---- users ---- */

static void no_init(void *obj)
{
}

#define F(type, name, setter, ...) \
	{ .key = #name, .set = setter, .off = offsetof(type, name), __VA_ARGS__ }
#define LIST(type, name, spec, ...) \
	{ .key = #name, .set = set_list, .off = offsetof(type, name), \
	  .noff = offsetof(type, n##name), .arg = &spec, __VA_ARGS__ }

/* Which contact types need which key, by type. */
static const char *const contact_needs[] = {
	[CONTACT_EMAIL] = "address", [CONTACT_WEBHOOK] = "url", [CONTACT_SLACK] = "url",
	[CONTACT_TEAMS] = "url", [CONTACT_SMS] = "address", [CONTACT_VOICE] = "address",
};

static const struct field contact_fields[] = {
	F(struct contact_method, id, set_id, .required = true),
	F(struct contact_method, type, set_enum, .arg = &contact_enum, .required = true),
	F(struct contact_method, address, set_str),
	F(struct contact_method, url, set_str),
	F(struct contact_method, secret, set_str),
};
static const struct map_spec contact_map = SPEC("contact_methods", contact_fields);


/* Until a valid type is read, the type is out of range: no per-type checks. */
static void contact_init(void *obj)
{
	struct contact_method *cm = obj;

	cm->type = (enum contact_type)ARRAY_SIZE(contact_needs);
}

static void contact_done(struct ctx *x, struct fy_node *map, void *obj, uint64_t seen)
{
	struct contact_method *cm = obj;
	const char *need;

	if ((size_t)cm->type >= ARRAY_SIZE(contact_needs))
		return;
	need = contact_needs[cm->type];
	if (!saw(&contact_map, seen, need))
		problem(x, map, "missing required key '%s' for type '%s' in 'contact_methods'",
			need, contact_type_name(cm->type));
}

static const struct list_spec contact_list = {
	.singular = "contact method", .size = sizeof(struct contact_method),
	.map = &contact_map, .init = contact_init, .done = contact_done,
};

static const struct field rule_fields[] = {
	F(struct notification_rule, contact, set_ref, .iarg = REF_CONTACT, .required = true),
	F(struct notification_rule, after, set_dur),
	F(struct notification_rule, urgency, set_enum, .arg = &rule_urgency_enum),
};
static const struct map_spec rule_map = SPEC("notification_rules", rule_fields);

static void rule_init(void *obj)
{
	struct notification_rule *r = obj;

	r->urgency = URGENCY_ANY;
}

static const struct list_spec rule_list = {
	.singular = "notification rule", .size = sizeof(struct notification_rule),
	.map = &rule_map, .init = rule_init,
};

static const struct field user_fields[] = {
	F(struct user, id, set_id, .required = true),
	F(struct user, name, set_str),
	F(struct user, email, set_str),
	F(struct user, time_zone, set_tz),
	F(struct user, role, set_enum, .arg = &role_enum),
	{ .key = "contact_methods", .set = set_list, .off = offsetof(struct user, contacts),
	  .noff = offsetof(struct user, ncontacts), .arg = &contact_list },
	{ .key = "notification_rules", .set = set_list, .off = offsetof(struct user, rules),
	  .noff = offsetof(struct user, nrules), .arg = &rule_list },
};
static const struct map_spec user_map = SPEC("users", user_fields);

static void user_init(void *obj)
{
	struct user *u = obj;

	u->role = ROLE_RESPONDER;
}

static const struct list_spec user_list = {
	.singular = "user", .owner = true, .size = sizeof(struct user), .map = &user_map,
	.init = user_init,
};

/* ---- teams and schedules ---- */

static const struct field team_fields[] = {
	F(struct team, id, set_id, .required = true),
	F(struct team, name, set_str),
	F(struct team, members, set_users),
};
static const struct map_spec team_map = SPEC("teams", team_fields);

static const struct list_spec team_list = {
	.singular = "team", .owner = true, .size = sizeof(struct team), .map = &team_map,
	.init = no_init,
};

static const struct field restrict_fields[] = {
	{ .key = "daily", .set = set_windows },
	{ .key = "weekly", .set = set_windows, .iarg = 1 },
};
static const struct map_spec restrict_map = SPEC("restrict", restrict_fields);

static const struct field layer_fields[] = {
	F(struct layer, name, set_str),
	F(struct layer, start, set_start, .required = true),
	F(struct layer, turn, set_turn, .required = true),
	F(struct layer, users, set_users, .required = true, .nonempty = true),
	{ .key = "restrict", .set = set_section, .arg = &restrict_map },
};
static const struct map_spec layer_map = SPEC("layers", layer_fields);

static const struct list_spec layer_list = {
	.singular = "layer", .size = sizeof(struct layer), .map = &layer_map,
	.init = no_init,
};

static const struct field schedule_fields[] = {
	F(struct schedule, id, set_id, .required = true),
	F(struct schedule, name, set_str),
	F(struct schedule, time_zone, set_tz, .required = true),
	LIST(struct schedule, layers, layer_list),
};
static const struct map_spec schedule_map = SPEC("schedules", schedule_fields);

static const struct list_spec schedule_list = {
	.singular = "schedule", .owner = true, .size = sizeof(struct schedule),
	.map = &schedule_map, .init = no_init,
};

/* ---- escalation policies ---- */

static const struct field level_fields[] = {
	F(struct esc_level, targets, set_targets, .required = true, .nonempty = true),
	F(struct esc_level, escalate_after, set_dur, .required = true, .positive = true),
};
static const struct map_spec level_map = SPEC("levels", level_fields);

static const struct list_spec level_list = {
	.singular = "level", .size = sizeof(struct esc_level),
	.map = &level_map, .init = no_init,
};

static const struct field policy_fields[] = {
	F(struct escalation_policy, id, set_id, .required = true),
	F(struct escalation_policy, name, set_str),
	F(struct escalation_policy, repeat, set_count),
	LIST(struct escalation_policy, levels, level_list, .required = true, .nonempty = true),
};
static const struct map_spec policy_map = SPEC("escalation_policies", policy_fields);

static const struct list_spec policy_list = {
	.singular = "escalation policy", .owner = true,
	.size = sizeof(struct escalation_policy), .map = &policy_map, .init = no_init,
};

/* ---- services ---- */

static const struct field service_fields[] = {
	F(struct service, id, set_id, .required = true),
	F(struct service, name, set_str),
	F(struct service, team, set_ref, .iarg = REF_TEAM),
	F(struct service, escalation_policy, set_ref, .iarg = REF_POLICY),
	F(struct service, integration_keys, set_keys),
	F(struct service, ack_timeout, set_dur),
	F(struct service, auto_resolve, set_dur),
	F(struct service, postmortem_at, set_enum, .arg = &sev_enum),
	F(struct service, group_window, set_dur),
	F(struct service, urgency, set_enum, .arg = &service_urgency_enum),
	F(struct service, rate_limit, set_count),
};
static const struct map_spec service_map = SPEC("services", service_fields);

static void service_init(void *obj)
{
	struct service *s = obj;

	s->postmortem_at = 2;
	s->urgency = URGENCY_ANY;
	s->rate_limit = -1;
}

static void service_done(struct ctx *x, struct fy_node *map, void *obj, uint64_t seen)
{
	struct service *s = obj;

	if (!s->name && s->id)
		s->name = xstrdup(s->id);
}

static const struct list_spec service_list = {
	.singular = "service", .owner = true, .size = sizeof(struct service),
	.map = &service_map, .init = service_init, .done = service_done,
};

/* ---- checks ---- */

static void set_beat_key(struct ctx *x, const struct field *f, struct fy_node *val,
			 void *obj)
{
	set_str(x, f, val, obj);
	const char *key = *SLOT(obj, f, char *);
	if (key && strlist_has(&x->beats, key))
		problem(x, val, "duplicate heartbeat key '%s'", key);
	else if (key)
		strlist_push(&x->beats, key);
}

/* An HTTP status 100..599, or a range "200-299"; appended to the check's list. */
static void add_status(struct ctx *x, const struct field *f, struct fy_node *item, char *s,
		       void *obj)
{
	struct check *ck = obj;
	char *end = NULL;
	long lo = strtol(s, &end, 10), hi = lo;
	if (*end == '-')
		hi = strtol(end + 1, &end, 10);
	if (!isdigit((unsigned char)*s) || *end || lo < 100 || hi > 599 || hi < lo)
		problem(x, item, "bad status '%s' for 'expect_status' (use 200, 200-299 or a "
				 "list of them)", s);
	else {
		ck->expect = xrealloc(ck->expect, (ck->nexpect + 1) * sizeof(*ck->expect));
		ck->expect[ck->nexpect++] = (struct status_range){ (int)lo, (int)hi };
	}
	free(s);
}

static void set_expect(struct ctx *x, const struct field *f, struct fy_node *val, void *obj)
{
	if (fy_node_get_type(val) == FYNT_SEQUENCE) {
		each_string(x, f, val, obj, add_status);
		return;
	}
	char *s = text_of(x, f, val);
	if (s)
		add_status(x, f, val, s, obj);
}

static void set_regex(struct ctx *x, const struct field *f, struct fy_node *val, void *obj)
{
	regex_t re;
	set_str(x, f, val, obj);
	const char *s = *SLOT(obj, f, char *);
	if (s && regcomp(&re, s, REG_EXTENDED | REG_NOSUB) != 0)
		problem(x, val, "bad regular expression '%s' for '%s'", s, f->key);
	else if (s)
		regfree(&re);
}

static void set_inodes(struct ctx *x, const struct field *f, struct fy_node *val, void *obj)
{
	char *s = text_of(x, f, val);
	if (s && parse_percent(s, SLOT(obj, f, double)) < 0)
		problem(x, val, "bad value '%s' for '%s' (use a percentage, e.g. 10%%)", s, f->key);
	free(s);
}

static void add_check_ref(struct ctx *x, const struct field *f, struct fy_node *item, char *s,
			  void *obj)
{
	add_ref(x, REF_CHECK, item, s);
	strlist_push_take(SLOT(obj, f, struct strlist), s);
}

static void set_checks(struct ctx *x, const struct field *f, struct fy_node *val, void *obj)
{
	each_string(x, f, val, obj, add_check_ref);
}

static const struct field check_fields[] = {
	F(struct check, id, set_id, .required = true),
	F(struct check, service, set_ref, .iarg = REF_SERVICE, .required = true),
	{ .key = "type", .set = set_enum, .off = offsetof(struct check, kind),
	  .arg = &check_enum, .required = true },
	F(struct check, interval, set_dur, .positive = true),
	F(struct check, timeout, set_dur, .positive = true),
	F(struct check, retries, set_count),
	F(struct check, retry_interval, set_dur, .positive = true),
	F(struct check, depends_on, set_checks),
	F(struct check, url, set_str),
	F(struct check, method, set_str),
	F(struct check, headers, set_headers),
	{ .key = "expect_status", .set = set_expect },
	F(struct check, max_latency, set_dur),
	F(struct check, body_contains, set_str),
	F(struct check, body_regex, set_regex),
	F(struct check, tls_verify, set_bool),
	F(struct check, cert_expiry, set_count),
	F(struct check, address, set_addr),
	F(struct check, send, set_str),
	{ .key = "expect", .set = set_str, .off = offsetof(struct check, expect_text) },
	F(struct check, name, set_str),
	F(struct check, pidfile, set_str),
	F(struct check, min_count, set_count),
	F(struct check, path, set_str),
	F(struct check, min_free_inodes, set_inodes),
	F(struct check, shell, set_bool),
	{ .key = "min_free", .set = set_min_free },
	F(struct check, key, set_beat_key),
	F(struct check, expect_every, set_dur, .positive = true),
	F(struct check, grace, set_dur),
	F(struct check, command, set_str),
};
static const struct map_spec check_map = SPEC("checks", check_fields);

/* The keys each check type cannot do without, by type. */
static const char *const check_needs[][2] = {
	[CHECK_HTTP] = { "url" },	[CHECK_TCP] = { "address" },
	[CHECK_PROCESS] = { NULL },	[CHECK_DISK] = { "path" },
	[CHECK_HEARTBEAT] = { "key", "expect_every" },
	[CHECK_COMMAND] = { "command" },
};

static void check_init(void *obj)
{
	struct check *ck = obj;

	ck->interval = MS_PER_MIN;
	ck->timeout = 10 * MS_PER_SEC;
	ck->tls_verify = 1;
	ck->min_count = 1;
	ck->min_free_pct = ck->min_free_bytes = -1;
	ck->min_free_inodes = -1;
	ck->kind = (enum check_kind)ARRAY_SIZE(check_needs);	/* none until read */
}

static void check_done(struct ctx *x, struct fy_node *map, void *obj, uint64_t seen)
{
	struct check *ck = obj;

	if (!ck->method)
		ck->method = xstrdup("GET");
	if (!ck->nexpect) {
		ck->expect = xcalloc(1, sizeof(*ck->expect));
		ck->expect[ck->nexpect++] = (struct status_range){ 200, 200 };
	}
	if (!ck->retry_interval)
		ck->retry_interval = ck->interval;
	if (ck->kind == CHECK_PROCESS && !ck->name && !ck->pidfile)
		problem(x, map, "a process check needs 'name' or 'pidfile'");
	if ((size_t)ck->kind >= ARRAY_SIZE(check_needs))
		return;
	for (size_t i = 0; i < 2 && check_needs[ck->kind][i]; i++)
		if (!saw(&check_map, seen, check_needs[ck->kind][i]))
			problem(x, map, "missing required key '%s' for type '%s' in 'checks'",
				check_needs[ck->kind][i], check_kind_name(ck->kind));
}

static const struct list_spec check_list = {
	.singular = "check", .owner = true, .size = sizeof(struct check), .map = &check_map,
	.init = check_init, .done = check_done,
};

/* ---- the top level ---- */

static const struct field server_fields[] = {
	F(struct config, listen, set_addr),
	F(struct config, public_url, set_str),
	F(struct config, time_zone, set_tz),
	F(struct config, rate_limit, set_count),
};
static const struct map_spec server_map = SPEC("server", server_fields);

static const struct field storage_fields[] = {
	{ .key = "sqlite", .set = set_str, .off = offsetof(struct config, sqlite_path) },
	F(struct config, postgres, set_str),
};
static const struct map_spec storage_map = SPEC("storage", storage_fields);

static const struct field smtp_fields[] = {
	{ .key = "url", .set = set_str, .off = offsetof(struct config, smtp_url),
	  .required = true },
	{ .key = "from", .set = set_str, .off = offsetof(struct config, smtp_from) },
	{ .key = "username", .set = set_str, .off = offsetof(struct config, smtp_username) },
	{ .key = "password", .set = set_str, .off = offsetof(struct config, smtp_password) },
	{ .key = "starttls", .set = set_bool, .off = offsetof(struct config, smtp_starttls) },
};
static const struct map_spec smtp_map = SPEC("smtp", smtp_fields);

static const struct field notify_fields[] = {
	F(struct config, allow_private, set_bool),
	{ .key = "timeout", .set = set_dur, .off = offsetof(struct config, notify_timeout),
	  .positive = true },
};
static const struct map_spec notify_map = SPEC("notify", notify_fields);

static const struct field sms_fields[] = {
	{ .key = "url", .set = set_str, .off = offsetof(struct config, sms_url),
	  .required = true },
	{ .key = "method", .set = set_str, .off = offsetof(struct config, sms_method) },
	{ .key = "body", .set = set_str, .off = offsetof(struct config, sms_body) },
	{ .key = "headers", .set = set_headers, .off = offsetof(struct config, sms_headers) },
};
static const struct map_spec sms_map = SPEC("sms_gateway", sms_fields);

/* Exactly one backend. */
static void set_storage(struct ctx *x, const struct field *f, struct fy_node *val,
			void *obj)
{
	struct pos saved = x->here;
	uint64_t seen = 0;

	if (!is_null(val) && !want_type(x, f, val, FYNT_MAPPING))
		seen = walk_map(x, val, &storage_map, obj);
	x->here = saved;
	if (seen != 1 && seen != 2)
		problem(x, NULL, "'storage' must name exactly one of 'sqlite' or 'postgres'");
}

static const struct field root_fields[] = {
	{ .key = "server", .set = set_section, .arg = &server_map },
	{ .key = "storage", .set = set_storage },
	{ .key = "smtp", .set = set_section, .arg = &smtp_map },
	{ .key = "notify", .set = set_section, .arg = &notify_map },
	{ .key = "sms_gateway", .set = set_section, .arg = &sms_map },
	LIST(struct config, users, user_list),
	LIST(struct config, teams, team_list),
	LIST(struct config, schedules, schedule_list),
	{ .key = "escalation_policies", .set = set_list,
	  .off = offsetof(struct config, policies), .noff = offsetof(struct config, npolicies),
	  .arg = &policy_list },
	LIST(struct config, services, service_list),
	LIST(struct config, checks, check_list),
};
static const struct map_spec root_map = SPEC("tocsin.yaml", root_fields);

/* ---- references, resolved after the whole file is read ---- */

static const void *find_by_id(const void *arr, size_t n, size_t size, const char *id);

/* Where each kind of object lives: in the config, or (contact methods) in the user
 * that owns the reference. */
#define IN(owner, arr, n, type) offsetof(owner, arr), offsetof(owner, n), sizeof(type)
static const struct ref_kind_info {
	const char *noun;
	size_t arr, n, size;
} ref_kinds[] = {
	[REF_USER] = { "user", IN(struct config, users, nusers, struct user) },
	[REF_TEAM] = { "team", IN(struct config, teams, nteams, struct team) },
	[REF_SCHEDULE] = { "schedule", IN(struct config, schedules, nschedules,
					  struct schedule) },
	[REF_POLICY] = { "escalation policy", IN(struct config, policies, npolicies,
						 struct escalation_policy) },
	[REF_SERVICE] = { "service", IN(struct config, services, nservices,
					struct service) },
	[REF_CONTACT] = { "contact method", IN(struct user, contacts, ncontacts,
					       struct contact_method) },
	[REF_CHECK] = { "check", IN(struct config, checks, nchecks, struct check) },
};

static int ref_exists(const struct config *c, const struct ref *r)
{
	const struct ref_kind_info *k = &ref_kinds[r->kind];
	const char *in = r->kind == REF_CONTACT ? r->owner : (const void *)c;

	return find_by_id(*(void *const *)(in + k->arr), *(const size_t *)(in + k->n), k->size,
			  r->id) != NULL;
}

PRINTF_LIKE(3, 4)
static void problem_pos(struct ctx *x, struct pos at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	problem_at(x, at, fmt, ap);
	va_end(ap);
}

static void resolve_refs(struct ctx *x)
{
	for (size_t i = 0; i < x->nrefs; i++) {
		const struct ref *r = &x->refs[i];
		const struct ref_kind_info *k = &ref_kinds[r->kind];
		const char *owner = r->owner ? *(char *const *)r->owner : NULL;

		if (ref_exists(x->c, r))
			continue;
		if (owner)
			problem_pos(x, r->at, "%s '%s' names unknown %s '%s'", r->owner_what,
				    owner, k->noun, r->id);
		else
			problem_pos(x, r->at, "%s names unknown %s '%s'", r->owner_what,
				    k->noun, r->id);
	}
}

/* ---- building, defaults, freeing ---- */

static struct config *config_new(const char *name)
{
	struct config *c = xcalloc(1, sizeof(*c));

	c->refs = 1;
	c->path = xstrdup(name);
	c->rate_limit = DEFAULT_RATE_LIMIT;
	return c;
}

static void set_defaults(struct config *c)
{
	if (!c->listen)
		c->listen = xstrdup(DEFAULT_LISTEN);
	if (!c->public_url)
		c->public_url = xasprintf("http://%s", c->listen);
	for (size_t n = strlen(c->public_url); n > 0 && c->public_url[n - 1] == '/'; n--)
		c->public_url[n - 1] = '\0';
	if (!c->time_zone)
		c->time_zone = xstrdup("UTC");
	if (!c->sqlite_path && !c->postgres)
		c->sqlite_path = xstrdup(DEFAULT_SQLITE);
	if (c->sms_url && !c->sms_method)
		c->sms_method = xstrdup("POST");
	if (!c->notify_timeout)
		c->notify_timeout = 10 * MS_PER_SEC;
}

static void no_output(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
}

/* Parses text; a syntax error becomes a problem and NULL.  No document at all
 * (an empty file, only comments) is NULL without a problem: all defaults. */
static struct fy_document *parse_yaml(struct ctx *x, const char *text, size_t len)
{
	struct fy_diag_cfg dcfg;
	struct fy_diag *diag;
	struct fy_diag_error *e;
	struct fy_document *doc;
	void *it = NULL;

	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;
	dcfg.output_fn = no_output;
	dcfg.colorize = false;
	diag = fy_diag_create(&dcfg);
	if (!diag)
		abort();
	fy_diag_set_collect_errors(diag, true);
	struct fy_parse_cfg cfg = {
		.flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG | FYPCF_RESOLVE_DOCUMENT, .diag = diag,
	};
	doc = fy_document_build_from_string(&cfg, text, len);
	while ((e = fy_diag_errors_iterate(diag, &it)))
		problem_pos(x, (struct pos){ e->line, e->column }, "%s", e->msg);
	fy_diag_destroy(diag);
	return doc;
}

static void walk_root(struct ctx *x, struct fy_node *root)
{
	if (!root || is_null(root))
		return;
	if (fy_node_get_type(root) != FYNT_MAPPING) {
		problem(x, root, "the top level must be a mapping");
		return;
	}
	walk_map(x, root, &root_map, x->c);
}

struct config *config_parse(const char *name, const char *text, size_t len,
			    struct strlist *errs)
{
	struct ctx x = { .name = name, .here = { 1, 1 } };
	struct fy_document *doc;

	x.c = config_new(name);
	doc = parse_yaml(&x, text, len);
	if (doc)
		walk_root(&x, fy_document_root(doc));
	if (!x.nprobs || doc) {
		set_defaults(x.c);
		resolve_refs(&x);
	}
	fy_document_destroy(doc);
	if (x.nprobs) {
		flush_problems(&x, errs);
		config_unref(x.c);
		x.c = NULL;
	}
	ctx_release(&x);
	return x.c;
}

struct config *config_load(const char *path, struct strlist *errs)
{
	char *err = NULL;
	size_t len = 0;
	char *text = read_file(path, &len, &err);
	struct config *c = NULL;

	if (!text) {
		strlist_push_take(errs, err);
		goto out;
	}
	c = config_parse(path, text, len, errs);
out:
	free(text);
	return c;
}

static void user_release(struct user *u)
{
	for (size_t i = 0; i < u->ncontacts; i++) {
		free(u->contacts[i].id);
		free(u->contacts[i].address);
		free(u->contacts[i].url);
		free(u->contacts[i].secret);
	}
	for (size_t i = 0; i < u->nrules; i++)
		free(u->rules[i].contact);
	free(u->contacts);
	free(u->rules);
	free(u->id);
	free(u->name);
	free(u->email);
	free(u->time_zone);
}

static void schedule_release(struct schedule *s)
{
	for (size_t i = 0; i < s->nlayers; i++) {
		free(s->layers[i].name);
		strlist_release(&s->layers[i].users);
		free(s->layers[i].daily);
		free(s->layers[i].weekly);
	}
	free(s->layers);
	free(s->id);
	free(s->name);
	free(s->time_zone);
}

static void policy_release(struct escalation_policy *p)
{
	for (size_t i = 0; i < p->nlevels; i++) {
		for (size_t j = 0; j < p->levels[i].ntargets; j++)
			free(p->levels[i].targets[j].id);
		free(p->levels[i].targets);
	}
	free(p->levels);
	free(p->id);
	free(p->name);
}

static void service_release(struct service *s)
{
	free(s->id);
	free(s->name);
	free(s->team);
	free(s->escalation_policy);
	strlist_release(&s->integration_keys);
}

static void check_release(struct check *ck)
{
	char *strings[] = { ck->id, ck->service, ck->url, ck->method, ck->body_contains,
			    ck->body_regex, ck->address, ck->send, ck->expect_text, ck->name,
			    ck->pidfile, ck->path, ck->key, ck->command };

	for (size_t i = 0; i < ARRAY_SIZE(strings); i++)
		free(strings[i]);
	strlist_release(&ck->headers);
	strlist_release(&ck->depends_on);
	free(ck->expect);
}

static void config_free(struct config *c)
{
	char *strings[] = { c->path, c->listen, c->public_url, c->time_zone, c->sqlite_path,
			    c->postgres, c->smtp_url, c->smtp_from, c->smtp_username,
			    c->smtp_password, c->sms_url, c->sms_method, c->sms_body };

	strlist_release(&c->sms_headers);
	for (size_t i = 0; i < c->nusers; i++)
		user_release(&c->users[i]);
	for (size_t i = 0; i < c->nteams; i++) {
		free(c->teams[i].id);
		free(c->teams[i].name);
		strlist_release(&c->teams[i].members);
	}
	for (size_t i = 0; i < c->nschedules; i++)
		schedule_release(&c->schedules[i]);
	for (size_t i = 0; i < c->npolicies; i++)
		policy_release(&c->policies[i]);
	for (size_t i = 0; i < c->nservices; i++)
		service_release(&c->services[i]);
	for (size_t i = 0; i < c->nchecks; i++)
		check_release(&c->checks[i]);
	for (size_t i = 0; i < ARRAY_SIZE(strings); i++)
		free(strings[i]);
	free(c->users);
	free(c->teams);
	free(c->schedules);
	free(c->policies);
	free(c->services);
	free(c->checks);
	free(c);
}

struct config *config_ref(struct config *c)
{
	if (c)
		__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
	return c;
}

void config_unref(struct config *c)
{
	if (c && __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0)
		config_free(c);
}

/* ---- lookups ---- */

/* Linear scan over an array of structs whose first member is `char *id`. */
static const void *find_by_id(const void *arr, size_t n, size_t size, const char *id)
{
	for (size_t i = 0; id && i < n; i++) {
		const void *obj = (const char *)arr + i * size;
		const char *oid = *(char *const *)obj;
		if (oid && !strcmp(oid, id))
			return obj;
	}
	return NULL;
}

const struct service *config_service(const struct config *c, const char *id)
{
	return find_by_id(c->services, c->nservices, sizeof(*c->services), id);
}

const struct service *config_service_by_key(const struct config *c, const char *key)
{
	for (size_t i = 0; key && i < c->nservices; i++)
		if (strlist_has(&c->services[i].integration_keys, key))
			return &c->services[i];
	return NULL;
}

const struct user *config_user(const struct config *c, const char *id)
{
	return find_by_id(c->users, c->nusers, sizeof(*c->users), id);
}

const struct team *config_team(const struct config *c, const char *id)
{
	return find_by_id(c->teams, c->nteams, sizeof(*c->teams), id);
}

const struct schedule *config_schedule(const struct config *c, const char *id)
{
	return find_by_id(c->schedules, c->nschedules, sizeof(*c->schedules), id);
}

const struct escalation_policy *config_policy(const struct config *c, const char *id)
{
	return find_by_id(c->policies, c->npolicies, sizeof(*c->policies), id);
}

const struct check *config_check(const struct config *c, const char *id)
{
	return find_by_id(c->checks, c->nchecks, sizeof(*c->checks), id);
}

const char *role_name(enum role r)
{
	return enum_name(role_names, ARRAY_SIZE(role_names), (int)r);
}

const char *contact_type_name(enum contact_type t)
{
	return enum_name(contact_names, ARRAY_SIZE(contact_names), (int)t);
}

const char *check_kind_name(enum check_kind k)
{
	return enum_name(check_names, ARRAY_SIZE(check_names), (int)k);
}
