/* A thin layer over libmicrohttpd shared by the server and the worker:
 * it collects each request body up to a limit (413 past it), calls one
 * handler per request with the whole body, and sends what the handler
 * queued.
 *
 * A pool of threads serves all connections, each thread waiting on its own
 * epoll set, so one thread handles every request that is ready when it
 * wakes. A handler may block briefly: a durable commit holds up the other
 * connections of its thread for one fdatasync. A reply that waits for an
 * event must suspend its connection instead (MHD_suspend_connection, as
 * the Server-Sent Events streams do). */
#ifndef TASKRELAY_HTTPD_H
#define TASKRELAY_HTTPD_H

#include <jansson.h>
#include <microhttpd.h>
#include <stddef.h>

struct httpd;

/* One request and its reply. Fields are borrowed and valid until the
 * handler returns; the handler sets the reply with one http_reply_* call. */
struct http_exchange {
    struct MHD_Connection *connection;
    const char *method;
    const char *path;
    const char *body; /* NUL-terminated after body_len bytes */
    size_t body_len;

    unsigned int status;
    struct MHD_Response *response;
};

typedef void (*httpd_handler_fn)(struct http_exchange *ex, void *app);

/* Returns the body limit in bytes for a request, so one route (artifact
 * upload) can take more than the rest. NULL means default_limit for all. */
typedef size_t (*httpd_body_limit_fn)(const char *method, const char *path, void *app);

/* Starts listening on "HOST:PORT" (PORT 0 picks a free port) with
 * thread_count threads. Returns NULL with a message in err when the
 * address is invalid or cannot be bound. */
struct httpd *httpd_start(const char *listen, unsigned int thread_count, size_t default_limit,
                          httpd_body_limit_fn body_limit, httpd_handler_fn handler,
                          void *app, char *err, size_t err_len);
/* Returns the port actually bound. */
int httpd_port(const struct httpd *server);
/* Stops accepting, closes every connection, suspended ones included, waits
 * for the threads and frees the server. */
void httpd_stop(struct httpd *server);

/* Replies with a JSON body; takes the reference to body. */
void http_reply_json(struct http_exchange *ex, unsigned int status, json_t *body);
/* Replies {"error":{"code":code,"message":...}}. */
void http_reply_error(struct http_exchange *ex, unsigned int status, const char *code,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Replies with a copy of len bytes. */
void http_reply_bytes(struct http_exchange *ex, unsigned int status,
                      const char *content_type, const void *data, size_t len);
/* Replies with a response the caller built; takes ownership of it. */
void http_reply_response(struct http_exchange *ex, unsigned int status,
                         struct MHD_Response *response);
/* Adds a header to the reply already set. */
void http_reply_header(struct http_exchange *ex, const char *name, const char *value);

/* Borrowed request header or query argument; NULL when absent. */
const char *http_header(const struct http_exchange *ex, const char *name);
const char *http_query(const struct http_exchange *ex, const char *name);
/* The token of "Authorization: Bearer TOKEN", or NULL. */
const char *http_bearer_token(const struct http_exchange *ex);
/* Writes the peer's IP address as text. */
void http_peer_address(const struct http_exchange *ex, char *out, size_t out_len);

/* Matches path against pattern, where each "*" matches one non-empty path
 * segment. Captured segments go to caps (each up to cap_len - 1 bytes).
 * Returns 1 on a match. */
int route_match(const char *pattern, const char *path, char caps[][80], int max_caps);

/* Parses a task id from a captured path segment; returns -1 if invalid. */
int parse_task_id(const char *text, long long *out);

#endif
