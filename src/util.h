/*
 * util.h - allocation that never returns NULL, a growable byte buffer, string lists.
 *
 * Out-of-memory is decided once, here: x*alloc() abort with a message, so the rest of
 * the code carries no NULL checks for allocation.  Anything sized by a client (bodies,
 * JSON, plugin output) is capped *before* it is allocated and becomes a clean 4xx.
 */
#ifndef TOCSIN_UTIL_H
#define TOCSIN_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define WARN_UNUSED __attribute__((warn_unused_result))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a newly allocated formatted string; the caller frees it. */
char *xasprintf(const char *fmt, ...) PRINTF_LIKE(1, 2);
char *xvasprintf(const char *fmt, va_list ap);

/*
 * struct buf - a growable byte buffer, always NUL-terminated.
 * buf_init() leaves it empty without allocating; buf_release() frees the storage and
 * leaves it empty again; buf_detach() hands the storage to the caller (who frees it)
 * and leaves the buffer empty.
 */
struct buf {
	char *s;
	size_t len;
	size_t cap;
};
#define BUF_INIT { NULL, 0, 0 }
void buf_init(struct buf *b);
void buf_release(struct buf *b);
char *buf_detach(struct buf *b, size_t *len);
void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_addf(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
void buf_reset(struct buf *b);
/* Appends s as a JSON string literal, quotes included (UTF-8 passes through). */
void buf_add_json_string(struct buf *b, const char *s);
/* Appends s with < > & " escaped for HTML text and attributes (s may be NULL). */
void buf_add_html(struct buf *b, const char *s);
/* b->s, or "" when nothing was ever added. */
const char *buf_str(const struct buf *b);

/*
 * struct strlist - an owned array of owned strings.
 */
struct strlist {
	char **v;
	size_t n;
	size_t cap;
};
#define STRLIST_INIT { NULL, 0, 0 }
void strlist_push(struct strlist *l, const char *s);		/* copies s */
void strlist_push_take(struct strlist *l, char *s);		/* takes s */
void strlist_pushf(struct strlist *l, const char *fmt, ...) PRINTF_LIKE(2, 3);
int strlist_has(const struct strlist *l, const char *s);
void strlist_release(struct strlist *l);

/* Logging to stderr with a UTC timestamp.  Never pass a secret. */
void log_info(const char *fmt, ...) PRINTF_LIKE(1, 2);
void log_warn(const char *fmt, ...) PRINTF_LIKE(1, 2);
void log_error(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* Mutes log_info (tests and benchmarks); warnings and errors still print. */
void log_set_quiet(int quiet);

/* Reads a whole file; returns NULL and sets *err (caller frees) on failure. */
char *read_file(const char *path, size_t *len, char **err);

#endif
