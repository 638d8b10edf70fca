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

struct httpc *httpc_new(void)
{
    struct httpc *client = xcalloc(1, sizeof(*client));

    client->curl = curl_easy_init();
    if (!client->curl) {
        fprintf(stderr, "taskrelay: curl_easy_init failed\n");
        abort();
    }
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

int httpc_request(struct httpc *client, const char *method, const char *url,
                  const char *token, const char *content_type, const char *body,
                  size_t body_len, long timeout_ms, long *status, struct strbuf *response,
                  char *err, size_t err_len)
{
    CURL *curl = client->curl;
    struct curl_slist *headers = NULL;
    char line[512];
    CURLcode code;

    strbuf_reset(response);
    *status = 0;
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 3000 ? timeout_ms : 3000L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, response);
    curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);

    if (token) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", token);
        headers = curl_slist_append(headers, line);
    }
    if (body) {
        snprintf(line, sizeof(line), "Content-Type: %s",
                 content_type ? content_type : "application/json");
        headers = curl_slist_append(headers, line);
        /* Without this curl waits for "100 Continue" on large bodies. */
        headers = curl_slist_append(headers, "Expect:");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    } else if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

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
