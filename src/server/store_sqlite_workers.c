/* SQLite backend: the workers table. */
#include "server/store_sqlite.h"

#include <stdlib.h>
#include <string.h>

static const char *status_text(enum worker_status status)
{
    return worker_status_name(status);
}

static enum worker_status status_from_text(const char *text)
{
    if (text && strcmp(text, "offline") == 0)
        return WORKER_OFFLINE;
    if (text && strcmp(text, "busy") == 0)
        return WORKER_BUSY;
    return WORKER_ONLINE;
}

int sq_worker_register(struct store *store, const struct worker_record *w, int64_t now)
{
    struct sqlite_store *s = sqlite_store_of(store);
    sqlite3_stmt *stmt;
    int rc = STORE_FAILED;

    if (sq_write_begin(s) != STORE_OK)
        return STORE_FAILED;
    stmt = sq_prepare(
        s, "INSERT INTO workers (id, url, status, slots, kinds, version, address, "
           "last_heartbeat_at, registered_at) VALUES (?, ?, 'online', ?, ?, ?, ?, ?, ?) "
           "ON CONFLICT(id) DO UPDATE SET url = excluded.url, status = 'online', "
           "slots = excluded.slots, kinds = excluded.kinds, version = excluded.version, "
           "address = excluded.address, last_heartbeat_at = excluded.last_heartbeat_at");
    if (stmt) {
        sqlite3_bind_text(stmt, 1, w->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, w->url, -1, SQLITE_STATIC);
        sqlite3_bind_int(stmt, 3, w->slots);
        sqlite3_bind_text(stmt, 4, w->kinds ? w->kinds : "[]", -1, SQLITE_STATIC);
        sq_bind_text(stmt, 5, w->version);
        sq_bind_text(stmt, 6, w->address);
        sqlite3_bind_int64(stmt, 7, now);
        sqlite3_bind_int64(stmt, 8, now);
        rc = sqlite3_step(stmt) == SQLITE_DONE ? STORE_OK : STORE_FAILED;
        sq_done(stmt);
    }
    if (sq_write_end(s, rc == STORE_OK, 1) != STORE_OK)
        rc = STORE_FAILED;
    return rc;
}

int sq_worker_heartbeat(struct store *store, const char *id, int slots, int64_t now)
{
    struct sqlite_store *s = sqlite_store_of(store);
    sqlite3_stmt *stmt;
    int rc = STORE_FAILED;

    if (sq_write_begin(s) != STORE_OK)
        return STORE_FAILED;
    stmt = sq_prepare(s, "UPDATE workers SET last_heartbeat_at = ?, slots = ?, "
                         "status = CASE WHEN status = 'offline' THEN 'online' ELSE status END "
                         "WHERE id = ?");
    if (stmt) {
        sqlite3_bind_int64(stmt, 1, now);
        sqlite3_bind_int(stmt, 2, slots);
        sqlite3_bind_text(stmt, 3, id, -1, SQLITE_STATIC);
        if (sqlite3_step(stmt) == SQLITE_DONE)
            rc = sqlite3_changes(s->db) > 0 ? STORE_OK : STORE_NOT_FOUND;
        sq_done(stmt);
    }
    if (sq_write_end(s, rc == STORE_OK, 0) != STORE_OK)
        rc = STORE_FAILED;
    return rc;
}

int sq_worker_set_status(struct store *store, const char *id, enum worker_status status)
{
    struct sqlite_store *s = sqlite_store_of(store);
    sqlite3_stmt *stmt;
    int rc = STORE_FAILED;

    if (sq_write_begin(s) != STORE_OK)
        return STORE_FAILED;
    stmt = sq_prepare(s, "UPDATE workers SET status = ? WHERE id = ?");
    if (stmt) {
        sqlite3_bind_text(stmt, 1, status_text(status), -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, id, -1, SQLITE_STATIC);
        if (sqlite3_step(stmt) == SQLITE_DONE)
            rc = sqlite3_changes(s->db) > 0 ? STORE_OK : STORE_NOT_FOUND;
        sq_done(stmt);
    }
    if (sq_write_end(s, rc == STORE_OK, 1) != STORE_OK)
        rc = STORE_FAILED;
    return rc;
}

#define WORKER_COLUMNS                                                                     \
    "w.id, w.url, w.status, w.slots, w.kinds, w.version, w.address, w.last_heartbeat_at, " \
    "w.completed, w.failed, (SELECT COUNT(*) FROM tasks t WHERE t.worker_id = w.id "      \
    "AND t.run_active = 1)"

static void read_worker(sqlite3_stmt *stmt, struct worker_record *w)
{
    memset(w, 0, sizeof(*w));
    w->id = sq_column_dup(stmt, 0);
    w->url = sq_column_dup(stmt, 1);
    w->status = status_from_text((const char *)sqlite3_column_text(stmt, 2));
    w->slots = sqlite3_column_int(stmt, 3);
    w->kinds = sq_column_dup(stmt, 4);
    w->version = sq_column_dup(stmt, 5);
    w->address = sq_column_dup(stmt, 6);
    w->last_heartbeat_at = sqlite3_column_int64(stmt, 7);
    w->completed = sqlite3_column_int64(stmt, 8);
    w->failed = sqlite3_column_int64(stmt, 9);
    w->running = sqlite3_column_int(stmt, 10);
    if (w->status == WORKER_ONLINE && w->running >= w->slots)
        w->status = WORKER_BUSY;
}

int sq_worker_get(struct store *store, const char *id, struct worker_record *out)
{
    struct sqlite_store *s = sqlite_store_of(store);
    sqlite3_stmt *stmt;
    int rc = STORE_FAILED;

    s = sq_reader_acquire(s);
    stmt = sq_prepare(s, "SELECT " WORKER_COLUMNS " FROM workers w WHERE w.id = ?");
    if (stmt) {
        sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW)
            read_worker(stmt, out);
        rc = sq_step_result(rc);
        sq_done(stmt);
    }
    sq_reader_release(s);
    return rc;
}

int sq_worker_list(struct store *store, struct worker_record **out, size_t *count)
{
    struct sqlite_store *s = sqlite_store_of(store);
    sqlite3_stmt *stmt;
    size_t cap = 8;
    int rc = STORE_FAILED;

    *count = 0;
    *out = xcalloc(cap, sizeof(**out));
    s = sq_reader_acquire(s);
    stmt = sq_prepare(s, "SELECT " WORKER_COLUMNS " FROM workers w ORDER BY w.id");
    if (stmt) {
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            if (*count == cap) {
                cap *= 2;
                *out = xrealloc(*out, cap * sizeof(**out));
            }
            read_worker(stmt, &(*out)[(*count)++]);
        }
        rc = rc == SQLITE_DONE ? STORE_OK : STORE_FAILED;
        sq_done(stmt);
    }
    sq_reader_release(s);
    return rc;
}

int sq_running_by_worker(struct store *store,
                         void (*each)(void *ctx, const char *worker_id, int running), void *ctx)
{
    struct sqlite_store *s = sq_reader_acquire(sqlite_store_of(store));
    sqlite3_stmt *stmt = sq_prepare(s, "SELECT worker_id, COUNT(*) FROM tasks "
                                       "INDEXED BY tasks_with_run WHERE run_active = 1 "
                                       "GROUP BY worker_id");
    int rc = STORE_FAILED;

    if (stmt) {
        int step;

        while ((step = sqlite3_step(stmt)) == SQLITE_ROW)
            each(ctx, (const char *)sqlite3_column_text(stmt, 0), sqlite3_column_int(stmt, 1));
        rc = step == SQLITE_DONE ? STORE_OK : STORE_FAILED;
        sq_done(stmt);
    }
    sq_reader_release(s);
    return rc;
}
