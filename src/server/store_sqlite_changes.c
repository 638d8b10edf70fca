/* SQLite backend: every change of a task's state. Each operation loads the
 * row, checks the change against the state machine, writes the row and an
 * event, and commits. All of it is one transaction under the store lock, so
 * two writers can never both apply a change to the same old state. */
#include "server/store_sqlite.h"

#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "common/log.h"

/* A change applied to a loaded task. Returns STORE_OK after changing t and
 * naming the event in *event_type (NULL = nothing to write, "" = save the
 * row without an event), or an error code to roll back. It may insert
 * intermediate events itself. */
typedef int (*task_change_fn)(struct sqlite_store *s, struct task_record *t, void *ctx,
                              int64_t now, const char **event_type);

/* Loads task id, applies change and commits. With wait == 0 the caller
 * may reply before the commit reaches the disk. */
static int change_task(struct store *store, int64_t id, int64_t now, task_change_fn change,
                       void *ctx, int wait, struct task_record *after, int64_t *seq)
{
    struct sqlite_store *s = sqlite_store_of(store);
    struct task_record t;
    const char *event_type = NULL;
    int rc;

    int64_t event_seq = -1;

    memset(&t, 0, sizeof(t));
    if (seq)
        *seq = 0;
    rc = sq_write_begin(s);
    if (rc != STORE_OK)
        goto out;
    rc = sq_load_task(s, id, &t);
    if (rc == STORE_OK)
        rc = change(s, &t, ctx, now, &event_type);
    if (rc == STORE_OK && event_type) {
        t.updated_at = now;
        rc = sq_save_task(s, &t);
        event_seq = 0;
        if (rc == STORE_OK && event_type[0])
            event_seq = sq_insert_event(s, &t, event_type, now);
        if (event_seq < 0)
            rc = STORE_FAILED;
    }
    if (sq_write_end(s, rc == STORE_OK && event_type, wait) != STORE_OK)
        rc = STORE_FAILED;
    if (rc == STORE_OK && event_type && event_type[0] && seq)
        *seq = event_seq;
out:
    if (after && t.id) {
        *after = t;
    } else {
        task_record_clear(&t);
        if (after)
            memset(after, 0, sizeof(*after));
    }
    return rc;
}

static void replace_text(char **field, const char *value)
{
    free(*field);
    *field = value ? xstrdup(value) : NULL;
}

/* Starts attempt + 1 after a failure: the task waits its backoff, then is
 * dispatched again. The caller has already written the failure event. */
static void start_next_attempt(struct task_record *t, int64_t now, int64_t delay_ms)
{
    t->attempt++;
    t->status = TASK_PENDING;
    t->run_active = 0;
    t->progress = 0;
    replace_text(&t->worker_id, NULL);
    t->report_seq = 0;
    t->log_len = 0;
    t->not_before = now + delay_ms;
    t->dispatched_at = 0;
    t->started_at = 0;
    t->finished_at = 0;
}

static void count_worker_result(struct sqlite_store *s, const char *worker_id, int completed)
{
    sqlite3_stmt *stmt = sq_prepare(s, completed
                                           ? "UPDATE workers SET completed = completed + 1 "
                                             "WHERE id = ?"
                                           : "UPDATE workers SET failed = failed + 1 "
                                             "WHERE id = ?");
    if (!stmt || !worker_id) {
        sq_done(stmt);
        return;
    }
    sqlite3_bind_text(stmt, 1, worker_id, -1, SQLITE_STATIC);
    sqlite3_step(stmt);
    sq_done(stmt);
}

/* Fails the attempt, or requeues it when allowed_retry and attempts remain.
 * event_type names the failure ("failed" or "lost"). */
static int fail_attempt(struct sqlite_store *s, struct task_record *t, int allowed_retry,
                        const char *failure_event, int64_t now, const char **event_type)
{
    count_worker_result(s, t->worker_id, 0);
    t->status = TASK_FAILED;
    t->finished_at = now;
    if (!allowed_retry || t->attempt >= t->max_attempts) {
        *event_type = failure_event;
        return STORE_OK;
    }
    if (sq_insert_event(s, t, failure_event, now) < 0)
        return STORE_FAILED;
    start_next_attempt(t, now, task_retry_delay_ms(t->backoff_ms, t->attempt + 1));
    *event_type = "requeued";
    return STORE_OK;
}

struct claim_ctx {
    int attempt;
    const char *worker_id;
};

static int apply_claim(struct sqlite_store *s, struct task_record *t, void *ctx, int64_t now,
                       const char **event_type)
{
    struct claim_ctx *c = ctx;

    if (t->status != TASK_PENDING || t->attempt != c->attempt)
        return STORE_CONFLICT;
    t->status = TASK_DISPATCHED;
    t->run_active = 1;
    replace_text(&t->worker_id, c->worker_id);
    t->dispatched_at = now;
    *event_type = "dispatched";
    return STORE_OK;
}

int sq_task_claim(struct store *store, int64_t id, int attempt, const char *worker_id,
                  int64_t now, int64_t *seq)
{
    struct claim_ctx c = {attempt, worker_id};

    return change_task(store, id, now, apply_claim, &c, 0, NULL, seq);
}

static int apply_unclaim(struct sqlite_store *s, struct task_record *t, void *ctx, int64_t now,
                         const char **event_type)
{
    struct claim_ctx *c = ctx;

    /* Only a push that never started the run may be undone: no report of
     * the attempt has arrived. */
    if (t->status != TASK_DISPATCHED || t->attempt != c->attempt || t->report_seq != 0 ||
        !t->worker_id || strcmp(t->worker_id, c->worker_id) != 0)
        return STORE_CONFLICT;
    t->status = TASK_PENDING;
    t->run_active = 0;
    replace_text(&t->worker_id, NULL);
    t->dispatched_at = 0;
    *event_type = "requeued";
    return STORE_OK;
}

int sq_task_unclaim(struct store *store, int64_t id, int attempt, const char *worker_id,
                    int64_t now, int64_t *seq)
{
    struct claim_ctx c = {attempt, worker_id};

    return change_task(store, id, now, apply_unclaim, &c, 1, NULL, seq);
}

struct report_ctx {
    const struct task_report *report;
    enum report_outcome outcome;
};

static int apply_complete(struct sqlite_store *s, struct task_record *t,
                          const struct task_report *r, int64_t now, const char **event_type)
{
    if (r->log_tail)
        replace_text(&t->log_tail, r->log_tail);
    if (r->result)
        replace_text(&t->result, r->result);
    if (r->message)
        replace_text(&t->message, r->message);
    if (r->error)
        replace_text(&t->error, r->error);
    if (!t->started_at)
        t->started_at = now;
    t->run_active = 0;

    switch (r->final_status) {
    case TASK_COMPLETED:
        count_worker_result(s, t->worker_id, 1);
        t->status = TASK_COMPLETED;
        t->progress = 100;
        t->finished_at = now;
        *event_type = "completed";
        return STORE_OK;
    case TASK_CANCELED:
        t->status = TASK_CANCELED;
        t->finished_at = now;
        *event_type = "canceled";
        return STORE_OK;
    default:
        if (r->lost)
            return fail_attempt(s, t, t->retry_on_loss, "lost", now, event_type);
        return fail_attempt(s, t, t->retry_on_failure, "failed", now, event_type);
    }
}

/* Checks a report against the task's attempt, owner and state. Returns
 * REPORT_APPLIED when the report may change the task. */
static enum report_outcome check_report(const struct task_record *t,
                                        const struct task_report *r, int attempt)
{
    if (attempt < t->attempt)
        return REPORT_STALE_ATTEMPT;
    if (attempt > t->attempt)
        return REPORT_UNKNOWN_ATTEMPT;
    if (task_status_is_terminal(t->status)) {
        if (t->status == TASK_CANCELED && r->type != REPORT_COMPLETE)
            return REPORT_CANCELED;
        return REPORT_IGNORED;
    }
    if (t->worker_id && r->worker_id && strcmp(t->worker_id, r->worker_id) != 0)
        return REPORT_WRONG_WORKER;
    return REPORT_APPLIED;
}

static int apply_report(struct sqlite_store *s, struct task_record *t, void *ctx, int64_t now,
                        const char **event_type)
{
    struct report_ctx *c = ctx;
    const struct task_report *r = c->report;
    int attempt = r->attempt ? r->attempt : t->attempt;
    int64_t seq;

    c->outcome = check_report(t, r, attempt);
    if (c->outcome == REPORT_IGNORED && r->type == REPORT_COMPLETE && attempt == t->attempt &&
        t->run_active) {
        /* The final report of a canceled run: the worker's slot is free. */
        t->run_active = 0;
        *event_type = "";
        return STORE_OK;
    }
    if (c->outcome != REPORT_APPLIED)
        return STORE_OK;

    /* Reports apply in seq order: one at or below the last applied is a
     * duplicate or was overtaken, and changes nothing. */
    seq = r->seq ? r->seq : t->report_seq + 1;
    if (seq <= t->report_seq) {
        c->outcome = REPORT_IGNORED;
        return STORE_OK;
    }
    t->report_seq = seq;

    /* A pending task gets a report when the worker's reply to its push came
     * too late to count: the worker runs it, so it becomes the owner. */
    if (!t->worker_id && r->worker_id)
        replace_text(&t->worker_id, r->worker_id);
    if (t->status < TASK_RUNNING && r->type != REPORT_COMPLETE) {
        t->status = TASK_RUNNING;
        t->started_at = now;
    }
    if (r->type == REPORT_COMPLETE)
        return apply_complete(s, t, r, now, event_type);
    if (r->type == REPORT_START) {
        *event_type = "started";
        return STORE_OK;
    }
    if (r->progress >= 0)
        t->progress = r->progress;
    if (r->message)
        replace_text(&t->message, r->message);
    *event_type = "progress";
    return STORE_OK;
}

int sq_task_report(struct store *store, int64_t id, const struct task_report *report,
                   int64_t now, enum report_outcome *outcome, struct task_record *after,
                   int64_t *seq)
{
    struct report_ctx c = {report, REPORT_IGNORED};
    int rc = change_task(store, id, now, apply_report, &c, 0, after, seq);

    *outcome = c.outcome;
    return rc;
}

static int apply_cancel(struct sqlite_store *s, struct task_record *t, void *ctx, int64_t now,
                        const char **event_type)
{
    if (task_status_is_terminal(t->status))
        return STORE_CONFLICT;
    t->status = TASK_CANCELED;
    t->finished_at = now;
    *event_type = "canceled";
    return STORE_OK;
}

int sq_task_cancel(struct store *store, int64_t id, int64_t now, struct task_record *after,
                   int64_t *seq)
{
    return change_task(store, id, now, apply_cancel, NULL, 1, after, seq);
}

static int apply_retry(struct sqlite_store *s, struct task_record *t, void *ctx, int64_t now,
                       const char **event_type)
{
    if (t->status != TASK_FAILED && t->status != TASK_CANCELED)
        return STORE_CONFLICT;
    /* The canceled attempt is still being killed on its worker. */
    if (t->run_active)
        return STORE_CONFLICT;
    start_next_attempt(t, now, 0);
    replace_text(&t->error, NULL);
    replace_text(&t->result, NULL);
    replace_text(&t->log_tail, NULL);
    replace_text(&t->message, NULL);
    if (t->max_attempts < t->attempt)
        t->max_attempts = t->attempt;
    *event_type = "requeued";
    return STORE_OK;
}

int sq_task_retry(struct store *store, int64_t id, int64_t now, struct task_record *after,
                  int64_t *seq)
{
    return change_task(store, id, now, apply_retry, NULL, 1, after, seq);
}

struct lost_ctx {
    int attempt;
    const char *reason;
};

static int apply_lost(struct sqlite_store *s, struct task_record *t, void *ctx, int64_t now,
                      const char **event_type)
{
    struct lost_ctx *c = ctx;
    char *error;

    if (t->attempt != c->attempt)
        return STORE_CONFLICT;
    if (task_status_is_terminal(t->status)) {
        /* A canceled run whose end the worker never confirmed. */
        if (!t->run_active)
            return STORE_CONFLICT;
        t->run_active = 0;
        *event_type = "";
        return STORE_OK;
    }
    if (t->status != TASK_DISPATCHED && t->status != TASK_RUNNING)
        return STORE_CONFLICT;
    t->run_active = 0;
    error = xasprintf("worker lost: %s", c->reason);
    replace_text(&t->error, error);
    replace_text(&t->message, error);
    free(error);
    return fail_attempt(s, t, t->retry_on_loss, "lost", now, event_type);
}

int sq_task_lost(struct store *store, int64_t id, int attempt, const char *reason, int64_t now,
                 struct task_record *after, int64_t *seq)
{
    struct lost_ctx c = {attempt, reason};

    return change_task(store, id, now, apply_lost, &c, 1, after, seq);
}

static int insert_log_chunk(struct sqlite_store *s, int64_t id, int attempt, int64_t offset,
                            const char *text, size_t len)
{
    sqlite3_stmt *stmt = sq_prepare(
        s, "INSERT OR IGNORE INTO task_logs (task_id, attempt, offset, text) VALUES (?, ?, ?, ?)");
    int rc;

    if (!stmt)
        return STORE_FAILED;
    sqlite3_bind_int64(stmt, 1, id);
    sqlite3_bind_int(stmt, 2, attempt);
    sqlite3_bind_int64(stmt, 3, offset);
    sqlite3_bind_blob(stmt, 4, text, (int)len, SQLITE_STATIC);
    rc = sqlite3_step(stmt) == SQLITE_DONE ? STORE_OK : STORE_FAILED;
    sq_done(stmt);
    return rc;
}

int sq_task_append_log(struct store *store, int64_t id, int attempt, int64_t offset,
                       const char *text, size_t len, int64_t now, int *appended)
{
    struct sqlite_store *s = sqlite_store_of(store);
    struct task_record t;
    int rc;

    *appended = 0;
    memset(&t, 0, sizeof(t));
    rc = sq_write_begin(s);
    if (rc != STORE_OK)
        return rc;
    rc = sq_load_task(s, id, &t);
    if (rc != STORE_OK || t.attempt != attempt || offset < t.log_len ||
        t.log_len >= LIMIT_LIVE_LOG_LEN || task_status_is_terminal(t.status)) {
        sq_write_end(s, 0, 0);
        goto out;
    }
    if ((int64_t)len > LIMIT_LIVE_LOG_LEN - t.log_len)
        len = (size_t)(LIMIT_LIVE_LOG_LEN - t.log_len);
    rc = insert_log_chunk(s, id, attempt, offset, text, len);
    t.log_len = offset + (int64_t)len;
    t.updated_at = now;
    if (rc == STORE_OK)
        rc = sq_save_task(s, &t);
    if (sq_write_end(s, rc == STORE_OK, 0) != STORE_OK)
        rc = STORE_FAILED;
    *appended = rc == STORE_OK;
out:
    task_record_clear(&t);
    return rc;
}
