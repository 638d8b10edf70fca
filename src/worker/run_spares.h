/* Spare run directories, kept ready by a background thread, so that
 * starting a run renames one instead of creating its directory and files.
 * Each spare is <runs-dir>/.spare-N with artifacts/ and empty
 * payload.json, state.json and output.log. Creating a file or directory
 * allocates an inode. On ext4 without a journal that took about 0.34 ms
 * each while many inodes had been deleted recently, and a rename allocates
 * none. So a finished run's directory returns to the pool, emptied in
 * place, and new spares are created only while the pool is short. Recovery
 * skips names that start with a dot, and spares left by an earlier process
 * are emptied and used again. Thread-safe. */
#ifndef TASKRELAY_RUN_SPARES_H
#define TASKRELAY_RUN_SPARES_H

#include <stddef.h>

struct run_spares;

/* Lists the spares already in runs_dir and starts the thread that keeps
 * target_count of them ready. The pool contains at most keep_count (at least
 * target_count) spares, and a recycled directory beyond that is deleted.
 * runs_dir must exist. */
struct run_spares *run_spares_start(const char *runs_dir, int target_count, int keep_count,
                                    char *err, size_t err_len);

/* Renames a ready spare to run_dir. Returns 0, or -1 when none is ready,
 * spares is NULL or the rename failed, and the caller then creates the directory itself. A
 * spare may lack some of its files after a crash during its creation, so
 * the caller opens every file with O_CREAT all the same. */
int run_spares_take(struct run_spares *spares, const char *run_dir);

/* Queues a finished run's directory for the thread, which renames it to a
 * spare name and empties it (see run_dir_empty), or deletes it when the
 * pool is full. Call it only once the directory is no longer needed: the
 * run's processes are gone, every report that reads its files was sent,
 * and the server acknowledged the complete report, so that no restart
 * needs the run record. NULL spares leaves the directory in place. */
void run_spares_recycle(struct run_spares *spares, const char *run_dir);

/* Stops the thread and frees spares; NULL is ignored. */
void run_spares_stop(struct run_spares *spares);

#endif
