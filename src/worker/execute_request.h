/* The body of POST /execute in its two forms (docs/api.md): the full form
 * {"task_id", "kind", "attempt", "payload", "timeout_s"}, recognised by a
 * "payload" or "attempt" member, and the flat form {"task_id", ...}, whose
 * other members become the payload of a first attempt of the default kind. */
#ifndef TASKRELAY_EXECUTE_REQUEST_H
#define TASKRELAY_EXECUTE_REQUEST_H

#include <stddef.h>

#include "common/limits.h"

struct execute_request {
    long long task_id;
    int attempt;
    char kind[LIMIT_KIND_LEN + 1];
    char *payload; /* compact JSON text; owned */
    int timeout_s; /* 0 = the kind's timeout */
};

enum { EXECUTE_INVALID_FIELD = -1, EXECUTE_INVALID_JSON = -2 };

/* Parses body; returns 0, or EXECUTE_INVALID_JSON or EXECUTE_INVALID_FIELD
 * with a message naming the problem (both get HTTP 400). The kind is not
 * checked against the configuration. */
int execute_request_parse(const char *body, size_t len, const char *default_kind,
                          struct execute_request *out, char *err, size_t err_len);
void execute_request_clear(struct execute_request *request);

#endif
