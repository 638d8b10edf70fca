/* The task store: every durable fact of the server goes through this
 * interface. Each operation is atomic, and a state change is durable
 * (fsync'd) when the call returns, except the start and progress reports
 * and log output noted below. The backend is chosen at start-up
 * through a table of function pointers: SQLite now, another database
 * later, without #ifdefs in callers.
 *
 * Conventions: 0 (STORE_OK) on success, a negative store_error otherwise,
 * with a message in err where the call takes one. Records returned through
 * out-parameters are owned by the caller (task_record_clear,
 * worker_record_clear, store_free_* below). Times are epoch ms passed in by
 * the caller, so the server's own clock is the only clock. */
#ifndef TASKRELAY_STORE_H
#define TASKRELAY_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "server/task.h"

enum store_error {
    STORE_OK = 0,
    STORE_NOT_FOUND = -1,
    STORE_CONFLICT = -2, /* the task's state does not allow the change */
    STORE_FAILED = -3,   /* the database failed; err contains the reason */
};

struct store;

/* A client's request to create a task. Strings are borrowed. */
struct task_spec {
    const char *kind;
    const char *payload; /* JSON text */
    const char *idempotency_key; /* NULL for none */
    int max_attempts;
    int retry_on_failure;
    int retry_on_loss;
    int64_t backoff_ms;
    int timeout_s;
};

enum report_type { REPORT_START, REPORT_PROGRESS, REPORT_COMPLETE };

/* A report from the worker running an attempt. Strings are borrowed. */
struct task_report {
    enum report_type type;
    const char *worker_id;
    int attempt; /* 0 = the task's current attempt (compatibility API) */
    int64_t seq; /* 0 = the next one (compatibility API) */
    int progress; /* -1 = unchanged */
    const char *message;
    enum task_status final_status; /* REPORT_COMPLETE only */
    const char *error;
    const char *result; /* JSON text */
    const char *log_tail;
    int lost; /* the worker killed the run after a restart */
};

enum report_outcome {
    REPORT_APPLIED = 0,
    REPORT_IGNORED,       /* duplicate, late, or the task already ended */
    REPORT_STALE_ATTEMPT, /* the attempt is older than the task's */
    REPORT_CANCELED,      /* the task was canceled: the worker must kill the run */
    REPORT_WRONG_WORKER,  /* the attempt belongs to another worker */
    REPORT_UNKNOWN_ATTEMPT, /* the attempt was never dispatched */
};

struct task_filter {
    int has_status;
    enum task_status status;
    const char *kind;  /* NULL for all */
    int64_t before_id; /* 0 for the newest */
    int limit;
};

struct task_event {
    int64_t seq;
    int64_t task_id;
    int attempt;
    char type[16];
    enum task_status status;
    int progress;
    char *message;
    char *worker_id;
    int64_t at;
};

/* A task that changed after some event seq: its newest seq. */
struct task_change {
    int64_t task_id;
    int64_t seq;
};

struct store_ops {
    void (*close)(struct store *store);

    /* Waits until every write that returned before this call is on disk.
     * STORE_FAILED when one of them could not be committed or synced. */
    int (*sync)(struct store *store);

    /* Creates a task, or with an idempotency key already used returns that
     * task and sets *existed. The task is on disk only after sync, which
     * the caller runs before it acknowledges the task to anyone. In
     * between, the dispatcher may already claim it, in the same commit. */
    int (*task_create)(struct store *store, const struct task_spec *spec, int64_t now,
                       struct task_record *out, int *existed, int64_t *seq, char *err,
                       size_t err_len);
    int (*task_get)(struct store *store, int64_t id, struct task_record *out);
    /* Lists tasks newest first; counts[] gets per-status totals for the
     * filter's kind (all statuses). */
    int (*task_list)(struct store *store, const struct task_filter *filter,
                     struct task_record **out, size_t *count,
                     int64_t counts[TASK_STATUS_COUNT]);
    int (*task_events)(struct store *store, int64_t id, struct task_event **out,
                       size_t *count);
    /* Tasks changed after after_seq (task_id 0 for all), oldest change
     * first, at most limit. */
    int (*changes_since)(struct store *store, int64_t after_seq, int64_t task_id, size_t limit,
                         struct task_change **out, size_t *count);
    int (*last_seq)(struct store *store, int64_t *seq);

    /* pending -> dispatched to worker_id, if the task is still pending at
     * that attempt. STORE_CONFLICT otherwise. On disk only after sync, so
     * the caller syncs before it pushes the task. */
    int (*task_claim)(struct store *store, int64_t id, int attempt, const char *worker_id,
                      int64_t now, int64_t *seq);
    /* dispatched -> pending after the worker rejected the push. */
    int (*task_unclaim)(struct store *store, int64_t id, int attempt, const char *worker_id,
                        int64_t now, int64_t *seq);
    /* Applies a worker's report under the attempt and seq rules of
     * docs/api.md; *after is the task afterwards (also when ignored).
     * Nothing is on disk before sync: the caller syncs before it
     * acknowledges a final status, which the worker then drops from its
     * outbox. A crash may lose the newest start or progress report; the
     * next report corrects it. */
    int (*task_report)(struct store *store, int64_t id, const struct task_report *report,
                       int64_t now, enum report_outcome *outcome, struct task_record *after,
                       int64_t *seq);
    int (*task_cancel)(struct store *store, int64_t id, int64_t now, struct task_record *after,
                       int64_t *seq);
    int (*task_retry)(struct store *store, int64_t id, int64_t now, struct task_record *after,
                      int64_t *seq);
    /* Ends the attempt as lost ("worker lost: REASON"), or starts a new
     * attempt when the task allows retry on loss. For a canceled task whose
     * run was never confirmed ended, only records that it ended. */
    int (*task_lost)(struct store *store, int64_t id, int attempt, const char *reason,
                     int64_t now, struct task_record *after, int64_t *seq);
    /* Appends live output at offset; a chunk at an offset already stored is
     * skipped (*appended = 0). Output past the per-attempt limit is dropped.
     * Like progress, a chunk may not be on disk yet when this returns. */
    int (*task_append_log)(struct store *store, int64_t id, int attempt, int64_t offset,
                           const char *text, size_t len, int64_t now, int *appended);
    int (*task_log)(struct store *store, int64_t id, struct strbuf *out);

    /* Pending tasks with an id above after_id whose retry delay has
     * passed, oldest first, at most limit. */
    int (*tasks_ready)(struct store *store, int64_t now, int64_t after_id, size_t limit,
                       struct task_record **out, size_t *count);
    /* The earliest not_before among pending tasks that wait, or 0. */
    int (*next_ready_at)(struct store *store, int64_t now, int64_t *at);
    /* Tasks whose run a worker may still hold (dispatched, running, or
     * canceled and not yet confirmed ended), of one worker or of all (NULL). */
    int (*tasks_assigned)(struct store *store, const char *worker_id,
                          struct task_record **out, size_t *count);

    int (*worker_register)(struct store *store, const struct worker_record *worker,
                           int64_t now);
    /* STORE_NOT_FOUND for a worker that never registered. */
    int (*worker_heartbeat)(struct store *store, const char *id, int slots, int64_t now);
    int (*worker_set_status)(struct store *store, const char *id, enum worker_status status);
    int (*worker_get)(struct store *store, const char *id, struct worker_record *out);
    int (*worker_list)(struct store *store, struct worker_record **out, size_t *count);
    /* Calls each(ctx, worker_id, running) for every worker with runs,
     * with the number of its tasks that may still have a process. The id
     * is valid during the call only. */
    int (*running_by_worker)(struct store *store,
                             void (*each)(void *ctx, const char *worker_id, int running),
                             void *ctx);
};

struct store {
    const struct store_ops *ops;
};

/* Opens (creating and migrating) the SQLite store at path. */
struct store *store_sqlite_open(const char *path, char *err, size_t err_len);

void store_free_tasks(struct task_record *tasks, size_t count);
void store_free_events(struct task_event *events, size_t count);
void store_free_workers(struct worker_record *workers, size_t count);

#endif
