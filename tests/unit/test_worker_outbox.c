/* Unit tests of the outbox: the file encoding and the on-disk queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    assert_int_equal(outbox_peek(outbox, 0, &id, &out, err, sizeof(err)), 1);
    assert_int_equal(out.seq, 1);
    outbox_remove(outbox, id);
    report_clear(&out);
    outbox_close(outbox);

    /* After a restart the rest comes back in the same order. */
    outbox = outbox_open(dir, err, sizeof(err));
    assert_non_null(outbox);
    assert_int_equal(outbox_pending(outbox), 2);
    for (int seq = 2; seq <= 3; seq++) {
        assert_int_equal(outbox_peek(outbox, 0, &id, &out, err, sizeof(err)), 1);
        assert_int_equal(out.seq, seq);
        outbox_remove(outbox, id);
        report_clear(&out);
    }
    assert_int_equal(outbox_peek(outbox, 10, &id, &out, err, sizeof(err)), 0);
    assert_true(outbox_wait_empty(outbox, 0));
    outbox_close(outbox);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encode_decode_json_report),
        cmocka_unit_test(encode_decode_artifact),
        cmocka_unit_test(decode_rejects_invalid),
        cmocka_unit_test(queue_keeps_order_across_reopen),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
