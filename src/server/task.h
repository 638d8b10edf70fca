/* Task and worker records as the server keeps them, and the task state
 * machine. Pure data and rules: no I/O, so unit tests cover them alone. */
#ifndef TASKRELAY_TASK_H
#define TASKRELAY_TASK_H

#include <stdint.h>

enum task_status {
    TASK_PENDING = 0,
    TASK_DISPATCHED,
    TASK_RUNNING,
    TASK_COMPLETED,
    TASK_FAILED,
    TASK_CANCELED,
    TASK_STATUS_COUNT
};

const char *task_status_name(enum task_status status);
/* Returns -1 when name is not a status. */
int task_status_parse(const char *name, enum task_status *out);
int task_status_is_terminal(enum task_status status);

/* Returns 1 when a task may move from one status to the other: only
 * forward, except dispatched -> pending when a push was rejected and a
 * terminal -> pending retry that starts a new attempt. */
int task_transition_allowed(enum task_status from, enum task_status to, int new_attempt);

/* Returns the delay before attempt (2, 3, ...) may be dispatched:
 * backoff_ms * 2^(attempt - 2), capped at one hour. */
int64_t task_retry_delay_ms(int64_t backoff_ms, int attempt);

/* Returns 1 when kind is 1-64 characters of [A-Za-z0-9._-]. */
int task_kind_valid(const char *kind);

/* One task row. Strings and JSON texts are owned by the record and freed by
 * task_record_clear; NULL means SQL NULL. Times are epoch ms, 0 = unset. */
struct task_record {
    int64_t id;
    char *kind;
    char *payload; /* JSON text */
    enum task_status status;
    int progress; /* 0-100 */
    char *message;
    char *worker_id;
    int attempt;
    int max_attempts;
    int retry_on_failure;
    int retry_on_loss;
    int64_t backoff_ms;
    int timeout_s; /* 0 = the worker's configured timeout */
    char *idempotency_key;
    char *error;
    char *result; /* JSON text */
    char *log_tail;
    int64_t report_seq; /* highest report seq applied for this attempt */
    int64_t log_len;    /* bytes of live log stored for this attempt */
    int64_t not_before; /* earliest dispatch time of a retry */
    int64_t created_at;
    int64_t dispatched_at;
    int64_t started_at;
    int64_t finished_at;
    int64_t updated_at;
    /* A worker may still hold a process of the current attempt: set when it
     * is dispatched, cleared when the worker's final report or a heartbeat
     * shows the run ended, or the run is lost. */
    int run_active;
};

void task_record_clear(struct task_record *task);

enum worker_status { WORKER_ONLINE = 0, WORKER_BUSY, WORKER_OFFLINE };

const char *worker_status_name(enum worker_status status);

/* One worker row; strings owned, freed by worker_record_clear. */
struct worker_record {
    char *id;
    char *url;
    enum worker_status status;
    int slots;
    int running; /* tasks dispatched to or running on it */
    char *kinds; /* JSON array text */
    char *version;
    char *address;
    int64_t last_heartbeat_at;
    int64_t completed;
    int64_t failed;
};

void worker_record_clear(struct worker_record *worker);

#endif
