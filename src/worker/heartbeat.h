/* Registration and heartbeats: one thread registers the worker (retrying
 * with backoff until the server accepts), then sends a heartbeat every
 * heartbeat_ms with its slots and runs, kills the runs listed in the
 * response's "cancel", and registers again when the server responds 404. */
#ifndef TASKRELAY_HEARTBEAT_H
#define TASKRELAY_HEARTBEAT_H

#include <jansson.h>
#include <stddef.h>

#include "worker/run_table.h"
#include "worker/server_link.h"
#include "worker/supervisor.h"
#include "worker/worker_config.h"

struct heartbeat;

/* Builds the heartbeat body from a run table; exposed for the unit tests. */
json_t *heartbeat_body(struct run_table *table);

/* Arguments are borrowed. Ends after server_link_stop. */
struct heartbeat *heartbeat_start(const struct worker_config *config, struct run_table *table,
                                  struct supervisor *sup, struct server_link *link, char *err,
                                  size_t err_len);
void heartbeat_join_and_free(struct heartbeat *heartbeat);

#endif
