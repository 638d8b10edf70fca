#include "server/router.h"

#include <string.h>

#include "common/limits.h"
#include "server/api.h"
#include "server/app.h"
#include "server/auth.h"

static int is_method(const struct http_exchange *ex, const char *method)
{
    return strcmp(ex->method, method) == 0;
}

static void reply_bad_id(struct http_exchange *ex, const char *text)
{
    http_reply_error(ex, 400, "invalid_field", "task id '%s' must be a positive integer", text);
}

static void method_not_allowed(struct http_exchange *ex, const char *allowed)
{
    http_reply_error(ex, 405, "method_not_allowed", "use %s on %s", allowed, ex->path);
    http_reply_header(ex, MHD_HTTP_HEADER_ALLOW, allowed);
}

/* Routes under /api/v1/tasks/{id}/... ; returns 0 when none matched. */
static int route_task(struct app *app, struct http_exchange *ex)
{
    char caps[2][80];
    long long id;
    static const char *const reports[] = {"start", "progress", "complete"};

    if (!route_match("/api/v1/tasks/*", ex->path, caps, 1) &&
        !route_match("/api/v1/tasks/*/*", ex->path, caps, 2) &&
        !route_match("/api/v1/tasks/*/artifacts/*", ex->path, caps, 2))
        return 0;
    if (parse_task_id(caps[0], &id) < 0) {
        reply_bad_id(ex, caps[0]);
        return 1;
    }

    /* Worker-token routes. */
    for (size_t i = 0; i < 3; i++) {
        char pattern[64];

        snprintf(pattern, sizeof(pattern), "/api/v1/tasks/*/%s", reports[i]);
        if (route_match(pattern, ex->path, caps, 1)) {
            if (!is_method(ex, "POST"))
                method_not_allowed(ex, "POST");
            else if (auth_require(app, ex, AUTH_WORKER) == 0)
                api_task_report(app, ex, id, reports[i]);
            return 1;
        }
    }
    if (route_match("/api/v1/tasks/*/artifacts", ex->path, caps, 1) && is_method(ex, "POST")) {
        if (auth_require(app, ex, AUTH_WORKER) == 0)
            api_artifact_upload(app, ex, id);
        return 1;
    }
    if (route_match("/api/v1/tasks/*/log", ex->path, caps, 1) && is_method(ex, "POST")) {
        if (auth_require(app, ex, AUTH_WORKER) == 0)
            api_task_log_append(app, ex, id);
        return 1;
    }

    /* Client routes. */
    if (auth_require(app, ex, AUTH_CLIENT) < 0)
        return 1;
    if (route_match("/api/v1/tasks/*/artifacts/*", ex->path, caps, 2)) {
        if (is_method(ex, "GET"))
            api_artifact_get(app, ex, id, caps[1]);
        else
            method_not_allowed(ex, "GET");
        return 1;
    }
    if (route_match("/api/v1/tasks/*", ex->path, caps, 1)) {
        if (is_method(ex, "GET"))
            api_task_get(app, ex, id);
        else
            method_not_allowed(ex, "GET");
        return 1;
    }

    const char *action = strrchr(ex->path, '/') + 1;
    int get = is_method(ex, "GET");
    int post = is_method(ex, "POST");

    if (strcmp(action, "events") == 0 && get)
        api_task_events(app, ex, id);
    else if (strcmp(action, "log") == 0 && get)
        api_task_log(app, ex, id);
    else if (strcmp(action, "artifacts") == 0 && get)
        api_artifact_list(app, ex, id);
    else if (strcmp(action, "stream") == 0 && get)
        api_stream(app, ex, id);
    else if (strcmp(action, "cancel") == 0 && post)
        api_task_cancel(app, ex, id);
    else if (strcmp(action, "retry") == 0 && post)
        api_task_retry(app, ex, id);
    else
        http_reply_error(ex, 404, "not_found", "no route %s %s", ex->method, ex->path);
    return 1;
}

static int route_worker(struct app *app, struct http_exchange *ex)
{
    char caps[1][80];

    if (strcmp(ex->path, "/api/v1/workers/register") == 0) {
        if (!is_method(ex, "POST"))
            method_not_allowed(ex, "POST");
        else if (auth_require(app, ex, AUTH_WORKER) == 0)
            api_worker_register(app, ex);
        return 1;
    }
    if (route_match("/api/v1/workers/*/heartbeat", ex->path, caps, 1)) {
        if (!is_method(ex, "POST"))
            method_not_allowed(ex, "POST");
        else if (auth_require(app, ex, AUTH_WORKER) == 0)
            api_worker_heartbeat(app, ex, caps[0]);
        return 1;
    }
    return 0;
}

static int route_compat(struct app *app, struct http_exchange *ex)
{
    char caps[1][80];
    long long id;

    if (route_match("/api/worker/tasks/*/progress", ex->path, caps, 1) ||
        route_match("/api/worker/tasks/*/complete", ex->path, caps, 1)) {
        if (!is_method(ex, "POST"))
            method_not_allowed(ex, "POST");
        else if (parse_task_id(caps[0], &id) < 0)
            reply_bad_id(ex, caps[0]);
        else if (auth_require(app, ex, AUTH_WORKER) == 0)
            api_compat_report(app, ex, id, strrchr(ex->path, '/') + 1);
        return 1;
    }
    if (route_match("/api/tasks/*/status", ex->path, caps, 1)) {
        if (!is_method(ex, "GET"))
            method_not_allowed(ex, "GET");
        else if (parse_task_id(caps[0], &id) < 0)
            reply_bad_id(ex, caps[0]);
        else if (auth_require(app, ex, AUTH_CLIENT) == 0)
            api_compat_status(app, ex, id);
        return 1;
    }
    return 0;
}

/* Client routes that are not about one task. */
static int route_collections(struct app *app, struct http_exchange *ex)
{
    const char *p = ex->path;

    if (strcmp(p, "/api/v1/session") == 0) {
        api_session(app, ex);
        return 1;
    }
    if (strcmp(p, "/api/v1/tasks") != 0 && strcmp(p, "/api/v1/workers") != 0 &&
        strcmp(p, "/api/v1/kinds") != 0 && strcmp(p, "/api/v1/stream") != 0)
        return 0;
    if (auth_require(app, ex, AUTH_CLIENT) < 0)
        return 1;
    if (strcmp(p, "/api/v1/tasks") == 0 && is_method(ex, "POST"))
        api_task_create(app, ex);
    else if (strcmp(p, "/api/v1/tasks") == 0 && is_method(ex, "GET"))
        api_task_list(app, ex);
    else if (!is_method(ex, "GET"))
        method_not_allowed(ex, "GET");
    else if (strcmp(p, "/api/v1/workers") == 0)
        api_worker_list(app, ex);
    else if (strcmp(p, "/api/v1/kinds") == 0)
        api_kind_list(app, ex);
    else
        api_stream(app, ex, 0);
    return 1;
}

void router_handle(struct http_exchange *ex, void *arg)
{
    struct app *app = arg;

    if (app->stopping) {
        http_reply_error(ex, 503, "unavailable", "the server is stopping; retry shortly");
        return;
    }
    if (route_collections(app, ex) || route_task(app, ex) || route_worker(app, ex) ||
        route_compat(app, ex))
        return;
    if (strncmp(ex->path, "/api/", 5) == 0 || strcmp(ex->path, "/api") == 0) {
        http_reply_error(ex, 404, "not_found", "no route %s %s", ex->method, ex->path);
        return;
    }
    if (!is_method(ex, "GET") && !is_method(ex, "HEAD")) {
        method_not_allowed(ex, "GET");
        return;
    }
    serve_static(ex);
}

size_t router_body_limit(const char *method, const char *path, void *arg)
{
    struct app *app = arg;
    char caps[1][80];

    if (strcmp(method, "POST") == 0 && route_match("/api/v1/tasks/*/artifacts", path, caps, 1))
        return LIMIT_ARTIFACT_LEN;
    return app->config.max_body;
}
