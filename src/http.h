/*
 * http.h - a small HTTP server interface over libmicrohttpd.
 *
 * Only http.c includes microhttpd.h.  The rest of tocsin sees a request (method,
 * path, headers, query, the whole body) and answers it with http_reply*().  The
 * transport limits of DESIGN.md are enforced here, before any handler runs: a body
 * over HTTP_BODY_MAX is answered 413 without being read, request headers over
 * HTTP_HEADERS_MAX are answered 431, each with a JSON error naming the limit.
 *
 * A handler either replies before it returns, or calls http_suspend(): the
 * connection is parked (no thread is held) until someone calls http_resume() from
 * any thread, then on_resume() runs on an HTTP thread and must reply.  That is how
 * a request waits for its group commit without tying up the thread pool.
 */
#ifndef TOCSIN_HTTP_H
#define TOCSIN_HTTP_H

#include <stddef.h>

#define HTTP_BODY_MAX (512 * 1000)	/* PagerDuty's 512 KB */
#define HTTP_HEADERS_MAX (8 * 1024)

struct http_server;
struct http_request;

typedef void (*http_dispatch_fn)(void *ctx, struct http_request *req);
typedef void (*http_resume_fn)(struct http_request *req, void *arg);
/* Told of every response as it is queued: the request's tag and the status. */
typedef void (*http_replied_fn)(void *ctx, int tag, int status);

/* Starts listening on "host:port" ("[::1]:8080" for IPv6) with threads workers;
 * on_reply (may be NULL) is told of every response. */
struct http_server *http_start(const char *listen, unsigned threads, http_dispatch_fn dispatch,
			       http_replied_fn on_reply, void *ctx, char **err);
/* Stops accepting, waits up to drain_ms for suspended requests, then stops. */
void http_stop(struct http_server *h, int drain_ms);

const char *http_method(const struct http_request *r);
const char *http_path(const struct http_request *r);
/* Case-insensitive header lookup; NULL when absent. */
const char *http_header(const struct http_request *r, const char *name);
/* A query-string argument, decoded; NULL when absent. */
const char *http_query(const struct http_request *r, const char *name);
/* The whole body (NUL-terminated for convenience); *len excludes the NUL. */
const char *http_body(const struct http_request *r, size_t *len);
/* The peer's address as text. */
const char *http_remote(const struct http_request *r);

/* Adds a response header (copied). */
void http_add_header(struct http_request *r, const char *name, const char *value);
/* Replies with a copy of body. */
void http_reply(struct http_request *r, int status, const char *content_type,
		const char *body, size_t len);
/* Replies with body, which the server frees. */
void http_reply_take(struct http_request *r, int status, const char *content_type, char *body,
		     size_t len);
/* Replies {"status":"error","message":msg,"errors":[detail]} (detail may be NULL). */
void http_reply_error(struct http_request *r, int status, const char *msg, const char *detail);
int http_replied(const struct http_request *r);

void http_suspend(struct http_request *r, http_resume_fn on_resume, void *arg);
void http_resume(struct http_request *r);

/* Marks the request for the on_reply hook (e.g. which route it took). */
void http_set_tag(struct http_request *r, int tag);

/* Per-request scratch pointer for the application, freed by free_fn at the end. */
void http_set_data(struct http_request *r, void *data, void (*free_fn)(void *));

#endif
