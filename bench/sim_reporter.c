/* The reporting side of the simulated workers: one reporter thread per
 * slot sends each run's reports, and one thread sends every worker's
 * heartbeats. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/httpc.h"
#include "common/log.h"
#include "common/util.h"
#include "sim_worker_internal.h"

static void deadline_in_ms(struct timespec *until, long ms)
{
    clock_gettime(CLOCK_REALTIME, until);
    until->tv_nsec += ms * 1000000L;
    until->tv_sec += until->tv_nsec / 1000000000L;
    until->tv_nsec %= 1000000000L;
}

/* Takes a queued run, or returns NULL once the fleet stops. */
static struct sim_run *take_queued(struct sim_worker *worker)
{
    struct sim_fleet *fleet = worker->fleet;
    struct sim_run *taken = NULL;

    pthread_mutex_lock(&worker->lock);
    while (!taken && !atomic_load(&fleet->stopping)) {
        for (int i = 0; i < fleet->config.slots && !taken; i++) {
            if (worker->runs[i].state == SIM_RUN_QUEUED)
                taken = &worker->runs[i];
        }
        if (taken) {
            taken->state = SIM_RUN_REPORTING;
            break;
        }
        struct timespec until;

        deadline_in_ms(&until, 100);
        pthread_cond_timedwait(&worker->queued_cond, &worker->lock, &until);
    }
    pthread_mutex_unlock(&worker->lock);
    return taken;
}

static void set_run_state(struct sim_worker *worker, struct sim_run *run,
                          enum sim_run_state state)
{
    pthread_mutex_lock(&worker->lock);
    run->state = state;
    pthread_mutex_unlock(&worker->lock);
}

static void count_report(struct sim_fleet *fleet, int64_t *counter)
{
    pthread_mutex_lock(&fleet->lock);
    (*counter)++;
    pthread_cond_broadcast(&fleet->changed_cond);
    pthread_mutex_unlock(&fleet->lock);
}

/* Sends one report; a failure is counted, logged at debug level and not
 * retried, because a benchmark run that loses reports is invalid anyway
 * and shows it in its error count. Returns 0 on success. */
static int report(struct sim_worker *worker, struct httpc *client, struct sim_run *run,
                  const char *action, const char *body)
{
    char err[512];

    if (sim_worker_send_report(worker, client, run->task_id, action, body, err, sizeof(err)) ==
        0)
        return 0;
    sim_fleet_count_error(worker->fleet);
    log_debug("bench", "report failed worker=%s task=%lld: %s", worker->id,
              (long long)run->task_id, err);
    return -1;
}

static void wait_released(struct sim_fleet *fleet)
{
    pthread_mutex_lock(&fleet->lock);
    while (!fleet->released && !atomic_load(&fleet->stopping)) {
        struct timespec until;

        deadline_in_ms(&until, 100);
        pthread_cond_timedwait(&fleet->changed_cond, &fleet->lock, &until);
    }
    pthread_mutex_unlock(&fleet->lock);
}

static void run_reports(struct sim_worker *worker, struct httpc *client, struct sim_run *run)
{
    struct sim_fleet *fleet = worker->fleet;
    char body[512];

    snprintf(body, sizeof(body), "{\"worker_id\":\"%s\",\"attempt\":%d,\"seq\":%d}",
             worker->id, run->attempt, atomic_fetch_add(&run->seq, 1) + 1);
    int started = report(worker, client, run, "start", body) == 0;

    /* A held run is marked before it counts as started, so a caller that
     * waited for the started count finds it in sim_fleet_held_tasks. */
    if (fleet->config.mode == SIM_MODE_HOLD)
        set_run_state(worker, run, SIM_RUN_HELD);
    if (started)
        count_report(fleet, &fleet->started_count);

    if (fleet->config.mode == SIM_MODE_HOLD) {
        wait_released(fleet);
        if (atomic_load(&fleet->stopping))
            return;
    } else {
        snprintf(body, sizeof(body),
                 "{\"worker_id\":\"%s\",\"attempt\":%d,\"seq\":%d,\"progress\":50,"
                 "\"message\":\"half way\"}",
                 worker->id, run->attempt, atomic_fetch_add(&run->seq, 1) + 1);
        report(worker, client, run, "progress", body);
    }

    snprintf(body, sizeof(body),
             "{\"worker_id\":\"%s\",\"attempt\":%d,\"seq\":%d,\"status\":\"completed\","
             "\"error\":null,\"result\":null,\"log_tail\":null,\"exit_code\":0,"
             "\"lost\":false}",
             worker->id, run->attempt, atomic_fetch_add(&run->seq, 1) + 1);
    if (report(worker, client, run, "complete", body) == 0)
        count_report(fleet, &fleet->completed_count);
}

static void *reporter_main(void *arg)
{
    struct sim_worker *worker = arg;
    struct httpc *client = httpc_new();
    struct sim_run *run;

    while ((run = take_queued(worker)) != NULL) {
        run_reports(worker, client, run);
        set_run_state(worker, run, SIM_RUN_FREE);
    }
    httpc_free(client);
    return NULL;
}

/* Builds the heartbeat body from the worker's runs. A queued run is listed
 * too: the server expects it as dispatched. */
static char *heartbeat_body(struct sim_worker *worker)
{
    struct strbuf body;
    int slots = worker->fleet->config.slots;
    int used = 0;

    strbuf_init(&body);
    strbuf_append(&body, "{\"runs\":[", 9);
    pthread_mutex_lock(&worker->lock);
    for (int i = 0; i < slots; i++) {
        const struct sim_run *run = &worker->runs[i];

        if (run->state == SIM_RUN_FREE)
            continue;
        strbuf_appendf(&body, "%s{\"task_id\":%lld,\"attempt\":%d,\"state\":\"running\"}",
                       used ? "," : "", (long long)run->task_id, run->attempt);
        used++;
    }
    pthread_mutex_unlock(&worker->lock);
    strbuf_appendf(&body, "],\"slots\":%d,\"free_slots\":%d}", slots, slots - used);

    char *text = xstrdup(body.data);
    strbuf_free(&body);
    return text;
}

static void send_heartbeat(struct sim_worker *worker, struct httpc *client)
{
    const struct sim_fleet_config *config = &worker->fleet->config;
    char url[512];
    char err[512];
    struct strbuf response;
    long status = 0;
    char *body;
    int rc;

    strbuf_init(&response);
    snprintf(url, sizeof(url), "%s/api/v1/workers/%s/heartbeat", config->server_url,
             worker->id);

    pthread_rwlock_wrlock(&worker->report_lock);
    body = heartbeat_body(worker);
    rc = httpc_request(client, "POST", url, config->worker_token, NULL, body, strlen(body),
                       10000, &status, &response, err, sizeof(err));
    pthread_rwlock_unlock(&worker->report_lock);

    if (rc == HTTPC_OK && status == 404)
        rc = sim_worker_register(worker, client, err, sizeof(err));
    else if (rc == HTTPC_OK && status != 200)
        rc = -1;
    if (rc != HTTPC_OK) {
        sim_fleet_count_error(worker->fleet);
        log_warn("bench", "heartbeat failed worker=%s status=%ld", worker->id, status);
    }
    free(body);
    strbuf_free(&response);
}

static void *heartbeat_main(void *arg)
{
    struct sim_fleet *fleet = arg;
    struct httpc *client = httpc_new();
    int64_t next_ms = mono_ms() + fleet->heartbeat_interval_ms;

    while (!atomic_load(&fleet->stopping)) {
        if (mono_ms() < next_ms) {
            sleep_ms(20);
            continue;
        }
        for (int i = 0; i < fleet->worker_count; i++)
            send_heartbeat(&fleet->workers[i], client);
        next_ms += fleet->heartbeat_interval_ms;
    }
    httpc_free(client);
    return NULL;
}

int sim_reporters_start(struct sim_fleet *fleet, char *err, size_t err_len)
{
    for (int w = 0; w < fleet->worker_count; w++) {
        struct sim_worker *worker = &fleet->workers[w];

        worker->reporters = xcalloc((size_t)fleet->config.slots, sizeof(*worker->reporters));
        for (int i = 0; i < fleet->config.slots; i++) {
            if (pthread_create(&worker->reporters[i], NULL, reporter_main, worker) != 0) {
                snprintf(err, err_len, "cannot start reporter thread %d of worker %s", i,
                         worker->id);
                return -1;
            }
            worker->reporter_count = i + 1;
        }
    }
    if (pthread_create(&fleet->heartbeat_thread, NULL, heartbeat_main, fleet) != 0) {
        snprintf(err, err_len, "cannot start the heartbeat thread");
        return -1;
    }
    fleet->heartbeat_started = 1;
    return 0;
}

void sim_reporters_join(struct sim_fleet *fleet)
{
    for (int w = 0; w < fleet->worker_count; w++) {
        struct sim_worker *worker = &fleet->workers[w];

        pthread_mutex_lock(&worker->lock);
        pthread_cond_broadcast(&worker->queued_cond);
        pthread_mutex_unlock(&worker->lock);
        for (int i = 0; i < worker->reporter_count; i++)
            pthread_join(worker->reporters[i], NULL);
        free(worker->reporters);
        worker->reporters = NULL;
        worker->reporter_count = 0;
    }
    if (fleet->heartbeat_started)
        pthread_join(fleet->heartbeat_thread, NULL);
    fleet->heartbeat_started = 0;
}
