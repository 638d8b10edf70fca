/* The server's shared state, built by server_main and passed to every
 * handler and thread. */
#ifndef TASKRELAY_APP_H
#define TASKRELAY_APP_H

#include <stddef.h>
#include <stdint.h>

#include "server/store.h"

struct server_config {
    const char *listen;
    const char *db_path;
    const char *data_dir;
    size_t max_body;
    int64_t heartbeat_ms;        /* interval handed to workers */
    int offline_after_beats;     /* missed heartbeats before a worker is offline */
    int64_t dispatch_timeout_ms; /* how long a push to /execute may take */
    const char **kinds;          /* kinds accepted even before a worker advertises them */
    size_t kind_count;
    const char *api_token;    /* borrowed from the environment; never logged */
    const char *worker_token; /* likewise */
};

struct hub;
struct dispatcher;
struct sessions;

struct app {
    struct server_config config;
    struct store *store;
    struct hub *hub;
    struct dispatcher *dispatcher;
    struct sessions *sessions;
    volatile int stopping;
};

/* Sends a task's new state to the live streams; seq is its event seq. */
void app_publish_task(struct app *app, const struct task_record *task, int64_t seq);
/* Sends a worker's current state to the live streams. */
void app_publish_worker(struct app *app, const char *worker_id);
/* Loads and publishes a task after a change that returned only its seq. */
void app_publish_task_id(struct app *app, int64_t task_id, int64_t seq);

#endif
