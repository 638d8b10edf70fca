/* Spare run directories, made ahead of time by a background thread, so
 * that starting a run renames one instead of creating its directory and
 * files. Each spare is <runs-dir>/.spare-N with artifacts/ and empty
 * payload.json, state.json and output.log. Creating a file or directory
 * allocates an inode. On ext4 without a journal that took about 0.34 ms
 * each while many inodes had been deleted recently, and a rename allocates
 * none. Recovery skips names that start with a dot, and spares left by an
 * earlier process are used again. Thread-safe. */
#ifndef TASKRELAY_RUN_SPARES_H
#define TASKRELAY_RUN_SPARES_H

#include <stddef.h>

struct run_spares;

/* Lists the spares already in runs_dir and starts the thread that keeps
 * target_count of them ready. runs_dir must exist. */
struct run_spares *run_spares_start(const char *runs_dir, int target_count, char *err,
                                    size_t err_len);

/* Renames a ready spare to run_dir. Returns 0, or -1 when none is ready,
 * spares is NULL or the rename failed, and the caller then creates the directory itself. A
 * spare may lack some of its files after a crash during its creation, so
 * the caller opens every file with O_CREAT all the same. */
int run_spares_take(struct run_spares *spares, const char *run_dir);

/* Stops the thread and frees spares; NULL is ignored. */
void run_spares_stop(struct run_spares *spares);

#endif
