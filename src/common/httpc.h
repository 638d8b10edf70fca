/* A small HTTP client over libcurl. One struct httpc keeps one curl easy
 * handle, so consecutive requests to the same host reuse the connection.
 * A handle is not thread-safe: give each thread its own. */
#ifndef TASKRELAY_HTTPC_H
#define TASKRELAY_HTTPC_H

#include <stddef.h>

#include "common/util.h"

struct httpc;

/* Outcome classes the callers act on. A request that failed with
 * HTTPC_NOT_SENT never reached the peer, so it is safe to send elsewhere.
 * After HTTPC_TIMEOUT or HTTPC_FAILED the peer may have acted on it. */
enum httpc_result {
    HTTPC_OK = 0,
    HTTPC_NOT_SENT = -1,
    HTTPC_TIMEOUT = -2,
    HTTPC_FAILED = -3,
};

/* Calls curl_global_init once; call from main before any thread starts. */
void httpc_global_init(void);

struct httpc *httpc_new(void);
void httpc_free(struct httpc *client);

/* Sends one request. body may be NULL for no body; content_type defaults to
 * application/json. token, if not NULL, goes in "Authorization: Bearer".
 * On HTTPC_OK, *status is the HTTP status and response contains the body
 * (reset first). err receives a message for any other result. */
int httpc_request(struct httpc *client, const char *method, const char *url,
                  const char *token, const char *content_type, const char *body,
                  size_t body_len, long timeout_ms, long *status, struct strbuf *response,
                  char *err, size_t err_len);

#endif
