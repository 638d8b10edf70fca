/* Starting one run: its files, its state record, its environment and the
 * program itself. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "worker/spawn.h"
#include "worker/supervisor_internal.h"

/* The worker's own variables that a task program inherits. */
static const char *const inherited_env[] = {"PATH", "HOME", "LANG"};

static char **build_env(const struct supervisor *sup, const struct sup_run *run)
{
    size_t count = 0;
    char **env = xcalloc(16, sizeof(char *));

    env[count++] = xasprintf("TASKRELAY_TASK_ID=%lld", run->task_id);
    env[count++] = xasprintf("TASKRELAY_ATTEMPT=%d", run->attempt);
    env[count++] = xasprintf("TASKRELAY_KIND=%s", run->kind->name);
    env[count++] = xasprintf("TASKRELAY_WORKER_ID=%s", sup->config->worker_id);
    env[count++] = xasprintf("TASKRELAY_PAYLOAD_FILE=%s/payload.json", run->dir);
    env[count++] = xasprintf("TASKRELAY_RESULT_FILE=%s/result.json", run->dir);
    env[count++] = xasprintf("TASKRELAY_ARTIFACTS_DIR=%s/artifacts", run->dir);
    env[count++] = xstrdup("TASKRELAY_PROGRESS_FD=3");
    env[count++] = xasprintf("TASKRELAY_RUN_TOKEN=%s", run->record.run_token);
    for (size_t i = 0; i < sizeof(inherited_env) / sizeof(inherited_env[0]); i++) {
        const char *value = getenv(inherited_env[i]);

        if (value)
            env[count++] = xasprintf("%s=%s", inherited_env[i], value);
        else if (strcmp(inherited_env[i], "PATH") == 0)
            env[count++] = xstrdup("PATH=/usr/local/bin:/usr/bin:/bin");
    }
    env[count] = NULL;
    return env;
}

static char **build_argv(const struct worker_kind *kind)
{
    char **argv = xcalloc((size_t)kind->args_count + 2, sizeof(char *));

    argv[0] = kind->program;
    for (int i = 0; i < kind->args_count; i++)
        argv[i + 1] = kind->args[i];
    return argv;
}

static void free_env(char **env)
{
    for (size_t i = 0; env[i]; i++)
        free(env[i]);
    free(env);
}

/* Creates the run directory, payload.json and the state record. The
 * record is written before the program starts but not synced. It lets a
 * restarted worker find and kill the run's leftover processes, and a crash
 * of the worker process leaves the page cache, and so the record, intact.
 * A crash of the machine kills the processes the record describes, so
 * nothing is left to kill, and the server learns from the next heartbeat
 * that the run is gone. The record is synced while reports fail to reach
 * the server. The server may then not know that the attempt started, and
 * after a machine crash it sends the same attempt again, which only a
 * record on disk rejects as a duplicate. */
static int prepare_files(struct supervisor *sup, struct sup_run *run, char *err,
                         size_t err_len)
{
    struct run_record *record = &run->record;
    int rc;

    run->dir = run_dir_path(sup->config->state_dir, run->task_id, run->attempt);
    record->task_id = run->task_id;
    record->attempt = run->attempt;
    record->timeout_s = run->timeout_s;
    snprintf(record->kind, sizeof(record->kind), "%s", run->kind->name);
    snprintf(record->state, sizeof(record->state), "starting");
    snprintf(record->boot_id, sizeof(record->boot_id), "%s", sup->boot_id);
    record->seq = RUN_SEQ_BLOCK;
    if (random_hex(record->run_token, RUN_TOKEN_HEX_LEN / 2) < 0) {
        snprintf(err, err_len, "cannot read random bytes for the run token");
        return -1;
    }
    /* A spare has artifacts/; without one, run_files_create makes the
     * directory. A spare may lack a file after a crash during its making,
     * so every file is opened with O_CREAT all the same. */
    if (run_spares_take(sup->spares, run->dir) == 0)
        rc = run_files_write_payload(run->dir, run->payload, run->payload_len, err, err_len);
    else
        rc = run_files_create(run->dir, run->payload, run->payload_len, err, err_len);
    if (rc < 0)
        return -1;
    if (run_record_create(run->dir, record, err, err_len) < 0)
        return -1;
    /* Checked after the write. A reporter sets the flag before it syncs,
     * so either that sync covers this record or this check reads the flag
     * as set. */
    if (outbox_delivery_failing(sup->outbox))
        return run_record_sync(run->dir, err, err_len);
    return 0;
}

/* Starts the program. output.log is opened once, for appending by the
 * program and for reading by the worker. */
static int spawn_program(struct supervisor *sup, struct sup_run *run, char *err,
                         size_t err_len)
{
    char *payload_path = xasprintf("%s/payload.json", run->dir);
    char *log_path = xasprintf("%s/output.log", run->dir);
    int payload_fd = open(payload_path, O_RDONLY | O_CLOEXEC);
    int progress_pipe[2] = {-1, -1};
    char **argv = build_argv(run->kind);
    char **env = build_env(sup, run);
    int rc = -1;

    /* O_APPEND puts each write of the program at the end whatever the
     * offset; the worker reads with pread, which leaves it alone. */
    run->log_fd = open(log_path, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (payload_fd < 0 || run->log_fd < 0) {
        snprintf(err, err_len, "cannot open the files of run directory '%s': %s", run->dir,
                 strerror(errno));
        goto out;
    }
    if (pipe2(progress_pipe, O_CLOEXEC) < 0) {
        snprintf(err, err_len, "cannot create the progress pipe: %s", strerror(errno));
        goto out;
    }
    fcntl(progress_pipe[0], F_SETFL, O_NONBLOCK);

    struct spawn_request request = {
        .program = run->kind->program,
        .argv = argv,
        .envp = env,
        .cwd = run->dir,
        .stdin_fd = payload_fd,
        .output_fd = run->log_fd,
        .progress_fd = progress_pipe[1],
        .reset_signals = sup->reset_signals,
        .reset_signal_count = sup->reset_signal_count,
    };
    if (spawn_process(&request, &run->pid, err, err_len) < 0)
        goto out;
    run->progress_fd = progress_pipe[0];
    progress_pipe[0] = -1;
    rc = 0;
out:
    if (payload_fd >= 0)
        close(payload_fd);
    if (progress_pipe[0] >= 0)
        close(progress_pipe[0]);
    if (progress_pipe[1] >= 0)
        close(progress_pipe[1]);
    free(argv);
    free_env(env);
    free(payload_path);
    free(log_path);
    return rc;
}

void sup_run_start(struct supervisor *sup, struct sup_run *run)
{
    char err[512];
    int64_t now = mono_ms();

    progress_reader_init(&run->reader);
    run->started_at_ms = now;
    run->deadline_at_ms = now + (int64_t)run->timeout_s * 1000;
    run->log_flushed_at_ms = now;

    if (prepare_files(sup, run, err, sizeof(err)) < 0 ||
        spawn_program(sup, run, err, sizeof(err)) < 0) {
        log_error("worker", "task failed to start task=%lld attempt=%d: %s", run->task_id,
                  run->attempt, err);
        run->start_error = xstrdup(err);
        run->exited = 1;
        run->next_check_at_ms = now;
        goto out;
    }

    run->record.pid = (int)run->pid;
    run->record.pgid = (int)run->pid;
    snprintf(run->record.state, sizeof(run->record.state), "running");
    /* Not synced: the pid and group matter only while the processes live,
     * and a power loss ends them. */
    if (run_record_save(run->dir, &run->record, 0, err, sizeof(err)) < 0)
        log_error("worker", "cannot save run state task=%lld attempt=%d: %s", run->task_id,
                  run->attempt, err);
    run_table_set_phase(sup->table, run->task_id, run->attempt, RUN_RUNNING, (int)run->pid);
    log_info("worker", "task started task=%lld attempt=%d kind=%s pid=%d timeout_s=%d",
             run->task_id, run->attempt, run->kind->name, (int)run->pid, run->timeout_s);
    sup_report(sup, run, REPORT_START, json_object());
out:
    free(run->payload);
    run->payload = NULL;
}
