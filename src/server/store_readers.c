/* Reader connections of the SQLite store. In WAL mode readers run beside
 * the one writer, so status reads, lists and the dispatcher's queries do
 * not queue behind writes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "server/store_sqlite.h"

/* Enough for the two cores of a small machine with room for blocking. */
#define READER_COUNT 4

struct sqlite_store *sq_reader_acquire(struct sqlite_store *s)
{
    struct sqlite_store *reader;
    unsigned start;

    /* Writes that returned may still be in the open shared transaction,
     * which only the write connection can read. */
    if (s->reader_count == 0 || atomic_load(&s->tx_open)) {
        pthread_mutex_lock(&s->lock);
        return s;
    }
    /* Take the first idle reader; when all are busy, wait for one. */
    start = atomic_fetch_add(&s->next_reader, 1);
    for (size_t i = 0; i < s->reader_count; i++) {
        reader = s->readers[(start + i) % s->reader_count];
        if (pthread_mutex_trylock(&reader->lock) == 0)
            return reader;
    }
    reader = s->readers[start % s->reader_count];
    pthread_mutex_lock(&reader->lock);
    return reader;
}

void sq_reader_release(struct sqlite_store *reader)
{
    pthread_mutex_unlock(&reader->lock);
}

static struct sqlite_store *open_reader(const char *path, char *err, size_t err_len)
{
    struct sqlite_store *r = xcalloc(1, sizeof(*r));

    pthread_mutex_init(&r->lock, NULL);
    r->wal_fd = -1;
    if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(r->db, "PRAGMA query_only = 1", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, err_len, "cannot open a reader connection to '%s': %s", path,
                 sqlite3_errmsg(r->db));
        sqlite3_close(r->db);
        pthread_mutex_destroy(&r->lock);
        free(r);
        return NULL;
    }
    sqlite3_busy_timeout(r->db, 5000);
    return r;
}

static void close_reader(struct sqlite_store *r)
{
    for (size_t i = 0; i < r->statement_count; i++) {
        sqlite3_finalize(r->statements[i].stmt);
        free(r->statements[i].sql);
    }
    sqlite3_close(r->db);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

int sq_readers_open(struct sqlite_store *s, const char *path, char *err, size_t err_len)
{
    s->readers = xcalloc(READER_COUNT, sizeof(*s->readers));
    for (size_t i = 0; i < READER_COUNT; i++) {
        struct sqlite_store *r = open_reader(path, err, err_len);

        if (!r)
            return -1;
        s->readers[s->reader_count++] = r;
    }
    return 0;
}

void sq_readers_close(struct sqlite_store *s)
{
    for (size_t i = 0; i < s->reader_count; i++)
        close_reader(s->readers[i]);
    free(s->readers);
    s->readers = NULL;
    s->reader_count = 0;
}
