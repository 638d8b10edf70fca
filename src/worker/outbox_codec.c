/* The text of one report in the outbox: a JSON object with the report's
 * type, task, attempt and seq, and its request body or artifact file. */
#include "worker/outbox.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_util.h"
#include "common/util.h"

static const char *const type_names[] = {"start", "progress", "log", "artifacts", "complete"};

const char *report_type_route(enum report_type type)
{
    return type_names[type];
}

void report_clear(struct report *report)
{
    json_decref(report->body);
    free(report->artifact_name);
    free(report->artifact_path);
    memset(report, 0, sizeof(*report));
}

char *outbox_encode(const struct report *report)
{
    json_t *root = json_pack("{s:s, s:I, s:i, s:I}", "type", type_names[report->type],
                             "task_id", (json_int_t)report->task_id, "attempt", report->attempt,
                             "seq", (json_int_t)report->seq);
    char *text;

    if (report->type == REPORT_ARTIFACT) {
        json_object_set_new(root, "name", json_string_or_null(report->artifact_name));
        json_object_set_new(root, "path", json_string_or_null(report->artifact_path));
    } else {
        json_object_set(root, "body", report->body ? report->body : json_null());
    }
    text = json_to_text(root);
    json_decref(root);
    return text;
}

static int decode_type(const char *name, enum report_type *out)
{
    for (int i = 0; i <= REPORT_COMPLETE; i++) {
        if (strcmp(name, type_names[i]) == 0) {
            *out = (enum report_type)i;
            return 0;
        }
    }
    return -1;
}

int outbox_decode(const char *text, size_t len, struct report *out, char *err,
                  size_t err_len)
{
    json_t *root = json_parse_strict(text, len, err, err_len);
    const char *type = NULL;
    const char *name = NULL;
    const char *path = NULL;
    int64_t task_id, attempt, seq;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (!root)
        goto out;
    if (json_field_string(root, "type", 1, 32, &type, err, err_len) < 0 ||
        json_field_int(root, "task_id", 1, 1, INT64_MAX, &task_id, err, err_len) < 0 ||
        json_field_int(root, "attempt", 1, 1, INT32_MAX, &attempt, err, err_len) < 0 ||
        json_field_int(root, "seq", 1, 1, INT64_MAX, &seq, err, err_len) < 0)
        goto out;
    if (decode_type(type, &out->type) < 0) {
        snprintf(err, err_len, "unknown report type '%s'", type);
        goto out;
    }
    out->task_id = task_id;
    out->attempt = (int)attempt;
    out->seq = seq;

    if (out->type == REPORT_ARTIFACT) {
        if (json_field_string(root, "name", 1, 4096, &name, err, err_len) < 0 ||
            json_field_string(root, "path", 1, 8192, &path, err, err_len) < 0)
            goto out;
        out->artifact_name = xstrdup(name);
        out->artifact_path = xstrdup(path);
    } else {
        out->body = json_object_get(root, "body");
        if (!json_is_object(out->body)) {
            out->body = NULL;
            snprintf(err, err_len, "field 'body' must be an object");
            goto out;
        }
        json_incref(out->body);
    }
    rc = 0;
out:
    if (rc < 0)
        report_clear(out);
    json_decref(root);
    return rc;
}
