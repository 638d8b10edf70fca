/* Unit tests of the progress line parser and line splitter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/limits.h"
#include "worker/progress_line.h"

static int parse(const char *line, struct progress_update *out)
{
    char err[256];

    return progress_line_parse(line, strlen(line), out, err, sizeof(err));
}

static void text_line_with_message(void **state)
{
    struct progress_update update;

    assert_int_equal(parse("40 page loaded", &update), 0);
    assert_int_equal(update.percent, 40);
    assert_string_equal(update.message, "page loaded");
    progress_update_free(&update);
}

static void text_line_without_message(void **state)
{
    struct progress_update update;

    assert_int_equal(parse("100", &update), 0);
    assert_int_equal(update.percent, 100);
    assert_null(update.message);
    assert_int_equal(parse("0\r", &update), 0);
    assert_int_equal(update.percent, 0);
    assert_null(update.message);
}

static void text_line_fraction_and_percent_sign(void **state)
{
    struct progress_update update;

    assert_int_equal(parse("42.9% nearly half", &update), 0);
    assert_int_equal(update.percent, 42);
    assert_string_equal(update.message, "nearly half");
    progress_update_free(&update);
    assert_int_equal(parse("100.0", &update), 0);
    assert_int_equal(update.percent, 100);
}

static void text_line_invalid(void **state)
{
    static const char *const lines[] = {
        "", "   ", "abc", "101", "100.5", "-1 minus", "5x", "5.", "99999999999999999999",
    };
    struct progress_update update;

    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if (parse(lines[i], &update) == 0)
            fail_msg("line '%s' was accepted", lines[i]);
    }
}

static void json_line(void **state)
{
    struct progress_update update;

    assert_int_equal(parse("{\"progress\": 55, \"message\": \"half\"}", &update), 0);
    assert_int_equal(update.percent, 55);
    assert_string_equal(update.message, "half");
    progress_update_free(&update);

    assert_int_equal(parse("{\"progress\": 12.7}", &update), 0);
    assert_int_equal(update.percent, 12);
    assert_null(update.message);
}

static void json_line_invalid(void **state)
{
    static const char *const lines[] = {
        "{\"progress\": 101}", "{\"progress\": -3}", "{\"progress\": \"5\"}",
        "{\"message\": \"x\"}", "{\"progress\": 5, \"message\": 7}", "{bad json",
    };
    struct progress_update update;

    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if (parse(lines[i], &update) == 0)
            fail_msg("line '%s' was accepted", lines[i]);
    }
}

static void message_cut_at_limit(void **state)
{
    char line[4000];
    struct progress_update update;

    /* "1 " followed by 3-byte characters: the cut must not split one. */
    strcpy(line, "1 ");
    for (int i = 0; i < 1000; i++)
        strcat(line, "\xe2\x82\xac");
    assert_int_equal(parse(line, &update), 0);
    assert_true(strlen(update.message) <= LIMIT_MESSAGE_LEN);
    assert_int_equal(strlen(update.message) % 3, 0);
    progress_update_free(&update);
}

static void message_invalid_utf8_replaced(void **state)
{
    struct progress_update update;

    assert_int_equal(parse("5 a\xff" "b", &update), 0);
    assert_string_equal(update.message, "a\xef\xbf\xbd" "b");
    progress_update_free(&update);
}

struct collected {
    int count;
    char lines[4][64];
    int overlong[4];
};

static void collect(const char *line, size_t len, int overlong, void *arg)
{
    struct collected *c = arg;

    if (c->count < 4) {
        memcpy(c->lines[c->count], line, len < 63 ? len : 63);
        c->lines[c->count][len < 63 ? len : 63] = '\0';
        c->overlong[c->count] = overlong;
    }
    c->count++;
}

static void reader_splits_across_reads(void **state)
{
    struct progress_reader *reader = malloc(sizeof(*reader));
    struct collected c = {0};

    progress_reader_init(reader);
    progress_reader_feed(reader, "10 a\n2", 6, collect, &c);
    progress_reader_feed(reader, "0 b\n30", 6, collect, &c);
    progress_reader_finish(reader, collect, &c);
    assert_int_equal(c.count, 3);
    assert_string_equal(c.lines[0], "10 a");
    assert_string_equal(c.lines[1], "20 b");
    assert_string_equal(c.lines[2], "30");
    free(reader);
}

static void reader_flags_overlong_line(void **state)
{
    struct progress_reader *reader = malloc(sizeof(*reader));
    char *big = malloc(PROGRESS_LINE_MAX_LEN + 10);
    struct collected c = {0};

    memset(big, 'x', PROGRESS_LINE_MAX_LEN + 10);
    progress_reader_init(reader);
    progress_reader_feed(reader, big, PROGRESS_LINE_MAX_LEN + 10, collect, &c);
    progress_reader_feed(reader, "\n7 ok\n", 6, collect, &c);
    assert_int_equal(c.count, 2);
    assert_int_equal(c.overlong[0], 1);
    assert_int_equal(c.overlong[1], 0);
    assert_string_equal(c.lines[1], "7 ok");
    free(big);
    free(reader);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text_line_with_message),
        cmocka_unit_test(text_line_without_message),
        cmocka_unit_test(text_line_fraction_and_percent_sign),
        cmocka_unit_test(text_line_invalid),
        cmocka_unit_test(json_line),
        cmocka_unit_test(json_line_invalid),
        cmocka_unit_test(message_cut_at_limit),
        cmocka_unit_test(message_invalid_utf8_replaced),
        cmocka_unit_test(reader_splits_across_reads),
        cmocka_unit_test(reader_flags_overlong_line),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
