/* Allocation that aborts on failure, clocks, and a growable byte buffer. */
#ifndef TASKRELAY_UTIL_H
#define TASKRELAY_UTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Allocation failure of these fixed or bounded sizes is not recoverable:
 * they print a message and abort. Anything sized by a client is bounded
 * by the caller first. */
void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t len);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Wall-clock milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t now_ms(void);
/* Milliseconds from an arbitrary start that never goes back (CLOCK_MONOTONIC). */
int64_t mono_ms(void);
void sleep_ms(int64_t ms);
/* Initialises a condition variable whose timed waits use CLOCK_MONOTONIC,
 * and computes such a deadline timeout_ms from now. */
void cond_init_monotonic(pthread_cond_t *cond);
void mono_deadline_after(struct timespec *deadline, int64_t timeout_ms);

/* Writes "2026-12-04T19:53:56.123Z" (UTC) into buf; needs 25 bytes. */
void format_time_ms(int64_t epoch_ms, char *buf, size_t buf_len);

/* A growable byte buffer, always NUL-terminated after len bytes. */
struct strbuf {
    char *data;
    size_t len;
    size_t cap;
};

void strbuf_init(struct strbuf *sb);
void strbuf_append(struct strbuf *sb, const void *data, size_t len);
void strbuf_appendf(struct strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void strbuf_reset(struct strbuf *sb);
void strbuf_free(struct strbuf *sb);

/* Copies len bytes of src into a new NUL-terminated string in which every
 * invalid UTF-8 sequence and every NUL byte is replaced by U+FFFD. The
 * caller frees the result. Used on text from task programs, which may be
 * any bytes, before it goes into JSON. */
char *utf8_sanitize(const char *src, size_t len, size_t *out_len);

/* Returns 1 when the len bytes are valid UTF-8 without NUL bytes. */
int utf8_valid(const char *src, size_t len);

/* Parses a whole decimal integer within [min, max]; returns -1 otherwise. */
int parse_int64(const char *text, int64_t min, int64_t max, int64_t *out);

/* Splits "HOST:PORT" into its parts; host_len must allow the host and NUL.
 * Returns -1 when the text has no port or the port is not 0-65535. */
int parse_host_port(const char *text, char *host, size_t host_len, int *port);

/* Writes len bytes from a good random source as lowercase hex into out
 * (2 * len + 1 bytes). Returns -1 if no random source could be read. */
int random_hex(char *out, size_t len);

/* Returns 1 when name is 1 to max_len characters of [A-Za-z0-9._-], the
 * alphabet of kind, worker and artifact names. */
int name_chars_valid(const char *name, size_t max_len);

/* Compares two tokens in time that does not depend on where they differ. */
int token_equal(const char *a, const char *b);

#endif
