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

static int write_file(const char *path, const char *data, size_t len, char *err,
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
    rc = 0;
out:
    close(fd);
    return rc;
}

int run_files_write_payload(const char *run_dir, const char *payload, size_t payload_len,
                            char *err, size_t err_len)
{
    char *payload_path = xasprintf("%s/payload.json", run_dir);
    int rc = write_file(payload_path, payload, payload_len, err, err_len);

    free(payload_path);
    return rc;
}

int run_files_create(const char *run_dir, const char *payload, size_t payload_len, char *err,
                     size_t err_len)
{
    char *artifacts = xasprintf("%s/artifacts", run_dir);
    int rc = -1;

    if (make_dir(run_dir, err, err_len) < 0 || make_dir(artifacts, err, err_len) < 0)
        goto out;
    rc = run_files_write_payload(run_dir, payload, payload_len, err, err_len);
out:
    free(artifacts);
    return rc;
}

/* Formats the record as JSON padded with spaces to RUN_RECORD_LEN bytes
 * (the last one a newline) into buf. Returns -1 when it does not fit,
 * which the field limits rule out. */
static int record_format(const struct run_record *record, char *buf)
{
    json_t *root = json_pack("{s:I, s:i, s:s, s:s, s:s, s:i, s:i, s:I, s:i, s:s}", "task_id",
                             (json_int_t)record->task_id, "attempt", record->attempt, "kind",
                             record->kind, "state", record->state, "run_token",
                             record->run_token, "pid", record->pid, "pgid", record->pgid, "seq",
                             (json_int_t)record->seq, "timeout_s", record->timeout_s,
                             "boot_id", record->boot_id);
    char *text = json_to_text(root);
    size_t len = strlen(text);
    int rc = -1;

    if (len < RUN_RECORD_LEN) {
        memcpy(buf, text, len);
        memset(buf + len, ' ', RUN_RECORD_LEN - 1 - len);
        buf[RUN_RECORD_LEN - 1] = '\n';
        rc = 0;
    }
    json_decref(root);
    free(text);
    return rc;
}

/* Writes the record at offset 0 with one pwrite of RUN_RECORD_LEN bytes,
 * which replaces it whole without a temporary file and a rename. A write
 * within one page is not cut short by a signal, so a crashed worker leaves
 * the old or the new record. A power loss leaves the old or the new
 * 512-byte sector. */
static int record_write(const char *run_dir, const struct run_record *record, int flags,
                        int durable, char *err, size_t err_len)
{
    char *path = xasprintf("%s/state.json", run_dir);
    char buf[RUN_RECORD_LEN];
    int fd = -1;
    int rc = -1;

    if (record_format(record, buf) < 0) {
        snprintf(err, err_len, "the run record of '%s' is longer than %d bytes", run_dir,
                 RUN_RECORD_LEN);
        goto out;
    }
    fd = open(path, O_WRONLY | O_CLOEXEC | flags, 0600);
    if (fd < 0) {
        snprintf(err, err_len, "cannot open '%s': %s", path, strerror(errno));
        goto out;
    }
    if (pwrite(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf)) {
        snprintf(err, err_len, "cannot write '%s': %s", path, strerror(errno));
        goto out;
    }
    if (durable && fdatasync(fd) < 0) {
        snprintf(err, err_len, "cannot sync '%s': %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

/* Fsyncs a directory, which puts the entries created in it on disk. */
static int sync_dir(const char *path, char *err, size_t err_len)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd < 0 ? -1 : fsync(fd);

    if (rc < 0)
        snprintf(err, err_len, "cannot sync directory '%s': %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    return rc;
}

int run_record_create(const char *run_dir, const struct run_record *record, char *err,
                      size_t err_len)
{
    /* A crash before the write returned leaves a missing or short file,
     * and recovery then takes the run from its directory name. */
    return record_write(run_dir, record, O_CREAT | O_TRUNC, 0, err, err_len);
}

int run_record_sync(const char *run_dir, char *err, size_t err_len)
{
    char *path = xasprintf("%s/state.json", run_dir);
    char *parent = xstrdup(run_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = -1;

    *strrchr(parent, '/') = '\0';
    if (fd < 0 || fdatasync(fd) < 0) {
        snprintf(err, err_len, "cannot sync '%s': %s", path, strerror(errno));
        goto out;
    }
    /* The record is found only through the entry of state.json in the run
     * directory and the run directory's entry in runs/. */
    if (sync_dir(run_dir, err, err_len) < 0 || sync_dir(parent, err, err_len) < 0)
        goto out;
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(parent);
    free(path);
    return rc;
}

int run_files_sync_all(const char *state_dir, char *err, size_t err_len)
{
    int fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd < 0 ? -1 : syncfs(fd);

    if (rc < 0)
        snprintf(err, err_len, "cannot sync the file system of '%s': %s", state_dir,
                 strerror(errno));
    if (fd >= 0)
        close(fd);
    return rc;
}

int run_record_save(const char *run_dir, const struct run_record *record, int durable,
                    char *err, size_t err_len)
{
    return record_write(run_dir, record, O_CREAT, durable, err, err_len);
}

int run_record_load(const char *run_dir, struct run_record *record, char *err,
                    size_t err_len)
{
    char *path = xasprintf("%s/state.json", run_dir);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    const char *kind = NULL, *state = NULL, *token = NULL, *boot_id = "";
    json_int_t task_id = 0, seq = 0;
    int attempt = 0, pid = 0, pgid = 0, timeout_s = 0;
    int rc = -1;

    memset(record, 0, sizeof(*record));
    if (!root) {
        snprintf(err, err_len, "cannot read '%s': %s", path, jerr.text);
        goto out;
    }
    if (json_unpack_ex(root, &jerr, 0, "{s:I, s:i, s:s, s:s, s:s, s:i, s:i, s:I, s?i, s?s}",
                       "task_id", &task_id, "attempt", &attempt, "kind", &kind, "state", &state,
                       "run_token", &token, "pid", &pid, "pgid", &pgid, "seq", &seq,
                       "timeout_s", &timeout_s, "boot_id", &boot_id) < 0 ||
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
    snprintf(record->boot_id, sizeof(record->boot_id), "%s", boot_id);
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

void run_files_boot_id(char *out)
{
    int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, out, RUN_BOOT_ID_LEN) : -1;

    if (fd >= 0)
        close(fd);
    out[n == RUN_BOOT_ID_LEN ? RUN_BOOT_ID_LEN : 0] = '\0';
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
