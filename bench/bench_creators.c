/* Concurrent task creation, the client side of the throughput phases: the
 * calling thread keeps creator_count requests in flight over keep-alive
 * connections. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_client.h"
#include "bench_stats.h"
#include "common/util.h"
#include "event_loop.h"
#include "http_post.h"

/* One create may take this long before it counts as failed. */
#define CREATE_TIMEOUT_MS 10000L

struct creation {
    struct event_loop *loop;
    struct http_client *client;
    struct http_post *posts; /* one per creator */
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
static void send_next(struct creation *c, struct http_post *post)
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
    /* Counted first: a failure on the wire calls on_create_done at once. */
    c->sent_count++;
    c->in_flight++;
    if (http_post_send(post, "/api/v1/tasks", c->body, c->body_len, CREATE_TIMEOUT_MS) < 0) {
        c->sent_count--;
        c->in_flight--;
        fail_once(c, post->error);
    }
}

/* A creator whose create failed stops, as a blocking client would, and
 * the others go on. */
static void on_create_done(struct http_post *post)
{
    struct creation *c = post->owner;
    char message[512];

    c->in_flight--;
    if (post->status == 0) {
        fail_once(c, post->error);
        return;
    }
    if (post->status != 201) {
        snprintf(message, sizeof(message), "creating a task: HTTP %d: %.200s", post->status,
                 post->response);
        fail_once(c, message);
        return;
    }
    c->created_count++;
    send_next(c, post);
}

int bench_create_parallel(const struct bench_target *target, const char *kind, int64_t count,
                          int creator_count, int64_t deadline_ns, int64_t *created_count,
                          char *err, size_t err_len)
{
    struct creation c = {.count = count, .deadline_ns = deadline_ns};

    *created_count = 0;
    c.loop = event_loop_new(err, err_len);
    if (!c.loop)
        return -1;
    if (http_client_new(c.loop, target->server_url, target->api_token, &c.client, err,
                        err_len) < 0) {
        event_loop_free(c.loop);
        return -1;
    }
    c.body_len = (size_t)snprintf(c.body, sizeof(c.body), "{\"kind\":\"%s\",\"payload\":{}}",
                                  kind);
    c.posts = xcalloc((size_t)creator_count, sizeof(*c.posts));
    for (int i = 0; i < creator_count; i++) {
        http_post_init(&c.posts[i], c.client, c.body_len, on_create_done, &c);
        send_next(&c, &c.posts[i]);
    }

    while (c.in_flight > 0) {
        if (event_loop_run_once(c.loop, 100) < 0) {
            fail_once(&c, "the event loop failed");
            break;
        }
        http_client_check_timeouts(c.client);
    }

    http_client_free(c.client);
    for (int i = 0; i < creator_count; i++)
        http_post_cleanup(&c.posts[i]);
    event_loop_free(c.loop);
    free(c.posts);
    *created_count = c.created_count;
    if (c.failed)
        snprintf(err, err_len, "%s", c.err);
    return c.failed ? -1 : 0;
}
