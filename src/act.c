/*
 * act.c - one-click action links (see act.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "act.h"
#include "clock.h"
#include "incident.h"
#include "timeutil.h"
#include "banned.h"

#define MAC_BYTES 16
#define TOKEN_MAX 128

static int put_key(struct store_tx *tx, struct store_job *job)
{
	return tx->ops->setting_put(tx->conn, "act_key", job->arg, ACT_KEY_BYTES);
}

int act_init(struct server *srv, char **err)
{
	struct buf key = BUF_INIT;
	struct store_conn *c = store_read_begin(srv->store);
	int rc = c ? store_ops(srv->store)->setting_get(c, "act_key", &key) : STORE_FAULT;
	store_read_end(srv->store, c);
	if (rc == STORE_FOUND && key.len == ACT_KEY_BYTES) {
		memcpy(srv->act_key, key.s, ACT_KEY_BYTES);
	} else if (rc != STORE_FAULT) {
		randombytes_buf(srv->act_key, ACT_KEY_BYTES);
		rc = store_run(srv->store, put_key, srv->act_key);
	}
	buf_release(&key);
	if (rc == STORE_FAULT)
		*err = xstrdup("cannot read or store the key that signs action links");
	return rc == STORE_FAULT ? -1 : 0;
}

/* hex of the first MAC_BYTES of HMAC-SHA256(key, payload) */
static void sign(const unsigned char *key, const char *payload, char hex[2 * MAC_BYTES + 1])
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, ACT_KEY_BYTES);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)payload, strlen(payload));
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(hex, 2 * MAC_BYTES + 1, mac, MAC_BYTES);
}

char *act_link(const struct server *srv, const char *public_url, const struct notification *n,
	       const char *action)
{
	char payload[80], mac[2 * MAC_BYTES + 1];
	snprintf(payload, sizeof(payload), "%lld.%s.%lld", (long long)n->id, action,
		 (long long)((n->created_at + ACT_TTL_MS) / 1000));
	sign(srv->act_key, payload, mac);
	return xasprintf("%s/act/%s.%s", public_url, payload, mac);
}

/* A parsed, verified token. */
struct act_token {
	char payload[TOKEN_MAX];	/* "N.ACTION.EXPIRES": the single-use key */
	int64_t notification;
	int resolve;			/* 0: ack */
	int64_t expires_ms;
};

/* Parses and checks the token: 0, or -1 after replying 404 (forged, malformed) or
 * 410 (expired). */
static int read_token(struct server *srv, struct http_request *req, const char *tok,
		      struct act_token *t);

static void reply_page(struct http_request *req, int status, const char *title,
		       const char *body_html)
{
	char *page = xasprintf("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
			       "<meta name=\"viewport\" content=\"width=device-width\">"
			       "<title>%s</title></head>\n<body style=\"font-family:sans-serif;"
			       "max-width:40em;margin:2em auto\">\n<h1>%s</h1>\n%s\n</body></html>\n",
			       title, title, body_html);
	http_add_header(req, "Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
	http_add_header(req, "Cache-Control", "no-store");
	http_reply_take(req, status, "text/html; charset=utf-8", page, strlen(page));
}

static int read_token(struct server *srv, struct http_request *req, const char *tok,
		      struct act_token *t)
{
	const char *dot = strrchr(tok, '.');
	char mac[2 * MAC_BYTES + 1], action[16];
	long long id = 0, exp = 0;
	memset(t, 0, sizeof(*t));
	if (!dot || (size_t)(dot - tok) >= sizeof(t->payload) || strlen(dot + 1) != 2 * MAC_BYTES)
		goto forged;
	memcpy(t->payload, tok, (size_t)(dot - tok));
	sign(srv->act_key, t->payload, mac);
	if (sodium_memcmp(mac, dot + 1, 2 * MAC_BYTES) != 0)
		goto forged;
	if (sscanf(t->payload, "%lld.%15[a-z].%lld", &id, action, &exp) != 3 ||
	    (strcmp(action, "ack") && strcmp(action, "resolve")))
		goto forged;
	t->notification = id;
	t->resolve = !strcmp(action, "resolve");
	t->expires_ms = (int64_t)exp * 1000;
	if (clock_now_ms() >= t->expires_ms) {
		reply_page(req, 410, "This link has expired",
			   "<p>Links in pages work for 24 hours. Open the incident in tocsin "
			   "or use <code>tocsin ack</code>.</p>");
		return -1;
	}
	return 0;
forged:
	reply_page(req, 404, "Unknown link", "<p>This is not a tocsin action link.</p>");
	return -1;
}


static const char *verb(const struct act_token *t)
{
	return t->resolve ? "Resolve" : "Acknowledge";
}

void act_show(struct server *srv, struct http_request *req, const struct route_ctx *ctx)
{
	struct act_token t;
	struct notification n = { 0 };
	struct incident inc = { 0 };
	if (read_token(srv, req, ctx->params[0], &t) < 0)
		return;
	struct store_conn *c = store_read_begin(srv->store);
	const struct store_ops *ops = store_ops(srv->store);
	int rc = c ? ops->notification_get(c, t.notification, &n) : STORE_FAULT;
	if (rc == STORE_FOUND)
		rc = ops->incident_get(c, n.incident, &inc);
	store_read_end(srv->store, c);
	if (rc != STORE_FOUND) {
		reply_page(req, rc == STORE_FAULT ? 503 : 404, "Not available",
			   "<p>The incident of this link cannot be read now.</p>");
		goto out;
	}
	struct buf b = BUF_INIT;
	char *title = xasprintf("%s incident #%lld?", verb(&t), (long long)inc.number);
	buf_adds(&b, "<p><b>");
	buf_add_html(&b, inc.title);
	buf_addf(&b, "</b></p>\n<p>Service %s, now <b>%s</b>.</p>\n", inc.service,
		 incident_status_name(inc.status));
	buf_addf(&b, "<form method=\"post\"><button type=\"submit\" style=\"font-size:1.2em;"
		     "padding:.5em 1em\">%s as %s</button></form>", verb(&t), n.user);
	reply_page(req, 200, title, b.s);
	free(title);
	buf_release(&b);
out:
	notification_release(&n);
	incident_release(&inc);
}

struct act_call {
	struct act_token t;
	int64_t incident;
	char *user;
};

#define ACT_EUSED (-410)

static void act_call_free(void *p)
{
	struct act_call *a = p;
	free(a->user);
	free(a);
}

static int act_apply(struct tx_call *c, struct store_tx *tx)
{
	struct act_call *a = c->data;
	struct notification n = { 0 };
	int rc = tx->ops->notification_get(tx->conn, a->t.notification, &n);
	if (rc == STORE_NOTFOUND) {
		c->err = xstrdup("the page of this link is gone");
		rc = INCIDENT_ENOTFOUND;
	}
	if (rc == STORE_FOUND)
		rc = tx->ops->act_use(tx->conn, a->t.payload, n.user, clock_now_ms());
	if (rc == STORE_FOUND) {
		c->err = xstrdup("this link was used already");
		rc = ACT_EUSED;
	}
	if (rc == STORE_OK) {
		struct action act = { .kind = a->t.resolve ? ACT_RESOLVE : ACT_ACK,
				      .number = n.incident, .actor = n.user };
		a->incident = n.incident;
		a->user = xstrdup(n.user);
		rc = incident_apply_action(tx, c->cfg, &act, clock_now_ms(), &c->err);
	}
	notification_release(&n);
	return rc;
}

static void act_answer(struct tx_call *c, struct http_request *req)
{
	struct act_call *a = c->data;
	struct buf b = BUF_INIT;
	if (c->rc == STORE_FAULT) {
		reply_page(req, 503, "Try again", "<p>The store is not answering; nothing was done."
						  " Try again in a moment.</p>");
		return;
	}
	if (c->rc < 0) {
		buf_adds(&b, "<p>");
		buf_add_html(&b, c->err);
		buf_adds(&b, ".</p>");
		reply_page(req, c->rc == ACT_EUSED ? 410 : -c->rc, "Nothing was done", b.s);
	} else {
		char *title = xasprintf("Incident #%lld %s", (long long)a->incident,
					a->t.resolve ? "resolved" : "acknowledged");
		buf_addf(&b, "<p>Done, as %s. It is on the incident's timeline.</p>", a->user);
		reply_page(req, 200, title, b.s);
		free(title);
	}
	buf_release(&b);
}

void act_do(struct server *srv, struct http_request *req, const struct route_ctx *ctx)
{
	struct act_call *a = xcalloc(1, sizeof(*a));
	if (read_token(srv, req, ctx->params[0], &a->t) < 0) {
		act_call_free(a);
		return;
	}
	struct tx_call *c = tx_call_new(server_config(srv), act_apply, act_answer, a,
					     act_call_free);
	c->job.savepoint = 1;	/* a refused action leaves no recorded use */
	server_run_tx(srv, req, c);
}
