/* Following one task until it ends, for "watch" and "submit --wait". */
#ifndef TASKRELAY_CLI_FOLLOW_H
#define TASKRELAY_CLI_FOLLOW_H

#include <jansson.h>

#include "cli/cli_client.h"

/* Consecutive failed connections to the task stream before giving up. */
#define CLI_FOLLOW_MAX_RECONNECTS 10
/* Bounds of the wait before a reconnect, which doubles per failure. */
#define CLI_FOLLOW_BACKOFF_MIN_MS 250
#define CLI_FOLLOW_BACKOFF_MAX_MS 5000

/* Follows task_id until it is completed, failed or canceled, drawing the
 * live view (see cli_live.h) and a closing summary on stderr.
 *
 * It reads the task first, so a task that already ended returns at once.
 * Then it reads the task's events to learn the newest event id and reads
 * GET /api/v1/tasks/{id}/stream from there, so no change in between is
 * lost. After a drop it reads the task again and reconnects with
 * Last-Event-ID, waiting CLI_FOLLOW_BACKOFF_MIN_MS to _MAX_MS.
 *
 * Returns the exit status: 0 when the task completed, 1 when it failed or
 * was canceled, 3 when the server could not be reached or rejected a
 * request, and 130 after SIGINT (the task goes on). *final_task receives
 * the last task object when the task ended (the caller owns it), else NULL. */
int cli_follow_task(struct cli_client *client, long long task_id, int show_log,
                    json_t **final_task);

#endif
