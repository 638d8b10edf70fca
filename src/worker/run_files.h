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

/* Contents of state.json. */
struct run_record {
    long long task_id;
    int attempt;
    char kind[LIMIT_KIND_LEN + 1];
    char state[16]; /* "starting", "running" or "finished" */
    char run_token[RUN_TOKEN_HEX_LEN + 1];
    int pid;        /* 0 before the program started */
    int pgid;
    long long seq;  /* seq of the newest report queued for this run */
    int timeout_s;
};

/* Returns "<state_dir>/runs/<task_id>-<attempt>"; the caller frees it. */
char *run_dir_path(const char *state_dir, long long task_id, int attempt);

/* Creates the run directory with artifacts/ and writes payload.json. An
 * existing directory of the same attempt is reused. */
int run_files_create(const char *run_dir, const char *payload, size_t payload_len, char *err,
                     size_t err_len);

/* Replaces state.json atomically; durable also fsyncs it. */
int run_record_save(const char *run_dir, const struct run_record *record, int durable,
                    char *err, size_t err_len);
int run_record_load(const char *run_dir, struct run_record *record, char *err,
                    size_t err_len);

/* Reads the last max_len bytes of a file as valid UTF-8 (at most max_len
 * bytes after replacement). *out is "" when the file is missing. */
int run_files_read_tail(const char *path, size_t max_len, char **out, char *err,
                        size_t err_len);

/* Reads result.json. Sets *result to the parsed JSON, or to NULL when the
 * file is missing; when it is too large or invalid, *result is NULL and
 * *note (caller frees) gives the reason. */
void run_files_read_result(const char *run_dir, json_t **result, char **note);

#endif
