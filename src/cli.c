/*
 * cli.c - the `tocsin` command line: one table of sub-commands, one option parser.
 *
 * commands[] below is the whole CLI.  Each row names the command (sub-commands are
 * written with their space, "config check"), its handler, its options, how many
 * positional arguments it takes, its usage line and its one-line help.  The same
 * row drives dispatch, option parsing, usage errors and `tocsin help`, so adding a
 * command is adding a row and a handler; nothing else needs to know.
 *
 * Options are parsed by parse_args() from the row's option table: `--name VALUE`,
 * `--name=VALUE`, `-x VALUE`, `-xVALUE`, flags without a value, `--` to end them,
 * and `--help` on any command.  Handlers read them with cli_opt() by long name.
 *
 * Client commands go through cli_call(): one request to the daemon (client.h),
 * a non-2xx answer printed as "tocsin: message: error; error" (exit 1), a 2xx
 * answer parsed as a JSON object.  Tables for people are built from column tables
 * (struct column) over the JSON the API returns, so what a table shows is data,
 * and times are printed in the zone the server names in X-Tocsin-Time-Zone.
 */
#include <assert.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <jansson.h>

#include "auth.h"
#include "cli.h"
#include "client.h"
#include "cli_core.h"
#include "config.h"
#include "server.h"
#include "timeutil.h"
#include "util.h"
#include "banned.h"

#ifndef TOCSIN_VERSION
#define TOCSIN_VERSION "0.1.0"
#endif

#define DEFAULT_CONFIG "tocsin.yaml"
#define SYSTEM_CONFIG "/etc/tocsin/tocsin.yaml"

/* ------------------------------------------------------------------ the tables */

/* What `tocsin ack|resolve` post, and what they print on success. */
struct incident_action {
	const char *verb;
	const char *done;
	int handover;		/* the answer says whom the incident is with now */
};

static const struct incident_action action_ack = { "ack", "acknowledged", 0 };
static const struct incident_action action_resolve = { "resolve", "resolved", 0 };
static const struct incident_action action_escalate = { "escalate", "escalated", 1 };

static const struct cli_option config_opts[] = {
	{ .name = "config", .letter = 'c' },
	{ .name = NULL },
};

static const struct cli_option trigger_opts[] = {
	{ .name = "routing-key", .letter = 'k', .required = 1 },
	{ .name = "summary", .letter = 's', .required = 1 },
	{ .name = "dedup-key" },
	{ .name = "severity" },
	{ .name = "source" },
	{ .name = NULL },
};

static const struct cli_option incidents_opts[] = {
	{ .name = "status" },
	{ .name = "service" },
	{ .name = "limit" },
	{ .name = "json", .flag = 1 },
	{ .name = NULL },
};

static const struct cli_option json_opts[] = {
	{ .name = "json", .flag = 1 },
	{ .name = NULL },
};

static const struct cli_option maintenance_opts[] = {
	{ .name = "for", .required = 1 },
	{ .name = NULL },
};

static const struct cli_option oncall_opts[] = {
	{ .name = "schedule" },
	{ .name = "policy" },
	{ .name = "at" },
	{ .name = "json", .flag = 1 },
	{ .name = NULL },
};

static const struct cli_option shifts_opts[] = {
	{ .name = "from", .required = 1 },
	{ .name = "to", .required = 1 },
	{ .name = "json", .flag = 1 },
	{ .name = NULL },
};

static const struct cli_option render_opts[] = {
	{ .name = "output", .letter = 'o' },
	{ .name = NULL },
};

static const struct cli_option pm_new_opts[] = {
	{ .name = "start-change" },
	{ .name = "json", .flag = 1 },
	{ .name = NULL },
};

static const struct cli_option pm_list_opts[] = {
	{ .name = "status" },
	{ .name = "owner" },
	{ .name = "incident" },
	{ .name = "json", .flag = 1 },
	{ .name = NULL },
};

static const struct cli_option pm_show_opts[] = {
	{ .name = "json", .flag = 1 },
	{ .name = "markdown", .flag = 1 },
	{ .name = NULL },
};

static const struct cli_option actions_opts[] = {
	{ .name = "overdue", .flag = 1 },
	{ .name = "owner" },
	{ .name = "status" },
	{ .name = "json", .flag = 1 },
	{ .name = NULL },
};

static const struct cli_option action_mark_opts[] = {
	{ .name = "ticket" },
	{ .name = NULL },
};

static const struct cli_option stats_opts[] = {
	{ .name = "service" },
	{ .name = "team" },
	{ .name = "responder" },
	{ .name = "since" },
	{ .name = "json", .flag = 1 },
	{ .name = NULL },
};

static const struct cli_option override_opts[] = {
	{ .name = "from", .required = 1 },
	{ .name = "to", .required = 1 },
	{ .name = NULL },
};

static int cmd_serve(const struct cli_args *a);
static int cmd_config_check(const struct cli_args *a);
static int cmd_token_create(const struct cli_args *a);
static int cmd_trigger(const struct cli_args *a);
static int cmd_incident_action(const struct cli_args *a);
static int cmd_note(const struct cli_args *a);
static int cmd_reassign(const struct cli_args *a);
static int cmd_severity(const struct cli_args *a);
static int cmd_incidents(const struct cli_args *a);
static int cmd_show(const struct cli_args *a);
static int cmd_maintenance(const struct cli_args *a);
static int cmd_oncall(const struct cli_args *a);
static int cmd_shifts(const struct cli_args *a);
static int cmd_override(const struct cli_args *a);
static int cmd_override_remove(const struct cli_args *a);
static int cmd_overrides(const struct cli_args *a);
static int cmd_checks(const struct cli_args *a);
static int cmd_stats(const struct cli_args *a);
static int cmd_help(const struct cli_args *a);
static int cmd_version(const struct cli_args *a);

static const struct cli_command commands[] = {
	{ .name = "serve", .run = cmd_serve, .opts = config_opts,
	  .usage = "serve [-c FILE]",
	  .help = "run the daemon (HTTP API, event intake, timers)" },
	{ .name = "config check", .run = cmd_config_check, .opts = config_opts,
	  .usage = "config check [-c FILE]",
	  .help = "validate the configuration; errors as file:line:col: message" },
	{ .name = "token create", .run = cmd_token_create, .opts = config_opts,
	  .min_pos = 1, .max_pos = 1, .usage = "token create USER [-c FILE]",
	  .help = "mint an API token for USER; stdout is the token alone" },
	{ .name = "trigger", .run = cmd_trigger, .opts = trigger_opts,
	  .usage = "trigger -k KEY -s SUMMARY [--dedup-key K] "
		   "[--severity critical|error|warning|info] [--source S]",
	  .help = "send an event with routing key KEY; prints its dedup key" },
	{ .name = "ack", .run = cmd_incident_action, .min_pos = 1, .max_pos = 1,
	  .usage = "ack INCIDENT", .data = &action_ack,
	  .help = "acknowledge an incident (#42 or 42)" },
	{ .name = "resolve", .run = cmd_incident_action, .min_pos = 1, .max_pos = 1,
	  .usage = "resolve INCIDENT", .data = &action_resolve,
	  .help = "resolve an incident" },
	{ .name = "escalate", .run = cmd_incident_action, .min_pos = 1, .max_pos = 1,
	  .usage = "escalate INCIDENT", .data = &action_escalate,
	  .help = "page the next level of the incident's escalation policy now" },
	{ .name = "reassign", .run = cmd_reassign, .min_pos = 2, .max_pos = 2,
	  .usage = "reassign INCIDENT user:ID|schedule:ID",
	  .help = "hand an incident to a user, or to whoever is on call for a schedule" },
	{ .name = "note", .run = cmd_note, .min_pos = 2, .max_pos = -1,
	  .usage = "note INCIDENT TEXT",
	  .help = "add a note to an incident's timeline" },
	{ .name = "severity", .run = cmd_severity, .min_pos = 2, .max_pos = 2,
	  .usage = "severity INCIDENT SEV-n",
	  .help = "set an incident's severity, SEV-1 (worst) to SEV-5" },
	{ .name = "incidents", .run = cmd_incidents, .opts = incidents_opts,
	  .usage = "incidents [--status triggered,acknowledged,resolved] [--service S] "
		   "[--limit N] [--json]",
	  .help = "list incidents, newest first; all that match unless --limit" },
	{ .name = "show", .run = cmd_show, .opts = json_opts, .min_pos = 1, .max_pos = 1,
	  .usage = "show INCIDENT [--json]",
	  .help = "one incident with its alerts and timeline" },
	{ .name = "maintenance", .run = cmd_maintenance, .opts = maintenance_opts,
	  .min_pos = 1, .max_pos = 1, .usage = "maintenance SERVICE --for 2h",
	  .help = "events are kept but nobody is paged for a while" },
	{ .name = "oncall", .run = cmd_oncall, .opts = oncall_opts,
	  .usage = "oncall [--schedule S | --policy P] [--at TIME] [--json]",
	  .help = "who is on call now (or at TIME), per schedule or per policy level" },
	{ .name = "shifts", .run = cmd_shifts, .opts = shifts_opts, .min_pos = 1, .max_pos = 1,
	  .usage = "shifts SCHEDULE --from TIME --to TIME [--json]",
	  .help = "the final shifts of a schedule, gaps included (at most 366 days)" },
	{ .name = "override remove", .run = cmd_override_remove, .min_pos = 2, .max_pos = 2,
	  .usage = "override remove SCHEDULE ID",
	  .help = "remove an override" },
	{ .name = "override", .run = cmd_override, .opts = override_opts, .min_pos = 2,
	  .max_pos = 2, .usage = "override SCHEDULE USER --from TIME --to TIME",
	  .help = "put USER on call for SCHEDULE in place of whoever is" },
	{ .name = "overrides", .run = cmd_overrides, .opts = json_opts, .min_pos = 1,
	  .max_pos = 1, .usage = "overrides SCHEDULE [--json]",
	  .help = "a schedule's current and future overrides" },
	{ .name = "stats", .run = cmd_stats, .opts = stats_opts,
	  .usage = "stats [--service S] [--team T] [--responder U] [--since 30d] [--json]",
	  .help = "MTTA, MTTR (mean, p50, p90), counts, and pages per responder" },
	{ .name = "postmortem new", .run = cmd_postmortem_new, .opts = pm_new_opts, .min_pos = 1,
	  .max_pos = 1, .usage = "postmortem new INCIDENT [--start-change ID]",
	  .help = "draft a postmortem from the incident's timeline; prints its id" },
	{ .name = "postmortem list", .run = cmd_postmortem_list, .opts = pm_list_opts,
	  .usage = "postmortem list [--status S] [--owner U] [--incident N] [--json]",
	  .help = "postmortems, newest first" },
	{ .name = "postmortem show", .run = cmd_postmortem_show, .opts = pm_show_opts,
	  .min_pos = 1, .max_pos = 1, .usage = "postmortem show ID [--json | --markdown]",
	  .help = "a postmortem's fields, lint and action items, or its Markdown" },
	{ .name = "postmortem edit", .run = cmd_postmortem_edit, .opts = json_opts, .min_pos = 2,
	  .max_pos = 2, .usage = "postmortem edit ID FILE.md",
	  .help = "replace a postmortem's Markdown with FILE.md (a new revision)" },
	{ .name = "postmortem set", .run = cmd_postmortem_set, .opts = json_opts, .min_pos = 2,
	  .max_pos = -1, .usage = "postmortem set ID FIELD=VALUE...",
	  .help = "set owner, severity, incidents, times (ISO or none), detection, factors..." },
	{ .name = "postmortem history", .run = cmd_postmortem_history, .opts = json_opts,
	  .min_pos = 1, .max_pos = 1, .usage = "postmortem history ID [--json]",
	  .help = "who changed what in a postmortem, and when" },
	{ .name = "postmortem redraft", .run = cmd_postmortem_step, .opts = pm_new_opts,
	  .min_pos = 1, .max_pos = 1, .usage = "postmortem redraft ID [--start-change ID]",
	  .data = &pm_redraft, .help = "draft it again from the timeline (the old text stays in history)" },
	{ .name = "postmortem submit", .run = cmd_postmortem_step, .opts = json_opts, .min_pos = 1,
	  .max_pos = 1, .usage = "postmortem submit ID", .data = &pm_submit,
	  .help = "draft -> in review; refused while the lint finds errors" },
	{ .name = "postmortem approve", .run = cmd_postmortem_step, .opts = json_opts,
	  .min_pos = 1, .max_pos = 1, .usage = "postmortem approve ID", .data = &pm_approve,
	  .help = "approve as a reviewer (not the owner)" },
	{ .name = "postmortem reopen", .run = cmd_postmortem_step, .opts = json_opts,
	  .min_pos = 1, .max_pos = -1, .usage = "postmortem reopen ID [REASON]", .data = &pm_reopen,
	  .help = "in review -> draft, approvals dismissed" },
	{ .name = "postmortem publish", .run = cmd_postmortem_step, .opts = json_opts,
	  .min_pos = 1, .max_pos = 1, .usage = "postmortem publish ID", .data = &pm_publish,
	  .help = "in review -> published, once approved" },
	{ .name = "postmortem close", .run = cmd_postmortem_step, .opts = json_opts,
	  .min_pos = 1, .max_pos = 1, .usage = "postmortem close ID", .data = &pm_close,
	  .help = "published -> closed, once every action item is done or declined" },
	{ .name = "postmortem lint", .run = cmd_postmortem_lint, .min_pos = 1, .max_pos = 1,
	  .usage = "postmortem lint FILE.md|ID",
	  .help = "check a postmortem against the template; FILE:LINE: error|warning: message" },
	{ .name = "postmortem render", .run = cmd_postmortem_render, .opts = render_opts,
	  .min_pos = 1, .max_pos = 1, .usage = "postmortem render FILE.md|ID [-o out.html]",
	  .help = "the postmortem as one HTML page with its timeline diagram (SVG)" },
	{ .name = "actions done", .run = cmd_action_mark, .opts = action_mark_opts, .min_pos = 1,
	  .max_pos = 1, .usage = "actions done ID [--ticket URL]", .data = "done",
	  .help = "mark an action item done (its box is ticked in the postmortem)" },
	{ .name = "actions reopen", .run = cmd_action_mark, .opts = action_mark_opts,
	  .min_pos = 1, .max_pos = 1, .usage = "actions reopen ID", .data = "open",
	  .help = "mark an action item open again" },
	{ .name = "actions decline", .run = cmd_action_mark, .opts = action_mark_opts,
	  .min_pos = 2, .max_pos = -1, .usage = "actions decline ID REASON", .data = "declined",
	  .help = "decline an action item, saying why" },
	{ .name = "actions", .run = cmd_actions, .opts = actions_opts,
	  .usage = "actions [--overdue] [--owner U] [--status open|done|declined] [--json]",
	  .help = "postmortem action items, by postmortem" },
	{ .name = "checks", .run = cmd_checks, .opts = json_opts, .usage = "checks [--json]",
	  .help = "the built-in checks: state, since when, latency, next run, output" },
	{ .name = "help", .run = cmd_help, .max_pos = -1, .usage = "help [COMMAND]",
	  .help = "this list, or one command's usage" },
	{ .name = "version", .run = cmd_version, .usage = "version",
	  .help = "print tocsin's version" },
};

/* Spellings that mean a command of the table. */
static const struct {
	const char *alias;
	const char *name;
} aliases[] = {
	{ "--help", "help" },
	{ "-h", "help" },
	{ "--version", "version" },
	{ "-V", "version" },
};

static const char *const event_severities[] = { "critical", "error", "warning", "info" };
static const char *const incident_severities[] = { "SEV-1", "SEV-2", "SEV-3", "SEV-4",
						   "SEV-5" };

/* ------------------------------------------------------------------ messages */

void cli_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("tocsin: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Says what is wrong with the command line, then how to write it; returns 2. */
int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("tocsin: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	fprintf(stderr, "usage: tocsin %s\n", cmd->usage);
	return CLI_USAGE;
}

static void print_help(FILE *f)
{
	size_t i, w = 0, len;

	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		len = strlen(commands[i].usage);
		if (len <= 40 && len > w)
			w = len;
	}
	fputs("usage: tocsin COMMAND [ARGS]\n\ncommands:\n", f);
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strlen(commands[i].usage) > w)
			fprintf(f, "  %s\n  %-*s  %s\n", commands[i].usage, (int)w, "",
				commands[i].help);
		else
			fprintf(f, "  %-*s  %s\n", (int)w, commands[i].usage, commands[i].help);
	}
	fprintf(f, "\nClient commands reach the daemon at TOCSIN_URL (default %s)\n"
		"with the API token in TOCSIN_TOKEN.  INCIDENT is a number, #42 or 42.\n"
		"Exit status: 0 ok, 1 the operation failed, 2 usage error.\n",
		CLIENT_DEFAULT_URL);
}

/* ------------------------------------------------------------------ option parsing */

/* A usage error has been printed when PARSE_USAGE comes back. */
enum parse_result { PARSE_OK = CLI_OK, PARSE_USAGE = CLI_USAGE, PARSE_HELP };

static int option_find(const struct cli_command *cmd, const char *name, size_t len, char letter)
{
	int i;

	for (i = 0; cmd->opts && cmd->opts[i].name; i++) {
		if (letter && cmd->opts[i].letter == letter)
			return i;
		if (!letter && strlen(cmd->opts[i].name) == len &&
		    !strncmp(cmd->opts[i].name, name, len))
			return i;
	}
	return -1;
}

/*
 * Parses the option at argv[*i] ("--name[=v]" or "-x[v]"), taking its value from
 * the next argument when it was not attached; *i moves past what was used.
 */
static int parse_option(const struct cli_command *cmd, int argc, char **argv, int *i,
			struct cli_args *a)
{
	const char *arg = argv[*i], *value = NULL, *eq;
	int longopt = arg[1] == '-', k;

	if (longopt) {
		eq = strchr(arg + 2, '=');
		k = option_find(cmd, arg + 2, eq ? (size_t)(eq - arg - 2) : strlen(arg + 2), 0);
		value = eq ? eq + 1 : NULL;
	} else {
		k = option_find(cmd, NULL, 0, arg[1]);
		value = arg[2] ? arg + 2 : NULL;
	}
	assert(k < OPTS_MAX);
	if (k < 0 || (cmd->opts[k].flag && value && !longopt))
		return cli_usage_error(cmd, "unknown option '%s'", arg);
	if (cmd->opts[k].flag) {
		if (value)
			return cli_usage_error(cmd, "option '--%s' takes no value", cmd->opts[k].name);
		a->val[k] = "";
		return PARSE_OK;
	}
	if (!value && *i + 1 >= argc)
		return cli_usage_error(cmd, "option '%s' needs a value", arg);
	a->val[k] = value ? value : argv[++*i];
	return PARSE_OK;
}

static int check_args(const struct cli_command *cmd, const struct cli_args *a)
{
	int k;

	for (k = 0; cmd->opts && cmd->opts[k].name; k++) {
		if (cmd->opts[k].required && !a->val[k] && cmd->opts[k].letter)
			return cli_usage_error(cmd, "option '-%c' is required", cmd->opts[k].letter);
		if (cmd->opts[k].required && !a->val[k])
			return cli_usage_error(cmd, "option '--%s' is required", cmd->opts[k].name);
	}
	if (a->npos < cmd->min_pos)
		return cli_usage_error(cmd, "missing argument");
	if (cmd->max_pos >= 0 && a->npos > cmd->max_pos)
		return cli_usage_error(cmd, "unexpected argument '%s'", a->pos[cmd->max_pos]);
	return PARSE_OK;
}

/* Parses argv[0..argc) (the words after the command name) into a; a->pos is
 * allocated and the caller frees it. */
static int parse_args(const struct cli_command *cmd, int argc, char **argv, struct cli_args *a)
{
	int i, only_pos = 0, rc = PARSE_OK;

	memset(a, 0, sizeof(*a));
	a->cmd = cmd;
	a->pos = xcalloc((size_t)argc + 1, sizeof(*a->pos));
	for (i = 0; i < argc && rc == PARSE_OK; i++) {
		const char *arg = argv[i];

		if (only_pos || arg[0] != '-' || arg[1] == '\0')
			a->pos[a->npos++] = argv[i];
		else if (!strcmp(arg, "--"))
			only_pos = 1;
		else if (!strcmp(arg, "--help") || !strcmp(arg, "-h"))
			rc = PARSE_HELP;
		else
			rc = parse_option(cmd, argc, argv, &i, a);
	}
	if (rc == PARSE_OK)
		rc = check_args(cmd, a);
	return rc;
}

/* The value of option name, NULL when not given ("" for a flag that is set). */
const char *cli_opt(const struct cli_args *a, const char *name)
{
	int k = option_find(a->cmd, name, strlen(name), 0);

	return k < 0 ? NULL : a->val[k];
}

/* ------------------------------------------------------------------ argument values */

/* A positive decimal number, digits only. */
int cli_parse_count(const char *s, long long *out)
{
	char *end;
	long long v;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtoll(s, &end, 10);
	if (*end || v <= 0 || v == LLONG_MAX)
		return -1;
	*out = v;
	return 0;
}

/* "#42" or "42"; prints the usage error itself. */
int cli_number_arg(const struct cli_args *a, const char *s, const char *what, long long *n)
{
	if (cli_parse_count(*s == '#' ? s + 1 : s, n) < 0)
		return cli_usage_error(a->cmd, "'%s' is not %s number (#42 or 42)", s, what);
	return CLI_OK;
}

/* The entry of list equal to s (ignoring case), NULL when none. */
static const char *one_of(const char *const *list, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!strcasecmp(list[i], s))
			return list[i];
	}
	return NULL;
}

static const char *config_path(const struct cli_args *a)
{
	const char *c = cli_opt(a, "config");

	if (c)
		return c;
	return access(DEFAULT_CONFIG, F_OK) == 0 ? DEFAULT_CONFIG : SYSTEM_CONFIG;
}

/* ------------------------------------------------------------------ talking to the daemon */

static json_t *parse_answer(const struct client *c, const struct client_response *r)
{
	json_error_t jerr;
	json_t *root = json_loads(buf_str(&r->body), 0, &jerr);

	if (!root)
		cli_error("unexpected answer from tocsin at %s: %s", c->base_url, jerr.text);
	else if (!json_is_object(root))
		cli_error("unexpected answer from tocsin at %s: not a JSON object", c->base_url);
	if (root && !json_is_object(root)) {
		json_decref(root);
		root = NULL;
	}
	return root;
}

/*
 * One request to the daemon.  body (borrowed, may be NULL) is sent as JSON.  On a
 * 2xx answer returns CLI_OK, with *answer (when asked) the parsed object, which the
 * caller decrefs; otherwise prints why on stderr and returns CLI_FAIL.  resp is
 * filled either way and released by the caller.
 */
int cli_call(const char *method, const char *path, json_t *body, int auth,
		    struct client_response *resp, json_t **answer)
{
	struct client c;
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL, *err = NULL;
	int rc = CLI_FAIL;

	client_init(&c);
	if (client_request(&c, method, path, text, auth, resp, &err) < 0) {
		cli_error("%s", err);
		goto out;
	}
	if (resp->status < 200 || resp->status > 299) {
		err = client_response_error(resp);
		cli_error("%s", err);
		if (resp->status == 401 && auth && !c.token)
			cli_error("set TOCSIN_TOKEN to an API token (tocsin token create USER)");
		goto out;
	}
	if (answer && !(*answer = parse_answer(&c, resp)))
		goto out;
	rc = CLI_OK;
out:
	free(err);
	free(text);
	client_release(&c);
	return rc;
}

/* The zone the server asked times to be shown in; UTC when unnamed or unknown. */
const char *cli_answer_zone(const struct client_response *r)
{
	return r->time_zone && tz_valid(r->time_zone) ? r->time_zone : "UTC";
}

/* ------------------------------------------------------------------ tables for people */

/* Rows of cells, printed with each column as wide as its widest cell. */
struct table {
	size_t ncols;
	const int *right;	/* per column, may be NULL */
	struct strlist cells;
};

/* Replaces control characters (newlines, escapes from the server) with spaces. */
static char *cell_clean(char *s)
{
	unsigned char *p;

	for (p = (unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			*p = ' ';
	}
	return s;
}

/* Text of any JSON value: strings as they are, arrays joined by ", ", null "-". */
void cli_json_text(struct buf *out, json_t *v)
{
	json_t *e;
	size_t i;
	char *dump;

	if (json_is_string(v)) {
		buf_adds(out, json_string_value(v));
	} else if (json_is_integer(v)) {
		buf_addf(out, "%lld", (long long)json_integer_value(v));
	} else if (json_is_array(v) && json_array_size(v) > 0) {
		json_array_foreach(v, i, e) {
			if (i)
				buf_adds(out, ", ");
			cli_json_text(out, e);
		}
	} else if (!v || json_is_null(v) || json_is_array(v)) {
		buf_adds(out, "-");
	} else {
		dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		buf_adds(out, dump ? dump : "?");
		free(dump);
	}
}

/* An ISO instant in zone tz ("2026-11-22 10:00 CET"); what cannot be read as is. */
void cli_time_text(struct buf *out, json_t *v, const char *tz)
{
	char when[64];
	int64_t ms;

	if (!json_is_string(v) || iso_parse(json_string_value(v), &ms) < 0) {
		cli_json_text(out, v);
		return;
	}
	time_format_zone(ms, tz, when, sizeof(when));
	buf_adds(out, when);
}

static char *cell_text(const struct column *col, json_t *obj, const char *tz)
{
	struct buf b = BUF_INIT;
	json_t *v = json_object_get(obj, col->key);

	if (col->kind == CELL_TIME)
		cli_time_text(&b, v, tz);
	else if (col->kind == CELL_COUNT && json_is_integer(v))
		buf_addf(&b, "x%lld", (long long)json_integer_value(v));
	else
		cli_json_text(&b, v);
	return cell_clean(buf_detach(&b, NULL));
}

/* Display width of UTF-8 text: one column per code point. */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

static void table_print(const struct table *t, FILE *f, const char *indent)
{
	size_t *w = xcalloc(t->ncols, sizeof(*w)), i, col, pad;
	const char *cell;

	for (i = 0; i < t->cells.n; i++) {
		col = i % t->ncols;
		if (text_width(t->cells.v[i]) > w[col])
			w[col] = text_width(t->cells.v[i]);
	}
	for (i = 0; i < t->cells.n; i++) {
		col = i % t->ncols;
		cell = t->cells.v[i];
		pad = w[col] - text_width(cell);
		if (col == 0)
			fputs(indent, f);
		if (t->right && t->right[col])
			fprintf(f, "%*s%s", (int)pad, "", cell);
		else if (col + 1 < t->ncols)
			fprintf(f, "%s%*s", cell, (int)pad, "");
		else
			fputs(cell, f);
		fputs(col + 1 < t->ncols ? "  " : "\n", f);
	}
	free(w);
}

/*
 * Prints the objects of rows as a table of cols, with a header row when header is
 * set; a CELL_TIME column's header names the zone: "CREATED (Europe/Paris)".
 */
void cli_print_rows(const struct column *cols, size_t ncols, json_t *rows, const char *tz,
		       int header, const char *indent)
{
	int *right = xcalloc(ncols, sizeof(*right));
	struct table t = { .ncols = ncols, .right = right, .cells = STRLIST_INIT };
	json_t *row;
	size_t i, c;

	for (c = 0; c < ncols; c++) {
		right[c] = cols[c].right;
		if (header && cols[c].kind == CELL_TIME)
			strlist_pushf(&t.cells, "%s (%s)", cols[c].header, tz);
		else if (header)
			strlist_push(&t.cells, cols[c].header);
	}
	json_array_foreach(rows, i, row) {
		for (c = 0; c < ncols; c++)
			strlist_push_take(&t.cells, cell_text(&cols[c], row, tz));
	}
	table_print(&t, stdout, indent);
	strlist_release(&t.cells);
	free(right);
}

/* ------------------------------------------------------------------ server-side commands */

static int cmd_serve(const struct cli_args *a)
{
	return server_serve(config_path(a));
}

static int cmd_config_check(const struct cli_args *a)
{
	const char *path = config_path(a);
	struct strlist errs = STRLIST_INIT;
	struct config *cfg = config_load(path, &errs);
	size_t i;
	int rc = CLI_OK;

	if (!cfg) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.v[i]);
		if (errs.n == 0)
			fprintf(stderr, "%s: cannot be loaded\n", path);
		rc = CLI_FAIL;
		goto out;
	}
	printf("%s: ok\n", path);
	config_unref(cfg);
out:
	strlist_release(&errs);
	return rc;
}

static int cmd_token_create(const struct cli_args *a)
{
	return auth_token_create_cmd(config_path(a), a->pos[0]);
}

/* ------------------------------------------------------------------ events */

static json_t *trigger_body(const struct cli_args *a, const char *severity)
{
	char host[256] = "";
	const char *source = cli_opt(a, "source"), *dedup = cli_opt(a, "dedup-key");
	json_t *body;

	if (!source) {
		if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
			snprintf(host, sizeof(host), "localhost");
		source = host;
	}
	body = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "routing_key", cli_opt(a, "routing-key"),
			 "event_action", "trigger", "payload", "summary", cli_opt(a, "summary"),
			 "source", source, "severity", severity);
	if (body && dedup && json_object_set_new(body, "dedup_key", json_string(dedup)) < 0) {
		json_decref(body);
		body = NULL;
	}
	return body;
}

static int cmd_trigger(const struct cli_args *a)
{
	const char *given = cli_opt(a, "severity"), *severity = "error", *key;
	struct client_response resp;
	json_t *body = NULL, *answer = NULL;
	int rc;

	client_response_init(&resp);
	if (given && !(severity = one_of(event_severities, ARRAY_SIZE(event_severities), given))) {
		rc = cli_usage_error(a->cmd, "severity '%s' is not critical, error, warning or info",
				 given);
		goto out;
	}
	if (!(body = trigger_body(a, severity))) {
		rc = cli_usage_error(a->cmd, "arguments must be valid UTF-8");
		goto out;
	}
	rc = cli_call("POST", "/v2/enqueue", body, 0, &resp, &answer);
	if (rc != CLI_OK)
		goto out;
	key = json_string_value(json_object_get(answer, "dedup_key"));
	if (!key) {
		cli_error("unexpected answer from tocsin: no dedup_key");
		rc = CLI_FAIL;
		goto out;
	}
	printf("%s\n", key);
out:
	json_decref(answer);
	json_decref(body);
	client_response_release(&resp);
	return rc;
}

/* ------------------------------------------------------------------ incident actions */

/* Calls METHOD /api/incidents/N[/verb] for the command's first argument; sets *n. */
static int incident_call(const struct cli_args *a, const char *method, const char *verb,
			 json_t *body, struct client_response *resp, json_t **answer,
			 long long *n)
{
	int rc = cli_number_arg(a, a->pos[0], "an incident", n);
	if (rc != CLI_OK)
		return rc;
	char *path = verb ? xasprintf("/api/incidents/%lld/%s", *n, verb)
			  : xasprintf("/api/incidents/%lld", *n);
	rc = cli_call(method, path, body, 1, resp, answer);
	free(path);
	return rc;
}

/* "level 2, assigned to bob, carol" for an incident the daemon answered with. */
static void print_assignment(json_t *inc)
{
	struct buf who = BUF_INIT;
	cli_json_text(&who, json_object_get(inc, "assigned_to"));
	printf("level %lld, assigned to %s",
	       (long long)json_integer_value(json_object_get(inc, "escalation_level")),
	       buf_str(&who));
	buf_release(&who);
}

/* POST /api/incidents/N/verb with body (may be NULL); prints "#N done", and after a
 * handover (escalate, reassign) whom the incident is with now. */
static int incident_post(const struct cli_args *a, const char *verb, json_t *body,
			 const char *done, int handover)
{
	struct client_response resp;
	json_t *answer = NULL;
	long long n = 0;

	client_response_init(&resp);
	int rc = incident_call(a, "POST", verb, body, &resp, handover ? &answer : NULL, &n);
	if (rc == CLI_OK) {
		printf("#%lld %s", n, done);
		if (handover) {
			fputs(": ", stdout);
			print_assignment(json_object_get(answer, "incident"));
		}
		fputc('\n', stdout);
	}
	json_decref(answer);
	client_response_release(&resp);
	return rc;
}

static int cmd_incident_action(const struct cli_args *a)
{
	const struct incident_action *act = a->cmd->data;

	return incident_post(a, act->verb, NULL, act->done, act->handover);
}

static int cmd_note(const struct cli_args *a)
{
	struct buf text = BUF_INIT;
	json_t *body = NULL;
	int i, rc;

	for (i = 1; i < a->npos; i++)
		buf_addf(&text, "%s%s", i > 1 ? " " : "", a->pos[i]);
	if (!text.len)
		rc = cli_usage_error(a->cmd, "the note is empty");
	else if (!(body = json_pack("{s:s}", "text", text.s)))
		rc = cli_usage_error(a->cmd, "the note must be valid UTF-8");
	else
		rc = incident_post(a, "notes", body, "note added", 0);
	json_decref(body);
	buf_release(&text);
	return rc;
}

static int cmd_reassign(const struct cli_args *a)
{
	const char *to = a->pos[1];
	json_t *body;
	int rc;

	struct target t;
	if (target_parse(to, &t) < 0)
		return cli_usage_error(a->cmd, "'%s' is not user:ID or schedule:ID", to);
	if (!(body = json_pack("{s:s}", "to", to)))
		return cli_usage_error(a->cmd, "the target must be valid UTF-8");
	rc = incident_post(a, "reassign", body, "reassigned", 1);
	json_decref(body);
	return rc;
}

static int cmd_severity(const struct cli_args *a)
{
	const char *sev = one_of(incident_severities, ARRAY_SIZE(incident_severities), a->pos[1]);
	json_t *body;
	char *done;
	int rc;

	if (!sev)
		return cli_usage_error(a->cmd, "severity '%s' is not SEV-1 to SEV-5", a->pos[1]);
	body = json_pack("{s:s}", "severity", sev);
	done = xasprintf("severity set to %s", sev);
	rc = incident_post(a, "severity", body, done, 0);
	free(done);
	json_decref(body);
	return rc;
}

/* ------------------------------------------------------------------ listing and showing */

static const struct column incident_columns[] = {
	{ .header = "#", .key = "number", .right = 1 },
	{ .header = "STATUS", .key = "status" },
	{ .header = "SEV", .key = "severity" },
	{ .header = "URGENCY", .key = "urgency" },
	{ .header = "SERVICE", .key = "service" },
	{ .header = "CREATED", .key = "created_at", .kind = CELL_TIME },
	{ .header = "ALERTS", .key = "alert_count", .right = 1 },
	{ .header = "TITLE", .key = "title" },
};

/* Options of `tocsin incidents` passed on as query arguments of the same name. */
static const char *const incident_filters[] = { "status", "service", "limit" };

/* path?name=value&... for the options named that are set. */
char *cli_path_with(const struct cli_args *a, const char *path, const char *const *names,
		       size_t n)
{
	struct buf b = BUF_INIT;
	char sep = '?';
	buf_adds(&b, path);
	for (size_t i = 0; i < n; i++) {
		const char *v = cli_opt(a, names[i]);
		if (!v)
			continue;
		buf_addf(&b, "%c%s=", sep, names[i]);
		client_escape(&b, v);
		sep = '&';
	}
	return buf_detach(&b, NULL);
}


void cli_print_json(json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	fputc('\n', stdout);
}

/* GETs path and prints its array member key: as JSON with --json, else as a table
 * of cols (or `empty` when there is nothing). */
int cli_list_command(const struct cli_args *a, const char *path, const char *key,
			const struct column *cols, size_t ncols, const char *empty)
{
	struct client_response resp;
	json_t *answer = NULL, *list;

	client_response_init(&resp);
	int rc = cli_call("GET", path, NULL, 1, &resp, &answer);
	if (rc != CLI_OK)
		goto out;
	list = json_object_get(answer, key);
	if (!json_is_array(list)) {
		cli_error("unexpected answer from tocsin: no %s array", key);
		rc = CLI_FAIL;
	} else if (cli_opt(a, "json")) {
		cli_print_json(list);
	} else if (json_array_size(list) == 0) {
		printf("%s\n", empty);
	} else {
		cli_print_rows(cols, ncols, list, cli_answer_zone(&resp), 1, "");
	}
out:
	json_decref(answer);
	client_response_release(&resp);
	return rc;
}

static int cmd_incidents(const struct cli_args *a)
{
	const char *limit = cli_opt(a, "limit");
	long long n = 0;

	if (limit && cli_parse_count(limit, &n) < 0)
		return cli_usage_error(a->cmd, "limit '%s' is not a positive number", limit);
	char *path = cli_path_with(a, "/api/incidents", incident_filters,
			       ARRAY_SIZE(incident_filters));
	int rc = cli_list_command(a, path, "incidents", incident_columns,
			      ARRAY_SIZE(incident_columns), "no incidents");
	free(path);
	return rc;
}

static const struct column shown_fields[] = {
	{ .header = "status:", .key = "status" },
	{ .header = "severity:", .key = "severity" },
	{ .header = "urgency:", .key = "urgency" },
	{ .header = "service:", .key = "service" },
	{ .header = "created:", .key = "created_at", .kind = CELL_TIME },
	{ .header = "acknowledged:", .key = "acknowledged_at", .kind = CELL_TIME },
	{ .header = "resolved:", .key = "resolved_at", .kind = CELL_TIME },
	{ .header = "assigned to:", .key = "assigned_to" },
	{ .header = "policy:", .key = "escalation_policy" },
	{ .header = "level:", .key = "escalation_level" },
	{ .header = "escalates:", .key = "escalates_at", .kind = CELL_TIME },
	{ .header = "alerts:", .key = "alert_count" },
};

static const struct column alert_columns[] = {
	{ .key = "dedup_key" },
	{ .key = "status" },
	{ .key = "count", .kind = CELL_COUNT, .right = 1 },
	{ .key = "summary" },
};

static const struct column log_columns[] = {
	{ .key = "at", .kind = CELL_TIME },
	{ .key = "type" },
	{ .key = "actor" },
	{ .key = "message" },
};

/* "  label:  value" lines for the fields of one incident. */
void cli_print_fields(const struct column *cols, size_t n, json_t *obj, const char *tz)
{
	struct table t = { .ncols = 2, .cells = STRLIST_INIT };
	size_t i;

	for (i = 0; i < n; i++) {
		strlist_push(&t.cells, cols[i].header);
		strlist_push_take(&t.cells, cell_text(&cols[i], obj, tz));
	}
	table_print(&t, stdout, "  ");
	strlist_release(&t.cells);
}

static void print_shown(json_t *inc, const char *tz)
{
	json_t *alerts = json_object_get(inc, "alerts"), *log = json_object_get(inc, "log");
	struct column title = { .key = "title" };
	char *text = cell_text(&title, inc, tz);

	printf("#%lld %s\n", (long long)json_integer_value(json_object_get(inc, "number")),
	       text);
	free(text);
	cli_print_fields(shown_fields, ARRAY_SIZE(shown_fields), inc, tz);
	printf("\nAlerts:\n");
	if (json_array_size(alerts) == 0)
		printf("  none\n");
	cli_print_rows(alert_columns, ARRAY_SIZE(alert_columns), alerts, tz, 0, "  ");
	printf("\nTimeline (%s):\n", tz);
	if (json_array_size(log) == 0)
		printf("  nothing yet\n");
	cli_print_rows(log_columns, ARRAY_SIZE(log_columns), log, tz, 0, "  ");
}

static int cmd_show(const struct cli_args *a)
{
	struct client_response resp;
	json_t *answer = NULL;
	long long n = 0;

	client_response_init(&resp);
	int rc = incident_call(a, "GET", NULL, NULL, &resp, &answer, &n);
	if (rc != CLI_OK)
		goto out;
	if (cli_opt(a, "json")) {
		fwrite(buf_str(&resp.body), 1, resp.body.len, stdout);
		if (resp.body.len == 0 || resp.body.s[resp.body.len - 1] != '\n')
			fputc('\n', stdout);
	} else {
		print_shown(answer, cli_answer_zone(&resp));
	}
out:
	json_decref(answer);
	client_response_release(&resp);
	return rc;
}

/* ------------------------------------------------------------------ services */

static int cmd_maintenance(const struct cli_args *a)
{
	const char *service = a->pos[0], *dur = cli_opt(a, "for"), *name;
	struct column end = { .key = "end", .kind = CELL_TIME };
	struct client_response resp;
	struct buf path = BUF_INIT;
	json_t *body = NULL, *answer = NULL;
	char *until;
	int64_t ms;
	int rc;

	client_response_init(&resp);
	if (duration_parse(dur, &ms) < 0 || ms <= 0) {
		rc = cli_usage_error(a->cmd, "duration '%s' is not like 30m, 2h or 1d", dur);
		goto out;
	}
	buf_adds(&path, "/api/services/");
	client_escape(&path, service);
	buf_adds(&path, "/maintenance");
	body = json_pack("{s:s}", "for", dur);
	rc = cli_call("POST", path.s, body, 1, &resp, &answer);
	if (rc != CLI_OK)
		goto out;
	name = json_string_value(json_object_get(answer, "service"));
	until = cell_text(&end, answer, cli_answer_zone(&resp));
	printf("%s in maintenance until %s\n", name ? name : service, until);
	free(until);
out:
	json_decref(answer);
	json_decref(body);
	buf_release(&path);
	client_response_release(&resp);
	return rc;
}

/* ------------------------------------------------------------------ on call */

/* Checks that an option holds an ISO 8601 time; a usage error when it does not. */
static int time_opt(const struct cli_args *a, const char *name)
{
	const char *v = cli_opt(a, name);
	int64_t ms;
	if (!v || iso_parse(v, &ms) == 0)
		return CLI_OK;
	return cli_usage_error(a->cmd, "--%s '%s' is not a time like 2026-11-22T09:00:00Z", name, v);
}

/* `oncall --policy` shows each entry's level; per schedule there is none. */
static const struct column oncall_level_columns[] = {
	{ .header = "SCHEDULE", .key = "schedule" },
	{ .header = "LEVEL", .key = "level", .right = 1 },
	{ .header = "USER", .key = "user" },
	{ .header = "FROM", .key = "start", .kind = CELL_TIME },
	{ .header = "UNTIL", .key = "end", .kind = CELL_TIME },
};

static const struct column oncall_columns[] = {
	{ .header = "SCHEDULE", .key = "schedule" },
	{ .header = "USER", .key = "user" },
	{ .header = "FROM", .key = "start", .kind = CELL_TIME },
	{ .header = "UNTIL", .key = "end", .kind = CELL_TIME },
};

static int cmd_oncall(const struct cli_args *a)
{
	static const char *const params[] = { "schedule", "policy", "at" };
	if (cli_opt(a, "schedule") && cli_opt(a, "policy"))
		return cli_usage_error(a->cmd, "give --schedule or --policy, not both");
	int rc = time_opt(a, "at");
	if (rc != CLI_OK)
		return rc;
	char *path = cli_path_with(a, "/api/oncall", params, ARRAY_SIZE(params));
	int levels = cli_opt(a, "policy") != NULL;
	const struct column *cols = levels ? oncall_level_columns : oncall_columns;
	size_t ncols = levels ? ARRAY_SIZE(oncall_level_columns) : ARRAY_SIZE(oncall_columns);
	rc = cli_list_command(a, path, "oncall", cols, ncols, "no schedules");
	free(path);
	return rc;
}

static const struct column shift_columns[] = {
	{ .header = "FROM", .key = "start", .kind = CELL_TIME },
	{ .header = "UNTIL", .key = "end", .kind = CELL_TIME },
	{ .header = "USER", .key = "user" },
};

static int cmd_shifts(const struct cli_args *a)
{
	static const char *const params[] = { "from", "to" };
	int rc = time_opt(a, "from");
	if (rc == CLI_OK)
		rc = time_opt(a, "to");
	if (rc != CLI_OK)
		return rc;
	struct buf base = BUF_INIT;
	buf_adds(&base, "/api/schedules/");
	client_escape(&base, a->pos[0]);
	buf_adds(&base, "/shifts");
	char *path = cli_path_with(a, buf_str(&base), params, ARRAY_SIZE(params));
	rc = cli_list_command(a, path, "shifts", shift_columns, ARRAY_SIZE(shift_columns),
			  "no shifts");
	free(path);
	buf_release(&base);
	return rc;
}

/* "/api/schedules/S/overrides" with S escaped, plus suffix. */
static char *overrides_path(const char *schedule, const char *suffix)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, "/api/schedules/");
	client_escape(&b, schedule);
	buf_adds(&b, "/overrides");
	buf_adds(&b, suffix);
	return buf_detach(&b, NULL);
}

static int cmd_override(const struct cli_args *a)
{
	struct client_response resp;
	json_t *answer = NULL;
	int rc = time_opt(a, "from");
	if (rc == CLI_OK)
		rc = time_opt(a, "to");
	if (rc != CLI_OK)
		return rc;
	client_response_init(&resp);
	char *path = overrides_path(a->pos[0], "");
	json_t *body = json_pack("{s:s, s:s, s:s}", "user", a->pos[1], "start", cli_opt(a, "from"),
				 "end", cli_opt(a, "to"));
	rc = cli_call("POST", path, body, 1, &resp, &answer);
	if (rc == CLI_OK) {
		json_t *o = json_object_get(answer, "override");
		printf("override #%lld: %s on call for %s\n",
		       (long long)json_integer_value(json_object_get(o, "id")), a->pos[1],
		       a->pos[0]);
	}
	json_decref(body);
	json_decref(answer);
	free(path);
	client_response_release(&resp);
	return rc;
}

static int cmd_override_remove(const struct cli_args *a)
{
	struct client_response resp;
	long long id = 0;
	if (cli_parse_count(a->pos[1], &id) < 0)
		return cli_usage_error(a->cmd, "override id '%s' is not a number", a->pos[1]);
	client_response_init(&resp);
	char *suffix = xasprintf("/%lld", id);
	char *path = overrides_path(a->pos[0], suffix);
	int rc = cli_call("DELETE", path, NULL, 1, &resp, NULL);
	if (rc == CLI_OK)
		printf("override #%lld removed\n", id);
	free(suffix);
	free(path);
	client_response_release(&resp);
	return rc;
}

static const struct column override_columns[] = {
	{ .header = "ID", .key = "id", .right = 1 },
	{ .header = "USER", .key = "user" },
	{ .header = "FROM", .key = "start", .kind = CELL_TIME },
	{ .header = "UNTIL", .key = "end", .kind = CELL_TIME },
	{ .header = "BY", .key = "created_by" },
};

static int cmd_overrides(const struct cli_args *a)
{
	char *path = overrides_path(a->pos[0], "");
	int rc = cli_list_command(a, path, "overrides", override_columns,
			      ARRAY_SIZE(override_columns), "no overrides");
	free(path);
	return rc;
}

/* ------------------------------------------------------------------ postmortems */

/* ------------------------------------------------------------------ stats */

/* "4m12s" for seconds (a JSON real), "-" for null. */
static void seconds_text(struct buf *b, json_t *v)
{
	char d[32];
	if (!json_is_number(v)) {
		buf_adds(b, "-");
		return;
	}
	duration_format((int64_t)(json_number_value(v) * 1000 + 0.5) / 1000 * 1000, d, sizeof(d));
	buf_adds(b, d);
}

static void print_times(json_t *o, const char *label, const char *key)
{
	const char *suffix[] = { "_s", "_p50_s", "_p90_s" }, *name[] = { "mean", "p50", "p90" };
	struct buf b = BUF_INIT;
	char k[32];
	for (size_t i = 0; i < 3; i++) {
		snprintf(k, sizeof(k), "%s%s", key, suffix[i]);
		buf_addf(&b, "%s%s ", i ? "   " : "", name[i]);
		seconds_text(&b, json_object_get(o, k));
	}
	printf("%-14s%s\n", label, b.s);
	buf_release(&b);
}

/* "SEV-2 3, SEV-4 1" from an object of counts, "-" when empty. */
static void print_counts(const char *label, json_t *o, json_t *night)
{
	struct buf b = BUF_INIT;
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		buf_addf(&b, "%s%s %lld", b.len ? ", " : "", k, (long long)json_integer_value(v));
		json_t *n = night ? json_object_get(night, k) : NULL;
		if (n)
			buf_addf(&b, " (%lld at night)", (long long)json_integer_value(n));
	}
	printf("%-14s%s\n", label, b.len ? b.s : "-");
	buf_release(&b);
}

static int cmd_stats(const struct cli_args *a)
{
	static const char *const params[] = { "service", "team", "responder", "since" };
	const char *since = cli_opt(a, "since");
	int64_t ms;
	if (since && duration_parse(since, &ms) < 0 && iso_parse(since, &ms) < 0)
		return cli_usage_error(a->cmd, "--since '%s' is not a duration (30d) or a time", since);
	struct client_response resp;
	json_t *o = NULL;
	char *path = cli_path_with(a, "/api/stats", params, ARRAY_SIZE(params));
	client_response_init(&resp);
	int rc = cli_call("GET", path, NULL, 1, &resp, &o);
	if (rc == CLI_OK && cli_opt(a, "json")) {
		cli_print_json(o);
	} else if (rc == CLI_OK) {
		printf("%-14s%lld, %lld acknowledged, %lld resolved\n", "incidents",
		       (long long)json_integer_value(json_object_get(o, "incidents")),
		       (long long)json_integer_value(json_object_get(o, "acknowledged")),
		       (long long)json_integer_value(json_object_get(o, "resolved")));
		print_times(o, "MTTA", "mtta");
		print_times(o, "MTTR", "mttr");
		print_counts("by severity", json_object_get(o, "by_severity"), NULL);
		print_counts("by status", json_object_get(o, "by_status"), NULL);
		print_counts("pages", json_object_get(o, "pages"), json_object_get(o, "pages_at_night"));
	}
	json_decref(o);
	free(path);
	client_response_release(&resp);
	return rc;
}

/* ------------------------------------------------------------------ checks */

static const struct column check_columns[] = {
	{ .header = "CHECK", .key = "id" },
	{ .header = "TYPE", .key = "type" },
	{ .header = "STATE", .key = "state" },
	{ .header = "SINCE", .key = "since", .kind = CELL_TIME },
	{ .header = "LATENCY", .key = "latency_ms", .right = 1 },
	{ .header = "NEXT", .key = "next_run", .kind = CELL_TIME },
	{ .header = "OUTPUT", .key = "output" },
};

static int cmd_checks(const struct cli_args *a)
{
	return cli_list_command(a, "/api/checks", "checks", check_columns, ARRAY_SIZE(check_columns),
			    "no checks");
}

/* ------------------------------------------------------------------ help, version, dispatch */

/* How many words of argv name the command (name may be several words), 0: none. */
static int command_words(const char *name, int argc, char **argv)
{
	int used = 0;
	size_t len;

	while (*name && used < argc) {
		len = strcspn(name, " ");
		if (strlen(argv[used]) != len || strncmp(argv[used], name, len))
			return 0;
		used++;
		name += len;
		name += *name == ' ';
	}
	return *name ? 0 : used;
}

/* The command argv starts with, and in *used how many words name it; NULL: none. */
static const struct cli_command *command_find(int argc, char **argv, int *used)
{
	const char *name = NULL;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(aliases) && argc > 0; i++) {
		if (!strcmp(argv[0], aliases[i].alias))
			name = aliases[i].name;
	}
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		*used = name ? !strcmp(commands[i].name, name)
			     : command_words(commands[i].name, argc, argv);
		if (*used > 0)
			return &commands[i];
	}
	return NULL;
}

static int cmd_help(const struct cli_args *a)
{
	const struct cli_command *cmd;
	int used;

	if (a->npos == 0) {
		print_help(stdout);
		return CLI_OK;
	}
	cmd = command_find(a->npos, a->pos, &used);
	if (!cmd || used != a->npos)
		return cli_usage_error(a->cmd, "no command '%s'", a->pos[0]);
	printf("usage: tocsin %s\n\n%s\n", cmd->usage, cmd->help);
	return CLI_OK;
}

static int cmd_version(const struct cli_args *a)
{
	printf("tocsin %s\n", TOCSIN_VERSION);
	return CLI_OK;
}

/* An unknown command: the usages that start with its first word, or all of help. */
static int unknown_command(const char *word)
{
	size_t i, len = strlen(word);
	int shown = 0;

	cli_error("unknown command '%s'", word);
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		if (!strncmp(commands[i].name, word, len) && commands[i].name[len] == ' ') {
			fprintf(stderr, "%s tocsin %s\n", shown ? "      " : "usage:",
				commands[i].usage);
			shown = 1;
		}
	}
	if (!shown)
		print_help(stderr);
	return CLI_USAGE;
}

int cli_main(int argc, char **argv)
{
	const struct cli_command *cmd;
	struct cli_args a = { 0 };
	int used = 0, rc;

	if (argc < 2) {
		print_help(stdout);
		return CLI_OK;
	}
	cmd = command_find(argc - 1, argv + 1, &used);
	if (!cmd)
		return unknown_command(argv[1]);
	switch (parse_args(cmd, argc - 1 - used, argv + 1 + used, &a)) {
	case PARSE_OK:
		rc = cmd->run(&a);
		break;
	case PARSE_HELP:
		printf("usage: tocsin %s\n\n%s\n", cmd->usage, cmd->help);
		rc = CLI_OK;
		break;
	default:
		rc = CLI_USAGE;
		break;
	}
	free(a.pos);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("cannot write the output");
		rc = CLI_FAIL;
	}
	return rc;
}
