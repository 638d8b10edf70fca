#include "server/hub.h"

#include <errno.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "common/util.h"

/* Readers of one task wait on that task's channel, so an event wakes only
 * the streams that may send it rather than every open stream. */
#define HUB_CHANNELS 64

struct hub {
    pthread_mutex_t lock;
    pthread_cond_t changed; /* any event: streams of all tasks wait here */
    pthread_cond_t channel_changed[HUB_CHANNELS];
    uint64_t channel_next[HUB_CHANNELS]; /* hub position after the channel's newest event */
    struct hub_event *ring;
    size_t capacity;
    uint64_t next; /* position of the next event */
    int closed;
    atomic_int readers;
};

struct hub *hub_new(size_t capacity)
{
    struct hub *hub = xcalloc(1, sizeof(*hub));

    pthread_mutex_init(&hub->lock, NULL);
    cond_init_monotonic(&hub->changed);
    for (int i = 0; i < HUB_CHANNELS; i++)
        cond_init_monotonic(&hub->channel_changed[i]);
    hub->ring = xcalloc(capacity, sizeof(*hub->ring));
    hub->capacity = capacity;
    return hub;
}

void hub_free(struct hub *hub)
{
    if (!hub)
        return;
    for (size_t i = 0; i < hub->capacity; i++)
        free(hub->ring[i].data);
    free(hub->ring);
    for (int i = 0; i < HUB_CHANNELS; i++)
        pthread_cond_destroy(&hub->channel_changed[i]);
    pthread_cond_destroy(&hub->changed);
    pthread_mutex_destroy(&hub->lock);
    free(hub);
}

void hub_publish(struct hub *hub, enum hub_event_type type, int64_t seq, int64_t task_id,
                 char *data)
{
    pthread_mutex_lock(&hub->lock);
    struct hub_event *slot = &hub->ring[hub->next % hub->capacity];

    free(slot->data);
    slot->position = hub->next;
    slot->type = type;
    slot->seq = seq;
    slot->task_id = task_id;
    slot->data = data;
    hub->next++;
    pthread_cond_broadcast(&hub->changed);
    if (task_id > 0) {
        size_t channel = (size_t)task_id % HUB_CHANNELS;

        hub->channel_next[channel] = hub->next;
        pthread_cond_broadcast(&hub->channel_changed[channel]);
    }
    pthread_mutex_unlock(&hub->lock);
}

void hub_reader_add(struct hub *hub)
{
    atomic_fetch_add(&hub->readers, 1);
}

void hub_reader_remove(struct hub *hub)
{
    atomic_fetch_sub(&hub->readers, 1);
}

int hub_has_readers(struct hub *hub)
{
    return atomic_load(&hub->readers) > 0;
}

uint64_t hub_position(struct hub *hub)
{
    uint64_t position;

    pthread_mutex_lock(&hub->lock);
    position = hub->next;
    pthread_mutex_unlock(&hub->lock);
    return position;
}

int hub_wait(struct hub *hub, uint64_t *position, int64_t task_id, int64_t timeout_ms,
             struct hub_event **out, size_t *count, int *overrun)
{
    struct timespec deadline;
    uint64_t oldest;
    size_t channel = task_id > 0 ? (size_t)task_id % HUB_CHANNELS : 0;
    pthread_cond_t *cond = task_id > 0 ? &hub->channel_changed[channel] : &hub->changed;
    const uint64_t *newest = task_id > 0 ? &hub->channel_next[channel] : &hub->next;

    *out = NULL;
    *count = 0;
    *overrun = 0;
    mono_deadline_after(&deadline, timeout_ms);

    pthread_mutex_lock(&hub->lock);
    while (!hub->closed && *newest <= *position) {
        if (pthread_cond_timedwait(cond, &hub->lock, &deadline) == ETIMEDOUT)
            break;
    }
    if (hub->closed) {
        pthread_mutex_unlock(&hub->lock);
        return -1;
    }
    oldest = hub->next > hub->capacity ? hub->next - hub->capacity : 0;
    if (*position < oldest) {
        *overrun = 1;
        *position = oldest;
    }
    if (hub->next > *position) {
        *out = xcalloc((size_t)(hub->next - *position), sizeof(**out));
        for (uint64_t p = *position; p < hub->next; p++) {
            const struct hub_event *e = &hub->ring[p % hub->capacity];

            if (task_id > 0 && e->task_id != task_id)
                continue;
            (*out)[*count] = *e;
            (*out)[*count].data = xstrdup(e->data);
            (*count)++;
        }
        *position = hub->next;
    }
    pthread_mutex_unlock(&hub->lock);
    return 0;
}

void hub_events_free(struct hub_event *events, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(events[i].data);
    free(events);
}

void hub_close(struct hub *hub)
{
    pthread_mutex_lock(&hub->lock);
    hub->closed = 1;
    pthread_cond_broadcast(&hub->changed);
    for (int i = 0; i < HUB_CHANNELS; i++)
        pthread_cond_broadcast(&hub->channel_changed[i]);
    pthread_mutex_unlock(&hub->lock);
}
