#include "worker/server_link.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

void server_link_init(struct server_link *link)
{
    pthread_condattr_t attr;

    pthread_mutex_init(&link->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&link->changed, &attr);
    pthread_condattr_destroy(&attr);
    link->registered = 0;
    link->stopping = 0;
}

void server_link_destroy(struct server_link *link)
{
    pthread_mutex_destroy(&link->lock);
    pthread_cond_destroy(&link->changed);
}

static struct timespec deadline_after(int wait_ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += wait_ms / 1000;
    ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

void server_link_set_registered(struct server_link *link, int registered)
{
    pthread_mutex_lock(&link->lock);
    link->registered = registered;
    pthread_cond_broadcast(&link->changed);
    pthread_mutex_unlock(&link->lock);
}

int server_link_wait_registered(struct server_link *link, int wait_ms)
{
    struct timespec deadline = deadline_after(wait_ms);
    int registered;

    pthread_mutex_lock(&link->lock);
    while (!link->registered && !link->stopping) {
        if (pthread_cond_timedwait(&link->changed, &link->lock, &deadline) == ETIMEDOUT)
            break;
    }
    registered = link->registered;
    pthread_mutex_unlock(&link->lock);
    return registered;
}

int server_link_sleep(struct server_link *link, int wait_ms)
{
    struct timespec deadline = deadline_after(wait_ms);
    int stopping;

    pthread_mutex_lock(&link->lock);
    while (!link->stopping) {
        if (pthread_cond_timedwait(&link->changed, &link->lock, &deadline) == ETIMEDOUT)
            break;
    }
    stopping = link->stopping;
    pthread_mutex_unlock(&link->lock);
    return stopping;
}

void server_link_stop(struct server_link *link)
{
    pthread_mutex_lock(&link->lock);
    link->stopping = 1;
    pthread_cond_broadcast(&link->changed);
    pthread_mutex_unlock(&link->lock);
}

int server_link_stopping(struct server_link *link)
{
    int stopping;

    pthread_mutex_lock(&link->lock);
    stopping = link->stopping;
    pthread_mutex_unlock(&link->lock);
    return stopping;
}

int backoff_with_jitter(int base_ms)
{
    int half = base_ms / 2;

    return half + (half > 0 ? (int)(random() % (half + 1)) : 0);
}
