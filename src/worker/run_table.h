/* The worker's table of runs: which task attempts hold a slot, which
 * finished runs still wait for the server to acknowledge their final
 * report, and the newest attempt ever accepted per task. Every call
 * takes the table's mutex, so each is atomic and the check-and-take of a
 * slot in run_table_take cannot race with another request. */
#ifndef TASKRELAY_RUN_TABLE_H
#define TASKRELAY_RUN_TABLE_H

enum run_phase {
    RUN_STARTING, /* slot taken, program not started yet */
    RUN_RUNNING,
    RUN_STOPPING, /* being killed, or the program exited and leftovers are killed */
    RUN_FINISHED, /* slot free; the final report is not yet acknowledged */
};

/* A copy of one run's public state. */
struct run_view {
    long long task_id;
    int attempt;
    enum run_phase phase;
    int pid; /* 0 before the program started */
};

enum run_take_result {
    RUN_TAKE_OK,            /* the slot is taken; start the run */
    RUN_TAKE_DUPLICATE,     /* this attempt was accepted before; do not run it again */
    RUN_TAKE_STALE,         /* a newer attempt of the task was accepted before */
    RUN_TAKE_BUSY,          /* no free slot */
    RUN_TAKE_SHUTTING_DOWN, /* the worker takes no new work */
};

struct run_table;

struct run_table *run_table_new(int slots);
void run_table_free(struct run_table *table);

/* Checks shutdown, the attempt history and the free slots, and takes a
 * slot for (task_id, attempt) when all allow it. On RUN_TAKE_BUSY,
 * *current_task is the task id of one active run. */
enum run_take_result run_table_take(struct run_table *table, long long task_id, int attempt,
                                    long long *current_task);

/* Records an attempt as accepted without taking a slot, for runs found on
 * disk at start. */
void run_table_remember(struct run_table *table, long long task_id, int attempt);

/* Updates an active run's phase and pid. */
void run_table_set_phase(struct run_table *table, long long task_id, int attempt,
                         enum run_phase phase, int pid);

/* Frees the run's slot; the run stays listed as finished until
 * run_table_ack. Returns 1 when the acknowledgement came first, so the
 * run is forgotten now, and 0 otherwise. */
int run_table_release(struct run_table *table, long long task_id, int attempt);

/* Lists a run whose final report is queued but has no slot (recovery). */
void run_table_add_finished(struct run_table *table, long long task_id, int attempt);

/* Notes that the server acknowledged (or rejected for good) the final
 * report; a finished run is then forgotten. May come before release.
 * Returns 1 when this call forgot the run, and 0 otherwise. */
int run_table_ack(struct run_table *table, long long task_id, int attempt);

/* Copies all listed runs into *out (caller frees) and returns how many. */
int run_table_snapshot(struct run_table *table, struct run_view **out);

/* Number of slots, and of slots in use. */
void run_table_counts(struct run_table *table, int *slots, int *used);

void run_table_set_shutting_down(struct run_table *table);
int run_table_is_shutting_down(struct run_table *table);

#endif
