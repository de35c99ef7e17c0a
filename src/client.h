/*
 * client.h - the CLI's HTTP client: one blocking request at a time to a tocsin daemon.
 *
 * Only client.c includes curl.h; the CLI sees a base URL, a token, and a response
 * (status, body, the server's time zone).  The daemon is found through the
 * environment: TOCSIN_URL (default http://127.0.0.1:8080) and TOCSIN_TOKEN.
 * The token is a secret: it goes into the Authorization header and nowhere else
 * (never into a message, never into curl's verbose output).
 */
#ifndef TOCSIN_CLIENT_H
#define TOCSIN_CLIENT_H

#include "util.h"

#define CLIENT_DEFAULT_URL "http://127.0.0.1:8080"
#define CLIENT_TIMEOUT_S 30
/* A response body larger than this is refused rather than buffered. */
#define CLIENT_BODY_MAX (64u * 1024 * 1024)

/*
 * struct client - where the daemon is and how to prove who we are.
 * client_init() fills both from the environment (base_url without a trailing
 * slash; token NULL when TOCSIN_TOKEN is unset or empty); client_release() frees
 * them.
 */
struct client {
	char *base_url;
	char *token;
};

void client_init(struct client *c);
void client_release(struct client *c);

/*
 * struct client_response - one answer.  status is the HTTP status; body is the
 * whole body, NUL-terminated; time_zone is the X-Tocsin-Time-Zone header value or
 * NULL when the server did not send one.  client_response_release() frees it all.
 */
struct client_response {
	long status;
	struct buf body;
	char *time_zone;
};

void client_response_init(struct client_response *r);
void client_response_release(struct client_response *r);

/*
 * Sends method to base_url + path (path starts with '/', already escaped; see
 * client_escape()).  json_body, when not NULL, is sent as application/json.  With
 * auth set and a token known, sends "Authorization: Bearer <token>".
 * Returns 0 when an answer arrived, whatever its status (out is filled); -1 when
 * none did (cannot connect, timeout, body too large): *err says why, the caller
 * frees it.  out must have been initialised with client_response_init().
 */
int client_request(struct client *c, const char *method, const char *path,
		   const char *json_body, int auth, struct client_response *out,
		   char **err) WARN_UNUSED;

/*
 * The error an unsuccessful answer carries, as one line: the JSON error's
 * "message", then ": " and its "errors" joined by "; " when there are any
 * ("Event object is invalid: payload.summary is missing").  A body that is not
 * such JSON gives "HTTP <status>".  The caller frees the result.
 */
char *client_response_error(const struct client_response *r);

/* Appends s to out percent-encoded for a path segment or a query value; ","
 * is kept as it is, since list values (status=a,b) are written with it. */
void client_escape(struct buf *out, const char *s);

#endif
