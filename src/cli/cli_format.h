/* Text formatting for the client commands: the progress line, times and
 * ages, and cleaning text from the server before it reaches a terminal.
 * Nothing here does I/O except cli_terminal_width.
 *
 * Widths count one column per UTF-8 code point.
 * NOTE: East Asian wide characters take two terminal columns, so a line
 * with them can be wider than its budget and wrap. */
#ifndef TASKRELAY_CLI_FORMAT_H
#define TASKRELAY_CLI_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Copies text into out (out_len bytes, always NUL-terminated) with every
 * control character replaced by a space. The copy is cut to at most
 * max_columns columns, and a cut text ends in "...". max_columns 0 means
 * no limit besides out_len. Invalid UTF-8 becomes U+FFFD. Returns the
 * columns written. */
size_t cli_text_fit(const char *text, size_t max_columns, char *out, size_t out_len);

/* Returns the number of columns text takes: its UTF-8 code points. */
size_t cli_text_columns(const char *text);

/* Writes the progress line "[#####-----]  40%  running  page loaded" into
 * out. percent is clamped to 0-100. The line is at most width columns:
 * the message is cut first, and below 40 columns the bar is left out.
 * label is the status as it should be shown, such as "running" or
 * "pending, attempt 2". */
void cli_format_progress(char *out, size_t out_len, int width, int percent, const char *label,
                         const char *message);

/* Parses "2026-12-04T19:53:56.123Z" (the milliseconds are optional) into
 * milliseconds since the Unix epoch. Returns -1 for any other form. */
int cli_parse_time_ms(const char *text, int64_t *epoch_ms);

/* Writes an age such as "45s", "12m", "3h" or "9d", rounded down. A
 * negative age (clock skew) is written as "0s". */
void cli_format_age(int64_t age_ms, char *out, size_t out_len);

/* Returns the width of the terminal on file, else $COLUMNS, else 80. */
int cli_terminal_width(FILE *file);

#endif
