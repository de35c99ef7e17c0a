/*
 * mail.c - builds the e-mail of a page (see mail.h).
 *
 * A body that is plain ASCII in short lines goes as it is (7bit, readable in any
 * mail source), anything else as base64, so that no line length or 8-bit rule of
 * any relay can hurt it; the subject is RFC 2047 encoded when it is not ASCII.  The HTML part
 * carries the same text, escaped, with the incident link and the one-click
 * acknowledge and resolve links as buttons.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "clock.h"
#include "mail.h"
#include "timeutil.h"
#include "banned.h"

/* The part of an address after '@', for Message-IDs; "localhost" when none. */
static const char *domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at && at[1] ? at + 1 : "localhost";
}

static int is_ascii_text(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return 0;
	return 1;
}

static void add_base64(struct buf *b, const void *data, size_t len, size_t line)
{
	size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *enc = xmalloc(cap);
	sodium_bin2base64(enc, cap, data, len, sodium_base64_VARIANT_ORIGINAL);
	size_t n = strlen(enc);
	for (size_t i = 0; i < n; i += line) {
		buf_add(b, enc + i, n - i < line ? n - i : line);
		buf_adds(b, "\r\n");
	}
	free(enc);
}

static void add_subject(struct buf *b, const char *subject)
{
	if (is_ascii_text(subject)) {
		buf_addf(b, "Subject: %s\r\n", subject);
		return;
	}
	size_t cap = sodium_base64_ENCODED_LEN(strlen(subject), sodium_base64_VARIANT_ORIGINAL);
	char *enc = xmalloc(cap);
	sodium_bin2base64(enc, cap, (const unsigned char *)subject, strlen(subject),
			  sodium_base64_VARIANT_ORIGINAL);
	buf_addf(b, "Subject: =?UTF-8?B?%s?=\r\n", enc);
	free(enc);
}

static void add_html_escaped(struct buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': buf_adds(b, "&lt;"); break;
		case '>': buf_adds(b, "&gt;"); break;
		case '&': buf_adds(b, "&amp;"); break;
		case '"': buf_adds(b, "&quot;"); break;
		case '\n': buf_adds(b, "<br>\n"); break;
		default: buf_addc(b, *s);
		}
	}
}

static void add_button(struct buf *b, const char *url, const char *label)
{
	buf_adds(b, "<a href=\"");
	add_html_escaped(b, url);
	buf_addf(b, "\" style=\"display:inline-block;padding:8px 14px;margin-right:8px;"
		    "border-radius:4px;background:#b3261e;color:#fff;text-decoration:none\">%s</a>",
		 label);
}

static char *html_body(const struct message *m)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, "<!DOCTYPE html>\n<html><body style=\"font-family:sans-serif\">\n<h2>");
	add_html_escaped(&b, m->subject);
	buf_adds(&b, "</h2>\n<p>");
	add_html_escaped(&b, m->text);
	buf_adds(&b, "</p>\n");
	if (m->incident_url) {
		buf_adds(&b, "<p>");
		add_button(&b, m->ack_url, "Acknowledge");
		add_button(&b, m->resolve_url, "Resolve");
		add_button(&b, m->incident_url, "Open incident");
		buf_adds(&b, "</p>\n");
	}
	buf_adds(&b, "</body></html>\n");
	return buf_detach(&b, NULL);
}

static char *text_body(const struct message *m)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s\n\n%s\n", m->subject, m->text);
	if (m->incident_url)
		buf_addf(&b, "\nAcknowledge: %s\nResolve:     %s\nIncident:    %s\n", m->ack_url,
			 m->resolve_url, m->incident_url);
	return buf_detach(&b, NULL);
}

/* Plain ASCII, lines well under SMTP's 998, no line that SMTP would take for its
 * end of data: safe to send as it is. */
static int is_7bit(const char *s)
{
	size_t line = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\n') {
			line = 0;
			continue;
		}
		if (*p > 0x7e || (*p < 0x20 && *p != '\t') || ++line > 900 || (line == 1 && *p == '.'))
			return 0;
	}
	return 1;
}

static void add_part(struct buf *b, const char *boundary, const char *type, const char *body)
{
	int plain = is_7bit(body);
	buf_addf(b, "--%s\r\nContent-Type: %s; charset=utf-8\r\nContent-Transfer-Encoding: %s"
		    "\r\n\r\n", boundary, type, plain ? "7bit" : "base64");
	if (!plain) {
		add_base64(b, body, strlen(body), 76);
		return;
	}
	for (const char *p = body; *p; p++)	/* LF to CRLF */
		if (*p == '\n')
			buf_adds(b, "\r\n");
		else
			buf_addc(b, *p);
	if (b->len < 2 || b->s[b->len - 1] != '\n')
		buf_adds(b, "\r\n");
}

char *mail_build(const struct message *m, const char *from, const char *to, size_t *len)
{
	struct buf b = BUF_INIT;
	const char *domain = domain_of(from);
	char date[64], boundary[48];
	time_t now = (time_t)(clock_now_ms() / 1000);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	snprintf(boundary, sizeof(boundary), "tocsin-%lld-%lld", (long long)m->n->id,
		 (long long)now);
	buf_addf(&b, "From: tocsin <%s>\r\nTo: <%s>\r\nDate: %s\r\n", from, to, date);
	add_subject(&b, m->subject);
	buf_addf(&b, "Message-ID: <notification-%lld@%s>\r\n", (long long)m->n->id, domain);
	if (m->inc)
		buf_addf(&b, "In-Reply-To: <incident-%lld@%s>\r\nReferences: <incident-%lld@%s>\r\n"
			     "X-Tocsin-Incident: %lld\r\n",
			 (long long)m->inc->number, domain, (long long)m->inc->number, domain,
			 (long long)m->inc->number);
	buf_addf(&b, "Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n"
		     "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n", boundary);
	char *text = text_body(m), *html = html_body(m);
	add_part(&b, boundary, "text/plain", text);
	add_part(&b, boundary, "text/html", html);
	buf_addf(&b, "--%s--\r\n", boundary);
	free(text);
	free(html);
	return buf_detach(&b, len);
}
