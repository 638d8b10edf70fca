/* Starts a task program with fork and execve, never through a shell. */
#ifndef TASKRELAY_SPAWN_H
#define TASKRELAY_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

struct spawn_request {
    const char *program;  /* absolute path */
    char *const *argv;    /* NULL-terminated */
    char *const *envp;    /* NULL-terminated; the whole environment of the child */
    const char *cwd;
    int stdin_fd;         /* becomes fd 0 */
    int output_fd;        /* becomes fds 1 and 2 */
    int progress_fd;      /* becomes fd 3 */
    const int *reset_signals; /* set to SIG_DFL in the child; from spawn_changed_signals */
    int reset_signal_count;
};

/* Largest number of signals spawn_changed_signals returns. */
#define SPAWN_MAX_SIGNALS 64

/* Stores in signals (room for SPAWN_MAX_SIGNALS) the signals whose
 * disposition is not SIG_DFL now, ignored or caught, and returns how many.
 * Call it once the process set its signal handling and before spawning,
 * so that the child resets just these rather than every signal. */
int spawn_changed_signals(int *signals);

/* Forks and execs the program in a new process group (pgid = pid) with
 * the request's reset_signals set to SIG_DFL, an empty signal mask and only
 * fds 0-3 open.
 * Every fd of the caller must be close-on-exec. Returns 0 with *pid once
 * execve succeeded, or -1 with a message naming the program and the error
 * when it failed (the failed child is reaped before this returns). */
int spawn_process(const struct spawn_request *request, pid_t *pid, char *err, size_t err_len);

#endif
