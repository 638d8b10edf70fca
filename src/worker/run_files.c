#include "worker/run_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/json_util.h"
#include "common/util.h"
#include "worker/progress_line.h"

char *run_dir_path(const char *state_dir, long long task_id, int attempt)
{
    return xasprintf("%s/runs/%lld-%d", state_dir, task_id, attempt);
}

static int make_dir(const char *path, char *err, size_t err_len)
{
    if (mkdir(path, 0700) < 0 && errno != EEXIST) {
        snprintf(err, err_len, "cannot create directory '%s': %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int write_file(const char *path, const char *data, size_t len, int durable, char *err,
                      size_t err_len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = -1;

    if (fd < 0) {
        snprintf(err, err_len, "cannot create '%s': %s", path, strerror(errno));
        return -1;
    }
    while (len > 0) {
        ssize_t n = write(fd, data, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, err_len, "cannot write '%s': %s", path, strerror(errno));
            goto out;
        }
        data += n;
        len -= (size_t)n;
    }
    if (durable && fsync(fd) < 0) {
        snprintf(err, err_len, "cannot sync '%s': %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    close(fd);
    return rc;
}

int run_files_create(const char *run_dir, const char *payload, size_t payload_len, char *err,
                     size_t err_len)
{
    char *parent = xstrdup(run_dir);
    char *artifacts = xasprintf("%s/artifacts", run_dir);
    char *payload_path = xasprintf("%s/payload.json", run_dir);
    int rc = -1;

    *strrchr(parent, '/') = '\0';
    if (make_dir(parent, err, err_len) < 0 || make_dir(run_dir, err, err_len) < 0 ||
        make_dir(artifacts, err, err_len) < 0)
        goto out;
    rc = write_file(payload_path, payload, payload_len, 0, err, err_len);
out:
    free(parent);
    free(artifacts);
    free(payload_path);
    return rc;
}

int run_record_save(const char *run_dir, const struct run_record *record, int durable,
                    char *err, size_t err_len)
{
    char *tmp_path = xasprintf("%s/state.json.tmp", run_dir);
    char *path = xasprintf("%s/state.json", run_dir);
    json_t *root = json_pack("{s:I, s:i, s:s, s:s, s:s, s:i, s:i, s:I, s:i}", "task_id",
                             (json_int_t)record->task_id, "attempt", record->attempt, "kind",
                             record->kind, "state", record->state, "run_token",
                             record->run_token, "pid", record->pid, "pgid", record->pgid, "seq",
                             (json_int_t)record->seq, "timeout_s", record->timeout_s);
    char *text = json_to_text(root);
    int rc = write_file(tmp_path, text, strlen(text), durable, err, err_len);

    if (rc == 0 && rename(tmp_path, path) < 0) {
        snprintf(err, err_len, "cannot rename '%s': %s", tmp_path, strerror(errno));
        rc = -1;
    }
    json_decref(root);
    free(text);
    free(tmp_path);
    free(path);
    return rc;
}

int run_record_load(const char *run_dir, struct run_record *record, char *err,
                    size_t err_len)
{
    char *path = xasprintf("%s/state.json", run_dir);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    const char *kind = NULL, *state = NULL, *token = NULL;
    json_int_t task_id = 0, seq = 0;
    int attempt = 0, pid = 0, pgid = 0, timeout_s = 0;
    int rc = -1;

    memset(record, 0, sizeof(*record));
    if (!root) {
        snprintf(err, err_len, "cannot read '%s': %s", path, jerr.text);
        goto out;
    }
    if (json_unpack_ex(root, &jerr, 0, "{s:I, s:i, s:s, s:s, s:s, s:i, s:i, s:I, s?i}",
                       "task_id", &task_id, "attempt", &attempt, "kind", &kind, "state", &state,
                       "run_token", &token, "pid", &pid, "pgid", &pgid, "seq", &seq,
                       "timeout_s", &timeout_s) < 0 ||
        task_id <= 0 || attempt <= 0) {
        snprintf(err, err_len, "'%s' is not a valid run state: %s", path, jerr.text);
        goto out;
    }
    record->task_id = task_id;
    record->attempt = attempt;
    snprintf(record->kind, sizeof(record->kind), "%s", kind);
    snprintf(record->state, sizeof(record->state), "%s", state);
    snprintf(record->run_token, sizeof(record->run_token), "%s", token);
    record->pid = pid;
    record->pgid = pgid;
    record->seq = seq;
    record->timeout_s = timeout_s;
    rc = 0;
out:
    json_decref(root);
    free(path);
    return rc;
}

int run_files_read_tail(const char *path, size_t max_len, char **out, char *err,
                        size_t err_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char *raw;
    size_t start = 0, raw_len, clean_len, skip = 0;
    ssize_t n;

    if (fd < 0 || fstat(fd, &st) < 0) {
        int saved = errno;

        if (fd >= 0)
            close(fd);
        *out = xstrdup("");
        if (saved == ENOENT)
            return 0;
        snprintf(err, err_len, "cannot read '%s': %s", path, strerror(saved));
        return -1;
    }
    raw_len = (size_t)st.st_size;
    if (raw_len > max_len) {
        start = raw_len - max_len;
        raw_len = max_len;
    }
    raw = xmalloc(raw_len + 1);
    n = pread(fd, raw, raw_len, (off_t)start);
    close(fd);
    raw_len = n > 0 ? (size_t)n : 0;

    /* A cut inside a UTF-8 sequence leaves continuation bytes at the start. */
    while (start > 0 && skip < raw_len && skip < 3 && ((unsigned char)raw[skip] & 0xc0) == 0x80)
        skip++;
    *out = utf8_sanitize(raw + skip, raw_len - skip, &clean_len);
    if (clean_len > max_len) {
        /* Replacement characters made it longer: keep the end. */
        size_t cut = clean_len - max_len;

        while (cut < clean_len && ((unsigned char)(*out)[cut] & 0xc0) == 0x80)
            cut++;
        memmove(*out, *out + cut, clean_len - cut + 1);
    }
    free(raw);
    return 0;
}

void run_files_read_result(const char *run_dir, json_t **result, char **note)
{
    char *path = xasprintf("%s/result.json", run_dir);
    struct stat st;
    json_error_t jerr;

    *result = NULL;
    *note = NULL;
    if (stat(path, &st) < 0) {
        if (errno != ENOENT)
            *note = xasprintf("result.json could not be read: %s", strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > LIMIT_RESULT_LEN) {
        *note = xasprintf("result.json was ignored: it must be a regular file of at most %d bytes",
                          LIMIT_RESULT_LEN);
        goto out;
    }
    *result = json_load_file(path, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (!*result)
        *note = xasprintf("result.json was ignored: invalid JSON at line %d, column %d: %s",
                          jerr.line, jerr.column, jerr.text);
out:
    free(path);
}
