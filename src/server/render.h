/* JSON views of tasks, workers and events, as docs/api.md defines them.
 * Each returns a new reference. */
#ifndef TASKRELAY_RENDER_H
#define TASKRELAY_RENDER_H

#include <jansson.h>

#include "server/store.h"

json_t *render_task(const struct task_record *task);
/* The task without its payload, for lists and live events, whose size must
 * not grow with the payload; "payload_bytes" gives the payload's size. */
json_t *render_task_summary(const struct task_record *task);
json_t *render_event(const struct task_event *event);
/* tasks may be NULL; it lists the runs the worker holds. */
json_t *render_worker(const struct worker_record *worker, const struct task_record *tasks,
                      size_t task_count);

#endif
