#include "cli/cli_live.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_format.h"
#include "common/util.h"

/* Width of the progress line when stderr is not a terminal. */
#define PIPE_LINE_WIDTH 100

struct cli_live {
    int is_tty;        /* stderr is a terminal, so the line is redrawn in place */
    int log_is_tty;    /* stdout is a terminal, so task output is cleaned first */
    int show_log;
    int line_on_screen; /* a progress line is drawn and not ended by a newline */
    char last_line[2048];

    int64_t log_attempt;
    int64_t log_next_offset; /* bytes of log_attempt's output already taken */
    struct strbuf log_partial; /* output after the last newline, not printed yet */
};

struct cli_live *cli_live_new(int show_log)
{
    struct cli_live *live = xcalloc(1, sizeof(*live));

    live->is_tty = isatty(STDERR_FILENO);
    live->log_is_tty = isatty(STDOUT_FILENO);
    live->show_log = show_log;
    strbuf_init(&live->log_partial);
    return live;
}

void cli_live_free(struct cli_live *live)
{
    if (!live)
        return;
    strbuf_free(&live->log_partial);
    free(live);
}

/* Removes the progress line from the terminal so other text can go there. */
static void clear_line(struct cli_live *live)
{
    if (live->is_tty && live->line_on_screen) {
        fputs("\r\033[K", stderr);
        live->line_on_screen = 0;
    }
}

static void draw_line(struct cli_live *live)
{
    if (!live->last_line[0])
        return;
    if (live->is_tty) {
        fprintf(stderr, "\r%s\033[K", live->last_line);
        live->line_on_screen = 1;
    } else {
        fprintf(stderr, "%s\n", live->last_line);
    }
    fflush(stderr);
}

void cli_live_show(struct cli_live *live, const char *status, int64_t attempt, int64_t progress,
                   const char *message)
{
    char label[64];
    char line[sizeof(live->last_line)];
    int width = live->is_tty ? cli_terminal_width(stderr) - 1 : PIPE_LINE_WIDTH;

    if (attempt > 1)
        snprintf(label, sizeof(label), "%s, attempt %lld", status, (long long)attempt);
    else
        snprintf(label, sizeof(label), "%s", status);
    cli_format_progress(line, sizeof(line), width, (int)progress, label, message);
    if (strcmp(line, live->last_line) == 0)
        return;

    snprintf(live->last_line, sizeof(live->last_line), "%s", line);
    draw_line(live);
}

static const char *string_field(json_t *task, const char *key, const char *fallback)
{
    const char *value = json_string_value(json_object_get(task, key));

    return value ? value : fallback;
}

void cli_live_show_task(struct cli_live *live, json_t *task)
{
    cli_live_show(live, string_field(task, "status", "unknown"),
                  json_integer_value(json_object_get(task, "attempt")),
                  json_integer_value(json_object_get(task, "progress")),
                  string_field(task, "message", ""));
}

/* Writes lines of task output to stdout. On a terminal, control
 * characters other than tab are replaced, so a task cannot move the
 * cursor or change the terminal's settings. */
static void write_output(struct cli_live *live, const char *text, size_t len)
{
    char *clean;

    clear_line(live);
    if (!live->log_is_tty) {
        fwrite(text, 1, len, stdout);
    } else {
        clean = utf8_sanitize(text, len, NULL);
        for (char *p = clean; *p; p++) {
            unsigned char c = (unsigned char)*p;

            if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F)
                *p = ' ';
        }
        fputs(clean, stdout);
        free(clean);
    }
    fflush(stdout);
}

static void flush_partial(struct cli_live *live)
{
    if (live->log_partial.len == 0)
        return;
    strbuf_append(&live->log_partial, "\n", 1);
    write_output(live, live->log_partial.data, live->log_partial.len);
    strbuf_reset(&live->log_partial);
}

void cli_live_log(struct cli_live *live, int64_t attempt, int64_t offset, const char *text,
                  size_t len)
{
    const char *last_newline;
    size_t skip;

    if (!live->show_log || attempt < live->log_attempt)
        return;
    if (attempt > live->log_attempt) {
        flush_partial(live);
        live->log_attempt = attempt;
        live->log_next_offset = 0;
    }
    if (offset + (int64_t)len <= live->log_next_offset)
        return;
    /* NOTE: a gap (offset beyond what was printed) means output was missed
     * while the stream was down, and the missing bytes are not fetched again. */
    skip = offset < live->log_next_offset ? (size_t)(live->log_next_offset - offset) : 0;
    live->log_next_offset = offset + (int64_t)len;
    strbuf_append(&live->log_partial, text + skip, len - skip);

    last_newline = memrchr(live->log_partial.data, '\n', live->log_partial.len);
    if (!last_newline)
        return;
    size_t complete_len = (size_t)(last_newline - live->log_partial.data) + 1;

    write_output(live, live->log_partial.data, complete_len);
    memmove(live->log_partial.data, live->log_partial.data + complete_len,
            live->log_partial.len - complete_len + 1);
    live->log_partial.len -= complete_len;
    if (live->is_tty)
        draw_line(live);
}

void cli_live_notice(struct cli_live *live, const char *text)
{
    clear_line(live);
    fprintf(stderr, "taskrelay: %s\n", text);
    if (live->is_tty)
        draw_line(live);
}

void cli_live_end(struct cli_live *live)
{
    flush_partial(live);
    if (live->is_tty && live->last_line[0]) {
        if (!live->line_on_screen)
            draw_line(live);
        fputc('\n', stderr);
        live->line_on_screen = 0;
    }
    fflush(stderr);
}
