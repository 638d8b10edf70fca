/* "taskrelay worker": wires the parts together in the order that crash
 * recovery and signal handling need, and runs the shutdown sequence. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/httpd.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/util.h"
#include "worker/heartbeat.h"
#include "worker/outbox.h"
#include "worker/recovery.h"
#include "worker/reporter.h"
#include "worker/run_table.h"
#include "worker/server_link.h"
#include "worker/supervisor.h"
#include "worker/worker.h"
#include "worker/worker_config.h"
#include "worker/worker_http.h"

/* How long the outbox may take to drain after the last run ended. */
#define SHUTDOWN_FLUSH_MS 5000
/* The worker's endpoints reply at once (the supervisor does the work),
 * so two HTTP threads serve the server and local clients. */
#define WORKER_HTTP_THREADS 2

/* An empty handler, so that SIGTERM and SIGINT are not ignored when the
 * worker is PID 1 of a PID namespace (the kernel drops signals to such a
 * process that have the default disposition). They stay blocked and are
 * read from the signalfd. */
static void ignore_signal(int signo)
{
    (void)signo;
}

/* Blocks SIGCHLD, SIGTERM and SIGINT in this thread, which every thread
 * started later inherits, and returns a signalfd for them. */
static int block_signals(char *err, size_t err_len)
{
    struct sigaction action;
    sigset_t set;
    int fd;

    memset(&action, 0, sizeof(action));
    action.sa_handler = ignore_signal;
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);

    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0)
        snprintf(err, err_len, "cannot create a signalfd: %s", strerror(errno));
    return fd;
}

static int make_dirs(const char *path, char *err, size_t err_len)
{
    char *copy = xstrdup(path);
    int rc = 0;

    for (char *p = copy + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(copy, 0700) < 0 && errno != EEXIST)
            rc = -1;
        *p = '/';
    }
    if (mkdir(copy, 0700) < 0 && errno != EEXIST)
        rc = -1;
    if (rc < 0)
        snprintf(err, err_len, "cannot create state directory '%s': %s: pass another --state-dir",
                 path, strerror(errno));
    free(copy);
    return rc;
}

static void warn_missing_programs(const struct worker_config *config)
{
    for (int i = 0; i < config->kind_count; i++) {
        if (access(config->kinds[i].program, X_OK) < 0)
            log_warn("worker", "program of kind %s is not executable yet: %s: %s",
                     config->kinds[i].name, config->kinds[i].program, strerror(errno));
    }
}

struct worker_parts {
    struct worker_config config;
    struct run_table *table;
    struct outbox *outbox;
    struct supervisor *sup;
    struct server_link link;
    struct reporter *reporter;
    struct heartbeat *heartbeat;
    struct httpd *httpd;
    struct worker_http_app app;
};

/* Recovery runs before the supervisor and the HTTP port, so no new run
 * can start while leftovers of the previous process are still killed. */
static int start_parts(struct worker_parts *w, char *err, size_t err_len)
{
    char *outbox_dir;
    int signal_fd = block_signals(err, err_len);

    if (signal_fd < 0)
        return -1;
    /* Orphaned descendants of task programs are re-parented to the worker,
     * which reaps them. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        log_warn("worker", "cannot become a child subreaper: %s", strerror(errno));
    if (make_dirs(w->config.state_dir, err, err_len) < 0)
        return -1;

    outbox_dir = xasprintf("%s/outbox", w->config.state_dir);
    w->outbox = outbox_open(outbox_dir, err, err_len);
    free(outbox_dir);
    if (!w->outbox)
        return -1;
    w->table = run_table_new(w->config.slots);
    if (recovery_run(&w->config, w->table, w->outbox, err, err_len) < 0)
        return -1;

    w->sup = supervisor_new(&w->config, w->table, w->outbox, signal_fd, err, err_len);
    if (!w->sup || supervisor_start(w->sup, err, err_len) < 0)
        return -1;

    w->app = (struct worker_http_app){.config = &w->config, .table = w->table, .sup = w->sup};
    w->httpd = httpd_start(w->config.listen, WORKER_HTTP_THREADS, (size_t)w->config.max_body, NULL, worker_http_handle,
                           &w->app, err, err_len);
    if (!w->httpd)
        return -1;

    if (reporter_start(&w->config, w->outbox, w->table, w->sup, &w->link, &w->reporter, err,
                       err_len) < 0)
        return -1;
    w->heartbeat = heartbeat_start(&w->config, w->table, w->sup, &w->link, err, err_len);
    return w->heartbeat ? 0 : -1;
}

/* Stops the threads that call into the supervisor before it is freed. A
 * supervisor whose thread still runs (start-up failed) is left alone,
 * because the process exits next. */
static void stop_parts(struct worker_parts *w, int flush)
{
    if (flush && !outbox_wait_empty(w->outbox, SHUTDOWN_FLUSH_MS))
        log_warn("worker", "%zu reports are still queued; they are sent after the next start",
                 outbox_pending(w->outbox));
    server_link_stop(&w->link);
    heartbeat_join_and_free(w->heartbeat);
    reporter_join_and_free(w->reporter);
    httpd_stop(w->httpd);
    if (flush) {
        supervisor_free(w->sup);
        outbox_close(w->outbox);
        run_table_free(w->table);
    }
}

int worker_main(int argc, char **argv)
{
    struct worker_parts w;
    enum log_level level;
    char err[1024];
    int rc;

    memset(&w, 0, sizeof(w));
    server_link_init(&w.link);
    rc = worker_config_load(&w.config, argc, argv, err, sizeof(err));
    if (rc == WORKER_CONFIG_HELP) {
        worker_config_print_usage();
        rc = 0;
        goto out;
    }
    if (rc < 0) {
        fprintf(stderr, "taskrelay worker: %s\n", err);
        rc = 2;
        goto out;
    }
    log_level_parse(w.config.log_level, &level);
    log_threshold = level;
    srandom((unsigned int)(getpid() ^ time(NULL)));
    warn_missing_programs(&w.config);

    if (start_parts(&w, err, sizeof(err)) < 0) {
        log_error("worker", "cannot start: %s", err);
        rc = 1;
        stop_parts(&w, 0);
        goto out;
    }
    log_info("worker", "worker started id=%s listen=%s port=%d slots=%d kinds=%d state_dir=%s",
             w.config.worker_id, w.config.listen, httpd_port(w.httpd), w.config.slots,
             w.config.kind_count, w.config.state_dir);

    /* Returns after SIGTERM or SIGINT once every run has ended. */
    supervisor_join(w.sup);
    stop_parts(&w, 1);
    log_info("worker", "worker stopped");
    rc = 0;
out:
    worker_config_free(&w.config);
    server_link_destroy(&w.link);
    return rc;
}
