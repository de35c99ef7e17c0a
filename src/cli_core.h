/*
 * cli_core.h - what the CLI's command files share (cli.c, cli_pm.c): the command
 * table's row, the parsed command line, the call to the daemon and the tables for
 * people.  Not an interface for anything outside the CLI.
 */
#ifndef TOCSIN_CLI_CORE_H
#define TOCSIN_CLI_CORE_H

#include <stdio.h>
#include <jansson.h>

#include "cli.h"
#include "client.h"
#include "util.h"

#define OPTS_MAX 8		/* options one command may have */

struct cli_option {
	const char *name;	/* long name, without "--" */
	char letter;		/* short name, 0: none */
	int flag;		/* takes no value */
	int required;
};

struct cli_command;

/* A parsed command line: option values by the index of the option in its table
 * (a flag that is set reads ""), positional arguments borrowed from argv. */
struct cli_args {
	const struct cli_command *cmd;
	const char *val[OPTS_MAX];
	char **pos;
	int npos;
};

struct cli_command {
	const char *name;
	int (*run)(const struct cli_args *a);
	const struct cli_option *opts;	/* ends with { NULL }; NULL: none */
	int min_pos, max_pos;		/* positional arguments; max -1: any number */
	const char *usage;		/* after "tocsin " */
	const char *help;
	const void *data;		/* handler-specific, e.g. which action */
};


/* How a JSON member becomes text in a table cell. */
enum cell_kind { CELL_TEXT, CELL_TIME, CELL_COUNT };

struct column {
	const char *header;
	const char *key;	/* member of each JSON object */
	enum cell_kind kind;
	int right;		/* align right */
};

/* "tocsin: message" on stderr. */
void cli_error(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* Says what is wrong with the command line, then how to write it; returns 2. */
int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* The value of option name ("" for a set flag), NULL when not given. */
const char *cli_opt(const struct cli_args *a, const char *name);
/* A positive decimal number, digits only: 0, or -1. */
int cli_parse_count(const char *s, long long *out);
/* "#42" or "42", the number of what ("an incident"); prints the usage error itself. */
int cli_number_arg(const struct cli_args *a, const char *s, const char *what, long long *n);

/*
 * One request to the daemon.  body (borrowed, may be NULL) is sent as JSON.  On a
 * 2xx answer returns CLI_OK, with *answer (when asked) the parsed object, which the
 * caller decrefs; otherwise prints why on stderr and returns CLI_FAIL.  resp is
 * filled either way and released by the caller.
 */
int cli_call(const char *method, const char *path, json_t *body, int auth,
	     struct client_response *resp, json_t **answer);
/* The zone the server asked times to be shown in; UTC when unnamed or unknown. */
const char *cli_answer_zone(const struct client_response *r);
/* path?name=value&... for the options named that are set. */
char *cli_path_with(const struct cli_args *a, const char *path, const char *const *names,
		    size_t n);

/* Text of any JSON value: strings as they are, arrays joined by ", ", null "-". */
void cli_json_text(struct buf *out, json_t *v);
/* An ISO instant in zone tz ("2026-11-22 10:00 CET"); what cannot be read as is. */
void cli_time_text(struct buf *out, json_t *v, const char *tz);
void cli_print_json(json_t *v);
/* The objects of rows as a table of cols, with a header row when header is set. */
void cli_print_rows(const struct column *cols, size_t ncols, json_t *rows, const char *tz,
		    int header, const char *indent);
/* "  label:  value" lines, one per column (its header the label) of obj. */
void cli_print_fields(const struct column *cols, size_t n, json_t *obj, const char *tz);
/* GETs path and prints its array member key: as JSON with --json, else as a table
 * of cols (or `empty` when there is nothing). */
int cli_list_command(const struct cli_args *a, const char *path, const char *key,
		     const struct column *cols, size_t ncols, const char *empty);

/* The postmortem and action item commands (cli_pm.c).  The step commands' rows
 * carry a struct pm_step in .data. */
struct pm_step {
	const char *step;	/* in the path: /api/postmortems/N/STEP */
	const char *done;	/* what the command prints it did */
};
extern const struct pm_step pm_redraft, pm_submit, pm_approve, pm_reopen, pm_publish, pm_close;
int cmd_postmortem_new(const struct cli_args *a);
int cmd_postmortem_list(const struct cli_args *a);
int cmd_postmortem_show(const struct cli_args *a);
int cmd_postmortem_edit(const struct cli_args *a);
int cmd_postmortem_set(const struct cli_args *a);
int cmd_postmortem_history(const struct cli_args *a);
int cmd_postmortem_step(const struct cli_args *a);
int cmd_postmortem_lint(const struct cli_args *a);
int cmd_postmortem_render(const struct cli_args *a);
int cmd_actions(const struct cli_args *a);
int cmd_action_mark(const struct cli_args *a);

#endif
