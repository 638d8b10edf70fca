/* Unit tests of the worker's settings: --kind specs, the JSON config file
 * and the checks that fill the defaults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "worker/worker_config.h"

static void init_with_token(struct worker_config *config)
{
    worker_config_init(config);
    config->token = strdup("secret");
    config->server_url = strdup("http://127.0.0.1:8080/");
    snprintf(config->worker_id, sizeof(config->worker_id), "pc-1");
}

static int apply_file(struct worker_config *config, const char *text, char *err,
                      size_t err_len)
{
    return worker_config_apply_file_text(config, text, strlen(text), "test.json", err, err_len);
}

static void kind_spec_valid(void **state)
{
    struct worker_config config;
    char err[512];

    init_with_token(&config);
    assert_int_equal(worker_config_add_kind_spec(&config, "shell=/bin/true", err, sizeof(err)), 0);
    assert_int_equal(worker_config_add_kind_spec(&config, "b.x_y-1=/bin/false", err, sizeof(err)),
                     0);
    assert_int_equal(config.kind_count, 2);
    assert_string_equal(config.kinds[0].name, "shell");
    assert_string_equal(config.kinds[0].program, "/bin/true");
    assert_int_equal(config.kinds[0].timeout_s, WORKER_DEFAULT_TIMEOUT_S);
    worker_config_free(&config);
}

static void kind_spec_invalid(void **state)
{
    static const char *const specs[] = {"shell", "=/bin/true", "sh ell=/bin/true", "shell=",
                                        "a/b=/bin/true"};
    struct worker_config config;
    char err[512];

    init_with_token(&config);
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        if (worker_config_add_kind_spec(&config, specs[i], err, sizeof(err)) == 0)
            fail_msg("spec '%s' was accepted", specs[i]);
    }
    assert_int_equal(config.kind_count, 0);
    worker_config_free(&config);
}

static void file_sets_kinds_and_options(void **state)
{
    struct worker_config config;
    char err[512];

    init_with_token(&config);
    assert_int_equal(apply_file(&config,
                                "{\"slots\": 3, \"heartbeat_ms\": 2000, \"default_kind\": \"b\","
                                " \"kinds\": [{\"name\": \"a\", \"program\": \"/bin/a\"},"
                                " {\"name\": \"b\", \"program\": \"/bin/b\", \"args\": [\"-x\", \"y\"],"
                                " \"timeout_s\": 60}]}",
                                err, sizeof(err)),
                     0);
    assert_int_equal(config.slots, 3);
    assert_int_equal(config.heartbeat_ms, 2000);
    assert_int_equal(config.kind_count, 2);
    assert_int_equal(config.kinds[1].args_count, 2);
    assert_string_equal(config.kinds[1].args[1], "y");
    assert_int_equal(config.kinds[1].timeout_s, 60);
    assert_int_equal(worker_config_finish(&config, err, sizeof(err)), 0);
    assert_string_equal(config.default_kind, "b");
    worker_config_free(&config);
}

static void file_rejects_bad_values(void **state)
{
    static const char *const files[] = {
        "[]",
        "{\"slots\": 0}",
        "{\"slots\": \"2\"}",
        "{\"unknown\": 1}",
        "{\"kinds\": {\"a\": \"/bin/a\"}}",
        "{\"kinds\": [{\"name\": \"a\"}]}",
        "{\"kinds\": [{\"name\": \"a b\", \"program\": \"/bin/a\"}]}",
        "{\"kinds\": [{\"name\": \"a\", \"program\": \"/bin/a\", \"args\": [1]}]}",
        "{\"kinds\": [{\"name\": \"a\", \"program\": \"/bin/a\", \"timeout_s\": 0}]}",
        "{\"kinds\": [{\"name\": \"a\", \"program\": \"/bin/a\", \"extra\": 1}]}",
        "{not json",
    };
    char err[512];

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        struct worker_config config;

        init_with_token(&config);
        if (apply_file(&config, files[i], err, sizeof(err)) == 0)
            fail_msg("config '%s' was accepted", files[i]);
        assert_non_null(strstr(err, "test.json"));
        worker_config_free(&config);
    }
}

static void command_line_kind_replaces_file_kind(void **state)
{
    struct worker_config config;
    char err[512];

    init_with_token(&config);
    assert_int_equal(apply_file(&config,
                                "{\"kinds\": [{\"name\": \"a\", \"program\": \"/bin/a\","
                                " \"args\": [\"-x\"], \"timeout_s\": 60}]}",
                                err, sizeof(err)),
                     0);
    assert_int_equal(worker_config_add_kind_spec(&config, "a=/bin/other", err, sizeof(err)), 0);
    assert_int_equal(config.kind_count, 1);
    assert_string_equal(config.kinds[0].program, "/bin/other");
    assert_int_equal(config.kinds[0].args_count, 0);
    assert_int_equal(config.kinds[0].timeout_s, 60);
    worker_config_free(&config);
}

static void finish_fills_defaults(void **state)
{
    struct worker_config config;
    char err[512];

    init_with_token(&config);
    assert_int_equal(worker_config_add_kind_spec(&config, "shell=job.sh", err, sizeof(err)), 0);
    assert_int_equal(worker_config_finish(&config, err, sizeof(err)), 0);
    assert_string_equal(config.server_url, "http://127.0.0.1:8080");
    assert_string_equal(config.default_kind, "shell");
    assert_string_equal(config.advertise_url, "http://127.0.0.1:3000");
    assert_true(config.kinds[0].program[0] == '/');
    assert_non_null(strstr(config.state_dir, "/taskrelay-worker-pc-1"));
    worker_config_free(&config);
}

static void finish_reports_missing_pieces(void **state)
{
    struct worker_config config;
    char err[512];

    init_with_token(&config);
    assert_int_equal(worker_config_finish(&config, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "--kind"));
    worker_config_free(&config);

    init_with_token(&config);
    free(config.token);
    config.token = NULL;
    worker_config_add_kind_spec(&config, "a=/bin/a", err, sizeof(err));
    assert_int_equal(worker_config_finish(&config, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "TASKRELAY_WORKER_TOKEN"));
    worker_config_free(&config);

    init_with_token(&config);
    worker_config_add_kind_spec(&config, "a=/bin/a", err, sizeof(err));
    config.default_kind = strdup("b");
    assert_int_equal(worker_config_finish(&config, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "'b'"));
    worker_config_free(&config);

    init_with_token(&config);
    worker_config_add_kind_spec(&config, "a=/bin/a", err, sizeof(err));
    free(config.server_url);
    config.server_url = strdup("127.0.0.1:8080");
    assert_int_equal(worker_config_finish(&config, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "127.0.0.1:8080"));
    worker_config_free(&config);
}

static void load_reads_command_line(void **state)
{
    char *argv[] = {"worker", "--server", "http://127.0.0.1:9000", "--slots=4", "--kind",
                    "a=/bin/a", "--kind", "b=/bin/b", "--default-kind", "b", "--id", "w-2",
                    NULL};
    struct worker_config config;
    char err[512];

    setenv("TASKRELAY_WORKER_TOKEN", "tok", 1);
    assert_int_equal(worker_config_load(&config, 12, argv, err, sizeof(err)), 0);
    assert_int_equal(config.slots, 4);
    assert_int_equal(config.kind_count, 2);
    assert_string_equal(config.default_kind, "b");
    assert_string_equal(config.worker_id, "w-2");
    assert_string_equal(config.token, "tok");
    worker_config_free(&config);
}

static void load_rejects_bad_option(void **state)
{
    char *unknown[] = {"worker", "--bogus", "1", NULL};
    char *bad_slots[] = {"worker", "--slots", "zero", NULL};
    char *missing_value[] = {"worker", "--slots", NULL};
    char *help[] = {"worker", "--help", NULL};
    struct worker_config config;
    char err[512];

    setenv("TASKRELAY_WORKER_TOKEN", "tok", 1);
    assert_int_equal(worker_config_load(&config, 3, unknown, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "--bogus"));
    worker_config_free(&config);
    assert_int_equal(worker_config_load(&config, 3, bad_slots, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "zero"));
    worker_config_free(&config);
    assert_int_equal(worker_config_load(&config, 2, missing_value, err, sizeof(err)), -1);
    worker_config_free(&config);
    assert_int_equal(worker_config_load(&config, 2, help, err, sizeof(err)), WORKER_CONFIG_HELP);
    worker_config_free(&config);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kind_spec_valid),
        cmocka_unit_test(kind_spec_invalid),
        cmocka_unit_test(file_sets_kinds_and_options),
        cmocka_unit_test(file_rejects_bad_values),
        cmocka_unit_test(command_line_kind_replaces_file_kind),
        cmocka_unit_test(finish_fills_defaults),
        cmocka_unit_test(finish_reports_missing_pieces),
        cmocka_unit_test(load_reads_command_line),
        cmocka_unit_test(load_rejects_bad_option),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
