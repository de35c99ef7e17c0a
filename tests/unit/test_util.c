/* util.c: the buffer, string lists and the JSON string writer. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "util.h"

static char *json_of(const char *s)
{
	struct buf b = BUF_INIT;
	buf_add_json_string(&b, s);
	return buf_detach(&b, NULL);
}

Test(util, json_string_escapes_quotes_backslashes_and_controls)
{
	char *s = json_of("a\"b\\c\n\x01" "\xc3\xa9");
	cr_assert_str_eq(s, "\"a\\\"b\\\\c\\u000a\\u0001\xc3\xa9\"");
	free(s);
	s = json_of("");
	cr_assert_str_eq(s, "\"\"");
	free(s);
}

Test(util, buf_grows_and_detaches)
{
	struct buf b = BUF_INIT;
	cr_assert_str_eq(buf_str(&b), "");
	for (int i = 0; i < 1000; i++)
		buf_addf(&b, "%d,", i);
	cr_assert_eq(b.len, 3890);
	size_t len;
	char *s = buf_detach(&b, &len);
	cr_assert_eq(len, 3890);
	cr_assert_eq(b.len, 0);
	cr_assert_null(b.s);
	free(s);
}

Test(util, strlist_has_and_release)
{
	struct strlist l = STRLIST_INIT;
	strlist_push(&l, "a");
	strlist_pushf(&l, "%s-%d", "b", 2);
	cr_assert(strlist_has(&l, "b-2"));
	cr_assert_not(strlist_has(&l, "c"));
	strlist_release(&l);
	cr_assert_eq(l.n, 0);
}
