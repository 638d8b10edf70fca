/* The simulated workers' HTTP side: each has its own libmicrohttpd server
 * on a free loopback port, in external epoll mode, so the fleet's one loop
 * thread serves the POST /execute of every worker. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_stats.h"
#include "common/json_util.h"
#include "common/util.h"
#include "sim_worker_internal.h"

/* /execute bodies are small; a larger one is a protocol error here. */
#define SIM_BODY_LIMIT (64 * 1024)
/* libmicrohttpd's memory per connection for the request head, the reply
 * head and the read buffer, because the body reaches the handler in
 * pieces. The pool is zeroed between requests, and zeroing the default
 * 32 KiB took 2% of the load generator's CPU. */
#define SIM_POOL_LEN 8192

/* A connection's request body, kept across its keep-alive requests so a
 * request needs no allocation of its own. */
struct execute_connection {
    struct strbuf body;
    int too_large;
};

static void on_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct execute_connection *state = *socket_context;

    (void)cls;
    (void)connection;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        state = xcalloc(1, sizeof(*state));
        strbuf_init(&state->body);
        *socket_context = state;
        return;
    }
    if (state) {
        strbuf_free(&state->body);
        free(state);
    }
    *socket_context = NULL;
}

static enum MHD_Result reply(struct MHD_Connection *connection, unsigned int status,
                             const char *body, size_t body_len)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer(body_len, (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result result;

    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    result = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return result;
}

static enum MHD_Result reply_text(struct MHD_Connection *connection, unsigned int status,
                                  const char *body)
{
    return reply(connection, status, body, strlen(body));
}

/* Replies {"error":{"code":code,"message":message}} with message escaped. */
static enum MHD_Result reply_error(struct MHD_Connection *connection, unsigned int status,
                                   const char *code, const char *message)
{
    json_t *value = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", message);
    char *text = json_dumps(value, JSON_COMPACT);
    enum MHD_Result result = reply_text(connection, status, text);

    free(text);
    json_decref(value);
    return result;
}

/* Claims a free run record for the task. Returns the run when claimed,
 * NULL with *duplicate set when the same attempt is already here, and
 * NULL when every slot is taken. */
static struct sim_run *claim_run(struct sim_worker *worker, int64_t task_id, int attempt,
                                 int *duplicate)
{
    struct sim_run *claimed = NULL;
    int used = 0;

    *duplicate = 0;
    pthread_mutex_lock(&worker->lock);
    for (int i = 0; i < worker->run_count; i++) {
        struct sim_run *run = &worker->runs[i];

        if (run->state == SIM_RUN_FREE) {
            if (!claimed)
                claimed = run;
            continue;
        }
        if (run->task_id == task_id && run->attempt == attempt)
            *duplicate = 1;
        used += run->state != SIM_RUN_FINISHING;
    }
    if (*duplicate || used >= worker->fleet->config.slots)
        claimed = NULL;
    if (claimed) {
        claimed->state = SIM_RUN_REPORTING;
        claimed->task_id = task_id;
        claimed->attempt = attempt;
        atomic_store(&claimed->seq, 0);
    }
    pthread_mutex_unlock(&worker->lock);
    return claimed;
}

static void note_execute(struct sim_fleet *fleet, int64_t task_id, int64_t received_ns)
{
    pthread_mutex_lock(&fleet->lock);
    fleet->last_execute_ns = received_ns;
    fleet->last_execute_task_id = task_id;
    pthread_mutex_unlock(&fleet->lock);
}

static int token_accepted(struct MHD_Connection *connection, const char *worker_token)
{
    const char *value = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                    MHD_HTTP_HEADER_AUTHORIZATION);

    if (!value || strncasecmp(value, "Bearer ", 7) != 0)
        return 0;
    value += 7;
    while (*value == ' ')
        value++;
    return token_equal(value, worker_token);
}

static enum MHD_Result handle_execute(struct sim_worker *worker,
                                      struct MHD_Connection *connection,
                                      const struct strbuf *body)
{
    int64_t received_ns = bench_now_ns();
    char err[256];
    char answer[256];
    json_t *request;
    int64_t task_id = 0;
    int64_t attempt = 1;
    struct sim_run *run;
    int duplicate;

    if (!token_accepted(connection, worker->fleet->config.worker_token))
        return reply_error(connection, 401, "unauthorized", "missing or wrong worker token");
    request = json_parse_strict(body->data, body->len, err, sizeof(err));
    if (!request ||
        json_field_int(request, "task_id", 1, 1, INT64_MAX, &task_id, err, sizeof(err)) < 0 ||
        json_field_int(request, "attempt", 0, 1, INT32_MAX, &attempt, err, sizeof(err)) < 0) {
        json_decref(request);
        return reply_error(connection, 400, "invalid_field", err);
    }
    json_decref(request);

    note_execute(worker->fleet, task_id, received_ns);
    run = claim_run(worker, task_id, (int)attempt, &duplicate);
    if (!run && !duplicate)
        return reply_text(connection, 503,
                          "{\"success\":false,\"message\":\"Worker is busy\","
                          "\"current_task\":null}");

    int len = snprintf(answer, sizeof(answer),
                       "{\"success\":true,\"message\":\"Task started\",\"worker_id\":\"%s\","
                       "\"task_id\":%lld}",
                       worker->id, (long long)task_id);
    enum MHD_Result result = reply(connection, 200, answer, (size_t)len);

    if (run)
        sim_reporter_begin(run);
    return result;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **request_context)
{
    struct sim_worker *worker = cls;
    struct execute_connection *state = *request_context;

    (void)version;
    if (!state) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

        state = info->socket_context;
        strbuf_reset(&state->body);
        state->too_large = 0;
        *request_context = state;
        return MHD_YES;
    }

    if (*upload_data_size > 0) {
        if (state->body.len + *upload_data_size > SIM_BODY_LIMIT)
            state->too_large = 1;
        if (!state->too_large)
            strbuf_append(&state->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }

    if (strcmp(url, "/execute") != 0 || strcmp(method, "POST") != 0)
        return reply_error(connection, 404, "not_found",
                           "the simulated worker serves only POST /execute");
    if (state->too_large)
        return reply_error(connection, 413, "too_large",
                           "request body is larger than the limit of 65536 bytes");
    return handle_execute(worker, connection, &state->body);
}

/* Runs the server's ready connections. MHD keeps connections with unread
 * data on its own list, and then requests a zero timeout. */
static int on_daemon_ready(void *arg)
{
    struct sim_worker *worker = arg;
    MHD_UNSIGNED_LONG_LONG timeout_ms = 1;

    MHD_run(worker->daemon);
    return MHD_get_timeout(worker->daemon, &timeout_ms) == MHD_YES && timeout_ms == 0;
}

int sim_execute_start(struct sim_worker *worker, char *err, size_t err_len)
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    const union MHD_DaemonInfo *info;

    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    worker->daemon = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, worker,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_CONNECTION,
        on_connection, NULL, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SIM_POOL_LEN,
        MHD_OPTION_END);
    if (!worker->daemon) {
        snprintf(err, err_len, "cannot listen on 127.0.0.1 for worker %s", worker->id);
        return -1;
    }

    info = MHD_get_daemon_info(worker->daemon, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(worker->url, sizeof(worker->url), "http://127.0.0.1:%d", info ? info->port : 0);
    info = MHD_get_daemon_info(worker->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info) {
        snprintf(err, err_len, "libmicrohttpd gave no epoll descriptor for worker %s",
                 worker->id);
        return -1;
    }
    return curl_loop_watch_fd(worker->fleet->loop, info->epoll_fd, on_daemon_ready, worker, err,
                              err_len);
}

void sim_execute_stop(struct sim_worker *worker)
{
    if (worker->daemon)
        MHD_stop_daemon(worker->daemon);
    worker->daemon = NULL;
}
