/* A small HTTP/1.1 client for the load generator's hot path: POST requests
 * with small JSON bodies to one server over keep-alive connections, many
 * in flight, all driven by one thread's event_loop. Each request goes out
 * with one send. A response ends by Content-Length, by chunked coding or
 * by the connection closing. libcurl's multi interface did the same job
 * at about 20 us of CPU per request on the benchmark machine, which was
 * more than the rest of the load generator together. */
#ifndef TASKRELAY_BENCH_HTTP_POST_H
#define TASKRELAY_BENCH_HTTP_POST_H

#include <stddef.h>
#include <stdint.h>

#include "event_loop.h"

struct http_client;
struct http_conn;
struct http_post;

/* Called from the loop thread once the request finished or failed. The
 * callback may send the post again. */
typedef void (*http_post_done_fn)(struct http_post *post);

/* One request slot. Results are valid in the done callback. */
struct http_post {
    struct http_client *client;
    http_post_done_fn on_done;
    void *owner; /* the caller's context */

    int status;         /* HTTP status, or 0 when the request failed */
    char error[384];    /* why it failed, when status is 0 */
    char response[256]; /* the first bytes of the response body */
    size_t response_len;

    /* Internal. */
    char *request;
    size_t request_cap;
    size_t request_len;
    size_t sent_len;
    struct http_conn *conn;
    int retried;
    int64_t deadline_ns;
};

/* Creates a client for server_url ("http://HOST:PORT") that sends token as
 * a bearer token. Returns 0, or -1 with a message in err when the URL is
 * invalid or its host does not resolve. */
int http_client_new(struct event_loop *loop, const char *server_url, const char *token,
                    struct http_client **out, char *err, size_t err_len);

/* Closes every connection and frees the client. Requests still in flight
 * are dropped without a callback. */
void http_client_free(struct http_client *client);

/* Fails the requests that passed their timeout. Cheap to call on every
 * loop round: it scans at most every 100 ms. */
void http_client_check_timeouts(struct http_client *client);

/* Prepares post for bodies of up to max_body_len bytes. */
void http_post_init(struct http_post *post, struct http_client *client, size_t max_body_len,
                    http_post_done_fn on_done, void *owner);
void http_post_cleanup(struct http_post *post);

/* Sends POST path with a copy of body (Content-Type application/json) on
 * an idle connection, or a new one. A request that fails on a reused
 * connection before any response byte came is sent once more on a new
 * connection, as libcurl does. Returns 0, or -1 with post->error set when
 * the body is too long or no connection could be opened; on_done is not
 * called then. */
int http_post_send(struct http_post *post, const char *path, const char *body,
                   size_t body_len, long timeout_ms);

#endif
