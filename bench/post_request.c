#include "post_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t keep_response_head(char *data, size_t size, size_t count, void *userdata)
{
    struct post_request *request = userdata;
    size_t len = size * count;
    size_t room = sizeof(request->response) - 1 - request->response_len;
    size_t copy_len = len < room ? len : room;

    memcpy(request->response + request->response_len, data, copy_len);
    request->response_len += copy_len;
    request->response[request->response_len] = '\0';
    return len;
}

struct curl_slist *post_request_headers(const char *token)
{
    struct curl_slist *headers = NULL;
    char line[512];

    snprintf(line, sizeof(line), "Authorization: Bearer %s", token);
    headers = curl_slist_append(headers, line);
    headers = curl_slist_append(headers, "Content-Type: application/json");
    /* Without this curl waits for "100 Continue" on large bodies. */
    headers = curl_slist_append(headers, "Expect:");
    return headers;
}

void post_request_init(struct post_request *request, struct curl_slist *headers,
                       long timeout_ms, post_request_done_fn on_done, void *owner)
{
    memset(request, 0, sizeof(*request));
    request->on_done = on_done;
    request->owner = owner;
    request->easy = curl_easy_init();
    if (!request->easy) {
        fprintf(stderr, "taskrelay-bench: curl_easy_init failed\n");
        abort();
    }
    curl_easy_setopt(request->easy, CURLOPT_PRIVATE, request);
    curl_easy_setopt(request->easy, CURLOPT_POST, 1L);
    curl_easy_setopt(request->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    /* Loopback only: an empty proxy also spares curl the look-up of the
     * proxy environment variables on every request. */
    curl_easy_setopt(request->easy, CURLOPT_PROXY, "");
    curl_easy_setopt(request->easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(request->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(request->easy, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(request->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(request->easy, CURLOPT_CONNECTTIMEOUT_MS,
                     timeout_ms < 3000 ? timeout_ms : 3000L);
    curl_easy_setopt(request->easy, CURLOPT_WRITEFUNCTION, keep_response_head);
    curl_easy_setopt(request->easy, CURLOPT_WRITEDATA, request);
}

void post_request_cleanup(struct post_request *request)
{
    if (request->easy)
        curl_easy_cleanup(request->easy);
    request->easy = NULL;
}

int post_request_send(struct post_request *request, CURLM *multi, const char *url,
                      const char *body, size_t body_len)
{
    request->response_len = 0;
    request->response[0] = '\0';
    if (url)
        curl_easy_setopt(request->easy, CURLOPT_URL, url);
    curl_easy_setopt(request->easy, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(request->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    return curl_multi_add_handle(multi, request->easy) == CURLM_OK ? 0 : -1;
}

void post_request_finish(CURL *easy, CURLcode result, void *unused)
{
    struct post_request *request = NULL;

    (void)unused;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&request);
    request->on_done(request, result);
}

long post_request_status(struct post_request *request)
{
    long status = 0;

    curl_easy_getinfo(request->easy, CURLINFO_RESPONSE_CODE, &status);
    return status;
}
