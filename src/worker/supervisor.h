/* The supervisor: one thread that starts task programs, reads their
 * progress, ships their output, enforces timeouts, kills runs, reaps every
 * child and queues each run's reports. It waits in poll() on a signalfd
 * (SIGCHLD, SIGTERM, SIGINT), a wake pipe for requests from other threads
 * and each run's progress pipe. */
#ifndef TASKRELAY_SUPERVISOR_H
#define TASKRELAY_SUPERVISOR_H

#include <stddef.h>

#include "worker/outbox.h"
#include "worker/run_table.h"
#include "worker/worker_config.h"

enum kill_reason {
    KILL_CANCEL,   /* canceled by the server or through POST /tasks/{id}/cancel */
    KILL_TIMEOUT,  /* ran longer than its timeout */
    KILL_SHUTDOWN, /* the worker stops and the shutdown grace ran out */
    KILL_STALE,    /* the server responded 409 stale_attempt */
};

struct supervisor;

/* signal_fd is a signalfd for SIGCHLD, SIGTERM and SIGINT, which must be
 * blocked in every thread; the supervisor takes ownership of it. The other
 * arguments are borrowed and must outlive the supervisor. */
struct supervisor *supervisor_new(const struct worker_config *config, struct run_table *table,
                                  struct outbox *outbox, int signal_fd, char *err,
                                  size_t err_len);
int supervisor_start(struct supervisor *sup, char *err, size_t err_len);

/* Hands a run whose slot run_table_take gave to the supervisor, which
 * starts it. payload (payload_len bytes of JSON) is copied. timeout_s 0
 * means the kind's timeout. */
void supervisor_submit(struct supervisor *sup, long long task_id, int attempt,
                       const char *kind, const char *payload, size_t payload_len,
                       int timeout_s);

/* Asks for a run to be killed; attempt 0 means any attempt of the task.
 * Returns at once; a run that is not active is ignored. */
void supervisor_kill(struct supervisor *sup, long long task_id, int attempt,
                     enum kill_reason reason);

/* Returns the directory of a finished run to the spare pool; call it when
 * run_table_ack returns 1. Thread-safe. */
void supervisor_recycle_run(struct supervisor *sup, long long task_id, int attempt);

/* Waits until the thread ended, which it does after a SIGTERM or SIGINT
 * once no run is left. Requests made after that are accepted and dropped. */
void supervisor_join(struct supervisor *sup);
/* Frees the supervisor; call after supervisor_join and after every thread
 * that may call supervisor_kill or supervisor_submit has stopped. */
void supervisor_free(struct supervisor *sup);

#endif
