/* Emptying and deleting run directories, so that a finished run's
 * directory can go back to the spare pool with its inodes. Nothing here
 * follows a symbolic link: a program may have left links to anywhere. */
#ifndef TASKRELAY_RUN_DIR_CLEAN_H
#define TASKRELAY_RUN_DIR_CLEAN_H

#include <stddef.h>

/* Makes dir look like a new spare without allocating an inode: truncates
 * payload.json, state.json and output.log to 0 bytes, deletes everything
 * inside artifacts/ and deletes every other entry (result.json and
 * whatever the program created). A file with more than one hard link is
 * deleted rather than truncated, so that truncating cannot reach a file
 * outside dir. Missing files stay missing, except artifacts/, which is
 * created. Returns -1 with a message when
 * an entry cannot be truncated or deleted. */
int run_dir_empty(const char *dir, char *err, size_t err_len);

/* Deletes dir with everything in it. */
int run_dir_remove(const char *dir, char *err, size_t err_len);

#endif
