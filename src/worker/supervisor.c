#include "worker/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "worker/proc_children.h"
#include "worker/proc_kill.h"
#include "worker/supervisor_internal.h"

/* Interval between checks of an exited run that still has processes left.
 * It bounds the delay between the last one dying and the slot freeing when
 * that process was not a child of the worker. */
#define STOP_CHECK_INTERVAL_MS 100
#define LOG_FLUSH_INTERVAL_MS 1000
#define MAX_POLL_FDS 1100

/* Returns 1 when this kernel has /proc/self/task/TID/children, which needs
 * CONFIG_PROC_CHILDREN; without it every finished run is checked with a
 * scan of /proc. */
static int probe_children_files(void)
{
    pid_t *pids;
    size_t count;

    if (proc_children_list(&pids, &count) < 0) {
        log_warn("worker", "cannot read /proc/self/task/*/children: each finished run is checked "
                           "for leftover processes with a scan of /proc, which is slower");
        return 0;
    }
    free(pids);
    return 1;
}

struct supervisor *supervisor_new(const struct worker_config *config, struct run_table *table,
                                  struct outbox *outbox, int signal_fd, char *err,
                                  size_t err_len)
{
    struct supervisor *sup = xcalloc(1, sizeof(*sup));

    if (pipe2(sup->wake_fds, O_CLOEXEC | O_NONBLOCK) < 0) {
        snprintf(err, err_len, "cannot create the supervisor's wake pipe: %s", strerror(errno));
        free(sup);
        return NULL;
    }
    sup->config = config;
    sup->children_readable = probe_children_files();
    /* The worker set its signal handling before this (SIGPIPE ignored in
     * main, SIGTERM and SIGINT caught), and libcurl runs with
     * CURLOPT_NOSIGNAL, so these stay the signals a child must reset. */
    sup->reset_signal_count = spawn_changed_signals(sup->reset_signals);
    run_files_boot_id(sup->boot_id);
    sup->table = table;
    sup->outbox = outbox;
    sup->signal_fd = signal_fd;
    pthread_mutex_init(&sup->lock, NULL);
    sup->commands_tail = &sup->commands;
    return sup;
}

static void wake(struct supervisor *sup)
{
    char byte = 1;
    ssize_t ignored = write(sup->wake_fds[1], &byte, 1);

    (void)ignored; /* a full pipe already wakes the thread */
}

static void push_command(struct supervisor *sup, struct sup_command *command)
{
    pthread_mutex_lock(&sup->lock);
    *sup->commands_tail = command;
    sup->commands_tail = &command->next;
    pthread_mutex_unlock(&sup->lock);
    wake(sup);
}

void supervisor_submit(struct supervisor *sup, long long task_id, int attempt,
                       const char *kind, const char *payload, size_t payload_len,
                       int timeout_s)
{
    struct sup_command *command = xcalloc(1, sizeof(*command));
    struct sup_run *run = xcalloc(1, sizeof(*run));

    run->task_id = task_id;
    run->attempt = attempt;
    run->kind = worker_config_find_kind(sup->config, kind);
    run->timeout_s = timeout_s > 0 ? timeout_s : run->kind->timeout_s;
    run->payload = xstrndup(payload, payload_len);
    run->payload_len = payload_len;
    run->progress_fd = -1;
    run->log_fd = -1;
    command->start = run;
    push_command(sup, command);
}

void supervisor_kill(struct supervisor *sup, long long task_id, int attempt,
                     enum kill_reason reason)
{
    struct sup_command *command = xcalloc(1, sizeof(*command));

    command->task_id = task_id;
    command->attempt = attempt;
    command->reason = reason;
    push_command(sup, command);
}

static const char *reason_name(enum kill_reason reason)
{
    static const char *const names[] = {"cancel", "timeout", "shutdown", "stale attempt"};

    return names[reason];
}

static void start_stopping(struct supervisor *sup, struct sup_run *run)
{
    int64_t now = mono_ms();
    int found;

    if (run->stopping)
        return;
    run->stopping = 1;
    run->term_sent_at_ms = now;
    run->next_check_at_ms = now + STOP_CHECK_INTERVAL_MS;
    /* NOTE: no per-task cgroup: the machines this runs on mix cgroup v1 and
     * v2, so processes are found by process group and by the run token in
     * their environment. A descendant that both calls setsid and clears its
     * environment escapes this. */
    found = proc_signal_run((int)run->record.pgid, run->record.run_token, SIGTERM);
    run_table_set_phase(sup->table, run->task_id, run->attempt, RUN_STOPPING, 0);
    log_debug("worker", "sent SIGTERM task=%lld attempt=%d processes=%d", run->task_id,
              run->attempt, found);
}

static void request_kill(struct supervisor *sup, struct sup_run *run, enum kill_reason reason)
{
    if (run->kill_requested)
        return;
    run->kill_requested = 1;
    run->kill_reason = reason;
    run->kill_before_exit = !run->exited;
    log_info("worker", "killing run task=%lld attempt=%d reason=%s", run->task_id,
             run->attempt, reason_name(reason));
    start_stopping(sup, run);
}

static void apply_kill_command(struct supervisor *sup, const struct sup_command *command)
{
    for (struct sup_run *run = sup->runs; run; run = run->next) {
        if (run->task_id == command->task_id &&
            (command->attempt == 0 || run->attempt == command->attempt))
            request_kill(sup, run, command->reason);
    }
}

static void process_commands(struct supervisor *sup)
{
    struct sup_command *list;
    char drain[256];

    while (read(sup->wake_fds[0], drain, sizeof(drain)) > 0)
        ;
    pthread_mutex_lock(&sup->lock);
    list = sup->commands;
    sup->commands = NULL;
    sup->commands_tail = &sup->commands;
    pthread_mutex_unlock(&sup->lock);

    while (list) {
        struct sup_command *command = list;

        list = command->next;
        if (command->start) {
            command->start->next = sup->runs;
            sup->runs = command->start;
            sup_run_start(sup, command->start);
        } else {
            apply_kill_command(sup, command);
        }
        free(command);
    }
}

static void check_exited_runs_now(struct supervisor *sup)
{
    int64_t now = mono_ms();

    for (struct sup_run *run = sup->runs; run; run = run->next) {
        if (run->exited)
            run->next_check_at_ms = now;
    }
}

/* Reaps every child that ended: task programs and, because the worker is
 * a child subreaper, orphaned descendants of them. */
static void reap_children(struct supervisor *sup)
{
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        int program = 0;

        for (struct sup_run *run = sup->runs; run; run = run->next) {
            if (run->pid == pid && !run->exited) {
                program = 1;
                run->exited = 1;
                run->wait_status = status;
                run->next_check_at_ms = mono_ms();
                log_debug("worker", "program exited task=%lld attempt=%d pid=%d status=%d",
                          run->task_id, run->attempt, (int)pid, status);
            }
        }
        /* An orphaned descendant ended: a run that waits for its last
         * process may be free now, so check at once. */
        if (!program)
            check_exited_runs_now(sup);
    }
}

static void begin_shutdown(struct supervisor *sup, int signo)
{
    const char *name = signo == SIGINT ? "SIGINT" : "SIGTERM";
    int64_t now = mono_ms();

    if (sup->shutting_down) {
        log_info("worker", "second %s: killing the running tasks now", name);
        sup->shutdown_deadline_ms = now;
        return;
    }
    sup->shutting_down = 1;
    sup->shutdown_deadline_ms = now + (int64_t)sup->config->shutdown_grace_s * 1000;
    run_table_set_shutting_down(sup->table);
    log_info("worker", "shutting down after %s: no new tasks; running tasks get %d s to finish",
             name, sup->config->shutdown_grace_s);
}

static void handle_signals(struct supervisor *sup)
{
    struct signalfd_siginfo info;

    while (read(sup->signal_fd, &info, sizeof(info)) == (ssize_t)sizeof(info)) {
        if (info.ssi_signo == SIGCHLD)
            continue;
        begin_shutdown(sup, (int)info.ssi_signo);
    }
    /* Signals coalesce, so reap on every wake-up, not once per SIGCHLD. */
    reap_children(sup);
}

static int is_active_program(const struct supervisor *sup, pid_t pid)
{
    for (const struct sup_run *run = sup->runs; run; run = run->next) {
        if (run->pid == pid && !run->exited)
            return 1;
    }
    return 0;
}

/* Reads the worker's children from the two files opened at start, or
 * from every thread's file when those could not be opened. */
static int read_children(struct supervisor *sup, pid_t **children, size_t *count)
{
    if (sup->children_files.count > 0)
        return proc_children_read(&sup->children_files, children, count);
    return proc_children_list(children, count);
}

/* Returns 0 when no process of the run can be left, which the common case
 * establishes without a scan of /proc. With the program reaped, a
 * surviving descendant is a member of the run's process group, or one of
 * its ancestors is a child of the worker. This follows because the worker is
 * a child subreaper, so orphans in the run's tree are handed to it. So the run is gone when
 * its group is empty and every child of the worker is the program of an
 * active run. Otherwise the scan by group and run token counts what is
 * left, which is slower but also finds processes outside the tree. */
static int count_leftovers(struct supervisor *sup, const struct sup_run *run)
{
    pid_t *children = NULL;
    size_t count = 0;
    int suspect = proc_group_alive(run->record.pgid) || !sup->children_readable ||
                  read_children(sup, &children, &count) < 0;

    for (size_t i = 0; !suspect && i < count; i++)
        suspect = !is_active_program(sup, children[i]);
    free(children);
    if (!suspect)
        return 0;
    return proc_signal_run((int)run->record.pgid, run->record.run_token, 0);
}

/* Advances one run's timers; returns 1 when the run finished. */
static int tick_run(struct supervisor *sup, struct sup_run *run, int64_t now)
{
    if (!run->exited && !run->stopping && now >= run->deadline_at_ms)
        request_kill(sup, run, KILL_TIMEOUT);
    if (sup->shutting_down && now >= sup->shutdown_deadline_ms && !run->exited)
        request_kill(sup, run, KILL_SHUTDOWN);

    if (run->stopping && !run->kill_sent &&
        now >= run->term_sent_at_ms + sup->config->kill_grace_ms) {
        int found = proc_signal_run((int)run->record.pgid, run->record.run_token, SIGKILL);

        run->kill_sent = 1;
        log_info("worker", "sent SIGKILL after the grace of %d ms task=%lld attempt=%d processes=%d",
                 sup->config->kill_grace_ms, run->task_id, run->attempt, found);
    }

    if (run->exited && now >= run->next_check_at_ms) {
        int left = count_leftovers(sup, run);

        run->next_check_at_ms = now + STOP_CHECK_INTERVAL_MS;
        if (left == 0)
            return 1;
        /* The program exited but left processes behind: kill them too. */
        start_stopping(sup, run);
    }

    if (now >= run->log_flushed_at_ms + LOG_FLUSH_INTERVAL_MS)
        sup_flush_log(sup, run, 0);
    sup_flush_progress(sup, run, 0);
    return 0;
}

static void tick_runs(struct supervisor *sup)
{
    struct sup_run **link = &sup->runs;
    int64_t now = mono_ms();

    while (*link) {
        struct sup_run *run = *link;

        if (!tick_run(sup, run, now)) {
            link = &run->next;
            continue;
        }
        *link = run->next;
        sup_run_finish(sup, run);
        sup_run_free(run);
    }
}

static int next_timeout_ms(const struct supervisor *sup)
{
    int64_t now = mono_ms();
    int64_t next = now + LOG_FLUSH_INTERVAL_MS;

    for (const struct sup_run *run = sup->runs; run; run = run->next) {
        if (run->exited && run->next_check_at_ms < next)
            next = run->next_check_at_ms;
        if (!run->stopping && run->deadline_at_ms < next)
            next = run->deadline_at_ms;
        if (run->stopping && !run->kill_sent &&
            run->term_sent_at_ms + sup->config->kill_grace_ms < next)
            next = run->term_sent_at_ms + sup->config->kill_grace_ms;
        if (run->progress_pending && sup_progress_next_ms(run) < next)
            next = sup_progress_next_ms(run);
    }
    if (sup->shutting_down && sup->runs && sup->shutdown_deadline_ms < next)
        next = sup->shutdown_deadline_ms;
    return next <= now ? 0 : (int)(next - now);
}

static void *supervisor_thread(void *arg)
{
    struct supervisor *sup = arg;
    struct pollfd fds[MAX_POLL_FDS];
    struct sup_run *polled[MAX_POLL_FDS];

    /* In this thread, because the files to open depend on which thread
     * starts the programs. */
    if (sup->children_readable && proc_children_open(&sup->children_files) < 0)
        log_warn("worker", "cannot open the children files of the supervisor and main threads: "
                           "each check for leftover processes reads every thread's file");
    while (!(sup->shutting_down && !sup->runs)) {
        nfds_t count = 2;

        fds[0] = (struct pollfd){.fd = sup->signal_fd, .events = POLLIN};
        fds[1] = (struct pollfd){.fd = sup->wake_fds[0], .events = POLLIN};
        for (struct sup_run *run = sup->runs; run && count < MAX_POLL_FDS; run = run->next) {
            if (run->progress_fd < 0)
                continue;
            fds[count] = (struct pollfd){.fd = run->progress_fd, .events = POLLIN};
            polled[count++] = run;
        }

        if (poll(fds, count, next_timeout_ms(sup)) < 0 && errno != EINTR) {
            log_error("worker", "poll failed in the supervisor: %s", strerror(errno));
            sleep_ms(100);
            continue;
        }
        if (fds[0].revents)
            handle_signals(sup);
        for (nfds_t i = 2; i < count; i++) {
            if (fds[i].revents)
                sup_read_progress(sup, polled[i]);
        }
        /* Runs that exited are checked and finished before new runs
         * start: finishing takes tens of microseconds and frees a slot and
         * sends the complete report, while a start waits for the child's
         * execve, about a millisecond. */
        tick_runs(sup);
        if (fds[1].revents)
            process_commands(sup);
    }
    proc_children_close(&sup->children_files);
    log_info("worker", "supervisor stopped: no task is running");
    return NULL;
}

/* Spares kept ready: two per slot, so that a slot finds one while the
 * spare taken by the other slot is still being replaced, up to this many. */
#define MAX_SPARE_COUNT 8

/* The pool keeps up to one spare per slot beyond the number it creates,
 * so that the directories of the runs in flight fit back into it when
 * they finish, and the steady state neither creates nor deletes one. */
static int spare_keep_count(int target_count, int slots)
{
    return target_count + slots;
}

void supervisor_recycle_run(struct supervisor *sup, long long task_id, int attempt)
{
    char *dir = run_dir_path(sup->config->state_dir, task_id, attempt);

    run_spares_recycle(sup->spares, dir);
    free(dir);
}

int supervisor_start(struct supervisor *sup, char *err, size_t err_len)
{
    char *runs_dir = xasprintf("%s/runs", sup->config->state_dir);
    char spare_err[512];
    int spare_count = sup->config->slots * 2;
    int rc;

    if (spare_count > MAX_SPARE_COUNT)
        spare_count = MAX_SPARE_COUNT;
    sup->spares = run_spares_start(runs_dir, spare_count,
                                   spare_keep_count(spare_count, sup->config->slots), spare_err,
                                   sizeof(spare_err));
    if (!sup->spares)
        log_warn("worker", "runs create their directories when they start: %s", spare_err);
    free(runs_dir);

    rc = pthread_create(&sup->thread, NULL, supervisor_thread, sup);
    if (rc != 0) {
        snprintf(err, err_len, "cannot start the supervisor thread: %s", strerror(rc));
        return -1;
    }
    sup->thread_started = 1;
    return 0;
}

void supervisor_join(struct supervisor *sup)
{
    if (sup->thread_started)
        pthread_join(sup->thread, NULL);
    sup->thread_started = 0;
}

void supervisor_free(struct supervisor *sup)
{
    if (!sup)
        return;
    while (sup->commands) {
        struct sup_command *command = sup->commands;

        sup->commands = command->next;
        if (command->start)
            sup_run_free(command->start);
        free(command);
    }
    run_spares_stop(sup->spares);
    close(sup->wake_fds[0]);
    close(sup->wake_fds[1]);
    close(sup->signal_fd);
    pthread_mutex_destroy(&sup->lock);
    free(sup);
}
