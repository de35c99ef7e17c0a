/*
 * notifier.h - the kinds of contact method: how one delivery becomes one request.
 *
 * notifiers[] (notifier.c) has one row per contact type, like curl's protocol
 * handlers: prepare() fills a curl easy handle from a struct message (what to say)
 * and verdict() reads the outcome.  Email goes over SMTP; webhook, slack, teams and
 * the sms/voice gateway over HTTP.  To add a kind, add a row.
 */
#ifndef TOCSIN_NOTIFIER_H
#define TOCSIN_NOTIFIER_H

#include <curl/curl.h>
#include <jansson.h>

#include "config.h"
#include "model.h"
#include "util.h"

/* What one delivery says, built by notify.c from the store. */
struct message {
	const struct config *cfg;
	const struct user *user;
	const struct contact_method *cm;
	const struct notification *n;
	const struct incident *inc;	/* NULL for a shift notice */
	json_t *incident_doc;		/* the SHOWN JSON of the incident, or NULL */
	char *subject;			/* one line */
	char *text;			/* plain text, several lines */
	char *brief;			/* a text message: one short line with the ack link */
	char *incident_url, *ack_url, *resolve_url;	/* NULL for a shift notice */
};
void message_release(struct message *m);

/* One request in flight; notify.c owns it, the notifier fills it. */
struct delivery {
	CURL *easy;
	struct curl_slist *headers;
	struct curl_slist *rcpt;
	struct buf out;			/* the request body / the mail */
	size_t out_off;
	struct buf in;			/* the answer, capped */
	char errbuf[CURL_ERROR_SIZE];
	char refused[96];		/* set when the address guard refused a connection */
	int allow_private;
};

enum verdict { DELIVERED, RETRY, PERMANENT };

struct notifier {
	enum contact_type type;
	int guarded;		/* the URL is the user's: the address guard applies */
	int throttled;		/* texts and calls: the per-contact throttle applies */
	/* Fills d->easy (and its buffers) for m; -1 with *err when it cannot be sent. */
	int (*prepare)(struct delivery *d, const struct message *m, char **err);
	/* How a finished request went; *why (caller frees) says what failed. */
	enum verdict (*verdict)(struct delivery *d, CURLcode cc, char **why);
};

const struct notifier *notifier_for(enum contact_type t);

/* Common easy handle set-up: timeout, no redirects, protocols, the address guard. */
void delivery_init(struct delivery *d, const struct config *cfg, int guard);
void delivery_release(struct delivery *d);

/* The signature header value of a webhook body: "t=UNIX,v1=HEX". */
char *webhook_signature(const char *secret, int64_t unix_s, const char *body, size_t len);

/* The gateway body: tmpl with {{number}}, {{text}} and {{type}} replaced, escaped
 * for a JSON string when tmpl is JSON ('{' or '[' first), else URL-encoded. */
void gateway_fill(struct buf *b, const char *tmpl, const char *number, const char *text,
		  const char *type);

/* True when an address must not be reached without notify.allow_private. */
int address_is_private(const struct sockaddr *sa);

#endif
