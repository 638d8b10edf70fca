/* Simulated workers: each registers with the server under its own URL,
 * served by libmicrohttpd on a free loopback port, accepts POST /execute,
 * sends heartbeats that list its runs, and reports every run with libcurl
 * over keep-alive connections. They run no program, so a benchmark measures
 * the control plane alone. */
#ifndef TASKRELAY_BENCH_SIM_WORKER_H
#define TASKRELAY_BENCH_SIM_WORKER_H

#include <stddef.h>
#include <stdint.h>

struct httpc;
struct sim_fleet;

enum sim_mode {
    /* Each run reports start, one progress step (50) and complete. */
    SIM_MODE_AUTO,
    /* Each run reports start, then waits for sim_fleet_release_held; the
     * caller sends progress with sim_fleet_report_progress meanwhile. */
    SIM_MODE_HOLD,
};

struct sim_fleet_config {
    const char *server_url;   /* e.g. http://127.0.0.1:8080, no trailing slash */
    const char *worker_token; /* borrowed for the fleet's lifetime */
    const char *kind;         /* the one kind every worker advertises */
    const char *id_prefix;    /* worker ids are PREFIX-0, PREFIX-1, ... */
    int worker_count;
    int slots; /* runs per worker at once, 1-1024 */
    enum sim_mode mode;
};

/* Starts the workers and registers each with the server. Returns 0, or -1
 * with a message in err when a port cannot be bound or a registration
 * fails. */
int sim_fleet_start(const struct sim_fleet_config *config, struct sim_fleet **out, char *err,
                    size_t err_len);

/* Stops reporting, closes the workers' ports and frees the fleet. Runs not
 * yet completed stay as they are on the server. */
void sim_fleet_stop(struct sim_fleet *fleet);

/* Counters since the start: runs whose complete report the server accepted,
 * runs whose start report it accepted, and reports that failed or were
 * answered with a status other than 2xx. */
int64_t sim_fleet_completed_count(struct sim_fleet *fleet);
int64_t sim_fleet_started_count(struct sim_fleet *fleet);
int64_t sim_fleet_error_count(struct sim_fleet *fleet);

/* Waits until sim_fleet_completed_count (or, for the second function,
 * sim_fleet_started_count) reaches count or deadline_ns (bench_now_ns
 * clock) passes. Returns 0 when reached, -1 on the deadline. */
int sim_fleet_wait_completed(struct sim_fleet *fleet, int64_t count, int64_t deadline_ns);
int sim_fleet_wait_started(struct sim_fleet *fleet, int64_t count, int64_t deadline_ns);

/* Returns the bench_now_ns time at which the fleet received the last
 * /execute, and that request's task id through task_id. */
int64_t sim_fleet_last_execute_ns(struct sim_fleet *fleet, int64_t *task_id);

/* Writes up to max ids of runs that reported start and wait in HOLD mode. */
size_t sim_fleet_held_tasks(struct sim_fleet *fleet, int64_t *task_ids, size_t max);

/* Sends a progress report for a held run with the caller's client. message
 * goes into the JSON as it is, so it must be ASCII without quotes or
 * backslashes. Returns 0 on a 2xx answer, -1 with a message in err
 * otherwise. */
int sim_fleet_report_progress(struct sim_fleet *fleet, struct httpc *client, int64_t task_id,
                              int progress, const char *message, char *err, size_t err_len);

/* Lets held runs send their complete report. */
void sim_fleet_release_held(struct sim_fleet *fleet);

#endif
