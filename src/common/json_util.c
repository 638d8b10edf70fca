#include "common/json_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

json_t *json_parse_strict(const char *text, size_t len, char *err, size_t err_len)
{
    json_error_t jerr;
    json_t *value;

    if (len == 0) {
        snprintf(err, err_len, "request body is empty: send a JSON document");
        return NULL;
    }
    value = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY,
                       &jerr);
    if (!value) {
        snprintf(err, err_len, "invalid JSON at line %d, column %d: %s", jerr.line,
                 jerr.column, jerr.text);
        return NULL;
    }
    return value;
}

static int field_lookup(json_t *obj, const char *key, int required, json_t **out,
                        char *err, size_t err_len)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

    if (!v || json_is_null(v)) {
        if (required) {
            snprintf(err, err_len, "field '%s' is missing", key);
            return -1;
        }
        return 1;
    }
    *out = v;
    return 0;
}

int json_field_string(json_t *obj, const char *key, int required, size_t max_len,
                      const char **out, char *err, size_t err_len)
{
    json_t *v;
    int rc = field_lookup(obj, key, required, &v, err, err_len);

    if (rc != 0)
        return rc;
    if (!json_is_string(v)) {
        snprintf(err, err_len, "field '%s' must be a string", key);
        return -1;
    }
    if (json_string_length(v) > max_len) {
        snprintf(err, err_len, "field '%s' is %zu bytes, longer than the limit of %zu", key,
                 json_string_length(v), max_len);
        return -1;
    }
    if (strlen(json_string_value(v)) != json_string_length(v)) {
        snprintf(err, err_len, "field '%s' contains a NUL character (\\u0000)", key);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

int json_field_int(json_t *obj, const char *key, int required, int64_t min, int64_t max,
                   int64_t *out, char *err, size_t err_len)
{
    json_t *v;
    int rc = field_lookup(obj, key, required, &v, err, err_len);

    if (rc != 0)
        return rc;
    if (!json_is_integer(v)) {
        snprintf(err, err_len, "field '%s' must be an integer from %lld to %lld", key,
                 (long long)min, (long long)max);
        return -1;
    }
    if (json_integer_value(v) < min || json_integer_value(v) > max) {
        snprintf(err, err_len, "field '%s' is %lld, outside %lld to %lld", key,
                 (long long)json_integer_value(v), (long long)min, (long long)max);
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

int json_field_bool(json_t *obj, const char *key, int required, int *out, char *err,
                    size_t err_len)
{
    json_t *v;
    int rc = field_lookup(obj, key, required, &v, err, err_len);

    if (rc != 0)
        return rc;
    if (!json_is_boolean(v)) {
        snprintf(err, err_len, "field '%s' must be true or false", key);
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

char *json_to_text(const json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);

    if (!text) {
        fprintf(stderr, "taskrelay: out of memory serialising JSON\n");
        abort();
    }
    return text;
}

json_t *json_string_or_null(const char *text)
{
    size_t len;
    char *clean;
    json_t *v;

    if (!text)
        return json_null();
    len = strlen(text);
    if (utf8_valid(text, len))
        return json_stringn(text, len);
    clean = utf8_sanitize(text, len, &len);
    v = json_stringn(clean, len);
    free(clean);
    return v;
}

json_t *json_time_or_null(int64_t epoch_ms)
{
    char buf[32];

    if (epoch_ms <= 0)
        return json_null();
    format_time_ms(epoch_ms, buf, sizeof(buf));
    return json_string(buf);
}
