/* The compatibility API: the wire format of the common polling panels, so
 * an existing panel or worker script can move over one side at a time.
 * Reports apply to the task's current attempt, in arrival order. */
#include <string.h>

#include "common/json_util.h"
#include "common/limits.h"
#include "server/api.h"
#include "server/app.h"
#include "server/store.h"

void api_compat_report(struct app *app, struct http_exchange *ex, long long id,
                       const char *report_type)
{
    json_t *body = api_body_object(ex);
    struct task_report r;
    const char *status = NULL;
    int64_t progress = -1;
    char err[256];

    if (!body)
        return;
    memset(&r, 0, sizeof(r));
    r.progress = -1;
    if (json_field_string(body, "worker_id", 0, LIMIT_WORKER_ID_LEN, &r.worker_id, err,
                          sizeof(err)) < 0 ||
        json_field_string(body, "message", 0, LIMIT_MESSAGE_LEN, &r.message, err, sizeof(err)) <
            0) {
        http_reply_error(ex, 400, "invalid_field", "%s", err);
        goto out;
    }
    if (strcmp(report_type, "progress") == 0) {
        r.type = REPORT_PROGRESS;
        if (json_field_int(body, "progress", 1, 0, 100, &progress, err, sizeof(err)) != 0) {
            http_reply_error(ex, 400, "invalid_field", "%s", err);
            goto out;
        }
        r.progress = (int)progress;
    } else {
        r.type = REPORT_COMPLETE;
        if (json_field_string(body, "status", 1, 16, &status, err, sizeof(err)) != 0) {
            http_reply_error(ex, 400, "invalid_field", "%s", err);
            goto out;
        }
        if (strcmp(status, "completed") == 0) {
            r.final_status = TASK_COMPLETED;
        } else if (strcmp(status, "failed") == 0) {
            r.final_status = TASK_FAILED;
            r.error = r.message;
        } else {
            http_reply_error(ex, 400, "invalid_field",
                             "field 'status' is '%s': use completed or failed", status);
            goto out;
        }
    }
    api_apply_report(app, ex, id, &r);
out:
    json_decref(body);
}

void api_compat_status(struct app *app, struct http_exchange *ex, long long id)
{
    struct task_record t;

    if (app->store->ops->task_get(app->store, id, &t) != STORE_OK) {
        api_reply_task_not_found(ex, id);
        return;
    }
    http_reply_json(ex, 200,
                    json_pack("{s:I, s:s, s:i, s:o, s:o, s:o, s:o}", "task_id", (json_int_t)t.id,
                              "status", task_status_name(t.status), "progress", t.progress,
                              "message", json_string_or_null(t.message), "started_at",
                              json_time_or_null(t.started_at), "completed_at",
                              json_time_or_null(t.finished_at), "updated_at",
                              json_time_or_null(t.updated_at)));
    task_record_clear(&t);
}
