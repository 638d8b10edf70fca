/* The worker's own child processes, read from
 * /proc/self/task/TID/children. The worker is a child subreaper, so every
 * process that outlives its parent inside a run's process tree becomes a
 * child of the worker. When the worker has no child besides the programs
 * it started, no descendant of a finished run is left, which is much cheaper
 * to establish than a scan of every process's environment. Linux only. */
#ifndef TASKRELAY_PROC_CHILDREN_H
#define TASKRELAY_PROC_CHILDREN_H

#include <stddef.h>
#include <sys/types.h>

/* Reads the pids of the children of every thread of this process into
 * *pids (caller frees; NULL when there are none) and *count. Returns -1
 * when a children file is missing, which happens on kernels built without
 * CONFIG_PROC_CHILDREN, or cannot be read. Zombies not yet reaped are
 * listed too. */
int proc_children_list(pid_t **pids, size_t *count);

/* The children files of the two threads that can have children: the
 * thread that starts the task programs, and the main thread, to which the
 * kernel gives orphans. */
struct proc_children_files {
    int fds[2];
    int count;
};

/* Opens the children files of the calling thread, the one that starts
 * every task program, and of the main thread. Linux gives an orphan to
 * the first thread of the subreaper that is not exiting, which is the
 * main thread while the process runs (find_new_reaper() and
 * find_alive_thread() in kernel/exit.c, Linux 6.x). So the two files list
 * every child of this process as long as the main thread outlives the
 * calling thread and no other thread forks. Returns -1 when a file cannot
 * be opened, as on kernels without CONFIG_PROC_CHILDREN. */
int proc_children_open(struct proc_children_files *files);

/* Reads the pids listed in the open files, as proc_children_list does,
 * with one pread per file and no directory scan. */
int proc_children_read(const struct proc_children_files *files, pid_t **pids, size_t *count);

void proc_children_close(struct proc_children_files *files);

/* Parses the text of one children file ("PID PID ... "), appending each
 * pid to *pids; exposed for the unit tests. Returns -1 on a word that is
 * not a positive pid. */
int proc_children_parse(const char *text, pid_t **pids, size_t *count);

/* Returns 1 when process group pgid has a member, counting zombies and
 * members the worker may not signal, and 0 when it has none or pgid <= 0. */
int proc_group_alive(int pgid);

#endif
