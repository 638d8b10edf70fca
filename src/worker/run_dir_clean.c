#include "worker/run_dir_clean.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Deeper trees are not deleted, so that a program cannot exhaust the
 * stack or the descriptors of the thread that cleans up after it. */
#define MAX_TREE_DEPTH 32

static int remove_entries_at(int dir_fd, const char *dir, int depth, char *err,
                             size_t err_len);

static int is_dot_or_dotdot(const char *name)
{
    return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

/* Reads the entry name of the directory open as dir_fd without following
 * a symbolic link. Returns 1 with *st filled, 0 when the entry is gone, -1
 * with a message in err on any other failure. */
static int stat_entry(int dir_fd, const char *dir, const char *name, struct stat *st,
                      char *err, size_t err_len)
{
    if (fstatat(dir_fd, name, st, AT_SYMLINK_NOFOLLOW) == 0)
        return 1;
    if (errno == ENOENT)
        return 0;
    snprintf(err, err_len, "cannot read '%s/%s': %s", dir, name, strerror(errno));
    return -1;
}

/* Deletes the entry name of the directory open as parent_fd, with its
 * contents when it is a directory. */
static int remove_entry_at(int parent_fd, const char *dir, const char *name, int depth,
                           char *err, size_t err_len)
{
    struct stat st;
    int fd;
    int rc = stat_entry(parent_fd, dir, name, &st, err, err_len);

    if (rc <= 0)
        return rc;
    if (!S_ISDIR(st.st_mode)) {
        if (unlinkat(parent_fd, name, 0) < 0 && errno != ENOENT) {
            snprintf(err, err_len, "cannot delete '%s/%s': %s", dir, name, strerror(errno));
            return -1;
        }
        return 0;
    }
    if (depth >= MAX_TREE_DEPTH) {
        snprintf(err, err_len, "'%s/%s' is more than %d directories deep", dir, name,
                 MAX_TREE_DEPTH);
        return -1;
    }
    fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, err_len, "cannot open '%s/%s': %s", dir, name, strerror(errno));
        return -1;
    }
    rc = remove_entries_at(fd, dir, depth + 1, err, err_len);
    close(fd);
    if (rc == 0 && unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
        snprintf(err, err_len, "cannot delete '%s/%s': %s", dir, name, strerror(errno));
        rc = -1;
    }
    return rc;
}

/* Deletes everything inside the directory open as dir_fd. It reads the
 * directory again until a pass finds nothing, because whether readdir
 * returns every entry while entries are deleted is unspecified. */
static int remove_entries_at(int dir_fd, const char *dir, int depth, char *err,
                             size_t err_len)
{
    int removed_count;

    do {
        int fd = dup(dir_fd);
        DIR *listing = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *entry;

        if (!listing) {
            snprintf(err, err_len, "cannot read '%s': %s", dir, strerror(errno));
            if (fd >= 0)
                close(fd);
            return -1;
        }
        rewinddir(listing);
        removed_count = 0;
        while ((entry = readdir(listing)) != NULL) {
            if (is_dot_or_dotdot(entry->d_name))
                continue;
            if (remove_entry_at(dir_fd, dir, entry->d_name, depth, err, err_len) < 0) {
                closedir(listing);
                return -1;
            }
            removed_count++;
        }
        closedir(listing);
    } while (removed_count > 0);
    return 0;
}

/* Truncates a file that a new run overwrites. Anything but a regular file
 * with one link is deleted instead, and the run then creates the file. */
static int truncate_at(int dir_fd, const char *dir, const char *name, char *err,
                       size_t err_len)
{
    struct stat st;
    int fd;
    int rc = stat_entry(dir_fd, dir, name, &st, err, err_len);

    if (rc <= 0)
        return rc;
    if (!S_ISREG(st.st_mode) || st.st_nlink != 1)
        return remove_entry_at(dir_fd, dir, name, 0, err, err_len);
    if (st.st_size == 0)
        return 0;
    fd = openat(dir_fd, name, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, err_len, "cannot truncate '%s/%s': %s", dir, name, strerror(errno));
        return -1;
    }
    close(fd);
    return 0;
}

/* Deletes the contents of artifacts/, or artifacts itself when it is not
 * a directory. */
static int empty_artifacts_at(int dir_fd, const char *dir, char *err, size_t err_len)
{
    int fd = openat(dir_fd, "artifacts", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int rc;

    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        return remove_entry_at(dir_fd, dir, "artifacts", 0, err, err_len);
    }
    rc = remove_entries_at(fd, dir, 1, err, err_len);
    close(fd);
    return rc;
}

static int is_kept_file(const char *name)
{
    return strcmp(name, "payload.json") == 0 || strcmp(name, "state.json") == 0 ||
           strcmp(name, "output.log") == 0;
}

/* Runs one pass over the entries of dir and adds the number of entries it
 * deleted to *removed_count. */
static int empty_pass_at(int dir_fd, const char *dir, int *removed_count, char *err,
                         size_t err_len)
{
    int fd = dup(dir_fd);
    DIR *listing = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *entry;
    int rc = 0;

    if (!listing) {
        snprintf(err, err_len, "cannot read '%s': %s", dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    rewinddir(listing);
    while (rc == 0 && (entry = readdir(listing)) != NULL) {
        const char *name = entry->d_name;

        if (is_dot_or_dotdot(name))
            continue;
        if (is_kept_file(name)) {
            rc = truncate_at(dir_fd, dir, name, err, err_len);
        } else if (strcmp(name, "artifacts") == 0) {
            rc = empty_artifacts_at(dir_fd, dir, err, err_len);
        } else {
            rc = remove_entry_at(dir_fd, dir, name, 0, err, err_len);
            (*removed_count)++;
        }
    }
    closedir(listing);
    return rc;
}

int run_dir_empty(const char *dir, char *err, size_t err_len)
{
    int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int removed_count;
    int rc = 0;

    if (dir_fd < 0) {
        snprintf(err, err_len, "cannot open '%s': %s", dir, strerror(errno));
        return -1;
    }
    /* Passes repeat until one deletes nothing, because an entry that
     * readdir skipped, such as an old result.json, would reach the next
     * program. */
    do {
        removed_count = 0;
        rc = empty_pass_at(dir_fd, dir, &removed_count, err, err_len);
    } while (rc == 0 && removed_count > 0);

    /* A run's program may rely on artifacts/ existing. A run only opens
     * the files with O_CREAT, so this is the one entry made here. */
    if (rc == 0 && mkdirat(dir_fd, "artifacts", 0700) < 0 && errno != EEXIST) {
        snprintf(err, err_len, "cannot create '%s/artifacts': %s", dir, strerror(errno));
        rc = -1;
    }
    close(dir_fd);
    return rc;
}

int run_dir_remove(const char *dir, char *err, size_t err_len)
{
    int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int rc;

    if (dir_fd < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, err_len, "cannot open '%s': %s", dir, strerror(errno));
        return -1;
    }
    rc = remove_entries_at(dir_fd, dir, 0, err, err_len);
    close(dir_fd);
    if (rc == 0 && rmdir(dir) < 0) {
        snprintf(err, err_len, "cannot delete '%s': %s", dir, strerror(errno));
        rc = -1;
    }
    return rc;
}
