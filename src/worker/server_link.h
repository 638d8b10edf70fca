/* State shared by the threads that talk to the server: whether the worker
 * is registered, and the stop request. Sleeps end early on a stop. */
#ifndef TASKRELAY_SERVER_LINK_H
#define TASKRELAY_SERVER_LINK_H

#include <pthread.h>

struct server_link {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int registered;
    int stopping;
};

void server_link_init(struct server_link *link);
void server_link_destroy(struct server_link *link);

void server_link_set_registered(struct server_link *link, int registered);
/* Waits up to wait_ms for the worker to be registered; returns 1 when it is. */
int server_link_wait_registered(struct server_link *link, int wait_ms);

/* Sleeps wait_ms or until server_link_stop; returns 1 when stopping. */
int server_link_sleep(struct server_link *link, int wait_ms);
void server_link_stop(struct server_link *link);
int server_link_stopping(struct server_link *link);

/* Returns a delay in [base_ms / 2, base_ms], so that workers retrying
 * after the same outage spread out. */
int backoff_with_jitter(int base_ms);

#endif
