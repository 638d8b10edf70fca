#include "cli/cli_sse.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

struct cli_sse_parser {
    size_t max_event_len;
    cli_sse_event_fn on_event;
    void *ctx;

    struct strbuf line;
    struct strbuf data;
    struct strbuf type;
    struct strbuf last_id;
    int64_t retry_ms;

    int after_cr; /* the previous byte was a CR, so an LF now ends no line */
    int at_start; /* no line of this connection was parsed yet */
};

struct cli_sse_parser *cli_sse_parser_new(size_t max_event_len, cli_sse_event_fn on_event,
                                          void *ctx)
{
    struct cli_sse_parser *parser = xcalloc(1, sizeof(*parser));

    parser->max_event_len = max_event_len;
    parser->on_event = on_event;
    parser->ctx = ctx;
    strbuf_init(&parser->line);
    strbuf_init(&parser->data);
    strbuf_init(&parser->type);
    strbuf_init(&parser->last_id);
    parser->retry_ms = -1;
    parser->at_start = 1;
    return parser;
}

void cli_sse_parser_free(struct cli_sse_parser *parser)
{
    if (!parser)
        return;
    strbuf_free(&parser->line);
    strbuf_free(&parser->data);
    strbuf_free(&parser->type);
    strbuf_free(&parser->last_id);
    free(parser);
}

void cli_sse_parser_reset_stream(struct cli_sse_parser *parser)
{
    strbuf_reset(&parser->line);
    strbuf_reset(&parser->data);
    strbuf_reset(&parser->type);
    parser->after_cr = 0;
    parser->at_start = 1;
}

const char *cli_sse_parser_last_event_id(const struct cli_sse_parser *parser)
{
    return parser->last_id.data;
}

void cli_sse_parser_set_last_event_id(struct cli_sse_parser *parser, const char *id)
{
    strbuf_reset(&parser->last_id);
    strbuf_append(&parser->last_id, id, strlen(id));
}

int64_t cli_sse_parser_retry_ms(const struct cli_sse_parser *parser)
{
    return parser->retry_ms;
}

/* Ends the event at a blank line: calls back if it has data, then starts
 * a new event. */
static int dispatch_event(struct cli_sse_parser *parser)
{
    struct cli_sse_event event;
    int rc = 0;

    if (parser->data.len > 0) {
        /* Each data line appended a '\n', but the last one is not part of the data. */
        parser->data.data[--parser->data.len] = '\0';
        event.type = parser->type.len > 0 ? parser->type.data : "message";
        event.id = parser->last_id.data;
        event.data = parser->data.data;
        event.data_len = parser->data.len;
        rc = parser->on_event(&event, parser->ctx);
    }
    strbuf_reset(&parser->data);
    strbuf_reset(&parser->type);
    return rc;
}

static int is_digits(const char *text, size_t len)
{
    if (len == 0 || len > 9)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return 0;
    }
    return 1;
}

static void apply_field(struct cli_sse_parser *parser, const char *name, size_t name_len,
                        const char *value, size_t value_len)
{
    if (name_len == 5 && memcmp(name, "event", 5) == 0) {
        strbuf_reset(&parser->type);
        strbuf_append(&parser->type, value, value_len);
    } else if (name_len == 4 && memcmp(name, "data", 4) == 0) {
        strbuf_append(&parser->data, value, value_len);
        strbuf_append(&parser->data, "\n", 1);
    } else if (name_len == 2 && memcmp(name, "id", 2) == 0) {
        /* The standard ignores an id that contains NUL. */
        if (!memchr(value, '\0', value_len)) {
            strbuf_reset(&parser->last_id);
            strbuf_append(&parser->last_id, value, value_len);
        }
    } else if (name_len == 5 && memcmp(name, "retry", 5) == 0) {
        if (is_digits(value, value_len))
            parser->retry_ms = strtoll(value, NULL, 10);
    }
    /* Any other field name is ignored, as the standard requires. */
}

/* Handles one complete line without its line ending. */
static int process_line(struct cli_sse_parser *parser)
{
    const char *line = parser->line.data;
    size_t len = parser->line.len;
    const char *colon;
    const char *value = "";
    size_t name_len = len;
    size_t value_len = 0;

    if (parser->at_start) {
        parser->at_start = 0;
        if (len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
            line += 3;
            len -= 3;
            name_len = len;
        }
    }
    if (len == 0)
        return dispatch_event(parser);
    if (line[0] == ':')
        return 0;

    colon = memchr(line, ':', len);
    if (colon) {
        name_len = (size_t)(colon - line);
        value = colon + 1;
        value_len = len - name_len - 1;
        if (value_len > 0 && value[0] == ' ') {
            value++;
            value_len--;
        }
    }
    apply_field(parser, line, name_len, value, value_len);
    return 0;
}

int cli_sse_parser_feed(struct cli_sse_parser *parser, const char *data, size_t len)
{
    size_t start = 0;

    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        int rc;

        if (c != '\r' && c != '\n') {
            parser->after_cr = 0;
            continue;
        }

        strbuf_append(&parser->line, data + start, i - start);
        start = i + 1;
        if (c == '\n' && parser->after_cr) {
            parser->after_cr = 0;
            continue;
        }
        parser->after_cr = c == '\r';
        rc = process_line(parser);
        strbuf_reset(&parser->line);
        if (rc != 0)
            return rc;
        if (parser->data.len > parser->max_event_len)
            return -1;
    }

    strbuf_append(&parser->line, data + start, len - start);
    if (parser->line.len + parser->data.len > parser->max_event_len)
        return -1;
    return 0;
}
