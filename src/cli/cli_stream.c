#include "cli/cli_stream.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* An error reply's body is kept up to this size for its message. */
#define ERROR_BODY_MAX_LEN (64 * 1024)

struct stream_ctx {
    CURL *curl;
    struct cli_sse_parser *parser;
    volatile sig_atomic_t *interrupted;

    long http_status; /* 0 until the first body bytes arrive */
    struct strbuf error_body;
    size_t received_len;
    int stopped;
    int invalid;
};

static size_t on_body(char *data, size_t size, size_t count, void *userdata)
{
    struct stream_ctx *ctx = userdata;
    size_t len = size * count;
    int rc;

    if (ctx->http_status == 0)
        curl_easy_getinfo(ctx->curl, CURLINFO_RESPONSE_CODE, &ctx->http_status);
    if (ctx->http_status != 200) {
        if (ctx->error_body.len + len <= ERROR_BODY_MAX_LEN)
            strbuf_append(&ctx->error_body, data, len);
        return len;
    }

    ctx->received_len += len;
    rc = cli_sse_parser_feed(ctx->parser, data, len);
    if (rc == 0)
        return len;
    if (rc < 0)
        ctx->invalid = 1;
    else
        ctx->stopped = 1;
    return 0; /* a short count makes curl abort the transfer */
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    struct stream_ctx *ctx = userdata;

    return *ctx->interrupted ? 1 : 0;
}

static struct curl_slist *build_headers(struct cli_client *client, const char *last_event_id)
{
    struct curl_slist *headers = NULL;
    const char *token = cli_client_token(client);
    char *line;

    headers = curl_slist_append(headers, "Accept: text/event-stream");
    headers = curl_slist_append(headers, "Cache-Control: no-cache");
    if (token) {
        line = xasprintf("Authorization: Bearer %s", token);
        headers = curl_slist_append(headers, line);
        free(line);
    }
    if (last_event_id && last_event_id[0]) {
        line = xasprintf("Last-Event-ID: %s", last_event_id);
        headers = curl_slist_append(headers, line);
        free(line);
    }
    return headers;
}

/* Sets outcome from how the transfer ended. */
static void classify_end(struct cli_client *client, const char *url, struct stream_ctx *ctx,
                         CURLcode code, struct cli_stream_outcome *outcome)
{
    char detail[768];

    outcome->received_len = ctx->received_len;
    if (*ctx->interrupted) {
        outcome->end = CLI_STREAM_INTERRUPTED;
    } else if (ctx->stopped) {
        outcome->end = CLI_STREAM_STOPPED;
    } else if (ctx->invalid) {
        outcome->end = CLI_STREAM_INVALID;
        snprintf(outcome->err.message, sizeof(outcome->err.message),
                 "the event stream at %s sent an event larger than the limit of %d bytes", url,
                 CLI_STREAM_MAX_EVENT_LEN);
    } else if (ctx->http_status != 0 && ctx->http_status != 200) {
        outcome->end = CLI_STREAM_REJECTED;
        cli_client_reply_error(client, "GET", url, ctx->http_status, ctx->error_body.data,
                               ctx->error_body.len, &outcome->err);
    } else {
        outcome->end = CLI_STREAM_DROPPED;
        if (code == CURLE_OK)
            snprintf(detail, sizeof(detail), "the server closed the event stream at %s", url);
        else
            snprintf(detail, sizeof(detail), "GET %s failed: %s", url, curl_easy_strerror(code));
        cli_client_connection_error(client, detail, &outcome->err);
    }
}

void cli_stream_run(struct cli_client *client, const char *path, const char *last_event_id,
                    struct cli_sse_parser *parser, volatile sig_atomic_t *interrupted,
                    struct cli_stream_outcome *outcome)
{
    struct stream_ctx ctx = {.parser = parser, .interrupted = interrupted};
    char *url = xasprintf("%s%s", cli_client_server_url(client), path);
    struct curl_slist *headers = build_headers(client, last_event_id);
    CURLcode code;

    memset(outcome, 0, sizeof(*outcome));
    strbuf_init(&ctx.error_body);
    ctx.curl = curl_easy_init();
    if (!ctx.curl) {
        fprintf(stderr, "taskrelay: curl_easy_init failed\n");
        abort();
    }

    curl_easy_setopt(ctx.curl, CURLOPT_URL, url);
    curl_easy_setopt(ctx.curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(ctx.curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(ctx.curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(ctx.curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(ctx.curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(ctx.curl, CURLOPT_LOW_SPEED_TIME, CLI_STREAM_IDLE_TIMEOUT_S);
    curl_easy_setopt(ctx.curl, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(ctx.curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(ctx.curl, CURLOPT_WRITEDATA, &ctx);
    curl_easy_setopt(ctx.curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(ctx.curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(ctx.curl, CURLOPT_XFERINFODATA, &ctx);

    code = curl_easy_perform(ctx.curl);
    if (ctx.http_status == 0)
        curl_easy_getinfo(ctx.curl, CURLINFO_RESPONSE_CODE, &ctx.http_status);
    classify_end(client, url, &ctx, code, outcome);

    curl_easy_cleanup(ctx.curl);
    curl_slist_free_all(headers);
    strbuf_free(&ctx.error_body);
    free(url);
}
