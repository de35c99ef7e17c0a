/*
 * notifier.c - the contact kinds: e-mail over SMTP, webhook, Slack-compatible chat,
 * Microsoft Teams, and texts and calls through the configured HTTP gateway.
 *
 * Every delivery is one curl easy handle that notify.c runs on its multi handle.
 * delivery_init() sets what all kinds share: the attempt's timeout
 * (notify.timeout), no redirects (a 3xx is an answer, never followed), only the
 * protocols the kind needs, and for user-supplied URLs the address guard: curl's
 * open-socket callback sees every address it is about to connect to, after DNS, so
 * loopback, link-local and private ranges are refused even behind a name that
 * resolves there (unless notify.allow_private).
 *
 * Verdicts follow each protocol: HTTP 2xx is delivered, 408, 429 and 5xx are worth
 * retrying, other 4xx are permanent (the next contact method is tried); SMTP 4xx
 * replies are transient and 5xx permanent; timeouts and connection errors retry.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sodium.h>

#include "clock.h"
#include "mail.h"
#include "notifier.h"
#include "server.h"
#include "timeutil.h"
#include "banned.h"

#define ANSWER_MAX 4096		/* what is kept of a provider's answer */

void message_release(struct message *m)
{
	json_decref(m->incident_doc);
	free(m->subject);
	free(m->text);
	free(m->brief);
	free(m->incident_url);
	free(m->ack_url);
	free(m->resolve_url);
	memset(m, 0, sizeof(*m));
}

/* --- the address guard ---------------------------------------------------- */

static int v4_private(uint32_t a)
{
	return (a >> 24) == 127 || (a >> 24) == 10 || (a >> 24) == 0 ||
	       (a >> 20) == (172u << 4 | 1) || (a >> 16) == (192u << 8 | 168) ||
	       (a >> 16) == (169u << 8 | 254) || (a >> 22) == (100u << 2 | 1) ||
	       (a >> 28) >= 14;	/* multicast and reserved */
}

int address_is_private(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return v4_private(ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
	if (sa->sa_family != AF_INET6)
		return 1;
	const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (IN6_IS_ADDR_V4MAPPED(a) || IN6_IS_ADDR_V4COMPAT(a)) {
		uint32_t v4;
		memcpy(&v4, a->s6_addr + 12, 4);
		return v4_private(ntohl(v4));
	}
	return IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_LINKLOCAL(a) ||
	       IN6_IS_ADDR_SITELOCAL(a) || IN6_IS_ADDR_MULTICAST(a) || (a->s6_addr[0] & 0xfe) == 0xfc;
}

static curl_socket_t open_guarded(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
	struct delivery *d = arg;
	if (!d->allow_private && address_is_private(&addr->addr)) {
		char ip[INET6_ADDRSTRLEN] = "?";
		const void *raw = addr->family == AF_INET
					  ? (const void *)&((struct sockaddr_in *)&addr->addr)->sin_addr
					  : (const void *)&((struct sockaddr_in6 *)&addr->addr)->sin6_addr;
		inet_ntop(addr->family, raw, ip, sizeof(ip));
		snprintf(d->refused, sizeof(d->refused), "refused to connect to private address %s",
			 ip);
		return CURL_SOCKET_BAD;
	}
	return socket(addr->family, addr->socktype, addr->protocol);
}

/* --- the easy handle ------------------------------------------------------ */

static size_t keep_answer(char *p, size_t size, size_t n, void *arg)
{
	struct delivery *d = arg;
	size_t len = size * n;
	if (d->in.len < ANSWER_MAX)
		buf_add(&d->in, p, len < ANSWER_MAX - d->in.len ? len : ANSWER_MAX - d->in.len);
	return len;
}

void delivery_init(struct delivery *d, const struct config *cfg, int guard)
{
	d->easy = curl_easy_init();
	if (!d->easy) {
		fputs("tocsin: out of memory creating a curl handle\n", stderr);
		abort();
	}
	d->allow_private = cfg->allow_private;
	curl_easy_setopt(d->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(d->easy, CURLOPT_TIMEOUT_MS, (long)cfg->notify_timeout);
	curl_easy_setopt(d->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(d->easy, CURLOPT_ERRORBUFFER, d->errbuf);
	curl_easy_setopt(d->easy, CURLOPT_WRITEFUNCTION, keep_answer);
	curl_easy_setopt(d->easy, CURLOPT_WRITEDATA, d);
	curl_easy_setopt(d->easy, CURLOPT_USERAGENT, "tocsin/" TOCSIN_VERSION);
	if (guard) {
		curl_easy_setopt(d->easy, CURLOPT_OPENSOCKETFUNCTION, open_guarded);
		curl_easy_setopt(d->easy, CURLOPT_OPENSOCKETDATA, d);
	}
}

void delivery_release(struct delivery *d)
{
	if (d->easy)
		curl_easy_cleanup(d->easy);
	curl_slist_free_all(d->headers);
	curl_slist_free_all(d->rcpt);
	buf_release(&d->out);
	buf_release(&d->in);
	memset(d, 0, sizeof(*d));
}

static void add_header(struct delivery *d, const char *h)
{
	struct curl_slist *l = curl_slist_append(d->headers, h);
	if (!l) {
		fputs("tocsin: out of memory adding a header\n", stderr);
		abort();
	}
	d->headers = l;
}

/* An HTTP POST (or method) of d->out to url, as content_type. */
static void http_request(struct delivery *d, const char *method, const char *url,
			 const char *content_type)
{
	char *ct = xasprintf("Content-Type: %s", content_type);
	add_header(d, ct);
	free(ct);
	add_header(d, "Expect:");	/* no 100-continue round trip */
	curl_easy_setopt(d->easy, CURLOPT_URL, url);
	curl_easy_setopt(d->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(d->easy, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(d->easy, CURLOPT_POSTFIELDS, buf_str(&d->out));
	curl_easy_setopt(d->easy, CURLOPT_POSTFIELDSIZE, (long)d->out.len);
	curl_easy_setopt(d->easy, CURLOPT_HTTPHEADER, d->headers);
}

/* --- verdicts ------------------------------------------------------------- */

/* A transport failure before any answer: refused by the guard, or worth a retry. */
static enum verdict transport(struct delivery *d, CURLcode cc, char **why)
{
	if (d->refused[0]) {
		*why = xasprintf("%s (notify.allow_private is false)", d->refused);
		return PERMANENT;
	}
	*why = xstrdup(d->errbuf[0] ? d->errbuf : curl_easy_strerror(cc));
	return RETRY;
}

static enum verdict http_verdict(struct delivery *d, CURLcode cc, char **why)
{
	long code = 0;
	if (cc != CURLE_OK)
		return transport(d, cc, why);
	curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 200 && code < 300)
		return DELIVERED;
	size_t n = strcspn(buf_str(&d->in), "\r\n");
	*why = xasprintf("HTTP %ld%s%.*s", code, n ? " " : "", (int)(n > 80 ? 80 : n),
			 buf_str(&d->in));
	return code == 408 || code == 429 || code >= 500 ? RETRY : PERMANENT;
}

static enum verdict smtp_verdict(struct delivery *d, CURLcode cc, char **why)
{
	long code = 0;
	if (cc == CURLE_OK)
		return DELIVERED;
	curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &code);
	if (cc == CURLE_LOGIN_DENIED || code >= 500) {
		*why = xasprintf("SMTP %ld: %s", code, d->errbuf[0] ? d->errbuf
								   : curl_easy_strerror(cc));
		return PERMANENT;
	}
	return transport(d, cc, why);
}

/* --- e-mail ---------------------------------------------------------------- */

static size_t read_out(char *p, size_t size, size_t n, void *arg)
{
	struct delivery *d = arg;
	size_t left = d->out.len - d->out_off, want = size * n;
	if (want > left)
		want = left;
	memcpy(p, d->out.s + d->out_off, want);
	d->out_off += want;
	return want;
}

static int email_prepare(struct delivery *d, const struct message *m, char **err)
{
	const struct config *cfg = m->cfg;
	if (!cfg->smtp_url) {
		*err = xstrdup("no 'smtp' in the configuration");
		return -1;
	}
	const char *from = cfg->smtp_from ? cfg->smtp_from : "tocsin@localhost";
	char *mail = mail_build(m, from, m->cm->address, &d->out.len);
	d->out.s = mail;
	d->out.cap = d->out.len + 1;
	char *rcpt = xasprintf("<%s>", m->cm->address), *mfrom = xasprintf("<%s>", from);
	d->rcpt = curl_slist_append(NULL, rcpt);
	curl_easy_setopt(d->easy, CURLOPT_URL, cfg->smtp_url);
	curl_easy_setopt(d->easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(d->easy, CURLOPT_MAIL_FROM, mfrom);
	curl_easy_setopt(d->easy, CURLOPT_MAIL_RCPT, d->rcpt);
	curl_easy_setopt(d->easy, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(d->easy, CURLOPT_READFUNCTION, read_out);
	curl_easy_setopt(d->easy, CURLOPT_READDATA, d);
	curl_easy_setopt(d->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)d->out.len);
	if (cfg->smtp_starttls)
		curl_easy_setopt(d->easy, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (cfg->smtp_username) {
		curl_easy_setopt(d->easy, CURLOPT_USERNAME, cfg->smtp_username);
		curl_easy_setopt(d->easy, CURLOPT_PASSWORD,
				 cfg->smtp_password ? cfg->smtp_password : "");
	}
	free(rcpt);
	free(mfrom);	/* curl copies string options */
	return 0;
}

/* --- webhook ---------------------------------------------------------------- */

char *webhook_signature(const char *secret, int64_t unix_s, const char *body, size_t len)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char hex[2 * sizeof(mac) + 1];
	char t[24];
	crypto_auth_hmacsha256_state st;
	int n = snprintf(t, sizeof(t), "%lld.", (long long)unix_s);
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)t, (unsigned long long)n);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
	return xasprintf("t=%lld,v1=%s", (long long)unix_s, hex);
}

static json_t *links_json(const struct message *m)
{
	return json_pack("{s:s?, s:s?, s:s?}", "incident", m->incident_url, "acknowledge",
			 m->ack_url, "resolve", m->resolve_url);
}

static int webhook_prepare(struct delivery *d, const struct message *m, char **err)
{
	char iso[ISO_LEN], h[128];
	iso_format_utc(m->n->due, iso);
	json_t *doc = json_pack("{s:{s:s, s:I, s:s, s:s, s:s, s:i, s:s}, s:O?, s:o, s:s}",
				"event", "type", m->inc ? "incident.page" : "oncall.shift",
				"notification", (json_int_t)m->n->id, "kind", m->n->kind, "user",
				m->user->id, "contact", m->cm->id, "attempt", m->n->attempts + 1,
				"due", iso, "incident", m->incident_doc, "links", links_json(m),
				"text", m->text);
	char *body = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	buf_adds(&d->out, body);
	free(body);
	snprintf(h, sizeof(h), "Idempotency-Key: tocsin-notification-%lld", (long long)m->n->id);
	add_header(d, h);
	add_header(d, m->inc ? "X-Tocsin-Event: incident.page" : "X-Tocsin-Event: oncall.shift");
	if (m->cm->secret) {
		char *sig = webhook_signature(m->cm->secret, clock_now_ms() / 1000, d->out.s,
					      d->out.len);
		char *hdr = xasprintf("X-Tocsin-Signature: %s", sig);
		add_header(d, hdr);
		free(hdr);
		free(sig);
	}
	http_request(d, "POST", m->cm->url, "application/json");
	return 0;
}

/* --- chat ------------------------------------------------------------------- */

/* "<url|label>" links for Slack's mrkdwn. */
static void slack_links(struct buf *b, const struct message *m)
{
	if (m->incident_url)
		buf_addf(b, "\n<%s|Open incident> | <%s|Acknowledge> | <%s|Resolve>",
			 m->incident_url, m->ack_url, m->resolve_url);
}

static int slack_prepare(struct delivery *d, const struct message *m, char **err)
{
	struct buf text = BUF_INIT;
	buf_addf(&text, "*%s*\n%s", m->subject, m->text);
	slack_links(&text, m);
	json_t *doc = json_pack("{s:s, s:[{s:s, s:{s:s, s:s}}]}", "text", m->subject, "blocks",
				"type", "section", "text", "type", "mrkdwn", "text", text.s);
	char *body = json_dumps(doc, JSON_COMPACT);
	buf_adds(&d->out, body);
	free(body);
	json_decref(doc);
	buf_release(&text);
	http_request(d, "POST", m->cm->url, "application/json");
	return 0;
}

static json_t *teams_action(const char *title, const char *url)
{
	return json_pack("{s:s, s:s, s:s}", "type", "Action.OpenUrl", "title", title, "url", url);
}

static int teams_prepare(struct delivery *d, const struct message *m, char **err)
{
	json_t *actions = json_array();
	if (m->incident_url) {
		json_array_append_new(actions, teams_action("Open incident", m->incident_url));
		json_array_append_new(actions, teams_action("Acknowledge", m->ack_url));
		json_array_append_new(actions, teams_action("Resolve", m->resolve_url));
	}
	json_t *card = json_pack(
		"{s:s, s:s, s:s, s:[{s:s, s:s, s:s, s:s, s:b}, {s:s, s:s, s:b}], s:o}", "$schema",
		"http://adaptivecards.io/schemas/adaptive-card.json", "type", "AdaptiveCard",
		"version", "1.4", "body", "type", "TextBlock", "text", m->subject, "weight",
		"Bolder", "size", "Medium", "wrap", 1, "type", "TextBlock", "text", m->text, "wrap",
		1, "actions", actions);
	json_t *doc = json_pack("{s:s, s:[{s:s, s:n, s:o}]}", "type", "message", "attachments",
				"contentType", "application/vnd.microsoft.card.adaptive",
				"contentUrl", "content", card);
	char *body = json_dumps(doc, JSON_COMPACT);
	buf_adds(&d->out, body);
	free(body);
	json_decref(doc);
	http_request(d, "POST", m->cm->url, "application/json");
	return 0;
}

/* --- texts and calls through the gateway ----------------------------------- */

/* Appends v escaped for a JSON string (template is JSON) or a form/query value. */
static void add_escaped(struct buf *b, const char *v, int json)
{
	if (json) {
		struct buf q = BUF_INIT;
		buf_add_json_string(&q, v);
		buf_add(b, q.s + 1, q.len - 2);	/* without its quotes */
		buf_release(&q);
		return;
	}
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-._~", *p))
			buf_addc(b, (char)*p);
		else
			buf_addf(b, "%%%02X", *p);
	}
}

static int is_json_template(const char *tmpl)
{
	char c = tmpl[strspn(tmpl, " \t\r\n")];
	return c == '{' || c == '[';
}

void gateway_fill(struct buf *b, const char *tmpl, const char *number, const char *text,
		  const char *type)
{
	const char *names[] = { "{{number}}", "{{text}}", "{{type}}" };
	const char *values[] = { number, text, type };
	int json = is_json_template(tmpl);
	for (const char *p = tmpl; *p;) {
		size_t i;
		for (i = 0; i < ARRAY_SIZE(names); i++)
			if (!strncmp(p, names[i], strlen(names[i])))
				break;
		if (i == ARRAY_SIZE(names)) {
			buf_addc(b, *p++);
			continue;
		}
		add_escaped(b, values[i], json);
		p += strlen(names[i]);
	}
}

static int gateway_prepare(struct delivery *d, const struct message *m, char **err)
{
	const struct config *cfg = m->cfg;
	if (!cfg->sms_url) {
		*err = xstrdup("no 'sms_gateway' in the configuration");
		return -1;
	}
	const char *tmpl = cfg->sms_body ? cfg->sms_body : "{\"to\":\"{{number}}\",\"text\":\"{{text}}\"}";
	gateway_fill(&d->out, tmpl, m->cm->address, m->brief, contact_type_name(m->cm->type));
	for (size_t i = 0; i < cfg->sms_headers.n; i++)
		add_header(d, cfg->sms_headers.v[i]);
	http_request(d, cfg->sms_method, cfg->sms_url,
		     is_json_template(tmpl) ? "application/json"
					    : "application/x-www-form-urlencoded");
	return 0;
}

/* The server's own relays (SMTP, the gateway) are the admin's; users' URLs are
 * guarded. */
static const struct notifier notifiers[] = {
	{ CONTACT_EMAIL, 0, 0, email_prepare, smtp_verdict },
	{ CONTACT_WEBHOOK, 1, 0, webhook_prepare, http_verdict },
	{ CONTACT_SLACK, 1, 0, slack_prepare, http_verdict },
	{ CONTACT_TEAMS, 1, 0, teams_prepare, http_verdict },
	{ CONTACT_SMS, 0, 1, gateway_prepare, http_verdict },
	{ CONTACT_VOICE, 0, 1, gateway_prepare, http_verdict },
};

const struct notifier *notifier_for(enum contact_type t)
{
	for (size_t i = 0; i < ARRAY_SIZE(notifiers); i++)
		if (notifiers[i].type == t)
			return &notifiers[i];
	return NULL;
}
