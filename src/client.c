/*
 * client.c - the CLI's HTTP client over libcurl's easy interface.
 *
 * The CLI makes one request per run, so a blocking easy handle is all it needs (the
 * daemon's outgoing traffic uses the multi interface elsewhere).  A request is set
 * up in three steps: the URL and limits, the headers (auth, content type), the
 * method and body; the answer is collected by two callbacks that cap the body and
 * pick the one header the CLI reads, X-Tocsin-Time-Zone.
 *
 * The token is only ever copied into the Authorization header list, which is freed
 * with the request; error messages name the base URL, never a header.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>
#include <jansson.h>

#include "client.h"
#include "banned.h"

#define TZ_HEADER "X-Tocsin-Time-Zone"
#define USER_AGENT "tocsin-cli/0.1.0"

/* What the callbacks write into during one transfer. */
struct transfer {
	struct client_response *out;
	int too_large;
};

static char *env_or_null(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? xstrdup(v) : NULL;
}

void client_init(struct client *c)
{
	char *url = env_or_null("TOCSIN_URL");
	size_t len;

	if (!url)
		url = xstrdup(CLIENT_DEFAULT_URL);
	len = strlen(url);
	while (len > 0 && url[len - 1] == '/')
		url[--len] = '\0';
	c->base_url = url;
	c->token = env_or_null("TOCSIN_TOKEN");
}

void client_release(struct client *c)
{
	free(c->base_url);
	free(c->token);
	c->base_url = NULL;
	c->token = NULL;
}

void client_response_init(struct client_response *r)
{
	r->status = 0;
	buf_init(&r->body);
	r->time_zone = NULL;
}

void client_response_release(struct client_response *r)
{
	buf_release(&r->body);
	free(r->time_zone);
	r->time_zone = NULL;
	r->status = 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct transfer *t = arg;
	size_t n = size * nmemb;

	if (t->out->body.len + n > CLIENT_BODY_MAX) {
		t->too_large = 1;
		return 0;	/* curl stops with CURLE_WRITE_ERROR */
	}
	buf_add(&t->out->body, data, n);
	return n;
}

/* Keeps the time-zone header; a new status line (after a 1xx) starts over. */
static size_t on_header(char *line, size_t size, size_t nmemb, void *arg)
{
	struct transfer *t = arg;
	size_t n = size * nmemb, name_len = strlen(TZ_HEADER);
	const char *v, *end = line + n;

	if (n >= 5 && !strncmp(line, "HTTP/", 5)) {
		free(t->out->time_zone);
		t->out->time_zone = NULL;
	}
	if (n <= name_len || line[name_len] != ':' || strncasecmp(line, TZ_HEADER, name_len))
		return n;
	for (v = line + name_len + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	free(t->out->time_zone);
	t->out->time_zone = end > v ? xstrndup(v, (size_t)(end - v)) : NULL;
	return n;
}

static struct curl_slist *request_headers(const struct client *c, int auth, int has_body)
{
	struct curl_slist *h = NULL;
	char *bearer;

	h = curl_slist_append(h, "Accept: application/json");
	/* An empty "Name:" removes a header curl would add on its own. */
	h = curl_slist_append(h, has_body ? "Content-Type: application/json" : "Content-Type:");
	h = curl_slist_append(h, "Expect:");
	if (auth && c->token) {
		bearer = xasprintf("Authorization: Bearer %s", c->token);
		h = curl_slist_append(h, bearer);
		free(bearer);
	}
	return h;
}

/* GET has no body; any other method sends json_body or an empty one. */
static void request_method(CURL *curl, const char *method, const char *json_body)
{
	if (!strcmp(method, "GET")) {
		curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
		return;
	}
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json_body ? json_body : "");
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
			 (curl_off_t)(json_body ? strlen(json_body) : 0));
	if (strcmp(method, "POST"))
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
}

static void request_setup(CURL *curl, const char *url, struct transfer *t)
{
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)CLIENT_TIMEOUT_S);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)CLIENT_TIMEOUT_S);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, t);
}

int client_request(struct client *c, const char *method, const char *path,
		   const char *json_body, int auth, struct client_response *out, char **err)
{
	struct transfer t = { .out = out, .too_large = 0 };
	struct curl_slist *headers = NULL;
	char *url = xasprintf("%s%s", c->base_url, path);
	CURL *curl = NULL;
	CURLcode cc;
	int rc = -1;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	curl = curl_easy_init();
	if (!curl) {
		*err = xstrdup("cannot start libcurl");
		goto out;
	}
	request_setup(curl, url, &t);
	headers = request_headers(c, auth, json_body != NULL);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	request_method(curl, method, json_body);
	cc = curl_easy_perform(curl);
	if (t.too_large) {
		*err = xasprintf("answer from tocsin at %s is larger than %u bytes", c->base_url,
				 CLIENT_BODY_MAX);
		goto out;
	}
	if (cc != CURLE_OK) {
		*err = xasprintf("cannot reach tocsin at %s: %s", c->base_url,
				 curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
	rc = 0;
out:
	curl_slist_free_all(headers);
	if (curl)
		curl_easy_cleanup(curl);
	curl_global_cleanup();
	free(url);
	return rc;
}

/* "a; b; c" from a JSON array of strings (other members, or a non-array, add nothing). */
static void join_errors(struct buf *out, json_t *errors)
{
	const char *sep = "";
	json_t *e;
	size_t i;

	json_array_foreach(errors, i, e) {
		if (!json_is_string(e))
			continue;
		buf_addf(out, "%s%s", sep, json_string_value(e));
		sep = "; ";
	}
}

char *client_response_error(const struct client_response *r)
{
	json_t *root = json_loads(buf_str(&r->body), 0, NULL);
	const char *msg = json_string_value(json_object_get(root, "message"));
	json_t *errors = json_object_get(root, "errors");
	struct buf out = BUF_INIT, details = BUF_INIT;

	if (msg && *msg)
		buf_adds(&out, msg);
	else
		buf_addf(&out, "HTTP %ld", r->status);
	join_errors(&details, errors);
	if (details.len)
		buf_addf(&out, ": %s", details.s);
	buf_release(&details);
	json_decref(root);
	return buf_detach(&out, NULL);
}

void client_escape(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	/* Unreserved characters, and ',' which separates list values (status=a,b). */
	for (p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~,", *p)) {
			buf_addc(out, (char)*p);
			continue;
		}
		buf_addc(out, '%');
		buf_addc(out, hex[*p >> 4]);
		buf_addc(out, hex[*p & 15]);
	}
}
