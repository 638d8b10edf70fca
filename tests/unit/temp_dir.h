/* A scratch folder for unit tests that touch the file system. */
#ifndef TASKRELAY_TEST_TEMP_DIR_H
#define TASKRELAY_TEST_TEMP_DIR_H

#include <stdio.h>
#include <stdlib.h>

/* Creates the folder named by template ("...XXXXXX", rewritten in place);
 * returns 0 on success, the cmocka setup convention. */
static inline int temp_dir_make(char *template)
{
    return mkdtemp(template) ? 0 : -1;
}

/* Deletes the folder and everything in it; returns 0 on success. */
static inline int temp_dir_remove(const char *path)
{
    char command[4200];

    snprintf(command, sizeof(command), "rm -rf '%s'", path);
    return system(command) == 0 ? 0 : -1;
}

#endif
