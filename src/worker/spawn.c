#include "worker/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* Failure report the child writes to the error pipe when a step fails. */
struct child_error {
    int step; /* index into step_names */
    int error;
};

static const char *const step_names[] = {"dup", "dup2", "chdir", "close_range", "execve"};

enum { STEP_DUP, STEP_DUP2, STEP_CHDIR, STEP_CLOSE, STEP_EXECVE };

/* Lowest fd the child moves its inputs to before dup2, so that none of them
 * is overwritten by an earlier dup2 onto 0-3. */
#define CHILD_HIGH_FD 10

static void child_fail(int error_fd, int step)
{
    struct child_error report = {.step = step, .error = errno};
    ssize_t ignored = write(error_fd, &report, sizeof(report));

    (void)ignored;
    _exit(127);
}

/* Closes every fd from low to high except keep; falls back to a loop on
 * kernels without close_range. */
static int child_close_from(unsigned int low, unsigned int keep, int max_fd)
{
    if (close_range(low, keep - 1, 0) == 0 && close_range(keep + 1, ~0U, 0) == 0)
        return 0;
    if (errno != ENOSYS)
        return -1;
    for (int fd = (int)low; fd < max_fd; fd++) {
        if (fd != (int)keep)
            close(fd);
    }
    return 0;
}

/* Runs in the forked child: only async-signal-safe calls from here on,
 * because other threads of the parent may have held locks at fork time. */
static void run_child(const struct spawn_request *request, int error_fd, int max_fd)
{
    struct sigaction dfl;
    sigset_t empty;
    int in, out, progress;

    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &dfl, NULL);
    }
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, NULL);
    setpgid(0, 0);

    error_fd = fcntl(error_fd, F_DUPFD_CLOEXEC, CHILD_HIGH_FD);
    in = fcntl(request->stdin_fd, F_DUPFD_CLOEXEC, CHILD_HIGH_FD);
    out = fcntl(request->output_fd, F_DUPFD_CLOEXEC, CHILD_HIGH_FD);
    progress = fcntl(request->progress_fd, F_DUPFD_CLOEXEC, CHILD_HIGH_FD);
    if (error_fd < 0)
        _exit(127);
    if (in < 0 || out < 0 || progress < 0)
        child_fail(error_fd, STEP_DUP);

    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0 || dup2(progress, 3) < 0)
        child_fail(error_fd, STEP_DUP2);
    if (chdir(request->cwd) < 0)
        child_fail(error_fd, STEP_CHDIR);
    /* The error pipe stays open until execve closes it (close-on-exec). */
    if (child_close_from(4, (unsigned int)error_fd, max_fd) < 0)
        child_fail(error_fd, STEP_CLOSE);

    execve(request->program, request->argv, request->envp);
    child_fail(error_fd, STEP_EXECVE);
}

static int fd_limit(void)
{
    struct rlimit limit;

    if (getrlimit(RLIMIT_NOFILE, &limit) < 0 || limit.rlim_cur == RLIM_INFINITY ||
        limit.rlim_cur > 65536)
        return 65536;
    return (int)limit.rlim_cur;
}

int spawn_process(const struct spawn_request *request, pid_t *pid, char *err, size_t err_len)
{
    int error_pipe[2];
    int max_fd = fd_limit();
    struct child_error report;
    ssize_t n;
    pid_t child;

    if (pipe2(error_pipe, O_CLOEXEC) < 0) {
        snprintf(err, err_len, "cannot create a pipe for '%s': %s", request->program,
                 strerror(errno));
        return -1;
    }
    child = fork();
    if (child < 0) {
        snprintf(err, err_len, "cannot fork for '%s': %s", request->program, strerror(errno));
        close(error_pipe[0]);
        close(error_pipe[1]);
        return -1;
    }
    if (child == 0)
        run_child(request, error_pipe[1], max_fd);

    close(error_pipe[1]);
    /* Set the group here too, so a kill right after fork finds it. */
    setpgid(child, child);

    do {
        n = read(error_pipe[0], &report, sizeof(report));
    } while (n < 0 && errno == EINTR);
    close(error_pipe[0]);
    if (n == 0) {
        *pid = child;
        return 0;
    }

    while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
        ;
    if (n != (ssize_t)sizeof(report) || report.step < 0 || report.step > STEP_EXECVE)
        snprintf(err, err_len, "cannot run '%s': the child process failed before execve",
                 request->program);
    else
        snprintf(err, err_len, "cannot run '%s': %s failed: %s", request->program,
                 step_names[report.step], strerror(report.error));
    return -1;
}
