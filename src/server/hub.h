/* In-process fan-out of change events to Server-Sent Events streams. A
 * ring of the most recent events; each reader keeps its own position and
 * learns when it fell so far behind that events were overwritten.
 *
 * The hub has no blocking read. A stream with nothing to send parks a
 * hub_parker and suspends its connection. The hub calls the parker's wake
 * function when an event the stream may send arrives, when the stream has
 * been idle for the keepalive interval, and when the hub closes. */
#ifndef TASKRELAY_HUB_H
#define TASKRELAY_HUB_H

#include <stddef.h>
#include <stdint.h>

enum hub_event_type { HUB_TASK, HUB_WORKER, HUB_LOG };

struct hub_event {
    uint64_t position; /* index in the hub's whole history */
    enum hub_event_type type;
    int64_t seq;     /* task event seq (HUB_TASK), else 0 */
    int64_t task_id; /* 0 for HUB_WORKER */
    char *data;      /* JSON text, owned */
};

/* A parked reader. The caller owns the storage and fills wake, ctx and
 * task_id (0 = every task and worker); the hub owns the other fields
 * while the parker is parked. wake runs once per park, on a hub or
 * publisher thread, without any hub lock held, after the parker left the
 * hub. So it may only touch what stays valid until the woken reader runs
 * again, such as the suspended connection it resumes. */
struct hub_parker {
    void (*wake)(void *ctx);
    void *ctx;
    int64_t task_id;

    int parked;
    int64_t parked_at_ms;
    struct hub_parker *prev, *next;
};

struct hub;

/* Creates a hub keeping capacity events; parked readers idle for
 * idle_wake_ms are woken so their streams can send a keepalive. */
struct hub *hub_new(size_t capacity, int64_t idle_wake_ms);
void hub_free(struct hub *hub);

/* Appends an event; takes ownership of data. Wakes the parked readers
 * that may send it. */
void hub_publish(struct hub *hub, enum hub_event_type type, int64_t seq, int64_t task_id,
                 char *data);

/* Counts live readers, so publishers can skip building events that no
 * stream would send. */
void hub_reader_add(struct hub *hub);
void hub_reader_remove(struct hub *hub);
int hub_has_readers(struct hub *hub);

/* The position the next event will get; a new reader starts here. */
uint64_t hub_position(struct hub *hub);

/* Copies the events at or after *position into *out (freed with
 * hub_events_free) without waiting, and advances *position. With
 * task_id > 0 only that task's events are copied. Sets *overrun when
 * events the reader had not seen were overwritten. Returns -1 once the
 * hub is closed. */
int hub_take(struct hub *hub, uint64_t *position, int64_t task_id, struct hub_event **out,
             size_t *count, int *overrun);
void hub_events_free(struct hub_event *events, size_t count);

/* Parks p until an event for p->task_id arrives after position. Returns
 * 0 when parked, 1 when such an event is already there or the hub is
 * closed (then nothing is parked and wake will not run). */
int hub_park(struct hub *hub, struct hub_parker *p, uint64_t position);
/* Takes p out if it is still parked, so no wake for it starts later. */
void hub_unpark(struct hub *hub, struct hub_parker *p);

/* Wakes every parked reader, waits until every wake already started has
 * returned, and makes hub_take return -1 from now on. */
void hub_close(struct hub *hub);

#endif
