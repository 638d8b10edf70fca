/* Unit tests of the worker's view of its own children: parsing a children
 * file, listing the children of a live process, an orphan adopted by the
 * main thread, and the process group check. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util.h"
#include "worker/proc_children.h"

static int listed(const pid_t *pids, size_t count, pid_t pid)
{
    for (size_t i = 0; i < count; i++) {
        if (pids[i] == pid)
            return 1;
    }
    return 0;
}

static void parse_children_text(void **state)
{
    pid_t *pids = NULL;
    size_t count = 0;

    (void)state;
    assert_int_equal(proc_children_parse("12 345 6 ", &pids, &count), 0);
    assert_int_equal(count, 3);
    assert_int_equal(pids[0], 12);
    assert_int_equal(pids[1], 345);
    assert_int_equal(pids[2], 6);
    free(pids);
}

static void parse_children_empty(void **state)
{
    pid_t *pids = NULL;
    size_t count = 0;

    (void)state;
    assert_int_equal(proc_children_parse("", &pids, &count), 0);
    assert_int_equal(count, 0);
    assert_null(pids);
}

static void parse_children_invalid(void **state)
{
    pid_t *pids = NULL;
    size_t count = 0;

    (void)state;
    assert_int_equal(proc_children_parse("12 x4", &pids, &count), -1);
    free(pids);
    pids = NULL;
    count = 0;
    assert_int_equal(proc_children_parse("0", &pids, &count), -1);
    free(pids);
}

static void list_contains_forked_child(void **state)
{
    pid_t *pids = NULL;
    size_t count = 0;
    pid_t child = fork();

    (void)state;
    assert_true(child >= 0);
    if (child == 0) {
        pause();
        _exit(0);
    }
    assert_int_equal(proc_children_list(&pids, &count), 0);
    assert_true(listed(pids, count, child));
    free(pids);

    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    assert_int_equal(proc_children_list(&pids, &count), 0);
    assert_false(listed(pids, count, child));
    free(pids);
}

/* Forks a child that forks a grandchild in a new session and exits, so
 * that the grandchild becomes an orphan of this subreaper process. Runs
 * in a second thread, as the worker's supervisor does. */
static void *fork_orphan(void *arg)
{
    struct proc_children_files *files = arg;
    int ready[2];
    pid_t *grandchild = xcalloc(1, sizeof(pid_t));
    pid_t child;

    if (pipe(ready) < 0 || proc_children_open(files) < 0)
        return grandchild;
    child = fork();
    if (child == 0) {
        pid_t orphan = fork();

        if (orphan == 0) {
            setsid();
            pause();
            _exit(0);
        }
        if (write(ready[1], &orphan, sizeof(orphan)) != (ssize_t)sizeof(orphan))
            _exit(1);
        _exit(0);
    }
    if (read(ready[0], grandchild, sizeof(pid_t)) != (ssize_t)sizeof(pid_t))
        *grandchild = 0;
    waitpid(child, NULL, 0);
    close(ready[0]);
    close(ready[1]);
    return grandchild;
}

static void files_list_orphan_of_other_thread(void **state)
{
    struct proc_children_files files = {0};
    pthread_t thread;
    pid_t *orphan = NULL;
    pid_t *pids = NULL;
    size_t count = 0;
    int read_rc, found;

    (void)state;
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    assert_int_equal(pthread_create(&thread, NULL, fork_orphan, &files), 0);
    assert_int_equal(pthread_join(thread, (void **)&orphan), 0);
    assert_true(*orphan > 0);

    /* The orphan is killed before the first check, so a failing check
     * leaves no process behind. */
    read_rc = proc_children_read(&files, &pids, &count);
    found = read_rc == 0 && listed(pids, count, *orphan);
    free(pids);
    kill(*orphan, SIGKILL);
    waitpid(*orphan, NULL, 0);
    assert_int_equal(files.count, 2);
    assert_int_equal(read_rc, 0);
    assert_true(found);

    assert_int_equal(proc_children_read(&files, &pids, &count), 0);
    assert_false(listed(pids, count, *orphan));
    free(pids);
    proc_children_close(&files);
    free(orphan);
}

static void group_alive_until_reaped(void **state)
{
    int ready[2];
    char byte;
    pid_t child;

    (void)state;
    assert_int_equal(pipe(ready), 0);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        setpgid(0, 0);
        byte = 1;
        if (write(ready[1], &byte, 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    assert_int_equal(read(ready[0], &byte, 1), 1);
    assert_true(proc_group_alive(child));

    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    assert_false(proc_group_alive(child));
    assert_false(proc_group_alive(0));
    assert_false(proc_group_alive(-1));
    close(ready[0]);
    close(ready[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_children_text),
        cmocka_unit_test(parse_children_empty),
        cmocka_unit_test(parse_children_invalid),
        cmocka_unit_test(list_contains_forked_child),
        cmocka_unit_test(files_list_orphan_of_other_thread),
        cmocka_unit_test(group_alive_until_reaped),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
