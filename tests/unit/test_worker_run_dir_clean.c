/* Unit tests of emptying and deleting run directories: the files a run
 * overwrites are truncated in place, everything a program left is gone,
 * and no symbolic or hard link lets the cleanup reach outside. */
#include <fcntl.h>
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
#include "worker/run_dir_clean.h"

static char base_dir[] = "/tmp/taskrelay-test-run-dir-clean-XXXXXX";

static int make_base(void **state)
{
    (void)state;
    return temp_dir_make(base_dir);
}

static int remove_base(void **state)
{
    (void)state;
    return temp_dir_remove(base_dir);
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", dir, name);
    FILE *file = fopen(path, "w");

    assert_non_null(file);
    fputs(text, file);
    fclose(file);
    free(path);
}

static int stat_entry(const char *dir, const char *name, struct stat *st)
{
    char *path = xasprintf("%s/%s", dir, name);
    int rc = lstat(path, st);

    free(path);
    return rc;
}

static void make_subdir(const char *dir, const char *name)
{
    char *path = xasprintf("%s/%s", dir, name);

    assert_int_equal(mkdir(path, 0700), 0);
    free(path);
}

/* A run directory as a program could leave it. */
static char *make_used_run_dir(const char *name)
{
    char *dir = xasprintf("%s/%s", base_dir, name);

    assert_int_equal(mkdir(dir, 0700), 0);
    make_subdir(dir, "artifacts");
    make_subdir(dir, "artifacts/nested");
    make_subdir(dir, "scratch");
    write_text(dir, "payload.json", "{\"secret\": 1}");
    write_text(dir, "state.json", "{\"task_id\": 5}");
    write_text(dir, "output.log", "old output\n");
    write_text(dir, "result.json", "{\"old\": true}");
    write_text(dir, "artifacts/shot.png", "png");
    write_text(dir, "artifacts/nested/deep.txt", "deep");
    write_text(dir, "scratch/tmp.txt", "tmp");
    return dir;
}

static void empty_keeps_inodes(void **state)
{
    char *dir = make_used_run_dir("keep");
    struct stat before, after;
    char err[256];

    (void)state;
    assert_int_equal(stat_entry(dir, "output.log", &before), 0);
    assert_int_equal(run_dir_empty(dir, err, sizeof(err)), 0);

    assert_int_equal(stat_entry(dir, "output.log", &after), 0);
    assert_int_equal(after.st_ino, before.st_ino);
    assert_int_equal(after.st_size, 0);
    assert_int_equal(stat_entry(dir, "payload.json", &after), 0);
    assert_int_equal(after.st_size, 0);
    assert_int_equal(stat_entry(dir, "state.json", &after), 0);
    assert_int_equal(after.st_size, 0);
    assert_int_equal(stat_entry(dir, "artifacts", &after), 0);
    assert_true(S_ISDIR(after.st_mode));
    free(dir);
}

static void empty_deletes_program_files(void **state)
{
    char *dir = make_used_run_dir("program-files");
    struct stat st;
    char err[256];

    (void)state;
    assert_int_equal(run_dir_empty(dir, err, sizeof(err)), 0);
    assert_int_equal(stat_entry(dir, "result.json", &st), -1);
    assert_int_equal(stat_entry(dir, "scratch", &st), -1);
    assert_int_equal(stat_entry(dir, "artifacts/shot.png", &st), -1);
    assert_int_equal(stat_entry(dir, "artifacts/nested", &st), -1);
    free(dir);
}

static void empty_stays_inside_dir(void **state)
{
    char *dir = make_used_run_dir("links");
    char *outside = xasprintf("%s/outside.txt", base_dir);
    char *log_path = xasprintf("%s/output.log", dir);
    char *link_path = xasprintf("%s/artifacts/link", dir);
    struct stat st;
    char err[256];

    (void)state;
    write_text(base_dir, "outside.txt", "keep me");
    /* output.log as a hard link to a file outside, and a symbolic link. */
    assert_int_equal(unlink(log_path), 0);
    assert_int_equal(link(outside, log_path), 0);
    assert_int_equal(symlink(base_dir, link_path), 0);

    assert_int_equal(run_dir_empty(dir, err, sizeof(err)), 0);
    assert_int_equal(stat(outside, &st), 0);
    assert_int_equal(st.st_size, 7);
    assert_int_equal(stat_entry(dir, "output.log", &st), -1);
    assert_int_equal(stat_entry(dir, "artifacts/link", &st), -1);
    free(dir);
    free(outside);
    free(log_path);
    free(link_path);
}

static void remove_deletes_tree(void **state)
{
    char *dir = make_used_run_dir("remove");
    struct stat st;
    char err[256];

    (void)state;
    assert_int_equal(run_dir_remove(dir, err, sizeof(err)), 0);
    assert_int_equal(lstat(dir, &st), -1);
    assert_int_equal(run_dir_remove(dir, err, sizeof(err)), 0);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_keeps_inodes),
        cmocka_unit_test(empty_deletes_program_files),
        cmocka_unit_test(empty_stays_inside_dir),
        cmocka_unit_test(remove_deletes_tree),
    };

    return cmocka_run_group_tests(tests, make_base, remove_base);
}
