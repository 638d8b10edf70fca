/* The reporter: one thread per outbox lane (outbox_lane_of), up to 4 and at
 * most one per slot, that sends the lane's reports to the server in order
 * with its own keep-alive HTTP handle. A report is removed once the server
 * responded 2xx. It is retried with exponential backoff (100 ms up to 10 s,
 * with jitter) on connection errors, timeouts, 401, 408, 429 and 5xx. On any
 * other 4xx it is dropped with one log line, so that it never blocks the
 * reports behind it. A 409 stale_attempt or task_canceled also kills the
 * run. */
#ifndef TASKRELAY_REPORTER_H
#define TASKRELAY_REPORTER_H

#include <stddef.h>

#include "worker/outbox.h"
#include "worker/run_table.h"
#include "worker/server_link.h"
#include "worker/supervisor.h"
#include "worker/worker_config.h"

/* The reporter's action on a report after the server's response. */
enum report_disposition {
    REPORT_DONE,     /* delivered */
    REPORT_RETRY,    /* send again after a backoff */
    REPORT_DROP,     /* rejected for good */
    REPORT_KILL_RUN, /* rejected because the run must stop; kill it */
};

/* Maps an HTTP status and error code ("" when none) to the disposition;
 * *reason is set for REPORT_KILL_RUN. Exposed for the unit tests. */
enum report_disposition reporter_classify(long status, const char *error_code,
                                          enum kill_reason *reason);

struct reporter;

/* Starts the threads. They send only while link reports the worker as
 * registered and end after server_link_stop. Arguments are borrowed. Sets
 * *out also on failure, for reporter_join_and_free of the threads that
 * started. */
int reporter_start(const struct worker_config *config, struct outbox *outbox,
                   struct run_table *table, struct supervisor *sup, struct server_link *link,
                   struct reporter **out, char *err, size_t err_len);
/* Waits for the threads to end (call server_link_stop first) and frees
 * the reporter. */
void reporter_join_and_free(struct reporter *reporter);

#endif
