#include "server/server.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/httpd.h"
#include "common/log.h"
#include "server/app.h"
#include "server/auth.h"
#include "server/dispatch.h"
#include "server/hub.h"
#include "server/api.h"
#include "server/options.h"
#include "server/router.h"

/* Events kept for live streams; a reader further behind replays from the
 * store instead. */
#define HUB_CAPACITY 8192
/* HTTP threads. A durable write blocks its thread for one fdatasync, so
 * there are more threads than cores: the others keep serving meanwhile,
 * and their writes join the same commit. */
#define SERVER_HTTP_THREADS 32

static int make_data_dirs(const char *data_dir)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s/artifacts", data_dir);
    if ((mkdir(data_dir, 0755) < 0 && errno != EEXIST) ||
        (mkdir(path, 0755) < 0 && errno != EEXIST)) {
        fprintf(stderr, "taskrelay server: cannot create data folder '%s': %s\n", path,
                strerror(errno));
        return -1;
    }
    return 0;
}

static void write_port_file(const char *path, int port)
{
    FILE *f = fopen(path, "w");

    if (!f) {
        log_error("server", "cannot write port file %s: %s", path, strerror(errno));
        return;
    }
    fprintf(f, "%d\n", port);
    fclose(f);
}

/* Blocks SIGINT and SIGTERM in every thread, so the main thread alone
 * takes them with sigwait. */
static void block_stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, set, NULL);
}

int server_main(int argc, char **argv)
{
    struct server_options opts;
    struct app app;
    struct httpd *http = NULL;
    char err[512];
    sigset_t stop_signals;
    int sig = 0;
    int rc = server_options_parse(argc, argv, &opts);

    if (rc != 0)
        return rc > 0 ? 0 : 2;
    memset(&app, 0, sizeof(app));
    app.config = opts.config;
    /* glibc gives threads their own malloc arenas, up to 8 per core, and
     * each keeps the memory freed into it. With 32 HTTP threads serving
     * large list pages, that kept 10 to 20 MiB more resident after reads
     * of a large store. Two arenas keep it near what the data needs. */
    mallopt(M_ARENA_MAX, 2);
    if (make_data_dirs(app.config.data_dir) < 0) {
        server_options_free(&opts);
        return 1;
    }
    block_stop_signals(&stop_signals);

    app.store = store_sqlite_open(app.config.db_path, err, sizeof(err));
    if (!app.store) {
        fprintf(stderr, "taskrelay server: %s\n", err);
        server_options_free(&opts);
        return 1;
    }
    app.hub = hub_new(HUB_CAPACITY, SSE_KEEPALIVE_MS);
    app.sessions = sessions_new();
    app.dispatcher = dispatcher_start(&app);

    http = httpd_start(app.config.listen, SERVER_HTTP_THREADS, app.config.max_body, router_body_limit, router_handle,
                       &app, err, sizeof(err));
    if (!http) {
        fprintf(stderr, "taskrelay server: %s\n", err);
        rc = 1;
        goto out;
    }
    log_info("server", "listening on %s port=%d db=%s data_dir=%s version=%s",
             app.config.listen, httpd_port(http), app.config.db_path, app.config.data_dir,
             TASKRELAY_VERSION);
    if (opts.port_file)
        write_port_file(opts.port_file, httpd_port(http));

    sigwait(&stop_signals, &sig);
    log_info("server", "stopping on signal %d: finishing requests in flight", sig);
    rc = 0;

out:
    app.stopping = 1;
    hub_close(app.hub);
    httpd_stop(http);
    dispatcher_stop(app.dispatcher);
    app.store->ops->close(app.store);
    hub_free(app.hub);
    sessions_free(app.sessions);
    server_options_free(&opts);
    log_info("server", "stopped");
    return rc;
}
