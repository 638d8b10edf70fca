/* The reporting side of the simulated workers: one loop thread sends each
 * run's start, progress and complete reports one after the other, many
 * runs at once through one curl multi handle, and every worker's
 * heartbeats. The same thread serves /execute (sim_execute.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_stats.h"
#include "common/log.h"
#include "common/util.h"
#include "sim_worker_internal.h"

/* The loop wakes at least this often to notice a stop. */
#define LOOP_MAX_WAIT_MS 100
#define REPORT_TIMEOUT_MS 10000

static void try_send_heartbeat(struct sim_worker *worker);

static const char *report_action(enum sim_report_kind kind)
{
    switch (kind) {
    case SIM_REPORT_START:
        return "start";
    case SIM_REPORT_PROGRESS:
        return "progress";
    case SIM_REPORT_COMPLETE:
        return "complete";
    }
    return "unknown";
}

/* Writes the path and body of the run's next report. The seq is taken
 * here, so reports of one run carry 1, 2, 3 in the order they are sent. */
static void build_report(struct sim_run *run, enum sim_report_kind kind)
{
    const struct sim_worker *worker = run->worker;
    int seq = atomic_fetch_add(&run->seq, 1) + 1;
    int len = 0;

    run->report = kind;
    snprintf(run->url, sizeof(run->url), "%s/api/v1/tasks/%lld/%s",
             worker->fleet->config.server_url, (long long)run->task_id, report_action(kind));
    switch (kind) {
    case SIM_REPORT_START:
        len = snprintf(run->body, sizeof(run->body),
                       "{\"worker_id\":\"%s\",\"attempt\":%d,\"seq\":%d}", worker->id,
                       run->attempt, seq);
        break;
    case SIM_REPORT_PROGRESS:
        len = snprintf(run->body, sizeof(run->body),
                       "{\"worker_id\":\"%s\",\"attempt\":%d,\"seq\":%d,\"progress\":50,"
                       "\"message\":\"half way\"}",
                       worker->id, run->attempt, seq);
        break;
    case SIM_REPORT_COMPLETE:
        len = snprintf(run->body, sizeof(run->body),
                       "{\"worker_id\":\"%s\",\"attempt\":%d,\"seq\":%d,"
                       "\"status\":\"completed\",\"error\":null,\"result\":null,"
                       "\"log_tail\":null,\"exit_code\":0,\"lost\":false}",
                       worker->id, run->attempt, seq);
        break;
    }
    run->body_len = (size_t)len;
}

static void put_on_wire(struct sim_run *run)
{
    struct sim_worker *worker = run->worker;
    struct sim_fleet *fleet = worker->fleet;

    run->waiting = 0;
    if (post_request_send(&run->request, curl_loop_multi(fleet->loop), run->url, run->body,
                          run->body_len) < 0) {
        sim_fleet_count_error(fleet);
        log_warn("bench", "curl rejected a report worker=%s task=%lld", worker->id,
                 (long long)run->task_id);
        return;
    }
    worker->in_flight++;
}

static void set_run_state(struct sim_run *run, enum sim_run_state state)
{
    pthread_mutex_lock(&run->worker->lock);
    run->state = state;
    pthread_mutex_unlock(&run->worker->lock);
}

/* Sends the run's next report now, or after the worker's due heartbeat. */
static void send_report(struct sim_run *run, enum sim_report_kind kind)
{
    build_report(run, kind);
    if (kind == SIM_REPORT_COMPLETE)
        set_run_state(run, SIM_RUN_FINISHING);
    if (run->worker->heartbeat_state != SIM_HEARTBEAT_IDLE) {
        run->waiting = 1;
        return;
    }
    put_on_wire(run);
}

void sim_reporter_begin(struct sim_run *run)
{
    send_report(run, SIM_REPORT_START);
}

/* Takes the next step after the response to a report of run. accepted is
 * 1 for a 2xx status. A failed report is counted, logged at debug level
 * and not retried, because a benchmark run that loses reports is invalid
 * anyway and shows it in its error count. */
static void advance_run(struct sim_run *run, int accepted)
{
    struct sim_fleet *fleet = run->worker->fleet;

    switch (run->report) {
    case SIM_REPORT_START:
        if (fleet->config.mode == SIM_MODE_HOLD) {
            /* Marked before it counts as started, so a caller that waited
             * for the started count finds it in sim_fleet_held_tasks. */
            set_run_state(run, SIM_RUN_HELD);
            if (accepted)
                sim_fleet_count(fleet, &fleet->started_count, &fleet->started_goal);
            if (atomic_load(&fleet->released))
                send_report(run, SIM_REPORT_COMPLETE);
            return;
        }
        if (accepted)
            sim_fleet_count(fleet, &fleet->started_count, &fleet->started_goal);
        send_report(run, SIM_REPORT_PROGRESS);
        return;
    case SIM_REPORT_PROGRESS:
        send_report(run, SIM_REPORT_COMPLETE);
        return;
    case SIM_REPORT_COMPLETE:
        if (accepted)
            sim_fleet_count(fleet, &fleet->completed_count, &fleet->completed_goal);
        set_run_state(run, SIM_RUN_FREE);
        return;
    }
}

static void on_report_done(struct post_request *request, CURLcode result)
{
    struct sim_run *run = request->owner;
    struct sim_worker *worker = run->worker;
    long status = post_request_status(&run->request);
    int accepted = result == CURLE_OK && status >= 200 && status <= 299;

    worker->in_flight--;
    if (!accepted) {
        sim_fleet_count_error(worker->fleet);
        log_debug("bench", "%s report failed worker=%s task=%lld status=%ld: %s %.200s",
                  report_action(run->report), worker->id, (long long)run->task_id, status,
                  curl_easy_strerror(result), run->request.response);
    }
    advance_run(run, accepted);
    try_send_heartbeat(worker);
}

/* Writes the heartbeat body: every run that is not free, a run whose
 * reports are still going out included, because the server counts it as
 * dispatched. free_slots counts the runs that take a slot. */
static size_t build_heartbeat(struct sim_worker *worker)
{
    int slots = worker->fleet->config.slots;
    char *out = worker->heartbeat_body;
    size_t cap = worker->heartbeat_body_cap;
    size_t len = (size_t)snprintf(out, cap, "{\"runs\":[");
    int listed = 0;
    int used = 0;

    pthread_mutex_lock(&worker->lock);
    for (int i = 0; i < worker->run_count; i++) {
        const struct sim_run *run = &worker->runs[i];
        int finishing = run->state == SIM_RUN_FINISHING;

        if (run->state == SIM_RUN_FREE)
            continue;
        len += (size_t)snprintf(out + len, cap - len,
                                "%s{\"task_id\":%lld,\"attempt\":%d,\"state\":\"%s\"}",
                                listed ? "," : "", (long long)run->task_id, run->attempt,
                                finishing ? "finished" : "running");
        listed++;
        used += !finishing;
    }
    pthread_mutex_unlock(&worker->lock);
    len += (size_t)snprintf(out + len, cap - len, "],\"slots\":%d,\"free_slots\":%d}", slots,
                            slots - used);
    return len;
}

static void heartbeat_failed(struct sim_worker *worker, const char *request_name, long status)
{
    sim_fleet_count_error(worker->fleet);
    log_warn("bench", "%s failed worker=%s status=%ld", request_name, worker->id, status);
}

/* Reopens the gate after a heartbeat and sends the reports it held. */
static void finish_heartbeat(struct sim_worker *worker)
{
    worker->heartbeat_state = SIM_HEARTBEAT_IDLE;
    worker->registering = 0;
    pthread_mutex_lock(&worker->lock);
    worker->gate_closed = 0;
    pthread_cond_broadcast(&worker->gate_cond);
    pthread_mutex_unlock(&worker->lock);

    for (int i = 0; i < worker->run_count; i++) {
        if (worker->runs[i].waiting)
            put_on_wire(&worker->runs[i]);
    }
}

/* Sends the registration that a 404 to a heartbeat requests, with the
 * heartbeat's request slot. Returns 0 when it went out. */
static int send_registration(struct sim_worker *worker)
{
    const struct sim_fleet_config *config = &worker->fleet->config;
    int len;

    snprintf(worker->heartbeat_url, sizeof(worker->heartbeat_url), "%s/api/v1/workers/register",
             config->server_url);
    len = snprintf(worker->heartbeat_body, worker->heartbeat_body_cap,
                   "{\"worker_id\":\"%s\",\"url\":\"%s\",\"slots\":%d,\"kinds\":[\"%s\"],"
                   "\"version\":\"bench\"}",
                   worker->id, worker->url, config->slots, config->kind);
    worker->registering = 1;
    return post_request_send(&worker->heartbeat, curl_loop_multi(worker->fleet->loop),
                             worker->heartbeat_url, worker->heartbeat_body, (size_t)len);
}

static void on_heartbeat_done(struct post_request *request, CURLcode result)
{
    struct sim_worker *worker = request->owner;
    long status = post_request_status(&worker->heartbeat);

    if (worker->registering) {
        if (result == CURLE_OK && status == 200)
            sim_fleet_apply_registration(worker->fleet, worker->heartbeat.response);
        else
            heartbeat_failed(worker, "registration", status);
    } else if (result == CURLE_OK && status == 404) {
        if (send_registration(worker) == 0)
            return;
        heartbeat_failed(worker, "registration", status);
    } else if (result != CURLE_OK || status != 200) {
        heartbeat_failed(worker, "heartbeat", status);
    }
    finish_heartbeat(worker);
}


/* Sends a due heartbeat once none of the worker's reports is on the wire,
 * neither from the loop nor from sim_fleet_report_progress. */
static void try_send_heartbeat(struct sim_worker *worker)
{
    struct sim_fleet *fleet = worker->fleet;
    int outside_in_flight;
    size_t len;

    if (worker->heartbeat_state != SIM_HEARTBEAT_DUE || worker->in_flight > 0)
        return;
    pthread_mutex_lock(&worker->lock);
    outside_in_flight = worker->outside_in_flight;
    pthread_mutex_unlock(&worker->lock);
    if (outside_in_flight > 0)
        return;

    len = build_heartbeat(worker);
    snprintf(worker->heartbeat_url, sizeof(worker->heartbeat_url),
             "%s/api/v1/workers/%s/heartbeat", fleet->config.server_url, worker->id);
    worker->heartbeat_state = SIM_HEARTBEAT_SENDING;
    if (post_request_send(&worker->heartbeat, curl_loop_multi(fleet->loop),
                          worker->heartbeat_url, worker->heartbeat_body, len) < 0) {
        heartbeat_failed(worker, "heartbeat", 0);
        finish_heartbeat(worker);
    }
}

/* Closes every worker's gate for its heartbeat. */
static void begin_heartbeats(struct sim_fleet *fleet)
{
    for (int w = 0; w < fleet->worker_count; w++) {
        struct sim_worker *worker = &fleet->workers[w];

        if (worker->heartbeat_state != SIM_HEARTBEAT_IDLE)
            continue;
        worker->heartbeat_state = SIM_HEARTBEAT_DUE;
        pthread_mutex_lock(&worker->lock);
        worker->gate_closed = 1;
        pthread_mutex_unlock(&worker->lock);
        try_send_heartbeat(worker);
    }
}

/* Sends the complete report of every held run whose start report got its
 * response. Runs still starting send it when that response comes. */
static void release_held_runs(struct sim_fleet *fleet)
{
    for (int w = 0; w < fleet->worker_count; w++) {
        struct sim_worker *worker = &fleet->workers[w];

        for (int i = 0; i < worker->run_count; i++) {
            struct sim_run *run = &worker->runs[i];

            if (run->state == SIM_RUN_HELD && run->report == SIM_REPORT_START)
                send_report(run, SIM_REPORT_COMPLETE);
        }
    }
}

static void *loop_main(void *arg)
{
    struct sim_fleet *fleet = arg;
    int64_t next_heartbeat_ms = mono_ms() + atomic_load(&fleet->heartbeat_interval_ms);
    int release_handled = 0;

    while (!atomic_load(&fleet->stopping)) {
        int64_t wait_ms = next_heartbeat_ms - mono_ms();

        if (wait_ms < 0)
            wait_ms = 0;
        if (wait_ms > LOOP_MAX_WAIT_MS)
            wait_ms = LOOP_MAX_WAIT_MS;
        if (curl_loop_run_once(fleet->loop, (int)wait_ms, post_request_finish, NULL) < 0) {
            log_error("bench", "the simulated workers' event loop failed; reports stop");
            break;
        }

        if (!release_handled && atomic_load(&fleet->released)) {
            release_held_runs(fleet);
            release_handled = 1;
        }
        if (mono_ms() >= next_heartbeat_ms) {
            begin_heartbeats(fleet);
            next_heartbeat_ms += atomic_load(&fleet->heartbeat_interval_ms);
        }
        /* A progress report from another thread may have ended. */
        for (int w = 0; w < fleet->worker_count; w++)
            try_send_heartbeat(&fleet->workers[w]);
    }
    return NULL;
}

void sim_reporter_init_worker(struct sim_worker *worker)
{
    struct sim_fleet *fleet = worker->fleet;

    /* A run lists as {"task_id":N,"attempt":N,"state":"running"}, under
     * 80 bytes. */
    worker->heartbeat_body_cap = 256 + (size_t)worker->run_count * 80;
    worker->heartbeat_body = xmalloc(worker->heartbeat_body_cap);
    post_request_init(&worker->heartbeat, fleet->headers, REPORT_TIMEOUT_MS, on_heartbeat_done,
                      worker);
    curl_loop_adopt(fleet->loop, worker->heartbeat.easy);
    for (int i = 0; i < worker->run_count; i++) {
        struct sim_run *run = &worker->runs[i];

        run->worker = worker;
        post_request_init(&run->request, fleet->headers, REPORT_TIMEOUT_MS, on_report_done,
                          run);
        curl_loop_adopt(fleet->loop, run->request.easy);
    }
}

void sim_reporter_free_worker(struct sim_worker *worker)
{
    CURLM *multi = curl_loop_multi(worker->fleet->loop);

    curl_multi_remove_handle(multi, worker->heartbeat.easy);
    post_request_cleanup(&worker->heartbeat);
    for (int i = 0; i < worker->run_count; i++) {
        curl_multi_remove_handle(multi, worker->runs[i].request.easy);
        post_request_cleanup(&worker->runs[i].request);
    }
    free(worker->heartbeat_body);
    worker->heartbeat_body = NULL;
}

int sim_reporters_start(struct sim_fleet *fleet, char *err, size_t err_len)
{
    if (pthread_create(&fleet->loop_thread, NULL, loop_main, fleet) != 0) {
        snprintf(err, err_len, "cannot start the simulated workers' loop thread");
        return -1;
    }
    fleet->loop_started = 1;
    return 0;
}

void sim_reporters_join(struct sim_fleet *fleet)
{
    if (!fleet->loop_started)
        return;
    curl_loop_wake(fleet->loop);
    pthread_join(fleet->loop_thread, NULL);
    fleet->loop_started = 0;
}
