#include "worker/proc_kill.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

/* Environments larger than this are searched in their first part only. */
#define ENVIRON_READ_MAX (1024 * 1024)

int proc_environ_has_token(const char *environ, size_t len, const char *token)
{
    char entry[128];
    int entry_len = snprintf(entry, sizeof(entry), "TASKRELAY_RUN_TOKEN=%s", token);
    size_t pos = 0;

    if (entry_len <= 0 || (size_t)entry_len >= sizeof(entry))
        return 0;
    while (pos < len) {
        const char *start = environ + pos;
        const char *end = memchr(start, '\0', len - pos);
        size_t item_len = end ? (size_t)(end - start) : len - pos;

        if (item_len == (size_t)entry_len && memcmp(start, entry, item_len) == 0)
            return 1;
        pos += item_len + 1;
    }
    return 0;
}

/* Reads state and process group from /proc/PID/stat; -1 when the process
 * is gone. The command name may contain spaces and ')', so parsing starts
 * after the last ')'. */
static int read_stat(int pid, char *state, int *pgrp)
{
    char path[64];
    char buf[1024];
    int fd;
    ssize_t n;
    char *close_paren;
    int ppid;

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    close_paren = strrchr(buf, ')');
    if (!close_paren || sscanf(close_paren + 1, " %c %d %d", state, &ppid, pgrp) != 3)
        return -1;
    return 0;
}

static int environ_matches(int pid, const char *token)
{
    char path[64];
    struct strbuf text;
    char chunk[16384];
    int fd;
    ssize_t n;
    int found;

    snprintf(path, sizeof(path), "/proc/%d/environ", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    strbuf_init(&text);
    while (text.len < ENVIRON_READ_MAX && (n = read(fd, chunk, sizeof(chunk))) > 0)
        strbuf_append(&text, chunk, (size_t)n);
    close(fd);
    found = proc_environ_has_token(text.data, text.len, token);
    strbuf_free(&text);
    return found;
}

int proc_signal_run(int pgid, const char *run_token, int sig)
{
    DIR *proc = opendir("/proc");
    struct dirent *entry;
    int self = (int)getpid();
    int count = 0;
    int group_found = 0;

    if (!proc)
        return 0;
    while ((entry = readdir(proc)) != NULL) {
        char state;
        int pgrp;
        int pid;
        int match;

        if (!isdigit((unsigned char)entry->d_name[0]))
            continue;
        pid = atoi(entry->d_name);
        if (pid == self || read_stat(pid, &state, &pgrp) < 0 || state == 'Z' || state == 'X')
            continue;

        match = pgid > 0 && pgrp == pgid;
        group_found |= match;
        if (!match && run_token && run_token[0])
            match = environ_matches(pid, run_token);
        if (!match)
            continue;
        count++;
        if (sig != 0)
            kill(pid, sig);
    }
    closedir(proc);

    /* The group as a whole is signalled too, which reaches a member forked
     * after the scan passed. This happens only when the scan found the group
     * alive, because the id of a dead group may belong to another process. */
    if (sig != 0 && group_found)
        kill(-pgid, sig);
    return count;
}
