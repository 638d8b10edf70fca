#include "bench_client.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "common/httpc.h"
#include "common/util.h"

int bench_create_task(struct httpc *client, const struct bench_target *target,
                      const char *kind, int64_t *task_id, char *err, size_t err_len)
{
    char url[512];
    char body[256];
    struct strbuf response;
    long status = 0;
    json_t *task = NULL;
    int rc = -1;

    strbuf_init(&response);
    snprintf(url, sizeof(url), "%s/api/v1/tasks", target->server_url);
    snprintf(body, sizeof(body), "{\"kind\":\"%s\",\"payload\":{}}", kind);
    if (httpc_request(client, "POST", url, target->api_token, NULL, body, strlen(body), 10000,
                      &status, &response, err, err_len) != HTTPC_OK)
        goto out;
    if (status != 201) {
        snprintf(err, err_len, "creating a task of kind %s: HTTP %ld: %.200s", kind, status,
                 response.data);
        goto out;
    }

    task = json_loadb(response.data, response.len, 0, NULL);
    if (!json_is_integer(json_object_get(task, "id"))) {
        snprintf(err, err_len, "create answer has no integer 'id': %.200s", response.data);
        goto out;
    }
    *task_id = json_integer_value(json_object_get(task, "id"));
    rc = 0;
out:
    json_decref(task);
    strbuf_free(&response);
    return rc;
}

int bench_kind_counts(struct httpc *client, const struct bench_target *target,
                      const char *kind, int64_t *completed_count, int64_t *failed_count,
                      char *err, size_t err_len)
{
    char url[512];
    struct strbuf response;
    long status = 0;
    json_t *page = NULL;
    json_t *counts;
    int rc = -1;

    strbuf_init(&response);
    snprintf(url, sizeof(url), "%s/api/v1/tasks?kind=%s&limit=1", target->server_url, kind);
    if (httpc_request(client, "GET", url, target->api_token, NULL, NULL, 0, 10000, &status,
                      &response, err, err_len) != HTTPC_OK)
        goto out;
    if (status != 200) {
        snprintf(err, err_len, "listing tasks of kind %s: HTTP %ld: %.200s", kind, status,
                 response.data);
        goto out;
    }

    page = json_loadb(response.data, response.len, 0, NULL);
    counts = json_object_get(page, "counts");
    if (!json_is_object(counts)) {
        snprintf(err, err_len, "task list has no 'counts' object: %.200s", response.data);
        goto out;
    }
    *completed_count = json_integer_value(json_object_get(counts, "completed"));
    *failed_count = json_integer_value(json_object_get(counts, "failed"));
    rc = 0;
out:
    json_decref(page);
    strbuf_free(&response);
    return rc;
}
