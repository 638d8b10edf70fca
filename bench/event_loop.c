#include "event_loop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/util.h"

/* Events taken from one epoll_wait call. */
#define LOOP_EVENT_MAX 64

struct event_loop {
    int epoll_fd;
    struct event_watch wake;
    uint64_t round;
    /* Watches that asked to be called again, from the previous round. */
    struct event_watch **reruns;
    size_t rerun_count;
    size_t rerun_cap;
};

static int drain_wake(void *arg, uint32_t events)
{
    struct event_watch *wake = arg;
    uint64_t count;

    (void)events;
    if (read(wake->fd, &count, sizeof(count)) < 0)
        return 0;
    return 0;
}

struct event_loop *event_loop_new(char *err, size_t err_len)
{
    struct event_loop *loop = xcalloc(1, sizeof(*loop));
    int wake_fd;

    loop->wake.fd = -1;
    loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop->epoll_fd < 0 || wake_fd < 0 ||
        event_loop_add(loop, &loop->wake, wake_fd, EPOLLIN, drain_wake, &loop->wake) < 0) {
        snprintf(err, err_len, "cannot set up the event loop: %s", strerror(errno));
        if (loop->epoll_fd >= 0)
            close(loop->epoll_fd);
        if (wake_fd >= 0)
            close(wake_fd);
        free(loop);
        return NULL;
    }
    return loop;
}

void event_loop_free(struct event_loop *loop)
{
    if (!loop)
        return;
    close(loop->wake.fd);
    close(loop->epoll_fd);
    free(loop->reruns);
    free(loop);
}

int event_loop_add(struct event_loop *loop, struct event_watch *watch, int fd, uint32_t events,
                   event_loop_ready_fn on_ready, void *arg)
{
    struct epoll_event event = {.events = events, .data.ptr = watch};

    watch->fd = fd;
    watch->events = events;
    watch->on_ready = on_ready;
    watch->arg = arg;
    watch->rerun = 0;
    if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0) {
        watch->fd = -1;
        return -1;
    }
    return 0;
}

int event_loop_modify(struct event_loop *loop, struct event_watch *watch, uint32_t events)
{
    struct epoll_event event = {.events = events, .data.ptr = watch};

    if (watch->events == events)
        return 0;
    if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_MOD, watch->fd, &event) < 0)
        return -1;
    watch->events = events;
    return 0;
}

void event_loop_remove(struct event_loop *loop, struct event_watch *watch)
{
    if (watch->fd < 0)
        return;
    epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, watch->fd, NULL);
    watch->fd = -1;
    watch->rerun = 0;
}

void event_loop_wake(struct event_loop *loop)
{
    uint64_t one = 1;

    /* A full counter already means a wake is pending. */
    if (write(loop->wake.fd, &one, sizeof(one)) < 0)
        return;
}

static void call_watch(struct event_loop *loop, struct event_watch *watch, uint32_t events)
{
    watch->handled_round = loop->round;
    watch->rerun = watch->on_ready(watch->arg, events) && watch->fd >= 0;
}

/* Calls the watches of the previous round that asked for it and got no
 * event in this one, and keeps those that ask again. */
static void run_reruns(struct event_loop *loop)
{
    size_t kept = 0;

    for (size_t i = 0; i < loop->rerun_count; i++) {
        struct event_watch *watch = loop->reruns[i];

        if (watch->fd >= 0 && watch->rerun && watch->handled_round != loop->round)
            call_watch(loop, watch, 0);
        if (watch->fd >= 0 && watch->rerun)
            loop->reruns[kept++] = watch;
    }
    loop->rerun_count = kept;
}

static void note_rerun(struct event_loop *loop, struct event_watch *watch)
{
    for (size_t i = 0; i < loop->rerun_count; i++) {
        if (loop->reruns[i] == watch)
            return;
    }
    if (loop->rerun_count == loop->rerun_cap) {
        loop->rerun_cap = loop->rerun_cap ? 2 * loop->rerun_cap : 8;
        loop->reruns = xrealloc(loop->reruns, loop->rerun_cap * sizeof(*loop->reruns));
    }
    loop->reruns[loop->rerun_count++] = watch;
}

int event_loop_run_once(struct event_loop *loop, int max_wait_ms)
{
    struct epoll_event events[LOOP_EVENT_MAX];
    int count = epoll_wait(loop->epoll_fd, events, LOOP_EVENT_MAX,
                           loop->rerun_count > 0 ? 0 : max_wait_ms);

    if (count < 0 && errno != EINTR)
        return -1;
    loop->round++;
    for (int k = 0; k < count; k++) {
        struct event_watch *watch = events[k].data.ptr;

        /* A callback earlier in this round may have removed it. */
        if (watch->fd < 0)
            continue;
        call_watch(loop, watch, events[k].events);
        if (watch->rerun)
            note_rerun(loop, watch);
    }
    run_reruns(loop);
    return 0;
}
