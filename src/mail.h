/*
 * mail.h - the e-mail of a page: RFC 5322 headers, a plain-text and an HTML part.
 */
#ifndef TOCSIN_MAIL_H
#define TOCSIN_MAIL_H

#include <stddef.h>

#include "notifier.h"

/*
 * The whole message, CRLF line ends, ready for SMTP DATA; *len its length; the
 * caller frees it.  Message-ID is stable for one delivery (retries resend the same
 * id) and every mail of one incident names the same thread root in In-Reply-To and
 * References, so mail clients show an incident as one thread.
 */
char *mail_build(const struct message *m, const char *from, const char *to, size_t *len);

#endif
