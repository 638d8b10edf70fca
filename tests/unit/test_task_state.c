/* Unit tests of the task state machine and its small rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/task.h"

static void forward_transitions_allowed(void **state)
{
    assert_true(task_transition_allowed(TASK_PENDING, TASK_DISPATCHED, 0));
    assert_true(task_transition_allowed(TASK_DISPATCHED, TASK_RUNNING, 0));
    assert_true(task_transition_allowed(TASK_RUNNING, TASK_COMPLETED, 0));
    assert_true(task_transition_allowed(TASK_RUNNING, TASK_FAILED, 0));
    assert_true(task_transition_allowed(TASK_PENDING, TASK_CANCELED, 0));
    assert_true(task_transition_allowed(TASK_DISPATCHED, TASK_COMPLETED, 0));
}

static void backward_transitions_rejected(void **state)
{
    assert_false(task_transition_allowed(TASK_RUNNING, TASK_DISPATCHED, 0));
    assert_false(task_transition_allowed(TASK_RUNNING, TASK_PENDING, 0));
    assert_false(task_transition_allowed(TASK_COMPLETED, TASK_RUNNING, 0));
    assert_false(task_transition_allowed(TASK_FAILED, TASK_COMPLETED, 0));
    assert_false(task_transition_allowed(TASK_CANCELED, TASK_RUNNING, 0));
}

static void push_rejection_returns_to_pending(void **state)
{
    assert_true(task_transition_allowed(TASK_DISPATCHED, TASK_PENDING, 0));
}

static void new_attempt_restarts_pending(void **state)
{
    assert_true(task_transition_allowed(TASK_FAILED, TASK_PENDING, 1));
    assert_true(task_transition_allowed(TASK_CANCELED, TASK_PENDING, 1));
    assert_false(task_transition_allowed(TASK_PENDING, TASK_RUNNING, 1));
}

static void terminal_statuses(void **state)
{
    assert_true(task_status_is_terminal(TASK_COMPLETED));
    assert_true(task_status_is_terminal(TASK_FAILED));
    assert_true(task_status_is_terminal(TASK_CANCELED));
    assert_false(task_status_is_terminal(TASK_PENDING));
    assert_false(task_status_is_terminal(TASK_DISPATCHED));
    assert_false(task_status_is_terminal(TASK_RUNNING));
}

static void status_names_round_trip(void **state)
{
    for (int s = 0; s < TASK_STATUS_COUNT; s++) {
        enum task_status parsed;

        assert_int_equal(task_status_parse(task_status_name((enum task_status)s), &parsed), 0);
        assert_int_equal(parsed, s);
    }
    enum task_status unused;
    assert_int_equal(task_status_parse("done", &unused), -1);
}

static void retry_delay_doubles_and_caps(void **state)
{
    assert_int_equal(task_retry_delay_ms(1000, 2), 1000);
    assert_int_equal(task_retry_delay_ms(1000, 3), 2000);
    assert_int_equal(task_retry_delay_ms(1000, 4), 4000);
    assert_int_equal(task_retry_delay_ms(1000, 60), 3600000);
    assert_int_equal(task_retry_delay_ms(0, 5), 0);
}

static void kind_names_validated(void **state)
{
    assert_true(task_kind_valid("screenshot"));
    assert_true(task_kind_valid("file-report_v2.1"));
    assert_false(task_kind_valid(""));
    assert_false(task_kind_valid("has space"));
    assert_false(task_kind_valid("../etc"));
    assert_false(task_kind_valid("0123456789012345678901234567890123456789012345678901234567890123456789"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forward_transitions_allowed),
        cmocka_unit_test(backward_transitions_rejected),
        cmocka_unit_test(push_rejection_returns_to_pending),
        cmocka_unit_test(new_attempt_restarts_pending),
        cmocka_unit_test(terminal_statuses),
        cmocka_unit_test(status_names_round_trip),
        cmocka_unit_test(retry_delay_doubles_and_caps),
        cmocka_unit_test(kind_names_validated),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
