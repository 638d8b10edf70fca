#include "cli/cli_format.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

#define ELLIPSIS "..."
#define ELLIPSIS_COLUMNS 3
#define BAR_MIN_WIDTH 40
#define BAR_MAX_CELLS 30

/* Returns the byte length of the UTF-8 sequence at text (0 at the end),
 * or -1 when it is invalid, in which case one byte is skipped. */
static int sequence_len(const unsigned char *text)
{
    int len;

    if (text[0] == 0)
        return 0;
    if (text[0] < 0x80)
        return 1;
    if ((text[0] & 0xE0) == 0xC0 && text[0] >= 0xC2)
        len = 2;
    else if ((text[0] & 0xF0) == 0xE0)
        len = 3;
    else if ((text[0] & 0xF8) == 0xF0 && text[0] <= 0xF4)
        len = 4;
    else
        return -1;
    for (int i = 1; i < len; i++) {
        if ((text[i] & 0xC0) != 0x80)
            return -1;
    }
    return len;
}

size_t cli_text_columns(const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t columns = 0;
    int len;

    while ((len = sequence_len(p)) != 0) {
        p += len < 0 ? 1 : len;
        columns++;
    }
    return columns;
}

/* Appends one cleaned character of text to out. Returns the bytes consumed
 * from text, or 0 when the result does not fit in out_room bytes. */
static size_t copy_character(const unsigned char *text, char *out, size_t out_room,
                             size_t *out_used)
{
    int len = sequence_len(text);
    /* C0 controls, DEL and the C1 controls U+0080 to U+009F can all steer a terminal. */
    int is_control = (len == 1 && (text[0] < 0x20 || text[0] == 0x7F)) ||
                     (len == 2 && text[0] == 0xC2 && text[1] < 0xA0);
    const char *source = (const char *)text;
    size_t source_len = (size_t)len;
    size_t consumed = (size_t)len;

    if (len < 0) {
        source = "\xEF\xBF\xBD";
        source_len = 3;
        consumed = 1;
    } else if (is_control) {
        source = " ";
        source_len = 1;
    }
    if (out_room < source_len)
        return 0;
    memcpy(out, source, source_len);
    *out_used = source_len;
    return consumed;
}

size_t cli_text_fit(const char *text, size_t max_columns, char *out, size_t out_len)
{
    const unsigned char *p = (const unsigned char *)(text ? text : "");
    size_t total = cli_text_columns((const char *)p);
    size_t keep = total;
    size_t used = 0;
    size_t columns = 0;
    int cut = 0;

    if (out_len == 0)
        return 0;
    if (max_columns > 0 && total > max_columns) {
        cut = 1;
        keep = max_columns > ELLIPSIS_COLUMNS ? max_columns - ELLIPSIS_COLUMNS : 0;
    }

    while (*p && columns < keep) {
        size_t written = 0;
        size_t consumed = copy_character(p, out + used, out_len - 1 - used, &written);

        if (consumed == 0) {
            cut = 1;
            break;
        }
        p += consumed;
        used += written;
        columns++;
    }

    if (cut && max_columns >= ELLIPSIS_COLUMNS && used + ELLIPSIS_COLUMNS < out_len) {
        memcpy(out + used, ELLIPSIS, ELLIPSIS_COLUMNS);
        used += ELLIPSIS_COLUMNS;
        columns += ELLIPSIS_COLUMNS;
    }
    out[used] = '\0';
    return columns;
}

void cli_format_progress(char *out, size_t out_len, int width, int percent, const char *label,
                         const char *message)
{
    char bar[BAR_MAX_CELLS + 3] = "";
    char label_text[64];
    char message_text[1024];
    int cells = 0;
    int head_columns;
    int room;

    if (percent < 0)
        percent = 0;
    if (percent > 100)
        percent = 100;

    if (width >= BAR_MIN_WIDTH) {
        cells = width / 4 < BAR_MAX_CELLS ? width / 4 : BAR_MAX_CELLS;
        int filled = percent * cells / 100;

        bar[0] = '[';
        memset(bar + 1, '#', (size_t)filled);
        memset(bar + 1 + filled, '-', (size_t)(cells - filled));
        bar[cells + 1] = ']';
        bar[cells + 2] = '\0';
    }

    cli_text_fit(label, sizeof(label_text) - 1, label_text, sizeof(label_text));
    /* "BAR " + "100%" + "  LABEL" */
    head_columns = (cells ? cells + 3 : 0) + 4 + 2 + (int)cli_text_columns(label_text);
    room = width - head_columns - 2;
    message_text[0] = '\0';
    if (message && message[0] && room >= ELLIPSIS_COLUMNS + 1)
        cli_text_fit(message, (size_t)room, message_text, sizeof(message_text));

    snprintf(out, out_len, "%s%s%3d%%  %s%s%s", bar, cells ? " " : "", percent, label_text,
             message_text[0] ? "  " : "", message_text);
}

int cli_parse_time_ms(const char *text, int64_t *epoch_ms)
{
    struct tm tm;
    int millis = 0;
    int consumed = 0;
    const char *rest;

    if (!text)
        return -1;
    memset(&tm, 0, sizeof(tm));
    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
        consumed != 19)
        return -1;
    rest = text + consumed;
    if (rest[0] == '.') {
        if (sscanf(rest, ".%3d%n", &millis, &consumed) != 1 || consumed != 4)
            return -1;
        rest += consumed;
    }
    if (strcmp(rest, "Z") != 0)
        return -1;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return -1;

    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *epoch_ms = (int64_t)timegm(&tm) * 1000 + millis;
    return 0;
}

void cli_format_age(int64_t age_ms, char *out, size_t out_len)
{
    int64_t s = age_ms > 0 ? age_ms / 1000 : 0;

    if (s < 60)
        snprintf(out, out_len, "%llds", (long long)s);
    else if (s < 3600)
        snprintf(out, out_len, "%lldm", (long long)(s / 60));
    else if (s < 86400)
        snprintf(out, out_len, "%lldh", (long long)(s / 3600));
    else
        snprintf(out, out_len, "%lldd", (long long)(s / 86400));
}

int cli_terminal_width(FILE *file)
{
    struct winsize size;
    const char *columns = getenv("COLUMNS");
    int64_t value;

    if (ioctl(fileno(file), TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
        return size.ws_col;
    if (columns && parse_int64(columns, 20, 1000, &value) == 0)
        return (int)value;
    return 80;
}
