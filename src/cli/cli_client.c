#include "cli/cli_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_format.h"
#include "common/httpc.h"
#include "common/json_util.h"

struct cli_client {
    struct httpc *http;
    char *server_url;
    char *server_source;
    char *token;
};

struct cli_client *cli_client_new(const char *server_url, const char *server_source,
                                  const char *token)
{
    struct cli_client *client = xcalloc(1, sizeof(*client));

    client->http = httpc_new();
    client->server_url = xstrdup(server_url);
    client->server_source = xstrdup(server_source);
    client->token = token ? xstrdup(token) : NULL;
    return client;
}

void cli_client_free(struct cli_client *client)
{
    if (!client)
        return;
    httpc_free(client->http);
    free(client->server_url);
    free(client->server_source);
    free(client->token);
    free(client);
}

const char *cli_client_server_url(const struct cli_client *client)
{
    return client->server_url;
}

const char *cli_client_token(const struct cli_client *client)
{
    return client->token;
}

void cli_error_print(const struct cli_error *err)
{
    fprintf(stderr, "taskrelay: %s\n", err->message);
    if (err->hint[0])
        fprintf(stderr, "taskrelay: %s\n", err->hint);
}

void cli_client_connection_error(const struct cli_client *client, const char *detail,
                                 struct cli_error *err)
{
    const char *source = client->server_source;

    err->http_status = 0;
    snprintf(err->message, sizeof(err->message), "%s", detail);
    if (strcmp(source, "default") == 0)
        snprintf(err->hint, sizeof(err->hint),
                 "check that a taskrelay server runs at %s (the default), or name the "
                 "server with --server or TASKRELAY_SERVER",
                 client->server_url);
    else
        snprintf(err->hint, sizeof(err->hint),
                 "check that a taskrelay server runs at %s, which came from %s; "
                 "change --server or TASKRELAY_SERVER if it is wrong",
                 client->server_url, source);
}

void cli_client_reply_error(const struct cli_client *client, const char *method,
                            const char *url, long http_status, const char *body,
                            size_t body_len, struct cli_error *err)
{
    json_t *reply = json_loadb(body, body_len, 0, NULL);
    json_t *message = json_object_get(json_object_get(reply, "error"), "message");
    char excerpt[200];

    err->http_status = http_status;
    err->hint[0] = '\0';
    if (json_is_string(message)) {
        cli_text_fit(json_string_value(message), sizeof(err->message) - 1, err->message,
                     sizeof(err->message));
    } else {
        cli_text_fit(body_len ? body : "no body", 120, excerpt, sizeof(excerpt));
        snprintf(err->message, sizeof(err->message), "%s %s returned HTTP %ld: %s", method,
                 url, http_status, excerpt);
    }
    json_decref(reply);

    if (http_status == 401 && !client->token)
        snprintf(err->hint, sizeof(err->hint),
                 "no API token was given; pass the server's API token with --token or set "
                 "TASKRELAY_TOKEN");
    else if (http_status == 401)
        snprintf(err->hint, sizeof(err->hint),
                 "the server rejected the API token; check --token, TASKRELAY_TOKEN and "
                 "TASKRELAY_API_TOKEN");
    else if (http_status == 503)
        snprintf(err->hint, sizeof(err->hint), "the server at %s is stopping; try again soon",
                 client->server_url);
}

int cli_client_call(struct cli_client *client, const char *method, const char *path,
                    json_t *body, long *http_status, json_t **reply, struct cli_error *err)
{
    char *url = xasprintf("%s%s", client->server_url, path);
    char *body_text = body ? json_to_text(body) : NULL;
    struct strbuf response;
    char detail[512];
    char parse_err[256];
    int result;
    int rc = -1;

    *reply = NULL;
    strbuf_init(&response);
    result = httpc_request(client->http, method, url, client->token, NULL, body_text,
                           body_text ? strlen(body_text) : 0, CLI_REQUEST_TIMEOUT_MS,
                           http_status, &response, detail, sizeof(detail));
    if (result != HTTPC_OK) {
        cli_client_connection_error(client, detail, err);
        goto out;
    }
    if (*http_status < 200 || *http_status > 299) {
        cli_client_reply_error(client, method, url, *http_status, response.data, response.len,
                               err);
        goto out;
    }

    if (response.len == 0) {
        *reply = json_null();
    } else {
        *reply = json_parse_strict(response.data, response.len, parse_err, sizeof(parse_err));
        if (!*reply) {
            err->http_status = *http_status;
            err->hint[0] = '\0';
            snprintf(err->message, sizeof(err->message),
                     "%s %s returned a body that is not JSON (%s); is %s a taskrelay server?",
                     method, url, parse_err, client->server_url);
            goto out;
        }
    }
    rc = 0;

out:
    strbuf_free(&response);
    free(body_text);
    free(url);
    return rc;
}

void cli_url_escape(struct strbuf *out, const char *text)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            strbuf_append(out, p, 1);
        } else {
            char escaped[3] = {'%', hex[*p >> 4], hex[*p & 15]};

            strbuf_append(out, escaped, 3);
        }
    }
}
