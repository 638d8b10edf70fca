/* Tests of the load generator's HTTP/1.1 client (http_post.c) against a
 * scripted server thread on a loopback port: every response framing the
 * client reads, a server that closes an idle connection, and a malformed
 * response. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "event_loop.h"
#include "http_post.h"

/* One scripted response. close_after makes the server close the
 * connection once it is sent. */
struct scripted_response {
    const char *bytes;
    int close_after;
};

struct script_server {
    int listen_fd;
    int port;
    const struct scripted_response *responses;
    int response_count;
    int request_count;
    int connection_count;
    pthread_t thread;
};

/* Reads one request (head and Content-Length body). Returns 0, or -1 when
 * the client closed the connection. */
static int read_request(int fd)
{
    char buffer[4096];
    size_t len = 0;
    char *head_end = NULL;
    long body_len = 0;

    while (!head_end) {
        ssize_t n = recv(fd, buffer + len, sizeof(buffer) - 1 - len, 0);

        if (n <= 0)
            return -1;
        len += (size_t)n;
        buffer[len] = '\0';
        head_end = strstr(buffer, "\r\n\r\n");
    }
    const char *length = strstr(buffer, "Content-Length: ");

    if (length)
        body_len = strtol(length + 16, NULL, 10);
    size_t have = len - (size_t)(head_end + 4 - buffer);

    while ((long)have < body_len) {
        ssize_t n = recv(fd, buffer, sizeof(buffer), 0);

        if (n <= 0)
            return -1;
        have += (size_t)n;
    }
    return 0;
}

/* Serves the script in order, one connection at a time, and returns once
 * every response went out or no client came for 5 s. */
static void *serve_script(void *arg)
{
    struct script_server *server = arg;

    while (server->request_count < server->response_count) {
        struct pollfd ready = {.fd = server->listen_fd, .events = POLLIN};
        int fd;

        if (poll(&ready, 1, 5000) <= 0)
            break;
        fd = accept(server->listen_fd, NULL, NULL);
        server->connection_count++;
        while (server->request_count < server->response_count && read_request(fd) == 0) {
            const struct scripted_response *response =
                &server->responses[server->request_count++];

            /* Two sends, so the client sees the head in pieces. */
            send(fd, response->bytes, 5, MSG_NOSIGNAL);
            send(fd, response->bytes + 5, strlen(response->bytes) - 5, MSG_NOSIGNAL);
            if (response->close_after)
                break;
        }
        close(fd);
    }
    return NULL;
}

static void start_server(struct script_server *server, const struct scripted_response *responses,
                         int response_count)
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    socklen_t addr_len = sizeof(addr);

    memset(server, 0, sizeof(*server));
    server->responses = responses;
    server->response_count = response_count;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    server->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(server->listen_fd >= 0);
    assert_int_equal(bind(server->listen_fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(listen(server->listen_fd, 8), 0);
    getsockname(server->listen_fd, (struct sockaddr *)&addr, &addr_len);
    server->port = ntohs(addr.sin_port);
    assert_int_equal(pthread_create(&server->thread, NULL, serve_script, server), 0);
}

static void stop_server(struct script_server *server)
{
    pthread_join(server->thread, NULL);
    close(server->listen_fd);
}

struct client_fixture {
    struct event_loop *loop;
    struct http_client *client;
    struct http_post post;
    int done;
};

static void on_done(struct http_post *post)
{
    struct client_fixture *fixture = post->owner;

    fixture->done = 1;
}

static void open_client(struct client_fixture *fixture, int port)
{
    char url[64];
    char err[256];

    memset(fixture, 0, sizeof(*fixture));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
    fixture->loop = event_loop_new(err, sizeof(err));
    assert_non_null(fixture->loop);
    assert_int_equal(http_client_new(fixture->loop, url, "test-token", &fixture->client, err,
                                     sizeof(err)),
                     0);
    http_post_init(&fixture->post, fixture->client, 256, on_done, fixture);
}

static void close_client(struct client_fixture *fixture)
{
    http_client_free(fixture->client);
    http_post_cleanup(&fixture->post);
    event_loop_free(fixture->loop);
}

/* Sends one POST and runs the loop until it finished, at most 5 s. */
static void post_and_wait(struct client_fixture *fixture)
{
    const char *body = "{\"kind\":\"test\"}";

    fixture->done = 0;
    assert_int_equal(http_post_send(&fixture->post, "/api/v1/tasks", body, strlen(body), 5000),
                     0);
    for (int round = 0; round < 50 && !fixture->done; round++)
        event_loop_run_once(fixture->loop, 100);
    assert_true(fixture->done);
}

static void test_framings_each_read(void **state)
{
    static const struct scripted_response responses[] = {
        {"HTTP/1.1 201 Created\r\nContent-Length: 8\r\n\r\n{\"id\":1}", 0},
        {"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
         "3;ext=1\r\n{\"i\r\n5\r\nd\":2}\r\n0\r\n\r\n",
         0},
        {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\n{\"id\":3}", 0},
        {"HTTP/1.1 201 Created\r\nConnection: close\r\n\r\n{\"id\":4}", 1},
    };
    static const char *expected_bodies[] = {"{\"id\":1}", "{\"id\":2}", "{\"id\":3}",
                                            "{\"id\":4}"};
    static const int expected_statuses[] = {201, 201, 200, 201};
    struct script_server server;
    struct client_fixture fixture;

    (void)state;
    start_server(&server, responses, 4);
    open_client(&fixture, server.port);
    for (int i = 0; i < 4; i++) {
        post_and_wait(&fixture);
        assert_int_equal(fixture.post.status, expected_statuses[i]);
        assert_string_equal(fixture.post.response, expected_bodies[i]);
    }
    close_client(&fixture);
    stop_server(&server);
    assert_int_equal(server.connection_count, 1);
}

static void test_closed_idle_connection_replaced(void **state)
{
    static const struct scripted_response responses[] = {
        /* Closed after a complete response without "Connection: close",
         * as a server that drops idle connections does. */
        {"HTTP/1.1 201 Created\r\nContent-Length: 8\r\n\r\n{\"id\":1}", 1},
        {"HTTP/1.1 201 Created\r\nContent-Length: 8\r\n\r\n{\"id\":2}", 0},
    };
    struct script_server server;
    struct client_fixture fixture;

    (void)state;
    start_server(&server, responses, 2);
    open_client(&fixture, server.port);
    post_and_wait(&fixture);
    assert_int_equal(fixture.post.status, 201);
    /* Give the close time to arrive, so the second request may find the
     * connection dead either in the loop or when it sends. */
    usleep(20000);
    post_and_wait(&fixture);
    assert_int_equal(fixture.post.status, 201);
    assert_string_equal(fixture.post.response, "{\"id\":2}");
    close_client(&fixture);
    stop_server(&server);
    assert_int_equal(server.connection_count, 2);
}

static void test_malformed_status_fails(void **state)
{
    static const struct scripted_response responses[] = {
        {"HTTP/1.1 2x1 Created\r\nContent-Length: 0\r\n\r\n", 1},
    };
    struct script_server server;
    struct client_fixture fixture;

    (void)state;
    start_server(&server, responses, 1);
    open_client(&fixture, server.port);
    post_and_wait(&fixture);
    assert_int_equal(fixture.post.status, 0);
    assert_non_null(strstr(fixture.post.error, "status line"));
    close_client(&fixture);
    stop_server(&server);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framings_each_read),
        cmocka_unit_test(test_closed_idle_connection_replaced),
        cmocka_unit_test(test_malformed_status_fails),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
