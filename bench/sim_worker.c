/* The simulated workers' public side: starting and stopping the fleet,
 * registration, the counters and the held runs of HOLD mode. */
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

    sim_fleet_apply_registration(worker->fleet, response.data);
    rc = 0;
out:
    free(body);
    strbuf_free(&response);
    return rc;
}

void sim_fleet_apply_registration(struct sim_fleet *fleet, const char *answer)
{
    json_t *parsed = json_loads(answer, 0, NULL);
    json_t *interval = json_object_get(parsed, "heartbeat_interval_ms");

    if (json_is_integer(interval) && json_integer_value(interval) > 0 &&
        json_integer_value(interval) <= INT32_MAX)
        atomic_store(&fleet->heartbeat_interval_ms, (int)json_integer_value(interval));
    json_decref(parsed);
}

/* Sends a report from a thread other than the loop's, once the worker's
 * heartbeat gate is open, and keeps the gate from closing while it is on
 * the wire. Returns 0 on a 2xx response. */
static int send_outside_report(struct sim_worker *worker, struct httpc *client,
                               int64_t task_id, const char *action, const char *body, char *err,
                               size_t err_len)
{
    const struct sim_fleet_config *config = &worker->fleet->config;
    char url[512];
    struct strbuf response;
    long status = 0;
    int rc;
    int wake_loop;

    strbuf_init(&response);
    snprintf(url, sizeof(url), "%s/api/v1/tasks/%lld/%s", config->server_url,
             (long long)task_id, action);

    pthread_mutex_lock(&worker->lock);
    while (worker->gate_closed)
        pthread_cond_wait(&worker->gate_cond, &worker->lock);
    worker->outside_in_flight++;
    pthread_mutex_unlock(&worker->lock);

    rc = httpc_request(client, "POST", url, config->worker_token, NULL, body, strlen(body),
                       10000, &status, &response, err, err_len);

    pthread_mutex_lock(&worker->lock);
    worker->outside_in_flight--;
    wake_loop = worker->outside_in_flight == 0 && worker->gate_closed;
    pthread_mutex_unlock(&worker->lock);
    /* The loop waits for this report to end before it sends the heartbeat. */
    if (wake_loop)
        curl_loop_wake(worker->fleet->loop);

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

void sim_fleet_count(struct sim_fleet *fleet, int64_t *counter, const int64_t *goal)
{
    pthread_mutex_lock(&fleet->lock);
    (*counter)++;
    if (*counter >= *goal)
        pthread_cond_broadcast(&fleet->changed_cond);
    pthread_mutex_unlock(&fleet->lock);
}

static void worker_init(struct sim_fleet *fleet, struct sim_worker *worker, int index)
{
    worker->fleet = fleet;
    snprintf(worker->id, sizeof(worker->id), "%s-%d", fleet->config.id_prefix, index);
    worker->run_count = 2 * fleet->config.slots;
    worker->runs = xcalloc((size_t)worker->run_count, sizeof(*worker->runs));
    pthread_mutex_init(&worker->lock, NULL);
    pthread_cond_init(&worker->gate_cond, NULL);
    sim_reporter_init_worker(worker);
}

static void worker_free(struct sim_worker *worker)
{
    sim_execute_stop(worker);
    sim_reporter_free_worker(worker);
    pthread_cond_destroy(&worker->gate_cond);
    pthread_mutex_destroy(&worker->lock);
    free(worker->runs);
}

/* Starts every worker's server, then the loop thread, then registers the
 * workers, so a dispatch right after a registration is served. */
static int fleet_open(struct sim_fleet *fleet, char *err, size_t err_len)
{
    struct httpc *client = NULL;
    int rc = -1;

    fleet->loop = curl_loop_new(fleet->config.worker_count * (2 * fleet->config.slots + 1) + 8,
                                err, err_len);
    if (!fleet->loop)
        return -1;
    fleet->headers = post_request_headers(fleet->config.worker_token);
    fleet->workers = xcalloc((size_t)fleet->config.worker_count, sizeof(*fleet->workers));
    for (int i = 0; i < fleet->config.worker_count; i++) {
        worker_init(fleet, &fleet->workers[i], i);
        fleet->worker_count = i + 1;
        if (sim_execute_start(&fleet->workers[i], err, err_len) < 0)
            return -1;
    }
    if (sim_reporters_start(fleet, err, err_len) < 0)
        return -1;

    client = httpc_new();
    for (int i = 0; i < fleet->worker_count; i++) {
        if (sim_worker_register(&fleet->workers[i], client, err, err_len) < 0)
            goto out;
    }
    rc = 0;
out:
    httpc_free(client);
    return rc;
}

int sim_fleet_start(const struct sim_fleet_config *config, struct sim_fleet **out, char *err,
                    size_t err_len)
{
    struct sim_fleet *fleet = xcalloc(1, sizeof(*fleet));

    fleet->config = *config;
    atomic_store(&fleet->heartbeat_interval_ms, 5000);
    fleet->completed_goal = INT64_MAX;
    fleet->started_goal = INT64_MAX;
    pthread_mutex_init(&fleet->lock, NULL);
    pthread_cond_init(&fleet->changed_cond, NULL);

    if (fleet_open(fleet, err, err_len) < 0) {
        sim_fleet_stop(fleet);
        fleet = NULL;
    }
    *out = fleet;
    return fleet ? 0 : -1;
}

void sim_fleet_stop(struct sim_fleet *fleet)
{
    if (!fleet)
        return;
    atomic_store(&fleet->stopping, 1);
    pthread_mutex_lock(&fleet->lock);
    pthread_cond_broadcast(&fleet->changed_cond);
    pthread_mutex_unlock(&fleet->lock);
    if (fleet->loop)
        sim_reporters_join(fleet);

    for (int i = 0; i < fleet->worker_count; i++)
        worker_free(&fleet->workers[i]);
    free(fleet->workers);
    curl_loop_free(fleet->loop);
    curl_slist_free_all(fleet->headers);
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

static int wait_counter(struct sim_fleet *fleet, const int64_t *counter, int64_t *goal,
                        int64_t count, int64_t deadline_ns)
{
    int rc = 0;

    pthread_mutex_lock(&fleet->lock);
    *goal = count;
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
    *goal = INT64_MAX;
    pthread_mutex_unlock(&fleet->lock);
    return rc;
}

int sim_fleet_wait_completed(struct sim_fleet *fleet, int64_t count, int64_t deadline_ns)
{
    return wait_counter(fleet, &fleet->completed_count, &fleet->completed_goal, count,
                        deadline_ns);
}

int sim_fleet_wait_started(struct sim_fleet *fleet, int64_t count, int64_t deadline_ns)
{
    return wait_counter(fleet, &fleet->started_count, &fleet->started_goal, count,
                        deadline_ns);
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
        for (int i = 0; i < worker->run_count && count < max; i++) {
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
        for (int i = 0; i < worker->run_count; i++) {
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
    return send_outside_report(worker, client, task_id, "progress", body, err, err_len);
}

void sim_fleet_release_held(struct sim_fleet *fleet)
{
    atomic_store(&fleet->released, 1);
    curl_loop_wake(fleet->loop);
}
