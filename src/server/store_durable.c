/* Durable commits for the SQLite store without holding the store lock
 * across I/O, and with few commits under load.
 *
 * Writes of concurrent requests share one open transaction; each write
 * runs inside its own savepoint, so a failed write rolls back alone. A
 * committer thread commits the shared transaction as soon as a write waits
 * for the disk, and otherwise within LAZY_COMMIT_MS. While it runs the
 * fdatasync, new writes gather in the next transaction, so under load one
 * COMMIT and one fdatasync serve many requests, and the pages they share
 * reach the WAL once rather than once per request.
 *
 * The write connection runs with synchronous=OFF, so COMMIT appends the
 * transaction to the WAL in the page cache and returns; the committer
 * then syncs the WAL file outside the lock. A writer that waits replies to
 * its client only once its change is on disk.
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

/* A write that does not wait for the disk (progress, log output) is
 * committed at most this long after the shared transaction opened. */
#define LAZY_COMMIT_MS 2

static int step_cached(struct sqlite_store *s, const char *sql)
{
    sqlite3_stmt *stmt = sq_prepare(s, sql);
    int rc;

    if (!stmt)
        return STORE_FAILED;
    rc = sqlite3_step(stmt) == SQLITE_DONE ? STORE_OK : STORE_FAILED;
    sq_done(stmt);
    return rc;
}

int sq_write_begin(struct sqlite_store *s)
{
    pthread_mutex_lock(&s->lock);
    if (!atomic_load(&s->tx_open)) {
        if (sq_exec(s, "BEGIN IMMEDIATE") < 0)
            goto fail;
        atomic_store(&s->tx_open, 1);
        s->tx_opened_ms = mono_ms();
        pthread_cond_signal(&s->commit_wake);
    }
    if (step_cached(s, "SAVEPOINT write") != STORE_OK)
        goto fail;
    return STORE_OK;

fail:
    pthread_mutex_unlock(&s->lock);
    return STORE_FAILED;
}

/* Waits until commit number target has finished; STORE_FAILED when it did
 * not reach the disk. A waiter that slept through SQ_OUTCOMES further
 * commits cannot tell and reports a failure. */
static int wait_durable(struct sqlite_store *s, uint64_t target)
{
    int rc;

    pthread_mutex_lock(&s->sync_lock);
    while (s->synced_count < target)
        pthread_cond_wait(&s->sync_done, &s->sync_lock);
    rc = s->outcomes[target % SQ_OUTCOMES].number == target &&
                 s->outcomes[target % SQ_OUTCOMES].ok
             ? STORE_OK
             : STORE_FAILED;
    pthread_mutex_unlock(&s->sync_lock);
    return rc;
}

static int is_synced(struct sqlite_store *s, uint64_t target)
{
    int synced;

    pthread_mutex_lock(&s->sync_lock);
    synced = s->synced_count >= target;
    pthread_mutex_unlock(&s->sync_lock);
    return synced;
}

static void commit_batch(struct sqlite_store *s);
static void sync_commits(struct sqlite_store *s, uint64_t target);

/* Commits what is open and syncs it, as the one thread doing so at a
 * time. Lock held on entry and return, released during the fdatasync. */
static void commit_and_sync(struct sqlite_store *s)
{
    uint64_t target;

    s->syncing = 1;
    if (atomic_load(&s->tx_open))
        commit_batch(s);
    s->tx_waiters = 0;
    s->sync_requested = 0;
    target = s->commit_count;
    pthread_mutex_unlock(&s->lock);
    sync_commits(s, target);
    pthread_mutex_lock(&s->lock);
    s->syncing = 0;
    /* Writes that arrived meanwhile wait for the committer. */
    if (s->tx_waiters > 0 || s->sync_requested || atomic_load(&s->tx_open))
        pthread_cond_signal(&s->commit_wake);
}

/* Returns once commit number target is on disk (or failed). When no sync
 * is running, the caller runs it itself, which spares two thread wake-ups
 * on an idle server. Otherwise the committer takes the write into its
 * next batch. Lock held on entry, released on return. */
static int make_durable(struct sqlite_store *s, uint64_t target)
{
    if (target > 0 && !is_synced(s, target)) {
        if (!s->syncing) {
            commit_and_sync(s);
        } else {
            if (target > s->commit_count)
                s->tx_waiters++;
            else
                s->sync_requested = 1;
            pthread_cond_signal(&s->commit_wake);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return target ? wait_durable(s, target) : STORE_OK;
}

int sq_write_end(struct sqlite_store *s, int keep, int wait)
{
    /* The commit that will close the shared transaction. */
    uint64_t target = s->commit_count + 1;
    int rc = STORE_OK;

    if (keep && step_cached(s, "RELEASE write") != STORE_OK)
        rc = STORE_FAILED;
    if (!keep || rc != STORE_OK) {
        step_cached(s, "ROLLBACK TO write");
        step_cached(s, "RELEASE write");
    }
    if (!wait) {
        pthread_mutex_unlock(&s->lock);
        return rc;
    }
    if (make_durable(s, target) != STORE_OK)
        rc = STORE_FAILED;
    return rc;
}

int sq_sync(struct store *store)
{
    struct sqlite_store *s = sqlite_store_of(store);

    pthread_mutex_lock(&s->lock);
    return make_durable(s, s->commit_count + (atomic_load(&s->tx_open) ? 1 : 0));
}

/* Waits, lock held, until the shared transaction should be committed or
 * a sync was asked for. Returns 0 when the committer should stop. */
static int wait_for_batch(struct sqlite_store *s)
{
    struct timespec deadline;

    for (;;) {
        if (s->syncing) {
            pthread_cond_wait(&s->commit_wake, &s->lock);
            continue;
        }
        if (atomic_load(&s->tx_open)) {
            int64_t due_ms = s->tx_opened_ms + LAZY_COMMIT_MS - mono_ms();

            if (s->tx_waiters > 0 || s->committer_stop || due_ms <= 0)
                return 1;
            mono_deadline_after(&deadline, due_ms);
            pthread_cond_timedwait(&s->commit_wake, &s->lock, &deadline);
            continue;
        }
        if (s->sync_requested)
            return 1;
        if (s->committer_stop)
            return 0;
        pthread_cond_wait(&s->commit_wake, &s->lock);
    }
}

/* Commits the shared transaction, lock held, and records whether the
 * COMMIT worked. A failed COMMIT rolls back every write in it; their
 * waiters fail. */
static void commit_batch(struct sqlite_store *s)
{
    uint64_t number = s->commit_count + 1;
    int ok = sq_exec(s, "COMMIT") == STORE_OK;

    if (!ok) {
        log_error("store", "commit %llu failed, so every write in it is rolled back: %s",
                  (unsigned long long)number, sqlite3_errmsg(s->db));
        sq_rollback(s);
    }
    atomic_store(&s->tx_open, 0);
    pthread_mutex_lock(&s->sync_lock);
    s->outcomes[number % SQ_OUTCOMES].number = number;
    s->outcomes[number % SQ_OUTCOMES].ok = ok;
    pthread_mutex_unlock(&s->sync_lock);
    s->commit_count = number;
    if (number % CHECKPOINT_EVERY_COMMITS == 0)
        pthread_cond_signal(&s->checkpoint_wake);
}

/* Syncs the WAL, which makes every commit up to target durable, and wakes
 * their waiters. */
static void sync_commits(struct sqlite_store *s, uint64_t target)
{
    int sync_rc = fdatasync(s->wal_fd);
    int sync_errno = errno;

    if (sync_rc != 0)
        log_error("store", "fdatasync of the WAL failed, commits up to %llu may be lost: %s",
                  (unsigned long long)target, strerror(sync_errno));

    pthread_mutex_lock(&s->sync_lock);
    if (sync_rc != 0) {
        uint64_t first = s->synced_count + 1;

        if (target >= SQ_OUTCOMES && first < target - SQ_OUTCOMES + 1)
            first = target - SQ_OUTCOMES + 1;
        for (uint64_t n = first; n <= target; n++)
            s->outcomes[n % SQ_OUTCOMES].ok = 0;
    }
    s->synced_count = target;
    pthread_cond_broadcast(&s->sync_done);
    pthread_mutex_unlock(&s->sync_lock);
}

/* Commits the shared transaction when one is due, and syncs only when a
 * writer waits. A commit without waiters (progress, log output) becomes
 * durable with the next sync or checkpoint, so its own fdatasync cannot
 * delay the next durable write. */
static void *committer_main(void *arg)
{
    struct sqlite_store *s = arg;

    pthread_mutex_lock(&s->lock);
    while (wait_for_batch(s)) {
        if (s->tx_waiters > 0 || s->sync_requested || s->committer_stop) {
            commit_and_sync(s);
        } else {
            commit_batch(s);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
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
    pthread_create(&s->committer_thread, NULL, committer_main, s);
    s->committer_running = 1;
    return 0;
}

/* Sets *stop under the store lock, wakes the thread and waits for it. */
static void stop_thread(struct sqlite_store *s, int *stop, pthread_cond_t *wake,
                        pthread_t thread)
{
    pthread_mutex_lock(&s->lock);
    *stop = 1;
    pthread_cond_signal(wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(thread, NULL);
}

void sq_durable_stop(struct sqlite_store *s)
{
    /* The committer commits and syncs what is still open before it ends. */
    if (s->committer_running) {
        stop_thread(s, &s->committer_stop, &s->commit_wake, s->committer_thread);
        s->committer_running = 0;
    }
    if (s->checkpoint_db) {
        stop_thread(s, &s->checkpoint_stop, &s->checkpoint_wake, s->checkpoint_thread);
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
