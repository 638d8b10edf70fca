/* Reading the --payload of "taskrelay submit". */
#ifndef TASKRELAY_CLI_PAYLOAD_H
#define TASKRELAY_CLI_PAYLOAD_H

#include <jansson.h>
#include <stddef.h>

/* Builds the task payload from the --payload argument: NULL gives {},
 * "@FILE" reads FILE ("@-" reads standard input), anything else is JSON
 * text. Input over max_len bytes is rejected. Returns 0 and a new
 * reference in *out, or -1 with a message that states whether reading the
 * file or parsing the JSON failed. */
int cli_payload_load(const char *arg, size_t max_len, json_t **out, char *err, size_t err_len);

#endif
