/*
 * cli.h - the `tocsin` command line: every sub-command, client and server side.
 *
 * cli_main() dispatches argv through one table of commands (cli.c), which also
 * prints `tocsin help`.  Client commands talk to a running daemon through the HTTP
 * API of docs/API.md (see client.h for TOCSIN_URL and TOCSIN_TOKEN); server
 * commands (serve, config check, token create) run in this process.
 */
#ifndef TOCSIN_CLI_H
#define TOCSIN_CLI_H

/* Exit statuses, the contract of DESIGN.md section 4. */
enum cli_status {
	CLI_OK = 0,		/* done */
	CLI_FAIL = 1,		/* the operation failed; the reason is on stderr */
	CLI_USAGE = 2,		/* bad command line; the usage is on stderr */
};

/* Runs one command line; returns the process exit status. */
int cli_main(int argc, char **argv);

#endif
