/* Client routes that read tasks, workers and kinds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_util.h"
#include "common/log.h"
#include "server/api.h"
#include "server/app.h"
#include "server/dispatch.h"
#include "server/render.h"

#define LIST_LIMIT_DEFAULT 50
#define LIST_LIMIT_MAX 500

void api_task_get(struct app *app, struct http_exchange *ex, long long id)
{
    struct task_record task;

    if (app->store->ops->task_get(app->store, id, &task) != STORE_OK) {
        api_reply_task_not_found(ex, id);
        return;
    }
    http_reply_json(ex, 200, render_task(&task));
    task_record_clear(&task);
}

/* Reads status, kind, limit and cursor from the query into filter.
 * Replies 400 and returns -1 when one is invalid. */
static int read_list_filter(struct http_exchange *ex, struct task_filter *filter)
{
    const char *status = http_query(ex, "status");
    const char *kind = http_query(ex, "kind");
    const char *limit = http_query(ex, "limit");
    const char *cursor = http_query(ex, "cursor");
    int64_t number;

    memset(filter, 0, sizeof(*filter));
    filter->limit = LIST_LIMIT_DEFAULT;
    if (status && *status) {
        if (task_status_parse(status, &filter->status) < 0) {
            http_reply_error(ex, 400, "invalid_field",
                             "status '%s' is not one of pending, dispatched, running, "
                             "completed, failed, canceled",
                             status);
            return -1;
        }
        filter->has_status = 1;
    }
    if (kind && *kind)
        filter->kind = kind;
    if (limit) {
        if (parse_int64(limit, 1, LIST_LIMIT_MAX, &number) < 0) {
            http_reply_error(ex, 400, "invalid_field", "limit '%s' must be a number from 1 to %d",
                             limit, LIST_LIMIT_MAX);
            return -1;
        }
        filter->limit = (int)number;
    }
    if (cursor && *cursor) {
        if (parse_int64(cursor, 1, INT64_MAX, &number) < 0) {
            http_reply_error(ex, 400, "invalid_field",
                             "cursor '%s' is not valid: pass next_cursor from the previous page",
                             cursor);
            return -1;
        }
        filter->before_id = number;
    }
    return 0;
}

void api_task_list(struct app *app, struct http_exchange *ex)
{
    struct task_filter filter;
    struct task_record *tasks = NULL;
    size_t count = 0;
    int64_t counts[TASK_STATUS_COUNT];
    json_t *list;
    json_t *count_obj;
    json_t *next_cursor = json_null();

    if (read_list_filter(ex, &filter) < 0)
        return;
    if (app->store->ops->task_list(app->store, &filter, &tasks, &count, counts) != STORE_OK) {
        http_reply_error(ex, 500, "internal", "the task list could not be read; try again");
        return;
    }
    list = json_array();
    for (size_t i = 0; i < count; i++)
        json_array_append_new(list, render_task_summary(&tasks[i]));
    count_obj = json_object();
    for (int s = 0; s < TASK_STATUS_COUNT; s++)
        json_object_set_new(count_obj, task_status_name((enum task_status)s),
                            json_integer(counts[s]));
    if (count == (size_t)filter.limit) {
        char cursor[32];

        snprintf(cursor, sizeof(cursor), "%lld", (long long)tasks[count - 1].id);
        json_decref(next_cursor);
        next_cursor = json_string(cursor);
    }
    http_reply_json(ex, 200, json_pack("{s:o, s:o, s:o}", "tasks", list, "next_cursor",
                                       next_cursor, "counts", count_obj));
    store_free_tasks(tasks, count);
}

void api_task_events(struct app *app, struct http_exchange *ex, long long id)
{
    struct task_record task;
    struct task_event *events = NULL;
    size_t count = 0;
    json_t *list;

    if (app->store->ops->task_get(app->store, id, &task) != STORE_OK) {
        api_reply_task_not_found(ex, id);
        return;
    }
    task_record_clear(&task);
    if (app->store->ops->task_events(app->store, id, &events, &count) != STORE_OK) {
        http_reply_error(ex, 500, "internal", "the events could not be read; try again");
        return;
    }
    list = json_array();
    for (size_t i = 0; i < count; i++)
        json_array_append_new(list, render_event(&events[i]));
    http_reply_json(ex, 200, json_pack("{s:o}", "events", list));
    store_free_events(events, count);
}

void api_task_log(struct app *app, struct http_exchange *ex, long long id)
{
    struct task_record task;
    struct strbuf log;

    if (app->store->ops->task_get(app->store, id, &task) != STORE_OK) {
        api_reply_task_not_found(ex, id);
        return;
    }
    task_record_clear(&task);
    strbuf_init(&log);
    if (app->store->ops->task_log(app->store, id, &log) != STORE_OK)
        http_reply_error(ex, 500, "internal", "the log could not be read; try again");
    else
        http_reply_bytes(ex, 200, "text/plain; charset=utf-8", log.data, log.len);
    strbuf_free(&log);
}

void api_worker_list(struct app *app, struct http_exchange *ex)
{
    struct worker_record *workers = NULL;
    size_t count = 0;
    json_t *list;

    if (app->store->ops->worker_list(app->store, &workers, &count) != STORE_OK) {
        http_reply_error(ex, 500, "internal", "the worker list could not be read; try again");
        return;
    }
    list = json_array();
    for (size_t i = 0; i < count; i++) {
        struct task_record *tasks = NULL;
        size_t task_count = 0;

        app->store->ops->tasks_assigned(app->store, workers[i].id, &tasks, &task_count);
        json_array_append_new(list, render_worker(&workers[i], tasks, task_count));
        store_free_tasks(tasks, task_count);
    }
    http_reply_json(ex, 200, json_pack("{s:o}", "workers", list));
    store_free_workers(workers, count);
}

void api_kind_list(struct app *app, struct http_exchange *ex)
{
    http_reply_json(ex, 200, json_pack("{s:o}", "kinds", dispatcher_kinds(app->dispatcher)));
}
