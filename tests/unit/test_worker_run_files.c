/* Unit tests of the run record, state.json: create, overwrite in place and
 * load, with the longest field values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "worker/run_files.h"

static char run_dir[] = "/tmp/taskrelay-test-run-files-XXXXXX";

static int make_dir(void **state)
{
    (void)state;
    return mkdtemp(run_dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    char path[sizeof(run_dir) + 16];

    (void)state;
    snprintf(path, sizeof(path), "%s/state.json", run_dir);
    unlink(path);
    return rmdir(run_dir);
}

static void fill_longest(struct run_record *record)
{
    memset(record, 0, sizeof(*record));
    record->task_id = INT64_MAX;
    record->attempt = INT32_MAX;
    memset(record->kind, 'k', LIMIT_KIND_LEN);
    snprintf(record->state, sizeof(record->state), "finished");
    memset(record->run_token, 'f', RUN_TOKEN_HEX_LEN);
    record->pid = INT32_MAX;
    record->pgid = INT32_MAX;
    record->seq = INT64_MAX;
    record->timeout_s = INT32_MAX;
    memset(record->boot_id, 'b', RUN_BOOT_ID_LEN);
}

static void record_longest_round_trip(void **state)
{
    struct run_record in, out;
    char err[256];

    (void)state;
    fill_longest(&in);
    assert_int_equal(run_record_create(run_dir, &in, err, sizeof(err)), 0);
    assert_int_equal(run_record_load(run_dir, &out, err, sizeof(err)), 0);
    assert_int_equal(out.task_id, in.task_id);
    assert_int_equal(out.attempt, in.attempt);
    assert_string_equal(out.kind, in.kind);
    assert_string_equal(out.state, in.state);
    assert_string_equal(out.run_token, in.run_token);
    assert_int_equal(out.pid, in.pid);
    assert_int_equal(out.pgid, in.pgid);
    assert_int_equal(out.seq, in.seq);
    assert_int_equal(out.timeout_s, in.timeout_s);
    assert_string_equal(out.boot_id, in.boot_id);
}

static void record_overwrite_shorter(void **state)
{
    struct run_record in, out;
    char path[sizeof(run_dir) + 16];
    struct stat st;
    char err[256];

    (void)state;
    fill_longest(&in);
    assert_int_equal(run_record_create(run_dir, &in, err, sizeof(err)), 0);

    memset(&in, 0, sizeof(in));
    in.task_id = 7;
    in.attempt = 1;
    snprintf(in.kind, sizeof(in.kind), "true");
    snprintf(in.state, sizeof(in.state), "running");
    in.seq = RUN_SEQ_BLOCK;
    assert_int_equal(run_record_save(run_dir, &in, 0, err, sizeof(err)), 0);

    snprintf(path, sizeof(path), "%s/state.json", run_dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, RUN_RECORD_LEN);
    assert_int_equal(run_record_load(run_dir, &out, err, sizeof(err)), 0);
    assert_int_equal(out.task_id, 7);
    assert_string_equal(out.kind, "true");
    assert_string_equal(out.state, "running");
    assert_int_equal(out.seq, RUN_SEQ_BLOCK);
    assert_string_equal(out.boot_id, "");
}

static void boot_id_read(void **state)
{
    char boot_id[RUN_BOOT_ID_LEN + 1];

    (void)state;
    run_files_boot_id(boot_id);
    assert_int_equal(strlen(boot_id), RUN_BOOT_ID_LEN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(record_longest_round_trip),
        cmocka_unit_test(record_overwrite_shorter),
        cmocka_unit_test(boot_id_read),
    };

    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
