/* Unit tests of the worker's request and response handling: /execute
 * bodies, the reporter's classification of server responses, and the run
 * token match in a process environment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "worker/execute_request.h"
#include "worker/proc_kill.h"
#include "worker/reporter.h"

static int parse(const char *body, struct execute_request *out)
{
    char err[256];

    return execute_request_parse(body, strlen(body), "default", out, err, sizeof(err));
}

static void execute_full_form(void **state)
{
    struct execute_request request;

    assert_int_equal(parse("{\"task_id\": 9, \"kind\": \"shot\", \"attempt\": 2,"
                           " \"payload\": {\"url\": \"x\"}, \"timeout_s\": 30}",
                           &request),
                     0);
    assert_int_equal(request.task_id, 9);
    assert_string_equal(request.kind, "shot");
    assert_int_equal(request.attempt, 2);
    assert_int_equal(request.timeout_s, 30);
    assert_string_equal(request.payload, "{\"url\":\"x\"}");
    execute_request_clear(&request);
}

static void execute_full_form_defaults(void **state)
{
    struct execute_request request;

    assert_int_equal(parse("{\"task_id\": 9, \"attempt\": 1}", &request), 0);
    assert_string_equal(request.kind, "default");
    assert_string_equal(request.payload, "{}");
    assert_int_equal(request.timeout_s, 0);
    execute_request_clear(&request);
}

static void execute_flat_form(void **state)
{
    struct execute_request request;

    assert_int_equal(parse("{\"task_id\": 4, \"url\": \"http://x/\", \"kind\": \"k\"}", &request),
                     0);
    assert_int_equal(request.task_id, 4);
    assert_int_equal(request.attempt, 1);
    assert_string_equal(request.kind, "default");
    assert_string_equal(request.payload, "{\"url\":\"http://x/\",\"kind\":\"k\"}");
    execute_request_clear(&request);
}

static void execute_invalid(void **state)
{
    struct execute_request request;

    assert_int_equal(parse("{", &request), EXECUTE_INVALID_JSON);
    assert_int_equal(parse("[1]", &request), EXECUTE_INVALID_FIELD);
    assert_int_equal(parse("{\"kind\": \"a\"}", &request), EXECUTE_INVALID_FIELD);
    assert_int_equal(parse("{\"task_id\": 0}", &request), EXECUTE_INVALID_FIELD);
    assert_int_equal(parse("{\"task_id\": \"5\"}", &request), EXECUTE_INVALID_FIELD);
    assert_int_equal(parse("{\"task_id\": 5, \"attempt\": 0}", &request), EXECUTE_INVALID_FIELD);
    assert_int_equal(parse("{\"task_id\": 5, \"payload\": {}, \"kind\": 3}", &request),
                     EXECUTE_INVALID_FIELD);
    assert_int_equal(parse("{\"task_id\": 5, \"payload\": {}, \"timeout_s\": -1}", &request),
                     EXECUTE_INVALID_FIELD);
}

static void classify_answers(void **state)
{
    enum kill_reason reason = KILL_TIMEOUT;

    assert_int_equal(reporter_classify(200, "", &reason), REPORT_DONE);
    assert_int_equal(reporter_classify(204, "", &reason), REPORT_DONE);
    assert_int_equal(reporter_classify(500, "", &reason), REPORT_RETRY);
    assert_int_equal(reporter_classify(503, "unavailable", &reason), REPORT_RETRY);
    assert_int_equal(reporter_classify(408, "", &reason), REPORT_RETRY);
    assert_int_equal(reporter_classify(429, "", &reason), REPORT_RETRY);
    assert_int_equal(reporter_classify(401, "unauthorized", &reason), REPORT_RETRY);
    assert_int_equal(reporter_classify(400, "invalid_field", &reason), REPORT_DROP);
    assert_int_equal(reporter_classify(404, "not_found", &reason), REPORT_DROP);
    assert_int_equal(reporter_classify(413, "too_large", &reason), REPORT_DROP);
    assert_int_equal(reporter_classify(409, "conflict", &reason), REPORT_DROP);
    assert_int_equal(reporter_classify(409, "stale_attempt", &reason), REPORT_KILL_RUN);
    assert_int_equal(reason, KILL_STALE);
    assert_int_equal(reporter_classify(409, "task_canceled", &reason), REPORT_KILL_RUN);
    assert_int_equal(reason, KILL_CANCEL);
}

static void environ_token_match(void **state)
{
    static const char env[] = "PATH=/bin\0TASKRELAY_RUN_TOKEN=abc\0HOME=/root";
    static const char longer[] = "TASKRELAY_RUN_TOKEN=abcd\0X=1";
    static const char first[] = "TASKRELAY_RUN_TOKEN=abc";

    assert_true(proc_environ_has_token(env, sizeof(env) - 1, "abc"));
    assert_false(proc_environ_has_token(env, sizeof(env) - 1, "ab"));
    assert_false(proc_environ_has_token(longer, sizeof(longer) - 1, "abc"));
    assert_true(proc_environ_has_token(first, sizeof(first) - 1, "abc"));
    assert_false(proc_environ_has_token("", 0, "abc"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(execute_full_form),
        cmocka_unit_test(execute_full_form_defaults),
        cmocka_unit_test(execute_flat_form),
        cmocka_unit_test(execute_invalid),
        cmocka_unit_test(classify_answers),
        cmocka_unit_test(environ_token_match),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
