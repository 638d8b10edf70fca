/* The progress channel of a task: the program writes lines to fd 3, each
 * either "PERCENT [MESSAGE]" or a JSON object {"progress": N, "message": "..."}.
 * PERCENT is a number from 0 to 100 (a fraction is cut off, a trailing '%'
 * is allowed). */
#ifndef TASKRELAY_PROGRESS_LINE_H
#define TASKRELAY_PROGRESS_LINE_H

#include <stddef.h>

/* Maximum line length in bytes; a longer line is reported invalid as a
 * whole. */
#define PROGRESS_LINE_MAX_LEN 8192

struct progress_update {
    int percent;   /* 0-100 */
    char *message; /* valid UTF-8, at most LIMIT_MESSAGE_LEN bytes, or NULL; owned */
};

/* Parses one line without its newline. Returns 0 and fills out, or -1 with
 * the reason in err. Invalid UTF-8 in the message is replaced and a longer
 * message is cut at a character boundary. */
int progress_line_parse(const char *line, size_t len, struct progress_update *out, char *err,
                        size_t err_len);

void progress_update_free(struct progress_update *update);

/* Cuts text in place to at most max_len bytes without splitting a UTF-8
 * sequence; returns the new length. text must be valid UTF-8. */
size_t utf8_truncate(char *text, size_t len, size_t max_len);

/* Splits a byte stream into lines. */
struct progress_reader {
    char line[PROGRESS_LINE_MAX_LEN];
    size_t len;
    int overlong; /* the current line passed the maximum and is being skipped */
};

/* Called for each whole line; overlong is 1 for a line that was too long
 * (then line holds only its start). */
typedef void (*progress_line_fn)(const char *line, size_t len, int overlong, void *arg);

void progress_reader_init(struct progress_reader *reader);
void progress_reader_feed(struct progress_reader *reader, const char *data, size_t len,
                          progress_line_fn on_line, void *arg);
/* Passes a last line that has no newline, at end of stream. */
void progress_reader_finish(struct progress_reader *reader, progress_line_fn on_line,
                            void *arg);

#endif
