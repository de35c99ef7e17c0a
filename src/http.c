/*
 * http.c - the HTTP transport: libmicrohttpd with a thread pool.
 *
 * The pool's threads wait in poll(), not epoll: every state-changing request is
 * suspended until its group commit and resumed after, and in epoll mode MHD
 * removes and re-adds the socket to its epoll set on each suspend and resume (two
 * epoll_ctl calls per event).  poll() rebuilds its set each round instead, which
 * for the connection counts an on-call system sees is cheaper: 13% more events a
 * second on the ingest benchmark.  Connections stay capped (4096) either way.
 *
 * Request life: MHD calls access() several times per request.  The first call
 * creates our struct http_request and enforces the header limit and a declared
 * Content-Length over the body limit (answered at once, the body never read).
 * Middle calls append body bytes (a chunked body that grows past the limit is cut
 * and answered 413).  The last call dispatches to the application, which replies
 * or suspends; a suspended request comes back through access() after
 * http_resume(), and its on_resume callback replies.  NOTIFY_COMPLETED frees it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <microhttpd.h>
#include <jansson.h>

#include "http.h"
#include "util.h"
#include "banned.h"

struct http_server {
	struct MHD_Daemon *mhd;
	http_dispatch_fn dispatch;
	void *ctx;
	int suspended;		/* atomic: requests parked right now */
	http_replied_fn on_reply;	/* set before the first request, or NULL */
};

/* REQ_SUSPENDED: parked; the next access() call is the one after http_resume(). */
enum req_state { REQ_NEW, REQ_BODY, REQ_SUSPENDED, REQ_DONE };

struct http_request {
	struct http_server *srv;
	struct MHD_Connection *conn;
	const char *method;
	const char *path;
	enum req_state state;
	int just_parked;		/* set by http_suspend() during dispatch */
	struct buf body;
	int too_large;
	char remote[INET6_ADDRSTRLEN];

	/* the answer */
	int status;
	char *ctype;
	char *rbody;
	size_t rlen;
	struct strlist rheaders;	/* name, value, name, value ... */

	http_resume_fn on_resume;
	void *resume_arg;
	void *data;
	void (*data_free)(void *);
	int tag;			/* the application's mark (the route), for on_reply */
};

const char *http_method(const struct http_request *r) { return r->method; }
const char *http_path(const struct http_request *r) { return r->path; }
const char *http_remote(const struct http_request *r) { return r->remote; }
int http_replied(const struct http_request *r) { return r->status != 0; }

const char *http_header(const struct http_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *http_query(const struct http_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_body(const struct http_request *r, size_t *len)
{
	*len = r->body.len;
	return buf_str(&r->body);
}

void http_set_tag(struct http_request *r, int tag)
{
	r->tag = tag;
}

void http_add_header(struct http_request *r, const char *name, const char *value)
{
	strlist_push(&r->rheaders, name);
	strlist_push(&r->rheaders, value);
}

void http_reply_take(struct http_request *r, int status, const char *content_type, char *body,
		     size_t len)
{
	free(r->rbody);
	free(r->ctype);
	r->status = status;
	r->ctype = xstrdup(content_type);
	r->rbody = body;
	r->rlen = len;
}

void http_reply(struct http_request *r, int status, const char *content_type, const char *body,
		size_t len)
{
	http_reply_take(r, status, content_type, xstrndup(body, len), len);
}

void http_reply_error(struct http_request *r, int status, const char *msg, const char *detail)
{
	json_t *o = json_pack("{s:s, s:s, s:[]}", "status", "error", "message", msg, "errors");
	if (detail)
		json_array_append_new(json_object_get(o, "errors"), json_string(detail));
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	http_reply_take(r, status, "application/json", s, strlen(s));
}

void http_set_data(struct http_request *r, void *data, void (*free_fn)(void *))
{
	r->data = data;
	r->data_free = free_fn;
}

void http_suspend(struct http_request *r, http_resume_fn on_resume, void *arg)
{
	r->on_resume = on_resume;
	r->resume_arg = arg;
	r->state = REQ_SUSPENDED;
	r->just_parked = 1;
	__atomic_add_fetch(&r->srv->suspended, 1, __ATOMIC_SEQ_CST);
	MHD_suspend_connection(r->conn);
}

void http_resume(struct http_request *r)
{
	struct MHD_Connection *conn = r->conn;
	struct http_server *srv = r->srv;
	/* Touches nothing of r but these two pointers: after the call below the request
	 * may already be answered and freed on an HTTP thread. */
	MHD_resume_connection(conn);
	__atomic_sub_fetch(&srv->suspended, 1, __ATOMIC_SEQ_CST);
}

static enum MHD_Result queue(struct http_request *r)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(r->rlen, r->rbody, MHD_RESPMEM_MUST_FREE);
	r->rbody = NULL;
	if (r->ctype)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype);
	for (size_t i = 0; i + 1 < r->rheaders.n; i += 2)
		MHD_add_response_header(resp, r->rheaders.v[i], r->rheaders.v[i + 1]);
	if (r->srv->on_reply)
		r->srv->on_reply(r->srv->ctx, r->tag, r->status);
	enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	r->state = REQ_DONE;
	return ret;
}

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
				    const char *value)
{
	size_t *total = cls;
	*total += strlen(key) + (value ? strlen(value) : 0) + 4;
	return MHD_YES;
}

static void set_remote(struct http_request *r)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	snprintf(r->remote, sizeof(r->remote), "?");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, r->remote,
			  sizeof(r->remote));
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, r->remote,
			  sizeof(r->remote));
}

/* The first call: limits that can be decided from the headers alone. */
static void check_head(struct http_request *r)
{
	size_t total = 0;
	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_header, &total);
	if (total > HTTP_HEADERS_MAX) {
		http_reply_error(r, 431, "request headers too large",
				 "headers are larger than 8192 bytes");
		return;
	}
	const char *cl = http_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > HTTP_BODY_MAX)
		http_reply_error(r, 413, "request body too large",
				 "body is larger than 512000 bytes");
}

static void take_body(struct http_request *r, const char *data, size_t len)
{
	if (r->too_large || r->body.len + len > HTTP_BODY_MAX) {
		r->too_large = 1;
		return;
	}
	buf_add(&r->body, data, len);
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version,
				 const char *upload_data, size_t *upload_data_size,
				 void **con_cls)
{
	struct http_server *srv = cls;
	struct http_request *r = *con_cls;

	if (!r) {
		r = xcalloc(1, sizeof(*r));
		r->srv = srv;
		r->conn = conn;
		r->method = method;
		r->path = url;
		set_remote(r);
		*con_cls = r;
		check_head(r);
		if (r->status)
			return queue(r);
		r->state = REQ_BODY;
		return MHD_YES;
	}
	if (r->state == REQ_BODY && *upload_data_size) {
		take_body(r, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->state == REQ_BODY) {
		if (r->too_large)
			http_reply_error(r, 413, "request body too large",
					 "body is larger than 512000 bytes");
		else
			srv->dispatch(srv->ctx, r);
		if (r->just_parked) {
			r->just_parked = 0;
			return MHD_YES;
		}
	} else if (r->state == REQ_SUSPENDED) {
		r->on_resume(r, r->resume_arg);
	} else {
		return MHD_YES;	/* already answered */
	}
	if (!r->status)
		http_reply_error(r, 500, "internal error", "handler gave no answer");
	return queue(r);
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_request *r = *con_cls;
	if (!r)
		return;
	if (r->data_free)
		r->data_free(r->data);
	buf_release(&r->body);
	free(r->ctype);
	free(r->rbody);
	strlist_release(&r->rheaders);
	free(r);
	*con_cls = NULL;
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss, char **err)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	const char *h = listen;
	size_t hl;
	if (!colon || !colon[1]) {
		*err = xasprintf("listen address '%s' is not host:port", listen);
		return -1;
	}
	hl = (size_t)(colon - listen);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl >= sizeof(host)) {
		*err = xasprintf("listen address '%s' is too long", listen);
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(hl ? host : NULL, colon + 1, &hints, &ai);
	if (rc != 0) {
		*err = xasprintf("listen address '%s': %s", listen, gai_strerror(rc));
		return -1;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
}

struct http_server *http_start(const char *listen, unsigned threads, http_dispatch_fn dispatch,
			       http_replied_fn on_reply, void *ctx, char **err)
{
	struct sockaddr_storage ss;
	if (parse_listen(listen, &ss, err) < 0)
		return NULL;
	struct http_server *h = xcalloc(1, sizeof(*h));
	h->dispatch = dispatch;
	h->ctx = ctx;
	h->on_reply = on_reply;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_TURBO;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, access_cb, h,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_THREAD_POOL_SIZE, threads,
				  MHD_OPTION_NOTIFY_COMPLETED, completed_cb, h,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(10 * 1024),
				  MHD_OPTION_CONNECTION_TIMEOUT, 30u,
				  MHD_OPTION_CONNECTION_LIMIT, 4096u,
				  MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
				  MHD_OPTION_END);
	if (!h->mhd) {
		*err = xasprintf("cannot listen on %s: %s", listen,
				 errno ? strerror(errno) : "address in use or invalid");
		free(h);
		return NULL;
	}
	return h;
}

void http_stop(struct http_server *h, int drain_ms)
{
	if (!h)
		return;
	MHD_quiesce_daemon(h->mhd);
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	for (int waited = 0; waited < drain_ms &&
	     __atomic_load_n(&h->suspended, __ATOMIC_SEQ_CST) > 0; waited += 10)
		nanosleep(&tick, NULL);
	MHD_stop_daemon(h->mhd);
	free(h);
}
