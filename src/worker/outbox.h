/* Reports to the server, queued on disk before they are sent: appended to
 * segment files in the outbox directory in send order (outbox_journal.h).
 * A report stays until the reporter removes it, so reports survive a crash
 * or a server outage. Thread-safe. */
#ifndef TASKRELAY_OUTBOX_H
#define TASKRELAY_OUTBOX_H

#include <jansson.h>
#include <stddef.h>

enum report_type {
    REPORT_START,
    REPORT_PROGRESS,
    REPORT_LOG,
    REPORT_ARTIFACT,
    REPORT_COMPLETE,
};

struct report {
    enum report_type type;
    long long task_id;
    int attempt;
    long long seq;
    json_t *body;        /* request body of every type but REPORT_ARTIFACT; owned */
    char *artifact_name; /* REPORT_ARTIFACT: the name sent to the server; owned */
    char *artifact_path; /* REPORT_ARTIFACT: the file sent as the body; owned */
};

/* The last path segment of the report's route, e.g. "progress". */
const char *report_type_route(enum report_type type);

void report_clear(struct report *report);

/* Encodes a report as the text of one outbox file; the caller frees it. */
char *outbox_encode(const struct report *report);
/* Decodes outbox file text into out (cleared first). Returns -1 with a
 * message in err when the text is not a valid report. */
int outbox_decode(const char *text, size_t len, struct report *out, char *err,
                  size_t err_len);

struct outbox;

/* Opens (creating) the outbox directory and loads the reports left in it. */
struct outbox *outbox_open(const char *dir, char *err, size_t err_len);
void outbox_close(struct outbox *outbox);

/* Appends the report to the current segment and queues it for its lane.
 * Nothing is synced, except a REPORT_COMPLETE while a lane is failing
 * (outbox_set_lane_failing): that one is on disk, with every earlier
 * report of its segment, when this returns. */
int outbox_put(struct outbox *outbox, const struct report *report, char *err,
               size_t err_len);

/* Marks a lane as failing, after a send failed or timed out or while the
 * worker is not registered, or as delivering again. Returns 1 when the
 * lane was not failing before, which is when the caller syncs (outbox_sync)
 * before the first retry. From then on every complete report is synced
 * before it is queued, until every lane delivers again. Lanes 0 to 31. */
int outbox_set_lane_failing(struct outbox *outbox, int lane, int failing);

/* Returns nonzero while any lane is failing. */
int outbox_delivery_failing(struct outbox *outbox);

/* Puts every report appended so far on disk: fdatasync of each segment
 * with unsynced records, and the directory entries of new segments.
 * Appends go on meanwhile and are not covered. */
int outbox_sync(struct outbox *outbox, char *err, size_t err_len);

/* Returns the lane, 0 to lane_count - 1, of a task's reports. Reports of
 * one task are in one lane, so they keep their order, while a slow report
 * of one task does not hold up the reports of others in other lanes. */
int outbox_lane_of(long long task_id, int lane_count);

/* Waits up to wait_ms for a queued report of the lane and reads the oldest
 * into out. Returns 1 with *id set, 0 when none came, or -1 with *id set
 * and a message in err when it cannot be read or decoded (the caller
 * removes it). */
int outbox_peek(struct outbox *outbox, int lane, int lane_count, int wait_ms,
                unsigned long long *id, struct report *out, char *err, size_t err_len);

/* Deletes a report once it needs no more sending. */
void outbox_remove(struct outbox *outbox, unsigned long long id);

/* Number of queued reports. */
size_t outbox_pending(struct outbox *outbox);

/* Number of segments whose end was torn when the outbox was opened; the
 * reports in the torn part were never synced and are not sent. */
size_t outbox_torn_count(struct outbox *outbox);

/* Waits until the queue is empty or timeout_ms passed; returns 1 when empty. */
int outbox_wait_empty(struct outbox *outbox, int timeout_ms);

/* Calls fn for every queued report, oldest first; for recovery at start. */
void outbox_for_each(struct outbox *outbox,
                     void (*fn)(unsigned long long id, const struct report *report, void *arg),
                     void *arg);

#endif
