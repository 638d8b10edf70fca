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

/* Runs in the child of vfork: only async-signal-safe calls from here on,
 * because other threads of the parent may have held locks at that time.
 * The child shares the parent's memory until execve, so it never returns
 * and writes nothing but its own stack frame, errno and the error pipe. */
static void run_child(const struct spawn_request *request, int error_fd, int max_fd)
{
    struct sigaction dfl;
    sigset_t empty;
    int in, out, progress;

    /* Only the signals that were not SIG_DFL when the worker started: the
     * others are at SIG_DFL already. Caught ones are reset before the mask
     * is cleared, so a signal that arrives before execve does not run a
     * handler of the worker in this child, which shares its memory. */
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int i = 0; i < request->reset_signal_count; i++)
        sigaction(request->reset_signals[i], &dfl, NULL);
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

int spawn_changed_signals(int *signals)
{
    int count = 0;

    for (int sig = 1; sig < NSIG && count < SPAWN_MAX_SIGNALS; sig++) {
        struct sigaction current;

        /* glibc rejects the signals it reserves for its threads; execve
         * resets their handlers. */
        if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, NULL, &current) < 0)
            continue;
        if (!(current.sa_flags & SA_SIGINFO) && current.sa_handler == SIG_DFL)
            continue;
        signals[count++] = sig;
    }
    return count;
}

/* vfork rather than fork: fork copies the page tables of the whole worker,
 * threads' stacks and libraries included, only for execve to throw them
 * away, which cost more CPU than anything else per task. The calling
 * thread waits until the child called execve or exited. */
static pid_t start_child(const struct spawn_request *request, int error_fd, int max_fd)
{
    pid_t child = vfork();

    if (child == 0)
        run_child(request, error_fd, max_fd);
    return child;
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
    child = start_child(request, error_pipe[1], max_fd);
    if (child < 0) {
        snprintf(err, err_len, "cannot fork for '%s': %s", request->program, strerror(errno));
        close(error_pipe[0]);
        close(error_pipe[1]);
        return -1;
    }

    /* The child set its process group before execve, and this thread
     * continues only after that, so a kill from now on finds the group. */
    close(error_pipe[1]);

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
