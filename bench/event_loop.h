/* An epoll event loop for one thread: descriptors with callbacks, and a
 * wake-up that other threads may trigger. The load generator runs its
 * simulated workers' HTTP servers and its HTTP clients on it. */
#ifndef TASKRELAY_BENCH_EVENT_LOOP_H
#define TASKRELAY_BENCH_EVENT_LOOP_H

#include <stddef.h>
#include <stdint.h>

struct event_loop;

/* Called with the epoll events of the descriptor (0 when called again on
 * request). Returns 1 when it must be called again without waiting for
 * the descriptor, because its owner still has buffered work, else 0. */
typedef int (*event_loop_ready_fn)(void *arg, uint32_t events);

/* One watched descriptor. The owner embeds it and keeps it alive until
 * the descriptor is removed or the loop is freed. */
struct event_watch {
    int fd; /* -1 when not watched */
    uint32_t events;
    event_loop_ready_fn on_ready;
    void *arg;
    int rerun;
    uint64_t handled_round;
};

/* Returns NULL with a message in err when epoll or eventfd fail. */
struct event_loop *event_loop_new(char *err, size_t err_len);
void event_loop_free(struct event_loop *loop);

/* Watches fd for events (EPOLLIN, EPOLLOUT), level-triggered. Returns 0,
 * or -1 with errno set. */
int event_loop_add(struct event_loop *loop, struct event_watch *watch, int fd, uint32_t events,
                   event_loop_ready_fn on_ready, void *arg);
/* Changes the events, with no system call when they are unchanged. */
int event_loop_modify(struct event_loop *loop, struct event_watch *watch, uint32_t events);
/* Stops watching. Call it before closing the descriptor. */
void event_loop_remove(struct event_loop *loop, struct event_watch *watch);

/* Waits up to max_wait_ms (-1: no limit) for ready descriptors or a wake,
 * and runs their callbacks. Returns 0, or -1 when epoll_wait failed with
 * anything but EINTR. */
int event_loop_run_once(struct event_loop *loop, int max_wait_ms);

/* Makes a running or the next event_loop_run_once return soon. Safe from
 * any thread. */
void event_loop_wake(struct event_loop *loop);

#endif
