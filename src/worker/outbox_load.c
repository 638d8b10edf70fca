/* Reading the outbox directory at start: the acknowledged-id mark, the
 * segments, and report files of the earlier one-file-per-report layout. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "worker/outbox_internal.h"
#include "worker/outbox_journal.h"

struct scan_state {
    struct outbox *outbox;
    struct outbox_segment *segment;
    unsigned long long acked_id;
    unsigned long long max_id;
};

static void queue_scanned(unsigned long long id, off_t body_offset, size_t body_len, void *arg)
{
    struct scan_state *scan = arg;

    if (id > scan->max_id)
        scan->max_id = id;
    if (id > scan->acked_id)
        outbox_push_entry(scan->outbox, id, 0, scan->segment, body_offset, body_len);
}

static int parse_segment_name(const char *name, unsigned long long *first_id)
{
    char *end;

    if (strlen(name) != 28 || strncmp(name, "seg-", 4) != 0 || strcmp(name + 24, ".log") != 0)
        return -1;
    errno = 0;
    *first_id = strtoull(name + 4, &end, 10);
    return errno || end != name + 24 ? -1 : 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Returns the names of dir's segment files in id order, which the fixed
 * width of the ids makes name order. */
static int list_segments(const char *dir_path, char ***names, size_t *count, char *err,
                         size_t err_len)
{
    DIR *dir = opendir(dir_path);
    struct dirent *entry;
    unsigned long long first_id;

    *names = NULL;
    *count = 0;
    if (!dir) {
        snprintf(err, err_len, "cannot open outbox directory '%s': %s", dir_path,
                 strerror(errno));
        return -1;
    }
    while ((entry = readdir(dir)) != NULL) {
        if (parse_segment_name(entry->d_name, &first_id) < 0)
            continue;
        *names = xrealloc(*names, (*count + 1) * sizeof(char *));
        (*names)[(*count)++] = xstrdup(entry->d_name);
    }
    closedir(dir);
    if (*count > 1)
        qsort(*names, *count, sizeof(char *), compare_names);
    return 0;
}

/* Queues the unacknowledged reports of one segment file; a segment with
 * none is deleted. */
static int load_segment(struct outbox *outbox, const char *name, struct scan_state *scan,
                        char *err, size_t err_len)
{
    char *path = xasprintf("%s/%s", outbox->dir, name);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    int torn = 0;

    if (fd < 0) {
        snprintf(err, err_len, "cannot open '%s': %s", path, strerror(errno));
        free(path);
        return -1;
    }
    scan->segment = outbox_add_segment(outbox, path, fd);
    /* Held while scanning, so an empty segment is deleted on release. */
    scan->segment->refs = 1;
    if (outbox_journal_scan(fd, path, queue_scanned, scan, &torn, err, err_len) < 0)
        return -1;
    if (torn)
        outbox->torn_count++;
    outbox_release_segment(outbox, scan->segment);
    return 0;
}

/* Returns 1 for a report file of the earlier layout, one file per report
 * named by a 20-digit sequence number. */
static int is_report_file(const char *name)
{
    return strlen(name) == 25 && strspn(name, "0123456789") == 20 &&
           strcmp(name + 20, ".json") == 0;
}

static int read_report_file(const char *path, struct strbuf *out, char *err, size_t err_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char chunk[65536];
    ssize_t n;
    int rc = 0;

    if (fd < 0) {
        snprintf(err, err_len, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    while (rc == 0 && (n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, err_len, "cannot read '%s': %s", path, strerror(errno));
            rc = -1;
        } else {
            strbuf_append(out, chunk, (size_t)n);
        }
    }
    close(fd);
    return rc;
}

/* Returns the task id of a report's text, 0 when it cannot be decoded;
 * the reporter drops such a report when it reaches it. */
static long long task_id_of(const char *text, size_t len)
{
    struct report report;
    char err[256];
    long long task_id = 0;

    if (text && outbox_decode(text, len, &report, err, sizeof(err)) == 0) {
        task_id = report.task_id;
        report_clear(&report);
    }
    return task_id;
}

/* Sets the task id of each loaded entry, which picks its lane. */
static void read_task_ids(struct outbox *outbox)
{
    char err[256];

    for (size_t i = 0; i < outbox->count; i++) {
        struct report report;

        if (outbox_read_entry(&outbox->entries[i], &report, err, sizeof(err)) == 0) {
            outbox->entries[i].task_id = report.task_id;
            report_clear(&report);
        }
    }
}

/* Moves the report files of the earlier layout into a segment, in name
 * order, which is their send order, so reports queued before an upgrade
 * are still sent. They are deleted once the segment is synced. Their
 * temporary files were never queued and are deleted. */
static int import_report_files(struct outbox *outbox, char *err, size_t err_len)
{
    DIR *dir = opendir(outbox->dir);
    struct dirent *entry;
    char **names = NULL;
    size_t count = 0;
    int rc = 0;

    while (dir && (entry = readdir(dir)) != NULL) {
        char *path = xasprintf("%s/%s", outbox->dir, entry->d_name);

        if (strncmp(entry->d_name, ".tmp-", 5) == 0)
            unlink(path);
        free(path);
        if (!is_report_file(entry->d_name))
            continue;
        names = xrealloc(names, (count + 1) * sizeof(char *));
        names[count++] = xstrdup(entry->d_name);
    }
    if (dir)
        closedir(dir);
    if (count > 1)
        qsort(names, count, sizeof(char *), compare_names);

    for (size_t i = 0; rc == 0 && i < count; i++) {
        char *path = xasprintf("%s/%s", outbox->dir, names[i]);
        struct strbuf text;

        strbuf_init(&text);
        rc = read_report_file(path, &text, err, err_len);
        if (rc == 0)
            rc = outbox_queue_text(outbox, task_id_of(text.data, text.len),
                                   text.data ? text.data : "", text.len,
                                   i + 1 == count ? OUTBOX_SYNC_ALWAYS : OUTBOX_SYNC_NEVER,
                                   err, err_len);
        strbuf_free(&text);
        free(path);
    }
    for (size_t i = 0; i < count; i++) {
        char *path = xasprintf("%s/%s", outbox->dir, names[i]);

        if (rc == 0)
            unlink(path);
        free(path);
        free(names[i]);
    }
    free(names);
    return rc;
}

int outbox_load(struct outbox *outbox, char *err, size_t err_len)
{
    struct scan_state scan = {.outbox = outbox};
    char **names;
    size_t count;
    int rc = -1;

    outbox->mark_fd = outbox_journal_open_mark(outbox->dir, &scan.acked_id, err, err_len);
    if (outbox->mark_fd < 0)
        return -1;
    if (list_segments(outbox->dir, &names, &count, err, err_len) < 0)
        return -1;
    for (size_t i = 0; i < count; i++) {
        if (load_segment(outbox, names[i], &scan, err, err_len) < 0)
            goto out;
    }
    /* Ids stay above the mark even when every segment was deleted, so a
     * new report is never taken as acknowledged after a restart. */
    outbox->next_id = (scan.max_id > scan.acked_id ? scan.max_id : scan.acked_id) + 1;
    read_task_ids(outbox);
    rc = import_report_files(outbox, err, err_len);
out:
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    return rc;
}
