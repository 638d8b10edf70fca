/* The files of one run in <state-dir>/runs/<task>-<attempt>/: payload.json,
 * output.log (the program's stdout and stderr), result.json and artifacts/
 * written by the program, and state.json, the worker's record of the run
 * that crash recovery reads. */
#ifndef TASKRELAY_RUN_FILES_H
#define TASKRELAY_RUN_FILES_H

#include <jansson.h>
#include <stddef.h>

#include "common/limits.h"

#define RUN_TOKEN_HEX_LEN 32
#define RUN_BOOT_ID_LEN 36

/* Size of state.json: the record's JSON padded with spaces, so that every
 * update overwrites it whole in place. */
#define RUN_RECORD_LEN 512

/* Report seqs are reserved on disk in blocks of this many, so that
 * state.json is written once per block rather than once per report. */
#define RUN_SEQ_BLOCK 256

/* Contents of state.json. */
struct run_record {
    long long task_id;
    int attempt;
    char kind[LIMIT_KIND_LEN + 1];
    char state[16]; /* "starting", "running" or "finished" */
    char run_token[RUN_TOKEN_HEX_LEN + 1];
    int pid;        /* 0 before the program started */
    int pgid;
    long long seq;  /* no report of this run has a higher seq */
    int timeout_s;
    /* The kernel's boot id when the run started; "" in records written
     * without it. A process cannot outlive a reboot, so recovery kills
     * nothing of a run from another boot. */
    char boot_id[RUN_BOOT_ID_LEN + 1];
};

/* Returns "<state_dir>/runs/<task_id>-<attempt>"; the caller frees it. */
char *run_dir_path(const char *state_dir, long long task_id, int attempt);

/* Creates the run directory with artifacts/ and writes payload.json. The
 * parent, <state-dir>/runs, must exist; recovery creates it at start. An
 * existing directory of the same attempt is reused. */
int run_files_create(const char *run_dir, const char *payload, size_t payload_len, char *err,
                     size_t err_len);

/* Overwrites payload.json of a run directory that exists, such as a
 * spare, with O_TRUNC, so that its inode is reused. */
int run_files_write_payload(const char *run_dir, const char *payload, size_t payload_len,
                            char *err, size_t err_len);

/* Writes the first state.json of a run directory, without a sync. The
 * program must not start before this returned 0, so that recovery after
 * a crash of the worker process finds the run's processes by run token.
 * The page cache keeps the record for that. */
int run_record_create(const char *run_dir, const struct run_record *record, char *err,
                      size_t err_len);

/* Puts state.json on disk with the entries that lead to it: the file, the
 * run directory and its parent, so that the record survives a crash of
 * the machine. */
int run_record_sync(const char *run_dir, char *err, size_t err_len);

/* Puts every run directory and record under state_dir on disk with
 * syncfs, which writes back all dirty data of that file system. For the
 * rare case when records written without a sync must become durable. */
int run_files_sync_all(const char *state_dir, char *err, size_t err_len);

/* Overwrites state.json in place, atomically with respect to a crash of
 * the worker; durable also fsyncs it. */
int run_record_save(const char *run_dir, const struct run_record *record, int durable,
                    char *err, size_t err_len);
int run_record_load(const char *run_dir, struct run_record *record, char *err,
                    size_t err_len);

/* Reads the last max_len bytes of a file as valid UTF-8 (at most max_len
 * bytes after replacement). *out is "" when the file is missing. */
int run_files_read_tail(const char *path, size_t max_len, char **out, char *err,
                        size_t err_len);

/* Reads the kernel's boot id (/proc/sys/kernel/random/boot_id) into out,
 * RUN_BOOT_ID_LEN + 1 bytes; "" when it cannot be read. */
void run_files_boot_id(char *out);

/* Reads result.json. Sets *result to the parsed JSON, or to NULL when the
 * file is missing; when it is too large or invalid, *result is NULL and
 * *note (caller frees) gives the reason. */
void run_files_read_result(const char *run_dir, json_t **result, char **note);

#endif
