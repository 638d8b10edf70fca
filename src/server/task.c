#include "server/task.h"

#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "common/util.h"

static const char *const status_names[TASK_STATUS_COUNT] = {
    "pending", "dispatched", "running", "completed", "failed", "canceled",
};

const char *task_status_name(enum task_status status)
{
    return status < TASK_STATUS_COUNT ? status_names[status] : "unknown";
}

int task_status_parse(const char *name, enum task_status *out)
{
    for (int i = 0; i < TASK_STATUS_COUNT; i++) {
        if (strcmp(name, status_names[i]) == 0) {
            *out = (enum task_status)i;
            return 0;
        }
    }
    return -1;
}

int task_status_is_terminal(enum task_status status)
{
    return status == TASK_COMPLETED || status == TASK_FAILED || status == TASK_CANCELED;
}

int task_transition_allowed(enum task_status from, enum task_status to, int new_attempt)
{
    if (new_attempt)
        return to == TASK_PENDING && (task_status_is_terminal(from) || from == TASK_DISPATCHED ||
                                      from == TASK_RUNNING);
    if (task_status_is_terminal(from))
        return 0;
    if (from == TASK_DISPATCHED && to == TASK_PENDING)
        return 1;
    return to > from;
}

int64_t task_retry_delay_ms(int64_t backoff_ms, int attempt)
{
    int64_t delay = backoff_ms;
    const int64_t cap = 3600000;

    for (int i = 2; i < attempt && delay < cap; i++)
        delay *= 2;
    return delay < cap ? delay : cap;
}

int task_kind_valid(const char *kind)
{
    return name_chars_valid(kind, LIMIT_KIND_LEN);
}

void task_record_clear(struct task_record *task)
{
    free(task->kind);
    free(task->payload);
    free(task->message);
    free(task->worker_id);
    free(task->idempotency_key);
    free(task->error);
    free(task->result);
    free(task->log_tail);
    memset(task, 0, sizeof(*task));
}

static const char *const worker_status_names[] = {"online", "busy", "offline"};

const char *worker_status_name(enum worker_status status)
{
    return status <= WORKER_OFFLINE ? worker_status_names[status] : "unknown";
}

void worker_record_clear(struct worker_record *worker)
{
    free(worker->id);
    free(worker->url);
    free(worker->kinds);
    free(worker->version);
    free(worker->address);
    memset(worker, 0, sizeof(*worker));
}
