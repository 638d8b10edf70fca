/* A POST request that is sent again and again through a curl multi
 * handle: one easy handle whose fixed options are set once, so each send
 * only changes the URL and the body, and the connection stays open for
 * the next one. */
#ifndef TASKRELAY_BENCH_POST_REQUEST_H
#define TASKRELAY_BENCH_POST_REQUEST_H

#include <curl/curl.h>
#include <stddef.h>

struct post_request;

/* Called by the code that drives the multi handle when the request
 * finished; result is curl's outcome of the transfer. */
typedef void (*post_request_done_fn)(struct post_request *request, CURLcode result);

struct post_request {
    CURL *easy;
    post_request_done_fn on_done;
    void *owner; /* the caller's context for on_done */
    /* The first bytes of the response body, NUL-terminated, for error
     * messages; the rest is discarded. */
    char response[256];
    size_t response_len;
};

/* Returns the header list every request of one token sends: the bearer
 * token, the JSON content type and an empty Expect. Free it with
 * curl_slist_free_all after the last request that uses it. */
struct curl_slist *post_request_headers(const char *token);

/* Creates the easy handle. headers is borrowed for the handle's life.
 * timeout_ms bounds each request. */
void post_request_init(struct post_request *request, struct curl_slist *headers,
                       long timeout_ms, post_request_done_fn on_done, void *owner);
void post_request_cleanup(struct post_request *request);

/* Adds the request to multi with the given body, which must stay valid
 * until the transfer finished. A NULL url keeps the previous one. Returns
 * 0, or -1 when curl refused the handle. */
int post_request_send(struct post_request *request, CURLM *multi, const char *url,
                      const char *body, size_t body_len);

/* Calls the on_done of the request that owns easy; fits
 * curl_loop_done_fn. */
void post_request_finish(CURL *easy, CURLcode result, void *unused);

/* Returns the HTTP status of the finished request, 0 when none came. */
long post_request_status(struct post_request *request);

#endif
