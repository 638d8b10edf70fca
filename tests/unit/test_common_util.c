/* Unit tests of the common helpers that parse outside input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/httpd.h"
#include "common/json_util.h"
#include "common/util.h"

static void utf8_invalid_bytes_replaced(void **state)
{
    size_t len;
    char *clean = utf8_sanitize("a\xff" "b\x00" "c", 5, &len);

    assert_string_equal(clean, "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c");
    assert_int_equal(len, 9);
    free(clean);
}

static void utf8_validation_cases(void **state)
{
    assert_true(utf8_valid("h\xc3\xa9llo \xf0\x9f\x98\x80", 11));
    assert_false(utf8_valid("\xed\xa0\x80", 3));     /* lone surrogate */
    assert_false(utf8_valid("\xc0\xaf", 2));         /* overlong slash */
    assert_false(utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
    assert_false(utf8_valid("ab\0", 3));
}

static void json_rejects_duplicates(void **state)
{
    char err[256];
    json_t *v = json_parse_strict("{\"a\":1,\"a\":2}", 13, err, sizeof(err));

    assert_null(v);
    assert_non_null(strstr(err, "duplicate"));
}

static void json_keeps_escaped_nul(void **state)
{
    char err[256];
    const char *text = "{\"s\":\"a\\u0000b\"}";
    json_t *v = json_parse_strict(text, strlen(text), err, sizeof(err));
    char *out;

    assert_non_null(v);
    out = json_to_text(v);
    assert_string_equal(out, text);
    free(out);
    json_decref(v);
}

static void json_field_reports_name(void **state)
{
    char err[256];
    const char *text = "{\"n\":\"x\"}";
    json_t *v = json_parse_strict(text, strlen(text), err, sizeof(err));
    int64_t n;

    assert_int_equal(json_field_int(v, "n", 1, 0, 10, &n, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "'n'"));
    assert_int_equal(json_field_int(v, "missing", 1, 0, 10, &n, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "'missing' is missing"));
    assert_int_equal(json_field_int(v, "missing", 0, 0, 10, &n, err, sizeof(err)), 1);
    json_decref(v);
}

static void route_captures_segments(void **state)
{
    char caps[2][80];

    assert_true(route_match("/api/v1/tasks/*/artifacts/*", "/api/v1/tasks/42/artifacts/a.png",
                            caps, 2));
    assert_string_equal(caps[0], "42");
    assert_string_equal(caps[1], "a.png");
    assert_false(route_match("/api/v1/tasks/*", "/api/v1/tasks/", caps, 1));
    assert_false(route_match("/api/v1/tasks/*", "/api/v1/tasks/1/events", caps, 1));
}

static void host_port_parsed(void **state)
{
    char host[64];
    int port;

    assert_int_equal(parse_host_port("127.0.0.1:8080", host, sizeof(host), &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 8080);
    assert_int_equal(parse_host_port("localhost", host, sizeof(host), &port), -1);
    assert_int_equal(parse_host_port("h:70000", host, sizeof(host), &port), -1);
}

static void tokens_compared_exactly(void **state)
{
    assert_true(token_equal("abcdef", "abcdef"));
    assert_false(token_equal("abcdef", "abcdeg"));
    assert_false(token_equal("abc", "abcdef"));
    assert_false(token_equal("", "a"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_invalid_bytes_replaced), cmocka_unit_test(utf8_validation_cases),
        cmocka_unit_test(json_rejects_duplicates),     cmocka_unit_test(json_keeps_escaped_nul),
        cmocka_unit_test(json_field_reports_name),     cmocka_unit_test(route_captures_segments),
        cmocka_unit_test(host_port_parsed),            cmocka_unit_test(tokens_compared_exactly),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
