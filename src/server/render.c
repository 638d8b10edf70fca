#include "server/render.h"

#include <string.h>

#include "common/json_util.h"

/* Returns the stored JSON text as a value. Text that no longer parses
 * becomes a string rather than breaking the whole reply; it was validated
 * on the way in, so this is not expected. */
static json_t *stored_json(const char *text)
{
    json_t *value;

    if (!text)
        return json_null();
    value = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    return value ? value : json_string_or_null(text);
}

json_t *render_task(const struct task_record *t)
{
    json_t *o = json_object();

    json_object_set_new(o, "id", json_integer(t->id));
    json_object_set_new(o, "kind", json_string_or_null(t->kind));
    json_object_set_new(o, "payload", stored_json(t->payload));
    json_object_set_new(o, "status", json_string(task_status_name(t->status)));
    json_object_set_new(o, "progress", json_integer(t->progress));
    json_object_set_new(o, "message", json_string_or_null(t->message));
    json_object_set_new(o, "worker_id", json_string_or_null(t->worker_id));
    json_object_set_new(o, "attempt", json_integer(t->attempt));
    json_object_set_new(o, "max_attempts", json_integer(t->max_attempts));
    json_object_set_new(o, "retry_on_failure", json_boolean(t->retry_on_failure));
    json_object_set_new(o, "retry_on_loss", json_boolean(t->retry_on_loss));
    json_object_set_new(o, "backoff_ms", json_integer(t->backoff_ms));
    json_object_set_new(o, "timeout_s", json_integer(t->timeout_s));
    json_object_set_new(o, "idempotency_key", json_string_or_null(t->idempotency_key));
    json_object_set_new(o, "error", json_string_or_null(t->error));
    json_object_set_new(o, "result", stored_json(t->result));
    json_object_set_new(o, "log_tail", json_string_or_null(t->log_tail));
    json_object_set_new(o, "created_at", json_time_or_null(t->created_at));
    json_object_set_new(o, "dispatched_at", json_time_or_null(t->dispatched_at));
    json_object_set_new(o, "started_at", json_time_or_null(t->started_at));
    json_object_set_new(o, "finished_at", json_time_or_null(t->finished_at));
    json_object_set_new(o, "updated_at", json_time_or_null(t->updated_at));
    return o;
}

json_t *render_task_summary(const struct task_record *t)
{
    json_t *o = render_task(t);
    json_int_t payload_bytes = t->payload ? (json_int_t)strlen(t->payload) : 0;

    json_object_del(o, "payload");
    json_object_set_new(o, "payload_bytes", json_integer(payload_bytes));
    return o;
}

json_t *render_event(const struct task_event *e)
{
    return json_pack("{s:I, s:I, s:i, s:s, s:s, s:i, s:o, s:o, s:o}", "seq", (json_int_t)e->seq,
                     "task_id", (json_int_t)e->task_id, "attempt", e->attempt, "type", e->type,
                     "status", task_status_name(e->status), "progress", e->progress, "message",
                     json_string_or_null(e->message), "worker_id",
                     json_string_or_null(e->worker_id), "at", json_time_or_null(e->at));
}

json_t *render_worker(const struct worker_record *w, const struct task_record *tasks,
                      size_t task_count)
{
    json_t *o = json_object();
    json_t *runs = json_array();

    for (size_t i = 0; i < task_count; i++)
        json_array_append_new(runs, json_pack("{s:I, s:i, s:s}", "task_id",
                                              (json_int_t)tasks[i].id, "attempt",
                                              tasks[i].attempt, "status",
                                              task_status_name(tasks[i].status)));
    json_object_set_new(o, "id", json_string_or_null(w->id));
    json_object_set_new(o, "url", json_string_or_null(w->url));
    json_object_set_new(o, "status", json_string(worker_status_name(w->status)));
    json_object_set_new(o, "slots", json_integer(w->slots));
    json_object_set_new(o, "running", json_integer(w->running));
    json_object_set_new(o, "kinds", stored_json(w->kinds));
    json_object_set_new(o, "version", json_string_or_null(w->version));
    json_object_set_new(o, "address", json_string_or_null(w->address));
    json_object_set_new(o, "last_heartbeat_at", json_time_or_null(w->last_heartbeat_at));
    json_object_set_new(o, "completed", json_integer(w->completed));
    json_object_set_new(o, "failed", json_integer(w->failed));
    json_object_set_new(o, "tasks", runs);
    return o;
}
