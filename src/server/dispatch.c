#include "server/dispatch_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/util.h"
#include "server/app.h"
#include "server/store.h"

/* How many ready tasks one store query returns at most, and one dispatch
 * round looks at at most.
 * NOTE: a backlog of a kind no free worker runs, longer than
 * DISPATCH_SCAN_LIMIT, hides newer tasks of other kinds until it drains. */
#define DISPATCH_BATCH 256
#define DISPATCH_SCAN_LIMIT 1024
/* Maximum sleep of the loop between wake-ups, for liveness checks. */
#define LOOP_TICK_MS 500

struct worker_entry *dispatch_find_worker(struct dispatcher *d, const char *id)
{
    for (size_t i = 0; i < d->worker_count; i++) {
        if (strcmp(d->workers[i].id, id) == 0)
            return &d->workers[i];
    }
    return NULL;
}

struct push_tracking *dispatch_find_push(struct dispatcher *d, int64_t task_id)
{
    for (size_t i = 0; i < d->push_count; i++) {
        if (d->pushes[i].task_id == task_id)
            return &d->pushes[i];
    }
    return NULL;
}

void dispatch_forget_push(struct dispatcher *d, int64_t task_id)
{
    for (size_t i = 0; i < d->push_count; i++) {
        if (d->pushes[i].task_id == task_id) {
            free(d->pushes[i].worker_id);
            d->pushes[i] = d->pushes[--d->push_count];
            return;
        }
    }
}

static struct push_tracking *track_push(struct dispatcher *d, int64_t task_id, int attempt,
                                        const char *worker_id)
{
    struct push_tracking *p = dispatch_find_push(d, task_id);

    if (!p) {
        d->pushes = xrealloc(d->pushes, (d->push_count + 1) * sizeof(*d->pushes));
        p = &d->pushes[d->push_count++];
        memset(p, 0, sizeof(*p));
        p->task_id = task_id;
    }
    free(p->worker_id);
    p->worker_id = xstrdup(worker_id);
    p->attempt = attempt;
    return p;
}

static void set_entry_kinds(struct worker_entry *w, json_t *kinds)
{
    size_t i;
    json_t *kind;

    for (i = 0; i < w->kind_count; i++)
        free(w->kinds[i]);
    free(w->kinds);
    w->kind_count = 0;
    w->kinds = xcalloc(json_array_size(kinds) + 1, sizeof(char *));
    json_array_foreach(kinds, i, kind) {
        if (json_is_string(kind))
            w->kinds[w->kind_count++] = xstrdup(json_string_value(kind));
    }
}

/* Adds or updates the entry for a worker. Lock held. */
static struct worker_entry *upsert_entry(struct dispatcher *d, const char *id, const char *url,
                                         int slots, json_t *kinds)
{
    struct worker_entry *w = dispatch_find_worker(d, id);

    if (!w) {
        d->workers = xrealloc(d->workers, (d->worker_count + 1) * sizeof(*d->workers));
        w = &d->workers[d->worker_count++];
        memset(w, 0, sizeof(*w));
        w->id = xstrdup(id);
    }
    free(w->url);
    w->url = xstrdup(url);
    w->slots = slots;
    set_entry_kinds(w, kinds);
    return w;
}

static int entry_has_kind(const struct worker_entry *w, const char *kind)
{
    for (size_t i = 0; i < w->kind_count; i++) {
        if (strcmp(w->kinds[i], kind) == 0)
            return 1;
    }
    return 0;
}

void dispatcher_wake(struct dispatcher *d)
{
    pthread_mutex_lock(&d->lock);
    d->wake_requested = 1;
    pthread_cond_signal(&d->wake_cond);
    pthread_mutex_unlock(&d->lock);
}

struct slot_count {
    struct dispatcher *d;
    int *free_slots;
};

static void subtract_running(void *ctx, const char *worker_id, int running)
{
    struct slot_count *c = ctx;

    for (size_t i = 0; i < c->d->worker_count; i++) {
        if (strcmp(c->d->workers[i].id, worker_id) == 0)
            c->free_slots[i] -= running;
    }
}

/* Free slots per worker entry, from the store's count of assigned tasks.
 * Returns an array parallel to d->workers; the caller frees it. Lock held. */
static int *free_slots_snapshot(struct dispatcher *d)
{
    struct slot_count c = {d, xcalloc(d->worker_count + 1, sizeof(int))};
    int any = 0;

    for (size_t i = 0; i < d->worker_count; i++) {
        struct worker_entry *w = &d->workers[i];

        c.free_slots[i] = w->online && !w->full ? w->slots : 0;
        any |= c.free_slots[i] > 0;
    }
    if (any && d->app->store->ops->running_by_worker(d->app->store, subtract_running, &c) !=
                   STORE_OK)
        memset(c.free_slots, 0, (d->worker_count + 1) * sizeof(int));
    return c.free_slots;
}

/* Picks the worker with the most free slots that runs kind. */
static int pick_worker(struct dispatcher *d, const int *free_slots, const char *kind)
{
    int best = -1;

    for (size_t i = 0; i < d->worker_count; i++) {
        if (free_slots[i] <= 0 || !entry_has_kind(&d->workers[i], kind) ||
            d->workers[i].skip_until_mono_ms > mono_ms())
            continue;
        if (best < 0 || free_slots[i] > free_slots[best])
            best = (int)i;
    }
    return best;
}

static int total_free(const int *free_slots, size_t count)
{
    int total = 0;

    for (size_t i = 0; i < count; i++)
        total += free_slots[i] > 0 ? free_slots[i] : 0;
    return total;
}

/* The tasks one dispatch round claimed, with the worker and event seq of
 * each. Everything in it is owned, so it outlives the dispatcher lock. */
struct dispatch_claims {
    struct task_record *tasks;
    char **worker_ids;
    char **worker_urls;
    int64_t *seqs;
    size_t count;
    size_t cap;
};

static void claims_add(struct dispatch_claims *c, struct task_record *task,
                       const struct worker_entry *w, int64_t seq)
{
    if (c->count == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->tasks = xrealloc(c->tasks, c->cap * sizeof(*c->tasks));
        c->worker_ids = xrealloc(c->worker_ids, c->cap * sizeof(*c->worker_ids));
        c->worker_urls = xrealloc(c->worker_urls, c->cap * sizeof(*c->worker_urls));
        c->seqs = xrealloc(c->seqs, c->cap * sizeof(*c->seqs));
    }
    c->tasks[c->count] = *task;
    memset(task, 0, sizeof(*task)); /* moved */
    c->worker_ids[c->count] = xstrdup(w->id);
    c->worker_urls[c->count] = xstrdup(w->url);
    c->seqs[c->count++] = seq;
}

static void claims_free(struct dispatch_claims *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->count; i++) {
        free(c->worker_ids[i]);
        free(c->worker_urls[i]);
    }
    store_free_tasks(c->tasks, c->count);
    free(c->worker_ids);
    free(c->worker_urls);
    free(c->seqs);
    free(c);
}

/* Claims ready tasks with an id above *after_id for free slots, one page.
 * Returns 1 when a further page may hold more. Lock held. */
static int claim_page(struct dispatcher *d, int64_t now, int *free_slots, int64_t *after_id,
                      struct dispatch_claims *c, size_t *scanned)
{
    struct store *store = d->app->store;
    struct task_record *tasks = NULL;
    size_t count = 0;
    size_t page = (size_t)total_free(free_slots, d->worker_count) * 2 + 8;

    if (page > DISPATCH_BATCH)
        page = DISPATCH_BATCH;
    if (store->ops->tasks_ready(store, now, *after_id, page, &tasks, &count) != STORE_OK)
        count = 0;
    *scanned += count;
    for (size_t i = 0; i < count; i++) {
        struct task_record *t = &tasks[i];
        int w = pick_worker(d, free_slots, t->kind);
        int64_t seq;

        *after_id = t->id;
        if (w < 0 || store->ops->task_claim(store, t->id, t->attempt, d->workers[w].id, now_ms(),
                                            &seq) != STORE_OK)
            continue;
        free_slots[w]--;
        track_push(d, t->id, t->attempt, d->workers[w].id)->inflight = 1;
        claims_add(c, t, &d->workers[w], seq);
    }
    store_free_tasks(tasks, count);
    return count == page;
}

/* Claims ready tasks for free slots, a page at a time while slots stay
 * free. The claim is a conditional update in the store, so a task is never
 * assigned twice, and claims run under the dispatcher lock, so one slot is
 * never given to two tasks. Lock held. */
static void claim_ready(struct dispatcher *d, struct dispatch_claims *c)
{
    int *free_slots = free_slots_snapshot(d);
    int64_t now = now_ms();
    int64_t after_id = 0;
    size_t scanned = 0;

    while (total_free(free_slots, d->worker_count) > 0 && scanned < DISPATCH_SCAN_LIMIT &&
           claim_page(d, now, free_slots, &after_id, c, &scanned))
        ;
    free(free_slots);
}

struct dispatch_claims *dispatcher_claim_now(struct dispatcher *d, const char *freed_worker_id)
{
    struct dispatch_claims *c = xcalloc(1, sizeof(*c));

    pthread_mutex_lock(&d->lock);
    if (freed_worker_id) {
        struct worker_entry *w = dispatch_find_worker(d, freed_worker_id);

        if (w)
            w->full = 0;
    }
    claim_ready(d, c);
    pthread_mutex_unlock(&d->lock);
    if (c->count == 0) {
        claims_free(c);
        return NULL;
    }
    return c;
}

/* Pushes the claimed tasks once synced, or drops their tracking after a
 * failed sync, and frees c. Lock not held. */
static void push_claimed(struct dispatcher *d, struct dispatch_claims *c, int synced)
{
    if (!c)
        return;
    pthread_mutex_lock(&d->lock);
    for (size_t i = 0; i < c->count; i++) {
        struct task_record *t = &c->tasks[i];

        if (!synced) {
            dispatch_forget_push(d, t->id);
            continue;
        }
        dispatch_enqueue(d, push_execute_job(d, t, c->worker_ids[i], c->worker_urls[i]));
        log_info("dispatch", "task dispatched task=%lld attempt=%d worker=%s", (long long)t->id,
                 t->attempt, c->worker_ids[i]);
    }
    pthread_mutex_unlock(&d->lock);
    if (!synced)
        log_error("dispatch", "claims of %zu tasks did not reach the disk; not pushing them",
                  c->count);
    for (size_t i = 0; synced && i < c->count; i++)
        app_publish_task_id(d->app, c->tasks[i].id, c->seqs[i]);
    claims_free(c);
}

int dispatcher_sync_and_push(struct dispatcher *d, struct dispatch_claims *claims)
{
    int synced = d->app->store->ops->sync(d->app->store) == STORE_OK;

    push_claimed(d, claims, synced);
    return synced;
}

/* One dispatch round of the dispatcher thread. The claims reach the disk
 * before any of them is pushed, and the lock is not held meanwhile. Lock
 * held on entry and return. */
static void dispatch_round(struct dispatcher *d)
{
    struct dispatch_claims *c = xcalloc(1, sizeof(*c));

    claim_ready(d, c);
    if (c->count == 0) {
        claims_free(c);
        return;
    }
    pthread_mutex_unlock(&d->lock);
    dispatcher_sync_and_push(d, c);
    pthread_mutex_lock(&d->lock);
}

/* Marks the worker's dispatched and running tasks lost. Lock held. */
static void lose_worker_tasks(struct dispatcher *d, const char *worker_id, const char *reason)
{
    struct store *store = d->app->store;
    struct task_record *tasks = NULL;
    size_t count = 0;

    store->ops->tasks_assigned(store, worker_id, &tasks, &count);
    for (size_t i = 0; i < count; i++) {
        struct task_record after;
        int64_t seq;

        dispatch_forget_push(d, tasks[i].id);
        dispatch_forget_missing(d, tasks[i].id);
        if (store->ops->task_lost(store, tasks[i].id, tasks[i].attempt, reason, now_ms(), &after,
                                  &seq) != STORE_OK)
            continue;
        log_warn("dispatch", "task lost task=%lld attempt=%d worker=%s status=%s reason=\"%s\"",
                 (long long)after.id, tasks[i].attempt, worker_id,
                 task_status_name(after.status), reason);
        app_publish_task(d->app, &after, seq);
        task_record_clear(&after);
    }
    store_free_tasks(tasks, count);
}

/* Takes workers offline after offline_after_beats silent intervals. */
static void check_liveness(struct dispatcher *d, int64_t mono_now)
{
    const struct server_config *cfg = &d->app->config;
    int64_t limit_ms = cfg->heartbeat_ms * cfg->offline_after_beats;

    for (size_t i = 0; i < d->worker_count; i++) {
        struct worker_entry *w = &d->workers[i];
        char reason[96];

        if (!w->online || mono_now - w->last_heard_mono_ms <= limit_ms)
            continue;
        w->online = 0;
        snprintf(reason, sizeof(reason), "no heartbeat from worker %s for %lld ms", w->id,
                 (long long)(mono_now - w->last_heard_mono_ms));
        log_warn("dispatch", "worker offline worker=%s silent_ms=%lld", w->id,
                 (long long)(mono_now - w->last_heard_mono_ms));
        d->app->store->ops->worker_set_status(d->app->store, w->id, WORKER_OFFLINE);
        lose_worker_tasks(d, w->id, reason);
        app_publish_worker(d->app, w->id);
    }
}

/* Resends pushes whose outcome is unknown: the same task id and attempt,
 * which the worker treats as the same run. Lock held. */
static void resend_unconfirmed(struct dispatcher *d, int64_t mono_now)
{
    struct store *store = d->app->store;

    for (size_t i = 0; i < d->push_count; i++) {
        struct push_tracking *p = &d->pushes[i];
        struct worker_entry *w;
        struct task_record t;

        if (p->inflight || p->next_try_mono_ms > mono_now)
            continue;
        w = dispatch_find_worker(d, p->worker_id);
        if (store->ops->task_get(store, p->task_id, &t) != STORE_OK) {
            dispatch_forget_push(d, p->task_id);
            i--;
            continue;
        }
        if (!w || t.status != TASK_DISPATCHED || t.attempt != p->attempt ||
            !t.worker_id || strcmp(t.worker_id, p->worker_id) != 0) {
            task_record_clear(&t);
            dispatch_forget_push(d, p->task_id);
            i--;
            continue;
        }
        p->inflight = 1;
        p->tries++;
        log_info("dispatch", "resending unconfirmed push task=%lld attempt=%d worker=%s try=%d",
                 (long long)t.id, t.attempt, w->id, p->tries);
        dispatch_enqueue(d, push_execute_job(d, &t, w->id, w->url));
        task_record_clear(&t);
    }
}

static int64_t next_wakeup_ms(struct dispatcher *d, int64_t now, int64_t mono_now)
{
    int64_t wait_ms = LOOP_TICK_MS;
    int64_t ready_at = 0;

    d->app->store->ops->next_ready_at(d->app->store, now, &ready_at);
    if (ready_at > 0 && ready_at - now < wait_ms)
        wait_ms = ready_at - now;
    for (size_t i = 0; i < d->push_count; i++) {
        if (!d->pushes[i].inflight && d->pushes[i].next_try_mono_ms - mono_now < wait_ms)
            wait_ms = d->pushes[i].next_try_mono_ms - mono_now;
    }
    return wait_ms < 1 ? 1 : wait_ms;
}

static void wait_for_wake(struct dispatcher *d, int64_t wait_ms)
{
    struct timespec deadline;

    mono_deadline_after(&deadline, wait_ms);
    while (!d->wake_requested && !d->stopping) {
        if (pthread_cond_timedwait(&d->wake_cond, &d->lock, &deadline) == ETIMEDOUT)
            break;
    }
    d->wake_requested = 0;
}

static void *dispatch_loop(void *arg)
{
    struct dispatcher *d = arg;

    pthread_mutex_lock(&d->lock);
    while (!d->stopping) {
        int64_t mono_now = mono_ms();

        check_liveness(d, mono_now);
        resend_unconfirmed(d, mono_now);
        dispatch_round(d);
        wait_for_wake(d, next_wakeup_ms(d, now_ms(), mono_ms()));
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

static void load_workers(struct dispatcher *d)
{
    struct store *store = d->app->store;
    struct worker_record *records = NULL;
    size_t count = 0;
    int64_t mono_now = mono_ms();

    store->ops->worker_list(store, &records, &count);
    for (size_t i = 0; i < count; i++) {
        json_t *kinds = json_loads(records[i].kinds ? records[i].kinds : "[]", 0, NULL);
        struct worker_entry *w =
            upsert_entry(d, records[i].id, records[i].url, records[i].slots, kinds);

        json_decref(kinds);
        w->online = records[i].status != WORKER_OFFLINE;
        w->last_heard_mono_ms = mono_now;
        /* Tasks left on a worker already offline cannot be confirmed by a
         * heartbeat, so they are lost now rather than never. */
        if (!w->online && records[i].running > 0)
            lose_worker_tasks(d, w->id, "the worker was offline when the server started");
    }
    store_free_workers(records, count);
}

struct dispatcher *dispatcher_start(struct app *app)
{
    struct dispatcher *d = xcalloc(1, sizeof(*d));

    d->app = app;
    pthread_mutex_init(&d->lock, NULL);
    cond_init_monotonic(&d->wake_cond);
    d->push_multi = httpc_multi_new();

    pthread_mutex_lock(&d->lock);
    load_workers(d);
    pthread_mutex_unlock(&d->lock);

    pthread_create(&d->loop_thread, NULL, dispatch_loop, d);
    pthread_create(&d->push_thread, NULL, push_thread_main, d);
    return d;
}

void dispatcher_stop(struct dispatcher *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    d->stopping = 1;
    pthread_cond_broadcast(&d->wake_cond);
    httpc_multi_wakeup(d->push_multi);
    pthread_mutex_unlock(&d->lock);
    pthread_join(d->loop_thread, NULL);
    pthread_join(d->push_thread, NULL);
    httpc_multi_free(d->push_multi);

    while (d->queue_head) {
        struct push_job *job = d->queue_head;

        d->queue_head = job->next;
        push_job_free(job);
    }
    for (size_t i = 0; i < d->worker_count; i++) {
        json_t *none = json_array();

        set_entry_kinds(&d->workers[i], none);
        json_decref(none);
        free(d->workers[i].kinds);
        free(d->workers[i].id);
        free(d->workers[i].url);
    }
    free(d->workers);
    while (d->push_count)
        dispatch_forget_push(d, d->pushes[0].task_id);
    free(d->pushes);
    free(d->missing);
    pthread_cond_destroy(&d->wake_cond);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

int dispatcher_kind_known(struct dispatcher *d, const char *kind)
{
    int known = 0;

    for (size_t i = 0; i < d->app->config.kind_count; i++) {
        if (strcmp(d->app->config.kinds[i], kind) == 0)
            return 1;
    }
    pthread_mutex_lock(&d->lock);
    for (size_t i = 0; i < d->worker_count && !known; i++)
        known = entry_has_kind(&d->workers[i], kind);
    pthread_mutex_unlock(&d->lock);
    return known;
}

static json_t *kind_entry(json_t *list, const char *name)
{
    size_t i;
    json_t *entry;

    json_array_foreach(list, i, entry) {
        if (strcmp(json_string_value(json_object_get(entry, "name")), name) == 0)
            return entry;
    }
    entry = json_pack("{s:s, s:i}", "name", name, "workers_online", 0);
    json_array_append_new(list, entry);
    return entry;
}

json_t *dispatcher_kinds(struct dispatcher *d)
{
    json_t *list = json_array();

    for (size_t i = 0; i < d->app->config.kind_count; i++)
        kind_entry(list, d->app->config.kinds[i]);
    pthread_mutex_lock(&d->lock);
    for (size_t i = 0; i < d->worker_count; i++) {
        for (size_t k = 0; k < d->workers[i].kind_count; k++) {
            json_t *entry = kind_entry(list, d->workers[i].kinds[k]);
            json_int_t online = json_integer_value(json_object_get(entry, "workers_online"));

            if (d->workers[i].online)
                json_object_set_new(entry, "workers_online", json_integer(online + 1));
        }
    }
    pthread_mutex_unlock(&d->lock);
    return list;
}

int dispatcher_worker_in_use(struct dispatcher *d, const char *worker_id, const char *url)
{
    int in_use;

    pthread_mutex_lock(&d->lock);
    struct worker_entry *w = dispatch_find_worker(d, worker_id);

    in_use = w && w->online && strcmp(w->url, url) != 0;
    pthread_mutex_unlock(&d->lock);
    return in_use;
}

void dispatcher_worker_registered(struct dispatcher *d, const char *worker_id,
                                  const char *url, int slots, json_t *kinds)
{
    pthread_mutex_lock(&d->lock);
    struct worker_entry *w = upsert_entry(d, worker_id, url, slots, kinds);

    w->online = 1;
    w->full = 0;
    w->push_failures = 0;
    w->skip_until_mono_ms = 0;
    w->last_heard_mono_ms = mono_ms();
    d->wake_requested = 1;
    pthread_cond_signal(&d->wake_cond);
    pthread_mutex_unlock(&d->lock);
}

void dispatcher_report_received(struct dispatcher *d, const char *worker_id, int finished)
{
    pthread_mutex_lock(&d->lock);
    struct worker_entry *w = worker_id ? dispatch_find_worker(d, worker_id) : NULL;

    if (w && w->online)
        w->last_heard_mono_ms = mono_ms();
    if (finished) {
        if (w)
            w->full = 0;
        d->wake_requested = 1;
        pthread_cond_signal(&d->wake_cond);
    }
    pthread_mutex_unlock(&d->lock);
}
