/* Finding and signalling the processes of one run: the members of its
 * process group, and every process whose environment contains the run's
 * TASKRELAY_RUN_TOKEN, which also finds descendants that left the group
 * with setsid. Reads /proc, so this works on Linux only. */
#ifndef TASKRELAY_PROC_KILL_H
#define TASKRELAY_PROC_KILL_H

#include <stddef.h>

/* Sends sig to every live process of the run and returns how many there
 * are. Zombies and the calling process are not counted, and sig 0 only
 * counts. pgid <= 0 skips the group match. Processes of other users are
 * matched by group only, because their environment cannot be read. */
int proc_signal_run(int pgid, const char *run_token, int sig);

/* Returns 1 when the environment block (NUL-separated entries) contains
 * the entry TASKRELAY_RUN_TOKEN=token; exposed for the unit tests. */
int proc_environ_has_token(const char *environ, size_t len, const char *token);

#endif
