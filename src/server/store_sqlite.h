/* Internals shared by the SQLite store's source files. */
#ifndef TASKRELAY_STORE_SQLITE_H
#define TASKRELAY_STORE_SQLITE_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>

#include "server/store.h"

struct sqlite_store {
    struct store base; /* first, so a struct store * converts back */
    sqlite3 *db;
    /* One connection serves every thread. The mutex serialises the
     * operations; each write runs in its own savepoint inside a shared
     * transaction (a batch), and one COMMIT, one fsync, makes the whole
     * batch durable: group commit. */
    pthread_mutex_t lock;
    pthread_cond_t batch_changed; /* a writer joined, or a batch committed */
    atomic_int writers_arriving;  /* writers between sq_write_begin and their savepoint */
    int batch_open;               /* a transaction with uncommitted savepoints is open */
    int batch_writes;             /* savepoints released into the open batch */
    int leader_active;            /* a writer is collecting the batch to commit it */
    uint64_t batch_id;            /* the open batch, or the last one */
    uint64_t committed_id;        /* the newest batch whose COMMIT finished */
    uint64_t failed_ids[8];       /* recent batches whose COMMIT failed */
};

static inline struct sqlite_store *sqlite_store_of(struct store *store)
{
    return (struct sqlite_store *)store;
}

/* The task columns in the order sq_read_task expects them. */
#define SQ_TASK_COLUMNS                                                                    \
    "id, kind, payload, status, progress, message, worker_id, attempt, max_attempts, "     \
    "retry_on_failure, retry_on_loss, backoff_ms, timeout_s, idempotency_key, error, "     \
    "result, log_tail, report_seq, log_len, not_before, created_at, dispatched_at, "       \
    "started_at, finished_at, updated_at"

void sq_read_task(sqlite3_stmt *stmt, struct task_record *task);
/* Loads one task into out; STORE_NOT_FOUND when absent. Lock held. */
int sq_load_task(struct sqlite_store *s, int64_t id, struct task_record *out);

/* Prepares sql or logs why not; NULL on failure. */
sqlite3_stmt *sq_prepare(struct sqlite_store *s, const char *sql);
int sq_exec(struct sqlite_store *s, const char *sql);
int sq_begin(struct sqlite_store *s);
int sq_commit(struct sqlite_store *s);
void sq_rollback(struct sqlite_store *s);

/* Starts a write: takes the lock and opens a savepoint in the current
 * batch. Returns STORE_FAILED, with the lock released, if SQLite failed.
 * NOTE: reads between two commits see savepoints not yet on disk. */
int sq_write_begin(struct sqlite_store *s);
/* Ends a write: keeps (keep != 0) or undoes its changes, waits until the
 * batch holding them is committed and fsync'd, and releases the lock.
 * Returns STORE_FAILED when that commit failed. */
int sq_write_end(struct sqlite_store *s, int keep);

/* Binds text or NULL. */
void sq_bind_text(sqlite3_stmt *stmt, int index, const char *text);
char *sq_column_dup(sqlite3_stmt *stmt, int index);

/* Appends a task event and returns its seq, or -1. Lock held. */
int64_t sq_insert_event(struct sqlite_store *s, const struct task_record *task,
                        const char *type, int64_t now);

/* Writes the mutable fields of task back to its row. Lock held. */
int sq_save_task(struct sqlite_store *s, const struct task_record *task);

extern const struct store_ops sqlite_store_ops;

/* Operations split across files, gathered in sqlite_store_ops. */
int sq_task_create(struct store *store, const struct task_spec *spec, int64_t now,
                   struct task_record *out, int *existed, int64_t *seq, char *err,
                   size_t err_len);
int sq_task_get(struct store *store, int64_t id, struct task_record *out);
int sq_task_list(struct store *store, const struct task_filter *filter,
                 struct task_record **out, size_t *count, int64_t counts[TASK_STATUS_COUNT]);
int sq_task_events(struct store *store, int64_t id, struct task_event **out, size_t *count);
int sq_changes_since(struct store *store, int64_t after_seq, int64_t task_id, size_t limit,
                     struct task_change **out, size_t *count);
int sq_last_seq(struct store *store, int64_t *seq);
int sq_task_claim(struct store *store, int64_t id, int attempt, const char *worker_id,
                  int64_t now, int64_t *seq);
int sq_task_unclaim(struct store *store, int64_t id, int attempt, const char *worker_id,
                    int64_t now, int64_t *seq);
int sq_task_report(struct store *store, int64_t id, const struct task_report *report,
                   int64_t now, enum report_outcome *outcome, struct task_record *after,
                   int64_t *seq);
int sq_task_cancel(struct store *store, int64_t id, int64_t now, struct task_record *after,
                   int64_t *seq);
int sq_task_retry(struct store *store, int64_t id, int64_t now, struct task_record *after,
                  int64_t *seq);
int sq_task_lost(struct store *store, int64_t id, int attempt, const char *reason, int64_t now,
                 struct task_record *after, int64_t *seq);
int sq_task_append_log(struct store *store, int64_t id, int attempt, int64_t offset,
                       const char *text, size_t len, int64_t now, int *appended);
int sq_task_log(struct store *store, int64_t id, struct strbuf *out);
int sq_tasks_ready(struct store *store, int64_t now, size_t limit, struct task_record **out,
                   size_t *count);
int sq_next_ready_at(struct store *store, int64_t now, int64_t *at);
int sq_tasks_assigned(struct store *store, const char *worker_id, struct task_record **out,
                      size_t *count);
int sq_worker_register(struct store *store, const struct worker_record *worker, int64_t now);
int sq_worker_heartbeat(struct store *store, const char *id, int slots, int64_t now);
int sq_worker_set_status(struct store *store, const char *id, enum worker_status status);
int sq_worker_get(struct store *store, const char *id, struct worker_record *out);
int sq_worker_list(struct store *store, struct worker_record **out, size_t *count);

#endif
