/* Tests of the client's command-line parsing and of --payload loading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/cli_options.h"
#include "cli/cli_payload.h"

static const struct cli_env no_env = {NULL, NULL, NULL};

/* Parses a NULL-terminated argument list. */
static int parse(const struct cli_env *env, struct cli_args *args, char *err, size_t err_len,
                 ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;

    va_start(ap, err_len);
    for (char *arg = va_arg(ap, char *); arg; arg = va_arg(ap, char *))
        argv[argc++] = arg;
    va_end(ap);
    return cli_args_parse(argc, argv, env, args, err, err_len);
}

static void test_submit_all_options(void **state)
{
    struct cli_args args;
    char err[512];

    assert_int_equal(parse(&no_env, &args, err, sizeof(err), "submit", "--payload", "{\"a\":1}",
                           "file-report", "--idempotency-key=k1", "--max-attempts", "3",
                           "--retry-on-failure", "--retry-on-loss", "--backoff-ms", "0",
                           "--timeout", "60", "--wait", "--log", "--json", NULL),
                     0);
    assert_int_equal(args.command, CLI_CMD_SUBMIT);
    assert_string_equal(args.kind, "file-report");
    assert_string_equal(args.payload, "{\"a\":1}");
    assert_string_equal(args.idempotency_key, "k1");
    assert_int_equal(args.max_attempts, 3);
    assert_true(args.retry_on_failure);
    assert_true(args.retry_on_loss);
    assert_int_equal(args.backoff_ms, 0);
    assert_int_equal(args.timeout_s, 60);
    assert_true(args.wait);
    assert_true(args.show_log);
    assert_true(args.json);
}

static void test_unset_numbers_keep_markers(void **state)
{
    struct cli_args args;
    char err[512];

    assert_int_equal(parse(&no_env, &args, err, sizeof(err), "submit", "k", NULL), 0);
    assert_int_equal(args.max_attempts, 0);
    assert_int_equal(args.backoff_ms, -1);
    assert_int_equal(args.timeout_s, -1);
    assert_null(args.payload);
    assert_false(args.wait);
}

static void test_server_and_token_defaults(void **state)
{
    struct cli_args args;
    char err[512];

    assert_int_equal(parse(&no_env, &args, err, sizeof(err), "tasks", NULL), 0);
    assert_string_equal(args.server_url, CLI_DEFAULT_SERVER);
    assert_string_equal(args.server_source, "default");
    assert_null(args.token);
}

static void test_environment_fallbacks(void **state)
{
    struct cli_env env = {"http://127.0.0.2:9000/", NULL, "api-token"};
    struct cli_args args;
    char err[512];

    assert_int_equal(parse(&env, &args, err, sizeof(err), "workers", NULL), 0);
    assert_string_equal(args.server_url, "http://127.0.0.2:9000");
    assert_string_equal(args.server_source, "TASKRELAY_SERVER");
    assert_string_equal(args.token, "api-token");

    env.token = "cli-token";
    assert_int_equal(parse(&env, &args, err, sizeof(err), "workers", NULL), 0);
    assert_string_equal(args.token, "cli-token");
}

static void test_options_override_environment(void **state)
{
    struct cli_env env = {"http://127.0.0.1:1", "env-token", NULL};
    struct cli_args args;
    char err[512];

    assert_int_equal(parse(&env, &args, err, sizeof(err), "status", "--server",
                           "https://localhost:8443//", "7", "--token=opt-token", NULL),
                     0);
    assert_string_equal(args.server_url, "https://localhost:8443");
    assert_string_equal(args.server_source, "--server");
    assert_string_equal(args.token, "opt-token");
    assert_int_equal(args.task_id, 7);
}

static void test_invalid_server_url(void **state)
{
    struct cli_env env = {"127.0.0.1:8080", NULL, NULL};
    struct cli_args args;
    char err[512];

    assert_int_equal(parse(&env, &args, err, sizeof(err), "tasks", NULL), -1);
    assert_non_null(strstr(err, "'127.0.0.1:8080'"));
    assert_non_null(strstr(err, "TASKRELAY_SERVER"));
    assert_int_equal(parse(&no_env, &args, err, sizeof(err), "tasks", "--server", "http://", NULL),
                     -1);
}

static void test_task_id_checked(void **state)
{
    struct cli_args args;
    char err[512];

    assert_int_equal(parse(&no_env, &args, err, sizeof(err), "watch", "0", NULL), -1);
    assert_non_null(strstr(err, "invalid task id '0'"));
    assert_int_equal(parse(&no_env, &args, err, sizeof(err), "cancel", "12ab", NULL), -1);
    assert_int_equal(parse(&no_env, &args, err, sizeof(err), "retry", NULL), -1);
    assert_non_null(strstr(err, "takes one task id"));
    assert_int_equal(parse(&no_env, &args, err, sizeof(err), "status", "1", "2", NULL), -1);
    assert_int_equal(parse(&no_env, &args, err, sizeof(err), "retry", "9007199254740993", NULL),
                     0);
    assert_int_equal(args.task_id, 9007199254740993LL);
}

static void test_unknown_and_misplaced_options(void **state)
{
    struct cli_args args;
    char err[512];

    assert_int_equal(parse(&no_env, &args, err, sizeof(err), "status", "1", "--wait", NULL), -1);
    assert_non_null(strstr(err, "unknown option '--wait' for 'status'"));
    assert_int_equal(parse(&no_env, &args, err, sizeof(err), "tasks", "--nope", NULL), -1);
    assert_int_equal(parse(&no_env, &args, err, sizeof(err), "tasks", "-l", NULL), -1);
    assert_non_null(strstr(err, "two dashes"));
    assert_int_equal(parse(&no_env, &args, err, sizeof(err), "submit", "k", "--payload", NULL),
                     -1);
    assert_non_null(strstr(err, "needs a value"));
    assert_int_equal(parse(&no_env, &args, err, sizeof(err), "submit", "k", "--wait=yes", NULL),
                     -1);
    assert_non_null(strstr(err, "takes no value"));
}

static void test_number_ranges(void **state)
{
    struct cli_args args;
    char err[512];

    assert_int_equal(parse(&no_env, &args, err, sizeof(err), "submit", "k", "--max-attempts",
                           "101", NULL),
                     -1);
    assert_non_null(strstr(err, "from 1 to 100"));
    assert_int_equal(parse(&no_env, &args, err, sizeof(err), "submit", "k", "--timeout", "-1",
                           NULL),
                     -1);
    assert_int_equal(parse(&no_env, &args, err, sizeof(err), "submit", "k", "--timeout",
                           "604801", NULL),
                     -1);
    assert_int_equal(parse(&no_env, &args, err, sizeof(err), "tasks", "--limit", "0", NULL), -1);
    assert_int_equal(parse(&no_env, &args, err, sizeof(err), "tasks", "--limit", "500", NULL), 0);
    assert_int_equal(args.limit, 500);
}

static void test_tasks_filters(void **state)
{
    struct cli_args args;
    char err[512];

    assert_int_equal(parse(&no_env, &args, err, sizeof(err), "tasks", "--status", "running",
                           "--kind", "screenshot", "--cursor", "abc", NULL),
                     0);
    assert_string_equal(args.status_filter, "running");
    assert_string_equal(args.kind_filter, "screenshot");
    assert_string_equal(args.cursor, "abc");
    assert_int_equal(parse(&no_env, &args, err, sizeof(err), "tasks", "--status", "done", NULL),
                     -1);
    assert_non_null(strstr(err, "'done'"));
}

static void test_kind_checked(void **state)
{
    struct cli_args args;
    char err[512];

    assert_int_equal(parse(&no_env, &args, err, sizeof(err), "submit", "bad kind", NULL), -1);
    assert_non_null(strstr(err, "invalid task kind 'bad kind'"));
    assert_int_equal(parse(&no_env, &args, err, sizeof(err), "submit", NULL), -1);
    assert_int_equal(parse(&no_env, &args, err, sizeof(err), "submit", "--", "a/b", NULL), -1);
    assert_int_equal(parse(&no_env, &args, err, sizeof(err), "submit", "--", "a.b_c-d", NULL), 0);
    assert_string_equal(args.kind, "a.b_c-d");
}

static void test_help_skips_checks(void **state)
{
    struct cli_args args;
    char err[512];

    assert_int_equal(parse(&no_env, &args, err, sizeof(err), "status", "--help", NULL), 0);
    assert_true(args.help);
    assert_int_equal(args.command, CLI_CMD_STATUS);
    assert_int_equal(parse(&no_env, &args, err, sizeof(err), "submit", "-h", "--bogus", NULL), 0);
    assert_true(args.help);
    assert_int_equal(parse(&no_env, &args, err, sizeof(err), "nope", NULL), -1);
}

static void test_payload_text_and_default(void **state)
{
    json_t *payload;
    char err[512];

    assert_int_equal(cli_payload_load(NULL, 100, &payload, err, sizeof(err)), 0);
    assert_true(json_is_object(payload));
    assert_int_equal(json_object_size(payload), 0);
    json_decref(payload);

    assert_int_equal(cli_payload_load("{\"dir\": \"/tmp\"}", 100, &payload, err, sizeof(err)), 0);
    assert_string_equal(json_string_value(json_object_get(payload, "dir")), "/tmp");
    json_decref(payload);

    assert_int_equal(cli_payload_load("[1, 2", 100, &payload, err, sizeof(err)), -1);
    assert_null(payload);
    assert_non_null(strstr(err, "--payload (JSON text)"));
    assert_int_equal(cli_payload_load("", 100, &payload, err, sizeof(err)), -1);
    assert_int_equal(cli_payload_load("{\"a\": \"0123456789\"}", 10, &payload, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "limit"));
}

static void test_payload_from_file(void **state)
{
    char path[] = "/tmp/test_cli_payload_XXXXXX";
    char arg[64];
    json_t *payload;
    char err[512];
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, "{\"steps\": 3}", 12), 12);
    close(fd);
    snprintf(arg, sizeof(arg), "@%s", path);
    assert_int_equal(cli_payload_load(arg, 100, &payload, err, sizeof(err)), 0);
    assert_int_equal(json_integer_value(json_object_get(payload, "steps")), 3);
    json_decref(payload);

    /* The error for a readable file with invalid JSON states that the file was read. */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, "{steps}", 7), 7);
    close(fd);
    assert_int_equal(cli_payload_load(arg, 100, &payload, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "the file was read"));

    assert_int_equal(cli_payload_load(arg, 3, &payload, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "larger than the limit"));

    unlink(path);
    assert_int_equal(cli_payload_load(arg, 100, &payload, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot open the file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_submit_all_options),
        cmocka_unit_test(test_unset_numbers_keep_markers),
        cmocka_unit_test(test_server_and_token_defaults),
        cmocka_unit_test(test_environment_fallbacks),
        cmocka_unit_test(test_options_override_environment),
        cmocka_unit_test(test_invalid_server_url),
        cmocka_unit_test(test_task_id_checked),
        cmocka_unit_test(test_unknown_and_misplaced_options),
        cmocka_unit_test(test_number_ranges),
        cmocka_unit_test(test_tasks_filters),
        cmocka_unit_test(test_kind_checked),
        cmocka_unit_test(test_help_skips_checks),
        cmocka_unit_test(test_payload_text_and_default),
        cmocka_unit_test(test_payload_from_file),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
