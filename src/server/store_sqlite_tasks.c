/* SQLite backend: creating and reading tasks. State changes are in
 * store_sqlite_changes.c. */
#include "server/store_sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

static int find_by_idempotency_key(struct sqlite_store *s, const char *key,
                                   struct task_record *out)
{
    sqlite3_stmt *stmt =
        sq_prepare(s, "SELECT " SQ_TASK_COLUMNS " FROM tasks WHERE idempotency_key = ?");
    int rc;

    if (!stmt)
        return STORE_FAILED;
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        sq_read_task(stmt, out);
    sq_done(stmt);
    return sq_step_result(rc);
}

static int insert_task(struct sqlite_store *s, const struct task_spec *spec, int64_t now,
                       int64_t *id)
{
    sqlite3_stmt *stmt = sq_prepare(
        s, "INSERT INTO tasks (kind, payload, status, max_attempts, retry_on_failure, "
           "retry_on_loss, backoff_ms, timeout_s, idempotency_key, created_at, updated_at) "
           "VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?)");
    int rc;

    if (!stmt)
        return STORE_FAILED;
    sqlite3_bind_text(stmt, 1, spec->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, spec->payload, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 3, spec->max_attempts);
    sqlite3_bind_int(stmt, 4, spec->retry_on_failure);
    sqlite3_bind_int(stmt, 5, spec->retry_on_loss);
    sqlite3_bind_int64(stmt, 6, spec->backoff_ms);
    sqlite3_bind_int(stmt, 7, spec->timeout_s);
    sq_bind_text(stmt, 8, spec->idempotency_key);
    sqlite3_bind_int64(stmt, 9, now);
    sqlite3_bind_int64(stmt, 10, now);
    rc = sqlite3_step(stmt) == SQLITE_DONE ? STORE_OK : STORE_FAILED;
    sq_done(stmt);
    *id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

int sq_task_create(struct store *store, const struct task_spec *spec, int64_t now,
                   struct task_record *out, int *existed, int64_t *seq, char *err,
                   size_t err_len)
{
    struct sqlite_store *s = sqlite_store_of(store);
    int64_t id = 0;
    int rc;

    *existed = 0;
    *seq = 0;
    memset(out, 0, sizeof(*out));
    if (sq_write_begin(s) != STORE_OK) {
        snprintf(err, err_len, "cannot start a transaction: %s", sqlite3_errmsg(s->db));
        return STORE_FAILED;
    }
    if (spec->idempotency_key) {
        rc = find_by_idempotency_key(s, spec->idempotency_key, out);
        if (rc == STORE_OK) {
            *existed = 1;
            goto out;
        }
        if (rc != STORE_NOT_FOUND)
            goto out;
    }
    rc = insert_task(s, spec, now, &id);
    if (rc == STORE_OK)
        rc = sq_load_task(s, id, out);
    if (rc == STORE_OK) {
        *seq = sq_insert_event(s, out, "created", now);
        if (*seq < 0)
            rc = STORE_FAILED;
    }
out:
    if (rc != STORE_OK)
        snprintf(err, err_len, "cannot store the task: %s", sqlite3_errmsg(s->db));
    if (sq_write_end(s, rc == STORE_OK && !*existed, 0) != STORE_OK && rc == STORE_OK) {
        snprintf(err, err_len, "cannot store the task: its savepoint failed");
        rc = STORE_FAILED;
    }
    if (rc != STORE_OK)
        task_record_clear(out);
    return rc;
}

int sq_task_get(struct store *store, int64_t id, struct task_record *out)
{
    struct sqlite_store *s = sqlite_store_of(store);
    int rc;

    s = sq_reader_acquire(s);
    rc = sq_load_task(s, id, out);
    sq_reader_release(s);
    return rc;
}

/* Runs stmt and collects every row as a task. Lock held. */
static int collect_tasks(sqlite3_stmt *stmt, struct task_record **out, size_t *count)
{
    size_t cap = 16;
    int rc;

    *count = 0;
    *out = xcalloc(cap, sizeof(**out));
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (*count == cap) {
            cap *= 2;
            *out = xrealloc(*out, cap * sizeof(**out));
        }
        sq_read_task(stmt, &(*out)[(*count)++]);
    }
    if (rc != SQLITE_DONE) {
        store_free_tasks(*out, *count);
        *out = NULL;
        *count = 0;
        return STORE_FAILED;
    }
    return STORE_OK;
}

static int count_statuses(struct sqlite_store *s, const char *kind,
                          int64_t counts[TASK_STATUS_COUNT])
{
    sqlite3_stmt *stmt = sq_prepare(
        s, kind ? "SELECT status, COUNT(*) FROM tasks WHERE kind = ? GROUP BY status"
                : "SELECT status, COUNT(*) FROM tasks GROUP BY status");

    memset(counts, 0, sizeof(int64_t) * TASK_STATUS_COUNT);
    if (!stmt)
        return STORE_FAILED;
    if (kind)
        sqlite3_bind_text(stmt, 1, kind, -1, SQLITE_STATIC);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        enum task_status status;

        if (task_status_parse((const char *)sqlite3_column_text(stmt, 0), &status) == 0)
            counts[status] = sqlite3_column_int64(stmt, 1);
    }
    sq_done(stmt);
    return STORE_OK;
}

int sq_task_list(struct store *store, const struct task_filter *f, struct task_record **out,
                 size_t *count, int64_t counts[TASK_STATUS_COUNT])
{
    struct sqlite_store *s = sqlite_store_of(store);
    char sql[512];
    sqlite3_stmt *stmt;
    int rc = STORE_FAILED;
    int index = 1;

    snprintf(sql, sizeof(sql),
             "SELECT " SQ_TASK_COLUMNS " FROM tasks WHERE id < ?%s%s ORDER BY id DESC LIMIT ?",
             f->has_status ? " AND status = ?" : "", f->kind ? " AND kind = ?" : "");
    s = sq_reader_acquire(s);
    stmt = sq_prepare(s, sql);
    if (!stmt)
        goto out;
    sqlite3_bind_int64(stmt, index++, f->before_id > 0 ? f->before_id : INT64_MAX);
    if (f->has_status)
        sqlite3_bind_text(stmt, index++, task_status_name(f->status), -1, SQLITE_STATIC);
    if (f->kind)
        sqlite3_bind_text(stmt, index++, f->kind, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, index, f->limit);
    rc = collect_tasks(stmt, out, count);
    sq_done(stmt);
    if (rc == STORE_OK)
        rc = count_statuses(s, f->kind, counts);
out:
    sq_reader_release(s);
    return rc;
}

int sq_task_events(struct store *store, int64_t id, struct task_event **out, size_t *count)
{
    struct sqlite_store *s = sqlite_store_of(store);
    sqlite3_stmt *stmt;
    size_t cap = 16;
    int rc = STORE_FAILED;

    *out = NULL;
    *count = 0;
    s = sq_reader_acquire(s);
    stmt = sq_prepare(s, "SELECT seq, task_id, attempt, type, status, progress, message, "
                         "worker_id, at FROM task_events WHERE task_id = ? ORDER BY seq");
    if (!stmt)
        goto out;
    sqlite3_bind_int64(stmt, 1, id);
    *out = xcalloc(cap, sizeof(**out));
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct task_event *e;

        if (*count == cap) {
            cap *= 2;
            *out = xrealloc(*out, cap * sizeof(**out));
        }
        e = &(*out)[(*count)++];
        memset(e, 0, sizeof(*e));
        e->seq = sqlite3_column_int64(stmt, 0);
        e->task_id = sqlite3_column_int64(stmt, 1);
        e->attempt = sqlite3_column_int(stmt, 2);
        snprintf(e->type, sizeof(e->type), "%s", sqlite3_column_text(stmt, 3));
        task_status_parse((const char *)sqlite3_column_text(stmt, 4), &e->status);
        e->progress = sqlite3_column_int(stmt, 5);
        e->message = sq_column_dup(stmt, 6);
        e->worker_id = sq_column_dup(stmt, 7);
        e->at = sqlite3_column_int64(stmt, 8);
    }
    rc = rc == SQLITE_DONE ? STORE_OK : STORE_FAILED;
    sq_done(stmt);
out:
    sq_reader_release(s);
    return rc;
}

int sq_changes_since(struct store *store, int64_t after_seq, int64_t task_id, size_t limit,
                     struct task_change **out, size_t *count)
{
    struct sqlite_store *s = sqlite_store_of(store);
    sqlite3_stmt *stmt;
    int rc = STORE_FAILED;

    *count = 0;
    *out = xcalloc(limit ? limit : 1, sizeof(**out));
    s = sq_reader_acquire(s);
    stmt = sq_prepare(s, task_id ? "SELECT task_id, MAX(seq) AS last FROM task_events "
                                   "WHERE seq > ? AND task_id = ? GROUP BY task_id "
                                   "ORDER BY last LIMIT ?"
                                 : "SELECT task_id, MAX(seq) AS last FROM task_events "
                                   "WHERE seq > ? AND ? = 0 GROUP BY task_id "
                                   "ORDER BY last LIMIT ?");
    if (!stmt)
        goto out;
    sqlite3_bind_int64(stmt, 1, after_seq);
    sqlite3_bind_int64(stmt, 2, task_id);
    sqlite3_bind_int64(stmt, 3, (sqlite3_int64)limit);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && *count < limit) {
        (*out)[*count].task_id = sqlite3_column_int64(stmt, 0);
        (*out)[*count].seq = sqlite3_column_int64(stmt, 1);
        (*count)++;
    }
    rc = (rc == SQLITE_DONE || rc == SQLITE_ROW) ? STORE_OK : STORE_FAILED;
    sq_done(stmt);
out:
    sq_reader_release(s);
    return rc;
}

int sq_last_seq(struct store *store, int64_t *seq)
{
    struct sqlite_store *s = sqlite_store_of(store);
    sqlite3_stmt *stmt;
    int rc = STORE_FAILED;

    *seq = 0;
    s = sq_reader_acquire(s);
    stmt = sq_prepare(s, "SELECT COALESCE(MAX(seq), 0) FROM task_events");
    if (stmt && sqlite3_step(stmt) == SQLITE_ROW) {
        *seq = sqlite3_column_int64(stmt, 0);
        rc = STORE_OK;
    }
    sq_done(stmt);
    sq_reader_release(s);
    return rc;
}

int sq_task_log(struct store *store, int64_t id, struct strbuf *out)
{
    struct sqlite_store *s = sqlite_store_of(store);
    sqlite3_stmt *stmt;
    int rc = STORE_FAILED;

    s = sq_reader_acquire(s);
    stmt = sq_prepare(s, "SELECT l.text FROM task_logs l JOIN tasks t ON t.id = l.task_id "
                         "AND t.attempt = l.attempt WHERE l.task_id = ? ORDER BY l.offset");
    if (!stmt)
        goto out;
    sqlite3_bind_int64(stmt, 1, id);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        strbuf_append(out, sqlite3_column_blob(stmt, 0), (size_t)sqlite3_column_bytes(stmt, 0));
    rc = rc == SQLITE_DONE ? STORE_OK : STORE_FAILED;
    sq_done(stmt);
out:
    sq_reader_release(s);
    return rc;
}

int sq_tasks_ready(struct store *store, int64_t now, int64_t after_id, size_t limit, struct task_record **out,
                   size_t *count)
{
    struct sqlite_store *s = sqlite_store_of(store);
    sqlite3_stmt *stmt;
    int rc = STORE_FAILED;

    *out = NULL;
    *count = 0;
    s = sq_reader_acquire(s);
    stmt = sq_prepare(s, "SELECT " SQ_TASK_COLUMNS " FROM tasks WHERE status = 'pending' "
                         "AND not_before <= ? AND id > ? ORDER BY id LIMIT ?");
    if (stmt) {
        sqlite3_bind_int64(stmt, 1, now);
        sqlite3_bind_int64(stmt, 2, after_id);
        sqlite3_bind_int64(stmt, 3, (sqlite3_int64)limit);
        rc = collect_tasks(stmt, out, count);
        sq_done(stmt);
    }
    sq_reader_release(s);
    return rc;
}

int sq_next_ready_at(struct store *store, int64_t now, int64_t *at)
{
    struct sqlite_store *s = sqlite_store_of(store);
    sqlite3_stmt *stmt;
    int rc = STORE_FAILED;

    *at = 0;
    s = sq_reader_acquire(s);
    stmt = sq_prepare(s, "SELECT COALESCE(MIN(not_before), 0) FROM tasks "
                         "INDEXED BY tasks_pending_by_time "
                         "WHERE status = 'pending' AND not_before > ?");
    if (stmt) {
        sqlite3_bind_int64(stmt, 1, now);
        if (sqlite3_step(stmt) == SQLITE_ROW) {
            *at = sqlite3_column_int64(stmt, 0);
            rc = STORE_OK;
        }
        sq_done(stmt);
    }
    sq_reader_release(s);
    return rc;
}

int sq_tasks_assigned(struct store *store, const char *worker_id, struct task_record **out,
                      size_t *count)
{
    struct sqlite_store *s = sqlite_store_of(store);
    sqlite3_stmt *stmt;
    int rc = STORE_FAILED;

    *out = NULL;
    *count = 0;
    s = sq_reader_acquire(s);
    stmt = sq_prepare(s, worker_id
                             ? "SELECT " SQ_TASK_COLUMNS " FROM tasks WHERE worker_id = ? "
                               "AND run_active = 1 ORDER BY id"
                             : "SELECT " SQ_TASK_COLUMNS " FROM tasks WHERE ? IS NULL "
                               "AND run_active = 1 ORDER BY id");
    if (stmt) {
        sq_bind_text(stmt, 1, worker_id);
        rc = collect_tasks(stmt, out, count);
        sq_done(stmt);
    }
    sq_reader_release(s);
    return rc;
}
