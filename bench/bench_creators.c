/* Concurrent task creation: the client side of the throughput phases. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_client.h"
#include "bench_stats.h"
#include "common/httpc.h"
#include "common/util.h"

struct creator {
    const struct bench_target *target;
    const char *kind;
    int64_t count;
    int64_t deadline_ns;
    pthread_t thread;
    int64_t created_count;
    int failed;
    char err[512];
};

static void *creator_main(void *arg)
{
    struct creator *c = arg;
    struct httpc *client = httpc_new();

    for (int64_t i = 0; i < c->count; i++) {
        int64_t task_id;

        if (bench_now_ns() > c->deadline_ns) {
            snprintf(c->err, sizeof(c->err), "timed out after creating %lld tasks",
                     (long long)c->created_count);
            c->failed = 1;
            break;
        }
        if (bench_create_task(client, c->target, c->kind, &task_id, c->err, sizeof(c->err)) <
            0) {
            c->failed = 1;
            break;
        }
        c->created_count++;
    }
    httpc_free(client);
    return NULL;
}

int bench_create_parallel(const struct bench_target *target, const char *kind, int64_t count,
                          int creator_count, int64_t deadline_ns, int64_t *created_count,
                          char *err, size_t err_len)
{
    struct creator *creators = xcalloc((size_t)creator_count, sizeof(*creators));
    int started = 0;
    int rc = 0;

    *created_count = 0;
    for (int i = 0; i < creator_count; i++) {
        struct creator *c = &creators[i];

        c->target = target;
        c->kind = kind;
        c->deadline_ns = deadline_ns;
        c->count = count / creator_count + (i < count % creator_count ? 1 : 0);
        if (pthread_create(&c->thread, NULL, creator_main, c) != 0) {
            snprintf(err, err_len, "cannot start creator thread %d", i);
            rc = -1;
            break;
        }
        started++;
    }

    for (int i = 0; i < started; i++) {
        pthread_join(creators[i].thread, NULL);
        *created_count += creators[i].created_count;
        if (creators[i].failed && rc == 0) {
            snprintf(err, err_len, "%s", creators[i].err);
            rc = -1;
        }
    }
    free(creators);
    return rc;
}
