/* Internals shared by the SQLite store's source files. */
#ifndef TASKRELAY_STORE_SQLITE_H
#define TASKRELAY_STORE_SQLITE_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>

#include "server/store.h"

#define SQ_OUTCOMES 256

struct sqlite_store {
    struct store base; /* first, so a struct store * converts back */
    sqlite3 *db;
    /* One connection serves every thread; the mutex serialises the
     * operations and is never held across an fsync (see store_durable.c). */
    pthread_mutex_t lock;

    /* Group commit (see store_durable.c): writes of many requests share
     * one open transaction, each inside its own savepoint. A committer
     * thread commits it and then fdatasyncs the WAL outside the lock.
     * Counts are commits since the store opened. */
    int wal_fd;
    atomic_int tx_open;        /* a shared transaction is open; written under lock */
    int64_t tx_opened_ms;      /* mono_ms() when it began */
    int tx_waiters;            /* writes in it that wait for the disk */
    int sync_requested;        /* a caller waits for commits already made */
    int syncing;               /* a thread is committing and syncing */
    uint64_t commit_count;     /* under lock */
    pthread_cond_t commit_wake; /* with lock; CLOCK_MONOTONIC */
    pthread_t committer_thread;
    int committer_running;
    int committer_stop;
    pthread_mutex_t sync_lock;
    pthread_cond_t sync_done;
    uint64_t synced_count; /* commits an fdatasync has covered */
    /* Whether each of the last SQ_OUTCOMES commits worked and, once
     * synced_count covers it, reached the disk; at number % SQ_OUTCOMES. */
    struct {
        uint64_t number;
        int ok;
    } outcomes[SQ_OUTCOMES];

    /* A second connection folds the WAL back into the database file in the
     * background, syncing the database before the WAL may be reused. */
    sqlite3 *checkpoint_db;
    pthread_t checkpoint_thread;
    pthread_cond_t checkpoint_wake;
    int checkpoint_stop;

    /* Read-only connections, each a struct sqlite_store of its own with
     * its lock and statements, so reads do not wait for the writer (WAL
     * lets them run side by side). NULL in a reader itself. */
    struct sqlite_store **readers;
    size_t reader_count;
    atomic_uint next_reader;

    /* Prepared statements by SQL text, so each is parsed once. */
    struct {
        char *sql;
        sqlite3_stmt *stmt;
    } statements[96];
    size_t statement_count;
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
    "started_at, finished_at, updated_at, run_active"

void sq_read_task(sqlite3_stmt *stmt, struct task_record *task);
/* Loads one task into out; STORE_NOT_FOUND when absent. Lock held. */
int sq_load_task(struct sqlite_store *s, int64_t id, struct task_record *out);

/* Returns the prepared statement for sql, from the cache when it was
 * prepared before; logs and returns NULL on failure. Lock held. Hand it
 * back with sq_done, which resets it, never with sqlite3_finalize. */
sqlite3_stmt *sq_prepare(struct sqlite_store *s, const char *sql);
void sq_done(sqlite3_stmt *stmt);

/* Maps the result of a single-row sqlite3_step: a row is STORE_OK, no row
 * STORE_NOT_FOUND, anything else STORE_FAILED. */
static inline int sq_step_result(int step_rc)
{
    if (step_rc == SQLITE_ROW)
        return STORE_OK;
    if (step_rc == SQLITE_DONE)
        return STORE_NOT_FOUND;
    return STORE_FAILED;
}
int sq_exec(struct sqlite_store *s, const char *sql);
int sq_begin(struct sqlite_store *s);
int sq_commit(struct sqlite_store *s);
void sq_rollback(struct sqlite_store *s);

/* Starts a write: takes the lock, joins the shared transaction (opening
 * it when none is open) and sets a savepoint. Returns STORE_FAILED, with
 * the lock released, if SQLite failed.
 * NOTE: a read may see a change whose fdatasync has not finished yet. */
int sq_write_begin(struct sqlite_store *s);
/* Ends a write: releases (keep != 0) or rolls back to its savepoint and
 * releases the lock. The committer commits the shared transaction within
 * a few milliseconds. With wait != 0 this then waits until that commit is
 * on disk; a rolled-back write waits too, because what it read may not be
 * on disk yet. Returns STORE_FAILED when the savepoint, the commit or the
 * fdatasync that covers it failed. */
int sq_write_end(struct sqlite_store *s, int keep, int wait);

/* Takes a reader connection and its lock; returns it. Pass it back to
 * sq_reader_release. While a shared transaction is open it returns the
 * write connection instead, so a read finds every write that returned
 * before it started, committed or not. */
struct sqlite_store *sq_reader_acquire(struct sqlite_store *s);
void sq_reader_release(struct sqlite_store *reader);
int sq_readers_open(struct sqlite_store *s, const char *path, char *err, size_t err_len);
void sq_readers_close(struct sqlite_store *s);

/* Opens the WAL file for syncing and starts the committer and checkpoint
 * threads. */
int sq_durable_start(struct sqlite_store *s, const char *path, char *err, size_t err_len);
/* Commits what is open, stops both threads and folds the WAL back,
 * synced. */
void sq_durable_stop(struct sqlite_store *s);

/* Binds text or NULL. */
void sq_bind_text(sqlite3_stmt *stmt, int index, const char *text);
char *sq_column_dup(sqlite3_stmt *stmt, int index);

/* Appends a task event and returns its seq, or -1. Lock held. */
int64_t sq_insert_event(struct sqlite_store *s, const struct task_record *task,
                        const char *type, int64_t now);

/* Writes the mutable fields of task back to its row. Lock held. */
int sq_save_task(struct sqlite_store *s, const struct task_record *task);

int sq_running_by_worker(struct store *store,
                         void (*each)(void *ctx, const char *worker_id, int running), void *ctx);

extern const struct store_ops sqlite_store_ops;

/* Operations split across files, gathered in sqlite_store_ops. */
int sq_sync(struct store *store);
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
int sq_tasks_ready(struct store *store, int64_t now, int64_t after_id, size_t limit,
                   struct task_record **out,
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
