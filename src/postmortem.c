/*
 * postmortem.c - the postmortem lint.  See postmortem.h; the rules are DESIGN.md
 * section 6, the practice behind them shared/POSTMORTEM.md.
 *
 * Shape: the document is parsed once; sections are the level-2 headings and the
 * blocks up to the next one.  Rules are functions over a section (or the whole
 * document) that add findings; lexical checks (a time, a zone, a word) run over the
 * text of one block at a time, never over the raw Markdown, so code, links and
 * markup cannot fool them and every finding has the line of its block.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmark-gfm.h>
#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm-extension_api.h>

#include "postmortem.h"
#include "timeutil.h"
#include "util.h"
#include "banned.h"

static const char *const order[] = { "Issue Summary", "Timeline", "Root Cause",
				     "Resolution and Recovery",
				     "Corrective and Preventative Measures" };
#define COMBINED "Root Cause and Resolution"

struct section {
	char *name;
	int line;
	cmark_node *first, *end;	/* the blocks after its heading: [first, end) */
};

struct lint {
	struct pm_finding *v;
	size_t n;
	struct section *sec;
	size_t nsec;
	size_t words;
	size_t gaps;
};

#define GAP_MARK "fill in:"

/* True when a section still holds a gap a draft left for people: the gap is its
 * finding, and the rules about what the section should say wait until it is filled. */
static int section_has_gap(const struct section *s)
{
	for (cmark_node *n = s->first; n && n != s->end; n = cmark_node_next(n)) {
		cmark_iter *it = cmark_iter_new(n);
		int found = 0;
		while (!found && cmark_iter_next(it) != CMARK_EVENT_DONE) {
			cmark_node *x = cmark_iter_get_node(it);
			cmark_node_type t = cmark_node_get_type(x);
			found = (t == CMARK_NODE_HTML_BLOCK || t == CMARK_NODE_HTML_INLINE) &&
				strstr(cmark_node_get_literal(x), GAP_MARK);
		}
		cmark_iter_free(it);
		if (found)
			return 1;
	}
	return 0;
}

static void add(struct lint *l, int line, int error, const char *fmt, ...) PRINTF_LIKE(4, 5);
static void add(struct lint *l, int line, int error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = (struct pm_finding){ line, error, xvasprintf(fmt, ap) };
	va_end(ap);
}

/* --- text of the tree ----------------------------------------------------------- */

static void text_into(struct buf *b, cmark_node *n)
{
	cmark_node_type t = cmark_node_get_type(n);
	if (t == CMARK_NODE_TEXT || t == CMARK_NODE_CODE)
		buf_adds(b, cmark_node_get_literal(n));
	else if (t == CMARK_NODE_SOFTBREAK || t == CMARK_NODE_LINEBREAK)
		buf_addc(b, ' ');
	for (cmark_node *c = cmark_node_first_child(n); c; c = cmark_node_next(c))
		text_into(b, c);
	if (t == CMARK_NODE_PARAGRAPH || t == CMARK_NODE_HEADING || t == CMARK_NODE_ITEM)
		buf_addc(b, '\n');
}

static char *text_of(cmark_node *n)
{
	struct buf b = BUF_INIT;
	text_into(&b, n);
	return buf_detach(&b, NULL);
}

/* The text of a section's blocks. */
static char *section_text(const struct section *s)
{
	struct buf b = BUF_INIT;
	for (cmark_node *n = s->first; n && n != s->end; n = cmark_node_next(n))
		text_into(&b, n);
	return buf_detach(&b, NULL);
}

static size_t count_words(const char *s)
{
	size_t n = 0;
	for (int in = 0; *s; s++) {
		int w = !isspace((unsigned char)*s);
		n += w && !in;
		in = w;
	}
	return n;
}

static int has_word(const char *text, const char *const *words, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcasestr(text, words[i]))
			return 1;
	return 0;
}

/* --- times and zones ---------------------------------------------------------------- */

/* "HH:MM" (":SS" optional) at s: the length, or 0. */
static size_t clock_at(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	if (!isdigit(p[0]) || !isdigit(p[1]) || p[2] != ':' || !isdigit(p[3]) || !isdigit(p[4]))
		return 0;
	size_t n = 5;
	if (p[5] == ':' && isdigit(p[6]) && isdigit(p[7]))
		n = 8;
	return isdigit(p[n]) ? 0 : n;
}

/* A zone token at s ("UTC", "CET", "Z", "+01:00", "Europe/Paris"): its length, or 0. */
static size_t zone_at(const char *s)
{
	size_t n = 0;
	if ((*s == '+' || *s == '-') && clock_at(s + 1) == 5)
		return 6;
	while (isupper((unsigned char)s[n]))
		n++;
	if (n == 1 && s[0] == 'Z')
		return 1;
	if (n >= 2 && n <= 5 && !isalpha((unsigned char)s[n]))
		return n;
	n = 0;
	while (isalpha((unsigned char)s[n]) || s[n] == '_')
		n++;
	if (n && s[n] == '/' && isupper((unsigned char)s[0]) && isalpha((unsigned char)s[n + 1]))
		return n + 1 + strcspn(s + n + 1, " \t\n,;)");
	return 0;
}

/* How many clock times the text has, and whether a zone follows any of them or is
 * named anywhere in it. */
static void times_in(const char *text, size_t *times, int *zone)
{
	*times = 0;
	*zone = 0;
	for (const char *p = text; *p; p++) {
		size_t c = (p == text || !isdigit((unsigned char)p[-1])) ? clock_at(p) : 0;
		if (c) {
			(*times)++;
			const char *q = p + c;
			q += *q == ' ';
			*zone |= zone_at(q) > 0;
			p += c - 1;
		} else if ((p == text || !isalnum((unsigned char)p[-1])) && zone_at(p) >= 3) {
			static const char *const zones[] = { "UTC", "GMT", "CET", "CEST", "EST",
							     "EDT", "PST", "PDT", "IST", "AEST",
							     "AEDT", "BST", "JST" };
			for (size_t i = 0; i < ARRAY_SIZE(zones); i++)
				*zone |= !strncmp(p, zones[i], strlen(zones[i])) &&
					 zone_at(p) == strlen(zones[i]);
			*zone |= strchr(p, '/') && zone_at(p) > 3 && memchr(p, '/', zone_at(p));
		}
	}
}

/* An item "[DATE ]TIME[ ZONE] - text": 1 when it is one. */
static int timeline_item(const char *s)
{
	struct walltime day;
	if (date_at(s, &day) && (s[10] == ' ' || s[10] == 'T'))
		s += 11;
	size_t c = clock_at(s);
	if (!c)
		return 0;
	s += c;
	s += *s == ' ' && zone_at(s + 1) ? 1 + zone_at(s + 1) : 0;
	return !strncmp(s, " - ", 3) || !strncmp(s, " \xe2\x80\x93 ", 5) ||
	       !strncmp(s, " \xe2\x80\x94 ", 5);
}

/* --- the rules ------------------------------------------------------------------------ */

static const struct section *find(const struct lint *l, const char *name)
{
	for (size_t i = 0; i < l->nsec; i++)
		if (!strcasecmp(l->sec[i].name, name))
			return &l->sec[i];
	return NULL;
}

static int last_line(cmark_node *doc)
{
	int line = 1;
	for (cmark_node *n = cmark_node_first_child(doc); n; n = cmark_node_next(n))
		line = cmark_node_get_end_line(n) > line ? cmark_node_get_end_line(n) : line;
	return line;
}

static void rule_sections(struct lint *l, cmark_node *doc)
{
	int combined = find(l, COMBINED) != NULL;
	int at = 0, prev = 0;
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		const char *name = combined && (i == 2 || i == 3) ? COMBINED : order[i];
		if (combined && i == 3)
			continue;
		const struct section *s = find(l, name);
		if (!s) {
			add(l, at ? at : last_line(doc), 1, "missing section '## %s' (the sections are "
				"Issue Summary, Timeline, Root Cause, Resolution and Recovery, "
				"Corrective and Preventative Measures)", name);
			continue;
		}
		if (s->line < prev)
			add(l, s->line, 1, "section '%s' is out of order: it comes after the ones "
				"before it in the template", name);
		prev = at = s->line;
	}
}

static void rule_summary(struct lint *l)
{
	static const char *const impact[] = { "impact", "user", "customer", "affected", "%",
					      "down", "slow", "unavailable", "error" };
	static const char *const cause[] = { "root cause", "caused by", "because", "due to",
					     "triggered by" };
	const struct section *s = find(l, "Issue Summary");
	if (!s)
		return;
	char *text = section_text(s);
	size_t times;
	int zone;
	times_in(text, &times, &zone);
	if (times < 2 || !zone)
		add(l, s->line, 1, "Issue Summary: give the duration with its start and end times "
			"and their time zone, e.g. '09:14-10:02 UTC (48 minutes)'");
	if (section_has_gap(s)) {
		free(text);
		return;
	}
	if (!has_word(text, impact, ARRAY_SIZE(impact)))
		add(l, s->line, 1, "Issue Summary: state the impact: what was down or slow, what "
			"users saw, and what share of them");
	if (!has_word(text, cause, ARRAY_SIZE(cause)))
		add(l, s->line, 1, "Issue Summary: name the root cause in a sentence");
	free(text);
}

static cmark_node *first_list(const struct section *s)
{
	for (cmark_node *n = s->first; n && n != s->end; n = cmark_node_next(n))
		if (cmark_node_get_type(n) == CMARK_NODE_LIST)
			return n;
	return NULL;
}

static size_t sentences(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += (*s == '.' || *s == '!' || *s == '?') && (!s[1] || isspace((unsigned char)s[1]));
	return n;
}

static void timeline_items(struct lint *l, cmark_node *list)
{
	for (cmark_node *it = cmark_node_first_child(list); it; it = cmark_node_next(it)) {
		char *text = text_of(it);
		if (!timeline_item(text))
			add(l, cmark_node_get_start_line(it), 1, "Timeline: write each item as "
				"'TIME - what happened', e.g. '09:14 - The site-http check failed'");
		else if (sentences(text) > 2)
			add(l, cmark_node_get_start_line(it), 0, "Timeline: keep an item to one or "
				"two sentences; say more in Root Cause");
		free(text);
	}
}

static void rule_timeline(struct lint *l)
{
	static const char *const detection[] = { "detect", "alert", "check", "noticed", "report",
						 "triggered" };
	static const char *const escalation[] = { "escalat", "paged", "page" };
	static const char *const resolution[] = { "resolv", "recover", "fixed", "restored" };
	const struct section *s = find(l, "Timeline");
	if (!s)
		return;
	cmark_node *list = first_list(s);
	if (!list) {
		add(l, s->line, 1, "Timeline: make it a bullet list of 'TIME - what happened' items");
		return;
	}
	timeline_items(l, list);
	char *text = section_text(s);
	size_t times;
	int zone;
	times_in(text, &times, &zone);
	if (!zone)
		add(l, s->line, 1, "Timeline: state the time zone once, e.g. 'All times are UTC.'");
	const char *const *kinds[] = { detection, escalation, resolution };
	size_t nkinds[] = { ARRAY_SIZE(detection), ARRAY_SIZE(escalation), ARRAY_SIZE(resolution) };
	const char *what[] = { "how the problem was detected", "who was paged or escalated to",
			       "the resolution" };
	for (size_t i = 0; i < 3; i++)
		if (!has_word(text, kinds[i], nkinds[i]))
			add(l, s->line, 0, "Timeline: no item tells %s", what[i]);
	free(text);
}

static void rule_detail(struct lint *l, const char *name, size_t min_words)
{
	const struct section *s = find(l, name);
	if (!s || section_has_gap(s))
		return;
	char *text = section_text(s);
	if (count_words(text) < min_words)
		add(l, s->line, 0, "%s: explain it in detail (%zu words; at least %zu)", name,
		    count_words(text), min_words);
	free(text);
}

/* "- [ ] text (@owner, due YYYY-MM-DD)" */
static void action_item(struct lint *l, cmark_node *it)
{
	char *text = text_of(it);
	const char *due = strstr(text, "due ");
	struct walltime day;
	int dated = due && date_at(due + 4, &day);
	if (!strchr(text, '@') || !dated)
		add(l, cmark_node_get_start_line(it), 1, "action item needs an owner and a due "
			"date: '- [ ] what to do (@owner, due 2026-12-15)'");
	free(text);
}

static void rule_actions(struct lint *l)
{
	const struct section *s = find(l, "Corrective and Preventative Measures");
	size_t tasks = 0;
	if (!s)
		return;
	for (cmark_node *n = s->first; n && n != s->end; n = cmark_node_next(n)) {
		if (cmark_node_get_type(n) != CMARK_NODE_LIST)
			continue;
		for (cmark_node *it = cmark_node_first_child(n); it; it = cmark_node_next(it))
			if (!strcmp(cmark_node_get_type_string(it), "tasklist")) {
				tasks++;
				action_item(l, it);
			}
	}
	if (!tasks && !section_has_gap(s))
		add(l, s->line, 1, "Corrective and Preventative Measures: list the specific action "
			"items as a task list: '- [ ] patch nginx on web-01 (@bob, due 2026-12-01)'");
}

/* Blameless wording, and the gaps a draft leaves, block by block. */
static void rule_blocks(struct lint *l, cmark_node *doc)
{
	static const char *const blame[] = { "human error", "'s fault", "should have",
					     "blame", "negligen", "careless" };
	cmark_iter *it = cmark_iter_new(doc);
	cmark_event_type ev;
	while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
		cmark_node *n = cmark_iter_get_node(it);
		cmark_node_type t = cmark_node_get_type(n);
		if (ev != CMARK_EVENT_ENTER)
			continue;
		if ((t == CMARK_NODE_HTML_BLOCK || t == CMARK_NODE_HTML_INLINE) &&
		    strstr(cmark_node_get_literal(n), GAP_MARK)) {
			const char *what = strstr(cmark_node_get_literal(n), GAP_MARK) + 8;
			const char *end = strstr(what, "-->");
			l->gaps++;
			int len = end ? (int)(end - what) : (int)strcspn(what, "\n");
			while (len > 0 && what[len - 1] == ' ')
				len--;
			add(l, cmark_node_get_start_line(n) ? cmark_node_get_start_line(n)
							    : cmark_node_get_start_line(cmark_node_parent(n)),
			    1, "unfilled gap:%.*s: write it, then remove the comment", len, what);
		}
		if (t == CMARK_NODE_PARAGRAPH) {
			char *text = text_of(n);
			l->words += count_words(text);
			for (size_t i = 0; i < ARRAY_SIZE(blame); i++)
				if (strcasestr(text, blame[i]))
					add(l, cmark_node_get_start_line(n), 0, "blameless wording: "
						"'%s' points at a person; describe what the system and "
						"process allowed instead", blame[i]);
			free(text);
		}
	}
	cmark_iter_free(it);
}

/* --- the document ------------------------------------------------------------------------- */

static void read_sections(struct lint *l, cmark_node *doc)
{
	for (cmark_node *n = cmark_node_first_child(doc); n; n = cmark_node_next(n)) {
		if (cmark_node_get_type(n) != CMARK_NODE_HEADING || cmark_node_get_heading_level(n) != 2)
			continue;
		if (l->nsec)
			l->sec[l->nsec - 1].end = n;
		char *name = text_of(n);
		name[strcspn(name, "\n")] = '\0';
		l->sec = xrealloc(l->sec, (l->nsec + 1) * sizeof(*l->sec));
		l->sec[l->nsec++] = (struct section){ name, cmark_node_get_start_line(n),
						      cmark_node_next(n), NULL };
	}
}

static void sections_release(struct lint *l)
{
	for (size_t i = 0; i < l->nsec; i++)
		free(l->sec[i].name);
	free(l->sec);
	l->sec = NULL;
	l->nsec = 0;
}

/* In line order; findings on one line keep the order the rules made them. */
static void sort_by_line(struct pm_finding *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && v[j - 1].line > v[j].line; j--) {
			struct pm_finding t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
}

/* The tree of md, parsed with the task-list extension; *parser is the caller's to
 * free after the tree. */
static cmark_node *parse(const char *md, size_t len, cmark_parser **parser)
{
	cmark_gfm_core_extensions_ensure_registered();
	cmark_parser *p = cmark_parser_new(CMARK_OPT_DEFAULT);
	cmark_syntax_extension *tasks = cmark_find_syntax_extension("tasklist");
	if (tasks)
		cmark_parser_attach_syntax_extension(p, tasks);
	cmark_parser_feed(p, md, len);
	*parser = p;
	return cmark_parser_finish(p);
}

size_t postmortem_lint(const char *md, size_t len, struct pm_finding **out)
{
	struct lint l = { 0 };
	cmark_parser *p;
	cmark_node *doc = parse(md, len, &p);
	read_sections(&l, doc);
	rule_sections(&l, doc);
	rule_summary(&l);
	rule_timeline(&l);
	rule_detail(&l, "Root Cause", 30);
	rule_detail(&l, "Resolution and Recovery", 20);
	rule_detail(&l, COMBINED, 50);
	rule_actions(&l);
	rule_blocks(&l, doc);
	if (!l.gaps && (l.words < PM_WORDS_MIN || l.words > PM_WORDS_MAX))
		add(&l, 1, 0, "length: %zu words; a postmortem reads best at %d to %d", l.words,
		    PM_WORDS_MIN, PM_WORDS_MAX);
	sections_release(&l);
	cmark_node_free(doc);
	cmark_parser_free(p);
	sort_by_line(l.v, l.n);
	*out = l.v;
	return l.n;
}

/* --- action items ---------------------------------------------------------------------- */

/* The first link's URL under n, or NULL. */
static const char *first_url(cmark_node *n)
{
	if (cmark_node_get_type(n) == CMARK_NODE_LINK)
		return cmark_node_get_url(n);
	for (cmark_node *c = cmark_node_first_child(n); c; c = cmark_node_next(c)) {
		const char *u = first_url(c);
		if (u)
			return u;
	}
	return NULL;
}

/* "@bob" -> "bob"; "due 2026-12-01" -> "2026-12-01". */
static void read_action(struct pm_action *a, cmark_node *it)
{
	const char *at = a->text, *due;
	while ((at = strchr(at, '@')) && at > a->text && isalnum((unsigned char)at[-1]))
		at++;	/* an e-mail address, not an owner */
	if (at) {
		size_t n = 0;
		while (isalnum((unsigned char)at[1 + n]) || strchr("._-", at[1 + n]))
			n++;
		while (n && strchr("._-", at[n]))
			n--;	/* "@bob." ends a sentence */
		a->owner = n ? xstrndup(at + 1, n) : NULL;
	}
	struct walltime day;
	if ((due = strstr(a->text, "due ")) && date_at(due + 4, &day))
		a->due = xstrndup(due + 4, 10);
	const char *url = NULL;	/* the item's own text, not a sub-list's */
	for (cmark_node *c = cmark_node_first_child(it); c && !url; c = cmark_node_next(c))
		if (cmark_node_get_type(c) != CMARK_NODE_LIST)
			url = first_url(c);
	a->ticket = url && *url ? xstrdup(url) : NULL;
}

size_t postmortem_actions(const char *md, size_t len, struct pm_action **out)
{
	struct lint l = { 0 };
	cmark_parser *p;
	cmark_node *doc = parse(md, len, &p);
	struct pm_action *v = NULL;
	size_t n = 0;
	read_sections(&l, doc);
	const struct section *s = find(&l, "Corrective and Preventative Measures");
	for (cmark_node *b = s ? s->first : NULL; b && b != s->end; b = cmark_node_next(b)) {
		if (cmark_node_get_type(b) != CMARK_NODE_LIST)
			continue;
		for (cmark_node *it = cmark_node_first_child(b); it; it = cmark_node_next(it)) {
			if (strcmp(cmark_node_get_type_string(it), "tasklist"))
				continue;
			v = xrealloc(v, (n + 1) * sizeof(*v));
			struct pm_action *a = &v[n++];
			memset(a, 0, sizeof(*a));
			a->line = cmark_node_get_start_line(it);
			a->checked = cmark_gfm_extensions_get_tasklist_item_checked(it);
			a->text = text_of(it);
			a->text[strcspn(a->text, "\n")] = '\0';
			read_action(a, it);
		}
	}
	sections_release(&l);
	cmark_node_free(doc);
	cmark_parser_free(p);
	*out = v;
	return n;
}

void pm_actions_free(struct pm_action *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].text);
		free(v[i].owner);
		free(v[i].due);
		free(v[i].ticket);
	}
	free(v);
}

char *postmortem_check_box(const char *md, int line, int checked)
{
	const char *p = md;
	for (int l = 1; l < line && p; l++)
		if ((p = strchr(p, '\n')))
			p++;
	if (!p)
		return NULL;
	const char *eol = p + strcspn(p, "\n"), *box = p + strspn(p, " \t");
	size_t digits = strspn(box, "0123456789");
	if (digits && digits <= 9 && (box[digits] == '.' || box[digits] == ')'))
		box += digits;	/* "1. [ ]" or "1) [ ]" */
	else if (!*box || !strchr("-*+", *box))
		return NULL;
	if (box + 2 >= eol || !strchr(" \t", box[1]))
		return NULL;
	box += 1 + strspn(box + 1, " \t");
	if (box + 3 > eol || box[0] != '[' || box[2] != ']' || !strchr(" xX", box[1]))
		return NULL;
	char *out = xstrdup(md);
	out[box + 1 - md] = checked ? 'x' : ' ';
	return out;
}

/* --- the rendered page ---------------------------------------------------------------- */

struct milestone {
	int64_t minute;		/* minutes since the first day of the timeline */
	const char *kind;	/* NULL: an event without a milestone */
	char *text;
};

/* Which milestone a timeline item is, by its words; NULL for none. */
static const char *milestone_kind(const char *text)
{
	static const struct {
		const char *kind, *words[5];
	} kinds[] = {
		{ "resolution", { "resolv", "recovered", "restored" } },
		{ "mitigation", { "rolled back", "roll back", "mitigat", "failover" } },
		{ "escalation", { "escalat" } },
		{ "ack", { "acknowledg" } },
		{ "page", { "paged", "page " } },
		{ "detection", { "detect", "alert", "check failed", "opened incident", "triggered" } },
	};
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		for (size_t w = 0; w < 5 && kinds[i].words[w]; w++)
			if (strcasestr(text, kinds[i].words[w]))
				return kinds[i].kind;
	return NULL;
}

/* The minute of "[YYYY-MM-DD ]HH:MM" at s, days counted from the first date seen. */
static int64_t item_minute(const char *s, int64_t *day0)
{
	int64_t day = 0;
	struct walltime wt;
	if (date_at(s, &wt)) {
		day = walltime_to_naive(&wt) / 86400;
		if (!*day0)
			*day0 = day;
		day -= *day0;
		s += 11;
	}
	return day * 1440 + atoi(s) * 60 + atoi(s + 3);
}

static size_t read_milestones(cmark_node *doc, struct milestone **out)
{
	struct lint l = { 0 };
	struct milestone *m = NULL;
	size_t n = 0;
	int64_t day0 = 0;
	read_sections(&l, doc);
	const struct section *s = find(&l, "Timeline");
	cmark_node *list = s ? first_list(s) : NULL;
	for (cmark_node *it = list ? cmark_node_first_child(list) : NULL; it; it = cmark_node_next(it)) {
		char *text = text_of(it);
		text[strcspn(text, "\n")] = '\0';
		if (!timeline_item(text)) {
			free(text);
			continue;
		}
		m = xrealloc(m, (n + 1) * sizeof(*m));
		m[n++] = (struct milestone){ item_minute(text, &day0), milestone_kind(text), text };
	}
	sections_release(&l);
	*out = m;
	return n;
}

#define SVG_W 880
#define SVG_PAD 40
#define AXIS_Y 90

/* The timeline diagram: a mark per milestone, the span from the first detection (or
 * the first event) to the resolution (or the last) shaded. */
static void svg_timeline(struct buf *b, const struct milestone *m, size_t n)
{
	if (!n)
		return;
	int64_t t0 = m[0].minute, t1 = m[n - 1].minute, from = t0, to = t1;
	for (size_t i = 0; i < n; i++) {
		if (m[i].kind && !strcmp(m[i].kind, "detection") && from == t0 && i)
			from = m[i].minute;
		if (m[i].kind && !strcmp(m[i].kind, "resolution"))
			to = m[i].minute;
	}
	double span = t1 > t0 ? (double)(t1 - t0) : 1, w = SVG_W - 2 * SVG_PAD;
#define X(t) (SVG_PAD + w * (double)((t) - t0) / span)
	buf_addf(b, "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d 180\" "
		    "role=\"img\" aria-label=\"Timeline of the incident\">\n", SVG_W);
	buf_addf(b, "<rect class=\"outage\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"24\"/>\n",
		 X(from), AXIS_Y - 12, X(to) - X(from));
	buf_addf(b, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", SVG_PAD,
		 AXIS_Y, SVG_W - SVG_PAD, AXIS_Y);
	for (size_t i = 0, k = 0; i < n; i++) {
		double x = X(m[i].minute);
		char hhmm[8];
		snprintf(hhmm, sizeof(hhmm), "%02d:%02d", (int)(m[i].minute % 1440 / 60),
			 (int)(m[i].minute % 60));
		if (!m[i].kind) {
			buf_addf(b, "<line class=\"tick\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>\n",
				 x, AXIS_Y - 5, x, AXIS_Y + 5);
			continue;
		}
		int up = k++ % 2 == 0, ty = up ? AXIS_Y - 24 : AXIS_Y + 34;
		buf_addf(b, "<g class=\"mark %s\"><circle cx=\"%.1f\" cy=\"%d\" r=\"6\"><title>",
			 m[i].kind, x, AXIS_Y);
		buf_add_html(b, m[i].text);
		buf_addf(b, "</title></circle><text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s %s</text></g>\n",
			 x, ty, hhmm, m[i].kind);
	}
#undef X
	buf_adds(b, "</svg>\n");
}

static const char page_css[] =
	"body{font-family:Georgia,serif;max-width:46em;margin:2em auto;padding:0 1em;"
	"line-height:1.5;color:#222}h1,h2{font-family:Helvetica,Arial,sans-serif}"
	"h2{border-bottom:1px solid #ddd;padding-bottom:.2em}"
	"svg.timeline{width:100%;height:auto;margin:1em 0}"
	".outage{fill:#f4c7c3}.axis{stroke:#555;stroke-width:2}.tick{stroke:#999}"
	".mark circle{stroke:#fff;stroke-width:2}.mark text{font:11px sans-serif;fill:#333}"
	".detection circle{fill:#b3261e}.page circle{fill:#e8710a}.ack circle{fill:#1a73e8}"
	".escalation circle{fill:#a142f4}.mitigation circle{fill:#12b5cb}"
	".resolution circle{fill:#188038}"
	"@media print{body{margin:0;max-width:none}svg.timeline{page-break-inside:avoid}}";

char *postmortem_render(const char *md, size_t len, size_t *outlen)
{
	cmark_parser *p;
	cmark_node *doc = parse(md, len, &p);
	struct milestone *m = NULL;
	size_t n = read_milestones(doc, &m);
	char *title = NULL;
	for (cmark_node *h = cmark_node_first_child(doc); h && !title; h = cmark_node_next(h))
		if (cmark_node_get_type(h) == CMARK_NODE_HEADING && cmark_node_get_heading_level(h) == 1)
			title = text_of(h);
	struct buf b = BUF_INIT;
	buf_adds(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		     "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
		     "style-src 'unsafe-inline'; img-src data:\">\n<title>");
	if (title)
		title[strcspn(title, "\n")] = '\0';
	buf_add_html(&b, title ? title : "Postmortem");
	buf_addf(&b, "</title>\n<style>%s</style></head>\n<body>\n", page_css);
	char *html = cmark_render_html(doc, CMARK_OPT_DEFAULT, cmark_parser_get_syntax_extensions(p));
	char *after_h1 = strstr(html, "</h1>");	/* the diagram goes under the title */
	size_t head = after_h1 ? (size_t)(after_h1 - html) + 5 : 0;
	buf_add(&b, html, head);
	buf_addc(&b, '\n');
	svg_timeline(&b, m, n);
	buf_adds(&b, html + head);
	buf_adds(&b, "</body></html>\n");
	free(html);
	free(title);
	for (size_t i = 0; i < n; i++)
		free(m[i].text);
	free(m);
	cmark_node_free(doc);
	cmark_parser_free(p);
	return buf_detach(&b, outlen);
}

void pm_findings_free(struct pm_finding *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(f[i].message);
	free(f);
}
