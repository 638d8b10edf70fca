/* Requests of the client commands to the taskrelay API, and the error
 * messages shown for them: the server's own message for an API error, and
 * the URL plus what to check for a connection failure. */
#ifndef TASKRELAY_CLI_CLIENT_H
#define TASKRELAY_CLI_CLIENT_H

#include <jansson.h>
#include <stddef.h>

#include "common/util.h"

/* Time limit of one API request. The task stream has none. */
#define CLI_REQUEST_TIMEOUT_MS 30000L

/* An error to show the user: message on one line, then hint, if any. */
struct cli_error {
    char message[1024];
    char hint[512];
    long http_status; /* 0 when no HTTP reply came */
};

struct cli_client;

/* server_url has no trailing '/', and token may be NULL. server_source names
 * where the URL came from ("--server", "TASKRELAY_SERVER" or "default")
 * for the hint after a connection failure. All are copied. */
struct cli_client *cli_client_new(const char *server_url, const char *server_source,
                                  const char *token);
void cli_client_free(struct cli_client *client);

const char *cli_client_server_url(const struct cli_client *client);
/* The token, or NULL. Never print it. */
const char *cli_client_token(const struct cli_client *client);

/* Sends method to path (such as "/api/v1/tasks/42") with body, which may
 * be NULL and stays owned by the caller. On a 2xx reply returns 0, the
 * status in *http_status and the parsed body in *reply (the caller owns
 * it, and JSON null for an empty body). Otherwise returns -1 and fills err. */
int cli_client_call(struct cli_client *client, const char *method, const char *path,
                    json_t *body, long *http_status, json_t **reply, struct cli_error *err);

/* Fills err for a failure to reach the server: what failed (detail, which
 * should name the URL), and a hint to check the server and --server. */
void cli_client_connection_error(const struct cli_client *client, const char *detail,
                                 struct cli_error *err);

/* Fills err from an error reply: the "message" of {"error": {...}} as is,
 * or the status and the start of the body when it is not that shape. */
void cli_client_reply_error(const struct cli_client *client, const char *method,
                            const char *url, long http_status, const char *body,
                            size_t body_len, struct cli_error *err);

/* Prints err to stderr as "taskrelay: MESSAGE", then the hint. */
void cli_error_print(const struct cli_error *err);

/* Appends text to out with every byte outside A-Z a-z 0-9 - . _ ~
 * percent-encoded, for a query string value. */
void cli_url_escape(struct strbuf *out, const char *text);

#endif
