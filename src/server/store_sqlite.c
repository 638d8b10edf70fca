/* SQLite backend of the store: opening, schema migrations and the helpers
 * that the task and worker operations share. */
#include "server/store_sqlite.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

/* Each entry moves the schema from version i to i + 1; PRAGMA user_version
 * records how many have run. Append new migrations; never edit old ones. */
static const char *const migrations[] = {
    "CREATE TABLE tasks ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  kind TEXT NOT NULL,"
    "  payload TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  progress INTEGER NOT NULL DEFAULT 0,"
    "  message TEXT,"
    "  worker_id TEXT,"
    "  attempt INTEGER NOT NULL DEFAULT 1,"
    "  max_attempts INTEGER NOT NULL DEFAULT 1,"
    "  retry_on_failure INTEGER NOT NULL DEFAULT 0,"
    "  retry_on_loss INTEGER NOT NULL DEFAULT 0,"
    "  backoff_ms INTEGER NOT NULL DEFAULT 1000,"
    "  timeout_s INTEGER NOT NULL DEFAULT 0,"
    "  idempotency_key TEXT UNIQUE,"
    "  error TEXT,"
    "  result TEXT,"
    "  log_tail TEXT,"
    "  report_seq INTEGER NOT NULL DEFAULT 0,"
    "  log_len INTEGER NOT NULL DEFAULT 0,"
    "  not_before INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  dispatched_at INTEGER,"
    "  started_at INTEGER,"
    "  finished_at INTEGER,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE INDEX tasks_by_status ON tasks(status, id);"
    "CREATE INDEX tasks_by_kind ON tasks(kind, id);"
    "CREATE INDEX tasks_by_worker ON tasks(worker_id, status);"
    "CREATE TABLE task_events ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  task_id INTEGER NOT NULL,"
    "  attempt INTEGER NOT NULL,"
    "  type TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  progress INTEGER NOT NULL,"
    "  message TEXT,"
    "  worker_id TEXT,"
    "  at INTEGER NOT NULL);"
    "CREATE INDEX task_events_by_task ON task_events(task_id, seq);"
    "CREATE TABLE task_logs ("
    "  task_id INTEGER NOT NULL,"
    "  attempt INTEGER NOT NULL,"
    "  offset INTEGER NOT NULL,"
    "  text BLOB NOT NULL,"
    "  PRIMARY KEY (task_id, attempt, offset));"
    "CREATE TABLE workers ("
    "  id TEXT PRIMARY KEY,"
    "  url TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  slots INTEGER NOT NULL,"
    "  kinds TEXT NOT NULL,"
    "  version TEXT,"
    "  address TEXT,"
    "  last_heartbeat_at INTEGER,"
    "  completed INTEGER NOT NULL DEFAULT 0,"
    "  failed INTEGER NOT NULL DEFAULT 0,"
    "  registered_at INTEGER NOT NULL);",

    /* run_active: a worker may still hold a process of the current attempt.
     * It stays set after a cancel until the worker confirms the run ended,
     * so a retry cannot start beside a run that is still being killed. */
    "ALTER TABLE tasks ADD COLUMN run_active INTEGER NOT NULL DEFAULT 0;"
    "UPDATE tasks SET run_active = 1 WHERE status IN ('dispatched', 'running');"
    "CREATE INDEX tasks_with_run ON tasks(worker_id) WHERE run_active = 1;",

    /* The dispatcher reads the earliest retry time after every round, and
     * without this index that query read every pending row. */
    "CREATE INDEX tasks_pending_by_time ON tasks(not_before) WHERE status = 'pending';",

    /* A worker's tasks are found through tasks_with_run; this index only
     * added pages to every commit that changed a task's status. */
    "DROP INDEX tasks_by_worker;",
};

sqlite3_stmt *sq_prepare(struct sqlite_store *s, const char *sql)
{
    const size_t capacity = sizeof(s->statements) / sizeof(s->statements[0]);
    sqlite3_stmt *stmt = NULL;

    for (size_t i = 0; i < s->statement_count; i++) {
        if (strcmp(s->statements[i].sql, sql) == 0)
            return s->statements[i].stmt;
    }
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK) {
        log_error("store", "cannot prepare statement: %s", sqlite3_errmsg(s->db));
        return NULL;
    }
    /* The store has about 40 distinct statements, well under the capacity;
     * should that change, the oldest entry makes room. */
    if (s->statement_count == capacity) {
        sqlite3_finalize(s->statements[0].stmt);
        free(s->statements[0].sql);
        memmove(&s->statements[0], &s->statements[1],
                (capacity - 1) * sizeof(s->statements[0]));
        s->statement_count--;
    }
    s->statements[s->statement_count].sql = xstrdup(sql);
    s->statements[s->statement_count].stmt = stmt;
    s->statement_count++;
    return stmt;
}

void sq_done(sqlite3_stmt *stmt)
{
    if (!stmt)
        return;
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
}

static void finalize_statements(struct sqlite_store *s)
{
    for (size_t i = 0; i < s->statement_count; i++) {
        sqlite3_finalize(s->statements[i].stmt);
        free(s->statements[i].sql);
    }
    s->statement_count = 0;
}

int sq_exec(struct sqlite_store *s, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        log_error("store", "statement failed: %s", msg ? msg : "unknown error");
        sqlite3_free(msg);
        return STORE_FAILED;
    }
    return STORE_OK;
}

int sq_begin(struct sqlite_store *s)
{
    return sq_exec(s, "BEGIN IMMEDIATE");
}

int sq_commit(struct sqlite_store *s)
{
    return sq_exec(s, "COMMIT");
}

void sq_rollback(struct sqlite_store *s)
{
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

void sq_bind_text(sqlite3_stmt *stmt, int index, const char *text)
{
    if (text)
        sqlite3_bind_text(stmt, index, text, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(stmt, index);
}

char *sq_column_dup(sqlite3_stmt *stmt, int index)
{
    const unsigned char *text = sqlite3_column_text(stmt, index);

    return text ? xstrndup((const char *)text, (size_t)sqlite3_column_bytes(stmt, index)) : NULL;
}

void sq_read_task(sqlite3_stmt *stmt, struct task_record *t)
{
    memset(t, 0, sizeof(*t));
    t->id = sqlite3_column_int64(stmt, 0);
    t->kind = sq_column_dup(stmt, 1);
    t->payload = sq_column_dup(stmt, 2);
    task_status_parse((const char *)sqlite3_column_text(stmt, 3), &t->status);
    t->progress = sqlite3_column_int(stmt, 4);
    t->message = sq_column_dup(stmt, 5);
    t->worker_id = sq_column_dup(stmt, 6);
    t->attempt = sqlite3_column_int(stmt, 7);
    t->max_attempts = sqlite3_column_int(stmt, 8);
    t->retry_on_failure = sqlite3_column_int(stmt, 9);
    t->retry_on_loss = sqlite3_column_int(stmt, 10);
    t->backoff_ms = sqlite3_column_int64(stmt, 11);
    t->timeout_s = sqlite3_column_int(stmt, 12);
    t->idempotency_key = sq_column_dup(stmt, 13);
    t->error = sq_column_dup(stmt, 14);
    t->result = sq_column_dup(stmt, 15);
    t->log_tail = sq_column_dup(stmt, 16);
    t->report_seq = sqlite3_column_int64(stmt, 17);
    t->log_len = sqlite3_column_int64(stmt, 18);
    t->not_before = sqlite3_column_int64(stmt, 19);
    t->created_at = sqlite3_column_int64(stmt, 20);
    t->dispatched_at = sqlite3_column_int64(stmt, 21);
    t->started_at = sqlite3_column_int64(stmt, 22);
    t->finished_at = sqlite3_column_int64(stmt, 23);
    t->updated_at = sqlite3_column_int64(stmt, 24);
    t->run_active = sqlite3_column_int(stmt, 25);
}

int sq_load_task(struct sqlite_store *s, int64_t id, struct task_record *out)
{
    sqlite3_stmt *stmt = sq_prepare(s, "SELECT " SQ_TASK_COLUMNS " FROM tasks WHERE id = ?");
    int rc;

    if (!stmt)
        return STORE_FAILED;
    sqlite3_bind_int64(stmt, 1, id);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        sq_read_task(stmt, out);
    rc = sq_step_result(rc);
    sq_done(stmt);
    return rc;
}

static void bind_time(sqlite3_stmt *stmt, int index, int64_t at)
{
    if (at > 0)
        sqlite3_bind_int64(stmt, index, at);
    else
        sqlite3_bind_null(stmt, index);
}

int sq_save_task(struct sqlite_store *s, const struct task_record *t)
{
    sqlite3_stmt *stmt = sq_prepare(
        s, "UPDATE tasks SET status = ?, progress = ?, message = ?, worker_id = ?, "
           "attempt = ?, error = ?, result = ?, log_tail = ?, report_seq = ?, log_len = ?, "
           "not_before = ?, dispatched_at = ?, started_at = ?, finished_at = ?, "
           "updated_at = ?, max_attempts = ?, run_active = ? WHERE id = ?");
    int rc;

    if (!stmt)
        return STORE_FAILED;
    sqlite3_bind_text(stmt, 1, task_status_name(t->status), -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 2, t->progress);
    sq_bind_text(stmt, 3, t->message);
    sq_bind_text(stmt, 4, t->worker_id);
    sqlite3_bind_int(stmt, 5, t->attempt);
    sq_bind_text(stmt, 6, t->error);
    sq_bind_text(stmt, 7, t->result);
    sq_bind_text(stmt, 8, t->log_tail);
    sqlite3_bind_int64(stmt, 9, t->report_seq);
    sqlite3_bind_int64(stmt, 10, t->log_len);
    sqlite3_bind_int64(stmt, 11, t->not_before);
    bind_time(stmt, 12, t->dispatched_at);
    bind_time(stmt, 13, t->started_at);
    bind_time(stmt, 14, t->finished_at);
    sqlite3_bind_int64(stmt, 15, t->updated_at);
    sqlite3_bind_int(stmt, 16, t->max_attempts);
    sqlite3_bind_int(stmt, 17, t->run_active);
    sqlite3_bind_int64(stmt, 18, t->id);
    rc = sqlite3_step(stmt) == SQLITE_DONE ? STORE_OK : STORE_FAILED;
    if (rc != STORE_OK)
        log_error("store", "cannot update task=%lld: %s", (long long)t->id,
                  sqlite3_errmsg(s->db));
    sq_done(stmt);
    return rc;
}

int64_t sq_insert_event(struct sqlite_store *s, const struct task_record *t, const char *type,
                        int64_t now)
{
    sqlite3_stmt *stmt = sq_prepare(
        s, "INSERT INTO task_events (task_id, attempt, type, status, progress, message, "
           "worker_id, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    int64_t seq = -1;

    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, t->id);
    sqlite3_bind_int(stmt, 2, t->attempt);
    sqlite3_bind_text(stmt, 3, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, task_status_name(t->status), -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 5, t->progress);
    sq_bind_text(stmt, 6, t->message);
    sq_bind_text(stmt, 7, t->worker_id);
    sqlite3_bind_int64(stmt, 8, now);
    if (sqlite3_step(stmt) == SQLITE_DONE)
        seq = sqlite3_last_insert_rowid(s->db);
    sq_done(stmt);
    return seq;
}

static int migrate(struct sqlite_store *s, char *err, size_t err_len)
{
    int version = 0;
    const int latest = (int)(sizeof(migrations) / sizeof(migrations[0]));
    sqlite3_stmt *stmt = sq_prepare(s, "PRAGMA user_version");

    if (stmt && sqlite3_step(stmt) == SQLITE_ROW)
        version = sqlite3_column_int(stmt, 0);
    sq_done(stmt);

    if (version > latest) {
        snprintf(err, err_len,
                 "database schema version %d is newer than this taskrelay (%d): "
                 "upgrade taskrelay",
                 version, latest);
        return -1;
    }
    for (; version < latest; version++) {
        char pragma[64];

        snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", version + 1);
        if (sq_begin(s) < 0 || sq_exec(s, migrations[version]) < 0 || sq_exec(s, pragma) < 0 ||
            sq_commit(s) < 0) {
            sq_rollback(s);
            snprintf(err, err_len, "schema migration %d failed: %s", version + 1,
                     sqlite3_errmsg(s->db));
            return -1;
        }
        log_info("store", "migrated schema to version %d", version + 1);
    }
    return 0;
}

static void init_sync_state(struct sqlite_store *s)
{
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->sync_lock, NULL);
    pthread_cond_init(&s->sync_done, NULL);
    pthread_cond_init(&s->checkpoint_wake, NULL);
    cond_init_monotonic(&s->commit_wake);
    atomic_init(&s->tx_open, 0);
    s->wal_fd = -1;
}

static void destroy_sync_state(struct sqlite_store *s)
{
    pthread_cond_destroy(&s->checkpoint_wake);
    pthread_cond_destroy(&s->commit_wake);
    pthread_cond_destroy(&s->sync_done);
    pthread_mutex_destroy(&s->sync_lock);
    pthread_mutex_destroy(&s->lock);
}

static void sq_close(struct store *store)
{
    struct sqlite_store *s = sqlite_store_of(store);

    if (!s)
        return;
    sq_readers_close(s);
    finalize_statements(s);
    sq_durable_stop(s);
    sqlite3_close(s->db);
    destroy_sync_state(s);
    free(s);
}

struct store *store_sqlite_open(const char *path, char *err, size_t err_len)
{
    struct sqlite_store *s = xcalloc(1, sizeof(*s));

    s->base.ops = &sqlite_store_ops;
    init_sync_state(s);
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                          SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
        snprintf(err, err_len, "cannot open database '%s': %s", path,
                 s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 5000);

    /* Commits do not sync here: store_durable.c syncs the WAL outside the
     * lock, for several commits at once, and checkpoints on its own. */
    if (sq_exec(s, "PRAGMA page_size = 1024") < 0 ||
        sq_exec(s, "PRAGMA journal_mode = WAL") < 0 ||
        sq_exec(s, "PRAGMA synchronous = OFF") < 0 ||
        sq_exec(s, "PRAGMA wal_autocheckpoint = 0") < 0 ||
        sq_exec(s, "PRAGMA foreign_keys = ON") < 0) {
        snprintf(err, err_len, "cannot configure database '%s': %s", path,
                 sqlite3_errmsg(s->db));
        goto fail;
    }
    if (migrate(s, err, err_len) < 0 || sq_durable_start(s, path, err, err_len) < 0 ||
        sq_readers_open(s, path, err, err_len) < 0)
        goto fail;
    if (fdatasync(s->wal_fd) < 0) {
        snprintf(err, err_len, "cannot sync the WAL of '%s': %s", path, strerror(errno));
        goto fail;
    }
    return &s->base;

fail:
    sq_readers_close(s);
    finalize_statements(s);
    if (s->db) {
        sq_durable_stop(s);
        sqlite3_close(s->db);
    }
    destroy_sync_state(s);
    free(s);
    return NULL;
}

void store_free_tasks(struct task_record *tasks, size_t count)
{
    for (size_t i = 0; i < count; i++)
        task_record_clear(&tasks[i]);
    free(tasks);
}

void store_free_events(struct task_event *events, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(events[i].message);
        free(events[i].worker_id);
    }
    free(events);
}

void store_free_workers(struct worker_record *workers, size_t count)
{
    for (size_t i = 0; i < count; i++)
        worker_record_clear(&workers[i]);
    free(workers);
}

const struct store_ops sqlite_store_ops = {
    .close = sq_close,
    .sync = sq_sync,
    .task_create = sq_task_create,
    .task_get = sq_task_get,
    .task_list = sq_task_list,
    .task_events = sq_task_events,
    .changes_since = sq_changes_since,
    .last_seq = sq_last_seq,
    .task_claim = sq_task_claim,
    .task_unclaim = sq_task_unclaim,
    .task_report = sq_task_report,
    .task_cancel = sq_task_cancel,
    .task_retry = sq_task_retry,
    .task_lost = sq_task_lost,
    .task_append_log = sq_task_append_log,
    .task_log = sq_task_log,
    .tasks_ready = sq_tasks_ready,
    .next_ready_at = sq_next_ready_at,
    .tasks_assigned = sq_tasks_assigned,
    .worker_register = sq_worker_register,
    .worker_heartbeat = sq_worker_heartbeat,
    .worker_set_status = sq_worker_set_status,
    .worker_get = sq_worker_get,
    .worker_list = sq_worker_list,
    .running_by_worker = sq_running_by_worker,
};
