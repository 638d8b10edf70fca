#include "worker/outbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/json_util.h"
#include "common/util.h"

/* Larger than any report: a log chunk is at most 1 MiB of text, which JSON
 * escaping can grow up to six times. */
#define OUTBOX_FILE_MAX_LEN (8 * 1024 * 1024)

static const char *const type_names[] = {"start", "progress", "log", "artifacts", "complete"};

struct outbox {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    char *dir;
    unsigned long long *ids; /* queued ids, ascending */
    size_t count;
    size_t cap;
    unsigned long long next_id;
};

const char *report_type_route(enum report_type type)
{
    return type_names[type];
}

void report_clear(struct report *report)
{
    json_decref(report->body);
    free(report->artifact_name);
    free(report->artifact_path);
    memset(report, 0, sizeof(*report));
}

char *outbox_encode(const struct report *report)
{
    json_t *root = json_pack("{s:s, s:I, s:i, s:I}", "type", type_names[report->type],
                             "task_id", (json_int_t)report->task_id, "attempt", report->attempt,
                             "seq", (json_int_t)report->seq);
    char *text;

    if (report->type == REPORT_ARTIFACT) {
        json_object_set_new(root, "name", json_string_or_null(report->artifact_name));
        json_object_set_new(root, "path", json_string_or_null(report->artifact_path));
    } else {
        json_object_set(root, "body", report->body ? report->body : json_null());
    }
    text = json_to_text(root);
    json_decref(root);
    return text;
}

static int decode_type(const char *name, enum report_type *out)
{
    for (int i = 0; i <= REPORT_COMPLETE; i++) {
        if (strcmp(name, type_names[i]) == 0) {
            *out = (enum report_type)i;
            return 0;
        }
    }
    return -1;
}

int outbox_decode(const char *text, size_t len, struct report *out, char *err,
                  size_t err_len)
{
    json_t *root = json_parse_strict(text, len, err, err_len);
    const char *type = NULL;
    const char *name = NULL;
    const char *path = NULL;
    int64_t task_id, attempt, seq;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (!root)
        goto out;
    if (json_field_string(root, "type", 1, 32, &type, err, err_len) < 0 ||
        json_field_int(root, "task_id", 1, 1, INT64_MAX, &task_id, err, err_len) < 0 ||
        json_field_int(root, "attempt", 1, 1, INT32_MAX, &attempt, err, err_len) < 0 ||
        json_field_int(root, "seq", 1, 1, INT64_MAX, &seq, err, err_len) < 0)
        goto out;
    if (decode_type(type, &out->type) < 0) {
        snprintf(err, err_len, "unknown report type '%s'", type);
        goto out;
    }
    out->task_id = task_id;
    out->attempt = (int)attempt;
    out->seq = seq;

    if (out->type == REPORT_ARTIFACT) {
        if (json_field_string(root, "name", 1, 4096, &name, err, err_len) < 0 ||
            json_field_string(root, "path", 1, 8192, &path, err, err_len) < 0)
            goto out;
        out->artifact_name = xstrdup(name);
        out->artifact_path = xstrdup(path);
    } else {
        out->body = json_object_get(root, "body");
        if (!json_is_object(out->body)) {
            out->body = NULL;
            snprintf(err, err_len, "field 'body' must be an object");
            goto out;
        }
        json_incref(out->body);
    }
    rc = 0;
out:
    if (rc < 0)
        report_clear(out);
    json_decref(root);
    return rc;
}

static int parse_file_id(const char *name, unsigned long long *id)
{
    char *end;

    if (strlen(name) != 25 || strcmp(name + 20, ".json") != 0)
        return -1;
    errno = 0;
    *id = strtoull(name, &end, 10);
    return errno || end != name + 20 ? -1 : 0;
}

static int compare_ids(const void *a, const void *b)
{
    unsigned long long x = *(const unsigned long long *)a;
    unsigned long long y = *(const unsigned long long *)b;

    return x < y ? -1 : x > y;
}

static void push_id(struct outbox *outbox, unsigned long long id)
{
    if (outbox->count == outbox->cap) {
        outbox->cap = outbox->cap ? outbox->cap * 2 : 64;
        outbox->ids = xrealloc(outbox->ids, outbox->cap * sizeof(*outbox->ids));
    }
    outbox->ids[outbox->count++] = id;
}

/* Queues id in ascending order; ids are handed out in ascending order,
 * so this is an append unless another thread's put finished first. */
static void insert_id(struct outbox *outbox, unsigned long long id)
{
    size_t i;

    push_id(outbox, id);
    for (i = outbox->count - 1; i > 0 && outbox->ids[i - 1] > id; i--)
        outbox->ids[i] = outbox->ids[i - 1];
    outbox->ids[i] = id;
}

/* Loads the ids of the report files and deletes half-written temporary
 * files, which were never queued. */
static int load_existing(struct outbox *outbox, char *err, size_t err_len)
{
    DIR *dir = opendir(outbox->dir);
    struct dirent *entry;
    unsigned long long id;

    if (!dir) {
        snprintf(err, err_len, "cannot open outbox directory '%s': %s", outbox->dir,
                 strerror(errno));
        return -1;
    }
    while ((entry = readdir(dir)) != NULL) {
        if (strncmp(entry->d_name, ".tmp-", 5) == 0) {
            char *path = xasprintf("%s/%s", outbox->dir, entry->d_name);
            unlink(path);
            free(path);
            continue;
        }
        if (parse_file_id(entry->d_name, &id) == 0)
            push_id(outbox, id);
    }
    closedir(dir);

    if (outbox->count > 0)
        qsort(outbox->ids, outbox->count, sizeof(*outbox->ids), compare_ids);
    outbox->next_id = outbox->count ? outbox->ids[outbox->count - 1] + 1 : 1;
    return 0;
}

struct outbox *outbox_open(const char *dir, char *err, size_t err_len)
{
    struct outbox *outbox;

    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, err_len, "cannot create outbox directory '%s': %s", dir, strerror(errno));
        return NULL;
    }
    outbox = xcalloc(1, sizeof(*outbox));
    pthread_condattr_t attr;

    pthread_mutex_init(&outbox->lock, NULL);
    /* The deadlines of the timed waits are on the monotonic clock. */
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&outbox->changed, &attr);
    pthread_condattr_destroy(&attr);
    outbox->dir = xstrdup(dir);
    if (load_existing(outbox, err, err_len) < 0) {
        outbox_close(outbox);
        return NULL;
    }
    return outbox;
}

void outbox_close(struct outbox *outbox)
{
    if (!outbox)
        return;
    pthread_mutex_destroy(&outbox->lock);
    pthread_cond_destroy(&outbox->changed);
    free(outbox->ids);
    free(outbox->dir);
    free(outbox);
}

static char *report_path(const struct outbox *outbox, unsigned long long id)
{
    return xasprintf("%s/%020llu.json", outbox->dir, id);
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static int fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc;

    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

/* Writes a report file under its final name. The reporter cannot read it
 * early, because its id is queued only after this returns. A crash in the
 * middle leaves a short file, which the reporter drops as unreadable: for
 * a progress or log report that loses only that report, and a complete
 * report is fsynced before its run counts as finished, so recovery reports
 * a run whose complete report is torn as lost. */
static int write_report_file(const struct outbox *outbox, unsigned long long id,
                             const char *text, int durable, char *err, size_t err_len)
{
    char *path = report_path(outbox, id);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int rc = -1;

    if (fd < 0) {
        snprintf(err, err_len, "cannot create '%s': %s", path, strerror(errno));
        goto out;
    }
    if (write_all(fd, text, strlen(text)) < 0) {
        snprintf(err, err_len, "cannot write '%s': %s", path, strerror(errno));
        goto out;
    }
    /* The complete report must be on disk, name included, before the run
     * counts as finished and its slot is offered again: it is the only
     * record of the outcome. Progress, log and artifact reports are not
     * synced; a power loss may lose them, but never an outcome. */
    if (durable && fsync(fd) < 0) {
        snprintf(err, err_len, "cannot sync '%s': %s", path, strerror(errno));
        goto out;
    }
    if (durable && fsync_dir(outbox->dir) < 0) {
        snprintf(err, err_len, "cannot sync directory '%s': %s", outbox->dir, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (rc < 0 && fd >= 0)
        unlink(path);
    free(path);
    return rc;
}

int outbox_put(struct outbox *outbox, const struct report *report, char *err,
               size_t err_len)
{
    char *text = outbox_encode(report);
    unsigned long long id;
    int rc;

    /* The file is written outside the lock, so the reporter can go on
     * sending while a complete report is synced. Its id is queued only
     * once the file is whole, in id order, so the reports of one thread
     * are sent in the order of its calls. */
    pthread_mutex_lock(&outbox->lock);
    id = outbox->next_id++;
    pthread_mutex_unlock(&outbox->lock);

    rc = write_report_file(outbox, id, text, report->type == REPORT_COMPLETE, err, err_len);

    if (rc == 0) {
        pthread_mutex_lock(&outbox->lock);
        insert_id(outbox, id);
        pthread_cond_broadcast(&outbox->changed);
        pthread_mutex_unlock(&outbox->lock);
    }
    free(text);
    return rc;
}

static int read_file(const char *path, struct strbuf *out, char *err, size_t err_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char chunk[65536];
    ssize_t n;
    int rc = -1;

    if (fd < 0) {
        snprintf(err, err_len, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            snprintf(err, err_len, "cannot read '%s': %s", path, strerror(errno));
            goto out;
        }
        strbuf_append(out, chunk, (size_t)n);
        if (out->len > OUTBOX_FILE_MAX_LEN) {
            snprintf(err, err_len, "'%s' is larger than %d bytes", path, OUTBOX_FILE_MAX_LEN);
            goto out;
        }
    }
    rc = 0;
out:
    close(fd);
    return rc;
}

static void deadline_after(struct timespec *ts, int wait_ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += wait_ms / 1000;
    ts->tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

int outbox_peek(struct outbox *outbox, int wait_ms, unsigned long long *id,
                struct report *out, char *err, size_t err_len)
{
    struct timespec deadline;
    struct strbuf text;
    char *path;
    int rc;

    deadline_after(&deadline, wait_ms);
    pthread_mutex_lock(&outbox->lock);
    while (outbox->count == 0) {
        if (pthread_cond_timedwait(&outbox->changed, &outbox->lock, &deadline) == ETIMEDOUT)
            break;
    }
    if (outbox->count == 0) {
        pthread_mutex_unlock(&outbox->lock);
        return 0;
    }
    *id = outbox->ids[0];
    pthread_mutex_unlock(&outbox->lock);

    /* Only the reporter removes ids, so the head stays while it is read. */
    strbuf_init(&text);
    path = report_path(outbox, *id);
    rc = read_file(path, &text, err, err_len);
    if (rc == 0)
        rc = outbox_decode(text.data, text.len, out, err, err_len);
    free(path);
    strbuf_free(&text);
    return rc < 0 ? -1 : 1;
}

void outbox_remove(struct outbox *outbox, unsigned long long id)
{
    char *path = report_path(outbox, id);

    unlink(path);
    free(path);

    pthread_mutex_lock(&outbox->lock);
    for (size_t i = 0; i < outbox->count; i++) {
        if (outbox->ids[i] == id) {
            memmove(&outbox->ids[i], &outbox->ids[i + 1],
                    (outbox->count - i - 1) * sizeof(*outbox->ids));
            outbox->count--;
            break;
        }
    }
    pthread_cond_broadcast(&outbox->changed);
    pthread_mutex_unlock(&outbox->lock);
}

size_t outbox_pending(struct outbox *outbox)
{
    size_t count;

    pthread_mutex_lock(&outbox->lock);
    count = outbox->count;
    pthread_mutex_unlock(&outbox->lock);
    return count;
}

int outbox_wait_empty(struct outbox *outbox, int timeout_ms)
{
    struct timespec deadline;
    int empty;

    deadline_after(&deadline, timeout_ms);
    pthread_mutex_lock(&outbox->lock);
    while (outbox->count > 0) {
        if (pthread_cond_timedwait(&outbox->changed, &outbox->lock, &deadline) == ETIMEDOUT)
            break;
    }
    empty = outbox->count == 0;
    pthread_mutex_unlock(&outbox->lock);
    return empty;
}

void outbox_for_each(struct outbox *outbox,
                     void (*fn)(unsigned long long id, const struct report *report, void *arg),
                     void *arg)
{
    char err[256];

    /* Used before the reporter starts, so the list does not change. */
    for (size_t i = 0; i < outbox_pending(outbox); i++) {
        unsigned long long id;
        struct report report;
        struct strbuf text;
        char *path;

        pthread_mutex_lock(&outbox->lock);
        id = outbox->ids[i];
        pthread_mutex_unlock(&outbox->lock);

        strbuf_init(&text);
        path = report_path(outbox, id);
        if (read_file(path, &text, err, sizeof(err)) == 0 &&
            outbox_decode(text.data, text.len, &report, err, sizeof(err)) == 0) {
            fn(id, &report, arg);
            report_clear(&report);
        }
        free(path);
        strbuf_free(&text);
    }
}
