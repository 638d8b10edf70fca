/* Unit tests of the run table: slots, duplicates, stale attempts and
 * acknowledgement of final reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "worker/run_table.h"

static void take_until_full(void **state)
{
    struct run_table *table = run_table_new(2);
    long long current = 0;
    int slots, used;

    assert_int_equal(run_table_take(table, 1, 1, &current), RUN_TAKE_OK);
    assert_int_equal(run_table_take(table, 2, 1, &current), RUN_TAKE_OK);
    assert_int_equal(run_table_take(table, 3, 1, &current), RUN_TAKE_BUSY);
    assert_int_equal(current, 1);
    run_table_counts(table, &slots, &used);
    assert_int_equal(slots, 2);
    assert_int_equal(used, 2);
    run_table_free(table);
}

static void same_attempt_is_duplicate(void **state)
{
    struct run_table *table = run_table_new(1);
    long long current = 0;

    assert_int_equal(run_table_take(table, 7, 2, &current), RUN_TAKE_OK);
    assert_int_equal(run_table_take(table, 7, 2, &current), RUN_TAKE_DUPLICATE);
    run_table_release(table, 7, 2);
    assert_int_equal(run_table_take(table, 7, 2, &current), RUN_TAKE_DUPLICATE);
    assert_int_equal(run_table_take(table, 7, 1, &current), RUN_TAKE_STALE);
    assert_int_equal(run_table_take(table, 7, 3, &current), RUN_TAKE_OK);
    run_table_free(table);
}

static void release_frees_slot(void **state)
{
    struct run_table *table = run_table_new(1);
    long long current = 0;
    struct run_view *runs;
    int count;

    assert_int_equal(run_table_take(table, 1, 1, &current), RUN_TAKE_OK);
    run_table_set_phase(table, 1, 1, RUN_RUNNING, 4242);
    run_table_release(table, 1, 1);
    assert_int_equal(run_table_take(table, 2, 1, &current), RUN_TAKE_OK);

    count = run_table_snapshot(table, &runs);
    assert_int_equal(count, 2);
    assert_int_equal(runs[0].phase, RUN_FINISHED);
    assert_int_equal(runs[0].pid, 4242);
    assert_int_equal(runs[1].phase, RUN_STARTING);
    free(runs);
    run_table_free(table);
}

static void ack_forgets_finished_run(void **state)
{
    struct run_table *table = run_table_new(1);
    long long current = 0;
    struct run_view *runs;

    assert_int_equal(run_table_take(table, 1, 1, &current), RUN_TAKE_OK);
    run_table_release(table, 1, 1);
    run_table_ack(table, 1, 1);
    assert_int_equal(run_table_snapshot(table, &runs), 0);
    free(runs);
    /* Still remembered: a repeated push is not run again. */
    assert_int_equal(run_table_take(table, 1, 1, &current), RUN_TAKE_DUPLICATE);
    run_table_free(table);
}

static void ack_before_release(void **state)
{
    struct run_table *table = run_table_new(1);
    long long current = 0;
    struct run_view *runs;
    int slots, used;

    assert_int_equal(run_table_take(table, 1, 1, &current), RUN_TAKE_OK);
    run_table_ack(table, 1, 1);
    assert_int_equal(run_table_snapshot(table, &runs), 1);
    free(runs);
    run_table_release(table, 1, 1);
    assert_int_equal(run_table_snapshot(table, &runs), 0);
    free(runs);
    run_table_counts(table, &slots, &used);
    assert_int_equal(used, 0);
    run_table_free(table);
}

static void shutdown_rejects_new_work(void **state)
{
    struct run_table *table = run_table_new(1);
    long long current = 0;

    assert_int_equal(run_table_take(table, 1, 1, &current), RUN_TAKE_OK);
    run_table_set_shutting_down(table);
    assert_int_equal(run_table_take(table, 2, 1, &current), RUN_TAKE_SHUTTING_DOWN);
    assert_int_equal(run_table_take(table, 1, 1, &current), RUN_TAKE_DUPLICATE);
    assert_true(run_table_is_shutting_down(table));
    run_table_free(table);
}

static void remembered_runs_from_disk(void **state)
{
    struct run_table *table = run_table_new(1);
    long long current = 0;
    struct run_view *runs;

    run_table_remember(table, 5, 3);
    run_table_add_finished(table, 6, 1);
    assert_int_equal(run_table_take(table, 5, 3, &current), RUN_TAKE_DUPLICATE);
    assert_int_equal(run_table_take(table, 5, 2, &current), RUN_TAKE_STALE);
    assert_int_equal(run_table_take(table, 6, 1, &current), RUN_TAKE_DUPLICATE);
    assert_int_equal(run_table_snapshot(table, &runs), 1);
    assert_int_equal(runs[0].phase, RUN_FINISHED);
    free(runs);
    /* A recovered finished run takes no slot. */
    assert_int_equal(run_table_take(table, 9, 1, &current), RUN_TAKE_OK);
    run_table_free(table);
}

static void history_grows_past_initial_size(void **state)
{
    struct run_table *table = run_table_new(1);
    long long current = 0;

    for (long long id = 1; id <= 5000; id++)
        run_table_remember(table, id * 7919, (int)(id % 5) + 1);
    for (long long id = 1; id <= 5000; id++) {
        int attempt = (int)(id % 5) + 1;

        if (run_table_take(table, id * 7919, attempt, &current) != RUN_TAKE_DUPLICATE)
            fail_msg("task %lld attempt %d was forgotten", id * 7919, attempt);
    }
    run_table_free(table);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(take_until_full),
        cmocka_unit_test(same_attempt_is_duplicate),
        cmocka_unit_test(release_frees_slot),
        cmocka_unit_test(ack_forgets_finished_run),
        cmocka_unit_test(ack_before_release),
        cmocka_unit_test(shutdown_rejects_new_work),
        cmocka_unit_test(remembered_runs_from_disk),
        cmocka_unit_test(history_grows_past_initial_size),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
