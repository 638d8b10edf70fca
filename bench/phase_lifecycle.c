/* The control-plane phases with simulated workers: lifecycle throughput
 * and dispatch latency. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench_phases.h"
#include "bench_stats.h"
#include "common/httpc.h"
#include "common/util.h"
#include "sim_worker.h"

/* Tasks created and completed before the latency samples start, so
 * connection set-up and the first SQLite page reads are not measured. */
#define LATENCY_WARMUP_COUNT 50

static int start_fleet(const struct bench_options *options, enum sim_mode mode, int worker_count,
                       int slots, struct sim_fleet **fleet, char *err, size_t err_len)
{
    char prefix[64];
    struct sim_fleet_config config = {
        .server_url = options->target.server_url,
        .worker_token = options->target.worker_token,
        .kind = options->kind,
        .id_prefix = prefix,
        .worker_count = worker_count,
        .slots = slots,
        .mode = mode,
    };

    /* The pid keeps ids apart when several phases share one server. */
    snprintf(prefix, sizeof(prefix), "sim%d", (int)getpid());
    return sim_fleet_start(&config, fleet, err, err_len);
}

static double server_cpu_s(const struct bench_options *options)
{
    double cpu_s = 0;

    if (options->server_pid > 0)
        bench_process_cpu_s(options->server_pid, &cpu_s);
    return cpu_s;
}

int bench_phase_throughput(const struct bench_options *options, json_t **result, char *err,
                           size_t err_len)
{
    struct sim_fleet *fleet = NULL;
    int64_t created_count = 0;
    int64_t deadline_ns;
    int64_t start_ns, created_ns, end_ns;
    double cpu_start_s, cpu_end_s, own_start_s = 0, own_end_s = 0;
    int create_rc, wait_rc;

    if (start_fleet(options, SIM_MODE_AUTO, options->worker_count, options->slots, &fleet, err,
                    err_len) < 0)
        return -1;

    cpu_start_s = server_cpu_s(options);
    bench_process_cpu_s(getpid(), &own_start_s);
    start_ns = bench_now_ns();
    deadline_ns = start_ns + (int64_t)options->timeout_s * 1000000000;
    create_rc = bench_create_parallel(&options->target, options->kind, options->task_count,
                                      options->creator_count, deadline_ns, &created_count, err,
                                      err_len);
    created_ns = bench_now_ns();
    wait_rc = sim_fleet_wait_completed(fleet, created_count, deadline_ns);
    end_ns = bench_now_ns();
    cpu_end_s = server_cpu_s(options);
    bench_process_cpu_s(getpid(), &own_end_s);

    int64_t completed_count = sim_fleet_completed_count(fleet);
    double elapsed_s = (double)(end_ns - start_ns) / 1e9;
    double cpu_s = cpu_end_s - cpu_start_s;
    double own_cpu_s = own_end_s - own_start_s;

    *result = json_pack(
        "{s:i, s:i, s:i, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:b}", "workers",
        options->worker_count, "slots", options->slots, "creators", options->creator_count,
        "created", (json_int_t)created_count, "completed", (json_int_t)completed_count,
        "elapsed_s", elapsed_s, "tasks_per_s", (double)completed_count / elapsed_s,
        "create_per_s", (double)created_count / ((double)(created_ns - start_ns) / 1e9),
        "server_cpu_s", cpu_s, "server_cpu_s_per_1000",
        completed_count > 0 ? cpu_s * 1000.0 / (double)completed_count : 0.0,
        "loadgen_cpu_s_per_1000",
        completed_count > 0 ? own_cpu_s * 1000.0 / (double)completed_count : 0.0, "report_errors",
        (json_int_t)sim_fleet_error_count(fleet), "timed_out", wait_rc < 0);
    sim_fleet_stop(fleet);
    if (create_rc == 0 && wait_rc < 0)
        snprintf(err, err_len, "timed out after %d s with %lld of %lld tasks completed",
                 options->timeout_s, (long long)completed_count, (long long)created_count);
    return create_rc == 0 && wait_rc == 0 ? 0 : -1;
}

/* Creates one task and waits until it completed; writes the time from
 * sending the create request to the /execute arrival, and to the 201. */
static int measure_one(const struct bench_options *options, struct httpc *client,
                       struct sim_fleet *fleet, int64_t done_before, int64_t deadline_ns,
                       int64_t *dispatch_ns, int64_t *ack_ns, char *err, size_t err_len)
{
    int64_t task_id, executed_id;
    int64_t sent_ns = bench_now_ns();
    int64_t executed_ns;

    if (bench_create_task(client, &options->target, options->kind, &task_id, err, err_len) < 0)
        return -1;
    *ack_ns = bench_now_ns() - sent_ns;
    if (sim_fleet_wait_completed(fleet, done_before + 1, deadline_ns) < 0) {
        snprintf(err, err_len, "task %lld did not complete before the phase timed out",
                 (long long)task_id);
        return -1;
    }

    executed_ns = sim_fleet_last_execute_ns(fleet, &executed_id);
    if (executed_id != task_id) {
        snprintf(err, err_len, "expected /execute of task %lld, the last one was task %lld",
                 (long long)task_id, (long long)executed_id);
        return -1;
    }
    *dispatch_ns = executed_ns - sent_ns;
    return 0;
}

int bench_phase_latency(const struct bench_options *options, json_t **result, char *err,
                        size_t err_len)
{
    struct sim_fleet *fleet = NULL;
    struct httpc *client = NULL;
    int64_t total_count = options->task_count + LATENCY_WARMUP_COUNT;
    int64_t *dispatch_samples = xcalloc((size_t)options->task_count + 1, sizeof(int64_t));
    int64_t *ack_samples = xcalloc((size_t)options->task_count + 1, sizeof(int64_t));
    int64_t sample_count = 0;
    int64_t deadline_ns = bench_now_ns() + (int64_t)options->timeout_s * 1000000000;
    struct bench_latency dispatch, ack;
    int rc = -1;

    if (start_fleet(options, SIM_MODE_AUTO, options->worker_count, options->slots, &fleet, err,
                    err_len) < 0)
        goto out;
    client = httpc_new();

    for (int64_t i = 0; i < total_count; i++) {
        int64_t dispatch_ns, ack_ns;

        if (measure_one(options, client, fleet, i, deadline_ns, &dispatch_ns, &ack_ns, err,
                        err_len) < 0)
            goto out;
        if (i < LATENCY_WARMUP_COUNT)
            continue;
        dispatch_samples[sample_count] = dispatch_ns;
        ack_samples[sample_count] = ack_ns;
        sample_count++;
    }

    bench_latency_summarize(dispatch_samples, (size_t)sample_count, &dispatch);
    bench_latency_summarize(ack_samples, (size_t)sample_count, &ack);
    *result = json_pack("{s:o, s:o, s:I, s:I}", "dispatch", bench_latency_json(&dispatch),
                        "create_ack", bench_latency_json(&ack), "warmup",
                        (json_int_t)LATENCY_WARMUP_COUNT, "report_errors",
                        (json_int_t)sim_fleet_error_count(fleet));
    rc = 0;
out:
    httpc_free(client);
    sim_fleet_stop(fleet);
    free(dispatch_samples);
    free(ack_samples);
    return rc;
}
