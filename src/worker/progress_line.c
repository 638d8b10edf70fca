#include "worker/progress_line.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_util.h"
#include "common/limits.h"
#include "common/util.h"

size_t utf8_truncate(char *text, size_t len, size_t max_len)
{
    if (len <= max_len)
        return len;
    len = max_len;
    /* Step back over continuation bytes to the start of the cut sequence. */
    while (len > 0 && ((unsigned char)text[len] & 0xc0) == 0x80)
        len--;
    text[len] = '\0';
    return len;
}

static char *clean_message(const char *text, size_t len)
{
    size_t clean_len;
    char *clean;

    if (len == 0)
        return NULL;
    clean = utf8_sanitize(text, len, &clean_len);
    utf8_truncate(clean, clean_len, LIMIT_MESSAGE_LEN);
    return clean;
}

static int parse_json_line(const char *line, size_t len, struct progress_update *out,
                           char *err, size_t err_len)
{
    json_error_t jerr;
    json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    json_t *progress;
    json_t *message;
    double value;
    int rc = -1;

    if (!root || !json_is_object(root)) {
        snprintf(err, err_len, "not a JSON object: %s", root ? "another JSON value" : jerr.text);
        goto out;
    }
    progress = json_object_get(root, "progress");
    if (!json_is_number(progress)) {
        snprintf(err, err_len, "field 'progress' must be a number from 0 to 100");
        goto out;
    }
    value = json_number_value(progress);
    if (!(value >= 0 && value <= 100)) {
        snprintf(err, err_len, "progress %g is outside 0 to 100", value);
        goto out;
    }
    message = json_object_get(root, "message");
    if (message && !json_is_null(message) && !json_is_string(message)) {
        snprintf(err, err_len, "field 'message' must be a string");
        goto out;
    }

    out->percent = (int)value; /* value >= 0, so the cast cuts the fraction off */
    out->message = message && json_is_string(message)
                       ? clean_message(json_string_value(message), json_string_length(message))
                       : NULL;
    rc = 0;
out:
    json_decref(root);
    return rc;
}

/* Parses "PERCENT[%] [MESSAGE]" with PERCENT as digits and an optional
 * fraction. */
static int parse_text_line(const char *line, size_t len, struct progress_update *out,
                           char *err, size_t err_len)
{
    size_t i = 0;
    long whole = 0;
    int digits = 0;

    while (i < len && line[i] >= '0' && line[i] <= '9') {
        if (whole <= 100)
            whole = whole * 10 + (line[i] - '0');
        digits++;
        i++;
    }
    if (digits == 0) {
        snprintf(err, err_len, "a line must start with a percentage from 0 to 100");
        return -1;
    }
    if (i < len && line[i] == '.') {
        size_t fraction_start = ++i;

        while (i < len && line[i] >= '0' && line[i] <= '9')
            i++;
        if (i == fraction_start) {
            snprintf(err, err_len, "a '.' in the percentage needs digits after it");
            return -1;
        }
        if (whole == 100 && strspn(line + fraction_start, "0") < i - fraction_start) {
            snprintf(err, err_len, "the percentage is above 100");
            return -1;
        }
    }
    if (i < len && line[i] == '%')
        i++;
    if (whole > 100) {
        snprintf(err, err_len, "the percentage is above 100");
        return -1;
    }
    if (i < len && line[i] != ' ' && line[i] != '\t') {
        snprintf(err, err_len, "the percentage must be followed by a space and the message");
        return -1;
    }
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;

    out->percent = (int)whole;
    out->message = clean_message(line + i, len - i);
    return 0;
}

int progress_line_parse(const char *line, size_t len, struct progress_update *out, char *err,
                        size_t err_len)
{
    out->percent = 0;
    out->message = NULL;

    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    while (len > 0 && (line[0] == ' ' || line[0] == '\t')) {
        line++;
        len--;
    }
    if (len == 0) {
        snprintf(err, err_len, "the line is empty");
        return -1;
    }
    if (line[0] == '{')
        return parse_json_line(line, len, out, err, err_len);
    return parse_text_line(line, len, out, err, err_len);
}

void progress_update_free(struct progress_update *update)
{
    free(update->message);
    update->message = NULL;
}

void progress_reader_init(struct progress_reader *reader)
{
    reader->len = 0;
    reader->overlong = 0;
}

void progress_reader_feed(struct progress_reader *reader, const char *data, size_t len,
                          progress_line_fn on_line, void *arg)
{
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\n') {
            on_line(reader->line, reader->len, reader->overlong, arg);
            reader->len = 0;
            reader->overlong = 0;
            continue;
        }
        if (reader->len < sizeof(reader->line))
            reader->line[reader->len++] = data[i];
        else
            reader->overlong = 1;
    }
}

void progress_reader_finish(struct progress_reader *reader, progress_line_fn on_line,
                            void *arg)
{
    if (reader->len > 0 || reader->overlong)
        on_line(reader->line, reader->len, reader->overlong, arg);
    reader->len = 0;
    reader->overlong = 0;
}
