#include "sse_watchers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_stats.h"
#include "common/util.h"
#include "http_chunked.h"

#define MARKER_PREFIX "sse-round-"
#define MARKER_LEN 14 /* "sse-round-" and four digits */
#define READ_BUFFER_LEN (64 * 1024)

struct watcher {
    int fd;
    int64_t task_id;
    struct strbuf head; /* response bytes up to the end of the headers */
    int head_done;
    int chunked;
    struct http_chunked decoder;
    char tail[MARKER_LEN]; /* the last bytes seen, for a marker cut in two */
    size_t tail_len;
    int failed;
    int64_t *received_ns; /* round_count entries */
};

struct sse_watchers {
    struct watcher *watchers;
    int watcher_count;
    int round_count;
    int epoll_fd;
    pthread_t thread;
    int thread_started;
    atomic_int stopping;

    pthread_mutex_t lock; /* guards the counters */
    pthread_cond_t changed_cond;
    int ready_count;
    int *delivered_counts; /* per round */
};

void sse_round_marker(int round, char *out, size_t out_len)
{
    snprintf(out, out_len, MARKER_PREFIX "%04d", round % 10000);
}

static void bump(struct sse_watchers *w, int *counter)
{
    pthread_mutex_lock(&w->lock);
    (*counter)++;
    pthread_cond_broadcast(&w->changed_cond);
    pthread_mutex_unlock(&w->lock);
}

static void record_marker(struct sse_watchers *w, struct watcher *watcher, const char *digits,
                          int64_t now_ns)
{
    int round = 0;

    for (int i = 0; i < 4; i++) {
        if (digits[i] < '0' || digits[i] > '9')
            return;
        round = round * 10 + (digits[i] - '0');
    }
    if (round >= w->round_count || watcher->received_ns[round] != 0)
        return;
    watcher->received_ns[round] = now_ns;
    bump(w, &w->delivered_counts[round]);
}

/* Scans decoded body bytes for markers, including one that starts in the
 * previous piece. */
static void scan_body(struct sse_watchers *w, struct watcher *watcher, const char *data,
                      size_t len, int64_t now_ns)
{
    char joined[MARKER_LEN * 2];
    size_t head_len = len < MARKER_LEN ? len : MARKER_LEN;
    size_t prefix_len = strlen(MARKER_PREFIX);

    /* Markers crossing the boundary: the old tail plus the new head. */
    memcpy(joined, watcher->tail, watcher->tail_len);
    memcpy(joined + watcher->tail_len, data, head_len);
    for (size_t i = 0; i + MARKER_LEN <= watcher->tail_len + head_len; i++) {
        if (i < watcher->tail_len && memcmp(joined + i, MARKER_PREFIX, prefix_len) == 0)
            record_marker(w, watcher, joined + i + prefix_len, now_ns);
    }

    for (const char *p = data; (p = memmem(p, len - (size_t)(p - data), MARKER_PREFIX,
                                           prefix_len)) != NULL;
         p += prefix_len) {
        if ((size_t)(p - data) + MARKER_LEN <= len)
            record_marker(w, watcher, p + prefix_len, now_ns);
    }

    /* Keep the last MARKER_LEN - 1 bytes of old tail and new data. */
    if (len >= MARKER_LEN - 1) {
        memcpy(watcher->tail, data + len - (MARKER_LEN - 1), MARKER_LEN - 1);
        watcher->tail_len = MARKER_LEN - 1;
    } else {
        size_t total = watcher->tail_len + len;
        size_t keep = total < MARKER_LEN - 1 ? total : MARKER_LEN - 1;

        memmove(joined, joined + total - keep, keep);
        memcpy(watcher->tail, joined, keep);
        watcher->tail_len = keep;
    }
}

/* Collects the response head; returns the offset of the first body byte
 * in data, or -1 while the head is incomplete or invalid. */
static long take_head(struct sse_watchers *w, struct watcher *watcher, const char *data,
                      size_t len)
{
    size_t old_len = watcher->head.len;
    char *end;

    strbuf_append(&watcher->head, data, len);
    end = strstr(watcher->head.data, "\r\n\r\n");
    if (!end) {
        if (watcher->head.len > 16384)
            watcher->failed = 1;
        return -1;
    }
    *end = '\0';
    if (strncmp(watcher->head.data, "HTTP/1.1 200", 12) != 0) {
        watcher->failed = 1;
        return -1;
    }
    watcher->chunked = strcasestr(watcher->head.data, "transfer-encoding: chunked") != NULL;
    watcher->head_done = 1;
    bump(w, &w->ready_count);
    return (long)((size_t)(end + 4 - watcher->head.data) - old_len);
}

static void handle_readable(struct sse_watchers *w, struct watcher *watcher, char *buffer)
{
    for (;;) {
        ssize_t n = read(watcher->fd, buffer, READ_BUFFER_LEN);
        int64_t now_ns = bench_now_ns();
        char *body = buffer;
        long body_len = n;

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0 || watcher->failed) {
            watcher->failed = 1;
            epoll_ctl(w->epoll_fd, EPOLL_CTL_DEL, watcher->fd, NULL);
            return;
        }
        if (!watcher->head_done) {
            long offset = take_head(w, watcher, buffer, (size_t)n);

            if (offset < 0)
                continue;
            body += offset;
            body_len -= offset;
        }
        if (watcher->chunked)
            body_len = http_chunked_decode(&watcher->decoder, body, (size_t)body_len);
        if (body_len < 0) {
            watcher->failed = 1;
            return;
        }
        scan_body(w, watcher, body, (size_t)body_len, now_ns);
    }
}

static void *reader_main(void *arg)
{
    struct sse_watchers *w = arg;
    struct epoll_event events[256];
    char *buffer = xmalloc(READ_BUFFER_LEN);

    while (!atomic_load(&w->stopping)) {
        int n = epoll_wait(w->epoll_fd, events, 256, 100);

        for (int i = 0; i < n; i++)
            handle_readable(w, &w->watchers[events[i].data.u32], buffer);
    }
    free(buffer);
    return NULL;
}

static int connect_watcher(struct sse_watchers *w, int index, const struct sockaddr_in *addr,
                           const char *host, int port, const char *api_token, char *err,
                           size_t err_len)
{
    struct watcher *watcher = &w->watchers[index];
    struct epoll_event event = {.events = EPOLLIN, .data.u32 = (uint32_t)index};
    char request[1024];
    int one = 1;
    int len;

    watcher->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (watcher->fd < 0 || connect(watcher->fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0) {
        snprintf(err, err_len, "watcher %d cannot connect to %s:%d: %s (raise ulimit -n?)",
                 index, host, port, strerror(errno));
        return -1;
    }
    setsockopt(watcher->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    len = snprintf(request, sizeof(request),
                   "GET /api/v1/tasks/%lld/stream HTTP/1.1\r\nHost: %s:%d\r\n"
                   "Authorization: Bearer %s\r\nAccept: text/event-stream\r\n\r\n",
                   (long long)watcher->task_id, host, port, api_token);
    if (write(watcher->fd, request, (size_t)len) != len) {
        snprintf(err, err_len, "watcher %d cannot send its request: %s", index,
                 strerror(errno));
        return -1;
    }
    fcntl(watcher->fd, F_SETFL, fcntl(watcher->fd, F_GETFL) | O_NONBLOCK);
    epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, watcher->fd, &event);
    return 0;
}

int sse_watchers_open(const char *host, int port, const char *api_token,
                      const int64_t *task_ids, int watcher_count, int round_count,
                      struct sse_watchers **out, char *err, size_t err_len)
{
    struct sse_watchers *w = xcalloc(1, sizeof(*w));
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int rc = -1;

    w->watcher_count = watcher_count;
    w->round_count = round_count;
    w->watchers = xcalloc((size_t)watcher_count, sizeof(*w->watchers));
    w->delivered_counts = xcalloc((size_t)round_count, sizeof(int));
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->changed_cond, NULL);
    for (int i = 0; i < watcher_count; i++) {
        w->watchers[i].fd = -1;
        w->watchers[i].task_id = task_ids[i];
        w->watchers[i].received_ns = xcalloc((size_t)round_count, sizeof(int64_t));
        strbuf_init(&w->watchers[i].head);
    }

    w->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        snprintf(err, err_len, "invalid server host '%s': use an IPv4 address", host);
        goto out;
    }
    for (int i = 0; i < watcher_count; i++) {
        if (connect_watcher(w, i, &addr, host, port, api_token, err, err_len) < 0)
            goto out;
    }
    if (pthread_create(&w->thread, NULL, reader_main, w) != 0) {
        snprintf(err, err_len, "cannot start the watcher thread");
        goto out;
    }
    w->thread_started = 1;
    rc = 0;
out:
    if (rc < 0) {
        sse_watchers_close(w);
        sse_watchers_free(w);
        w = NULL;
    }
    *out = w;
    return rc;
}

static int wait_count(struct sse_watchers *w, const int *counter, int target,
                      int64_t deadline_ns)
{
    int rc = 0;

    pthread_mutex_lock(&w->lock);
    while (*counter < target) {
        struct timespec until;

        if (bench_now_ns() >= deadline_ns) {
            rc = -1;
            break;
        }
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 10000000;
        until.tv_sec += until.tv_nsec / 1000000000;
        until.tv_nsec %= 1000000000;
        pthread_cond_timedwait(&w->changed_cond, &w->lock, &until);
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}

int sse_watchers_wait_ready(struct sse_watchers *w, int64_t deadline_ns, char *err,
                            size_t err_len)
{
    if (wait_count(w, &w->ready_count, w->watcher_count, deadline_ns) == 0)
        return 0;
    pthread_mutex_lock(&w->lock);
    snprintf(err, err_len, "only %d of %d watchers received response headers in time",
             w->ready_count, w->watcher_count);
    pthread_mutex_unlock(&w->lock);
    return -1;
}

int sse_watchers_wait_round(struct sse_watchers *w, int round, int64_t deadline_ns)
{
    return wait_count(w, &w->delivered_counts[round], w->watcher_count, deadline_ns);
}

int64_t sse_watchers_received_ns(const struct sse_watchers *w, int watcher, int round)
{
    return w->watchers[watcher].received_ns[round];
}

int sse_watchers_failed_count(const struct sse_watchers *w)
{
    int count = 0;

    for (int i = 0; i < w->watcher_count; i++)
        count += w->watchers[i].failed;
    return count;
}

void sse_watchers_close(struct sse_watchers *w)
{
    atomic_store(&w->stopping, 1);
    if (w->thread_started)
        pthread_join(w->thread, NULL);
    w->thread_started = 0;
    for (int i = 0; i < w->watcher_count; i++) {
        if (w->watchers[i].fd >= 0)
            close(w->watchers[i].fd);
        w->watchers[i].fd = -1;
    }
    if (w->epoll_fd >= 0)
        close(w->epoll_fd);
    w->epoll_fd = -1;
}

void sse_watchers_free(struct sse_watchers *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->watcher_count; i++) {
        free(w->watchers[i].received_ns);
        strbuf_free(&w->watchers[i].head);
    }
    free(w->watchers);
    free(w->delivered_counts);
    pthread_cond_destroy(&w->changed_cond);
    pthread_mutex_destroy(&w->lock);
    free(w);
}
