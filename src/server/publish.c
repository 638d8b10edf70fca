/* Turning store changes into live-stream events. */
#include "server/app.h"

#include <stdlib.h>
#include <string.h>

#include "common/json_util.h"
#include "server/hub.h"
#include "server/render.h"

void app_publish_task(struct app *app, const struct task_record *task, int64_t seq)
{
    json_t *json;

    if (seq <= 0 || !hub_has_readers(app->hub))
        return;
    json = render_task_summary(task);
    hub_publish(app->hub, HUB_TASK, seq, task->id, json_to_text(json));
    json_decref(json);
}

void app_publish_task_id(struct app *app, int64_t task_id, int64_t seq)
{
    struct task_record task;

    if (seq <= 0 || !hub_has_readers(app->hub) ||
        app->store->ops->task_get(app->store, task_id, &task) != STORE_OK)
        return;
    app_publish_task(app, &task, seq);
    task_record_clear(&task);
}

void app_publish_worker(struct app *app, const char *worker_id)
{
    struct worker_record worker;
    struct task_record *tasks = NULL;
    size_t count = 0;
    json_t *json;

    if (!hub_has_readers(app->hub) ||
        app->store->ops->worker_get(app->store, worker_id, &worker) != STORE_OK)
        return;
    app->store->ops->tasks_assigned(app->store, worker_id, &tasks, &count);
    json = render_worker(&worker, tasks, count);
    hub_publish(app->hub, HUB_WORKER, 0, 0, json_to_text(json));
    json_decref(json);
    store_free_tasks(tasks, count);
    worker_record_clear(&worker);
}
