/* Shared state of the simulated workers, between the fleet's API
 * (sim_worker.c), their /execute servers (sim_execute.c) and the reporting
 * loop (sim_reporter.c). One loop thread serves every worker's /execute
 * and sends every report and heartbeat. Callers of the public API run in
 * other threads. */
#ifndef TASKRELAY_BENCH_SIM_WORKER_INTERNAL_H
#define TASKRELAY_BENCH_SIM_WORKER_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

#include "curl_loop.h"
#include "post_request.h"
#include "sim_worker.h"

enum sim_run_state {
    SIM_RUN_FREE,
    SIM_RUN_REPORTING, /* /execute accepted; its reports are being sent */
    SIM_RUN_HELD,      /* started, waiting for sim_fleet_release_held */
    /* The complete report is sent and its response has not come yet. Like
     * a run of the real worker whose program ended, it no longer takes a
     * slot, and heartbeats list it as "finished". */
    SIM_RUN_FINISHING,
};

enum sim_report_kind {
    SIM_REPORT_START,
    SIM_REPORT_PROGRESS,
    SIM_REPORT_COMPLETE,
};

struct sim_worker;

/* One run. state, task_id and attempt change under the worker's lock;
 * the other fields belong to the loop thread. */
struct sim_run {
    struct sim_worker *worker;
    enum sim_run_state state;
    int64_t task_id;
    int attempt;
    atomic_int seq; /* last report seq sent for this attempt */

    enum sim_report_kind report; /* the report in flight or waiting */
    int waiting;                 /* held back while a heartbeat is due */
    struct post_request request;
    char url[256];
    char body[256];
    size_t body_len;
};

/* A worker's heartbeat: reports and heartbeats of one worker are never on
 * the wire at once, so the runs a heartbeat lists are exactly what the
 * server has received. Without that, a start report could overtake a
 * heartbeat that does not list the run yet, and the server would count
 * the run as missing. */
enum sim_heartbeat_state {
    SIM_HEARTBEAT_IDLE,
    SIM_HEARTBEAT_DUE,     /* new reports wait until the ones in flight end */
    SIM_HEARTBEAT_SENDING, /* the heartbeat or a registration after a 404 */
};

struct sim_worker {
    struct sim_fleet *fleet;
    char id[80];
    char url[128];
    struct MHD_Daemon *daemon;

    pthread_mutex_t lock; /* guards the runs' states and the gate fields */
    pthread_cond_t gate_cond;
    /* run_count = 2 * config.slots records: a slot can take a new run
     * while the complete report of its last run is still unanswered. */
    struct sim_run *runs;
    int run_count;
    /* Set while a heartbeat is due or on the wire; progress reports from
     * other threads (sim_fleet_report_progress) wait for it to clear. */
    int gate_closed;
    int outside_in_flight; /* such progress reports on the wire */

    /* Loop thread only. */
    int in_flight; /* this worker's reports in the multi handle */
    enum sim_heartbeat_state heartbeat_state;
    int registering;
    struct post_request heartbeat;
    char heartbeat_url[256];
    char *heartbeat_body;
    size_t heartbeat_body_cap;
};

struct sim_fleet {
    struct sim_fleet_config config;
    struct sim_worker *workers;
    int worker_count;
    atomic_int heartbeat_interval_ms;
    atomic_int stopping;
    atomic_int released;

    struct curl_loop *loop;
    struct curl_slist *headers; /* worker token, JSON */
    pthread_t loop_thread;
    int loop_started;

    pthread_mutex_t lock; /* guards the fields below */
    pthread_cond_t changed_cond;
    int64_t completed_count;
    int64_t started_count;
    int64_t error_count;
    /* A waiter's goal: counting up to it signals changed_cond, so the
     * waiting thread wakes once rather than once per report. */
    int64_t completed_goal;
    int64_t started_goal;
    int64_t last_execute_ns;
    int64_t last_execute_task_id;
};

/* Starts worker's libmicrohttpd server on a free loopback port, driven by
 * the fleet's loop, and sets worker->url. Returns 0, or -1 with a
 * message. */
int sim_execute_start(struct sim_worker *worker, char *err, size_t err_len);
void sim_execute_stop(struct sim_worker *worker);

/* Registers worker with the server from the calling thread. Returns 0, or
 * -1 with a message. */
int sim_worker_register(struct sim_worker *worker, struct httpc *client, char *err,
                        size_t err_len);

/* Parses heartbeat_interval_ms out of a registration response and applies
 * it when it is a positive integer. */
void sim_fleet_apply_registration(struct sim_fleet *fleet, const char *answer);

/* Creates the worker's curl handles and heartbeat buffer; frees them after
 * the loop thread ended. */
void sim_reporter_init_worker(struct sim_worker *worker);
void sim_reporter_free_worker(struct sim_worker *worker);

/* Loop thread: starts the reports of a run /execute just claimed. */
void sim_reporter_begin(struct sim_run *run);

void sim_fleet_count_error(struct sim_fleet *fleet);
/* Adds one to a counter and signals a waiter whose goal it reached. */
void sim_fleet_count(struct sim_fleet *fleet, int64_t *counter, const int64_t *goal);

/* Starts and stops the loop thread; fleet->stopping is set before the
 * stop. */
int sim_reporters_start(struct sim_fleet *fleet, char *err, size_t err_len);
void sim_reporters_join(struct sim_fleet *fleet);

#endif
