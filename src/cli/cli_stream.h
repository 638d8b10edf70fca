/* One connection to a Server-Sent Events stream of the API, read with
 * libcurl and fed to a cli_sse_parser as the bytes arrive. Reconnecting is
 * the caller's choice, and this module reports how the connection ended. */
#ifndef TASKRELAY_CLI_STREAM_H
#define TASKRELAY_CLI_STREAM_H

#include <signal.h>
#include <stddef.h>

#include "cli/cli_client.h"
#include "cli/cli_sse.h"

/* The server sends a keepalive comment every 15 s, so a stream silent for
 * this long is taken as dead. */
#define CLI_STREAM_IDLE_TIMEOUT_S 45L

/* Limit for one event, for the parser. A task event carries the payload
 * (up to the server's --max-body, 4 MiB by default) and the result (up to
 * 1 MiB), so this leaves room for a server run with a larger --max-body. */
#define CLI_STREAM_MAX_EVENT_LEN (64 * 1024 * 1024)

enum cli_stream_end {
    CLI_STREAM_STOPPED,     /* the event callback asked to stop */
    CLI_STREAM_DROPPED,     /* no connection, or it failed or ended, as err describes */
    CLI_STREAM_REJECTED,    /* the server replied with an HTTP error status */
    CLI_STREAM_INVALID,     /* the stream sent an event over the size limit */
    CLI_STREAM_INTERRUPTED, /* *interrupted became nonzero */
};

struct cli_stream_outcome {
    enum cli_stream_end end;
    size_t received_len; /* bytes of the stream received on this connection */
    struct cli_error err; /* set unless end is STOPPED or INTERRUPTED */
};

/* Opens GET path on the client's server with Accept: text/event-stream,
 * the client's token and, unless last_event_id is NULL or "", a
 * Last-Event-ID header, then feeds the stream to parser until it ends.
 * The transfer is aborted within about a second of *interrupted being set. */
void cli_stream_run(struct cli_client *client, const char *path, const char *last_event_id,
                    struct cli_sse_parser *parser, volatile sig_atomic_t *interrupted,
                    struct cli_stream_outcome *outcome);

#endif
