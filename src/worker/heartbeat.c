#include "worker/heartbeat.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/httpc.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/util.h"

#define HEARTBEAT_TIMEOUT_MS 10000
#define REGISTER_BACKOFF_MIN_MS 500
#define REGISTER_BACKOFF_MAX_MS 30000

struct heartbeat {
    const struct worker_config *config;
    struct run_table *table;
    struct supervisor *sup;
    struct server_link *link;
    struct httpc *client;
    pthread_t thread;
    /* The shorter of --heartbeat-ms and the interval the server hands out
     * at registration, because the server judges silence by its own. */
    int interval_ms;
};

json_t *heartbeat_body(struct run_table *table)
{
    struct run_view *runs;
    int count = run_table_snapshot(table, &runs);
    json_t *list = json_array();
    int slots, used;

    run_table_counts(table, &slots, &used);
    for (int i = 0; i < count; i++) {
        json_array_append_new(list, json_pack("{s:I, s:i, s:s}", "task_id",
                                              (json_int_t)runs[i].task_id, "attempt",
                                              runs[i].attempt, "state",
                                              runs[i].phase == RUN_FINISHED ? "finished"
                                                                             : "running"));
    }
    free(runs);
    return json_pack("{s:i, s:i, s:o}", "slots", slots, "free_slots", slots - used, "runs",
                     list);
}

static json_t *register_body(const struct worker_config *config)
{
    json_t *kinds = json_array();

    for (int i = 0; i < config->kind_count; i++)
        json_array_append_new(kinds, json_string(config->kinds[i].name));
    return json_pack("{s:s, s:s, s:i, s:o, s:s}", "worker_id", config->worker_id, "url",
                     config->advertise_url, "slots", config->slots, "kinds", kinds, "version",
                     TASKRELAY_VERSION);
}

/* POSTs body (taken) to path; returns the HTTP status, or 0 when no
 * response came (err set). */
static long post_json(struct heartbeat *hb, const char *path, json_t *body,
                      struct strbuf *response, char *err, size_t err_len)
{
    char *url = xasprintf("%s%s", hb->config->server_url, path);
    char *text = json_to_text(body);
    long status = 0;

    if (httpc_request(hb->client, "POST", url, hb->config->token, NULL, text, strlen(text),
                      HEARTBEAT_TIMEOUT_MS, &status, response, err, err_len) != HTTPC_OK)
        status = 0;
    json_decref(body);
    free(text);
    free(url);
    return status;
}

static void adopt_server_interval(struct heartbeat *hb, const struct strbuf *response)
{
    json_t *root = json_loadb(response->data, response->len, 0, NULL);
    json_int_t server_ms = json_integer_value(json_object_get(root, "heartbeat_interval_ms"));

    hb->interval_ms = hb->config->heartbeat_ms;
    if (server_ms > 0 && server_ms < hb->interval_ms) {
        hb->interval_ms = (int)server_ms;
        log_info("worker", "heartbeat every %d ms, as the server asks", hb->interval_ms);
    }
    json_decref(root);
}

/* Registers, retrying with backoff; returns 0 once registered, -1 when
 * stopping. */
static int register_worker(struct heartbeat *hb, struct strbuf *response)
{
    int backoff_ms = REGISTER_BACKOFF_MIN_MS;
    int attempts = 0;
    char err[512];

    while (!server_link_stopping(hb->link)) {
        long status = post_json(hb, "/api/v1/workers/register", register_body(hb->config),
                                response, err, sizeof(err));

        attempts++;
        if (status >= 200 && status < 300) {
            adopt_server_interval(hb, response);
            log_info("worker", "registered with the server worker=%s url=%s", hb->config->worker_id,
                     hb->config->advertise_url);
            server_link_set_registered(hb->link, 1);
            return 0;
        }
        /* The first failure and then every tenth is logged. */
        if (attempts % 10 == 1) {
            if (status == 0)
                log_warn("worker", "registration failed, retrying: %s", err);
            else
                log_warn("worker", "registration rejected with HTTP %ld, retrying: %.300s", status,
                         response->data);
        }
        if (server_link_sleep(hb->link, backoff_with_jitter(backoff_ms)))
            break;
        backoff_ms = backoff_ms * 2 > REGISTER_BACKOFF_MAX_MS ? REGISTER_BACKOFF_MAX_MS
                                                               : backoff_ms * 2;
    }
    return -1;
}

static void apply_cancel_list(struct heartbeat *hb, const struct strbuf *response)
{
    json_t *root = json_loadb(response->data, response->len, 0, NULL);
    json_t *cancel = json_object_get(root, "cancel");
    size_t i;
    json_t *item;

    json_array_foreach(cancel, i, item) {
        json_int_t task_id = 0;
        int attempt = 0;

        if (json_unpack(item, "{s:I, s?i}", "task_id", &task_id, "attempt", &attempt) < 0 ||
            task_id <= 0)
            continue;
        log_debug("worker", "server asked to cancel task=%lld attempt=%d", (long long)task_id,
                 attempt);
        supervisor_kill(hb->sup, task_id, attempt, KILL_CANCEL);
    }
    json_decref(root);
}

static void *heartbeat_thread(void *arg)
{
    struct heartbeat *hb = arg;
    struct strbuf response;
    char path[128];
    char err[512];
    int failures = 0;

    strbuf_init(&response);
    snprintf(path, sizeof(path), "/api/v1/workers/%s/heartbeat", hb->config->worker_id);
    if (register_worker(hb, &response) < 0)
        goto out;

    while (!server_link_sleep(hb->link, hb->interval_ms)) {
        long status = post_json(hb, path, heartbeat_body(hb->table), &response, err, sizeof(err));

        if (status >= 200 && status < 300) {
            failures = 0;
            apply_cancel_list(hb, &response);
        } else if (status == 404) {
            log_warn("worker", "server does not know this worker: registering again");
            server_link_set_registered(hb->link, 0);
            if (register_worker(hb, &response) < 0)
                break;
        } else if (failures++ == 0) {
            log_warn("worker", "heartbeat failed: %s",
                     status == 0 ? err : "the server responded with an error status");
        }
    }
out:
    strbuf_free(&response);
    return NULL;
}

struct heartbeat *heartbeat_start(const struct worker_config *config, struct run_table *table,
                                  struct supervisor *sup, struct server_link *link, char *err,
                                  size_t err_len)
{
    struct heartbeat *hb = xcalloc(1, sizeof(*hb));
    int rc;

    hb->config = config;
    hb->interval_ms = config->heartbeat_ms;
    hb->table = table;
    hb->sup = sup;
    hb->link = link;
    hb->client = httpc_new();
    rc = pthread_create(&hb->thread, NULL, heartbeat_thread, hb);
    if (rc != 0) {
        snprintf(err, err_len, "cannot start the heartbeat thread: %s", strerror(rc));
        httpc_free(hb->client);
        free(hb);
        return NULL;
    }
    return hb;
}

void heartbeat_join_and_free(struct heartbeat *heartbeat)
{
    if (!heartbeat)
        return;
    pthread_join(heartbeat->thread, NULL);
    httpc_free(heartbeat->client);
    free(heartbeat);
}
