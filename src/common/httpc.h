/* A small HTTP client over libcurl. One struct httpc keeps one curl easy
 * handle, so consecutive requests to the same host reuse the connection.
 * A handle is not thread-safe: give each thread its own. A struct
 * httpc_multi runs many requests at once from one thread, over one shared
 * cache of keep-alive connections. */
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

/* Called once per request of a struct httpc_multi, on the thread running
 * httpc_multi_run, with the same outcome classes and arguments as
 * httpc_request. response and err are valid during the call only. */
typedef void (*httpc_done_fn)(void *ctx, int result, long status,
                              const struct strbuf *response, const char *err);

struct httpc_multi;

struct httpc_multi *httpc_multi_new(void);
/* Ends the requests still running, each with HTTPC_FAILED, and frees. */
void httpc_multi_free(struct httpc_multi *multi);
/* Starts a request; the strings are copied except body, which the caller
 * keeps valid until done runs. */
void httpc_multi_add(struct httpc_multi *multi, const char *method, const char *url,
                     const char *token, const char *body, size_t body_len, long timeout_ms,
                     httpc_done_fn done, void *ctx);
/* Moves the requests on and calls done for those that finished, waiting up
 * to wait_ms for network activity or httpc_multi_wakeup. */
void httpc_multi_run(struct httpc_multi *multi, int wait_ms);
/* Makes a waiting httpc_multi_run return early; any thread may call it. */
void httpc_multi_wakeup(struct httpc_multi *multi);

#endif
