#include "worker/recovery.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/json_util.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/util.h"
#include "worker/proc_kill.h"
#include "worker/run_files.h"

/* How long to wait for killed processes to disappear after SIGKILL; they
 * are no longer this process's children, so their new parent reaps them. */
#define RECOVERY_KILL_WAIT_MS 5000

struct leftover {
    struct run_record record;
    char *dir;
};

struct leftover_list {
    struct leftover *items;
    size_t count;
};

/* Task attempts whose complete report is queued in the outbox. */
struct attempt_list {
    long long *task_ids;
    int *attempts;
    size_t count;
};

static int count_alive(const struct leftover_list *list, const char *boot_id, int sig)
{
    int alive = 0;

    for (size_t i = 0; i < list->count; i++) {
        const struct run_record *record = &list->items[i].record;

        /* Processes do not outlive a reboot, and after one the run's
         * process group id may belong to an unrelated process. */
        if (record->boot_id[0] && strcmp(record->boot_id, boot_id) != 0)
            continue;
        alive += proc_signal_run(record->pgid, record->run_token, sig);
    }
    return alive;
}

static int wait_until_gone(const struct leftover_list *list, const char *boot_id, int wait_ms)
{
    int64_t deadline = mono_ms() + wait_ms;
    int alive;

    while ((alive = count_alive(list, boot_id, 0)) > 0 && mono_ms() < deadline)
        sleep_ms(100);
    return alive;
}

/* NOTE: no per-task cgroup here either (cgroup v1 and v2 are mixed on the
 * target machines); processes are found by group and run token. */
static void kill_leftovers(const struct worker_config *config, const struct leftover_list *list)
{
    char boot_id[RUN_BOOT_ID_LEN + 1];
    int alive;

    run_files_boot_id(boot_id);
    alive = count_alive(list, boot_id, SIGTERM);
    if (alive == 0)
        return;
    log_info("worker", "killing %d leftover processes of runs of the previous worker process",
             alive);
    if (wait_until_gone(list, boot_id, config->kill_grace_ms) == 0)
        return;
    count_alive(list, boot_id, SIGKILL);
    alive = wait_until_gone(list, boot_id, RECOVERY_KILL_WAIT_MS);
    if (alive > 0)
        log_warn("worker", "%d leftover processes still exist after SIGKILL", alive);
}

static void report_lost(const struct worker_config *config, struct outbox *outbox,
                        struct run_table *table, struct leftover *run)
{
    struct run_record *record = &run->record;
    char *log_path = xasprintf("%s/output.log", run->dir);
    char *tail = NULL;
    char err[512];
    struct report report = {
        .type = REPORT_COMPLETE,
        .task_id = record->task_id,
        .attempt = record->attempt,
        .seq = ++record->seq,
    };

    run_files_read_tail(log_path, LIMIT_LOG_TAIL_LEN, &tail, err, sizeof(err));
    report.body = json_pack("{s:s, s:I, s:I, s:s, s:s, s:n, s:o, s:n, s:b}", "worker_id",
                            config->worker_id, "attempt", (json_int_t)record->attempt, "seq",
                            (json_int_t)record->seq, "status", "failed", "error",
                            "worker restarted; the run was killed", "result", "log_tail",
                            json_string_or_null(tail), "exit_code", "lost", 1);
    if (outbox_put(outbox, &report, err, sizeof(err)) < 0)
        log_error("worker", "cannot queue the lost report task=%lld attempt=%d: %s",
                  record->task_id, record->attempt, err);

    snprintf(record->state, sizeof(record->state), "finished");
    if (run_record_save(run->dir, record, 1, err, sizeof(err)) < 0)
        log_error("worker", "cannot save run state task=%lld attempt=%d: %s", record->task_id,
                  record->attempt, err);
    run_table_add_finished(table, record->task_id, record->attempt);
    log_info("worker", "run lost in a restart task=%lld attempt=%d", record->task_id,
             record->attempt);
    report_clear(&report);
    free(tail);
    free(log_path);
}

static int attempt_listed(const struct attempt_list *list, long long task_id, int attempt)
{
    for (size_t i = 0; i < list->count; i++) {
        if (list->task_ids[i] == task_id && list->attempts[i] == attempt)
            return 1;
    }
    return 0;
}

/* Reads one run directory; a run not finished is added to leftovers. A
 * run whose complete report is queued is finished even when state.json
 * does not say so: that report is written only once no process of the run
 * is left, and the record's last update is not synced. */
static void scan_run(const char *runs_dir, const char *name, struct run_table *table,
                     const struct attempt_list *completed, struct leftover_list *leftovers)
{
    char *dir = xasprintf("%s/%s", runs_dir, name);
    struct run_record record;
    long long task_id;
    int attempt;
    char err[512];

    if (run_record_load(dir, &record, err, sizeof(err)) < 0) {
        /* A crash between creating the directory and writing state.json:
         * the program never started, but the server still waits. */
        if (sscanf(name, "%lld-%d", &task_id, &attempt) != 2 || task_id <= 0 || attempt <= 0) {
            log_warn("worker", "ignoring run directory %s: %s", dir, err);
            free(dir);
            return;
        }
        memset(&record, 0, sizeof(record));
        record.task_id = task_id;
        record.attempt = attempt;
        snprintf(record.state, sizeof(record.state), "starting");
    }
    run_table_remember(table, record.task_id, record.attempt);
    if (strcmp(record.state, "finished") == 0 ||
        attempt_listed(completed, record.task_id, record.attempt)) {
        free(dir);
        return;
    }
    leftovers->items = xrealloc(leftovers->items, (leftovers->count + 1) * sizeof(struct leftover));
    leftovers->items[leftovers->count].record = record;
    leftovers->items[leftovers->count].dir = dir;
    leftovers->count++;
}

struct queued_scan {
    struct run_table *table;
    struct attempt_list *completed;
};

static void list_queued_complete(unsigned long long id, const struct report *report, void *arg)
{
    struct queued_scan *scan = arg;
    struct attempt_list *list = scan->completed;

    (void)id;
    if (report->type != REPORT_COMPLETE)
        return;
    run_table_add_finished(scan->table, report->task_id, report->attempt);
    list->task_ids = xrealloc(list->task_ids, (list->count + 1) * sizeof(long long));
    list->attempts = xrealloc(list->attempts, (list->count + 1) * sizeof(int));
    list->task_ids[list->count] = report->task_id;
    list->attempts[list->count] = report->attempt;
    list->count++;
}

int recovery_run(const struct worker_config *config, struct run_table *table,
                 struct outbox *outbox, char *err, size_t err_len)
{
    char *runs_dir = xasprintf("%s/runs", config->state_dir);
    struct leftover_list leftovers = {0};
    struct attempt_list completed = {0};
    struct queued_scan queued = {.table = table, .completed = &completed};
    DIR *dir = NULL;
    struct dirent *entry;
    int rc = -1;

    if (mkdir(runs_dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, err_len, "cannot create '%s': %s", runs_dir, strerror(errno));
        goto out;
    }
    /* Runs whose complete report is still queued are listed as finished in
     * heartbeats until the report is delivered. */
    outbox_for_each(outbox, list_queued_complete, &queued);

    dir = opendir(runs_dir);
    if (!dir) {
        snprintf(err, err_len, "cannot open '%s': %s", runs_dir, strerror(errno));
        goto out;
    }
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] != '.')
            scan_run(runs_dir, entry->d_name, table, &completed, &leftovers);
    }

    kill_leftovers(config, &leftovers);
    for (size_t i = 0; i < leftovers.count; i++)
        report_lost(config, outbox, table, &leftovers.items[i]);
    if (outbox_torn_count(outbox) > 0)
        log_warn("worker", "%zu outbox segments end in a torn report, written but not synced "
                           "before a crash; the torn part is not sent",
                 outbox_torn_count(outbox));
    if (outbox_pending(outbox) > 0)
        log_info("worker", "%zu reports are queued from before the restart",
                 outbox_pending(outbox));
    rc = 0;
out:
    if (dir)
        closedir(dir);
    for (size_t i = 0; i < leftovers.count; i++)
        free(leftovers.items[i].dir);
    free(leftovers.items);
    free(completed.task_ids);
    free(completed.attempts);
    free(runs_dir);
    return rc;
}
