#include "worker/reporter.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/httpc.h"
#include "common/json_util.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/util.h"
#include "worker/run_files.h"

#define REPORT_TIMEOUT_MS 10000
#define ARTIFACT_TIMEOUT_MS 120000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 10000
/* Lanes beyond the slots would stay idle, and each costs a thread and a
 * connection to the server. */
#define MAX_LANE_COUNT 4

struct reporter;

/* One sending thread with its own keep-alive connection. */
struct reporter_lane {
    struct reporter *reporter;
    int index;
    struct httpc *client;
    pthread_t thread;
    int started;
};

struct reporter {
    const struct worker_config *config;
    struct outbox *outbox;
    struct run_table *table;
    struct supervisor *sup;
    struct server_link *link;
    int lane_count;
    struct reporter_lane lanes[MAX_LANE_COUNT];
};

enum report_disposition reporter_classify(long status, const char *error_code,
                                          enum kill_reason *reason)
{
    if (status >= 200 && status < 300)
        return REPORT_DONE;
    /* 401 is a token mismatch that an operator fixes on one side; dropping
     * every report meanwhile would lose them all. */
    if (status == 401 || status == 408 || status == 429 || status >= 500 || status < 100)
        return REPORT_RETRY;
    if (status == 409 && strcmp(error_code, "stale_attempt") == 0) {
        *reason = KILL_STALE;
        return REPORT_KILL_RUN;
    }
    if (status == 409 && strcmp(error_code, "task_canceled") == 0) {
        *reason = KILL_CANCEL;
        return REPORT_KILL_RUN;
    }
    return REPORT_DROP;
}

/* Copies the error code of an error body {"error": {"code": ...}}. */
static void error_code_of(const struct strbuf *response, char *code, size_t code_len)
{
    json_t *root = json_loadb(response->data, response->len, 0, NULL);
    const char *value = NULL;

    code[0] = '\0';
    if (root && json_unpack(root, "{s:{s:s}}", "error", "code", &value) == 0)
        snprintf(code, code_len, "%s", value);
    json_decref(root);
}

static int read_artifact(const char *path, struct strbuf *out, char *err, size_t err_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char chunk[65536];
    ssize_t n;

    if (fd < 0) {
        snprintf(err, err_len, "cannot open artifact '%s': %s", path, strerror(errno));
        return -1;
    }
    while ((n = read(fd, chunk, sizeof(chunk))) > 0 && out->len <= LIMIT_ARTIFACT_LEN)
        strbuf_append(out, chunk, (size_t)n);
    close(fd);
    if (n < 0 || out->len > LIMIT_ARTIFACT_LEN) {
        snprintf(err, err_len, "cannot read artifact '%s': %s", path,
                 n < 0 ? strerror(errno) : "it grew over the 16 MiB limit");
        return -1;
    }
    return 0;
}

/* Sends one report. Returns the httpc result; on HTTPC_OK *status and
 * response contain the server's response. A report that cannot be built returns
 * HTTPC_OK with *status 0. */
static int send_report(struct reporter_lane *lane, const struct report *report, long *status,
                       struct strbuf *response, char *err, size_t err_len)
{
    const struct worker_config *config = lane->reporter->config;
    struct strbuf body;
    char *url;
    char *escaped = NULL;
    int rc;

    strbuf_init(&body);
    if (report->type == REPORT_ARTIFACT) {
        escaped = curl_easy_escape(NULL, report->artifact_name, 0);
        url = xasprintf("%s/api/v1/tasks/%lld/artifacts?attempt=%d&name=%s&seq=%lld&worker_id=%s",
                        config->server_url, report->task_id, report->attempt, escaped,
                        report->seq, config->worker_id);
        if (read_artifact(report->artifact_path, &body, err, err_len) < 0) {
            *status = 0;
            rc = HTTPC_OK;
            goto out;
        }
    } else {
        char *text = json_to_text(report->body);

        url = xasprintf("%s/api/v1/tasks/%lld/%s", config->server_url, report->task_id,
                        report_type_route(report->type));
        strbuf_append(&body, text, strlen(text));
        free(text);
    }
    rc = httpc_request(lane->client, "POST", url, config->token,
                       report->type == REPORT_ARTIFACT ? "application/octet-stream" : NULL,
                       body.data, body.len,
                       report->type == REPORT_ARTIFACT ? ARTIFACT_TIMEOUT_MS : REPORT_TIMEOUT_MS,
                       status, response, err, err_len);
out:
    curl_free(escaped);
    free(url);
    strbuf_free(&body);
    return rc;
}

/* Acts on the server's response to a report; returns the disposition. */
static enum report_disposition handle_response(struct reporter *reporter,
                                             const struct report *report, int rc, long status,
                                             const struct strbuf *response, const char *err)
{
    const char *route = report_type_route(report->type);
    enum kill_reason reason = KILL_CANCEL;
    enum report_disposition disposition;
    char code[64];

    if (rc != HTTPC_OK)
        return REPORT_RETRY;
    if (status == 0) {
        log_error("worker", "dropping %s report task=%lld attempt=%d: %s", route,
                  report->task_id, report->attempt, err);
        return REPORT_DROP;
    }
    error_code_of(response, code, sizeof(code));
    disposition = reporter_classify(status, code, &reason);
    if (disposition == REPORT_DROP)
        log_warn("worker", "server rejected %s report task=%lld attempt=%d seq=%lld: HTTP %ld %.300s",
                 route, report->task_id, report->attempt, report->seq, status,
                 response->data);
    if (disposition == REPORT_KILL_RUN) {
        log_info("worker", "server rejected a %s report with %s task=%lld attempt=%d: killing the run",
                 route, code, report->task_id, report->attempt);
        supervisor_kill(reporter->sup, report->task_id, report->attempt, reason);
    }
    return disposition;
}

/* Marks the lane as failing; the first time, puts the outbox and the run
 * records on disk before the first retry. Reports were appended and run
 * records written without a sync, on the premise that the server receives
 * them at once. A report that waits for a retry must survive a machine
 * crash, and so must the record of a run whose start the server has not
 * heard of, because the server sends such an attempt again. */
static void mark_failing(struct reporter *reporter, struct reporter_lane *lane)
{
    char err[512];

    if (!outbox_set_lane_failing(reporter->outbox, lane->index, 1))
        return;
    if (outbox_sync(reporter->outbox, err, sizeof(err)) < 0)
        log_error("worker", "cannot sync the outbox before retrying reports: %s", err);
    if (run_files_sync_all(reporter->config->state_dir, err, sizeof(err)) < 0)
        log_error("worker", "cannot sync the run records before retrying reports: %s", err);
}

static void *reporter_thread(void *arg)
{
    struct reporter_lane *lane = arg;
    struct reporter *reporter = lane->reporter;
    struct strbuf response;
    int backoff_ms = BACKOFF_MIN_MS;
    int failures = 0;
    char err[512];

    strbuf_init(&response);
    while (!server_link_stopping(reporter->link)) {
        struct report report;
        unsigned long long id;
        long status = 0;
        int rc;

        if (!server_link_wait_registered(reporter->link, 500)) {
            if (outbox_pending(reporter->outbox) > 0)
                mark_failing(reporter, lane);
            continue;
        }
        rc = outbox_peek(reporter->outbox, lane->index, reporter->lane_count, 500, &id, &report,
                         err, sizeof(err));
        if (rc == 0) {
            /* Nothing of this lane waits for a retry. */
            outbox_set_lane_failing(reporter->outbox, lane->index, 0);
            continue;
        }
        if (rc < 0) {
            log_error("worker", "dropping unreadable report %llu from the outbox: %s", id, err);
            outbox_remove(reporter->outbox, id);
            continue;
        }

        rc = send_report(lane, &report, &status, &response, err, sizeof(err));
        enum report_disposition disposition =
            handle_response(reporter, &report, rc, status, &response, err);
        if (disposition == REPORT_RETRY) {
            mark_failing(reporter, lane);
            /* The first failure of a streak is logged, the rest only at debug. */
            if (failures++ == 0)
                log_warn("worker", "report not delivered, retrying with backoff: %s",
                         rc != HTTPC_OK ? err : "the server responded with a retryable status");
            else
                log_debug("worker", "report retry %d failed status=%ld: %s", failures, status,
                          rc != HTTPC_OK ? err : "");
            report_clear(&report);
            server_link_sleep(reporter->link, backoff_with_jitter(backoff_ms));
            backoff_ms = backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff_ms * 2;
            continue;
        }

        outbox_set_lane_failing(reporter->outbox, lane->index, 0);
        if (failures > 0)
            log_info("worker", "reports are delivered again after %d retries", failures);
        failures = 0;
        backoff_ms = BACKOFF_MIN_MS;
        log_debug("worker", "report sent type=%s task=%lld attempt=%d seq=%lld status=%ld",
                  report_type_route(report.type), report.task_id, report.attempt, report.seq,
                  status);
        /* The lane sent the run's artifacts before this report, so once
         * the run is forgotten nothing reads its directory again. */
        if (report.type == REPORT_COMPLETE &&
            run_table_ack(reporter->table, report.task_id, report.attempt))
            supervisor_recycle_run(reporter->sup, report.task_id, report.attempt);
        outbox_remove(reporter->outbox, id);
        report_clear(&report);
    }
    strbuf_free(&response);
    return NULL;
}

int reporter_start(const struct worker_config *config, struct outbox *outbox,
                   struct run_table *table, struct supervisor *sup, struct server_link *link,
                   struct reporter **out, char *err, size_t err_len)
{
    struct reporter *reporter = xcalloc(1, sizeof(*reporter));

    *out = reporter;
    reporter->config = config;
    reporter->outbox = outbox;
    reporter->table = table;
    reporter->sup = sup;
    reporter->link = link;
    reporter->lane_count = config->slots < MAX_LANE_COUNT ? config->slots : MAX_LANE_COUNT;
    for (int i = 0; i < reporter->lane_count; i++) {
        struct reporter_lane *lane = &reporter->lanes[i];
        int rc;

        lane->reporter = reporter;
        lane->index = i;
        lane->client = httpc_new();
        rc = pthread_create(&lane->thread, NULL, reporter_thread, lane);
        if (rc != 0) {
            snprintf(err, err_len, "cannot start reporter thread %d: %s", i + 1, strerror(rc));
            return -1;
        }
        lane->started = 1;
    }
    return 0;
}

void reporter_join_and_free(struct reporter *reporter)
{
    if (!reporter)
        return;
    for (int i = 0; i < reporter->lane_count; i++) {
        if (reporter->lanes[i].started)
            pthread_join(reporter->lanes[i].thread, NULL);
        httpc_free(reporter->lanes[i].client);
    }
    free(reporter);
}
