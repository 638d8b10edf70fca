/* Routes the worker agents call: registration, heartbeats and reports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_util.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/util.h"
#include "server/api.h"
#include "server/app.h"
#include "server/dispatch.h"
#include "server/hub.h"
#include "server/render.h"

static int read_kinds(json_t *body, json_t **kinds, char *err, size_t err_len)
{
    size_t i;
    json_t *kind;

    *kinds = json_object_get(body, "kinds");
    if (!json_is_array(*kinds) || json_array_size(*kinds) == 0) {
        snprintf(err, err_len, "field 'kinds' must be a non-empty array of kind names");
        return -1;
    }
    json_array_foreach(*kinds, i, kind) {
        if (!json_is_string(kind) || !task_kind_valid(json_string_value(kind))) {
            snprintf(err, err_len, "field 'kinds' item %zu is not a valid kind name "
                                   "(1-64 characters of A-Z, a-z, 0-9, '.', '_', '-')",
                     i);
            return -1;
        }
    }
    return 0;
}

void api_worker_register(struct app *app, struct http_exchange *ex)
{
    json_t *body = api_body_object(ex);
    struct worker_record w;
    const char *id = NULL, *url = NULL, *version = NULL;
    json_t *kinds = NULL;
    int64_t slots = 1;
    char err[256];
    char address[64];

    if (!body)
        return;
    memset(&w, 0, sizeof(w));
    if (json_field_string(body, "worker_id", 1, LIMIT_WORKER_ID_LEN, &id, err, sizeof(err)) ||
        json_field_string(body, "url", 1, 512, &url, err, sizeof(err)) ||
        json_field_string(body, "version", 0, 64, &version, err, sizeof(err)) < 0 ||
        json_field_int(body, "slots", 1, 1, 1024, &slots, err, sizeof(err)) ||
        read_kinds(body, &kinds, err, sizeof(err)) < 0) {
        http_reply_error(ex, 400, "invalid_field", "%s", err);
        goto out;
    }
    if (!name_chars_valid(id, LIMIT_WORKER_ID_LEN) || strncmp(url, "http://", 7) != 0) {
        http_reply_error(ex, 400, "invalid_field",
                         "worker_id must be 1-64 characters of A-Z, a-z, 0-9, '.', '_', '-' "
                         "and url must start with http://");
        goto out;
    }
    if (dispatcher_worker_in_use(app->dispatcher, id, url)) {
        log_warn("api", "registration rejected: worker id in use worker=%s url=%s", id, url);
        http_reply_error(ex, 409, "conflict",
                         "worker id '%s' is in use by a live worker at another URL: give this "
                         "worker its own --id, or stop the other one",
                         id);
        goto out;
    }
    http_peer_address(ex, address, sizeof(address));
    w.id = (char *)id;
    w.url = (char *)url;
    w.slots = (int)slots;
    w.kinds = json_to_text(kinds);
    w.version = (char *)version;
    w.address = address;
    if (app->store->ops->worker_register(app->store, &w, now_ms()) != STORE_OK) {
        http_reply_error(ex, 500, "internal", "the worker could not be stored; try again");
        free(w.kinds);
        goto out;
    }
    free(w.kinds);
    log_info("api", "worker registered worker=%s url=%s slots=%d address=%s", id, url,
             (int)slots, address);
    dispatcher_worker_registered(app->dispatcher, id, url, (int)slots, kinds);
    app_publish_worker(app, id);
    http_reply_json(ex, 200, json_pack("{s:I}", "heartbeat_interval_ms",
                                       (json_int_t)app->config.heartbeat_ms));
out:
    json_decref(body);
}

static int read_runs(json_t *body, json_t **runs, char *err, size_t err_len)
{
    size_t i;
    json_t *run;

    *runs = json_object_get(body, "runs");
    if (!*runs)
        return 0;
    if (!json_is_array(*runs)) {
        snprintf(err, err_len, "field 'runs' must be an array");
        return -1;
    }
    json_array_foreach(*runs, i, run) {
        if (!json_is_integer(json_object_get(run, "task_id")) ||
            !json_is_integer(json_object_get(run, "attempt"))) {
            snprintf(err, err_len, "field 'runs' item %zu needs integer task_id and attempt", i);
            return -1;
        }
    }
    return 0;
}

void api_worker_heartbeat(struct app *app, struct http_exchange *ex, const char *worker_id)
{
    json_t *body = api_body_object(ex);
    json_t *runs = NULL;
    json_t *empty = NULL;
    int64_t slots = 1, free_slots = 0;
    char err[256];
    int rc;

    if (!body)
        return;
    if (json_field_int(body, "slots", 1, 1, 1024, &slots, err, sizeof(err)) ||
        json_field_int(body, "free_slots", 1, 0, 1024, &free_slots, err, sizeof(err)) ||
        read_runs(body, &runs, err, sizeof(err)) < 0) {
        http_reply_error(ex, 400, "invalid_field", "%s", err);
        goto out;
    }
    rc = app->store->ops->worker_heartbeat(app->store, worker_id, (int)slots, now_ms());
    if (rc == STORE_NOT_FOUND) {
        http_reply_error(ex, 404, "not_found", "worker %s is not registered: register again",
                         worker_id);
        goto out;
    }
    if (rc != STORE_OK) {
        http_reply_error(ex, 500, "internal", "the heartbeat could not be stored; try again");
        goto out;
    }
    if (!runs)
        runs = empty = json_array();
    json_t *cancel = dispatcher_heartbeat(app->dispatcher, worker_id, (int)slots,
                                          (int)free_slots, runs);
    app_publish_worker(app, worker_id);
    http_reply_json(ex, 200, json_pack("{s:o}", "cancel", cancel));
out:
    json_decref(empty);
    json_decref(body);
}

/* Reads the fields of a complete report; strings are borrowed from body
 * except *result_text, which the caller frees. */
static int read_complete(json_t *body, struct task_report *r, char **result_text, char *err,
                         size_t err_len)
{
    const char *status = NULL;
    json_t *result = json_object_get(body, "result");

    if (json_field_string(body, "status", 1, 16, &status, err, err_len) != 0)
        return -1;
    if (task_status_parse(status, &r->final_status) < 0 ||
        !task_status_is_terminal(r->final_status)) {
        snprintf(err, err_len, "field 'status' is '%s': use completed, failed or canceled",
                 status);
        return -1;
    }
    if (json_field_string(body, "error", 0, LIMIT_ERROR_LEN, &r->error, err, err_len) < 0 ||
        json_field_string(body, "log_tail", 0, LIMIT_LOG_TAIL_LEN, &r->log_tail, err,
                          err_len) < 0 ||
        json_field_bool(body, "lost", 0, &r->lost, err, err_len) < 0)
        return -1;
    if (result && !json_is_null(result)) {
        *result_text = json_to_text(result);
        if (strlen(*result_text) > LIMIT_RESULT_LEN) {
            snprintf(err, err_len, "field 'result' is over the limit of %d bytes",
                     LIMIT_RESULT_LEN);
            return -1;
        }
        r->result = *result_text;
    }
    return 0;
}

static int read_report(json_t *body, const char *type, struct task_report *r,
                       char **result_text, char *err, size_t err_len)
{
    int64_t attempt = 0, seq = 0, progress = -1;

    memset(r, 0, sizeof(*r));
    r->progress = -1;
    if (json_field_string(body, "worker_id", 1, LIMIT_WORKER_ID_LEN, &r->worker_id, err,
                          err_len) ||
        json_field_int(body, "attempt", 1, 1, INT32_MAX, &attempt, err, err_len) ||
        json_field_int(body, "seq", 1, 1, INT64_MAX, &seq, err, err_len) ||
        json_field_string(body, "message", 0, LIMIT_MESSAGE_LEN, &r->message, err, err_len) < 0)
        return -1;
    r->attempt = (int)attempt;
    r->seq = seq;
    if (strcmp(type, "start") == 0) {
        r->type = REPORT_START;
        return 0;
    }
    if (strcmp(type, "progress") == 0) {
        r->type = REPORT_PROGRESS;
        if (json_field_int(body, "progress", 1, 0, 100, &progress, err, err_len) != 0)
            return -1;
        r->progress = (int)progress;
        return 0;
    }
    r->type = REPORT_COMPLETE;
    return read_complete(body, r, result_text, err, err_len);
}

void api_apply_report(struct app *app, struct http_exchange *ex, long long id,
                      const struct task_report *r)
{
    enum report_outcome outcome;
    struct task_record after;
    struct dispatch_claims *claims = NULL;
    int64_t seq = 0;
    int rc = app->store->ops->task_report(app->store, id, r, now_ms(), &outcome, &after, &seq);

    /* A final status must be on disk before the worker hears it arrived.
     * A slot it freed is filled in the same commit. */
    if (rc == STORE_OK && r->type == REPORT_COMPLETE) {
        if (outcome == REPORT_APPLIED)
            claims = dispatcher_claim_now(app->dispatcher, r->worker_id);
        if (!dispatcher_sync_and_push(app->dispatcher, claims))
            rc = STORE_FAILED;
    }
    if (rc == STORE_NOT_FOUND) {
        api_reply_task_not_found(ex, id);
        return;
    }
    if (rc != STORE_OK) {
        task_record_clear(&after);
        http_reply_error(ex, 500, "internal", "the report could not be stored; send it again");
        return;
    }
    switch (outcome) {
    case REPORT_APPLIED:
        /* A final report already filled the freed slot above. */
        dispatcher_report_received(app->dispatcher, r->worker_id,
                                   r->type != REPORT_COMPLETE &&
                                       (after.status == TASK_PENDING ||
                                        task_status_is_terminal(after.status)));
        app_publish_task(app, &after, seq);
        if (r->type == REPORT_COMPLETE)
            log_info("api", "task finished task=%lld attempt=%d worker=%s status=%s", id,
                     r->attempt ? r->attempt : after.attempt, r->worker_id ? r->worker_id : "-",
                     task_status_name(after.status));
        http_reply_json(ex, 200, json_pack("{s:b, s:s}", "accepted", 1, "status",
                                           task_status_name(after.status)));
        break;
    case REPORT_IGNORED:
        if (r->type == REPORT_COMPLETE)
            dispatcher_report_received(app->dispatcher, r->worker_id, 1);
        log_debug("api", "report ignored task=%lld attempt=%d seq=%lld status=%s", id,
                  r->attempt, (long long)r->seq, task_status_name(after.status));
        http_reply_json(ex, 200, json_pack("{s:b, s:s}", "accepted", 0, "status",
                                           task_status_name(after.status)));
        break;
    case REPORT_CANCELED:
        http_reply_error(ex, 409, "task_canceled", "task %lld was canceled: kill the run", id);
        break;
    case REPORT_STALE_ATTEMPT:
    case REPORT_WRONG_WORKER:
        log_warn("api", "report from an outdated run rejected task=%lld attempt=%d "
                        "current_attempt=%d worker=%s",
                 id, r->attempt, after.attempt, r->worker_id ? r->worker_id : "-");
        http_reply_error(ex, 409, "stale_attempt",
                         "attempt %d of task %lld is not current (current attempt %d on %s): "
                         "kill the run",
                         r->attempt, id, after.attempt, after.worker_id ? after.worker_id : "-");
        break;
    case REPORT_UNKNOWN_ATTEMPT:
        http_reply_error(ex, 409, "conflict", "attempt %d of task %lld was never dispatched",
                         r->attempt, id);
        break;
    }
    task_record_clear(&after);
}

void api_task_report(struct app *app, struct http_exchange *ex, long long id,
                     const char *report_type)
{
    json_t *body = api_body_object(ex);
    struct task_report report;
    char *result_text = NULL;
    char err[256];

    if (!body)
        return;
    if (read_report(body, report_type, &report, &result_text, err, sizeof(err)) < 0)
        http_reply_error(ex, strstr(err, "over the limit") ? 413 : 400,
                         strstr(err, "over the limit") ? "too_large" : "invalid_field", "%s", err);
    else
        api_apply_report(app, ex, id, &report);
    free(result_text);
    json_decref(body);
}

void api_task_log_append(struct app *app, struct http_exchange *ex, long long id)
{
    json_t *body = api_body_object(ex);
    const char *worker_id = NULL;
    json_t *text;
    int64_t attempt = 0, offset = 0;
    int appended = 0;
    char err[256];

    if (!body)
        return;
    text = json_object_get(body, "text");
    if (json_field_string(body, "worker_id", 1, LIMIT_WORKER_ID_LEN, &worker_id, err,
                          sizeof(err)) ||
        json_field_int(body, "attempt", 1, 1, INT32_MAX, &attempt, err, sizeof(err)) ||
        json_field_int(body, "offset", 1, 0, INT64_MAX, &offset, err, sizeof(err)) ||
        !json_is_string(text)) {
        http_reply_error(ex, 400, "invalid_field", "%s",
                         json_is_string(text) ? err : "field 'text' must be a string");
        goto out;
    }
    if (app->store->ops->task_append_log(app->store, id, (int)attempt, offset,
                                         json_string_value(text), json_string_length(text),
                                         now_ms(), &appended) == STORE_NOT_FOUND) {
        api_reply_task_not_found(ex, id);
        goto out;
    }
    if (appended && hub_has_readers(app->hub)) {
        json_t *event = json_pack("{s:I, s:i, s:I, s:O}", "task_id", (json_int_t)id, "attempt",
                                  (int)attempt, "offset", (json_int_t)offset, "text", text);

        hub_publish(app->hub, HUB_LOG, 0, id, json_to_text(event));
        json_decref(event);
    }
    dispatcher_report_received(app->dispatcher, worker_id, 0);
    http_reply_json(ex, 200, json_pack("{s:b}", "accepted", appended));
out:
    json_decref(body);
}
