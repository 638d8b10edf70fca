/* Durable commits for the SQLite store without holding the store lock
 * across I/O.
 *
 * The write connection runs with synchronous=OFF, so COMMIT appends the
 * transaction to the WAL in the page cache and returns. The writer then
 * releases the lock and waits until an fdatasync of the WAL file that
 * started after its commit has finished. One fdatasync makes every commit
 * before it durable, so concurrent writers share it (group commit), and a
 * writer replies to its client only once its change is on disk.
 *
 * Automatic checkpoints are off on the write connection, because with
 * synchronous=OFF SQLite would reuse the WAL without syncing the database
 * file first. A background thread checkpoints through a second connection
 * with synchronous=FULL instead: SQLite syncs the WAL, copies its pages,
 * and syncs the database file before it marks the pages copied, and only
 * then may a writer start the WAL over. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "server/store_sqlite.h"

/* The checkpoint thread runs at least this often, and after this many
 * commits, whichever comes first. */
#define CHECKPOINT_INTERVAL_MS 1000
#define CHECKPOINT_EVERY_COMMITS 2000

int sq_write_begin(struct sqlite_store *s)
{
    pthread_mutex_lock(&s->lock);
    if (sq_exec(s, "BEGIN IMMEDIATE") < 0) {
        pthread_mutex_unlock(&s->lock);
        return STORE_FAILED;
    }
    return STORE_OK;
}

/* Waits until commit number target is on disk, running the fdatasync
 * itself when no other writer is. */
static int wait_durable(struct sqlite_store *s, uint64_t target)
{
    int rc = STORE_OK;

    pthread_mutex_lock(&s->sync_lock);
    while (s->synced_count < target) {
        if (target <= s->sync_failed_upto) {
            rc = STORE_FAILED;
            break;
        }
        if (s->sync_running) {
            pthread_cond_wait(&s->sync_done, &s->sync_lock);
            continue;
        }

        /* Every commit counted so far has finished writing, so this
         * fdatasync covers all of them. */
        uint64_t covered = atomic_load(&s->commit_count);

        s->sync_running = 1;
        pthread_mutex_unlock(&s->sync_lock);
        int sync_rc = fdatasync(s->wal_fd);
        int sync_errno = errno;
        pthread_mutex_lock(&s->sync_lock);
        s->sync_running = 0;
        if (sync_rc == 0) {
            if (covered > s->synced_count)
                s->synced_count = covered;
        } else {
            log_error("store", "fdatasync of the WAL failed, %llu commits may be lost: %s",
                      (unsigned long long)(covered - s->synced_count), strerror(sync_errno));
            s->sync_failed_upto = covered;
        }
        pthread_cond_broadcast(&s->sync_done);
    }
    pthread_mutex_unlock(&s->sync_lock);
    return rc;
}

int sq_write_end(struct sqlite_store *s, int keep, int wait)
{
    uint64_t target;
    int rc = STORE_OK;

    if (keep && sq_exec(s, "COMMIT") == STORE_OK) {
        target = atomic_fetch_add(&s->commit_count, 1) + 1;
        if (target % CHECKPOINT_EVERY_COMMITS == 0)
            pthread_cond_signal(&s->checkpoint_wake);
    } else {
        if (keep)
            rc = STORE_FAILED;
        sq_rollback(s);
        target = atomic_load(&s->commit_count);
    }
    pthread_mutex_unlock(&s->lock);

    if (wait && target && wait_durable(s, target) != STORE_OK)
        rc = STORE_FAILED;
    return rc;
}

static void *checkpoint_main(void *arg)
{
    struct sqlite_store *s = arg;
    struct timespec deadline;

    pthread_mutex_lock(&s->lock);
    while (!s->checkpoint_stop) {
        int log_frames = 0, copied_frames = 0;

        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += CHECKPOINT_INTERVAL_MS / 1000;
        pthread_cond_timedwait(&s->checkpoint_wake, &s->lock, &deadline);
        if (s->checkpoint_stop)
            break;

        /* The store lock is released while the checkpoint copies pages, so
         * writers go on. A PASSIVE checkpoint copies what it can without
         * waiting for writers or readers (SQLite's documented behaviour). */
        pthread_mutex_unlock(&s->lock);
        int rc = sqlite3_wal_checkpoint_v2(s->checkpoint_db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                           &log_frames, &copied_frames);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            log_warn("store", "background checkpoint failed: %s",
                     sqlite3_errmsg(s->checkpoint_db));
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* Makes the WAL file's directory entry durable, once, so an fdatasync of
 * the file itself is enough from then on. */
static void sync_parent_dir(const char *path)
{
    char *copy = xstrdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

int sq_durable_start(struct sqlite_store *s, const char *path, char *err, size_t err_len)
{
    char *wal_path = xasprintf("%s-wal", path);

    s->wal_fd = open(wal_path, O_RDONLY | O_CLOEXEC);
    if (s->wal_fd < 0) {
        snprintf(err, err_len, "cannot open the WAL file '%s': %s", wal_path, strerror(errno));
        free(wal_path);
        return -1;
    }
    sync_parent_dir(wal_path);
    free(wal_path);

    if (sqlite3_open_v2(path, &s->checkpoint_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK ||
        sqlite3_exec(s->checkpoint_db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) !=
            SQLITE_OK) {
        snprintf(err, err_len, "cannot open the checkpoint connection to '%s': %s", path,
                 sqlite3_errmsg(s->checkpoint_db));
        sqlite3_close(s->checkpoint_db);
        s->checkpoint_db = NULL;
        return -1;
    }
    pthread_create(&s->checkpoint_thread, NULL, checkpoint_main, s);
    return 0;
}

void sq_durable_stop(struct sqlite_store *s)
{
    if (s->checkpoint_db) {
        pthread_mutex_lock(&s->lock);
        s->checkpoint_stop = 1;
        pthread_cond_signal(&s->checkpoint_wake);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->checkpoint_thread, NULL);
        sqlite3_close(s->checkpoint_db);
        s->checkpoint_db = NULL;
    }

    /* A synced checkpoint leaves the database file complete on its own. */
    sqlite3_exec(s->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL);
    sqlite3_exec(s->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
    if (s->wal_fd >= 0) {
        close(s->wal_fd);
        s->wal_fd = -1;
    }
}
