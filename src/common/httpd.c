#include "common/httpd.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_util.h"
#include "common/log.h"
#include "common/util.h"

struct httpd {
    struct MHD_Daemon *daemon;
    size_t default_limit;
    httpd_body_limit_fn body_limit;
    httpd_handler_fn handler;
    void *app;
    int port;
};

/* Per-request state kept by MHD between calls of the access handler. */
struct request_state {
    struct strbuf body;
    size_t limit;
    int too_large;
    int replied; /* a 413 went out before the body was read */
};

static void queue_and_free(struct MHD_Connection *connection, struct http_exchange *ex)
{
    if (!ex->response)
        http_reply_error(ex, 500, "internal", "the handler produced no reply");
    MHD_queue_response(connection, ex->status, ex->response);
    MHD_destroy_response(ex->response);
}

static void reply_too_large(struct MHD_Connection *connection, size_t limit)
{
    struct http_exchange ex = {.connection = connection};

    http_reply_error(&ex, 413, "too_large",
                     "request body is larger than the limit of %zu bytes", limit);
    queue_and_free(connection, &ex);
}

static enum MHD_Result find_nul_argument(void *cls, enum MHD_ValueKind kind,
                                         const char *key, size_t key_size, const char *value,
                                         size_t value_size)
{
    const char **bad_key = cls;

    if (strlen(key) != key_size || (value && strlen(value) != value_size)) {
        *bad_key = key;
        return MHD_NO;
    }
    return MHD_YES;
}

/* Replies 400 when a query argument contains a NUL byte (%00): the C
 * string every handler reads would silently end there. */
static int reject_nul_in_query(struct MHD_Connection *connection)
{
    const char *bad_key = NULL;
    struct http_exchange ex = {.connection = connection};

    MHD_get_connection_values_n(connection, MHD_GET_ARGUMENT_KIND, find_nul_argument,
                                &bad_key);
    if (!bad_key)
        return 0;
    http_reply_error(&ex, 400, "invalid_field",
                     "query argument '%s' contains a NUL byte (%%00): remove it", bad_key);
    queue_and_free(connection, &ex);
    return 1;
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *connection,
                                      const char *url, const char *method,
                                      const char *version, const char *upload_data,
                                      size_t *upload_data_size, void **con_cls)
{
    struct httpd *server = cls;
    struct request_state *state = *con_cls;

    if (!state) {
        const char *length;

        state = xcalloc(1, sizeof(*state));
        strbuf_init(&state->body);
        state->limit = server->body_limit ? server->body_limit(method, url, server->app)
                                          : server->default_limit;
        *con_cls = state;

        /* A declared length over the limit is rejected before reading. */
        length = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                             MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (length && strtoull(length, NULL, 10) > state->limit) {
            state->too_large = 1;
            state->replied = 1;
            reply_too_large(connection, state->limit);
        }
        return MHD_YES;
    }

    if (state->replied) {
        *upload_data_size = 0;
        return MHD_YES;
    }

    if (*upload_data_size > 0) {
        if (!state->too_large && state->body.len + *upload_data_size > state->limit)
            state->too_large = 1;
        if (!state->too_large)
            strbuf_append(&state->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }

    if (state->too_large) {
        reply_too_large(connection, state->limit);
        return MHD_YES;
    }

    if (reject_nul_in_query(connection))
        return MHD_YES;

    struct http_exchange ex = {
        .connection = connection,
        .method = method,
        .path = url,
        .body = state->body.data,
        .body_len = state->body.len,
    };
    server->handler(&ex, server->app);
    queue_and_free(connection, &ex);
    return MHD_YES;
}

static void request_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    struct request_state *state = *con_cls;

    if (!state)
        return;
    strbuf_free(&state->body);
    free(state);
    *con_cls = NULL;
}

/* Routes libmicrohttpd's own messages (refused connections, descriptor
 * limits) into the logger. A message equal to the previous one within 10 s
 * is only counted, so a flood of refused connections costs one line per
 * burst. */
static void log_library_message(void *cls, const char *fmt, va_list ap)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static char last[256];
    static int64_t last_at_ms;
    static int repeats;
    char message[256];
    size_t len;

    vsnprintf(message, sizeof(message), fmt, ap);
    len = strlen(message);
    while (len > 0 && (message[len - 1] == '\n' || message[len - 1] == '\r'))
        message[--len] = '\0';

    pthread_mutex_lock(&lock);
    if (strcmp(message, last) == 0 && mono_ms() - last_at_ms < 10000) {
        repeats++;
        pthread_mutex_unlock(&lock);
        return;
    }
    if (repeats > 0)
        log_warn("http", "previous message repeated %d more times", repeats);
    log_warn("http", "%s", message);
    snprintf(last, sizeof(last), "%s", message);
    last_at_ms = mono_ms();
    repeats = 0;
    pthread_mutex_unlock(&lock);
}

static int resolve_listen(const char *listen, struct sockaddr_storage *addr, char *err,
                          size_t err_len)
{
    char host[256];
    char port_text[8];
    int port;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;

    if (parse_host_port(listen, host, sizeof(host), &port) < 0) {
        snprintf(err, err_len, "invalid listen address '%s': use HOST:PORT, e.g. 127.0.0.1:8080",
                 listen);
        return -1;
    }
    /* Accept "[::1]:8080" for IPv6. */
    if (host[0] == '[') {
        size_t n = strlen(host);

        if (n < 2 || host[n - 1] != ']') {
            snprintf(err, err_len, "invalid listen address '%s'", listen);
            return -1;
        }
        memmove(host, host + 1, n - 2);
        host[n - 2] = '\0';
    }
    snprintf(port_text, sizeof(port_text), "%d", port);
    int rc = getaddrinfo(host, port_text, &hints, &res);
    if (rc != 0 || !res) {
        snprintf(err, err_len, "cannot resolve listen host '%s': %s", host, gai_strerror(rc));
        return -1;
    }
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

struct httpd *httpd_start(const char *listen, unsigned int thread_count, size_t default_limit,
                          httpd_body_limit_fn body_limit, httpd_handler_fn handler,
                          void *app, char *err, size_t err_len)
{
    struct sockaddr_storage addr;
    struct httpd *server;
    unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
                         MHD_USE_ERROR_LOG;
    const union MHD_DaemonInfo *info;
    /* One thread is the daemon's own; a pool only from two threads up. */
    struct MHD_OptionItem pool[] = {
        {thread_count > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, thread_count, NULL},
        {MHD_OPTION_END, 0, NULL},
    };

    memset(&addr, 0, sizeof(addr));
    if (resolve_listen(listen, &addr, err, err_len) < 0)
        return NULL;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;

    server = xcalloc(1, sizeof(*server));
    server->default_limit = default_limit;
    server->body_limit = body_limit;
    server->handler = handler;
    server->app = app;
    server->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, access_handler, server, MHD_OPTION_EXTERNAL_LOGGER,
        log_library_message, NULL, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, request_completed, server,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)120, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)4096, MHD_OPTION_ARRAY, pool, MHD_OPTION_END);
    if (!server->daemon) {
        snprintf(err, err_len, "cannot listen on %s: the address is invalid or in use", listen);
        free(server);
        return NULL;
    }
    info = MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_BIND_PORT);
    server->port = info ? info->port : 0;
    return server;
}

int httpd_port(const struct httpd *server)
{
    return server->port;
}

void httpd_stop(struct httpd *server)
{
    if (!server)
        return;
    MHD_stop_daemon(server->daemon);
    free(server);
}

void http_reply_response(struct http_exchange *ex, unsigned int status,
                         struct MHD_Response *response)
{
    if (ex->response)
        MHD_destroy_response(ex->response);
    ex->status = status;
    ex->response = response;
}

void http_reply_bytes(struct http_exchange *ex, unsigned int status,
                      const char *content_type, const void *data, size_t len)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);

    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    http_reply_response(ex, status, response);
}

void http_reply_json(struct http_exchange *ex, unsigned int status, json_t *body)
{
    char *text = json_to_text(body);
    struct MHD_Response *response =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);

    json_decref(body);
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    http_reply_response(ex, status, response);
}

void http_reply_error(struct http_exchange *ex, unsigned int status, const char *code,
                      const char *fmt, ...)
{
    char message[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    http_reply_json(ex, status,
                    json_pack("{s:{s:s, s:o}}", "error", "code", code, "message",
                              json_string_or_null(message)));
}

void http_reply_header(struct http_exchange *ex, const char *name, const char *value)
{
    if (ex->response)
        MHD_add_response_header(ex->response, name, value);
}

const char *http_header(const struct http_exchange *ex, const char *name)
{
    return MHD_lookup_connection_value(ex->connection, MHD_HEADER_KIND, name);
}

const char *http_query(const struct http_exchange *ex, const char *name)
{
    return MHD_lookup_connection_value(ex->connection, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_bearer_token(const struct http_exchange *ex)
{
    const char *value = http_header(ex, MHD_HTTP_HEADER_AUTHORIZATION);

    if (!value || strncasecmp(value, "Bearer ", 7) != 0)
        return NULL;
    value += 7;
    while (*value == ' ')
        value++;
    return *value ? value : NULL;
}

void http_peer_address(const struct http_exchange *ex, char *out, size_t out_len)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(ex->connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

    snprintf(out, out_len, "unknown");
    if (!info || !info->client_addr)
        return;
    if (info->client_addr->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)info->client_addr;
        inet_ntop(AF_INET, &in->sin_addr, out, (socklen_t)out_len);
    } else if (info->client_addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)info->client_addr;
        inet_ntop(AF_INET6, &in6->sin6_addr, out, (socklen_t)out_len);
    }
}

int route_match(const char *pattern, const char *path, char caps[][80], int max_caps)
{
    int ncaps = 0;

    while (*pattern && *path) {
        if (*pattern == '*') {
            size_t n = strcspn(path, "/");

            if (n == 0 || n >= 80 || ncaps >= max_caps)
                return 0;
            memcpy(caps[ncaps], path, n);
            caps[ncaps][n] = '\0';
            ncaps++;
            path += n;
            pattern++;
            continue;
        }
        if (*pattern != *path)
            return 0;
        pattern++;
        path++;
    }
    return *pattern == '\0' && *path == '\0';
}

int parse_task_id(const char *text, long long *out)
{
    int64_t v;

    if (parse_int64(text, 1, INT64_MAX, &v) < 0)
        return -1;
    *out = v;
    return 0;
}
