#include "worker/run_spares.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "worker/run_dir_clean.h"

#define SPARE_PREFIX ".spare-"

struct run_spares {
    char *runs_dir;
    int target_count;
    int keep_count;
    pthread_t thread;
    int thread_started;

    pthread_mutex_t lock; /* guards the fields below */
    pthread_cond_t changed;
    char **ready; /* paths of ready spares; a stack */
    int ready_count;
    char **recycle; /* run directories to empty and return to the pool */
    int recycle_count;
    unsigned long long next_number;
    int stopping;
};

static void push_ready(struct run_spares *spares, char *path)
{
    spares->ready = xrealloc(spares->ready, (size_t)(spares->ready_count + 1) * sizeof(char *));
    spares->ready[spares->ready_count++] = path;
}

/* Empties a spare for the pool, or deletes it when the pool is full or it
 * cannot be emptied. Takes ownership of spare and is called without the
 * lock. */
static void refill_with(struct run_spares *spares, char *spare)
{
    char err[512];
    int full;

    pthread_mutex_lock(&spares->lock);
    full = spares->ready_count >= spares->keep_count;
    pthread_mutex_unlock(&spares->lock);

    if (!full) {
        if (run_dir_empty(spare, err, sizeof(err)) == 0) {
            pthread_mutex_lock(&spares->lock);
            push_ready(spares, spare);
            pthread_mutex_unlock(&spares->lock);
            return;
        }
        log_warn("worker", "cannot empty spare run directory '%s', deleting it: %s", spare, err);
    }
    if (run_dir_remove(spare, err, sizeof(err)) < 0)
        log_warn("worker", "cannot delete spare run directory '%s': %s", spare, err);
    free(spare);
}

/* Renames a finished run's directory to a spare name first, so that from
 * then on recovery skips it whatever it contains, and then empties it. */
static void recycle_one(struct run_spares *spares, char *run_dir)
{
    char *spare;

    pthread_mutex_lock(&spares->lock);
    spare = xasprintf("%s/" SPARE_PREFIX "%llu", spares->runs_dir, spares->next_number++);
    pthread_mutex_unlock(&spares->lock);

    if (rename(run_dir, spare) < 0) {
        log_warn("worker", "cannot return run directory '%s' to the spares: %s", run_dir,
                 strerror(errno));
        free(spare);
    } else {
        refill_with(spares, spare);
    }
    free(run_dir);
}

/* Adds the spares an earlier process left and sets the next number above
 * theirs. Each is emptied first, because a crash during recycling can
 * leave a finished run's files in one. Called before the thread starts. */
static int list_existing(struct run_spares *spares, char *err, size_t err_len)
{
    DIR *dir = opendir(spares->runs_dir);
    struct dirent *entry;

    if (!dir) {
        snprintf(err, err_len, "cannot open '%s': %s", spares->runs_dir, strerror(errno));
        return -1;
    }
    while ((entry = readdir(dir)) != NULL) {
        size_t prefix_len = strlen(SPARE_PREFIX);
        unsigned long long number;
        char *end;

        if (strncmp(entry->d_name, SPARE_PREFIX, prefix_len) != 0)
            continue;
        number = strtoull(entry->d_name + prefix_len, &end, 10);
        if (*end != '\0')
            continue;
        if (number >= spares->next_number)
            spares->next_number = number + 1;
        refill_with(spares, xasprintf("%s/%s", spares->runs_dir, entry->d_name));
    }
    closedir(dir);
    return 0;
}

static int create_empty(const char *dir, const char *name)
{
    char *path = xasprintf("%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

    free(path);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

/* Creates one spare with the files of a run directory. */
static int make_spare(const char *path)
{
    char *artifacts = xasprintf("%s/artifacts", path);
    int rc = -1;

    if (mkdir(path, 0700) < 0 || mkdir(artifacts, 0700) < 0)
        goto out;
    if (create_empty(path, "payload.json") < 0 || create_empty(path, "state.json") < 0 ||
        create_empty(path, "output.log") < 0)
        goto out;
    rc = 0;
out:
    free(artifacts);
    return rc;
}

static void *spares_thread(void *arg)
{
    struct run_spares *spares = arg;
    int failures = 0;

    pthread_mutex_lock(&spares->lock);
    while (!spares->stopping) {
        char *path;

        if (spares->recycle_count > 0) {
            path = spares->recycle[--spares->recycle_count];
            pthread_mutex_unlock(&spares->lock);
            recycle_one(spares, path);
            pthread_mutex_lock(&spares->lock);
            continue;
        }
        if (spares->ready_count >= spares->target_count) {
            pthread_cond_wait(&spares->changed, &spares->lock);
            continue;
        }
        path = xasprintf("%s/" SPARE_PREFIX "%llu", spares->runs_dir, spares->next_number++);
        pthread_mutex_unlock(&spares->lock);

        if (make_spare(path) == 0) {
            pthread_mutex_lock(&spares->lock);
            push_ready(spares, path);
            failures = 0;
            continue;
        }
        /* Runs then create their directories themselves, as without spares. */
        if (failures++ == 0)
            log_warn("worker", "cannot prepare a spare run directory '%s': %s; retrying in 1 s",
                     path, strerror(errno));
        free(path);
        sleep_ms(1000);
        pthread_mutex_lock(&spares->lock);
    }
    pthread_mutex_unlock(&spares->lock);
    return NULL;
}

struct run_spares *run_spares_start(const char *runs_dir, int target_count, int keep_count,
                                    char *err, size_t err_len)
{
    struct run_spares *spares = xcalloc(1, sizeof(*spares));
    int rc;

    spares->runs_dir = xstrdup(runs_dir);
    spares->target_count = target_count;
    spares->keep_count = keep_count > target_count ? keep_count : target_count;
    pthread_mutex_init(&spares->lock, NULL);
    pthread_cond_init(&spares->changed, NULL);
    if (list_existing(spares, err, err_len) < 0) {
        run_spares_stop(spares);
        return NULL;
    }
    rc = pthread_create(&spares->thread, NULL, spares_thread, spares);
    if (rc != 0) {
        snprintf(err, err_len, "cannot start the spare run directory thread: %s", strerror(rc));
        run_spares_stop(spares);
        return NULL;
    }
    spares->thread_started = 1;
    return spares;
}

int run_spares_take(struct run_spares *spares, const char *run_dir)
{
    char *path = NULL;
    int rc;

    if (!spares)
        return -1;
    pthread_mutex_lock(&spares->lock);
    if (spares->ready_count > 0)
        path = spares->ready[--spares->ready_count];
    pthread_cond_signal(&spares->changed);
    pthread_mutex_unlock(&spares->lock);
    if (!path)
        return -1;

    /* Fails when run_dir exists; the spare is kept for the next run. */
    rc = rename(path, run_dir);
    if (rc < 0) {
        pthread_mutex_lock(&spares->lock);
        push_ready(spares, path);
        pthread_mutex_unlock(&spares->lock);
        return -1;
    }
    free(path);
    return 0;
}

void run_spares_recycle(struct run_spares *spares, const char *run_dir)
{
    if (!spares)
        return;
    pthread_mutex_lock(&spares->lock);
    spares->recycle = xrealloc(spares->recycle,
                               (size_t)(spares->recycle_count + 1) * sizeof(char *));
    spares->recycle[spares->recycle_count++] = xstrdup(run_dir);
    pthread_cond_signal(&spares->changed);
    pthread_mutex_unlock(&spares->lock);
}

void run_spares_stop(struct run_spares *spares)
{
    if (!spares)
        return;
    pthread_mutex_lock(&spares->lock);
    spares->stopping = 1;
    pthread_cond_broadcast(&spares->changed);
    pthread_mutex_unlock(&spares->lock);
    if (spares->thread_started)
        pthread_join(spares->thread, NULL);

    for (int i = 0; i < spares->ready_count; i++)
        free(spares->ready[i]);
    free(spares->ready);
    /* Directories still queued stay as finished runs, which the next
     * start remembers as accepted attempts. */
    for (int i = 0; i < spares->recycle_count; i++)
        free(spares->recycle[i]);
    free(spares->recycle);
    pthread_mutex_destroy(&spares->lock);
    pthread_cond_destroy(&spares->changed);
    free(spares->runs_dir);
    free(spares);
}
