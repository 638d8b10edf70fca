/* Route handlers of the server. Each is called after authentication with
 * the path's captured segments, and replies through ex. */
#ifndef TASKRELAY_API_H
#define TASKRELAY_API_H

#include "common/httpd.h"

struct app;

/* Client routes (api_tasks.c, api_reads.c). */
void api_task_create(struct app *app, struct http_exchange *ex);
void api_task_list(struct app *app, struct http_exchange *ex);
void api_task_get(struct app *app, struct http_exchange *ex, long long id);
void api_task_events(struct app *app, struct http_exchange *ex, long long id);
void api_task_log(struct app *app, struct http_exchange *ex, long long id);
void api_task_cancel(struct app *app, struct http_exchange *ex, long long id);
void api_task_retry(struct app *app, struct http_exchange *ex, long long id);
void api_worker_list(struct app *app, struct http_exchange *ex);
void api_kind_list(struct app *app, struct http_exchange *ex);

/* Artifacts (artifacts.c). */
void api_artifact_list(struct app *app, struct http_exchange *ex, long long id);
void api_artifact_get(struct app *app, struct http_exchange *ex, long long id,
                      const char *name);
void api_artifact_upload(struct app *app, struct http_exchange *ex, long long id);

/* Worker routes (api_worker.c). */
void api_worker_register(struct app *app, struct http_exchange *ex);
void api_worker_heartbeat(struct app *app, struct http_exchange *ex, const char *worker_id);
void api_task_report(struct app *app, struct http_exchange *ex, long long id,
                     const char *report_type);
void api_task_log_append(struct app *app, struct http_exchange *ex, long long id);

/* Applies a parsed report and replies with the status that docs/api.md
 * defines for its outcome. The worker and compatibility routes share it. */
struct task_report;
void api_apply_report(struct app *app, struct http_exchange *ex, long long id,
                      const struct task_report *report);

/* Compatibility routes (api_compat.c). */
void api_compat_report(struct app *app, struct http_exchange *ex, long long id,
                       const char *report_type);
void api_compat_status(struct app *app, struct http_exchange *ex, long long id);

/* Server-Sent Events (sse.c); task_id 0 streams every task and worker. */
/* A stream with nothing to send for this long sends a comment line, so
 * proxies and clients see that it is alive. */
#define SSE_KEEPALIVE_MS 15000

void api_stream(struct app *app, struct http_exchange *ex, long long task_id);

/* The dashboard files (static.c). */
void serve_static(struct http_exchange *ex);

/* Parses the request body as a JSON object or replies 400; NULL then. */
json_t *api_body_object(struct http_exchange *ex);
/* Replies 404 for a task that does not exist. */
void api_reply_task_not_found(struct http_exchange *ex, long long id);
/* Replies 400 if obj has a key not in allowed (NULL-terminated); returns -1. */
int api_reject_unknown_fields(struct http_exchange *ex, json_t *obj,
                              const char *const *allowed);

#endif
