/* An epoll event loop that drives one libcurl multi handle through its
 * socket interface (curl_multi_socket_action), so a single thread keeps
 * many transfers in flight and touches only the sockets that are ready.
 * Other descriptors (libmicrohttpd's epoll descriptors) can join the same
 * loop. One thread runs the loop; only curl_loop_wake may be called from
 * other threads. */
#ifndef TASKRELAY_BENCH_CURL_LOOP_H
#define TASKRELAY_BENCH_CURL_LOOP_H

#include <curl/curl.h>
#include <stddef.h>

struct curl_loop;

/* Called when fd is readable. Returns 1 when it must be called again
 * without waiting for fd (its owner still has buffered work), else 0. */
typedef int (*curl_loop_ready_fn)(void *arg);

/* Called for each finished transfer after the loop removed easy from the
 * multi handle, so the callback may add it again. */
typedef void (*curl_loop_done_fn)(CURL *easy, CURLcode result, void *arg);

/* Creates a loop whose multi handle keeps up to max_connections idle
 * connections for reuse. Returns NULL with a message in err when epoll or
 * eventfd fail. */
struct curl_loop *curl_loop_new(long max_connections, char *err, size_t err_len);

/* Frees the loop and its multi handle. Remove every easy handle first. */
void curl_loop_free(struct curl_loop *loop);

CURLM *curl_loop_multi(struct curl_loop *loop);

/* Prepares an easy handle for the loop's multi handle: the loop learns of
 * every socket its connections close. Call before its first transfer. */
void curl_loop_adopt(struct curl_loop *loop, CURL *easy);

/* Watches fd for reading, level-triggered, until the loop is freed. Call
 * before the loop runs. Returns 0, or -1 with a message in err. */
int curl_loop_watch_fd(struct curl_loop *loop, int fd, curl_loop_ready_fn on_ready, void *arg,
                       char *err, size_t err_len);

/* Waits up to max_wait_ms (-1: no limit) for a ready descriptor, curl's
 * timer or a wake, then runs the ready callbacks and curl, and calls
 * on_done for every finished transfer. Returns 0, or -1 when epoll_wait
 * failed with anything but EINTR. */
int curl_loop_run_once(struct curl_loop *loop, int max_wait_ms, curl_loop_done_fn on_done,
                       void *arg);

/* Makes a running or the next curl_loop_run_once return soon. Safe from
 * any thread. */
void curl_loop_wake(struct curl_loop *loop);

#endif
