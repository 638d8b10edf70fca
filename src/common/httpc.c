#include "common/httpc.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct httpc {
    CURL *curl;
};

void httpc_global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Returns a new easy handle; libcurl fails here only without memory. */
static CURL *easy_new(void)
{
    CURL *curl = curl_easy_init();

    if (!curl) {
        fprintf(stderr, "taskrelay: curl_easy_init failed\n");
        abort();
    }
    return curl;
}

struct httpc *httpc_new(void)
{
    struct httpc *client = xcalloc(1, sizeof(*client));

    client->curl = easy_new();
    return client;
}

void httpc_free(struct httpc *client)
{
    if (!client)
        return;
    curl_easy_cleanup(client->curl);
    free(client);
}

static size_t collect_body(char *data, size_t size, size_t count, void *userdata)
{
    strbuf_append(userdata, data, size * count);
    return size * count;
}

static int classify(CURLcode code)
{
    switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return HTTPC_NOT_SENT;
    case CURLE_OPERATION_TIMEDOUT:
        return HTTPC_TIMEOUT;
    default:
        return HTTPC_FAILED;
    }
}

/* Sets up curl for one request; *headers is owned by the caller until the
 * transfer ends. */
static void setup_request(CURL *curl, const char *method, const char *url, const char *token,
                          const char *content_type, const char *body, size_t body_len,
                          long timeout_ms, struct strbuf *response, struct curl_slist **headers)
{
    char line[512];

    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 3000 ? timeout_ms : 3000L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, response);
    curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);

    *headers = NULL;
    if (token) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", token);
        *headers = curl_slist_append(*headers, line);
    }
    if (body) {
        snprintf(line, sizeof(line), "Content-Type: %s",
                 content_type ? content_type : "application/json");
        *headers = curl_slist_append(*headers, line);
        /* Without this curl waits for "100 Continue" on large bodies. */
        *headers = curl_slist_append(*headers, "Expect:");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    } else if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, *headers);
}

int httpc_request(struct httpc *client, const char *method, const char *url,
                  const char *token, const char *content_type, const char *body,
                  size_t body_len, long timeout_ms, long *status, struct strbuf *response,
                  char *err, size_t err_len)
{
    CURL *curl = client->curl;
    struct curl_slist *headers;
    CURLcode code;

    strbuf_reset(response);
    *status = 0;
    setup_request(curl, method, url, token, content_type, body, body_len, timeout_ms, response,
                  &headers);
    code = curl_easy_perform(curl);
    curl_slist_free_all(headers);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    if (code != CURLE_OK) {
        snprintf(err, err_len, "%s %s failed: %s", method, url, curl_easy_strerror(code));
        return classify(code);
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    return HTTPC_OK;
}

/* One request of a struct httpc_multi. Finished calls are kept for reuse,
 * so their easy handles are not set up from nothing each time. */
struct httpc_call {
    CURL *curl;
    struct curl_slist *headers;
    struct strbuf response;
    char *method;
    char *url;
    httpc_done_fn done;
    void *ctx;
    struct httpc_call *next; /* in the multi's list of idle or running calls */
};

struct httpc_multi {
    CURLM *multi;
    struct httpc_call *running;
    struct httpc_call *idle;
};

struct httpc_multi *httpc_multi_new(void)
{
    struct httpc_multi *m = xcalloc(1, sizeof(*m));

    m->multi = curl_multi_init();
    if (!m->multi) {
        fprintf(stderr, "taskrelay: curl_multi_init failed\n");
        abort();
    }
    /* Keep an idle connection to each of many peers (one per worker),
     * rather than libcurl's default of a few per running transfer. */
    curl_multi_setopt(m->multi, CURLMOPT_MAXCONNECTS, 1024L);
    return m;
}

static void unlink_call(struct httpc_call **list, struct httpc_call *call)
{
    while (*list && *list != call)
        list = &(*list)->next;
    if (*list)
        *list = call->next;
    call->next = NULL;
}

/* Detaches a finished call, reports its outcome and keeps it for reuse. */
static void finish_call(struct httpc_multi *m, struct httpc_call *call, CURLcode code)
{
    char err[512] = "";
    long status = 0;
    int result = HTTPC_OK;

    curl_multi_remove_handle(m->multi, call->curl);
    unlink_call(&m->running, call);
    if (code != CURLE_OK) {
        snprintf(err, sizeof(err), "%s %s failed: %s", call->method, call->url,
                 curl_easy_strerror(code));
        result = classify(code);
    } else {
        curl_easy_getinfo(call->curl, CURLINFO_RESPONSE_CODE, &status);
    }
    call->done(call->ctx, result, status, &call->response, err);

    curl_slist_free_all(call->headers);
    call->headers = NULL;
    free(call->method);
    free(call->url);
    call->method = call->url = NULL;
    call->next = m->idle;
    m->idle = call;
}

void httpc_multi_add(struct httpc_multi *m, const char *method, const char *url,
                     const char *token, const char *body, size_t body_len, long timeout_ms,
                     httpc_done_fn done, void *ctx)
{
    struct httpc_call *call = m->idle;

    if (call) {
        m->idle = call->next;
    } else {
        call = xcalloc(1, sizeof(*call));
        call->curl = easy_new();
        strbuf_init(&call->response);
    }
    strbuf_reset(&call->response);
    call->method = xstrdup(method);
    call->url = xstrdup(url);
    call->done = done;
    call->ctx = ctx;
    setup_request(call->curl, method, url, token, NULL, body, body_len, timeout_ms,
                  &call->response, &call->headers);
    curl_easy_setopt(call->curl, CURLOPT_PRIVATE, call);
    call->next = m->running;
    m->running = call;
    curl_multi_add_handle(m->multi, call->curl);
}

void httpc_multi_run(struct httpc_multi *m, int wait_ms)
{
    CURLMsg *msg;
    int running = 0, left = 0;

    curl_multi_perform(m->multi, &running);
    while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
        struct httpc_call *call = NULL;

        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&call);
        finish_call(m, call, msg->data.result);
    }
    curl_multi_poll(m->multi, NULL, 0, wait_ms, NULL);
}

void httpc_multi_wakeup(struct httpc_multi *m)
{
    curl_multi_wakeup(m->multi);
}

void httpc_multi_free(struct httpc_multi *m)
{
    if (!m)
        return;
    while (m->running)
        finish_call(m, m->running, CURLE_ABORTED_BY_CALLBACK);
    while (m->idle) {
        struct httpc_call *call = m->idle;

        m->idle = call->next;
        curl_easy_cleanup(call->curl);
        strbuf_free(&call->response);
        free(call);
    }
    curl_multi_cleanup(m->multi);
    free(m);
}
