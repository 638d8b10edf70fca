/* Client routes that create and change tasks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_util.h"
#include "common/limits.h"
#include "common/log.h"
#include "server/api.h"
#include "server/app.h"
#include "server/dispatch.h"
#include "server/render.h"

json_t *api_body_object(struct http_exchange *ex)
{
    char err[256];
    json_t *body = json_parse_strict(ex->body, ex->body_len, err, sizeof(err));

    if (!body) {
        http_reply_error(ex, 400, "invalid_json", "%s", err);
        return NULL;
    }
    if (!json_is_object(body)) {
        json_decref(body);
        http_reply_error(ex, 400, "invalid_json", "the request body must be a JSON object");
        return NULL;
    }
    return body;
}

void api_reply_task_not_found(struct http_exchange *ex, long long id)
{
    http_reply_error(ex, 404, "not_found", "task %lld not found", id);
}

int api_reject_unknown_fields(struct http_exchange *ex, json_t *obj,
                              const char *const *allowed)
{
    const char *key;
    json_t *value;

    json_object_foreach(obj, key, value) {
        size_t i = 0;

        while (allowed[i] && strcmp(allowed[i], key) != 0)
            i++;
        if (!allowed[i]) {
            http_reply_error(ex, 400, "invalid_field", "unknown field '%s'", key);
            return -1;
        }
    }
    return 0;
}

/* Reads the optional fields of a create request into spec. Returns -1
 * with err set when one is invalid. */
static int read_task_options(json_t *body, struct task_spec *spec, char *err, size_t err_len)
{
    int64_t number;
    int flag;
    int rc;

    if ((rc = json_field_int(body, "max_attempts", 0, 1, LIMIT_MAX_ATTEMPTS, &number, err,
                             err_len)) < 0)
        return -1;
    if (rc == 0)
        spec->max_attempts = (int)number;
    if ((rc = json_field_int(body, "backoff_ms", 0, 0, LIMIT_BACKOFF_MS, &number, err,
                             err_len)) < 0)
        return -1;
    if (rc == 0)
        spec->backoff_ms = number;
    if ((rc = json_field_int(body, "timeout_s", 0, 0, LIMIT_TIMEOUT_S, &number, err, err_len)) < 0)
        return -1;
    if (rc == 0)
        spec->timeout_s = (int)number;
    if ((rc = json_field_bool(body, "retry_on_failure", 0, &flag, err, err_len)) < 0)
        return -1;
    if (rc == 0)
        spec->retry_on_failure = flag;
    if ((rc = json_field_bool(body, "retry_on_loss", 0, &flag, err, err_len)) < 0)
        return -1;
    if (rc == 0)
        spec->retry_on_loss = flag;
    return 0;
}

static const char *const create_fields[] = {
    "kind", "payload", "idempotency_key", "max_attempts", "retry_on_failure",
    "retry_on_loss", "backoff_ms", "timeout_s", NULL,
};

/* Validates the create request into spec; *payload_text is allocated.
 * Replies and returns -1 on invalid input. */
static int read_task_spec(struct app *app, struct http_exchange *ex, json_t *body,
                          struct task_spec *spec, char **payload_text)
{
    char err[256];
    json_t *payload;

    memset(spec, 0, sizeof(*spec));
    spec->max_attempts = 1;
    spec->backoff_ms = 1000;
    if (api_reject_unknown_fields(ex, body, create_fields) < 0)
        return -1;
    if (json_field_string(body, "kind", 1, LIMIT_KIND_LEN, &spec->kind, err, sizeof(err)) != 0 ||
        json_field_string(body, "idempotency_key", 0, LIMIT_IDEMPOTENCY_KEY_LEN,
                          &spec->idempotency_key, err, sizeof(err)) < 0 ||
        read_task_options(body, spec, err, sizeof(err)) < 0) {
        http_reply_error(ex, 400, "invalid_field", "%s", err);
        return -1;
    }
    if (!task_kind_valid(spec->kind)) {
        http_reply_error(ex, 400, "invalid_field",
                         "field 'kind' must be 1-64 characters of A-Z, a-z, 0-9, '.', '_', '-'");
        return -1;
    }
    if (spec->idempotency_key && !spec->idempotency_key[0]) {
        http_reply_error(ex, 400, "invalid_field", "field 'idempotency_key' is empty: omit it "
                                                   "or send 1-200 bytes");
        return -1;
    }
    if (!dispatcher_kind_known(app->dispatcher, spec->kind)) {
        http_reply_error(ex, 422, "unknown_kind",
                         "no worker runs kind '%s': start a worker with --kind %s=PROGRAM, or "
                         "start the server with --kind %s to queue it before one registers",
                         spec->kind, spec->kind, spec->kind);
        return -1;
    }
    payload = json_object_get(body, "payload");
    *payload_text = payload ? json_to_text(payload) : xstrdup("{}");
    spec->payload = *payload_text;
    return 0;
}

void api_task_create(struct app *app, struct http_exchange *ex)
{
    json_t *body = api_body_object(ex);
    struct task_spec spec;
    struct task_record task;
    char *payload_text = NULL;
    char err[256];
    char location[64];
    struct dispatch_claims *claims;
    int existed = 0;
    int64_t seq = 0;

    if (!body)
        return;
    if (read_task_spec(app, ex, body, &spec, &payload_text) < 0)
        goto out;
    if (app->store->ops->task_create(app->store, &spec, now_ms(), &task, &existed, &seq, err,
                                     sizeof(err)) != STORE_OK) {
        log_error("api", "task create failed kind=%s: %s", spec.kind, err);
        http_reply_error(ex, 500, "internal", "the task could not be stored; try again");
        goto out;
    }
    /* A free slot is claimed for the task before it is on disk, so the
     * claim joins the same commit, and the push goes out once it is. */
    claims = existed ? NULL : dispatcher_claim_now(app->dispatcher, NULL);
    if (!dispatcher_sync_and_push(app->dispatcher, claims)) {
        log_error("api", "task create failed kind=%s: the commit did not reach the disk",
                  spec.kind);
        http_reply_error(ex, 500, "internal", "the task could not be stored; try again");
        task_record_clear(&task);
        goto out;
    }
    if (!existed) {
        log_info("api", "task created task=%lld kind=%s", (long long)task.id, task.kind);
        app_publish_task(app, &task, seq);
    }
    snprintf(location, sizeof(location), "/api/v1/tasks/%lld", (long long)task.id);
    http_reply_json(ex, existed ? 200 : 201, render_task(&task));
    http_reply_header(ex, MHD_HTTP_HEADER_LOCATION, location);
    task_record_clear(&task);
out:
    free(payload_text);
    json_decref(body);
}

void api_task_cancel(struct app *app, struct http_exchange *ex, long long id)
{
    struct task_record after;
    int64_t seq;
    int rc = app->store->ops->task_cancel(app->store, id, now_ms(), &after, &seq);

    if (rc == STORE_NOT_FOUND) {
        api_reply_task_not_found(ex, id);
    } else if (rc == STORE_CONFLICT) {
        http_reply_error(ex, 409, "conflict", "task %lld already ended as %s", id,
                         task_status_name(after.status));
    } else if (rc != STORE_OK) {
        http_reply_error(ex, 500, "internal", "the task could not be canceled; try again");
    } else {
        log_info("api", "task canceled task=%lld attempt=%d", id, after.attempt);
        /* run_active comes from the cancel's own transaction, so a claim
         * that raced the cancel still gets its run killed. */
        if (after.worker_id && after.run_active)
            dispatcher_send_cancel(app->dispatcher, after.worker_id, id, after.attempt);
        app_publish_task(app, &after, seq);
        dispatcher_wake(app->dispatcher);
        http_reply_json(ex, 200, render_task(&after));
    }
    task_record_clear(&after);
}

void api_task_retry(struct app *app, struct http_exchange *ex, long long id)
{
    struct task_record after;
    int64_t seq;
    int rc = app->store->ops->task_retry(app->store, id, now_ms(), &after, &seq);

    if (rc == STORE_NOT_FOUND) {
        api_reply_task_not_found(ex, id);
        return;
    }
    if (rc == STORE_CONFLICT && after.run_active) {
        http_reply_error(ex, 409, "conflict",
                         "attempt %d of task %lld is still being stopped on worker %s: retry "
                         "once it has ended",
                         after.attempt, id, after.worker_id ? after.worker_id : "-");
    } else if (rc == STORE_CONFLICT) {
        http_reply_error(ex, 409, "conflict",
                         "task %lld is %s: only failed or canceled tasks can be retried", id,
                         task_status_name(after.status));
    } else if (rc != STORE_OK) {
        http_reply_error(ex, 500, "internal", "the task could not be retried; try again");
    } else {
        log_info("api", "task retried task=%lld attempt=%d", id, after.attempt);
        app_publish_task(app, &after, seq);
        dispatcher_wake(app->dispatcher);
        http_reply_json(ex, 200, render_task(&after));
    }
    task_record_clear(&after);
}
