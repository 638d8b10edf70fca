/* Crash recovery at start, before the HTTP port opens: runs that state.json
 * records as not finished belonged to a worker process that died, so their
 * leftover processes are killed and each gets a complete report with
 * "lost": true. Every run found is remembered, so a repeated /execute of
 * the same attempt is not run again, and runs whose complete report is
 * still in the outbox are listed as finished in heartbeats. */
#ifndef TASKRELAY_RECOVERY_H
#define TASKRELAY_RECOVERY_H

#include <stddef.h>

#include "worker/outbox.h"
#include "worker/run_table.h"
#include "worker/worker_config.h"

int recovery_run(const struct worker_config *config, struct run_table *table,
                 struct outbox *outbox, char *err, size_t err_len);

#endif
