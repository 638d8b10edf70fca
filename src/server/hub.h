/* In-process fan-out of change events to Server-Sent Events streams. A
 * ring of the most recent events; each reader keeps its own position and
 * learns when it fell so far behind that events were overwritten. */
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

struct hub;

struct hub *hub_new(size_t capacity);
void hub_free(struct hub *hub);

/* Appends an event; takes ownership of data. Wakes every waiting reader. */
void hub_publish(struct hub *hub, enum hub_event_type type, int64_t seq, int64_t task_id,
                 char *data);

/* Counts live readers, so publishers can skip building events that no
 * stream would send. */
void hub_reader_add(struct hub *hub);
void hub_reader_remove(struct hub *hub);
int hub_has_readers(struct hub *hub);

/* The position the next event will get; a new reader starts here. */
uint64_t hub_position(struct hub *hub);

/* Waits up to timeout_ms for events at or after *position, copies them
 * into *out (freed with hub_events_free) and advances *position. With
 * task_id > 0 only that task's events count and are copied. Sets *overrun
 * when events the reader had not seen were overwritten. Returns -1 once the
 * hub is closed. */
int hub_wait(struct hub *hub, uint64_t *position, int64_t task_id, int64_t timeout_ms,
             struct hub_event **out, size_t *count, int *overrun);
void hub_events_free(struct hub_event *events, size_t count);

/* Wakes every reader and makes hub_wait return -1 from now on. */
void hub_close(struct hub *hub);

#endif
