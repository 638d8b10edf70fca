#include "worker/execute_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_util.h"
#include "common/util.h"

static int parse_full_form(json_t *root, const char *default_kind,
                           struct execute_request *out, char *err, size_t err_len)
{
    const char *kind = default_kind;
    int64_t attempt = 1;
    int64_t timeout_s = 0;
    json_t *payload = json_object_get(root, "payload");

    if (json_field_string(root, "kind", 0, LIMIT_KIND_LEN, &kind, err, err_len) < 0 ||
        json_field_int(root, "attempt", 0, 1, INT32_MAX, &attempt, err, err_len) < 0 ||
        json_field_int(root, "timeout_s", 0, 0, LIMIT_TIMEOUT_S, &timeout_s, err, err_len) < 0)
        return -1;
    snprintf(out->kind, sizeof(out->kind), "%s", kind);
    out->attempt = (int)attempt;
    out->timeout_s = (int)timeout_s;
    out->payload = payload ? json_to_text(payload) : xstrdup("{}");
    return 0;
}

static void parse_flat_form(json_t *root, const char *default_kind,
                            struct execute_request *out)
{
    json_t *payload = json_deep_copy(root);

    json_object_del(payload, "task_id");
    snprintf(out->kind, sizeof(out->kind), "%s", default_kind);
    out->attempt = 1;
    out->timeout_s = 0;
    out->payload = json_to_text(payload);
    json_decref(payload);
}

int execute_request_parse(const char *body, size_t len, const char *default_kind,
                          struct execute_request *out, char *err, size_t err_len)
{
    json_t *root = json_parse_strict(body, len, err, err_len);
    int64_t task_id;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (!root)
        return EXECUTE_INVALID_JSON;
    if (!json_is_object(root)) {
        snprintf(err, err_len, "the body must be a JSON object with 'task_id'");
        goto out;
    }
    if (json_field_int(root, "task_id", 1, 1, INT64_MAX, &task_id, err, err_len) < 0)
        goto out;
    out->task_id = task_id;

    if (json_object_get(root, "payload") || json_object_get(root, "attempt")) {
        if (parse_full_form(root, default_kind, out, err, err_len) < 0)
            goto out;
    } else {
        parse_flat_form(root, default_kind, out);
    }
    rc = 0;
out:
    if (rc < 0)
        execute_request_clear(out);
    json_decref(root);
    return rc;
}

void execute_request_clear(struct execute_request *request)
{
    free(request->payload);
    request->payload = NULL;
}
