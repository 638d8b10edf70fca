#include "http_post.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_stats.h"
#include "common/util.h"
#include "http_chunked.h"

/* Maximum length of a response head (status line and header fields). */
#define HEAD_MAX_LEN 8192
/* Bytes read per recv call. */
#define READ_CHUNK_LEN 16384
/* Bytes of the request line and header fields besides path, host and
 * token, and the longest path a request may have. */
#define REQUEST_HEAD_SLACK 256
#define REQUEST_PATH_MAX_LEN 512
#define TIMEOUT_SCAN_NS (100LL * 1000000)

/* One TCP connection to the server. Slots are reused and freed only with
 * the client, so an epoll event that arrives after a close still points
 * at valid memory. */
struct http_conn {
    struct http_client *client;
    struct event_watch watch; /* watch.fd is the socket, -1 when closed */
    int connecting;
    int reused; /* completed a response before */
    int idle;
    struct http_conn *idle_prev;
    struct http_conn *idle_next;
    struct http_post *post; /* in flight, or NULL */

    /* The response being read. */
    char head[HEAD_MAX_LEN];
    size_t head_len;
    int head_done;
    size_t received_len;
    int status;
    int chunked;
    int close_after;
    int64_t body_left_len; /* -1: the body ends when the server closes */
    struct http_chunked decoder;
};

struct http_client {
    struct event_loop *loop;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char host[300]; /* the Host header: HOST:PORT as in the URL */
    char *token;
    struct http_conn **conns;
    size_t conn_count;
    struct http_conn *idle_head;
    int64_t next_timeout_scan_ns;
};

static void finish_post(struct http_post *post);
static int start_request(struct http_post *post);

static int resolve_server(struct http_client *client, const char *server_url, char *err,
                          size_t err_len)
{
    const char *rest = strncmp(server_url, "http://", 7) == 0 ? server_url + 7 : NULL;
    char host[256];
    char port_text[8];
    int port;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *found = NULL;

    if (!rest || strlen(rest) >= sizeof(client->host) ||
        parse_host_port(rest, host, sizeof(host), &port) < 0) {
        snprintf(err, err_len, "invalid server URL '%s': use http://HOST:PORT", server_url);
        return -1;
    }
    snprintf(client->host, sizeof(client->host), "%s", rest);
    /* An IPv6 literal comes as [::1]. */
    size_t host_len = strlen(host);

    if (host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']') {
        memmove(host, host + 1, host_len - 2);
        host[host_len - 2] = '\0';
    }
    snprintf(port_text, sizeof(port_text), "%d", port);
    if (getaddrinfo(host, port_text, &hints, &found) != 0 || !found) {
        snprintf(err, err_len, "cannot resolve the host of server URL '%s'", server_url);
        return -1;
    }
    memcpy(&client->addr, found->ai_addr, found->ai_addrlen);
    client->addr_len = found->ai_addrlen;
    freeaddrinfo(found);
    return 0;
}

int http_client_new(struct event_loop *loop, const char *server_url, const char *token,
                    struct http_client **out, char *err, size_t err_len)
{
    struct http_client *client = xcalloc(1, sizeof(*client));

    client->loop = loop;
    if (resolve_server(client, server_url, err, err_len) < 0) {
        free(client);
        *out = NULL;
        return -1;
    }
    client->token = xstrdup(token);
    *out = client;
    return 0;
}

static void idle_unlink(struct http_conn *conn)
{
    struct http_client *client = conn->client;

    if (!conn->idle)
        return;
    if (conn->idle_prev)
        conn->idle_prev->idle_next = conn->idle_next;
    else
        client->idle_head = conn->idle_next;
    if (conn->idle_next)
        conn->idle_next->idle_prev = conn->idle_prev;
    conn->idle = 0;
    conn->idle_prev = conn->idle_next = NULL;
}

static void idle_push(struct http_conn *conn)
{
    struct http_client *client = conn->client;

    conn->idle = 1;
    conn->idle_prev = NULL;
    conn->idle_next = client->idle_head;
    if (client->idle_head)
        client->idle_head->idle_prev = conn;
    client->idle_head = conn;
}

static void close_conn(struct http_conn *conn)
{
    int fd = conn->watch.fd;

    idle_unlink(conn);
    if (fd >= 0) {
        event_loop_remove(conn->client->loop, &conn->watch);
        close(fd);
    }
    conn->post = NULL;
    conn->connecting = 0;
    conn->reused = 0;
}

void http_client_free(struct http_client *client)
{
    if (!client)
        return;
    for (size_t i = 0; i < client->conn_count; i++) {
        close_conn(client->conns[i]);
        free(client->conns[i]);
    }
    free(client->conns);
    free(client->token);
    free(client);
}

static void reset_response(struct http_conn *conn)
{
    conn->head_len = 0;
    conn->head_done = 0;
    conn->received_len = 0;
    conn->status = 0;
    conn->chunked = 0;
    conn->close_after = 0;
    conn->body_left_len = -1;
    memset(&conn->decoder, 0, sizeof(conn->decoder));
}

/* Ends the request on conn with an error. A failure on a reused
 * connection before any response byte is most likely the server closing
 * an idle connection, so unless retry is 0 the request goes out once more
 * on a new one. */
static void fail_conn(struct http_conn *conn, const char *what, int retry)
{
    struct http_post *post = conn->post;
    int may_retry = retry && conn->reused && conn->received_len == 0;

    close_conn(conn);
    if (!post)
        return;
    post->conn = NULL;
    if (may_retry && !post->retried) {
        post->retried = 1;
        if (start_request(post) == 0)
            return;
    } else {
        snprintf(post->error, sizeof(post->error), "POST to %s failed: %s", conn->client->host,
                 what);
    }
    post->status = 0;
    finish_post(post);
}

static void keep_body(struct http_post *post, const char *data, size_t len)
{
    size_t room = sizeof(post->response) - 1 - post->response_len;
    size_t kept = len < room ? len : room;

    memcpy(post->response + post->response_len, data, kept);
    post->response_len += kept;
    post->response[post->response_len] = '\0';
}

/* Hands the finished response to the post and keeps the connection for
 * the next request unless the server asked to close it. */
static void complete_response(struct http_conn *conn, int extra_bytes)
{
    struct http_post *post = conn->post;

    post->status = conn->status;
    post->conn = NULL;
    conn->post = NULL;
    conn->reused = 1;
    if (conn->close_after || extra_bytes || (!conn->chunked && conn->body_left_len < 0))
        close_conn(conn);
    else
        idle_push(conn);
    finish_post(post);
}

static int header_is(const char *line, size_t line_len, const char *name)
{
    size_t name_len = strlen(name);

    return line_len > name_len && strncasecmp(line, name, name_len) == 0 &&
           line[name_len] == ':';
}

/* Finds token in a comma-separated header value, ignoring case. */
static int value_has(const char *value, size_t value_len, const char *token)
{
    size_t token_len = strlen(token);

    for (size_t i = 0; i + token_len <= value_len; i++) {
        if (strncasecmp(value + i, token, token_len) == 0)
            return 1;
    }
    return 0;
}

/* Parses the status line and the framing fields of conn->head, which ends
 * with the empty line. Returns 0, or -1 with a message. */
static int parse_head(struct http_conn *conn, const char **problem)
{
    const char *line = conn->head;
    const char *end = conn->head + conn->head_len;

    /* "HTTP/1.1 200 OK": a status line as RFC 9112 section 4 has it. */
    if (strncmp(line, "HTTP/1.", 7) != 0 || line[8] != ' ' || line[9] < '1' ||
        line[9] > '5' || line[10] < '0' || line[10] > '9' || line[11] < '0' ||
        line[11] > '9') {
        *problem = "the response has no valid HTTP/1.x status line";
        return -1;
    }
    conn->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    conn->close_after = line[7] == '0';
    while (line < end) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        size_t len = eol ? (size_t)(eol - line) : (size_t)(end - line);
        const char *value = memchr(line, ':', len);
        size_t value_len = value ? len - (size_t)(value - line) : 0;

        if (header_is(line, len, "content-length"))
            conn->body_left_len = strtoll(value + 1, NULL, 10);
        else if (header_is(line, len, "transfer-encoding"))
            conn->chunked = value_has(value, value_len, "chunked");
        else if (header_is(line, len, "connection"))
            conn->close_after = value_has(value, value_len, "close");
        line = eol ? eol + 1 : end;
    }
    /* RFC 9112 section 6.3: these have no body whatever the fields contain. */
    if (conn->status == 204 || conn->status == 304)
        conn->body_left_len = 0;
    if (conn->chunked)
        conn->body_left_len = -1;
    return 0;
}

/* Takes response head bytes. Returns how many of data it consumed, or -1
 * with a message. Sets head_done once the empty line came. */
static long take_head(struct http_conn *conn, const char *data, size_t len,
                      const char **problem)
{
    size_t old_len = conn->head_len;
    size_t room = HEAD_MAX_LEN - 1 - old_len;
    size_t copy_len = len < room ? len : room;
    char *found;

    memcpy(conn->head + old_len, data, copy_len);
    conn->head_len += copy_len;
    conn->head[conn->head_len] = '\0';
    found = strstr(conn->head + (old_len > 3 ? old_len - 3 : 0), "\r\n\r\n");
    if (!found) {
        if (conn->head_len == HEAD_MAX_LEN - 1) {
            *problem = "the response head is longer than 8 KiB";
            return -1;
        }
        return (long)copy_len;
    }

    size_t head_end = (size_t)(found - conn->head) + 4;

    conn->head_len = head_end;
    if (parse_head(conn, problem) < 0)
        return -1;
    conn->head_done = 1;
    return (long)(head_end - old_len);
}

/* Takes body bytes. Returns 1 when the response is complete, 0 when more
 * is needed, -1 on a malformed chunked body. *extra is set when bytes
 * follow the response. */
static int take_body(struct http_conn *conn, char *data, size_t len, int *extra)
{
    struct http_post *post = conn->post;

    if (conn->chunked) {
        long decoded = http_chunked_decode(&conn->decoder, data, len);

        if (decoded < 0)
            return -1;
        keep_body(post, data, (size_t)decoded);
        return conn->decoder.state == HTTP_CHUNKED_FINISHED;
    }
    if (conn->body_left_len < 0) {
        keep_body(post, data, len);
        return 0;
    }

    size_t take_len = (size_t)conn->body_left_len < len ? (size_t)conn->body_left_len : len;

    keep_body(post, data, take_len);
    conn->body_left_len -= (int64_t)take_len;
    *extra = take_len < len;
    return conn->body_left_len == 0;
}

/* Feeds received bytes to the parser and finishes the request when the
 * response is complete. */
static void take_bytes(struct http_conn *conn, char *data, size_t len)
{
    const char *problem = NULL;
    int extra = 0;
    int done;

    conn->received_len += len;
    while (!conn->head_done) {
        long used = take_head(conn, data, len, &problem);

        if (used < 0) {
            fail_conn(conn, problem, 0);
            return;
        }
        data += used;
        len -= (size_t)used;
        if (!conn->head_done)
            return;
        /* An interim 1xx response is skipped. */
        if (conn->status < 200) {
            size_t received_len = conn->received_len;

            reset_response(conn);
            conn->received_len = received_len;
        }
    }

    done = take_body(conn, data, len, &extra);
    if (done < 0)
        fail_conn(conn, "the chunked response body is malformed", 0);
    else if (done > 0)
        complete_response(conn, extra);
}

static void read_response(struct http_conn *conn)
{
    char buffer[READ_CHUNK_LEN];

    for (;;) {
        ssize_t n = recv(conn->watch.fd, buffer, sizeof(buffer), 0);

        if (n > 0) {
            take_bytes(conn, buffer, (size_t)n);
            /* Done, failed, or a short read that emptied the socket. */
            if (!conn->post || (size_t)n < sizeof(buffer))
                return;
            continue;
        }
        if (n == 0) {
            if (conn->head_done && conn->body_left_len < 0 && !conn->chunked)
                complete_response(conn, 0);
            else
                fail_conn(conn, "the server closed the connection before the response ended", 1);
            return;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            fail_conn(conn, strerror(errno), 1);
        return;
    }
}

/* Writes what is left of the request, then waits for writability or for
 * the response. */
static void write_request(struct http_conn *conn)
{
    struct http_post *post = conn->post;
    struct event_loop *loop = conn->client->loop;

    while (post->sent_len < post->request_len) {
        ssize_t n = send(conn->watch.fd, post->request + post->sent_len,
                         post->request_len - post->sent_len, MSG_NOSIGNAL);

        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            event_loop_modify(loop, &conn->watch, EPOLLOUT);
            return;
        }
        if (n < 0 && errno != EINTR) {
            fail_conn(conn, strerror(errno), 1);
            return;
        }
        if (n > 0)
            post->sent_len += (size_t)n;
    }
    event_loop_modify(loop, &conn->watch, EPOLLIN);
}

static int on_conn_ready(void *arg, uint32_t events)
{
    struct http_conn *conn = arg;
    int error = 0;
    socklen_t error_len = sizeof(error);

    if (!conn->post) {
        /* An idle connection is readable only when the server closed it
         * or sent bytes that no request expects. */
        if (events)
            close_conn(conn);
        return 0;
    }
    if (conn->connecting) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return 0;
        getsockopt(conn->watch.fd, SOL_SOCKET, SO_ERROR, &error, &error_len);
        if (error != 0) {
            fail_conn(conn, strerror(error), 0);
            return 0;
        }
        conn->connecting = 0;
    }
    if (conn->post->sent_len < conn->post->request_len) {
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            write_request(conn);
        return 0;
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        read_response(conn);
    return 0;
}

static struct http_conn *free_slot(struct http_client *client)
{
    struct http_conn *conn;

    for (size_t i = 0; i < client->conn_count; i++) {
        if (client->conns[i]->watch.fd < 0)
            return client->conns[i];
    }
    conn = xcalloc(1, sizeof(*conn));
    conn->client = client;
    conn->watch.fd = -1;
    client->conns = xrealloc(client->conns, (client->conn_count + 1) * sizeof(*client->conns));
    client->conns[client->conn_count++] = conn;
    return conn;
}

/* Opens a non-blocking connection in a free slot. Returns NULL with errno
 * set on failure. */
static struct http_conn *open_conn(struct http_client *client)
{
    struct http_conn *conn = free_slot(client);
    int one = 1;
    int fd = socket(client->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return NULL;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    conn->connecting = connect(fd, (struct sockaddr *)&client->addr, client->addr_len) < 0;
    if ((conn->connecting && errno != EINPROGRESS) ||
        event_loop_add(client->loop, &conn->watch, fd, EPOLLOUT, on_conn_ready, conn) < 0) {
        int saved = errno;

        close(fd);
        conn->connecting = 0;
        errno = saved;
        return NULL;
    }
    conn->reused = 0;
    return conn;
}

static int start_request(struct http_post *post)
{
    struct http_client *client = post->client;
    struct http_conn *conn = client->idle_head;

    if (conn) {
        idle_unlink(conn);
    } else {
        conn = open_conn(client);
        if (!conn) {
            snprintf(post->error, sizeof(post->error), "cannot connect to %s: %s", client->host,
                     strerror(errno));
            return -1;
        }
    }
    reset_response(conn);
    conn->post = post;
    post->conn = conn;
    post->sent_len = 0;
    if (!conn->connecting)
        write_request(conn);
    return 0;
}

void http_post_init(struct http_post *post, struct http_client *client, size_t max_body_len,
                    http_post_done_fn on_done, void *owner)
{
    memset(post, 0, sizeof(*post));
    post->client = client;
    post->on_done = on_done;
    post->owner = owner;
    post->request_cap = REQUEST_HEAD_SLACK + sizeof(client->host) + strlen(client->token) +
                        REQUEST_PATH_MAX_LEN + max_body_len;
    post->request = xmalloc(post->request_cap);
}

void http_post_cleanup(struct http_post *post)
{
    free(post->request);
    post->request = NULL;
}

int http_post_send(struct http_post *post, const char *path, const char *body,
                   size_t body_len, long timeout_ms)
{
    struct http_client *client = post->client;
    int head_len = snprintf(post->request, post->request_cap,
                            "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                            "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                            path, client->host, client->token, body_len);

    post->status = 0;
    post->error[0] = '\0';
    post->response[0] = '\0';
    post->response_len = 0;
    post->retried = 0;
    if (head_len < 0 || (size_t)head_len + body_len > post->request_cap) {
        snprintf(post->error, sizeof(post->error),
                 "request to %.100s is larger than the %zu bytes set up for it", path,
                 post->request_cap);
        return -1;
    }
    memcpy(post->request + head_len, body, body_len);
    post->request_len = (size_t)head_len + body_len;
    post->deadline_ns = bench_now_ns() + (int64_t)timeout_ms * 1000000;
    return start_request(post);
}

static void finish_post(struct http_post *post)
{
    post->on_done(post);
}

void http_client_check_timeouts(struct http_client *client)
{
    int64_t now_ns = bench_now_ns();

    if (now_ns < client->next_timeout_scan_ns)
        return;
    client->next_timeout_scan_ns = now_ns + TIMEOUT_SCAN_NS;
    for (size_t i = 0; i < client->conn_count; i++) {
        struct http_conn *conn = client->conns[i];

        if (conn->post && now_ns > conn->post->deadline_ns)
            fail_conn(conn, "timed out", 0);
    }
}
