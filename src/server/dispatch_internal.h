/* State shared by dispatch.c (assignment, liveness, heartbeats) and
 * push.c (the thread that sends pushes to workers). */
#ifndef TASKRELAY_DISPATCH_INTERNAL_H
#define TASKRELAY_DISPATCH_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "common/httpc.h"
#include "server/dispatch.h"
#include "server/task.h"

/* The dispatcher's view of a worker between heartbeats. */
struct worker_entry {
    char *id;
    char *url;
    int slots;
    char **kinds;
    size_t kind_count;
    int online;
    /* The worker rejected a push (busy, unreachable): skip it until its
     * next heartbeat or report shows a free slot. */
    int full;
    int push_failures;          /* consecutive pushes that failed, busy aside */
    int64_t skip_until_mono_ms; /* no push to it before this time */
    int64_t last_heard_mono_ms;
};

/* A task whose push has not been confirmed by a 200 from the worker. */
struct push_tracking {
    int64_t task_id;
    int attempt;
    char *worker_id;
    int inflight;              /* the push thread is sending it now */
    int64_t next_try_mono_ms;  /* when to resend, if not inflight */
    int tries;
};

/* A running task that a heartbeat did not list. A heartbeat may have been
 * built before the worker accepted the run, so the task is lost only when
 * heartbeats keep leaving it out for two intervals. */
struct missing_run {
    int64_t task_id;
    int attempt;
    int64_t first_missing_mono_ms;
};

enum push_type { PUSH_EXECUTE, PUSH_CANCEL };

struct push_job {
    enum push_type type;
    int64_t task_id;
    int attempt;
    char *worker_id;
    char *url;  /* full URL */
    char *body; /* JSON text */
    struct push_job *next;
};

struct dispatcher {
    struct app *app;
    pthread_mutex_t lock;
    pthread_cond_t wake_cond;
    int wake_requested;
    int stopping;

    struct worker_entry *workers;
    size_t worker_count;

    struct push_tracking *pushes;
    size_t push_count;

    struct missing_run *missing;
    size_t missing_count;

    struct push_job *queue_head;
    struct push_job *queue_tail;
    struct httpc_multi *push_multi; /* used by the push thread only */

    pthread_t loop_thread;
    pthread_t push_thread;
};

/* Lock held for all of these. */
struct worker_entry *dispatch_find_worker(struct dispatcher *d, const char *id);
struct push_tracking *dispatch_find_push(struct dispatcher *d, int64_t task_id);
void dispatch_forget_push(struct dispatcher *d, int64_t task_id);
void dispatch_enqueue(struct dispatcher *d, struct push_job *job);
void dispatch_forget_missing(struct dispatcher *d, int64_t task_id);

/* Builds the /execute job for a task (lock not needed). */
struct push_job *push_execute_job(struct dispatcher *d, const struct task_record *task,
                                  const char *worker_id, const char *worker_url);

void *push_thread_main(void *arg);
void push_job_free(struct push_job *job);

#endif
