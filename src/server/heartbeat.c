/* Reconciling a worker's heartbeat with the store: the heartbeat lists
 * every run the worker holds, so the server learns which of its assigned
 * tasks the worker no longer has, and which runs the worker must kill. */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "server/app.h"
#include "server/dispatch_internal.h"
#include "server/store.h"

/* Finds the attempt the heartbeat lists for task_id, or 0. */
static int listed_attempt(json_t *runs, int64_t task_id)
{
    size_t i;
    json_t *run;

    json_array_foreach(runs, i, run) {
        if (json_integer_value(json_object_get(run, "task_id")) == task_id)
            return (int)json_integer_value(json_object_get(run, "attempt"));
    }
    return 0;
}

/* Returns 1 once the task has been missing from heartbeats for two
 * intervals, starting its clock on the first miss. Lock held. */
static int missing_long_enough(struct dispatcher *d, const struct task_record *t)
{
    int64_t now = mono_ms();

    /* An entry this old belongs to a task that ended meanwhile. */
    for (size_t i = 0; i < d->missing_count; i++) {
        if (now - d->missing[i].first_missing_mono_ms > 10 * d->app->config.heartbeat_ms)
            d->missing[i--] = d->missing[--d->missing_count];
    }

    for (size_t i = 0; i < d->missing_count; i++) {
        struct missing_run *m = &d->missing[i];

        if (m->task_id != t->id)
            continue;
        if (m->attempt != t->attempt) {
            m->attempt = t->attempt;
            m->first_missing_mono_ms = now;
            return 0;
        }
        return now - m->first_missing_mono_ms >= 2 * d->app->config.heartbeat_ms;
    }
    d->missing = xrealloc(d->missing, (d->missing_count + 1) * sizeof(*d->missing));
    d->missing[d->missing_count++] =
        (struct missing_run){.task_id = t->id, .attempt = t->attempt, .first_missing_mono_ms = now};
    return 0;
}

void dispatch_forget_missing(struct dispatcher *d, int64_t task_id)
{
    for (size_t i = 0; i < d->missing_count; i++) {
        if (d->missing[i].task_id == task_id) {
            d->missing[i] = d->missing[--d->missing_count];
            return;
        }
    }
}

/* Handles a task the store assigns to the worker but the heartbeat does
 * not list. Lock held. */
static void reconcile_missing(struct dispatcher *d, const struct task_record *t,
                              const char *worker_id)
{
    struct store *store = d->app->store;
    struct push_tracking *p = dispatch_find_push(d, t->id);
    struct task_record after;
    int64_t seq;

    /* A push in flight or waiting for its resend is handled there. */
    if (p)
        return;
    if (t->status == TASK_DISPATCHED) {
        /* The push may still be on its way. After the dispatch timeout the
         * same attempt is sent again, and the worker answers a repeated
         * task id and attempt without starting a second run. */
        if (now_ms() - t->dispatched_at < d->app->config.dispatch_timeout_ms)
            return;
        struct push_tracking *fresh;

        d->pushes = xrealloc(d->pushes, (d->push_count + 1) * sizeof(*d->pushes));
        fresh = &d->pushes[d->push_count++];
        memset(fresh, 0, sizeof(*fresh));
        fresh->task_id = t->id;
        fresh->attempt = t->attempt;
        fresh->worker_id = xstrdup(worker_id);
        fresh->next_try_mono_ms = mono_ms();
        d->wake_requested = 1;
        pthread_cond_signal(&d->wake_cond);
        return;
    }
    if (!missing_long_enough(d, t))
        return;
    dispatch_forget_missing(d, t->id);
    if (store->ops->task_lost(store, t->id, t->attempt,
                              "the worker no longer has the run (it restarted or lost it)",
                              now_ms(), &after, &seq) != STORE_OK)
        return;
    if (task_status_is_terminal(t->status))
        log_info("dispatch", "run of ended task gone from worker task=%lld attempt=%d worker=%s",
                 (long long)t->id, t->attempt, worker_id);
    else
        log_warn("dispatch", "task lost task=%lld attempt=%d worker=%s status=%s",
                 (long long)t->id, t->attempt, worker_id, task_status_name(after.status));
    app_publish_task(d->app, &after, seq);
    task_record_clear(&after);
}

/* Returns 1 when the worker must kill the run it lists. */
static int run_must_stop(struct store *store, const char *worker_id, json_t *run)
{
    int64_t task_id = json_integer_value(json_object_get(run, "task_id"));
    int attempt = (int)json_integer_value(json_object_get(run, "attempt"));
    const char *state = json_string_value(json_object_get(run, "state"));
    struct task_record t;
    int stop;

    if (store->ops->task_get(store, task_id, &t) != STORE_OK)
        return 1;
    stop = attempt != t.attempt || (t.worker_id && strcmp(t.worker_id, worker_id) != 0);
    if (!stop && task_status_is_terminal(t.status))
        stop = !state || strcmp(state, "running") == 0;
    task_record_clear(&t);
    return stop;
}

json_t *dispatcher_heartbeat(struct dispatcher *d, const char *worker_id, int slots,
                             int free_slots, json_t *runs)
{
    struct store *store = d->app->store;
    struct task_record *tasks = NULL;
    size_t count = 0;
    json_t *cancel = json_array();
    size_t i;
    json_t *run;

    pthread_mutex_lock(&d->lock);
    struct worker_entry *w = dispatch_find_worker(d, worker_id);
    if (w) {
        if (!w->online)
            log_info("dispatch", "worker back online worker=%s", worker_id);
        w->online = 1;
        w->slots = slots;
        w->full = free_slots <= 0;
        w->last_heard_mono_ms = mono_ms();
    }

    store->ops->tasks_assigned(store, worker_id, &tasks, &count);
    for (size_t t = 0; t < count; t++) {
        if (listed_attempt(runs, tasks[t].id) != tasks[t].attempt)
            reconcile_missing(d, &tasks[t], worker_id);
        else
            dispatch_forget_missing(d, tasks[t].id);
    }
    store_free_tasks(tasks, count);

    json_array_foreach(runs, i, run) {
        if (run_must_stop(store, worker_id, run))
            json_array_append_new(cancel, json_pack("{s:O, s:O}", "task_id",
                                                    json_object_get(run, "task_id"), "attempt",
                                                    json_object_get(run, "attempt")));
    }
    if (free_slots > 0) {
        d->wake_requested = 1;
        pthread_cond_signal(&d->wake_cond);
    }
    pthread_mutex_unlock(&d->lock);
    return cancel;
}
