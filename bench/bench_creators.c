/* Concurrent task creation, the client side of the throughput phases: one
 * thread keeps creator_count requests in flight through a curl multi
 * handle, each on its own keep-alive connection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_client.h"
#include "bench_stats.h"
#include "common/util.h"
#include "curl_loop.h"
#include "post_request.h"

/* One create may take this long before it counts as failed. */
#define CREATE_TIMEOUT_MS 10000

struct creation {
    struct curl_loop *loop;
    struct post_request *requests; /* one per creator */
    char url[512];
    char body[256];
    size_t body_len;
    int64_t count;
    int64_t deadline_ns;

    int64_t sent_count;
    int64_t created_count;
    int in_flight;
    int failed;
    char err[512];
};

static void fail_once(struct creation *c, const char *message)
{
    if (!c->failed)
        snprintf(c->err, sizeof(c->err), "%s", message);
    c->failed = 1;
}

/* Sends the next create on request unless all are sent or time is up. */
static void send_next(struct creation *c, struct post_request *request)
{
    if (c->sent_count >= c->count)
        return;
    if (bench_now_ns() > c->deadline_ns) {
        char message[128];

        snprintf(message, sizeof(message), "timed out after creating %lld tasks",
                 (long long)c->created_count);
        fail_once(c, message);
        return;
    }
    if (post_request_send(request, curl_loop_multi(c->loop), NULL, c->body, c->body_len) < 0) {
        fail_once(c, "curl refused a create request");
        return;
    }
    c->sent_count++;
    c->in_flight++;
}

/* A creator whose create failed stops, as a blocking client would; the
 * others go on. */
static void on_create_done(struct post_request *request, CURLcode result)
{
    struct creation *c = request->owner;
    long status = post_request_status(request);
    char message[512];

    c->in_flight--;
    if (result != CURLE_OK) {
        snprintf(message, sizeof(message), "POST %.300s failed: %s", c->url,
                 curl_easy_strerror(result));
        fail_once(c, message);
        return;
    }
    if (status != 201) {
        snprintf(message, sizeof(message), "creating a task: HTTP %ld: %.200s", status,
                 request->response);
        fail_once(c, message);
        return;
    }
    c->created_count++;
    send_next(c, request);
}

int bench_create_parallel(const struct bench_target *target, const char *kind, int64_t count,
                          int creator_count, int64_t deadline_ns, int64_t *created_count,
                          char *err, size_t err_len)
{
    struct creation c = {.count = count, .deadline_ns = deadline_ns};
    struct curl_slist *headers = post_request_headers(target->api_token);

    *created_count = 0;
    c.loop = curl_loop_new(creator_count, err, err_len);
    if (!c.loop) {
        curl_slist_free_all(headers);
        return -1;
    }
    snprintf(c.url, sizeof(c.url), "%s/api/v1/tasks", target->server_url);
    c.body_len = (size_t)snprintf(c.body, sizeof(c.body), "{\"kind\":\"%s\",\"payload\":{}}",
                                  kind);
    c.requests = xcalloc((size_t)creator_count, sizeof(*c.requests));
    for (int i = 0; i < creator_count; i++) {
        post_request_init(&c.requests[i], headers, CREATE_TIMEOUT_MS, on_create_done, &c);
        curl_loop_adopt(c.loop, c.requests[i].easy);
        curl_easy_setopt(c.requests[i].easy, CURLOPT_URL, c.url);
        send_next(&c, &c.requests[i]);
    }

    while (c.in_flight > 0) {
        if (curl_loop_run_once(c.loop, 100, post_request_finish, NULL) < 0) {
            fail_once(&c, "the event loop failed");
            break;
        }
    }

    for (int i = 0; i < creator_count; i++) {
        curl_multi_remove_handle(curl_loop_multi(c.loop), c.requests[i].easy);
        post_request_cleanup(&c.requests[i]);
    }
    curl_loop_free(c.loop);
    curl_slist_free_all(headers);
    free(c.requests);
    *created_count = c.created_count;
    if (c.failed)
        snprintf(err, err_len, "%s", c.err);
    return c.failed ? -1 : 0;
}
