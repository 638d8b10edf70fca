#include "curl_loop.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bench_stats.h"
#include "common/util.h"

/* Events taken from one epoll_wait call. */
#define LOOP_EVENT_MAX 64

/* Rounds of curl's zero timer run back to back before the loop waits
 * again; a newly added transfer sets that timer. */
#define LOOP_TIMER_ROUNDS 8

enum source_kind {
    SOURCE_WAKE,
    SOURCE_FD,
};

/* A descriptor other than curl's; epoll_event.data.ptr. curl's sockets
 * carry their descriptor with CURL_SOCKET_TAG set in data.u64 instead,
 * which no user-space pointer has. */
struct loop_source {
    enum source_kind kind;
    int fd;
    curl_loop_ready_fn on_ready;
    void *arg;
    int rerun;
};

#define CURL_SOCKET_TAG (UINT64_C(1) << 62)

/* The epoll registration of one of curl's sockets. A socket that curl stops
 * watching between two requests on a kept-alive connection stays in the
 * set as IDLE, so reusing it costs no epoll_ctl. An event on an IDLE
 * socket means the peer closed it, and removes it from the set. */
enum curl_fd_state {
    CURL_FD_NONE,
    CURL_FD_ACTIVE,
    CURL_FD_IDLE,
};

struct curl_fd {
    enum curl_fd_state state;
    uint32_t events;
};

struct curl_loop {
    int epoll_fd;
    struct loop_source wake;
    CURLM *multi;
    int64_t timer_at_ns; /* -1: curl has no timeout pending */

    struct loop_source **fd_sources;
    size_t fd_source_count;
    struct curl_fd *curl_fds; /* indexed by descriptor */
    size_t curl_fd_count;
};

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct curl_loop *loop = userp;

    (void)multi;
    loop->timer_at_ns = timeout_ms < 0 ? -1 : bench_now_ns() + (int64_t)timeout_ms * 1000000;
    return 0;
}

static uint32_t epoll_events_for(int what)
{
    uint32_t events = 0;

    if (what & CURL_POLL_IN)
        events |= EPOLLIN;
    if (what & CURL_POLL_OUT)
        events |= EPOLLOUT;
    return events;
}

static struct curl_fd *curl_fd_of(struct curl_loop *loop, int fd)
{
    if ((size_t)fd >= loop->curl_fd_count) {
        size_t count = (size_t)fd + 64;

        loop->curl_fds = xrealloc(loop->curl_fds, count * sizeof(*loop->curl_fds));
        memset(loop->curl_fds + loop->curl_fd_count, 0,
               (count - loop->curl_fd_count) * sizeof(*loop->curl_fds));
        loop->curl_fd_count = count;
    }
    return &loop->curl_fds[fd];
}

/* Puts fd into the epoll set with events, or changes its events. */
static int register_curl_fd(struct curl_loop *loop, int fd, struct curl_fd *entry,
                            uint32_t events)
{
    struct epoll_event event = {.events = events, .data.u64 = CURL_SOCKET_TAG | (uint64_t)fd};
    int op = entry->state == CURL_FD_NONE ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;

    if (epoll_ctl(loop->epoll_fd, op, fd, &event) < 0) {
        /* The set and the table disagree only if a descriptor closed
         * without the close callback; take the other operation. */
        op = op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        if (epoll_ctl(loop->epoll_fd, op, fd, &event) < 0)
            return -1;
    }
    entry->state = CURL_FD_ACTIVE;
    entry->events = events;
    return 0;
}

/* curl's socket callback: mirrors what curl wants to know about a socket
 * into the epoll set, lazily. */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct curl_loop *loop = userp;
    struct curl_fd *entry = curl_fd_of(loop, fd);
    uint32_t events = epoll_events_for(what);

    (void)easy;
    (void)socketp;
    if (what == CURL_POLL_REMOVE) {
        if (entry->state == CURL_FD_ACTIVE)
            entry->state = CURL_FD_IDLE;
        return 0;
    }
    if (entry->state != CURL_FD_NONE && entry->events == events) {
        entry->state = CURL_FD_ACTIVE;
        return 0;
    }
    return register_curl_fd(loop, fd, entry, events);
}

/* Close callback of every easy handle: closing removes the descriptor from
 * the epoll set, so the table must forget it before its number is
 * reused. */
static int on_curl_close(void *clientp, curl_socket_t fd)
{
    struct curl_loop *loop = clientp;

    if ((size_t)fd < loop->curl_fd_count)
        loop->curl_fds[fd].state = CURL_FD_NONE;
    return close(fd);
}

void curl_loop_adopt(struct curl_loop *loop, CURL *easy)
{
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, on_curl_close);
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, loop);
}

struct curl_loop *curl_loop_new(long max_connections, char *err, size_t err_len)
{
    struct curl_loop *loop = xcalloc(1, sizeof(*loop));
    struct epoll_event event = {.events = EPOLLIN};

    loop->timer_at_ns = -1;
    loop->wake.kind = SOURCE_WAKE;
    loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    loop->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    event.data.ptr = &loop->wake;
    if (loop->epoll_fd < 0 || loop->wake.fd < 0 ||
        epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, loop->wake.fd, &event) < 0) {
        snprintf(err, err_len, "cannot set up the event loop: %s", strerror(errno));
        if (loop->epoll_fd >= 0)
            close(loop->epoll_fd);
        if (loop->wake.fd >= 0)
            close(loop->wake.fd);
        free(loop);
        return NULL;
    }

    loop->multi = curl_multi_init();
    curl_multi_setopt(loop->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(loop->multi, CURLMOPT_SOCKETDATA, loop);
    curl_multi_setopt(loop->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(loop->multi, CURLMOPT_TIMERDATA, loop);
    curl_multi_setopt(loop->multi, CURLMOPT_MAXCONNECTS, max_connections);
    return loop;
}

void curl_loop_free(struct curl_loop *loop)
{
    if (!loop)
        return;
    /* Closes the cached connections, which reports them as removed. */
    curl_multi_cleanup(loop->multi);
    free(loop->curl_fds);
    for (size_t i = 0; i < loop->fd_source_count; i++)
        free(loop->fd_sources[i]);
    free(loop->fd_sources);
    close(loop->wake.fd);
    close(loop->epoll_fd);
    free(loop);
}

CURLM *curl_loop_multi(struct curl_loop *loop)
{
    return loop->multi;
}

int curl_loop_watch_fd(struct curl_loop *loop, int fd, curl_loop_ready_fn on_ready, void *arg,
                       char *err, size_t err_len)
{
    struct loop_source *source = xcalloc(1, sizeof(*source));
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = source};

    source->kind = SOURCE_FD;
    source->fd = fd;
    source->on_ready = on_ready;
    source->arg = arg;
    if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0) {
        snprintf(err, err_len, "cannot watch descriptor %d: %s", fd, strerror(errno));
        free(source);
        return -1;
    }
    loop->fd_sources =
        xrealloc(loop->fd_sources, (loop->fd_source_count + 1) * sizeof(*loop->fd_sources));
    loop->fd_sources[loop->fd_source_count++] = source;
    return 0;
}

void curl_loop_wake(struct curl_loop *loop)
{
    uint64_t one = 1;

    /* A full counter already means a wake is pending. */
    if (write(loop->wake.fd, &one, sizeof(one)) < 0)
        return;
}

/* The epoll_wait timeout in ms: the caller's limit, curl's timer, or 0
 * when a source asked to run again. */
static int wait_timeout_ms(const struct curl_loop *loop, int max_wait_ms)
{
    int timeout_ms = max_wait_ms;

    for (size_t i = 0; i < loop->fd_source_count; i++) {
        if (loop->fd_sources[i]->rerun)
            return 0;
    }
    if (loop->timer_at_ns >= 0) {
        int64_t left_ns = loop->timer_at_ns - bench_now_ns();
        int timer_ms = left_ns <= 0 ? 0 : (int)((left_ns + 999999) / 1000000);

        if (timeout_ms < 0 || timer_ms < timeout_ms)
            timeout_ms = timer_ms;
    }
    return timeout_ms;
}

static void handle_curl_event(struct curl_loop *loop, int fd, uint32_t events)
{
    struct curl_fd *entry = curl_fd_of(loop, fd);
    int running = 0;
    int flags = 0;

    if (entry->state == CURL_FD_IDLE) {
        epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
        entry->state = CURL_FD_NONE;
        return;
    }
    if (entry->state == CURL_FD_NONE)
        return;
    if (events & EPOLLIN)
        flags |= CURL_CSELECT_IN;
    if (events & EPOLLOUT)
        flags |= CURL_CSELECT_OUT;
    if (events & (EPOLLERR | EPOLLHUP))
        flags |= CURL_CSELECT_ERR;
    curl_multi_socket_action(loop->multi, fd, flags, &running);
}

static void handle_event(struct curl_loop *loop, const struct epoll_event *event)
{
    struct loop_source *source;
    uint64_t count;

    if (event->data.u64 & CURL_SOCKET_TAG) {
        handle_curl_event(loop, (int)(event->data.u64 & ~CURL_SOCKET_TAG), event->events);
        return;
    }
    source = event->data.ptr;
    if (source->kind == SOURCE_WAKE) {
        if (read(source->fd, &count, sizeof(count)) < 0)
            return;
        return;
    }
    source->rerun = source->on_ready(source->arg);
}

static void drain_finished(struct curl_loop *loop, curl_loop_done_fn on_done, void *arg)
{
    CURLMsg *message;
    int left = 0;

    while ((message = curl_multi_info_read(loop->multi, &left)) != NULL) {
        CURL *easy = message->easy_handle;
        CURLcode result = message->data.result;

        if (message->msg != CURLMSG_DONE)
            continue;
        curl_multi_remove_handle(loop->multi, easy);
        on_done(easy, result, arg);
    }
}

/* Runs curl's timer while it is due, which it is right after on_done
 * added transfers, so they go out without another epoll_wait. */
static void run_due_timer(struct curl_loop *loop, curl_loop_done_fn on_done, void *arg)
{
    int running = 0;

    for (int round = 0; round < LOOP_TIMER_ROUNDS; round++) {
        if (loop->timer_at_ns < 0 || loop->timer_at_ns > bench_now_ns())
            return;
        loop->timer_at_ns = -1;
        curl_multi_socket_action(loop->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        drain_finished(loop, on_done, arg);
    }
}

int curl_loop_run_once(struct curl_loop *loop, int max_wait_ms, curl_loop_done_fn on_done,
                       void *arg)
{
    struct epoll_event events[LOOP_EVENT_MAX];
    int count = epoll_wait(loop->epoll_fd, events, LOOP_EVENT_MAX,
                           wait_timeout_ms(loop, max_wait_ms));

    if (count < 0 && errno != EINTR)
        return -1;

    /* Sources that asked to run again and have no event this round. */
    for (size_t i = 0; i < loop->fd_source_count; i++) {
        struct loop_source *source = loop->fd_sources[i];
        int has_event = 0;

        for (int k = 0; k < count && !has_event; k++)
            has_event = events[k].data.ptr == source;
        if (source->rerun && !has_event)
            source->rerun = source->on_ready(source->arg);
    }

    for (int k = 0; k < count; k++)
        handle_event(loop, &events[k]);
    drain_finished(loop, on_done, arg);
    run_due_timer(loop, on_done, arg);
    return 0;
}
