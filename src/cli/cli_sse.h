/* A parser for a Server-Sent Events stream (the text/event-stream format of
 * the WHATWG HTML standard). It takes the bytes in chunks of any size, as
 * they arrive from the network, and calls back once per complete event.
 * Lines may end in CRLF, LF or CR, also when a chunk ends between the CR
 * and the LF. Comment lines (starting with ':') are skipped, "data" lines
 * are joined with '\n', and an event without data is not dispatched. */
#ifndef TASKRELAY_CLI_SSE_H
#define TASKRELAY_CLI_SSE_H

#include <stddef.h>
#include <stdint.h>

struct cli_sse_parser;

/* One event. Every pointer is valid only during the callback. */
struct cli_sse_event {
    const char *type; /* the "event" field, "message" when there was none */
    const char *id;   /* the last event id seen on the stream so far, "" if none */
    const char *data; /* NUL-terminated after data_len bytes */
    size_t data_len;
};

/* Returns 0 to go on parsing, any other value to stop. */
typedef int (*cli_sse_event_fn)(const struct cli_sse_event *event, void *ctx);

/* Creates a parser that rejects a line or an event longer than
 * max_event_len bytes. The parser calls on_event with ctx. */
struct cli_sse_parser *cli_sse_parser_new(size_t max_event_len, cli_sse_event_fn on_event,
                                          void *ctx);
void cli_sse_parser_free(struct cli_sse_parser *parser);

/* Parses len bytes. Returns 0 when all were taken, the callback's nonzero
 * value when it asked to stop (the bytes after that event are dropped), or
 * -1 when a line or event is over the limit. */
int cli_sse_parser_feed(struct cli_sse_parser *parser, const char *data, size_t len);

/* Drops a partial line and event, as a new connection starts, but keeps
 * the last event id and retry time. */
void cli_sse_parser_reset_stream(struct cli_sse_parser *parser);

/* The last event id, "" when none. Send it as Last-Event-ID on reconnect. */
const char *cli_sse_parser_last_event_id(const struct cli_sse_parser *parser);
/* Sets the last event id, as if the stream had sent it. */
void cli_sse_parser_set_last_event_id(struct cli_sse_parser *parser, const char *id);

/* The reconnection time in milliseconds from the last "retry" field, or -1
 * when the stream sent none. */
int64_t cli_sse_parser_retry_ms(const struct cli_sse_parser *parser);

#endif
