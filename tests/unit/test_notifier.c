/*
 * The pieces of paging that must be exactly right: the webhook signature, the
 * address guard, the gateway template's escaping and the mail's encoding.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "mail.h"
#include "notifier.h"

Test(notifier, webhook_signature_is_hmac_sha256_of_time_dot_body)
{
	/* the expected value was computed independently (Python hmac) */
	char *sig = webhook_signature("s3cr3t", 1700000000, "{\"a\":1}", 7);
	cr_assert_str_eq(sig, "t=1700000000,v1=8dbbbbf4523b10bbb793e74d854144c45acccc2d233667b1c06b805b6ded8a84");
	free(sig);
}

static int private4(const char *ip)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	cr_assert_eq(inet_pton(AF_INET, ip, &a.sin_addr), 1);
	return address_is_private((struct sockaddr *)&a);
}

static int private6(const char *ip)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6 };
	cr_assert_eq(inet_pton(AF_INET6, ip, &a.sin6_addr), 1);
	return address_is_private((struct sockaddr *)&a);
}

Test(notifier, the_guard_refuses_loopback_private_link_local_and_metadata)
{
	const char *refused4[] = { "127.0.0.1", "127.9.9.9", "10.1.2.3", "172.16.0.1",
				   "172.31.255.255", "192.168.1.1", "169.254.169.254", "0.0.0.0",
				   "100.64.0.1", "224.0.0.1", "255.255.255.255" };
	const char *allowed4[] = { "8.8.8.8", "172.32.0.1", "172.15.255.255", "192.169.0.1",
				   "100.128.0.1", "93.184.216.34" };
	for (size_t i = 0; i < ARRAY_SIZE(refused4); i++)
		cr_assert(private4(refused4[i]), "%s must be refused", refused4[i]);
	for (size_t i = 0; i < ARRAY_SIZE(allowed4); i++)
		cr_assert_not(private4(allowed4[i]), "%s must be allowed", allowed4[i]);
	cr_assert(private6("::1"));
	cr_assert(private6("fe80::1"));
	cr_assert(private6("fd00::1"));
	cr_assert(private6("::ffff:127.0.0.1"), "v4-mapped loopback");
	cr_assert(private6("::ffff:10.0.0.1"));
	cr_assert_not(private6("2606:4700::1111"));
	cr_assert_not(private6("::ffff:8.8.8.8"));
}

Test(notifier, gateway_template_escapes_for_json_or_forms)
{
	struct buf b = BUF_INIT;
	gateway_fill(&b, "{\"to\":\"{{number}}\",\"text\":\"{{text}}\",\"t\":\"{{type}}\"}",
		     "+1555", "say \"hi\"\nnow", "sms");
	json_t *doc = json_loads(b.s, 0, NULL);
	cr_assert_not_null(doc, "not JSON: %s", b.s);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "to")), "+1555");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "text")), "say \"hi\"\nnow");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "t")), "sms");
	json_decref(doc);
	buf_reset(&b);
	gateway_fill(&b, "to={{number}}&msg={{text}}", "+1555", "a b&c=d", "voice");
	cr_assert_str_eq(b.s, "to=%2B1555&msg=a%20b%26c%3Dd");
	buf_release(&b);
}

static char *mail_of(const char *title)
{
	struct incident inc = { .number = 7, .title = (char *)title };
	struct notification n = { .id = 3 };
	struct message m = { .n = &n, .inc = &inc, .subject = (char *)title,
			     .text = (char *)title };
	size_t len;
	return mail_build(&m, "pager@example.org", "alice@example.org", &len);
}

Test(notifier, mail_threads_by_incident_and_encodes_what_is_not_ascii)
{
	char *plain = mail_of("disk full");
	cr_assert(strstr(plain, "Message-ID: <notification-3@example.org>\r\n"));
	cr_assert(strstr(plain, "References: <incident-7@example.org>\r\n"));
	cr_assert(strstr(plain, "Subject: disk full\r\n"));
	cr_assert(strstr(plain, "Content-Transfer-Encoding: 7bit\r\n"));
	cr_assert_null(strstr(plain, "base64"));
	cr_assert_null(strstr(strstr(plain, "\r\n\r\n"), "\n\n"), "no bare LF line ends");
	free(plain);
	char *utf8 = mail_of("Caf\xc3\xa9 en panne");
	cr_assert(strstr(utf8, "Subject: =?UTF-8?B?Q2Fmw6kgZW4gcGFubmU=?=\r\n"));
	cr_assert(strstr(utf8, "Content-Transfer-Encoding: base64\r\n"));
	free(utf8);
	char *dot = mail_of(".starts with a dot");	/* SMTP's end of data: encoded */
	cr_assert(strstr(dot, "Content-Transfer-Encoding: base64\r\n"));
	free(dot);
}
