/* Unit tests of the spare run directories: a spare becomes a run
 * directory with its files, spares of an earlier process are used again,
 * and a taken name is left alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util.h"
#include "temp_dir.h"
#include "worker/run_spares.h"

static char runs_dir[] = "/tmp/taskrelay-test-run-spares-XXXXXX";

static int make_dir(void **state)
{
    (void)state;
    return temp_dir_make(runs_dir);
}

static int remove_dir(void **state)
{
    (void)state;
    return temp_dir_remove(runs_dir);
}

static int exists(const char *dir, const char *name, mode_t type)
{
    char *path = xasprintf("%s/%s", dir, name);
    struct stat st;
    int found = stat(path, &st) == 0 && (st.st_mode & S_IFMT) == type;

    free(path);
    return found;
}

/* Takes a spare for run_dir, waiting up to 5 s for the thread to make one. */
static int take_within(struct run_spares *spares, const char *run_dir)
{
    for (int i = 0; i < 500; i++) {
        if (run_spares_take(spares, run_dir) == 0)
            return 0;
        sleep_ms(10);
    }
    return -1;
}

static void spare_becomes_run_dir(void **state)
{
    char err[256];
    struct run_spares *spares = run_spares_start(runs_dir, 2, 3, err, sizeof(err));
    char *run_dir = xasprintf("%s/7-1", runs_dir);
    char *other_dir = xasprintf("%s/7-2", runs_dir);

    (void)state;
    assert_non_null(spares);
    assert_int_equal(take_within(spares, run_dir), 0);
    assert_true(exists(run_dir, ".", S_IFDIR));
    assert_true(exists(run_dir, "artifacts", S_IFDIR));
    assert_true(exists(run_dir, "payload.json", S_IFREG));
    assert_true(exists(run_dir, "state.json", S_IFREG));
    assert_true(exists(run_dir, "output.log", S_IFREG));

    /* The name is taken now; the next run still gets a spare. */
    assert_int_equal(run_spares_take(spares, run_dir), -1);
    assert_int_equal(take_within(spares, other_dir), 0);
    assert_true(exists(other_dir, "artifacts", S_IFDIR));
    run_spares_stop(spares);
    free(run_dir);
    free(other_dir);
}

static void spares_of_earlier_process_used(void **state)
{
    char err[256];
    char *earlier_dir = xasprintf("%s/earlier", runs_dir);
    char *spare = xasprintf("%s/.spare-900", earlier_dir);
    char *run_dir = xasprintf("%s/8-1", earlier_dir);
    struct run_spares *spares;

    (void)state;
    assert_int_equal(mkdir(earlier_dir, 0700), 0);
    assert_int_equal(mkdir(spare, 0700), 0);
    spares = run_spares_start(earlier_dir, 1, 1, err, sizeof(err));
    assert_non_null(spares);
    /* Ready at once: the thread makes none while one is ready. */
    assert_int_equal(run_spares_take(spares, run_dir), 0);
    assert_false(exists(earlier_dir, ".spare-900", S_IFDIR));
    assert_true(exists(run_dir, ".", S_IFDIR));
    run_spares_stop(spares);
    free(earlier_dir);
    free(spare);
    free(run_dir);
}

static off_t file_size(const char *dir, const char *name)
{
    char *path = xasprintf("%s/%s", dir, name);
    struct stat st;
    off_t size = stat(path, &st) == 0 ? st.st_size : -1;

    free(path);
    return size;
}

static void write_file_text(const char *dir, const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", dir, name);
    FILE *file = fopen(path, "w");

    assert_non_null(file);
    fputs(text, file);
    fclose(file);
    free(path);
}

/* Waits up to 5 s until the named entry of dir exists or not. */
static int wait_exists(const char *dir, const char *name, int expected)
{
    for (int i = 0; i < 500; i++) {
        if (exists(dir, name, S_IFDIR) == expected)
            return 1;
        sleep_ms(10);
    }
    return 0;
}

static void recycled_dir_returns_empty(void **state)
{
    char err[256];
    char *pool_dir = xasprintf("%s/recycle", runs_dir);
    char *first = xasprintf("%s/9-1", pool_dir);
    char *second = xasprintf("%s/10-1", pool_dir);
    struct stat before, after;
    struct run_spares *spares;

    (void)state;
    assert_int_equal(mkdir(pool_dir, 0700), 0);
    spares = run_spares_start(pool_dir, 1, 1, err, sizeof(err));
    assert_non_null(spares);
    assert_int_equal(take_within(spares, first), 0);
    write_file_text(first, "output.log", "old output\n");
    write_file_text(first, "result.json", "{}");
    write_file_text(first, "artifacts/a.txt", "a");
    assert_int_equal(stat(first, &before), 0);

    /* Whether the thread deletes the recycled directory (the pool already
     * refilled) or empties it, the next take gets an empty spare. */
    run_spares_recycle(spares, first);
    assert_true(wait_exists(pool_dir, "9-1", 0));
    assert_int_equal(take_within(spares, second), 0);
    assert_int_equal(file_size(second, "output.log"), 0);
    assert_int_equal(file_size(second, "result.json"), -1);
    assert_int_equal(file_size(second, "artifacts/a.txt"), -1);

    /* With room in the pool, the directory comes back with its inode. */
    write_file_text(second, "output.log", "second output\n");
    assert_int_equal(stat(second, &before), 0);
    run_spares_stop(spares);
    spares = run_spares_start(pool_dir, 1, 3, err, sizeof(err));
    assert_non_null(spares);
    run_spares_recycle(spares, second);
    assert_true(wait_exists(pool_dir, "10-1", 0));
    for (int i = 0; i < 3; i++) {
        char *run_dir = xasprintf("%s/11-%d", pool_dir, i + 1);

        assert_int_equal(take_within(spares, run_dir), 0);
        assert_int_equal(file_size(run_dir, "output.log"), 0);
        assert_int_equal(stat(run_dir, &after), 0);
        if (after.st_ino == before.st_ino)
            before.st_ino = 0;
        free(run_dir);
    }
    assert_int_equal(before.st_ino, 0);
    run_spares_stop(spares);
    free(pool_dir);
    free(first);
    free(second);
}

static void take_without_spares(void **state)
{
    (void)state;
    assert_int_equal(run_spares_take(NULL, "/nonexistent/1-1"), -1);
    run_spares_recycle(NULL, "/nonexistent/1-1");
    run_spares_stop(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spare_becomes_run_dir),
        cmocka_unit_test(spares_of_earlier_process_used),
        cmocka_unit_test(recycled_dir_returns_empty),
        cmocka_unit_test(take_without_spares),
    };

    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
