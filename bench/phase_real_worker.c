/* The real-worker phases: tasks through a real `taskrelay worker`, and the
 * fork + exec + wait floor that bounds it. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_phases.h"
#include "bench_stats.h"
#include "common/httpc.h"
#include "common/util.h"

/* Interval between status polls; at a few hundred tasks per second it is
 * well under 1% of a run of several seconds. */
#define POLL_INTERVAL_MS 10

int bench_phase_drive(const struct bench_options *options, json_t **result, char *err,
                      size_t err_len)
{
    struct httpc *client = httpc_new();
    int64_t start_ns = bench_now_ns();
    int64_t deadline_ns = start_ns + (int64_t)options->timeout_s * 1000000000;
    int64_t created_count = 0;
    int64_t completed_count = 0;
    int64_t failed_count = 0;
    int timed_out = 0;
    int rc = -1;

    if (bench_create_parallel(&options->target, options->kind, options->task_count,
                              options->creator_count, deadline_ns, &created_count, err,
                              err_len) < 0)
        goto out;

    for (;;) {
        if (bench_kind_counts(client, &options->target, options->kind, &completed_count,
                              &failed_count, err, err_len) < 0)
            goto out;
        if (completed_count + failed_count >= created_count)
            break;
        if (bench_now_ns() > deadline_ns) {
            timed_out = 1;
            break;
        }
        sleep_ms(POLL_INTERVAL_MS);
    }

    double elapsed_s = (double)(bench_now_ns() - start_ns) / 1e9;
    *result = json_pack("{s:s, s:I, s:I, s:I, s:f, s:f, s:b}", "kind", options->kind,
                        "created", (json_int_t)created_count, "completed",
                        (json_int_t)completed_count, "failed", (json_int_t)failed_count,
                        "elapsed_s", elapsed_s, "tasks_per_s",
                        (double)(completed_count + failed_count) / elapsed_s, "timed_out",
                        timed_out);
    if (timed_out)
        snprintf(err, err_len, "timed out after %d s with %lld of %lld tasks finished",
                 options->timeout_s, (long long)(completed_count + failed_count),
                 (long long)created_count);
    rc = timed_out ? -1 : 0;
out:
    httpc_free(client);
    return rc;
}

struct fork_loop {
    const char *program;
    int64_t count;
    int64_t deadline_ns;
    pthread_t thread;
    int64_t done_count;
    int64_t failed_count;
};

static int run_program(const char *program)
{
    char *const argv[] = {(char *)program, NULL};
    char *const envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin", NULL};
    int status = 0;
    pid_t pid = fork();

    if (pid < 0)
        return -1;
    if (pid == 0) {
        execve(program, argv, envp);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void *fork_loop_main(void *arg)
{
    struct fork_loop *loop = arg;

    for (int64_t i = 0; i < loop->count && bench_now_ns() < loop->deadline_ns; i++) {
        if (run_program(loop->program) < 0)
            loop->failed_count++;
        loop->done_count++;
    }
    return NULL;
}

int bench_phase_fork(const struct bench_options *options, json_t **result, char *err,
                     size_t err_len)
{
    struct fork_loop *loops = xcalloc((size_t)options->parallel_count, sizeof(*loops));
    int64_t start_ns = bench_now_ns();
    int64_t done_count = 0;
    int64_t failed_count = 0;
    int started = 0;

    for (int i = 0; i < options->parallel_count; i++) {
        struct fork_loop *loop = &loops[i];

        loop->program = options->program;
        loop->deadline_ns = start_ns + (int64_t)options->timeout_s * 1000000000;
        loop->count = options->task_count / options->parallel_count +
                      (i < options->task_count % options->parallel_count ? 1 : 0);
        if (pthread_create(&loop->thread, NULL, fork_loop_main, loop) != 0)
            break;
        started++;
    }
    for (int i = 0; i < started; i++) {
        pthread_join(loops[i].thread, NULL);
        done_count += loops[i].done_count;
        failed_count += loops[i].failed_count;
    }
    free(loops);

    double elapsed_s = (double)(bench_now_ns() - start_ns) / 1e9;
    if (started < options->parallel_count || failed_count > 0) {
        snprintf(err, err_len, "%lld of %lld runs of %s failed (%d of %d loops started)",
                 (long long)failed_count, (long long)done_count, options->program, started,
                 options->parallel_count);
        return -1;
    }
    *result = json_pack("{s:s, s:i, s:I, s:f, s:f}", "program", options->program, "parallel",
                        options->parallel_count, "runs", (json_int_t)done_count, "elapsed_s",
                        elapsed_s, "runs_per_s", (double)done_count / elapsed_s);
    return 0;
}
