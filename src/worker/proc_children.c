#include "worker/proc_children.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

int proc_children_parse(const char *text, pid_t **pids, size_t *count)
{
    const char *p = text;

    while (*p) {
        char *end;
        long pid;

        if (*p == ' ' || *p == '\n') {
            p++;
            continue;
        }
        errno = 0;
        pid = strtol(p, &end, 10);
        if (errno || end == p || pid <= 0 || (*end && *end != ' ' && *end != '\n'))
            return -1;
        *pids = xrealloc(*pids, (*count + 1) * sizeof(pid_t));
        (*pids)[(*count)++] = (pid_t)pid;
        p = end;
    }
    return 0;
}

/* Reads one whole children file. One read() with room to spare returns
 * the list in a single pass of the kernel's walk; a larger list is read
 * in further passes. */
static int read_children_file(const char *tid, struct strbuf *text)
{
    char path[300]; /* a d_name is at most 255 bytes */
    char chunk[4096];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/self/task/%s/children", tid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            close(fd);
            return -1;
        }
        strbuf_append(text, chunk, (size_t)n);
    }
    close(fd);
    return 0;
}

/* A thread that ended after readdir listed it, such as an HTTP connection
 * thread, has no directory any more and is skipped. Only the supervisor
 * thread forks and orphans go to a thread that is not exiting, so such a
 * thread has no children to miss. */
static int thread_exists(const char *tid)
{
    char path[300]; /* a d_name is at most 255 bytes */

    snprintf(path, sizeof(path), "/proc/self/task/%s", tid);
    return access(path, F_OK) == 0;
}

int proc_children_list(pid_t **pids, size_t *count)
{
    DIR *tasks = opendir("/proc/self/task");
    struct dirent *entry;
    struct strbuf text;
    int rc = 0;

    *pids = NULL;
    *count = 0;
    if (!tasks)
        return -1;
    strbuf_init(&text);
    while (rc == 0 && (entry = readdir(tasks)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        strbuf_reset(&text);
        if (read_children_file(entry->d_name, &text) < 0) {
            if (errno == ENOENT && !thread_exists(entry->d_name))
                continue;
            rc = -1;
            break;
        }
        rc = proc_children_parse(text.data, pids, count);
    }
    closedir(tasks);
    strbuf_free(&text);
    if (rc < 0) {
        free(*pids);
        *pids = NULL;
        *count = 0;
    }
    return rc;
}

static int open_thread_file(pid_t tid)
{
    char path[64];

    snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)tid);
    return open(path, O_RDONLY | O_CLOEXEC);
}

int proc_children_open(struct proc_children_files *files)
{
    pid_t self = gettid();
    pid_t main_tid = getpid();

    files->count = 0;
    files->fds[files->count] = open_thread_file(self);
    if (files->fds[files->count] < 0)
        return -1;
    files->count++;
    if (main_tid == self)
        return 0;
    files->fds[files->count] = open_thread_file(main_tid);
    if (files->fds[files->count] < 0) {
        proc_children_close(files);
        return -1;
    }
    files->count++;
    return 0;
}

/* Reads a whole children file from its start. The file is a seq_file,
 * which generates the list again for a read at offset 0. */
static int pread_children_file(int fd, struct strbuf *text)
{
    char chunk[4096];
    off_t offset = 0;
    ssize_t n;

    while ((n = pread(fd, chunk, sizeof(chunk), offset)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        strbuf_append(text, chunk, (size_t)n);
        offset += n;
    }
    return 0;
}

int proc_children_read(const struct proc_children_files *files, pid_t **pids, size_t *count)
{
    struct strbuf text;
    int rc = 0;

    *pids = NULL;
    *count = 0;
    strbuf_init(&text);
    for (int i = 0; rc == 0 && i < files->count; i++) {
        strbuf_reset(&text);
        rc = pread_children_file(files->fds[i], &text);
        if (rc == 0)
            rc = proc_children_parse(text.data, pids, count);
    }
    strbuf_free(&text);
    if (rc < 0) {
        free(*pids);
        *pids = NULL;
        *count = 0;
    }
    return rc;
}

void proc_children_close(struct proc_children_files *files)
{
    for (int i = 0; i < files->count; i++)
        close(files->fds[i]);
    files->count = 0;
}

int proc_group_alive(int pgid)
{
    if (pgid <= 0)
        return 0;
    return kill(-pgid, 0) == 0 || errno == EPERM;
}
