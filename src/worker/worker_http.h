/* The worker agent's HTTP routes (docs/api.md "Worker agent routes"):
 * POST /execute, GET /health, GET /tasks and POST /tasks/{id}/cancel, all
 * behind the worker token. */
#ifndef TASKRELAY_WORKER_HTTP_H
#define TASKRELAY_WORKER_HTTP_H

#include "common/httpd.h"
#include "worker/run_table.h"
#include "worker/supervisor.h"
#include "worker/worker_config.h"

struct worker_http_app {
    const struct worker_config *config;
    struct run_table *table;
    struct supervisor *sup;
};

/* The httpd handler; app is a struct worker_http_app. */
void worker_http_handle(struct http_exchange *ex, void *app);

#endif
