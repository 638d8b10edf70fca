/* The client side of the benchmark: task creation and status polling over
 * the public API with the API token. */
#ifndef TASKRELAY_BENCH_CLIENT_H
#define TASKRELAY_BENCH_CLIENT_H

#include <stddef.h>
#include <stdint.h>

struct httpc;

struct bench_target {
    const char *server_url; /* no trailing slash */
    const char *api_token;
    const char *worker_token;
};

/* Creates a task of kind with an empty payload and returns its id once the
 * server answered 201. Returns 0, or -1 with a message in err. */
int bench_create_task(struct httpc *client, const struct bench_target *target,
                      const char *kind, int64_t *task_id, char *err, size_t err_len);

/* Reads the per-status counts of kind from GET /api/v1/tasks. Returns 0,
 * or -1 with a message in err. */
int bench_kind_counts(struct httpc *client, const struct bench_target *target,
                      const char *kind, int64_t *completed_count, int64_t *failed_count,
                      char *err, size_t err_len);

/* Creates count tasks of kind with creator_count requests in flight, each
 * on its own keep-alive connection and each sent as soon as the previous
 * one on that connection got its 201, all from the calling thread.
 * Stops early at deadline_ns (bench_now_ns clock). Sets *created_count to
 * the tasks the server acknowledged. Returns 0 when all were created, -1
 * with the first error in err otherwise. */
int bench_create_parallel(const struct bench_target *target, const char *kind, int64_t count,
                          int creator_count, int64_t deadline_ns, int64_t *created_count,
                          char *err, size_t err_len);

#endif
