/* The load generator's phases. Each runs against a server the caller
 * started, stops by itself within its count and timeout, and returns its
 * figures as a JSON object. */
#ifndef TASKRELAY_BENCH_PHASES_H
#define TASKRELAY_BENCH_PHASES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bench_client.h"

struct bench_options {
    struct bench_target target;
    const char *kind;      /* task kind the phase creates */
    int worker_count;      /* simulated workers */
    int slots;             /* slots per simulated worker */
    int creator_count;     /* concurrent creator connections */
    int64_t task_count;    /* tasks the phase creates (or programs it runs) */
    int watcher_count;     /* Server-Sent Events connections */
    int round_count;       /* progress reports per held task in the SSE phase */
    int parallel_count;    /* processes at once in the fork phase */
    int timeout_s;         /* the phase gives up after this many seconds */
    pid_t server_pid;      /* 0 = do not measure the server's CPU time */
    const char *program;   /* what the fork phase runs */
};

/* Tasks per second through create, dispatch, start, progress and complete
 * with simulated workers. */
int bench_phase_throughput(const struct bench_options *options, json_t **result, char *err,
                           size_t err_len);

/* Time from sending a create request to the simulated worker receiving
 * /execute, one task at a time with idle workers. */
int bench_phase_latency(const struct bench_options *options, json_t **result, char *err,
                        size_t err_len);

/* Time from a progress report to its delivery at every Server-Sent Events
 * watcher of the task. */
int bench_phase_sse(const struct bench_options *options, json_t **result, char *err,
                    size_t err_len);

/* Creates tasks for real workers that are already registered and waits
 * until the server lists all of them as completed or failed. */
int bench_phase_drive(const struct bench_options *options, json_t **result, char *err,
                      size_t err_len);

/* fork + execve + waitpid of options->program, parallel_count at a time. */
int bench_phase_fork(const struct bench_options *options, json_t **result, char *err,
                     size_t err_len);

#endif
