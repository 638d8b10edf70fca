#include "server/hub.h"

#include <stdatomic.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "common/util.h"

/* Parked readers of one task wait in that task's channel, so an event
 * wakes only the streams that may send it rather than every open stream. */
#define HUB_CHANNELS 64
/* How often the keepalive thread looks for idle parked readers. */
#define IDLE_CHECK_MS 1000

struct parker_list {
    struct hub_parker *head;
};

struct hub {
    pthread_mutex_t lock;
    uint64_t channel_next[HUB_CHANNELS]; /* hub position after the channel's newest event */
    struct parker_list parked_all;       /* readers of every task */
    struct parker_list parked[HUB_CHANNELS];
    struct hub_event *ring;
    size_t capacity;
    uint64_t next; /* position of the next event */
    int closed;
    atomic_int readers;

    int64_t idle_wake_ms;
    pthread_t idle_thread;
    pthread_cond_t idle_cond; /* signalled on close */

    /* Wake functions called outside the lock and not yet returned, so
     * hub_close can wait until every parked connection was resumed. */
    int wakes_running;
    pthread_cond_t wakes_done;
};

static size_t channel_of(int64_t task_id)
{
    return (size_t)task_id % HUB_CHANNELS;
}

static struct parker_list *list_of(struct hub *hub, const struct hub_parker *p)
{
    return p->task_id > 0 ? &hub->parked[channel_of(p->task_id)] : &hub->parked_all;
}

static void list_remove(struct parker_list *list, struct hub_parker *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        list->head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->prev = p->next = NULL;
    p->parked = 0;
}

/* Moves the parkers of list that match task_id (any, when task_id < 0)
 * onto *woken. Lock held. */
static void collect(struct parker_list *list, int64_t task_id, int64_t idle_before_ms,
                    struct hub_parker **woken)
{
    struct hub_parker *p = list->head;

    while (p) {
        struct hub_parker *next = p->next;

        if ((task_id < 0 || p->task_id == task_id) && p->parked_at_ms <= idle_before_ms) {
            list_remove(list, p);
            p->next = *woken;
            *woken = p;
        }
        p = next;
    }
}

/* Calls the wake functions of parkers that already left the hub. Lock
 * held on entry and return, released while they run. */
static void wake_all(struct hub *hub, struct hub_parker *woken)
{
    if (!woken)
        return;
    hub->wakes_running++;
    pthread_mutex_unlock(&hub->lock);
    while (woken) {
        struct hub_parker *next = woken->next;

        woken->next = NULL;
        woken->wake(woken->ctx);
        woken = next;
    }
    pthread_mutex_lock(&hub->lock);
    if (--hub->wakes_running == 0)
        pthread_cond_broadcast(&hub->wakes_done);
}

/* Wakes readers parked for longer than the keepalive interval. */
static void *idle_main(void *arg)
{
    struct hub *hub = arg;
    struct timespec deadline;

    pthread_mutex_lock(&hub->lock);
    while (!hub->closed) {
        struct hub_parker *woken = NULL;
        int64_t idle_before_ms;

        mono_deadline_after(&deadline, IDLE_CHECK_MS);
        pthread_cond_timedwait(&hub->idle_cond, &hub->lock, &deadline);
        idle_before_ms = mono_ms() - hub->idle_wake_ms;
        collect(&hub->parked_all, -1, idle_before_ms, &woken);
        for (int i = 0; i < HUB_CHANNELS; i++)
            collect(&hub->parked[i], -1, idle_before_ms, &woken);
        wake_all(hub, woken);
    }
    pthread_mutex_unlock(&hub->lock);
    return NULL;
}

struct hub *hub_new(size_t capacity, int64_t idle_wake_ms)
{
    struct hub *hub = xcalloc(1, sizeof(*hub));

    pthread_mutex_init(&hub->lock, NULL);
    cond_init_monotonic(&hub->idle_cond);
    pthread_cond_init(&hub->wakes_done, NULL);
    hub->ring = xcalloc(capacity, sizeof(*hub->ring));
    hub->capacity = capacity;
    hub->idle_wake_ms = idle_wake_ms;
    pthread_create(&hub->idle_thread, NULL, idle_main, hub);
    return hub;
}

void hub_free(struct hub *hub)
{
    if (!hub)
        return;
    hub_close(hub);
    pthread_join(hub->idle_thread, NULL);
    for (size_t i = 0; i < hub->capacity; i++)
        free(hub->ring[i].data);
    free(hub->ring);
    pthread_cond_destroy(&hub->idle_cond);
    pthread_cond_destroy(&hub->wakes_done);
    pthread_mutex_destroy(&hub->lock);
    free(hub);
}

void hub_publish(struct hub *hub, enum hub_event_type type, int64_t seq, int64_t task_id,
                 char *data)
{
    struct hub_parker *woken = NULL;

    pthread_mutex_lock(&hub->lock);
    struct hub_event *slot = &hub->ring[hub->next % hub->capacity];

    free(slot->data);
    slot->position = hub->next;
    slot->type = type;
    slot->seq = seq;
    slot->task_id = task_id;
    slot->data = data;
    hub->next++;
    /* Streams of all tasks do not send log output. */
    if (type != HUB_LOG)
        collect(&hub->parked_all, -1, INT64_MAX, &woken);
    if (task_id > 0) {
        hub->channel_next[channel_of(task_id)] = hub->next;
        collect(&hub->parked[channel_of(task_id)], task_id, INT64_MAX, &woken);
    }
    wake_all(hub, woken);
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

int hub_take(struct hub *hub, uint64_t *position, int64_t task_id, struct hub_event **out,
             size_t *count, int *overrun)
{
    uint64_t oldest;

    *out = NULL;
    *count = 0;
    *overrun = 0;
    pthread_mutex_lock(&hub->lock);
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

int hub_park(struct hub *hub, struct hub_parker *p, uint64_t position)
{
    struct parker_list *list = list_of(hub, p);
    uint64_t newest;

    pthread_mutex_lock(&hub->lock);
    newest = p->task_id > 0 ? hub->channel_next[channel_of(p->task_id)] : hub->next;
    if (hub->closed || newest > position) {
        pthread_mutex_unlock(&hub->lock);
        return 1;
    }
    p->parked = 1;
    p->parked_at_ms = mono_ms();
    p->prev = NULL;
    p->next = list->head;
    if (list->head)
        list->head->prev = p;
    list->head = p;
    pthread_mutex_unlock(&hub->lock);
    return 0;
}

void hub_unpark(struct hub *hub, struct hub_parker *p)
{
    pthread_mutex_lock(&hub->lock);
    if (p->parked)
        list_remove(list_of(hub, p), p);
    pthread_mutex_unlock(&hub->lock);
}

void hub_close(struct hub *hub)
{
    struct hub_parker *woken = NULL;

    pthread_mutex_lock(&hub->lock);
    hub->closed = 1;
    collect(&hub->parked_all, -1, INT64_MAX, &woken);
    for (int i = 0; i < HUB_CHANNELS; i++)
        collect(&hub->parked[i], -1, INT64_MAX, &woken);
    pthread_cond_signal(&hub->idle_cond);
    wake_all(hub, woken);
    /* A publisher may still be resuming streams it took out before the
     * close; the HTTP daemon must not stop while one is suspended. */
    while (hub->wakes_running > 0)
        pthread_cond_wait(&hub->wakes_done, &hub->lock);
    pthread_mutex_unlock(&hub->lock);
}
