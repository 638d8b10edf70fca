/* JSON helpers on top of jansson: strict parsing of request bodies and
 * field readers that produce an error message naming the field. */
#ifndef TASKRELAY_JSON_UTIL_H
#define TASKRELAY_JSON_UTIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Parses len bytes as one JSON value. Duplicate object keys are rejected,
 * "\u0000" inside strings is allowed (it round-trips), and nesting deeper
 * than jansson's limit (2048) fails. On failure returns NULL and writes a
 * message with the position into err. The caller owns the result. */
json_t *json_parse_strict(const char *text, size_t len, char *err, size_t err_len);

/* The readers below return 0 and set *out when the field is present and
 * valid, 1 when it is absent or null and not required (out untouched), and
 * -1 with a message in err otherwise. Strings are borrowed from obj. */
int json_field_string(json_t *obj, const char *key, int required, size_t max_len,
                      const char **out, char *err, size_t err_len);
int json_field_int(json_t *obj, const char *key, int required, int64_t min, int64_t max,
                   int64_t *out, char *err, size_t err_len);
int json_field_bool(json_t *obj, const char *key, int required, int *out, char *err,
                    size_t err_len);

/* Serialises value compactly; the caller frees the result. */
char *json_to_text(const json_t *value);

/* Returns a new JSON string, or JSON null when text is NULL. Invalid UTF-8
 * is replaced first, so this never fails. */
json_t *json_string_or_null(const char *text);

/* Returns a new JSON string with the time, or null when epoch_ms is 0. */
json_t *json_time_or_null(int64_t epoch_ms);

#endif
