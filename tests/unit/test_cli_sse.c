/* Tests of the Server-Sent Events parser: chunking, line endings,
 * multi-line data, comments, ids and limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli_sse.h"

#define MAX_EVENTS 16

struct recorded_event {
    char type[64];
    char id[64];
    char data[256];
    size_t data_len;
};

struct recorder {
    struct recorded_event events[MAX_EVENTS];
    int count;
    int stop_at; /* return nonzero from the callback for event number stop_at (1-based) */
};

static int record_event(const struct cli_sse_event *event, void *ctx)
{
    struct recorder *rec = ctx;
    struct recorded_event *out = &rec->events[rec->count++];

    snprintf(out->type, sizeof(out->type), "%s", event->type);
    snprintf(out->id, sizeof(out->id), "%s", event->id);
    memcpy(out->data, event->data, event->data_len + 1);
    out->data_len = event->data_len;
    return rec->count == rec->stop_at ? 7 : 0;
}

static struct cli_sse_parser *new_parser(struct recorder *rec)
{
    memset(rec, 0, sizeof(*rec));
    return cli_sse_parser_new(1024, record_event, rec);
}

static int feed_text(struct cli_sse_parser *parser, const char *text)
{
    return cli_sse_parser_feed(parser, text, strlen(text));
}

static void test_single_event(void **state)
{
    struct recorder rec;
    struct cli_sse_parser *parser = new_parser(&rec);

    assert_int_equal(feed_text(parser, "event: task\nid: 5\ndata: {\"id\":1}\n\n"), 0);
    assert_int_equal(rec.count, 1);
    assert_string_equal(rec.events[0].type, "task");
    assert_string_equal(rec.events[0].id, "5");
    assert_string_equal(rec.events[0].data, "{\"id\":1}");
    assert_string_equal(cli_sse_parser_last_event_id(parser), "5");
    cli_sse_parser_free(parser);
}

static void test_default_type_is_message(void **state)
{
    struct recorder rec;
    struct cli_sse_parser *parser = new_parser(&rec);

    feed_text(parser, "data: x\n\n");
    assert_int_equal(rec.count, 1);
    assert_string_equal(rec.events[0].type, "message");
    assert_string_equal(rec.events[0].id, "");
    cli_sse_parser_free(parser);
}

/* Feeds the same stream split at every position, and byte by byte, and
 * checks that the events are the same each time. */
static void test_events_split_across_chunks(void **state)
{
    const char *stream = "event: task\r\nid: 12\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\n"
                         ": keepalive\r\n\r\nevent: log\ndata: hello\n\n";
    size_t len = strlen(stream);

    for (size_t split = 0; split <= len; split++) {
        struct recorder rec;
        struct cli_sse_parser *parser = new_parser(&rec);

        assert_int_equal(cli_sse_parser_feed(parser, stream, split), 0);
        assert_int_equal(cli_sse_parser_feed(parser, stream + split, len - split), 0);
        assert_int_equal(rec.count, 2);
        assert_string_equal(rec.events[0].type, "task");
        assert_string_equal(rec.events[0].id, "12");
        assert_string_equal(rec.events[0].data, "{\"a\":\n1}");
        assert_string_equal(rec.events[1].type, "log");
        assert_string_equal(rec.events[1].data, "hello");
        cli_sse_parser_free(parser);
    }

    struct recorder rec;
    struct cli_sse_parser *parser = new_parser(&rec);

    for (size_t i = 0; i < len; i++)
        assert_int_equal(cli_sse_parser_feed(parser, stream + i, 1), 0);
    assert_int_equal(rec.count, 2);
    assert_string_equal(rec.events[0].data, "{\"a\":\n1}");
    cli_sse_parser_free(parser);
}

static void test_crlf_split_between_cr_and_lf(void **state)
{
    struct recorder rec;
    struct cli_sse_parser *parser = new_parser(&rec);

    /* The LF after a CR that ended a chunk must not count as a blank line. */
    feed_text(parser, "data: one\r");
    feed_text(parser, "\ndata: two\r");
    feed_text(parser, "\n\r");
    feed_text(parser, "\n");
    assert_int_equal(rec.count, 1);
    assert_string_equal(rec.events[0].data, "one\ntwo");
    cli_sse_parser_free(parser);
}

static void test_cr_only_line_endings(void **state)
{
    struct recorder rec;
    struct cli_sse_parser *parser = new_parser(&rec);

    feed_text(parser, "event: a\rdata: 1\r\rdata: 2\r\r");
    assert_int_equal(rec.count, 2);
    assert_string_equal(rec.events[0].type, "a");
    assert_string_equal(rec.events[0].data, "1");
    assert_string_equal(rec.events[1].type, "message");
    assert_string_equal(rec.events[1].data, "2");
    cli_sse_parser_free(parser);
}

static void test_multiline_data(void **state)
{
    struct recorder rec;
    struct cli_sse_parser *parser = new_parser(&rec);

    feed_text(parser, "data: first\ndata:second\ndata\ndata:  indented\n\n");
    assert_int_equal(rec.count, 1);
    /* One space after the colon is dropped, a bare "data" adds an empty line. */
    assert_string_equal(rec.events[0].data, "first\nsecond\n\n indented");
    assert_int_equal(rec.events[0].data_len, strlen("first\nsecond\n\n indented"));
    cli_sse_parser_free(parser);
}

static void test_comments_are_skipped(void **state)
{
    struct recorder rec;
    struct cli_sse_parser *parser = new_parser(&rec);

    feed_text(parser, ": keepalive\n\n:another\ndata: x\n: in between\n\n");
    assert_int_equal(rec.count, 1);
    assert_string_equal(rec.events[0].data, "x");
    cli_sse_parser_free(parser);
}

static void test_event_without_data_not_dispatched(void **state)
{
    struct recorder rec;
    struct cli_sse_parser *parser = new_parser(&rec);

    feed_text(parser, "event: worker\nid: 9\n\ndata: y\n\n");
    assert_int_equal(rec.count, 1);
    /* The event type does not carry over, but the id does. */
    assert_string_equal(rec.events[0].type, "message");
    assert_string_equal(rec.events[0].id, "9");
    cli_sse_parser_free(parser);
}

static void test_id_persists_and_unknown_fields(void **state)
{
    struct recorder rec;
    struct cli_sse_parser *parser = new_parser(&rec);

    feed_text(parser, "id: 3\ndata: a\n\nfoo: bar\ndata: b\n\nid\ndata: c\n\n");
    assert_int_equal(rec.count, 3);
    assert_string_equal(rec.events[0].id, "3");
    assert_string_equal(rec.events[1].id, "3");
    assert_string_equal(rec.events[2].id, "");
    cli_sse_parser_free(parser);
}

static void test_retry_field(void **state)
{
    struct recorder rec;
    struct cli_sse_parser *parser = new_parser(&rec);

    assert_int_equal(cli_sse_parser_retry_ms(parser), -1);
    feed_text(parser, "retry: 3000\n\n");
    assert_int_equal(cli_sse_parser_retry_ms(parser), 3000);
    feed_text(parser, "retry: 12x\n\n");
    assert_int_equal(cli_sse_parser_retry_ms(parser), 3000);
    cli_sse_parser_free(parser);
}

static void test_callback_stops_parsing(void **state)
{
    struct recorder rec;
    struct cli_sse_parser *parser = new_parser(&rec);

    rec.stop_at = 1;
    assert_int_equal(feed_text(parser, "data: 1\n\ndata: 2\n\n"), 7);
    assert_int_equal(rec.count, 1);
    cli_sse_parser_free(parser);
}

static void test_reset_drops_partial_event(void **state)
{
    struct recorder rec;
    struct cli_sse_parser *parser = new_parser(&rec);

    feed_text(parser, "id: 4\ndata: 1\n\nevent: task\ndata: half");
    cli_sse_parser_reset_stream(parser);
    feed_text(parser, "\n\ndata: 2\n\n");
    assert_int_equal(rec.count, 2);
    assert_string_equal(rec.events[1].data, "2");
    assert_string_equal(rec.events[1].type, "message");
    assert_string_equal(cli_sse_parser_last_event_id(parser), "4");
    cli_sse_parser_free(parser);
}

static void test_byte_order_mark_skipped(void **state)
{
    struct recorder rec;
    struct cli_sse_parser *parser = new_parser(&rec);

    feed_text(parser, "\xEF\xBB\xBF" "data: x\n\n");
    assert_int_equal(rec.count, 1);
    assert_string_equal(rec.events[0].data, "x");
    cli_sse_parser_free(parser);
}

static void test_event_over_limit_rejected(void **state)
{
    struct recorder rec;
    struct cli_sse_parser *parser = new_parser(&rec);
    char line[2048];

    memset(line, 'a', sizeof(line) - 1);
    line[sizeof(line) - 1] = '\0';
    assert_int_equal(feed_text(parser, "data: "), 0);
    assert_int_equal(feed_text(parser, line), -1);
    assert_int_equal(rec.count, 0);
    cli_sse_parser_free(parser);
}

static void test_set_last_event_id(void **state)
{
    struct recorder rec;
    struct cli_sse_parser *parser = new_parser(&rec);

    cli_sse_parser_set_last_event_id(parser, "77");
    feed_text(parser, "data: x\n\n");
    assert_string_equal(rec.events[0].id, "77");
    cli_sse_parser_free(parser);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_event),
        cmocka_unit_test(test_default_type_is_message),
        cmocka_unit_test(test_events_split_across_chunks),
        cmocka_unit_test(test_crlf_split_between_cr_and_lf),
        cmocka_unit_test(test_cr_only_line_endings),
        cmocka_unit_test(test_multiline_data),
        cmocka_unit_test(test_comments_are_skipped),
        cmocka_unit_test(test_event_without_data_not_dispatched),
        cmocka_unit_test(test_id_persists_and_unknown_fields),
        cmocka_unit_test(test_retry_field),
        cmocka_unit_test(test_callback_stops_parsing),
        cmocka_unit_test(test_reset_drops_partial_event),
        cmocka_unit_test(test_byte_order_mark_skipped),
        cmocka_unit_test(test_event_over_limit_rejected),
        cmocka_unit_test(test_set_last_event_id),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
