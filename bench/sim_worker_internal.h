/* Shared state of the simulated workers, between the HTTP side
 * (sim_worker.c) and the reporting side (sim_reporter.c). */
#ifndef TASKRELAY_BENCH_SIM_WORKER_INTERNAL_H
#define TASKRELAY_BENCH_SIM_WORKER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "common/httpd.h"
#include "sim_worker.h"

enum sim_run_state {
    SIM_RUN_FREE,
    SIM_RUN_QUEUED,    /* /execute accepted, no reporter has taken it yet */
    SIM_RUN_REPORTING, /* a reporter sends its reports */
    SIM_RUN_HELD,      /* started, waiting for sim_fleet_release_held */
};

struct sim_run {
    enum sim_run_state state;
    int64_t task_id;
    int attempt;
    atomic_int seq; /* last report seq sent for this attempt */
};

struct sim_worker {
    struct sim_fleet *fleet;
    char id[80];
    char url[128];
    struct httpd *httpd;

    /* Reports hold it for reading while on the wire; a heartbeat holds it
     * for writing, so the runs it lists are exactly what the server has
     * been told. Without that, a start report could overtake a heartbeat
     * that does not list the run yet, and the server would mark the run
     * lost. */
    pthread_rwlock_t report_lock;

    pthread_mutex_t lock; /* guards runs */
    pthread_cond_t queued_cond;
    struct sim_run *runs; /* config.slots entries */

    pthread_t *reporters;
    int reporter_count;
};

struct sim_fleet {
    struct sim_fleet_config config;
    struct sim_worker *workers;
    int worker_count;
    int heartbeat_interval_ms;
    atomic_int stopping;

    pthread_t heartbeat_thread;
    int heartbeat_started;

    pthread_mutex_t lock; /* guards the fields below */
    pthread_cond_t changed_cond;
    int64_t completed_count;
    int64_t started_count;
    int64_t error_count;
    int64_t last_execute_ns;
    int64_t last_execute_task_id;
    int released;
};

/* Registers worker with the server. Returns 0, or -1 with a message. */
int sim_worker_register(struct sim_worker *worker, struct httpc *client, char *err,
                        size_t err_len);

/* Sends POST {server}/api/v1/tasks/{id}/{action} with the worker token
 * while holding the worker's report lock for reading. Returns 0 on 2xx. */
int sim_worker_send_report(struct sim_worker *worker, struct httpc *client, int64_t task_id,
                           const char *action, const char *body, char *err, size_t err_len);

void sim_fleet_count_error(struct sim_fleet *fleet);

/* Starts the reporter threads of every worker and the heartbeat thread. */
int sim_reporters_start(struct sim_fleet *fleet, char *err, size_t err_len);
/* Joins the threads sim_reporters_start started; fleet->stopping is set. */
void sim_reporters_join(struct sim_fleet *fleet);

#endif
