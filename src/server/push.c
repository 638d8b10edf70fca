/* The push thread: sends queued jobs to workers, many at once over kept-alive
 * connections (one libcurl multi handle), and applies each outcome. */
#include <stdlib.h>
#include <string.h>

#include "common/httpc.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/util.h"
#include "server/app.h"
#include "server/dispatch_internal.h"
#include "server/store.h"

/* Maximum wait between resends of a push whose outcome is unknown. */
#define RESEND_MAX_DELAY_MS 10000
/* Backoff of a worker whose pushes fail for another reason than busy. */
#define PUSH_BACKOFF_MIN_MS 500
#define PUSH_BACKOFF_MAX_MS 60000

void push_job_free(struct push_job *job)
{
    if (!job)
        return;
    free(job->worker_id);
    free(job->url);
    free(job->body);
    free(job);
}

void dispatch_enqueue(struct dispatcher *d, struct push_job *job)
{
    job->next = NULL;
    if (d->queue_tail)
        d->queue_tail->next = job;
    else
        d->queue_head = job;
    d->queue_tail = job;
    httpc_multi_wakeup(d->push_multi);
}

struct push_job *push_execute_job(struct dispatcher *d, const struct task_record *t,
                                  const char *worker_id, const char *worker_url)
{
    struct push_job *job = xcalloc(1, sizeof(*job));
    json_t *payload = json_loads(t->payload, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    json_t *body = json_pack("{s:I, s:s, s:i, s:o, s:i}", "task_id", (json_int_t)t->id, "kind",
                             t->kind, "attempt", t->attempt, "payload",
                             payload ? payload : json_object(), "timeout_s", t->timeout_s);

    job->type = PUSH_EXECUTE;
    job->task_id = t->id;
    job->attempt = t->attempt;
    job->worker_id = xstrdup(worker_id);
    job->url = xasprintf("%s/execute", worker_url);
    job->body = json_to_text(body);
    json_decref(body);
    return job;
}

void dispatcher_send_cancel(struct dispatcher *d, const char *worker_id, int64_t task_id,
                            int attempt)
{
    pthread_mutex_lock(&d->lock);
    struct worker_entry *w = dispatch_find_worker(d, worker_id);

    if (w && w->online) {
        struct push_job *job = xcalloc(1, sizeof(*job));

        job->type = PUSH_CANCEL;
        job->task_id = task_id;
        job->attempt = attempt;
        job->worker_id = xstrdup(worker_id);
        job->url = xasprintf("%s/tasks/%lld/cancel", w->url, (long long)task_id);
        job->body = xasprintf("{\"attempt\":%d}", attempt);
        dispatch_enqueue(d, job);
    }
    dispatch_forget_push(d, task_id);
    pthread_mutex_unlock(&d->lock);
}

/* Returns the task to pending after the worker rejected the push without
 * running it, and keeps the dispatcher from offering that worker again
 * until it reports a free slot. A worker that failed for another reason
 * than being busy (unreachable, wrong token, unknown kind) is also skipped
 * for a backoff that doubles up to a minute, so its heartbeats alone cannot
 * make a task bounce between pending and dispatched. Lock held. */
static void push_rejected(struct dispatcher *d, const struct push_job *job, int busy,
                          const char *why)
{
    struct store *store = d->app->store;
    struct worker_entry *w = dispatch_find_worker(d, job->worker_id);
    int64_t seq;

    if (w) {
        w->full = 1;
        if (!busy) {
            int64_t delay_ms = PUSH_BACKOFF_MIN_MS;

            for (int i = 0; i < w->push_failures && delay_ms < PUSH_BACKOFF_MAX_MS; i++)
                delay_ms *= 2;
            if (delay_ms > PUSH_BACKOFF_MAX_MS)
                delay_ms = PUSH_BACKOFF_MAX_MS;
            w->push_failures++;
            w->skip_until_mono_ms = mono_ms() + delay_ms;
            log_warn("dispatch", "worker skipped after a failed push worker=%s failures=%d "
                                 "retry_in_ms=%lld reason=\"%s\"",
                     w->id, w->push_failures, (long long)delay_ms, why);
        }
    }
    dispatch_forget_push(d, job->task_id);
    if (store->ops->task_unclaim(store, job->task_id, job->attempt, job->worker_id, now_ms(),
                                 &seq) == STORE_OK) {
        log_info("dispatch", "push rejected, task pending again task=%lld attempt=%d "
                             "worker=%s reason=\"%s\"",
                 (long long)job->task_id, job->attempt, job->worker_id, why);
        app_publish_task_id(d->app, job->task_id, seq);
    }
    d->wake_requested = 1;
    pthread_cond_signal(&d->wake_cond);
}

/* The worker may have started the run: keep the task dispatched and ask
 * again later with the same attempt. Lock held. */
static void push_unconfirmed(struct dispatcher *d, const struct push_job *job, const char *why)
{
    struct push_tracking *p = dispatch_find_push(d, job->task_id);
    int64_t delay_ms = 500;

    if (!p)
        return;
    for (int i = 0; i < p->tries && delay_ms < RESEND_MAX_DELAY_MS; i++)
        delay_ms *= 2;
    if (delay_ms > RESEND_MAX_DELAY_MS)
        delay_ms = RESEND_MAX_DELAY_MS;
    p->inflight = 0;
    p->next_try_mono_ms = mono_ms() + delay_ms;
    log_warn("dispatch", "push outcome unknown, will ask again task=%lld attempt=%d worker=%s "
                         "retry_in_ms=%lld error=\"%s\"",
             (long long)job->task_id, job->attempt, job->worker_id, (long long)delay_ms, why);
}

/* Fails the attempt after the worker rejected the task itself (400, 413):
 * sending it again would be rejected again. Lock held. */
static void push_refused(struct dispatcher *d, const struct push_job *job, long status,
                         const struct strbuf *response)
{
    struct store *store = d->app->store;
    json_t *reply = json_loadb(response->data, response->len, 0, NULL);
    const char *detail = json_string_value(json_object_get(reply, "message"));

    if (!detail)
        detail = json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
    char *error = xasprintf("worker %s rejected the task with HTTP %ld: %s", job->worker_id,
                            status, detail ? detail : "no detail");
    struct task_report report = {.type = REPORT_COMPLETE, .worker_id = job->worker_id,
                                 .attempt = job->attempt, .final_status = TASK_FAILED,
                                 .error = error, .progress = -1};
    enum report_outcome outcome;
    struct task_record after;
    int64_t seq = 0;

    dispatch_forget_push(d, job->task_id);
    if (store->ops->task_report(store, job->task_id, &report, now_ms(), &outcome, &after, &seq) ==
        STORE_OK) {
        log_error("dispatch", "task failed at push task=%lld attempt=%d worker=%s error=\"%s\"",
                  (long long)job->task_id, job->attempt, job->worker_id, error);
        app_publish_task(d->app, &after, seq);
        task_record_clear(&after);
    }
    json_decref(reply);
    free(error);
    d->wake_requested = 1;
    pthread_cond_signal(&d->wake_cond);
}

static void apply_execute_result(struct dispatcher *d, const struct push_job *job, int rc,
                                 long status, const char *err, const struct strbuf *response)
{
    char why[128];

    if (rc == HTTPC_OK && status == 200) {
        struct worker_entry *w = dispatch_find_worker(d, job->worker_id);

        if (w)
            w->push_failures = 0;
        dispatch_forget_push(d, job->task_id);
        return;
    }
    if (rc == HTTPC_NOT_SENT) {
        push_rejected(d, job, 0, err);
        return;
    }
    if (rc != HTTPC_OK || (status >= 500 && status != 503)) {
        snprintf(why, sizeof(why), "%s", rc != HTTPC_OK ? err : "worker answered a 5xx status");
        push_unconfirmed(d, job, why);
        return;
    }
    if (status == 400 || status == 413) {
        push_refused(d, job, status, response);
        return;
    }
    /* 503 busy, 401 token mismatch, 422 unknown kind, 409 stale attempt:
     * the worker did not start this attempt. */
    snprintf(why, sizeof(why), "worker answered HTTP %ld", status);
    if (status == 401)
        log_error("dispatch", "worker rejected the worker token worker=%s: check that "
                              "TASKRELAY_WORKER_TOKEN matches on both sides",
                  job->worker_id);
    push_rejected(d, job, status == 503, why);
}

static struct push_job *take_job(struct dispatcher *d)
{
    struct push_job *job = d->queue_head;

    if (job) {
        d->queue_head = job->next;
        if (!d->queue_head)
            d->queue_tail = NULL;
    }
    return job;
}

struct push_call {
    struct dispatcher *d;
    struct push_job *job;
};

static void push_done(void *ctx, int rc, long status, const struct strbuf *response,
                      const char *err)
{
    struct push_call *call = ctx;
    struct dispatcher *d = call->d;
    struct push_job *job = call->job;

    pthread_mutex_lock(&d->lock);
    if (d->stopping)
        ; /* an aborted push stays unconfirmed; the next start resends it */
    else if (job->type == PUSH_EXECUTE)
        apply_execute_result(d, job, rc, status, err, response);
    else if (rc != HTTPC_OK || status != 200)
        log_warn("dispatch", "cancel push failed task=%lld worker=%s status=%ld error=\"%s\"; "
                             "the next heartbeat answer repeats it",
                 (long long)job->task_id, job->worker_id, status, err);
    pthread_mutex_unlock(&d->lock);
    push_job_free(job);
    free(call);
}

void *push_thread_main(void *arg)
{
    struct dispatcher *d = arg;
    struct push_job *job;

    pthread_mutex_lock(&d->lock);
    while (!d->stopping) {
        while ((job = take_job(d)) != NULL) {
            struct push_call *call = xmalloc(sizeof(*call));

            call->d = d;
            call->job = job;
            httpc_multi_add(d->push_multi, "POST", job->url, d->app->config.worker_token,
                            job->body, strlen(job->body),
                            (long)d->app->config.dispatch_timeout_ms, push_done, call);
        }
        pthread_mutex_unlock(&d->lock);
        httpc_multi_run(d->push_multi, 1000);
        pthread_mutex_lock(&d->lock);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}
