/* The Server-Sent Events fan-out phase: held runs send progress reports
 * while many watchers follow the tasks' streams. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_phases.h"
#include "bench_stats.h"
#include "common/httpc.h"
#include "common/util.h"
#include "sim_worker.h"
#include "sse_watchers.h"

/* How long one round may take before its missing deliveries count as
 * lost. */
#define ROUND_TIMEOUT_NS (5LL * 1000000000)

static int parse_server_url(const char *url, char *host, size_t host_len, int *port, char *err,
                            size_t err_len)
{
    const char *rest = strncmp(url, "http://", 7) == 0 ? url + 7 : NULL;

    if (!rest || parse_host_port(rest, host, host_len, port) < 0) {
        snprintf(err, err_len, "invalid server URL '%s': use http://IPV4:PORT", url);
        return -1;
    }
    return 0;
}

/* Creates task_count tasks and waits until each has a held run. */
static int hold_tasks(const struct bench_options *options, struct sim_fleet *fleet,
                      int64_t *task_ids, int64_t deadline_ns, char *err, size_t err_len)
{
    int64_t created_count = 0;

    if (bench_create_parallel(&options->target, options->kind, options->task_count, 1,
                              deadline_ns, &created_count, err, err_len) < 0)
        return -1;
    if (sim_fleet_wait_started(fleet, options->task_count, deadline_ns) < 0) {
        snprintf(err, err_len, "only %lld of %lld tasks started in time",
                 (long long)sim_fleet_started_count(fleet), (long long)options->task_count);
        return -1;
    }
    if ((int64_t)sim_fleet_held_tasks(fleet, task_ids, (size_t)options->task_count) !=
        options->task_count) {
        snprintf(err, err_len, "fewer held runs than started tasks");
        return -1;
    }
    return 0;
}

/* Sends one progress report per held task for each round, waiting for
 * every watcher between rounds. sent_ns[round * task_count + k] is the
 * time report k of round was sent. */
static int run_rounds(const struct bench_options *options, struct sim_fleet *fleet,
                      struct sse_watchers *watchers, const int64_t *task_ids, int64_t *sent_ns,
                      int *late_round_count, char *err, size_t err_len)
{
    struct httpc *client = httpc_new();
    char marker[16];
    int rc = -1;

    for (int round = 0; round < options->round_count; round++) {
        sse_round_marker(round, marker, sizeof(marker));
        for (int64_t k = 0; k < options->task_count; k++) {
            sent_ns[round * options->task_count + k] = bench_now_ns();
            if (sim_fleet_report_progress(fleet, client, task_ids[k], round % 100, marker, err,
                                          err_len) < 0)
                goto out;
        }
        if (sse_watchers_wait_round(watchers, round, bench_now_ns() + ROUND_TIMEOUT_NS) < 0)
            (*late_round_count)++;
    }
    rc = 0;
out:
    httpc_free(client);
    return rc;
}

static json_t *summarize(const struct bench_options *options, struct sse_watchers *watchers,
                         const int64_t *sent_ns, int late_round_count)
{
    size_t max_count = (size_t)options->watcher_count * (size_t)options->round_count;
    int64_t *samples = xcalloc(max_count + 1, sizeof(int64_t));
    size_t count = 0;
    struct bench_latency delivery;
    json_t *result;

    for (int w = 0; w < options->watcher_count; w++) {
        int64_t k = w % options->task_count;

        for (int round = 0; round < options->round_count; round++) {
            int64_t received_ns = sse_watchers_received_ns(watchers, w, round);

            if (received_ns != 0)
                samples[count++] = received_ns - sent_ns[round * options->task_count + k];
        }
    }
    bench_latency_summarize(samples, count, &delivery);
    result = json_pack("{s:i, s:I, s:i, s:o, s:I, s:i, s:i}", "watchers",
                       options->watcher_count, "tasks", (json_int_t)options->task_count,
                       "rounds", options->round_count, "delivery",
                       bench_latency_json(&delivery), "missing",
                       (json_int_t)(max_count - count), "failed_watchers",
                       sse_watchers_failed_count(watchers), "late_rounds", late_round_count);
    free(samples);
    return result;
}

int bench_phase_sse(const struct bench_options *options, json_t **result, char *err,
                    size_t err_len)
{
    struct sim_fleet *fleet = NULL;
    struct sse_watchers *watchers = NULL;
    int64_t deadline_ns = bench_now_ns() + (int64_t)options->timeout_s * 1000000000;
    int64_t *task_ids = xcalloc((size_t)options->task_count, sizeof(int64_t));
    int64_t *watched_ids = xcalloc((size_t)options->watcher_count, sizeof(int64_t));
    int64_t *sent_ns = xcalloc((size_t)(options->task_count * options->round_count),
                               sizeof(int64_t));
    int late_round_count = 0;
    char host[64];
    int port;
    int rc = -1;
    char prefix[64];
    struct sim_fleet_config config = {
        .server_url = options->target.server_url,
        .worker_token = options->target.worker_token,
        .kind = options->kind,
        .id_prefix = prefix,
        .worker_count = 1,
        .slots = (int)options->task_count,
        .mode = SIM_MODE_HOLD,
    };

    snprintf(prefix, sizeof(prefix), "simsse%d", (int)getpid());
    if (parse_server_url(options->target.server_url, host, sizeof(host), &port, err, err_len) <
            0 ||
        sim_fleet_start(&config, &fleet, err, err_len) < 0 ||
        hold_tasks(options, fleet, task_ids, deadline_ns, err, err_len) < 0)
        goto out;

    for (int w = 0; w < options->watcher_count; w++)
        watched_ids[w] = task_ids[w % options->task_count];
    if (sse_watchers_open(host, port, options->target.api_token, watched_ids,
                          options->watcher_count, options->round_count, &watchers, err,
                          err_len) < 0 ||
        sse_watchers_wait_ready(watchers, deadline_ns, err, err_len) < 0)
        goto out;

    if (run_rounds(options, fleet, watchers, task_ids, sent_ns, &late_round_count, err,
                   err_len) < 0)
        goto out;
    sse_watchers_close(watchers);
    *result = summarize(options, watchers, sent_ns, late_round_count);
    rc = 0;
out:
    if (watchers) {
        sse_watchers_close(watchers);
        sse_watchers_free(watchers);
    }
    if (fleet) {
        sim_fleet_release_held(fleet);
        sim_fleet_wait_completed(fleet, sim_fleet_started_count(fleet),
                                 bench_now_ns() + 5LL * 1000000000);
        sim_fleet_stop(fleet);
    }
    free(task_ids);
    free(watched_ids);
    free(sent_ns);
    return rc;
}
