/* The outbox's state, shared by outbox.c (the queue) and outbox_load.c
 * (reading the outbox directory at start). */
#ifndef TASKRELAY_OUTBOX_INTERNAL_H
#define TASKRELAY_OUTBOX_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

#include "worker/outbox.h"

struct outbox_segment {
    struct outbox_segment *next;
    char *path;
    int fd;
    off_t len;        /* bytes written; the next record goes here */
    off_t synced_len; /* bytes known to be on disk */
    int dir_synced;   /* its directory entry is on disk */
    /* Queued reports in the segment, plus one while reports are appended
     * to it. The file is deleted when this drops to zero. */
    size_t refs;
};

struct outbox_entry {
    unsigned long long id;
    long long task_id; /* picks the lane; 0 when the text is unreadable */
    struct outbox_segment *segment;
    off_t offset; /* of the report text in the segment */
    size_t len;
};

struct outbox {
    /* Serializes appends; guards current and next_id. Taken before lock. */
    pthread_mutex_t write_lock;
    pthread_mutex_t lock; /* guards entries, segments and refs */
    pthread_cond_t changed;
    char *dir;
    int mark_fd;
    struct outbox_entry *entries; /* queued reports, ascending ids */
    size_t count;
    size_t cap;
    struct outbox_segment *segments;
    struct outbox_segment *current; /* NULL until the first append */
    unsigned long long next_id;
    size_t torn_count;
    /* Bit L is set while lane L's last send failed or the lane waits for
     * registration. Written under write_lock, read without a lock by
     * outbox_delivery_failing. */
    _Atomic unsigned int failing_lanes;
};

void outbox_push_entry(struct outbox *outbox, unsigned long long id, long long task_id,
                       struct outbox_segment *segment, off_t offset, size_t len);
/* Drops one reference and deletes the segment file with the last. */
void outbox_release_segment(struct outbox *outbox, struct outbox_segment *segment);
/* Adds an open segment file; takes path. Its refs start at zero. */
struct outbox_segment *outbox_add_segment(struct outbox *outbox, char *path, int fd);
enum outbox_sync_mode {
    OUTBOX_SYNC_NEVER,
    OUTBOX_SYNC_IF_FAILING, /* sync while a lane is failing */
    OUTBOX_SYNC_ALWAYS,
};

/* Appends a report's text to the current segment and queues it. When
 * sync_mode requests a sync, the sync comes before the report is queued. */
int outbox_queue_text(struct outbox *outbox, long long task_id, const char *text, size_t len,
                      enum outbox_sync_mode sync_mode, char *err, size_t err_len);
/* Reads and decodes one queued report. */
int outbox_read_entry(const struct outbox_entry *entry, struct report *out, char *err,
                      size_t err_len);

/* Opens the acknowledged-id mark, queues the unacknowledged reports of
 * every segment and sets next_id. Before any other thread uses the outbox. */
int outbox_load(struct outbox *outbox, char *err, size_t err_len);

#endif
