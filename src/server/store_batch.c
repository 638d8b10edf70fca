/* Group commit for the SQLite store. Writers that arrive while a batch is
 * being collected add their savepoint to it, and the first writer of each
 * batch (the leader) commits once all of them are in, so concurrent
 * requests share one fsync. A writer returns only after its batch is on
 * disk, so an acknowledged change is durable. */
#include <sched.h>
#include <stdlib.h>

#include "common/log.h"
#include "common/util.h"
#include "server/store_sqlite.h"

/* A leader stops collecting after this many writes or this long, so a
 * steady stream of writers cannot delay a commit without bound. */
#define BATCH_MAX_WRITES 512
#define BATCH_MAX_WAIT_MS 5

int sq_write_begin(struct sqlite_store *s)
{
    atomic_fetch_add(&s->writers_arriving, 1);
    pthread_mutex_lock(&s->lock);
    if (!s->batch_open) {
        if (sq_exec(s, "BEGIN IMMEDIATE") < 0) {
            atomic_fetch_sub(&s->writers_arriving, 1);
            pthread_mutex_unlock(&s->lock);
            return STORE_FAILED;
        }
        s->batch_open = 1;
        s->batch_writes = 0;
        s->batch_id++;
    }
    if (sq_exec(s, "SAVEPOINT write") < 0) {
        atomic_fetch_sub(&s->writers_arriving, 1);
        pthread_mutex_unlock(&s->lock);
        return STORE_FAILED;
    }
    return STORE_OK;
}

static int batch_failed(const struct sqlite_store *s, uint64_t id)
{
    for (size_t i = 0; i < sizeof(s->failed_ids) / sizeof(s->failed_ids[0]); i++) {
        if (s->failed_ids[i] == id)
            return 1;
    }
    return 0;
}

/* Waits for the writers still arriving, then commits the open batch. */
static void lead_commit(struct sqlite_store *s)
{
    int64_t deadline = mono_ms() + BATCH_MAX_WAIT_MS;
    uint64_t id = s->batch_id;

    s->leader_active = 1;
    while (atomic_load(&s->writers_arriving) > 0 && s->batch_writes < BATCH_MAX_WRITES &&
           mono_ms() < deadline) {
        pthread_mutex_unlock(&s->lock);
        sched_yield();
        pthread_mutex_lock(&s->lock);
    }
    if (sq_exec(s, "COMMIT") < 0) {
        log_error("store", "commit of %d writes failed: %s", s->batch_writes,
                  sqlite3_errmsg(s->db));
        sq_rollback(s);
        s->failed_ids[id % (sizeof(s->failed_ids) / sizeof(s->failed_ids[0]))] = id;
    }
    s->batch_open = 0;
    s->committed_id = id;
    s->leader_active = 0;
    pthread_cond_broadcast(&s->batch_changed);
}

int sq_write_end(struct sqlite_store *s, int keep)
{
    uint64_t id = s->batch_id;
    int rc;

    if (keep) {
        keep = sq_exec(s, "RELEASE write") == STORE_OK;
    }
    if (!keep) {
        sqlite3_exec(s->db, "ROLLBACK TO write", NULL, NULL, NULL);
        sqlite3_exec(s->db, "RELEASE write", NULL, NULL, NULL);
    }
    s->batch_writes++;
    atomic_fetch_sub(&s->writers_arriving, 1);

    if (!s->leader_active && s->batch_open && s->batch_id == id) {
        lead_commit(s);
    } else {
        while (s->committed_id < id)
            pthread_cond_wait(&s->batch_changed, &s->lock);
    }
    rc = batch_failed(s, id) ? STORE_FAILED : STORE_OK;
    pthread_mutex_unlock(&s->lock);
    return rc;
}
