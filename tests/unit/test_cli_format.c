/* Tests of the client's text formatting: the progress line, cutting and
 * cleaning text, times and ages, and the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli_format.h"
#include "cli/cli_table.h"

static void test_progress_line_layout(void **state)
{
    char line[256];

    cli_format_progress(line, sizeof(line), 80, 40, "running", "page loaded");
    /* 80 / 4 = 20 cells, 40% of them filled. */
    assert_string_equal(line, "[########------------]  40%  running  page loaded");
}

static void test_progress_line_bounds(void **state)
{
    char line[256];

    cli_format_progress(line, sizeof(line), 80, 0, "pending", "");
    assert_string_equal(line, "[--------------------]   0%  pending");
    cli_format_progress(line, sizeof(line), 80, 100, "completed", NULL);
    assert_string_equal(line, "[####################] 100%  completed");
    cli_format_progress(line, sizeof(line), 80, 250, "running", NULL);
    assert_non_null(strstr(line, "100%"));
    cli_format_progress(line, sizeof(line), 80, -5, "running", NULL);
    assert_non_null(strstr(line, "  0%"));
}

static void test_progress_bar_width_capped(void **state)
{
    char line[512];

    cli_format_progress(line, sizeof(line), 300, 50, "running", "x");
    /* At most 30 cells, whatever the width. */
    assert_int_equal(strchr(line, ']') - line, 31);
}

static void test_progress_line_fits_width(void **state)
{
    const char *message = "copying a rather long list of files from one place to another place";
    char line[256];

    for (int width = 20; width <= 120; width++) {
        cli_format_progress(line, sizeof(line), width, 55, "running", message);
        assert_true(cli_text_columns(line) <= (size_t)width);
    }
    cli_format_progress(line, sizeof(line), 60, 55, "running", message);
    assert_non_null(strstr(line, "..."));
}

static void test_progress_narrow_drops_bar(void **state)
{
    char line[256];

    cli_format_progress(line, sizeof(line), 39, 50, "running", "msg");
    assert_string_equal(line, " 50%  running  msg");
}

static void test_progress_message_cleaned(void **state)
{
    char line[256];

    cli_format_progress(line, sizeof(line), 80, 10, "running", "a\x1b[2Jb\nc\t");
    assert_null(strchr(line, '\x1b'));
    assert_null(strchr(line, '\n'));
    assert_null(strchr(line, '\t'));
    assert_non_null(strstr(line, "a [2Jb c"));
}

static void test_text_fit_cuts_on_characters(void **state)
{
    char out[64];

    /* "é" is two bytes but one column; the cut must not split it. */
    assert_int_equal(cli_text_fit("ééééééééé", 6, out, sizeof(out)), 6);
    assert_string_equal(out, "ééé...");
    assert_int_equal(cli_text_fit("short", 10, out, sizeof(out)), 5);
    assert_string_equal(out, "short");
    assert_int_equal(cli_text_fit("exactly10!", 10, out, sizeof(out)), 10);
    assert_string_equal(out, "exactly10!");
}

static void test_text_fit_small_buffer(void **state)
{
    char out[8];

    cli_text_fit("ééééééé", 0, out, sizeof(out));
    /* 7 bytes of room: the last whole character that fits, no half one. */
    assert_true(strlen(out) < sizeof(out));
    assert_int_equal(cli_text_columns(out) * 2, strlen(out));
}

static void test_text_fit_replaces_invalid_utf8(void **state)
{
    char out[64];

    cli_text_fit("a\xff" "b\xc2\x85" "c", 0, out, sizeof(out));
    /* An invalid byte becomes U+FFFD, and the C1 control U+0085 a space. */
    assert_string_equal(out, "a\xEF\xBF\xBD" "b c");
}

static void test_parse_time(void **state)
{
    int64_t ms;

    assert_int_equal(cli_parse_time_ms("1970-01-01T00:00:01.250Z", &ms), 0);
    assert_int_equal(ms, 1250);
    assert_int_equal(cli_parse_time_ms("2026-12-04T19:53:56.123Z", &ms), 0);
    assert_int_equal(ms, 1796414036123LL);
    assert_int_equal(cli_parse_time_ms("2026-12-04T19:53:56Z", &ms), 0);
    assert_int_equal(ms, 1796414036000LL);
    assert_int_equal(cli_parse_time_ms("2026-12-04 19:53:56Z", &ms), -1);
    assert_int_equal(cli_parse_time_ms("2026-12-04T19:53:56.123", &ms), -1);
    assert_int_equal(cli_parse_time_ms("2026-13-04T19:53:56.123Z", &ms), -1);
    assert_int_equal(cli_parse_time_ms(NULL, &ms), -1);
}

static void test_format_age(void **state)
{
    char out[16];

    cli_format_age(-5000, out, sizeof(out));
    assert_string_equal(out, "0s");
    cli_format_age(59999, out, sizeof(out));
    assert_string_equal(out, "59s");
    cli_format_age(60000, out, sizeof(out));
    assert_string_equal(out, "1m");
    cli_format_age(3 * 3600 * 1000 + 5, out, sizeof(out));
    assert_string_equal(out, "3h");
    cli_format_age(9LL * 86400 * 1000, out, sizeof(out));
    assert_string_equal(out, "9d");
}

static void test_table_columns_align(void **state)
{
    static const char *const headers[] = {"ID", "STATUS", "MESSAGE"};
    static const char *const row1[] = {"1", "running", "hello"};
    static const char *const row2[] = {"123", NULL, "a much longer message than fits"};
    struct cli_table *table = cli_table_new(3, headers);
    char *text = NULL;
    size_t text_len = 0;
    FILE *out = open_memstream(&text, &text_len);

    cli_table_add_row(table, row1);
    cli_table_add_row(table, row2);
    cli_table_print(table, out, 30);
    fclose(out);
    assert_string_equal(text, "ID   STATUS   MESSAGE\n"
                              "1    running  hello\n"
                              "123  -        a much longer...\n");
    free(text);
    cli_table_free(table);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_progress_line_layout),
        cmocka_unit_test(test_progress_line_bounds),
        cmocka_unit_test(test_progress_bar_width_capped),
        cmocka_unit_test(test_progress_line_fits_width),
        cmocka_unit_test(test_progress_narrow_drops_bar),
        cmocka_unit_test(test_progress_message_cleaned),
        cmocka_unit_test(test_text_fit_cuts_on_characters),
        cmocka_unit_test(test_text_fit_small_buffer),
        cmocka_unit_test(test_text_fit_replaces_invalid_utf8),
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_format_age),
        cmocka_unit_test(test_table_columns_align),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
