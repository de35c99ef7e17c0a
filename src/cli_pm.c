/*
 * cli_pm.c - the postmortem commands of the CLI: lint and render (on a file, or on
 * a stored postmortem), and the workflow through the daemon (new, list, show,
 * edit, set, history, redraft, submit, approve, reopen, publish, close) and the
 * action items (`tocsin actions`).  Rows for them are in cli.c's commands[]; the
 * step commands share one handler whose row names the step in .data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_core.h"
#include "postmortem.h"
#include "banned.h"

/* A postmortem or action item argument: "3" or "#3"; 0 (usage printed) when it is
 * not one. */
static long long pm_arg(const struct cli_args *a, const char *s, const char *what)
{
	long long n;
	return cli_number_arg(a, s, what, &n) == CLI_OK ? n : 0;
}

/* The positional arguments after the id, joined by spaces, as body's "reason" (a
 * reason in several words); nothing when there are none. */
static void add_reason(json_t *body, const struct cli_args *a)
{
	struct buf b = BUF_INIT;
	for (int i = 1; i < a->npos; i++)
		buf_addf(&b, "%s%s", i > 1 ? " " : "", a->pos[i]);
	if (b.len)
		json_object_set_new(body, "reason", json_string(b.s));
	buf_release(&b);
}

/* POSTs body to path and prints what came back: the postmortem's id and status,
 * or the JSON with --json.  body is taken. */
static int pm_post(const struct cli_args *a, const char *path, json_t *body, const char *done)
{
	struct client_response resp;
	json_t *answer = NULL;
	client_response_init(&resp);
	int rc = cli_call("POST", path, body, 1, &resp, &answer);
	if (rc == CLI_OK && cli_opt(a, "json")) {
		cli_print_json(answer);
	} else if (rc == CLI_OK && done) {
		printf("postmortem #%lld %s (%s)\n",
		       (long long)json_integer_value(json_object_get(answer, "id")), done,
		       json_string_value(json_object_get(answer, "status")));
	} else if (rc == CLI_OK) {
		printf("%lld\n", (long long)json_integer_value(json_object_get(answer, "id")));
	}
	json_decref(answer);
	json_decref(body);
	client_response_release(&resp);
	return rc;
}

static char *pm_path(long long id, const char *suffix)
{
	return xasprintf("/api/postmortems/%lld%s", id, suffix);
}

/* --start-change ID into body; -1 after a usage error. */
static int start_change(const struct cli_args *a, json_t *body)
{
	const char *c = cli_opt(a, "start-change");
	long long n;
	if (!c)
		return 0;
	if (cli_parse_count(c, &n) < 0)
		return cli_usage_error(a->cmd, "'%s' is not a change event id", c), -1;
	json_object_set_new(body, "start_change", json_integer(n));
	return 0;
}

int cmd_postmortem_new(const struct cli_args *a)
{
	long long n;
	if (cli_number_arg(a, a->pos[0], "an incident", &n) != CLI_OK)
		return CLI_USAGE;
	json_t *body = json_pack("{s:I}", "incident", (json_int_t)n);
	if (start_change(a, body) < 0) {
		json_decref(body);
		return CLI_USAGE;
	}
	return pm_post(a, "/api/postmortems", body, NULL);
}

static const struct column pm_columns[] = {
	{ .header = "ID", .key = "id", .right = 1 },
	{ .header = "INCIDENT", .key = "incident", .right = 1 },
	{ .header = "STATUS", .key = "status" },
	{ .header = "SEVERITY", .key = "severity" },
	{ .header = "OWNER", .key = "owner" },
	{ .header = "UPDATED", .key = "updated_at", .kind = CELL_TIME },
	{ .header = "TITLE", .key = "title" },
};

static const char *const pm_filters[] = { "status", "owner", "incident" };

int cmd_postmortem_list(const struct cli_args *a)
{
	char *path = cli_path_with(a, "/api/postmortems", pm_filters, ARRAY_SIZE(pm_filters));
	int rc = cli_list_command(a, path, "postmortems", pm_columns, ARRAY_SIZE(pm_columns),
				  "no postmortems");
	free(path);
	return rc;
}

static const struct column pm_fields[] = {
	{ .header = "status:", .key = "status" },
	{ .header = "owner:", .key = "owner" },
	{ .header = "approved by:", .key = "approvals" },
	{ .header = "incidents:", .key = "incidents" },
	{ .header = "severity:", .key = "severity" },
	{ .header = "services:", .key = "services" },
	{ .header = "impact start:", .key = "impact_start", .kind = CELL_TIME },
	{ .header = "detected:", .key = "detected", .kind = CELL_TIME },
	{ .header = "acknowledged:", .key = "acknowledged", .kind = CELL_TIME },
	{ .header = "mitigated:", .key = "mitigated", .kind = CELL_TIME },
	{ .header = "resolved:", .key = "resolved", .kind = CELL_TIME },
	{ .header = "detection:", .key = "detection" },
	{ .header = "factors:", .key = "factors" },
	{ .header = "revision:", .key = "revision" },
};

static const struct column action_columns[] = {
	{ .header = "ID", .key = "id", .right = 1 },
	{ .header = "PM", .key = "postmortem", .right = 1 },
	{ .header = "STATUS", .key = "status" },
	{ .header = "OWNER", .key = "owner" },
	{ .header = "DUE", .key = "due" },
	{ .header = "ITEM", .key = "text" },
};

static void print_pm(json_t *pm, const char *tz)
{
	json_t *lint = json_object_get(pm, "lint"), *items = json_object_get(pm, "action_items");
	printf("postmortem #%lld: %s (incident #%lld)\n",
	       (long long)json_integer_value(json_object_get(pm, "id")),
	       json_string_value(json_object_get(pm, "title")),
	       (long long)json_integer_value(json_object_get(pm, "incident")));
	cli_print_fields(pm_fields, ARRAY_SIZE(pm_fields), pm, tz);
	printf("  lint:          %lld errors, %lld warnings\n",
	       (long long)json_integer_value(json_object_get(lint, "errors")),
	       (long long)json_integer_value(json_object_get(lint, "warnings")));
	if (json_array_size(items)) {
		printf("action items:\n");
		cli_print_rows(action_columns, ARRAY_SIZE(action_columns), items, tz, 0, "  ");
	}
}

/* GET of one postmortem path; *answer the object.  A 2xx gives CLI_OK. */
static int pm_get(const struct cli_args *a, long long id, const char *suffix,
		  struct client_response *resp, json_t **answer)
{
	char *path = pm_path(id, suffix);
	int rc = cli_call("GET", path, NULL, 1, resp, answer);
	free(path);
	return rc;
}

int cmd_postmortem_show(const struct cli_args *a)
{
	long long id = pm_arg(a, a->pos[0], "a postmortem");
	struct client_response resp;
	json_t *answer = NULL;
	if (!id)
		return CLI_USAGE;
	client_response_init(&resp);
	int rc = pm_get(a, id, "", &resp, &answer);
	if (rc == CLI_OK && cli_opt(a, "json"))
		cli_print_json(answer);
	else if (rc == CLI_OK && cli_opt(a, "markdown"))
		fputs(json_string_value(json_object_get(answer, "markdown")), stdout);
	else if (rc == CLI_OK)
		print_pm(answer, cli_answer_zone(&resp));
	json_decref(answer);
	client_response_release(&resp);
	return rc;
}

int cmd_postmortem_edit(const struct cli_args *a)
{
	long long id = pm_arg(a, a->pos[0], "a postmortem");
	char *err = NULL;
	size_t len;
	if (!id)
		return CLI_USAGE;
	char *md = read_file(a->pos[1], &len, &err);
	if (!md) {
		cli_error("%s", err);
		free(err);
		return CLI_FAIL;
	}
	char *path = pm_path(id, "/markdown");
	int rc = pm_post(a, path, json_pack("{s:s%}", "markdown", md, len), "saved");
	free(path);
	free(md);
	return rc;
}

int cmd_postmortem_set(const struct cli_args *a)
{
	long long id = pm_arg(a, a->pos[0], "a postmortem");
	if (!id)
		return CLI_USAGE;
	json_t *body = json_object();
	for (int i = 1; i < a->npos; i++) {
		const char *eq = strchr(a->pos[i], '=');
		if (!eq || eq == a->pos[i]) {
			json_decref(body);
			return cli_usage_error(a->cmd, "'%s' is not FIELD=VALUE", a->pos[i]);
		}
		char *key = xstrndup(a->pos[i], (size_t)(eq - a->pos[i]));
		json_object_set_new(body, key, !strcmp(eq + 1, "none") ? json_null()
								       : json_string(eq + 1));
		free(key);
	}
	char *path = pm_path(id, "/fields");
	int rc = pm_post(a, path, body, "updated");
	free(path);
	return rc;
}

static const struct column revision_columns[] = {
	{ .header = "REV", .key = "revision", .right = 1 },
	{ .header = "AT", .key = "at", .kind = CELL_TIME },
	{ .header = "BY", .key = "actor" },
	{ .header = "CHANGE", .key = "change" },
};

int cmd_postmortem_history(const struct cli_args *a)
{
	long long id = pm_arg(a, a->pos[0], "a postmortem");
	if (!id)
		return CLI_USAGE;
	char *path = pm_path(id, "/history");
	int rc = cli_list_command(a, path, "revisions", revision_columns,
				  ARRAY_SIZE(revision_columns), "no revisions");
	free(path);
	return rc;
}

const struct pm_step pm_redraft = { "redraft", "drafted again" };
const struct pm_step pm_submit = { "submit", "submitted" };
const struct pm_step pm_approve = { "approve", "approved" };
const struct pm_step pm_reopen = { "reopen", "reopened" };
const struct pm_step pm_publish = { "publish", "published" };
const struct pm_step pm_close = { "close", "closed" };

/* submit, approve, reopen, publish, close, redraft: the row's .data is the step. */
int cmd_postmortem_step(const struct cli_args *a)
{
	const struct pm_step *step = a->cmd->data;
	long long id = pm_arg(a, a->pos[0], "a postmortem");
	if (!id)
		return CLI_USAGE;
	json_t *body = json_object();
	add_reason(body, a);
	if (start_change(a, body) < 0) {
		json_decref(body);
		return CLI_USAGE;
	}
	char *path = xasprintf("/api/postmortems/%lld/%s", id, step->step);
	int rc = pm_post(a, path, body, step->done);
	free(path);
	return rc;
}

/* --- lint and render: a file, or a stored postmortem ---------------------------------- */

/* The Markdown of FILE, or of the stored postmortem ID when no such file exists;
 * *name what findings are reported against. */
static char *pm_source(const struct cli_args *a, const char *arg, size_t *len, char **name)
{
	struct stat st;
	char *err = NULL, *md = NULL;
	long long id;
	const char *digits = *arg == '#' ? arg + 1 : arg;
	if (stat(arg, &st) != 0 && cli_parse_count(digits, &id) == 0) {
		struct client_response resp;
		char *path = pm_path(id, "/markdown");
		client_response_init(&resp);
		if (cli_call("GET", path, NULL, 1, &resp, NULL) == CLI_OK) {
			md = buf_detach(&resp.body, len);
			*name = xasprintf("postmortem-%lld.md", id);
		}
		free(path);
		client_response_release(&resp);
		return md;
	}
	if (!(md = read_file(arg, len, &err))) {
		cli_error("%s", err);
		free(err);
		return NULL;
	}
	*name = xstrdup(arg);
	return md;
}

int cmd_postmortem_lint(const struct cli_args *a)
{
	char *name = NULL;
	size_t len;
	char *md = pm_source(a, a->pos[0], &len, &name);
	struct pm_finding *f = NULL;
	int errors = 0;
	if (!md)
		return CLI_FAIL;
	size_t n = postmortem_lint(md, len, &f);
	for (size_t i = 0; i < n; i++) {
		printf("%s:%d: %s: %s\n", name, f[i].line, f[i].error ? "error" : "warning",
		       f[i].message);
		errors += f[i].error;
	}
	pm_findings_free(f, n);
	free(md);
	free(name);
	return errors ? CLI_FAIL : CLI_OK;
}

int cmd_postmortem_render(const struct cli_args *a)
{
	const char *out = cli_opt(a, "output");
	char *name = NULL;
	size_t len, hlen;
	char *md = pm_source(a, a->pos[0], &len, &name);
	if (!md)
		return CLI_FAIL;
	char *html = postmortem_render(md, len, &hlen);
	FILE *f = out ? fopen(out, "w") : stdout;
	int rc = f && fwrite(html, 1, hlen, f) == hlen ? CLI_OK : CLI_FAIL;
	if (f && out && fclose(f) != 0)
		rc = CLI_FAIL;
	if (rc != CLI_OK)
		cli_error("cannot write '%s'", out ? out : "the output");
	free(html);
	free(md);
	free(name);
	return rc;
}

/* --- action items ------------------------------------------------------------------- */

static const char *const action_filters[] = { "owner", "status" };

int cmd_actions(const struct cli_args *a)
{
	char *path = cli_path_with(a, "/api/actions", action_filters, ARRAY_SIZE(action_filters));
	if (cli_opt(a, "overdue")) {
		char *with = xasprintf("%s%coverdue=1", path, strchr(path, '?') ? '&' : '?');
		free(path);
		path = with;
	}
	int rc = cli_list_command(a, path, "action_items", action_columns,
				  ARRAY_SIZE(action_columns), "no action items");
	free(path);
	return rc;
}

/* actions done|reopen|decline ID [REASON]: the row's .data is the new status. */
int cmd_action_mark(const struct cli_args *a)
{
	const char *status = a->cmd->data;
	long long id = pm_arg(a, a->pos[0], "an action item");
	if (!id)
		return CLI_USAGE;
	json_t *body = json_pack("{s:s}", "status", status);
	add_reason(body, a);	/* decline's row asks for one */
	if (cli_opt(a, "ticket"))
		json_object_set_new(body, "ticket", json_string(cli_opt(a, "ticket")));
	struct client_response resp;
	json_t *answer = NULL;
	char *path = xasprintf("/api/actions/%lld", id);
	client_response_init(&resp);
	int rc = cli_call("POST", path, body, 1, &resp, &answer);
	if (rc == CLI_OK)
		printf("action item #%lld %s\n", id, status);
	json_decref(answer);
	json_decref(body);
	client_response_release(&resp);
	free(path);
	return rc;
}
