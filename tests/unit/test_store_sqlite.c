/* Unit tests of the SQLite store on a real database file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/store.h"

struct fixture {
    char dir[64];
    char path[96];
    struct store *store;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[256];

    snprintf(f->dir, sizeof(f->dir), "/tmp/taskrelay-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
    f->store = store_sqlite_open(f->path, err, sizeof(err));
    assert_non_null(f->store);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];

    if (f->store)
        f->store->ops->close(f->store);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static int64_t create_task(struct store *s, const char *key, int max_attempts, int retry_fail,
                           int retry_loss)
{
    struct task_spec spec = {.kind = "demo", .payload = "{\"n\":1}", .idempotency_key = key,
                             .max_attempts = max_attempts, .retry_on_failure = retry_fail,
                             .retry_on_loss = retry_loss, .backoff_ms = 100};
    struct task_record t;
    int existed;
    int64_t seq;
    char err[256];

    assert_int_equal(s->ops->task_create(s, &spec, 1000, &t, &existed, &seq, err, sizeof(err)),
                     STORE_OK);
    assert_true(seq > 0);
    int64_t id = t.id;
    task_record_clear(&t);
    return id;
}

static enum report_outcome report(struct store *s, int64_t id, enum report_type type,
                                  int attempt, int64_t seq, int progress,
                                  enum task_status final, struct task_record *after)
{
    struct task_report r = {.type = type, .worker_id = "w1", .attempt = attempt, .seq = seq,
                            .progress = progress, .final_status = final};
    enum report_outcome outcome;
    int64_t event_seq;

    assert_int_equal(s->ops->task_report(s, id, &r, 2000 + seq, &outcome, after, &event_seq),
                     STORE_OK);
    return outcome;
}

static void idempotency_key_returns_same_task(void **state)
{
    struct fixture *f = *state;
    struct task_spec spec = {.kind = "demo", .payload = "{}", .idempotency_key = "k1",
                             .max_attempts = 1};
    struct task_record t;
    int existed;
    int64_t seq;
    char err[256];
    int64_t first = create_task(f->store, "k1", 1, 0, 0);

    assert_int_equal(f->store->ops->task_create(f->store, &spec, 5, &t, &existed, &seq, err,
                                                sizeof(err)),
                     STORE_OK);
    assert_int_equal(existed, 1);
    assert_int_equal(t.id, first);
    task_record_clear(&t);
}

static void claim_is_conditional(void **state)
{
    struct fixture *f = *state;
    int64_t id = create_task(f->store, NULL, 1, 0, 0);
    int64_t seq;

    assert_int_equal(f->store->ops->task_claim(f->store, id, 1, "w1", 10, &seq), STORE_OK);
    assert_int_equal(f->store->ops->task_claim(f->store, id, 1, "w2", 11, &seq), STORE_CONFLICT);
    assert_int_equal(f->store->ops->task_unclaim(f->store, id, 1, "w2", 12, &seq),
                     STORE_CONFLICT);
    assert_int_equal(f->store->ops->task_unclaim(f->store, id, 1, "w1", 12, &seq), STORE_OK);
    assert_int_equal(f->store->ops->task_claim(f->store, id, 1, "w2", 13, &seq), STORE_OK);
}

static void final_report_first_wins(void **state)
{
    struct fixture *f = *state;
    int64_t id = create_task(f->store, NULL, 1, 0, 0);
    struct task_record t;
    int64_t seq;

    f->store->ops->task_claim(f->store, id, 1, "w1", 10, &seq);
    assert_int_equal(report(f->store, id, REPORT_COMPLETE, 1, 5, -1, TASK_COMPLETED, &t),
                     REPORT_APPLIED);
    task_record_clear(&t);
    assert_int_equal(report(f->store, id, REPORT_START, 1, 1, -1, 0, &t), REPORT_IGNORED);
    task_record_clear(&t);
    assert_int_equal(report(f->store, id, REPORT_PROGRESS, 1, 3, 40, 0, &t), REPORT_IGNORED);
    assert_int_equal(t.status, TASK_COMPLETED);
    assert_int_equal(t.progress, 100);
    task_record_clear(&t);
}

static void older_progress_ignored(void **state)
{
    struct fixture *f = *state;
    int64_t id = create_task(f->store, NULL, 1, 0, 0);
    struct task_record t;
    int64_t seq;

    f->store->ops->task_claim(f->store, id, 1, "w1", 10, &seq);
    assert_int_equal(report(f->store, id, REPORT_PROGRESS, 1, 3, 60, 0, &t), REPORT_APPLIED);
    task_record_clear(&t);
    assert_int_equal(report(f->store, id, REPORT_PROGRESS, 1, 2, 30, 0, &t), REPORT_IGNORED);
    assert_int_equal(t.progress, 60);
    assert_int_equal(t.status, TASK_RUNNING);
    task_record_clear(&t);
}

static void stale_attempt_rejected(void **state)
{
    struct fixture *f = *state;
    int64_t id = create_task(f->store, NULL, 3, 1, 0);
    struct task_record t;
    int64_t seq;

    f->store->ops->task_claim(f->store, id, 1, "w1", 10, &seq);
    assert_int_equal(report(f->store, id, REPORT_COMPLETE, 1, 1, -1, TASK_FAILED, &t),
                     REPORT_APPLIED);
    assert_int_equal(t.status, TASK_PENDING);
    assert_int_equal(t.attempt, 2);
    assert_true(t.not_before > 2000);
    task_record_clear(&t);
    assert_int_equal(report(f->store, id, REPORT_PROGRESS, 1, 2, 50, 0, &t),
                     REPORT_STALE_ATTEMPT);
    task_record_clear(&t);
    assert_int_equal(report(f->store, id, REPORT_PROGRESS, 7, 1, 50, 0, &t),
                     REPORT_UNKNOWN_ATTEMPT);
    task_record_clear(&t);
}

static void canceled_task_rejects_progress(void **state)
{
    struct fixture *f = *state;
    int64_t id = create_task(f->store, NULL, 1, 0, 0);
    struct task_record t;
    int64_t seq;

    f->store->ops->task_claim(f->store, id, 1, "w1", 10, &seq);
    assert_int_equal(f->store->ops->task_cancel(f->store, id, 20, &t, &seq), STORE_OK);
    assert_int_equal(t.status, TASK_CANCELED);
    task_record_clear(&t);
    assert_int_equal(report(f->store, id, REPORT_PROGRESS, 1, 1, 10, 0, &t), REPORT_CANCELED);
    task_record_clear(&t);
    assert_int_equal(f->store->ops->task_cancel(f->store, id, 21, &t, &seq), STORE_CONFLICT);
    task_record_clear(&t);
}

static void retry_starts_new_attempt(void **state)
{
    struct fixture *f = *state;
    int64_t id = create_task(f->store, NULL, 1, 0, 0);
    struct task_record t;
    int64_t seq;

    assert_int_equal(f->store->ops->task_retry(f->store, id, 5, &t, &seq), STORE_CONFLICT);
    task_record_clear(&t);
    f->store->ops->task_claim(f->store, id, 1, "w1", 10, &seq);
    report(f->store, id, REPORT_COMPLETE, 1, 1, -1, TASK_FAILED, &t);
    assert_int_equal(t.status, TASK_FAILED);
    task_record_clear(&t);
    assert_int_equal(f->store->ops->task_retry(f->store, id, 30, &t, &seq), STORE_OK);
    assert_int_equal(t.status, TASK_PENDING);
    assert_int_equal(t.attempt, 2);
    assert_null(t.worker_id);
    task_record_clear(&t);
}

static void retry_waits_for_killed_run(void **state)
{
    struct fixture *f = *state;
    int64_t id = create_task(f->store, NULL, 1, 0, 0);
    struct task_record t;
    int64_t seq;

    f->store->ops->task_claim(f->store, id, 1, "w1", 10, &seq);
    assert_int_equal(f->store->ops->task_cancel(f->store, id, 20, &t, &seq), STORE_OK);
    assert_int_equal(t.run_active, 1);
    task_record_clear(&t);
    assert_int_equal(f->store->ops->task_retry(f->store, id, 30, &t, &seq), STORE_CONFLICT);
    task_record_clear(&t);
    assert_int_equal(report(f->store, id, REPORT_COMPLETE, 1, 4, -1, TASK_CANCELED, &t),
                     REPORT_IGNORED);
    assert_int_equal(t.run_active, 0);
    task_record_clear(&t);
    assert_int_equal(f->store->ops->task_retry(f->store, id, 40, &t, &seq), STORE_OK);
    assert_int_equal(t.attempt, 2);
    task_record_clear(&t);
}

static void lost_task_requeued_when_allowed(void **state)
{
    struct fixture *f = *state;
    int64_t keep = create_task(f->store, NULL, 2, 0, 1);
    int64_t fail = create_task(f->store, NULL, 2, 0, 0);
    struct task_record t;
    int64_t seq;

    f->store->ops->task_claim(f->store, keep, 1, "w1", 10, &seq);
    f->store->ops->task_claim(f->store, fail, 1, "w1", 10, &seq);
    assert_int_equal(f->store->ops->task_lost(f->store, keep, 1, "gone", 50, &t, &seq),
                     STORE_OK);
    assert_int_equal(t.status, TASK_PENDING);
    assert_int_equal(t.attempt, 2);
    task_record_clear(&t);
    assert_int_equal(f->store->ops->task_lost(f->store, fail, 1, "gone", 50, &t, &seq),
                     STORE_OK);
    assert_int_equal(t.status, TASK_FAILED);
    assert_string_equal(t.error, "worker lost: gone");
    task_record_clear(&t);
}

static void log_chunks_deduplicated(void **state)
{
    struct fixture *f = *state;
    int64_t id = create_task(f->store, NULL, 1, 0, 0);
    struct strbuf log;
    int appended;

    assert_int_equal(f->store->ops->task_append_log(f->store, id, 1, 0, "abc", 3, 5, &appended),
                     STORE_OK);
    assert_int_equal(appended, 1);
    f->store->ops->task_append_log(f->store, id, 1, 0, "abc", 3, 6, &appended);
    assert_int_equal(appended, 0);
    f->store->ops->task_append_log(f->store, id, 1, 3, "def", 3, 7, &appended);
    assert_int_equal(appended, 1);
    strbuf_init(&log);
    assert_int_equal(f->store->ops->task_log(f->store, id, &log), STORE_OK);
    assert_string_equal(log.data, "abcdef");
    strbuf_free(&log);
}

static void changes_survive_reopen(void **state)
{
    struct fixture *f = *state;
    int64_t id = create_task(f->store, NULL, 1, 0, 0);
    struct task_change *changes = NULL;
    size_t count = 0;
    struct task_record t;
    char err[256];
    int64_t seq;

    f->store->ops->task_claim(f->store, id, 1, "w1", 10, &seq);
    f->store->ops->close(f->store);
    f->store = store_sqlite_open(f->path, err, sizeof(err));
    assert_non_null(f->store);
    assert_int_equal(f->store->ops->task_get(f->store, id, &t), STORE_OK);
    assert_int_equal(t.status, TASK_DISPATCHED);
    task_record_clear(&t);
    assert_int_equal(f->store->ops->changes_since(f->store, 1, 0, 10, &changes, &count),
                     STORE_OK);
    assert_int_equal(count, 1);
    assert_int_equal(changes[0].task_id, id);
    assert_int_equal(changes[0].seq, seq);
    free(changes);
}

static void list_pages_newest_first(void **state)
{
    struct fixture *f = *state;
    struct task_filter filter = {.limit = 2};
    struct task_record *tasks = NULL;
    size_t count = 0;
    int64_t counts[TASK_STATUS_COUNT];

    for (int i = 0; i < 5; i++)
        create_task(f->store, NULL, 1, 0, 0);
    assert_int_equal(f->store->ops->task_list(f->store, &filter, &tasks, &count, counts),
                     STORE_OK);
    assert_int_equal(count, 2);
    assert_int_equal(tasks[0].id, 5);
    assert_int_equal(tasks[1].id, 4);
    assert_int_equal(counts[TASK_PENDING], 5);
    filter.before_id = tasks[1].id;
    store_free_tasks(tasks, count);
    f->store->ops->task_list(f->store, &filter, &tasks, &count, counts);
    assert_int_equal(count, 2);
    assert_int_equal(tasks[0].id, 3);
    store_free_tasks(tasks, count);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(idempotency_key_returns_same_task, setup, teardown),
        cmocka_unit_test_setup_teardown(claim_is_conditional, setup, teardown),
        cmocka_unit_test_setup_teardown(final_report_first_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(older_progress_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(stale_attempt_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(canceled_task_rejects_progress, setup, teardown),
        cmocka_unit_test_setup_teardown(retry_starts_new_attempt, setup, teardown),
        cmocka_unit_test_setup_teardown(retry_waits_for_killed_run, setup, teardown),
        cmocka_unit_test_setup_teardown(lost_task_requeued_when_allowed, setup, teardown),
        cmocka_unit_test_setup_teardown(log_chunks_deduplicated, setup, teardown),
        cmocka_unit_test_setup_teardown(changes_survive_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(list_pages_newest_first, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
