/* State shared by the supervisor's source files; only the supervisor
 * thread touches a struct sup_run. */
#ifndef TASKRELAY_SUPERVISOR_INTERNAL_H
#define TASKRELAY_SUPERVISOR_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "worker/proc_children.h"
#include "worker/progress_line.h"
#include "worker/run_files.h"
#include "worker/run_spares.h"
#include "worker/spawn.h"
#include "worker/supervisor.h"

/* Progress reports are rate-limited per run: a burst of up to
 * SUP_PROGRESS_BURST reports goes out at once, then one per interval (20
 * per second). Lines beyond that are coalesced into the next report, which
 * carries the newest value, so a chatty program cannot flood the outbox
 * while ordinary step-by-step progress keeps every step. */
#define SUP_PROGRESS_INTERVAL_MS 50
#define SUP_PROGRESS_BURST 10

struct sup_run {
    struct sup_run *next;
    long long task_id;
    int attempt;
    const struct worker_kind *kind;
    int timeout_s;
    char *dir;
    struct run_record record; /* mirrored to state.json */
    long long seq;            /* seq of the newest report queued; at most record.seq */

    char *payload; /* until the run starts */
    size_t payload_len;

    pid_t pid; /* 0 when the program never started */
    int progress_fd; /* read end of the progress pipe, -1 once closed */
    int log_fd;      /* output.log opened for reading, -1 when absent */
    struct progress_reader reader;
    int invalid_progress_count;
    int progress_pending; /* a newer progress value than the last one queued */
    int progress_percent;
    char *progress_message;
    /* Rate-limit state: reports may go out while now >= this minus the
     * burst allowance (the generic cell rate algorithm). */
    int64_t progress_budget_at_ms;

    off_t log_read_offset;   /* bytes of output.log already read */
    long long log_sent_len;  /* bytes of text already sent; the next chunk's offset */
    int log_capped;          /* the live log limit was reached and the marker sent */
    int64_t log_flushed_at_ms;

    int64_t started_at_ms;
    int64_t deadline_at_ms; /* timeout; monotonic */
    int exited;
    int wait_status;
    char *start_error; /* the program could not be started */

    int kill_requested;
    int kill_before_exit; /* the kill, not the program, decided the outcome */
    enum kill_reason kill_reason;
    int stopping;
    int64_t term_sent_at_ms;
    int kill_sent;
    int64_t next_check_at_ms;
};

struct sup_command {
    struct sup_command *next;
    struct sup_run *start; /* a run to start, or NULL for a kill */
    long long task_id;
    int attempt;
    enum kill_reason reason;
};

struct supervisor {
    const struct worker_config *config;
    struct run_table *table;
    struct outbox *outbox;
    struct run_spares *spares; /* NULL when they could not be started */
    int signal_fd;
    int wake_fds[2];
    pthread_t thread;
    int thread_started;

    pthread_mutex_t lock; /* guards commands */
    struct sup_command *commands;
    struct sup_command **commands_tail;

    struct sup_run *runs;
    int children_readable; /* /proc/self/task/TID/children exists */
    /* Opened by the supervisor thread; count 0 when that failed, and the
     * check then reads the files of every thread. */
    struct proc_children_files children_files;
    int reset_signals[SPAWN_MAX_SIGNALS]; /* not SIG_DFL at start; reset in each child */
    int reset_signal_count;
    char boot_id[RUN_BOOT_ID_LEN + 1];
    int shutting_down;
    int64_t shutdown_deadline_ms;
};

/* Starts a submitted run; on failure the run is finished at once. */
void sup_run_start(struct supervisor *sup, struct sup_run *run);

/* Returns the next report seq of the run, first reserving a new block of
 * seqs in state.json when the reserved ones are used up. */
long long sup_next_seq(struct supervisor *sup, struct sup_run *run);

/* Queues one report of the run with the next seq; takes body. */
void sup_report(struct supervisor *sup, struct sup_run *run, enum report_type type,
                json_t *body);
/* Reads the progress pipe and handles each whole line. */
void sup_read_progress(struct supervisor *sup, struct sup_run *run);
/* Queues the newest progress value when one is pending and, unless force,
 * the last one went out at least the progress interval ago. */
void sup_flush_progress(struct supervisor *sup, struct sup_run *run, int force);
/* Queues new output of output.log as a log report. final sends a trailing
 * partial UTF-8 sequence too. */
void sup_flush_log(struct supervisor *sup, struct sup_run *run, int final);

/* Queues artifacts and the complete report, marks the run finished on
 * disk and frees its slot. The caller unlinks and frees the run. */
void sup_run_finish(struct supervisor *sup, struct sup_run *run);

void sup_run_free(struct sup_run *run);

/* Returns the earliest time the run may send its next progress report. */
static inline int64_t sup_progress_next_ms(const struct sup_run *run)
{
    return run->progress_budget_at_ms - (int64_t)SUP_PROGRESS_BURST * SUP_PROGRESS_INTERVAL_MS;
}

#endif
