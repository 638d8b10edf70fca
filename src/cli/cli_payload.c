#include "cli/cli_payload.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/json_util.h"
#include "common/util.h"

/* Reads all of path ("-" for standard input) into text. Fails past max_len. */
static int read_file(const char *path, size_t max_len, struct strbuf *text, char *err,
                     size_t err_len)
{
    int from_stdin = strcmp(path, "-") == 0;
    FILE *file = from_stdin ? stdin : fopen(path, "rb");
    char chunk[65536];
    size_t got;
    int rc = -1;

    if (!file) {
        snprintf(err, err_len, "--payload @%s: cannot open the file: %s", path, strerror(errno));
        return -1;
    }
    while ((got = fread(chunk, 1, sizeof(chunk), file)) > 0) {
        if (text->len + got > max_len) {
            snprintf(err, err_len, "--payload @%s: the file is larger than the limit of %zu bytes",
                     path, max_len);
            goto out;
        }
        strbuf_append(text, chunk, got);
    }
    if (ferror(file)) {
        snprintf(err, err_len, "--payload @%s: cannot read the file: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;

out:
    if (!from_stdin)
        fclose(file);
    return rc;
}

int cli_payload_load(const char *arg, size_t max_len, json_t **out, char *err, size_t err_len)
{
    struct strbuf text;
    char parse_err[256];
    int rc = -1;

    *out = NULL;
    if (!arg) {
        *out = json_object();
        return 0;
    }

    strbuf_init(&text);
    if (arg[0] == '@') {
        if (read_file(arg + 1, max_len, &text, err, err_len) < 0)
            goto out;
    } else if (strlen(arg) > max_len) {
        snprintf(err, err_len, "--payload: the JSON text is larger than the limit of %zu bytes",
                 max_len);
        goto out;
    } else {
        strbuf_append(&text, arg, strlen(arg));
    }

    if (text.len == 0) {
        if (arg[0] == '@')
            snprintf(err, err_len, "--payload @%s: the file is empty; it must contain JSON such as {}",
                     arg + 1);
        else
            snprintf(err, err_len, "--payload: the value is empty; pass JSON such as '{}'");
        goto out;
    }
    *out = json_parse_strict(text.data, text.len, parse_err, sizeof(parse_err));
    if (!*out) {
        if (arg[0] == '@')
            snprintf(err, err_len, "--payload @%s (the file was read): %s", arg + 1,
                     parse_err);
        else
            snprintf(err, err_len,
                     "--payload (JSON text): %s; quote it for the shell, as in "
                     "--payload '{\"dir\": \"/tmp\"}', or pass a file as @FILE",
                     parse_err);
        goto out;
    }
    rc = 0;

out:
    strbuf_free(&text);
    return rc;
}
