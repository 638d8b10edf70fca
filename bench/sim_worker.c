/* The HTTP side of the simulated workers: their /execute route, the
 * registration and the fleet's counters. */
#include "sim_worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_stats.h"
#include "common/httpc.h"
#include "common/json_util.h"
#include "common/util.h"
#include "sim_worker_internal.h"

/* /execute bodies are small; a larger one is a protocol error here. */
#define SIM_BODY_LIMIT (64 * 1024)

static void note_execute(struct sim_fleet *fleet, int64_t task_id, int64_t received_ns)
{
    pthread_mutex_lock(&fleet->lock);
    fleet->last_execute_ns = received_ns;
    fleet->last_execute_task_id = task_id;
    pthread_mutex_unlock(&fleet->lock);
}

/* Claims a free run for the task. Returns 1 when claimed, 0 when the same
 * attempt is already here, -1 when every slot is taken. */
static int claim_run(struct sim_worker *worker, int64_t task_id, int attempt)
{
    int free_index = -1;
    int rc = -1;

    pthread_mutex_lock(&worker->lock);
    for (int i = 0; i < worker->fleet->config.slots; i++) {
        struct sim_run *run = &worker->runs[i];

        if (run->state == SIM_RUN_FREE) {
            if (free_index < 0)
                free_index = i;
        } else if (run->task_id == task_id && run->attempt == attempt) {
            rc = 0;
            goto out;
        }
    }
    if (free_index >= 0) {
        struct sim_run *run = &worker->runs[free_index];

        run->state = SIM_RUN_QUEUED;
        run->task_id = task_id;
        run->attempt = attempt;
        atomic_store(&run->seq, 0);
        pthread_cond_signal(&worker->queued_cond);
        rc = 1;
    }
out:
    pthread_mutex_unlock(&worker->lock);
    return rc;
}

static void handle_execute(struct http_exchange *ex, struct sim_worker *worker)
{
    int64_t received_ns = bench_now_ns();
    const char *token = http_bearer_token(ex);
    char err[256];
    json_t *body = NULL;
    int64_t task_id = 0;
    int64_t attempt = 1;

    if (!token || !token_equal(token, worker->fleet->config.worker_token)) {
        http_reply_error(ex, 401, "unauthorized", "missing or wrong worker token");
        return;
    }
    body = json_parse_strict(ex->body ? ex->body : "", ex->body_len, err, sizeof(err));
    if (!body || json_field_int(body, "task_id", 1, 1, INT64_MAX, &task_id, err, sizeof(err)) < 0 ||
        json_field_int(body, "attempt", 0, 1, INT32_MAX, &attempt, err, sizeof(err)) < 0) {
        http_reply_error(ex, 400, "invalid_field", "%s", err);
        goto out;
    }

    note_execute(worker->fleet, task_id, received_ns);
    if (claim_run(worker, task_id, (int)attempt) < 0) {
        http_reply_json(ex, 503, json_pack("{s:b, s:s, s:n}", "success", 0, "message",
                                           "Worker is busy", "current_task"));
        goto out;
    }
    http_reply_json(ex, 200, json_pack("{s:b, s:s, s:s, s:I}", "success", 1, "message",
                                       "Task started", "worker_id", worker->id, "task_id",
                                       (json_int_t)task_id));
out:
    json_decref(body);
}

static void handle_request(struct http_exchange *ex, void *app)
{
    struct sim_worker *worker = app;

    if (strcmp(ex->path, "/execute") == 0 && strcmp(ex->method, "POST") == 0) {
        handle_execute(ex, worker);
        return;
    }
    http_reply_error(ex, 404, "not_found", "the simulated worker serves only POST /execute");
}

int sim_worker_register(struct sim_worker *worker, struct httpc *client, char *err,
                        size_t err_len)
{
    const struct sim_fleet_config *config = &worker->fleet->config;
    char url[512];
    char *body;
    struct strbuf response;
    long status = 0;
    int rc = -1;

    strbuf_init(&response);
    snprintf(url, sizeof(url), "%s/api/v1/workers/register", config->server_url);
    body = xasprintf("{\"worker_id\":\"%s\",\"url\":\"%s\",\"slots\":%d,\"kinds\":[\"%s\"],"
                     "\"version\":\"bench\"}",
                     worker->id, worker->url, config->slots, config->kind);
    if (httpc_request(client, "POST", url, config->worker_token, NULL, body, strlen(body), 5000,
                      &status, &response, err, err_len) != HTTPC_OK)
        goto out;
    if (status != 200) {
        snprintf(err, err_len, "registering worker %s: HTTP %ld: %.200s", worker->id, status,
                 response.data);
        goto out;
    }

    json_t *answer = json_loads(response.data, 0, NULL);
    json_t *interval = json_object_get(answer, "heartbeat_interval_ms");
    if (json_is_integer(interval) && json_integer_value(interval) > 0)
        worker->fleet->heartbeat_interval_ms = (int)json_integer_value(interval);
    json_decref(answer);
    rc = 0;
out:
    free(body);
    strbuf_free(&response);
    return rc;
}

int sim_worker_send_report(struct sim_worker *worker, struct httpc *client, int64_t task_id,
                           const char *action, const char *body, char *err, size_t err_len)
{
    const struct sim_fleet_config *config = &worker->fleet->config;
    char url[512];
    struct strbuf response;
    long status = 0;
    int rc;

    strbuf_init(&response);
    snprintf(url, sizeof(url), "%s/api/v1/tasks/%lld/%s", config->server_url,
             (long long)task_id, action);

    pthread_rwlock_rdlock(&worker->report_lock);
    rc = httpc_request(client, "POST", url, config->worker_token, NULL, body, strlen(body),
                       10000, &status, &response, err, err_len);
    pthread_rwlock_unlock(&worker->report_lock);

    if (rc == HTTPC_OK && (status < 200 || status > 299)) {
        snprintf(err, err_len, "%s report of task %lld: HTTP %ld: %.200s", action,
                 (long long)task_id, status, response.data);
        rc = -1;
    }
    strbuf_free(&response);
    return rc == HTTPC_OK ? 0 : -1;
}

void sim_fleet_count_error(struct sim_fleet *fleet)
{
    pthread_mutex_lock(&fleet->lock);
    fleet->error_count++;
    pthread_mutex_unlock(&fleet->lock);
}

static int worker_init(struct sim_fleet *fleet, struct sim_worker *worker, int index, char *err,
                       size_t err_len)
{
    pthread_rwlockattr_t attr;

    worker->fleet = fleet;
    snprintf(worker->id, sizeof(worker->id), "%s-%d", fleet->config.id_prefix, index);
    worker->runs = xcalloc((size_t)fleet->config.slots, sizeof(*worker->runs));
    pthread_mutex_init(&worker->lock, NULL);
    pthread_cond_init(&worker->queued_cond, NULL);

    /* glibc prefers readers by default, and the reporters hold the lock
     * almost all the time, so a heartbeat could wait forever. */
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&worker->report_lock, &attr);
    pthread_rwlockattr_destroy(&attr);

    worker->httpd = httpd_start("127.0.0.1:0", 1, SIM_BODY_LIMIT, NULL, handle_request, worker, err,
                                err_len);
    if (!worker->httpd)
        return -1;
    snprintf(worker->url, sizeof(worker->url), "http://127.0.0.1:%d", httpd_port(worker->httpd));
    return 0;
}

int sim_fleet_start(const struct sim_fleet_config *config, struct sim_fleet **out, char *err,
                    size_t err_len)
{
    struct sim_fleet *fleet = xcalloc(1, sizeof(*fleet));
    struct httpc *client = httpc_new();
    int rc = -1;

    fleet->config = *config;
    fleet->heartbeat_interval_ms = 5000;
    pthread_mutex_init(&fleet->lock, NULL);
    pthread_cond_init(&fleet->changed_cond, NULL);
    fleet->workers = xcalloc((size_t)config->worker_count, sizeof(*fleet->workers));

    for (int i = 0; i < config->worker_count; i++) {
        if (worker_init(fleet, &fleet->workers[i], i, err, err_len) < 0)
            goto out;
        fleet->worker_count = i + 1;
        if (sim_worker_register(&fleet->workers[i], client, err, err_len) < 0)
            goto out;
    }
    if (sim_reporters_start(fleet, err, err_len) < 0)
        goto out;
    rc = 0;
out:
    httpc_free(client);
    if (rc < 0) {
        sim_fleet_stop(fleet);
        fleet = NULL;
    }
    *out = fleet;
    return rc;
}

void sim_fleet_stop(struct sim_fleet *fleet)
{
    if (!fleet)
        return;
    atomic_store(&fleet->stopping, 1);
    pthread_mutex_lock(&fleet->lock);
    pthread_cond_broadcast(&fleet->changed_cond);
    pthread_mutex_unlock(&fleet->lock);
    sim_reporters_join(fleet);

    for (int i = 0; i < fleet->worker_count; i++) {
        struct sim_worker *worker = &fleet->workers[i];

        httpd_stop(worker->httpd);
        pthread_rwlock_destroy(&worker->report_lock);
        pthread_cond_destroy(&worker->queued_cond);
        pthread_mutex_destroy(&worker->lock);
        free(worker->runs);
    }
    free(fleet->workers);
    pthread_cond_destroy(&fleet->changed_cond);
    pthread_mutex_destroy(&fleet->lock);
    free(fleet);
}

static int64_t read_counter(struct sim_fleet *fleet, const int64_t *counter)
{
    int64_t value;

    pthread_mutex_lock(&fleet->lock);
    value = *counter;
    pthread_mutex_unlock(&fleet->lock);
    return value;
}

int64_t sim_fleet_completed_count(struct sim_fleet *fleet)
{
    return read_counter(fleet, &fleet->completed_count);
}

int64_t sim_fleet_started_count(struct sim_fleet *fleet)
{
    return read_counter(fleet, &fleet->started_count);
}

int64_t sim_fleet_error_count(struct sim_fleet *fleet)
{
    return read_counter(fleet, &fleet->error_count);
}

static int wait_counter(struct sim_fleet *fleet, const int64_t *counter, int64_t count,
                        int64_t deadline_ns)
{
    int rc = 0;

    pthread_mutex_lock(&fleet->lock);
    while (*counter < count) {
        int64_t left_ns = deadline_ns - bench_now_ns();
        struct timespec until;

        if (left_ns <= 0) {
            rc = -1;
            break;
        }
        /* Wake at least every 100 ms, because the condition variable uses
         * the realtime clock and the deadline is monotonic. */
        if (left_ns > 100000000)
            left_ns = 100000000;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += left_ns;
        until.tv_sec += until.tv_nsec / 1000000000;
        until.tv_nsec %= 1000000000;
        pthread_cond_timedwait(&fleet->changed_cond, &fleet->lock, &until);
    }
    pthread_mutex_unlock(&fleet->lock);
    return rc;
}

int sim_fleet_wait_completed(struct sim_fleet *fleet, int64_t count, int64_t deadline_ns)
{
    return wait_counter(fleet, &fleet->completed_count, count, deadline_ns);
}

int sim_fleet_wait_started(struct sim_fleet *fleet, int64_t count, int64_t deadline_ns)
{
    return wait_counter(fleet, &fleet->started_count, count, deadline_ns);
}

int64_t sim_fleet_last_execute_ns(struct sim_fleet *fleet, int64_t *task_id)
{
    int64_t at_ns;

    pthread_mutex_lock(&fleet->lock);
    at_ns = fleet->last_execute_ns;
    *task_id = fleet->last_execute_task_id;
    pthread_mutex_unlock(&fleet->lock);
    return at_ns;
}

size_t sim_fleet_held_tasks(struct sim_fleet *fleet, int64_t *task_ids, size_t max)
{
    size_t count = 0;

    for (int w = 0; w < fleet->worker_count; w++) {
        struct sim_worker *worker = &fleet->workers[w];

        pthread_mutex_lock(&worker->lock);
        for (int i = 0; i < fleet->config.slots && count < max; i++) {
            if (worker->runs[i].state == SIM_RUN_HELD)
                task_ids[count++] = worker->runs[i].task_id;
        }
        pthread_mutex_unlock(&worker->lock);
    }
    return count;
}

/* Finds the held run of task_id; returns its worker and run or NULL. */
static struct sim_run *find_held(struct sim_fleet *fleet, int64_t task_id,
                                 struct sim_worker **worker_out)
{
    for (int w = 0; w < fleet->worker_count; w++) {
        struct sim_worker *worker = &fleet->workers[w];
        struct sim_run *found = NULL;

        pthread_mutex_lock(&worker->lock);
        for (int i = 0; i < fleet->config.slots; i++) {
            if (worker->runs[i].state == SIM_RUN_HELD && worker->runs[i].task_id == task_id)
                found = &worker->runs[i];
        }
        pthread_mutex_unlock(&worker->lock);
        if (found) {
            *worker_out = worker;
            return found;
        }
    }
    return NULL;
}

int sim_fleet_report_progress(struct sim_fleet *fleet, struct httpc *client, int64_t task_id,
                              int progress, const char *message, char *err, size_t err_len)
{
    struct sim_worker *worker = NULL;
    struct sim_run *run = find_held(fleet, task_id, &worker);
    char body[512];

    if (!run) {
        snprintf(err, err_len, "task %lld has no held run", (long long)task_id);
        return -1;
    }
    /* A held run stays held until sim_fleet_release_held, so run remains
     * valid here without the worker's lock. */
    snprintf(body, sizeof(body),
             "{\"worker_id\":\"%s\",\"attempt\":%d,\"seq\":%d,\"progress\":%d,"
             "\"message\":\"%s\"}",
             worker->id, run->attempt, atomic_fetch_add(&run->seq, 1) + 1, progress, message);
    return sim_worker_send_report(worker, client, task_id, "progress", body, err, err_len);
}

void sim_fleet_release_held(struct sim_fleet *fleet)
{
    pthread_mutex_lock(&fleet->lock);
    fleet->released = 1;
    pthread_cond_broadcast(&fleet->changed_cond);
    pthread_mutex_unlock(&fleet->lock);
}
