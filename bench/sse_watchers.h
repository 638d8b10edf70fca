/* Many Server-Sent Events connections served by one epoll thread over raw
 * sockets, so a thousand watchers cost one thread in the load generator.
 * Each watcher records when it first saw each round's marker, the text
 * "sse-round-NNNN" that the phase puts in a progress message. */
#ifndef TASKRELAY_BENCH_SSE_WATCHERS_H
#define TASKRELAY_BENCH_SSE_WATCHERS_H

#include <stddef.h>
#include <stdint.h>

struct sse_watchers;

/* The message text of round r; needs 16 bytes. */
void sse_round_marker(int round, char *out, size_t out_len);

/* Connects watcher_count sockets to host:port, watcher i subscribing to
 * GET /api/v1/tasks/{task_ids[i]}/stream with the API token, and starts the
 * reading thread. round_count bounds the markers recorded. Returns 0, or -1
 * with a message in err (a connect failure, e.g. when the fd limit is too
 * low). */
int sse_watchers_open(const char *host, int port, const char *api_token,
                      const int64_t *task_ids, int watcher_count, int round_count,
                      struct sse_watchers **out, char *err, size_t err_len);

/* Waits until every watcher received its response headers, or deadline_ns
 * (bench_now_ns clock). Returns 0, or -1 with the count in err. */
int sse_watchers_wait_ready(struct sse_watchers *w, int64_t deadline_ns, char *err,
                            size_t err_len);

/* Waits until every watcher saw the marker of round, or deadline_ns.
 * Returns 0, or -1 when some did not. */
int sse_watchers_wait_round(struct sse_watchers *w, int round, int64_t deadline_ns);

/* bench_now_ns time at which watcher saw round's marker, or 0. Call only
 * after sse_watchers_close. */
int64_t sse_watchers_received_ns(const struct sse_watchers *w, int watcher, int round);

/* Watchers whose connection failed or closed, or that got a status other
 * than 200. Call only after sse_watchers_close. */
int sse_watchers_failed_count(const struct sse_watchers *w);

/* Stops the reading thread and closes every socket; the recorded times
 * stay readable until sse_watchers_free. */
void sse_watchers_close(struct sse_watchers *w);
void sse_watchers_free(struct sse_watchers *w);

#endif
