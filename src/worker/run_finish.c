/* Finishing one run: its outcome, artifacts and complete report. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/json_util.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/util.h"
#include "worker/supervisor_internal.h"

struct outcome {
    const char *status; /* "completed", "failed" or "canceled" */
    char *error;        /* owned; NULL for none */
    int has_exit_code;
    int exit_code;
    /* The run ended because the worker stopped, not because of the task,
     * so the server applies the task's retry-on-loss rule. */
    int lost;
};

/* Returns "PREFIX" followed by the end of the program's output, together at
 * most LIMIT_ERROR_LEN bytes. */
static char *error_with_output(const struct sup_run *run, const char *prefix)
{
    char *log_path = xasprintf("%s/output.log", run->dir);
    size_t prefix_len = strlen(prefix) + 1;
    char *tail = NULL;
    char err[256];
    char *error;

    run_files_read_tail(log_path, LIMIT_ERROR_LEN - prefix_len, &tail, err, sizeof(err));
    error = tail[0] ? xasprintf("%s\n%s", prefix, tail) : xstrdup(prefix);
    free(tail);
    free(log_path);
    return error;
}

static void decide_outcome(const struct sup_run *run,
                           struct outcome *out)
{
    char prefix[128];

    memset(out, 0, sizeof(*out));
    if (run->start_error) {
        out->status = "failed";
        out->error = xstrdup(run->start_error);
        return;
    }
    if (run->kill_requested && run->kill_before_exit) {
        out->status = "failed";
        switch (run->kill_reason) {
        case KILL_CANCEL:
            out->status = "canceled";
            out->error = xstrdup("canceled; the run was killed");
            break;
        case KILL_TIMEOUT:
            out->error = xasprintf("timed out after %d s", run->timeout_s);
            break;
        case KILL_SHUTDOWN:
            out->error = xstrdup("worker shut down");
            out->lost = 1;
            break;
        case KILL_STALE:
            out->error = xstrdup("the server has a newer attempt or canceled the task; the run was killed");
            break;
        }
        return;
    }
    if (WIFEXITED(run->wait_status)) {
        out->has_exit_code = 1;
        out->exit_code = WEXITSTATUS(run->wait_status);
        if (out->exit_code == 0) {
            out->status = "completed";
            return;
        }
        snprintf(prefix, sizeof(prefix), "exited with code %d", out->exit_code);
    } else {
        int sig = WTERMSIG(run->wait_status);

        snprintf(prefix, sizeof(prefix), "killed by signal %d (%s)", sig, strsignal(sig));
    }
    out->status = "failed";
    out->error = error_with_output(run, prefix);
}

/* The server's rule for artifact names: they never start with a dot, so a
 * name cannot leave its folder. */
static int artifact_name_valid(const char *name)
{
    return name[0] != '.' && name_chars_valid(name, LIMIT_ARTIFACT_NAME_LEN);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Queues one upload per regular file in artifacts/, in name order. Files
 * with names the server rejects or over the size limit are skipped. */
static void queue_artifacts(struct supervisor *sup, struct sup_run *run)
{
    char *dir_path = xasprintf("%s/artifacts", run->dir);
    DIR *dir = opendir(dir_path);
    struct dirent *entry;
    char **names = NULL;
    size_t count = 0;

    while (dir && (entry = readdir(dir)) != NULL) {
        char *path = xasprintf("%s/%s", dir_path, entry->d_name);
        struct stat st;

        if (entry->d_name[0] == '.' && (!entry->d_name[1] || strcmp(entry->d_name, "..") == 0)) {
            free(path);
            continue;
        }
        if (!artifact_name_valid(entry->d_name))
            log_warn("worker", "artifact skipped task=%lld attempt=%d name='%s': use 1-%d characters of [A-Za-z0-9._-], not starting with '.'",
                     run->task_id, run->attempt, entry->d_name, LIMIT_ARTIFACT_NAME_LEN);
        else if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
            log_warn("worker", "artifact skipped task=%lld attempt=%d name=%s: not a regular file",
                     run->task_id, run->attempt, entry->d_name);
        else if (st.st_size > LIMIT_ARTIFACT_LEN)
            log_warn("worker", "artifact skipped task=%lld attempt=%d name=%s: %lld bytes is over the limit of %d",
                     run->task_id, run->attempt, entry->d_name, (long long)st.st_size,
                     LIMIT_ARTIFACT_LEN);
        else {
            names = xrealloc(names, (count + 1) * sizeof(char *));
            names[count++] = xstrdup(entry->d_name);
        }
        free(path);
    }
    if (dir)
        closedir(dir);

    if (count > 1)
        qsort(names, count, sizeof(char *), compare_names);
    for (size_t i = 0; i < count; i++) {
        struct report report = {
            .type = REPORT_ARTIFACT,
            .task_id = run->task_id,
            .attempt = run->attempt,
            .seq = sup_next_seq(sup, run),
            .artifact_name = names[i],
            .artifact_path = xasprintf("%s/%s", dir_path, names[i]),
        };
        char err[512];

        if (outbox_put(sup->outbox, &report, err, sizeof(err)) < 0)
            log_error("worker", "cannot queue artifact task=%lld attempt=%d name=%s: %s",
                      run->task_id, run->attempt, names[i], err);
        report_clear(&report);
    }
    free(names);
    free(dir_path);
}

static json_t *complete_body(const struct sup_run *run, struct outcome *outcome)
{
    char *log_path = xasprintf("%s/output.log", run->dir);
    char *tail = NULL;
    char *note = NULL;
    json_t *result = NULL;
    char err[256];
    json_t *body;

    run_files_read_result(run->dir, &result, &note);
    if (note) {
        /* The note goes into the error text, also of a completed task,
         * because the complete report has no other field for it. */
        char *joined = outcome->error ? xasprintf("%s\n%s", note, outcome->error) : xstrdup(note);

        free(outcome->error);
        outcome->error = joined;
        outcome->error[utf8_truncate(outcome->error, strlen(outcome->error), LIMIT_ERROR_LEN)] =
            '\0';
    }
    run_files_read_tail(log_path, LIMIT_LOG_TAIL_LEN, &tail, err, sizeof(err));

    body = json_pack("{s:s, s:o, s:o, s:o, s:o, s:b}", "status", outcome->status, "error",
                     json_string_or_null(outcome->error), "result", result ? result : json_null(),
                     "log_tail", json_string_or_null(tail), "exit_code",
                     outcome->has_exit_code ? json_integer(outcome->exit_code) : json_null(),
                     "lost", outcome->lost);
    free(note);
    free(tail);
    free(log_path);
    return body;
}

void sup_run_finish(struct supervisor *sup, struct sup_run *run)
{
    struct outcome outcome;
    char err[512];

    /* No process of the run is left, so this read reaches end of file and
     * also handles a last line without a newline. */
    if (run->progress_fd >= 0)
        sup_read_progress(sup, run);
    sup_flush_progress(sup, run, 1);
    sup_flush_log(sup, run, 1);
    if (run->invalid_progress_count > 1)
        log_warn("worker", "%d invalid progress lines ignored task=%lld attempt=%d",
                 run->invalid_progress_count, run->task_id, run->attempt);

    decide_outcome(run, &outcome);
    queue_artifacts(sup, run);
    sup_report(sup, run, REPORT_COMPLETE, complete_body(run, &outcome));

    /* Not synced: the complete report, synced in the outbox, holds the
     * outcome. When a power loss drops this write, recovery finds that
     * report still queued and takes the run as finished, or, once it was
     * delivered, sends a lost report that the server ignores because the
     * task is in a terminal state; it kills nothing, because the run is
     * from another boot. */
    snprintf(run->record.state, sizeof(run->record.state), "finished");
    if (run_record_save(run->dir, &run->record, 0, err, sizeof(err)) < 0)
        log_error("worker", "cannot save run state task=%lld attempt=%d: %s", run->task_id,
                  run->attempt, err);
    if (run_table_release(sup->table, run->task_id, run->attempt))
        run_spares_recycle(sup->spares, run->dir);
    /* Only the first line of the error: the rest is the program's output. */
    log_info("worker", "task finished task=%lld attempt=%d status=%s%s%.*s", run->task_id,
             run->attempt, outcome.status, outcome.error ? " error=" : "",
             outcome.error ? (int)strcspn(outcome.error, "\n") : 0,
             outcome.error ? outcome.error : "");
    free(outcome.error);
}

void sup_run_free(struct sup_run *run)
{
    if (run->progress_fd >= 0)
        close(run->progress_fd);
    if (run->log_fd >= 0)
        close(run->log_fd);
    free(run->progress_message);
    free(run->start_error);
    free(run->payload);
    free(run->dir);
    free(run);
}
