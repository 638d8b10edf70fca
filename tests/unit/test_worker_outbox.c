/* Unit tests of the outbox: the file encoding and the on-disk queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "worker/outbox.h"

static void encode_decode_json_report(void **state)
{
    struct report in = {
        .type = REPORT_PROGRESS,
        .task_id = 42,
        .attempt = 3,
        .seq = 7,
        .body = json_pack("{s:i, s:s}", "progress", 40, "message", "page \"loaded\""),
    };
    struct report out;
    char err[256];
    char *text = outbox_encode(&in);

    assert_int_equal(outbox_decode(text, strlen(text), &out, err, sizeof(err)), 0);
    assert_int_equal(out.type, REPORT_PROGRESS);
    assert_int_equal(out.task_id, 42);
    assert_int_equal(out.attempt, 3);
    assert_int_equal(out.seq, 7);
    assert_true(json_equal(out.body, in.body));
    free(text);
    report_clear(&in);
    report_clear(&out);
}

static void encode_decode_artifact(void **state)
{
    struct report in = {
        .type = REPORT_ARTIFACT,
        .task_id = 1,
        .attempt = 1,
        .seq = 9,
        .artifact_name = strdup("shot.png"),
        .artifact_path = strdup("/tmp/run/artifacts/shot.png"),
    };
    struct report out;
    char err[256];
    char *text = outbox_encode(&in);

    assert_int_equal(outbox_decode(text, strlen(text), &out, err, sizeof(err)), 0);
    assert_int_equal(out.type, REPORT_ARTIFACT);
    assert_string_equal(out.artifact_name, "shot.png");
    assert_string_equal(out.artifact_path, "/tmp/run/artifacts/shot.png");
    assert_null(out.body);
    assert_string_equal(report_type_route(out.type), "artifacts");
    free(text);
    report_clear(&in);
    report_clear(&out);
}

static void decode_rejects_invalid(void **state)
{
    static const char *const texts[] = {
        "",
        "[]",
        "{\"type\":\"start\",\"task_id\":1,\"attempt\":1,\"seq\":1}",
        "{\"type\":\"nope\",\"task_id\":1,\"attempt\":1,\"seq\":1,\"body\":{}}",
        "{\"type\":\"start\",\"task_id\":0,\"attempt\":1,\"seq\":1,\"body\":{}}",
        "{\"type\":\"artifacts\",\"task_id\":1,\"attempt\":1,\"seq\":1,\"name\":\"a\"}",
    };
    struct report out;
    char err[256];

    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        if (outbox_decode(texts[i], strlen(texts[i]), &out, err, sizeof(err)) == 0)
            fail_msg("text '%s' was accepted", texts[i]);
    }
}

/* Deletes the files of dir and dir itself. */
static void remove_dir(const char *dir)
{
    DIR *handle = opendir(dir);
    struct dirent *entry;
    char path[512];

    assert_non_null(handle);
    while ((entry = readdir(handle)) != NULL) {
        if (entry->d_name[0] == '.' && (!entry->d_name[1] || strcmp(entry->d_name, "..") == 0))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name);
        assert_int_equal(unlink(path), 0);
    }
    closedir(handle);
    assert_int_equal(rmdir(dir), 0);
}

/* Counts the files of dir whose names start with prefix. */
static int count_files(const char *dir, const char *prefix)
{
    DIR *handle = opendir(dir);
    struct dirent *entry;
    int count = 0;

    assert_non_null(handle);
    while ((entry = readdir(handle)) != NULL)
        count += strncmp(entry->d_name, prefix, strlen(prefix)) == 0;
    closedir(handle);
    return count;
}

static void put_task_report(struct outbox *outbox, long long task_id, enum report_type type,
                            long long seq)
{
    struct report in = {.type = type, .task_id = task_id, .attempt = 1, .seq = seq,
                        .body = json_object()};
    char err[256];

    assert_int_equal(outbox_put(outbox, &in, err, sizeof(err)), 0);
    report_clear(&in);
}

static void put_report(struct outbox *outbox, enum report_type type, long long seq)
{
    put_task_report(outbox, 5, type, seq);
}

/* Peeks and removes the oldest report of a lane and checks its seq. */
static void take_lane_report(struct outbox *outbox, int lane, int lane_count, long long seq)
{
    unsigned long long id;
    struct report out;
    char err[256];

    assert_int_equal(outbox_peek(outbox, lane, lane_count, 0, &id, &out, err, sizeof(err)), 1);
    assert_int_equal(out.seq, seq);
    outbox_remove(outbox, id);
    report_clear(&out);
}

static void take_report(struct outbox *outbox, long long seq)
{
    take_lane_report(outbox, 0, 1, seq);
}

static void queue_keeps_order_across_reopen(void **state)
{
    char dir[] = "/tmp/test_worker_outbox.XXXXXX";
    char err[256];
    struct outbox *outbox;
    unsigned long long id;
    struct report out;

    assert_non_null(mkdtemp(dir));
    outbox = outbox_open(dir, err, sizeof(err));
    assert_non_null(outbox);
    for (int seq = 1; seq <= 3; seq++) {
        struct report in = {.type = seq == 3 ? REPORT_COMPLETE : REPORT_START,
                            .task_id = 5, .attempt = 1, .seq = seq, .body = json_object()};

        assert_int_equal(outbox_put(outbox, &in, err, sizeof(err)), 0);
        report_clear(&in);
    }
    assert_int_equal(outbox_peek(outbox, 0, 1, 0, &id, &out, err, sizeof(err)), 1);
    assert_int_equal(out.seq, 1);
    outbox_remove(outbox, id);
    report_clear(&out);
    outbox_close(outbox);

    /* After a restart the rest comes back in the same order. */
    outbox = outbox_open(dir, err, sizeof(err));
    assert_non_null(outbox);
    assert_int_equal(outbox_pending(outbox), 2);
    for (int seq = 2; seq <= 3; seq++) {
        assert_int_equal(outbox_peek(outbox, 0, 1, 0, &id, &out, err, sizeof(err)), 1);
        assert_int_equal(out.seq, seq);
        outbox_remove(outbox, id);
        report_clear(&out);
    }
    assert_int_equal(outbox_peek(outbox, 0, 1, 10, &id, &out, err, sizeof(err)), 0);
    assert_true(outbox_wait_empty(outbox, 0));
    outbox_close(outbox);
    remove_dir(dir);
}

static void torn_tail_is_dropped(void **state)
{
    char dir[] = "/tmp/test_worker_outbox.XXXXXX";
    char path[512];
    char err[256];
    struct outbox *outbox;
    int fd;

    assert_non_null(mkdtemp(dir));
    outbox = outbox_open(dir, err, sizeof(err));
    assert_non_null(outbox);
    put_report(outbox, REPORT_START, 1);
    put_report(outbox, REPORT_COMPLETE, 2);
    outbox_close(outbox);

    /* A record cut off by a crash: a header whose text never arrived. */
    snprintf(path, sizeof(path), "%s/seg-%020d.log", dir, 1);
    fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "#00000000000000000003 0000000100 00", 35), 35);
    close(fd);

    outbox = outbox_open(dir, err, sizeof(err));
    assert_non_null(outbox);
    assert_int_equal(outbox_torn_count(outbox), 1);
    assert_int_equal(outbox_pending(outbox), 2);
    take_report(outbox, 1);
    take_report(outbox, 2);
    outbox_close(outbox);
    remove_dir(dir);
}

static void ids_stay_above_acked_mark(void **state)
{
    char dir[] = "/tmp/test_worker_outbox.XXXXXX";
    char err[256];
    struct outbox *outbox;

    assert_non_null(mkdtemp(dir));
    outbox = outbox_open(dir, err, sizeof(err));
    assert_non_null(outbox);
    put_report(outbox, REPORT_START, 1);
    put_report(outbox, REPORT_COMPLETE, 2);
    take_report(outbox, 1);
    take_report(outbox, 2);
    outbox_close(outbox);

    /* Every report was acknowledged, so the segment is gone at the next
     * open, and a new report must not count as acknowledged. */
    outbox = outbox_open(dir, err, sizeof(err));
    assert_non_null(outbox);
    assert_int_equal(outbox_pending(outbox), 0);
    assert_int_equal(count_files(dir, "seg-"), 0);
    put_report(outbox, REPORT_PROGRESS, 3);
    outbox_close(outbox);

    outbox = outbox_open(dir, err, sizeof(err));
    assert_non_null(outbox);
    assert_int_equal(outbox_pending(outbox), 1);
    take_report(outbox, 3);
    outbox_close(outbox);
    remove_dir(dir);
}

static void acked_segments_are_deleted(void **state)
{
    char dir[] = "/tmp/test_worker_outbox.XXXXXX";
    char err[256];
    struct outbox *outbox;
    json_t *body = json_object();
    char *text = calloc(1, 100001);

    assert_non_null(mkdtemp(dir));
    outbox = outbox_open(dir, err, sizeof(err));
    assert_non_null(outbox);
    memset(text, 'x', 100000);
    json_object_set_new(body, "text", json_string(text));
    /* 12 reports of 100 kB fill more than one 1 MiB segment. */
    for (int seq = 1; seq <= 12; seq++) {
        struct report in = {.type = REPORT_LOG, .task_id = 5, .attempt = 1, .seq = seq,
                            .body = body};

        assert_int_equal(outbox_put(outbox, &in, err, sizeof(err)), 0);
    }
    assert_int_equal(count_files(dir, "seg-"), 2);
    for (int seq = 1; seq <= 12; seq++)
        take_report(outbox, seq);
    /* The full segment is deleted; the one still appended to stays. */
    assert_int_equal(count_files(dir, "seg-"), 1);
    outbox_close(outbox);
    json_decref(body);
    free(text);
    remove_dir(dir);
}

static void earlier_report_files_are_imported(void **state)
{
    char dir[] = "/tmp/test_worker_outbox.XXXXXX";
    char path[512];
    char err[256];
    struct outbox *outbox;

    assert_non_null(mkdtemp(dir));
    /* The earlier layout: one file per report, named by its send order. */
    for (int seq = 1; seq <= 2; seq++) {
        struct report in = {.type = REPORT_START, .task_id = 5, .attempt = 1, .seq = seq,
                            .body = json_object()};
        char *text = outbox_encode(&in);
        int fd;

        snprintf(path, sizeof(path), "%s/%020d.json", dir, 10 - seq);
        fd = open(path, O_WRONLY | O_CREAT, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        close(fd);
        free(text);
        report_clear(&in);
    }

    outbox = outbox_open(dir, err, sizeof(err));
    assert_non_null(outbox);
    assert_int_equal(outbox_pending(outbox), 2);
    assert_int_equal(count_files(dir, "0000"), 0);
    take_report(outbox, 2);
    take_report(outbox, 1);
    outbox_close(outbox);
    remove_dir(dir);
}

static void lanes_keep_order_per_task(void **state)
{
    char dir[] = "/tmp/test_worker_outbox.XXXXXX";
    char err[256];
    struct outbox *outbox;

    assert_int_equal(outbox_lane_of(6, 2), 0);
    assert_int_equal(outbox_lane_of(7, 2), 1);
    assert_non_null(mkdtemp(dir));
    outbox = outbox_open(dir, err, sizeof(err));
    assert_non_null(outbox);
    put_task_report(outbox, 6, REPORT_START, 1);
    put_task_report(outbox, 7, REPORT_START, 1);
    put_task_report(outbox, 6, REPORT_COMPLETE, 2);
    put_task_report(outbox, 7, REPORT_COMPLETE, 2);

    /* Lane 1 goes ahead while task 6's start is still queued in lane 0. */
    take_lane_report(outbox, 1, 2, 1);
    take_lane_report(outbox, 1, 2, 2);
    outbox_close(outbox);

    /* The mark covers only reports older than every queued one, so task
     * 7's reports come back too; the server ignores them by their seq. */
    outbox = outbox_open(dir, err, sizeof(err));
    assert_non_null(outbox);
    assert_int_equal(outbox_pending(outbox), 4);
    take_lane_report(outbox, 0, 2, 1);
    take_lane_report(outbox, 0, 2, 2);
    take_lane_report(outbox, 1, 2, 1);
    take_lane_report(outbox, 1, 2, 2);
    outbox_close(outbox);

    outbox = outbox_open(dir, err, sizeof(err));
    assert_non_null(outbox);
    assert_int_equal(outbox_pending(outbox), 0);
    outbox_close(outbox);
    remove_dir(dir);
}

static void failing_lanes_and_sync(void **state)
{
    char dir[] = "/tmp/test_worker_outbox.XXXXXX";
    char err[256];
    struct outbox *outbox;

    (void)state;
    assert_non_null(mkdtemp(dir));
    outbox = outbox_open(dir, err, sizeof(err));
    assert_non_null(outbox);
    assert_false(outbox_delivery_failing(outbox));
    assert_int_equal(outbox_sync(outbox, err, sizeof(err)), 0);

    put_report(outbox, REPORT_START, 1);
    /* Only the first failure of a lane requests a sync from the caller. */
    assert_int_equal(outbox_set_lane_failing(outbox, 1, 1), 1);
    assert_int_equal(outbox_set_lane_failing(outbox, 1, 1), 0);
    assert_int_equal(outbox_set_lane_failing(outbox, 0, 1), 1);
    assert_true(outbox_delivery_failing(outbox));
    assert_int_equal(outbox_sync(outbox, err, sizeof(err)), 0);
    /* A complete report is synced while lanes fail and still queued. */
    put_report(outbox, REPORT_COMPLETE, 2);
    assert_int_equal(outbox_pending(outbox), 2);

    assert_int_equal(outbox_set_lane_failing(outbox, 1, 0), 0);
    assert_true(outbox_delivery_failing(outbox));
    assert_int_equal(outbox_set_lane_failing(outbox, 0, 0), 0);
    assert_false(outbox_delivery_failing(outbox));
    take_report(outbox, 1);
    take_report(outbox, 2);
    outbox_close(outbox);
    remove_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encode_decode_json_report),
        cmocka_unit_test(encode_decode_artifact),
        cmocka_unit_test(decode_rejects_invalid),
        cmocka_unit_test(queue_keeps_order_across_reopen),
        cmocka_unit_test(torn_tail_is_dropped),
        cmocka_unit_test(ids_stay_above_acked_mark),
        cmocka_unit_test(acked_segments_are_deleted),
        cmocka_unit_test(earlier_report_files_are_imported),
        cmocka_unit_test(lanes_keep_order_per_task),
        cmocka_unit_test(failing_lanes_and_sync),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
