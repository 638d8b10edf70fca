#include "worker/worker_http.h"

#include <stdlib.h>
#include <string.h>

#include "common/json_util.h"
#include "common/log.h"
#include "common/util.h"
#include "worker/execute_request.h"

static const char *phase_name(enum run_phase phase)
{
    static const char *const names[] = {"starting", "running", "stopping", "finished"};

    return names[phase];
}

/* Returns the kinds this worker runs as "a, b, c"; the caller frees it. */
static char *kind_list(const struct worker_config *config)
{
    struct strbuf list;

    strbuf_init(&list);
    for (int i = 0; i < config->kind_count; i++)
        strbuf_appendf(&list, "%s%s", i ? ", " : "", config->kinds[i].name);
    return list.data;
}

static json_t *current_task_json(long long task_id)
{
    return task_id > 0 ? json_integer(task_id) : json_null();
}

static void handle_execute(struct http_exchange *ex, struct worker_http_app *app)
{
    struct execute_request request;
    long long current_task = 0;
    char err[512];
    int rc = execute_request_parse(ex->body, ex->body_len, app->config->default_kind, &request,
                                   err, sizeof(err));

    if (rc < 0) {
        http_reply_error(ex, 400, rc == EXECUTE_INVALID_JSON ? "invalid_json" : "invalid_field",
                         "%s", err);
        return;
    }
    if (!worker_config_find_kind(app->config, request.kind)) {
        char *kinds = kind_list(app->config);

        http_reply_error(ex, 422, "unknown_kind",
                         "kind '%s' is not run by this worker: it runs %s", request.kind, kinds);
        free(kinds);
        goto out;
    }

    switch (run_table_take(app->table, request.task_id, request.attempt, &current_task)) {
    case RUN_TAKE_OK:
        supervisor_submit(app->sup, request.task_id, request.attempt, request.kind,
                          request.payload, strlen(request.payload), request.timeout_s);
        log_info("worker", "task accepted task=%lld attempt=%d kind=%s", request.task_id,
                 request.attempt, request.kind);
        http_reply_json(ex, 200,
                        json_pack("{s:b, s:s, s:s, s:I}", "success", 1, "message", "Task started",
                                  "worker_id", app->config->worker_id, "task_id",
                                  (json_int_t)request.task_id));
        break;
    case RUN_TAKE_DUPLICATE:
        http_reply_json(ex, 200,
                        json_pack("{s:b, s:s, s:s, s:I}", "success", 1, "message",
                                  "Task already accepted; it is not run again", "worker_id",
                                  app->config->worker_id, "task_id",
                                  (json_int_t)request.task_id));
        break;
    case RUN_TAKE_STALE:
        http_reply_error(ex, 409, "stale_attempt",
                         "attempt %d of task %lld is older than one this worker already ran",
                         request.attempt, request.task_id);
        break;
    case RUN_TAKE_BUSY:
        http_reply_json(ex, 503,
                        json_pack("{s:b, s:s, s:o}", "success", 0, "message", "Worker is busy",
                                  "current_task", current_task_json(current_task)));
        break;
    case RUN_TAKE_SHUTTING_DOWN:
        http_reply_json(ex, 503,
                        json_pack("{s:b, s:s, s:o}", "success", 0, "message",
                                  "Worker is shutting down", "current_task", json_null()));
        break;
    }
out:
    execute_request_clear(&request);
}

static void handle_health(struct http_exchange *ex, struct worker_http_app *app)
{
    struct run_view *runs;
    int count = run_table_snapshot(app->table, &runs);
    long long current_task = 0;
    int slots, used;

    run_table_counts(app->table, &slots, &used);
    for (int i = 0; i < count && !current_task; i++) {
        if (runs[i].phase != RUN_FINISHED)
            current_task = runs[i].task_id;
    }
    free(runs);
    http_reply_json(ex, 200,
                    json_pack("{s:s, s:s, s:o, s:i, s:i, s:b}", "status",
                              used < slots ? "free" : "busy", "worker_id",
                              app->config->worker_id, "current_task",
                              current_task_json(current_task), "slots", slots, "running", used,
                              "shutting_down", run_table_is_shutting_down(app->table)));
}

static void handle_tasks(struct http_exchange *ex, struct worker_http_app *app)
{
    struct run_view *runs;
    int count = run_table_snapshot(app->table, &runs);
    json_t *list = json_array();

    for (int i = 0; i < count; i++) {
        json_array_append_new(
            list, json_pack("{s:I, s:i, s:s, s:o}", "task_id", (json_int_t)runs[i].task_id,
                            "attempt", runs[i].attempt, "state", phase_name(runs[i].phase),
                            "pid", runs[i].pid > 0 ? json_integer(runs[i].pid) : json_null()));
    }
    free(runs);
    http_reply_json(ex, 200, json_pack("{s:o}", "runs", list));
}

/* Returns 1 when an active run matches task_id and attempt (0 = any). */
static int has_active_run(struct run_table *table, long long task_id, int attempt)
{
    struct run_view *runs;
    int count = run_table_snapshot(table, &runs);
    int found = 0;

    for (int i = 0; i < count; i++) {
        if (runs[i].task_id == task_id && runs[i].phase != RUN_FINISHED &&
            (attempt == 0 || runs[i].attempt == attempt))
            found = 1;
    }
    free(runs);
    return found;
}

static void handle_cancel(struct http_exchange *ex, struct worker_http_app *app,
                          const char *id_text)
{
    long long task_id;
    int64_t attempt = 0;
    json_t *root = NULL;
    char err[512];

    if (parse_task_id(id_text, &task_id) < 0) {
        http_reply_error(ex, 400, "invalid_field", "task id '%s' is not a positive integer",
                         id_text);
        return;
    }
    if (ex->body_len > 0) {
        root = json_parse_strict(ex->body, ex->body_len, err, sizeof(err));
        if (!root) {
            http_reply_error(ex, 400, "invalid_json", "%s", err);
            return;
        }
        if (json_field_int(root, "attempt", 0, 1, INT32_MAX, &attempt, err, sizeof(err)) < 0) {
            http_reply_error(ex, 400, "invalid_field", "%s", err);
            goto out;
        }
    }
    if (!has_active_run(app->table, task_id, (int)attempt)) {
        http_reply_error(ex, 404, "not_found", "task %lld has no active run on this worker",
                         task_id);
        goto out;
    }
    supervisor_kill(app->sup, task_id, (int)attempt, KILL_CANCEL);
    http_reply_json(ex, 200, json_pack("{s:b, s:I}", "canceled", 1, "task_id",
                                       (json_int_t)task_id));
out:
    json_decref(root);
}

void worker_http_handle(struct http_exchange *ex, void *arg)
{
    struct worker_http_app *app = arg;
    const char *token = http_bearer_token(ex);
    int is_post = strcmp(ex->method, "POST") == 0;
    int is_get = strcmp(ex->method, "GET") == 0;
    char caps[1][80];

    if (!token || !token_equal(token, app->config->token)) {
        http_reply_error(ex, 401, "unauthorized",
                         "missing or wrong worker token: send Authorization: Bearer TOKEN");
        return;
    }
    if (strcmp(ex->path, "/execute") == 0) {
        if (is_post)
            handle_execute(ex, app);
        else
            http_reply_error(ex, 405, "method_not_allowed", "use POST for /execute");
    } else if (strcmp(ex->path, "/health") == 0) {
        if (is_get)
            handle_health(ex, app);
        else
            http_reply_error(ex, 405, "method_not_allowed", "use GET for /health");
    } else if (strcmp(ex->path, "/tasks") == 0) {
        if (is_get)
            handle_tasks(ex, app);
        else
            http_reply_error(ex, 405, "method_not_allowed", "use GET for /tasks");
    } else if (route_match("/tasks/*/cancel", ex->path, caps, 1)) {
        if (is_post)
            handle_cancel(ex, app, caps[0]);
        else
            http_reply_error(ex, 405, "method_not_allowed", "use POST for /tasks/{id}/cancel");
    } else {
        http_reply_error(ex, 404, "not_found", "no route %s %s on this worker", ex->method,
                         ex->path);
    }
}
