/* The outbox queue: reports appended to segment files (outbox_journal.h)
 * and indexed in memory in id order. Appending to a file that exists
 * creates no inode per report, and a complete report needs one
 * fdatasync, because the segment's directory entry is synced once. */
#include "worker/outbox.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "worker/outbox_internal.h"
#include "worker/outbox_journal.h"

/* A new segment starts with the first report after the current one grew
 * past this. A segment is deleted once every report in it is acknowledged. */
#define OUTBOX_SEGMENT_ROLL_LEN (1024 * 1024)

void outbox_push_entry(struct outbox *outbox, unsigned long long id, long long task_id,
                       struct outbox_segment *segment, off_t offset, size_t len)
{
    if (outbox->count == outbox->cap) {
        outbox->cap = outbox->cap ? outbox->cap * 2 : 64;
        outbox->entries = xrealloc(outbox->entries, outbox->cap * sizeof(*outbox->entries));
    }
    outbox->entries[outbox->count++] =
        (struct outbox_entry){.id = id,
                               .task_id = task_id,
                               .segment = segment,
                               .offset = offset,
                               .len = len};
    segment->refs++;
}

void outbox_release_segment(struct outbox *outbox, struct outbox_segment *segment)
{
    struct outbox_segment **link = &outbox->segments;

    if (--segment->refs > 0)
        return;
    while (*link != segment)
        link = &(*link)->next;
    *link = segment->next;
    close(segment->fd);
    unlink(segment->path);
    free(segment->path);
    free(segment);
}

struct outbox_segment *outbox_add_segment(struct outbox *outbox, char *path, int fd)
{
    struct outbox_segment *segment = xcalloc(1, sizeof(*segment));

    segment->path = path;
    segment->fd = fd;
    segment->next = outbox->segments;
    outbox->segments = segment;
    return segment;
}

static int fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc;

    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

struct outbox *outbox_open(const char *dir, char *err, size_t err_len)
{
    struct outbox *outbox;
    pthread_condattr_t attr;

    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, err_len, "cannot create outbox directory '%s': %s", dir, strerror(errno));
        return NULL;
    }
    outbox = xcalloc(1, sizeof(*outbox));
    pthread_mutex_init(&outbox->write_lock, NULL);
    pthread_mutex_init(&outbox->lock, NULL);
    /* The deadlines of the timed waits are on the monotonic clock. */
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&outbox->changed, &attr);
    pthread_condattr_destroy(&attr);
    outbox->dir = xstrdup(dir);
    outbox->mark_fd = -1;
    if (outbox_load(outbox, err, err_len) < 0) {
        outbox_close(outbox);
        return NULL;
    }
    return outbox;
}

void outbox_close(struct outbox *outbox)
{
    if (!outbox)
        return;
    while (outbox->segments) {
        struct outbox_segment *segment = outbox->segments;

        outbox->segments = segment->next;
        close(segment->fd);
        free(segment->path);
        free(segment);
    }
    if (outbox->mark_fd >= 0)
        close(outbox->mark_fd);
    pthread_mutex_destroy(&outbox->write_lock);
    pthread_mutex_destroy(&outbox->lock);
    pthread_cond_destroy(&outbox->changed);
    free(outbox->entries);
    free(outbox->dir);
    free(outbox);
}

/* Starts a new segment named after the next id. Write lock held. The
 * directory entry is synced by the first durable append. */
static int roll_segment(struct outbox *outbox, char *err, size_t err_len)
{
    char *path = xasprintf("%s/seg-%020llu.log", outbox->dir, outbox->next_id);
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    struct outbox_segment *segment;

    if (fd < 0) {
        snprintf(err, err_len, "cannot create '%s': %s", path, strerror(errno));
        free(path);
        return -1;
    }
    pthread_mutex_lock(&outbox->lock);
    segment = outbox_add_segment(outbox, path, fd);
    segment->refs = 1;
    if (outbox->current)
        outbox_release_segment(outbox, outbox->current);
    outbox->current = segment;
    pthread_mutex_unlock(&outbox->lock);
    return 0;
}

/* Appends one record to the current segment. On failure the segment is
 * cut back to its old length, so no torn record stays in front of later
 * ones. Write lock held. */
static int append_record(struct outbox *outbox, unsigned long long id, const char *text,
                         size_t len, char *err, size_t err_len)
{
    struct outbox_segment *segment = outbox->current;
    char header[OUTBOX_HEADER_LEN + 1];
    struct iovec parts[3];
    size_t total = OUTBOX_HEADER_LEN + len + 1;
    ssize_t n;

    outbox_journal_header(header, id, text, len);
    parts[0] = (struct iovec){.iov_base = header, .iov_len = OUTBOX_HEADER_LEN};
    parts[1] = (struct iovec){.iov_base = (void *)text, .iov_len = len};
    parts[2] = (struct iovec){.iov_base = "\n", .iov_len = 1};
    do {
        n = pwritev(segment->fd, parts, 3, segment->len);
    } while (n < 0 && errno == EINTR);
    if (n != (ssize_t)total) {
        snprintf(err, err_len, "cannot write '%s': %s", segment->path,
                 n < 0 ? strerror(errno) : "short write");
        if (ftruncate(segment->fd, segment->len) < 0)
            snprintf(err, err_len, "cannot write '%s' and cannot cut off the partial record: %s",
                     segment->path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Puts the current segment on disk: its data and, the first time, its
 * directory entry. Write lock held. */
static int sync_segment(struct outbox *outbox, char *err, size_t err_len)
{
    struct outbox_segment *segment = outbox->current;

    if (fdatasync(segment->fd) < 0) {
        snprintf(err, err_len, "cannot sync '%s': %s", segment->path, strerror(errno));
        return -1;
    }
    if (!segment->dir_synced && fsync_dir(outbox->dir) < 0) {
        snprintf(err, err_len, "cannot sync directory '%s': %s", outbox->dir, strerror(errno));
        return -1;
    }
    segment->dir_synced = 1;
    segment->synced_len = segment->len;
    return 0;
}

int outbox_queue_text(struct outbox *outbox, long long task_id, const char *text, size_t len,
                      enum outbox_sync_mode sync_mode, char *err, size_t err_len)
{
    unsigned long long id;
    off_t offset;
    int durable;
    int rc = -1;

    if (len > OUTBOX_RECORD_MAX_LEN) {
        snprintf(err, err_len, "the report is %zu bytes, over the outbox limit of %d", len,
                 OUTBOX_RECORD_MAX_LEN);
        return -1;
    }
    pthread_mutex_lock(&outbox->write_lock);
    if ((!outbox->current || outbox->current->len >= OUTBOX_SEGMENT_ROLL_LEN) &&
        roll_segment(outbox, err, err_len) < 0)
        goto out;
    id = outbox->next_id++;
    if (append_record(outbox, id, text, len, err, err_len) < 0)
        goto out;
    offset = outbox->current->len + OUTBOX_HEADER_LEN;
    outbox->current->len += (off_t)(OUTBOX_HEADER_LEN + len + 1);

    durable = sync_mode == OUTBOX_SYNC_ALWAYS ||
              (sync_mode == OUTBOX_SYNC_IF_FAILING && outbox->failing_lanes != 0);
    if (durable && sync_segment(outbox, err, err_len) < 0) {
        /* Nothing is queued on failure, also not after a restart. */
        outbox->current->len -= (off_t)(OUTBOX_HEADER_LEN + len + 1);
        if (ftruncate(outbox->current->fd, outbox->current->len) < 0)
            snprintf(err + strlen(err), err_len - strlen(err),
                     "; cannot cut off the record either: %s", strerror(errno));
        goto out;
    }

    pthread_mutex_lock(&outbox->lock);
    outbox_push_entry(outbox, id, task_id, outbox->current, offset, len);
    pthread_cond_broadcast(&outbox->changed);
    pthread_mutex_unlock(&outbox->lock);
    rc = 0;
out:
    pthread_mutex_unlock(&outbox->write_lock);
    return rc;
}

int outbox_put(struct outbox *outbox, const struct report *report, char *err,
               size_t err_len)
{
    char *text = outbox_encode(report);
    int rc;

    /* The complete report is not synced before it is sent, because the
     * server stores it durably before acknowledging it, and a crash of the
     * worker process leaves it in the page cache. A machine crash during
     * the first send loses it, as it did when a sync came first, since the
     * crash could hit that sync too. Once a send failed, the reporter has
     * synced the outbox, and complete reports are synced here while any
     * lane fails (docs/worker.md, "Durability"). The flag is read under
     * the write lock, which the reporter takes to set it and again for its
     * sync, so that sync covers every report appended before. */
    rc = outbox_queue_text(outbox, report->task_id, text, strlen(text),
                           report->type == REPORT_COMPLETE ? OUTBOX_SYNC_IF_FAILING
                                                           : OUTBOX_SYNC_NEVER,
                           err, err_len);
    free(text);
    return rc;
}

int outbox_set_lane_failing(struct outbox *outbox, int lane, int failing)
{
    unsigned int bit = 1U << lane;
    unsigned int before;

    pthread_mutex_lock(&outbox->write_lock);
    before = outbox->failing_lanes;
    outbox->failing_lanes = failing ? before | bit : before & ~bit;
    pthread_mutex_unlock(&outbox->write_lock);
    return failing && !(before & bit);
}

int outbox_delivery_failing(struct outbox *outbox)
{
    return outbox->failing_lanes != 0;
}

/* A segment to sync and the length the sync covers. */
struct sync_target {
    struct outbox_segment *segment;
    off_t len;
};

/* Collects the segments with records not yet on disk and holds a
 * reference to each, so none is deleted during the sync. */
static size_t collect_unsynced(struct outbox *outbox, struct sync_target **targets)
{
    size_t count = 0;

    *targets = NULL;
    pthread_mutex_lock(&outbox->write_lock);
    pthread_mutex_lock(&outbox->lock);
    for (struct outbox_segment *segment = outbox->segments; segment; segment = segment->next) {
        if (segment->synced_len >= segment->len && segment->dir_synced)
            continue;
        *targets = xrealloc(*targets, (count + 1) * sizeof(**targets));
        (*targets)[count++] = (struct sync_target){.segment = segment, .len = segment->len};
        segment->refs++;
    }
    pthread_mutex_unlock(&outbox->lock);
    pthread_mutex_unlock(&outbox->write_lock);
    return count;
}

int outbox_sync(struct outbox *outbox, char *err, size_t err_len)
{
    struct sync_target *targets;
    size_t count = collect_unsynced(outbox, &targets);
    int rc = 0;

    /* Outside the locks, so that appends of running tasks do not wait for
     * the disk. fdatasync covers everything written before it started. */
    for (size_t i = 0; i < count && rc == 0; i++) {
        if (fdatasync(targets[i].segment->fd) < 0) {
            snprintf(err, err_len, "cannot sync '%s': %s", targets[i].segment->path,
                     strerror(errno));
            rc = -1;
        }
    }
    if (rc == 0 && count > 0 && fsync_dir(outbox->dir) < 0) {
        snprintf(err, err_len, "cannot sync directory '%s': %s", outbox->dir, strerror(errno));
        rc = -1;
    }

    pthread_mutex_lock(&outbox->write_lock);
    pthread_mutex_lock(&outbox->lock);
    for (size_t i = 0; i < count; i++) {
        struct outbox_segment *segment = targets[i].segment;

        if (rc == 0 && segment->synced_len < targets[i].len)
            segment->synced_len = targets[i].len;
        if (rc == 0)
            segment->dir_synced = 1;
        outbox_release_segment(outbox, segment);
    }
    pthread_mutex_unlock(&outbox->lock);
    pthread_mutex_unlock(&outbox->write_lock);
    free(targets);
    return rc;
}

static void deadline_after(struct timespec *ts, int wait_ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += wait_ms / 1000;
    ts->tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* The entry's segment stays open while the entry is queued, and only the
 * reporter removes entries. */
int outbox_read_entry(const struct outbox_entry *entry, struct report *out, char *err,
                      size_t err_len)
{
    char *text = xmalloc(entry->len + 1);
    size_t done = 0;
    int rc = -1;

    while (done < entry->len) {
        ssize_t n = pread(entry->segment->fd, text + done, entry->len - done,
                          entry->offset + (off_t)done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, err_len, "cannot read report %llu from '%s': %s", entry->id,
                     entry->segment->path, n < 0 ? strerror(errno) : "unexpected end of file");
            goto out;
        }
        done += (size_t)n;
    }
    text[entry->len] = '\0';
    rc = outbox_decode(text, entry->len, out, err, err_len);
out:
    free(text);
    return rc;
}

/* Returns the index of the oldest entry of the lane, or -1. Lock held. */
static ssize_t find_lane_head(const struct outbox *outbox, int lane, int lane_count)
{
    for (size_t i = 0; i < outbox->count; i++) {
        if (outbox_lane_of(outbox->entries[i].task_id, lane_count) == lane)
            return (ssize_t)i;
    }
    return -1;
}

int outbox_peek(struct outbox *outbox, int lane, int lane_count, int wait_ms,
                unsigned long long *id, struct report *out, char *err, size_t err_len)
{
    struct timespec deadline;
    struct outbox_entry head;
    ssize_t index;

    deadline_after(&deadline, wait_ms);
    pthread_mutex_lock(&outbox->lock);
    while ((index = find_lane_head(outbox, lane, lane_count)) < 0) {
        if (pthread_cond_timedwait(&outbox->changed, &outbox->lock, &deadline) == ETIMEDOUT)
            break;
    }
    if (index < 0) {
        pthread_mutex_unlock(&outbox->lock);
        return 0;
    }
    head = outbox->entries[index];
    pthread_mutex_unlock(&outbox->lock);

    *id = head.id;
    return outbox_read_entry(&head, out, err, err_len) < 0 ? -1 : 1;
}

int outbox_lane_of(long long task_id, int lane_count)
{
    return (int)((unsigned long long)task_id % (unsigned long long)lane_count);
}

void outbox_remove(struct outbox *outbox, unsigned long long id)
{
    pthread_mutex_lock(&outbox->lock);
    for (size_t i = 0; i < outbox->count; i++) {
        if (outbox->entries[i].id != id)
            continue;
        /* The mark means that every id up to it is acknowledged, so it
         * moves only up to the oldest report still queued. */
        outbox_journal_write_mark(outbox->mark_fd, i == 0 ? id : outbox->entries[0].id - 1);
        outbox_release_segment(outbox, outbox->entries[i].segment);
        memmove(&outbox->entries[i], &outbox->entries[i + 1],
                (outbox->count - i - 1) * sizeof(*outbox->entries));
        outbox->count--;
        break;
    }
    pthread_cond_broadcast(&outbox->changed);
    pthread_mutex_unlock(&outbox->lock);
}

size_t outbox_pending(struct outbox *outbox)
{
    size_t count;

    pthread_mutex_lock(&outbox->lock);
    count = outbox->count;
    pthread_mutex_unlock(&outbox->lock);
    return count;
}

size_t outbox_torn_count(struct outbox *outbox)
{
    return outbox->torn_count;
}

int outbox_wait_empty(struct outbox *outbox, int timeout_ms)
{
    struct timespec deadline;
    int empty;

    deadline_after(&deadline, timeout_ms);
    pthread_mutex_lock(&outbox->lock);
    while (outbox->count > 0) {
        if (pthread_cond_timedwait(&outbox->changed, &outbox->lock, &deadline) == ETIMEDOUT)
            break;
    }
    empty = outbox->count == 0;
    pthread_mutex_unlock(&outbox->lock);
    return empty;
}

void outbox_for_each(struct outbox *outbox,
                     void (*fn)(unsigned long long id, const struct report *report, void *arg),
                     void *arg)
{
    char err[256];

    /* Used before the reporter starts, so no entry is removed meanwhile. */
    for (size_t i = 0; i < outbox_pending(outbox); i++) {
        struct outbox_entry entry;
        struct report report;

        pthread_mutex_lock(&outbox->lock);
        entry = outbox->entries[i];
        pthread_mutex_unlock(&outbox->lock);

        if (outbox_read_entry(&entry, &report, err, sizeof(err)) == 0) {
            fn(entry.id, &report, arg);
            report_clear(&report);
        }
    }
}
