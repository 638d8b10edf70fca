/* The commands on one task: status, watch, cancel and retry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_commands.h"
#include "cli/cli_follow.h"
#include "cli/cli_format.h"
#include "common/json_util.h"
#include "common/util.h"

/* Lines of the log tail that "status" shows. */
#define STATUS_LOG_TAIL_LINES 10
/* Columns of a JSON value (payload, result) that "status" shows. */
#define STATUS_VALUE_COLUMNS 400

void cli_print_json(json_t *value)
{
    char *text = json_dumps(value, JSON_INDENT(2) | JSON_ENCODE_ANY);

    printf("%s\n", text ? text : "null");
    free(text);
}

static const char *string_field(json_t *task, const char *key)
{
    const char *value = json_string_value(json_object_get(task, key));

    return value ? value : "";
}

static long long int_field(json_t *task, const char *key)
{
    return (long long)json_integer_value(json_object_get(task, key));
}

static void print_row(const char *label, const char *value)
{
    char clean[2048];

    cli_text_fit(value, 0, clean, sizeof(clean));
    printf("  %-12s %s\n", label, clean);
}

/* Prints a time field with its age, or "-" when it is null. */
static void print_time_row(json_t *task, const char *label, const char *key)
{
    const char *text = json_string_value(json_object_get(task, key));
    char age[32];
    char line[96];
    int64_t at_ms;

    if (!text) {
        print_row(label, "-");
        return;
    }
    if (cli_parse_time_ms(text, &at_ms) < 0) {
        print_row(label, text);
        return;
    }
    cli_format_age(now_ms() - at_ms, age, sizeof(age));
    snprintf(line, sizeof(line), "%s (%s ago)", text, age);
    print_row(label, line);
}

/* Prints a JSON value in compact form, cut to STATUS_VALUE_COLUMNS. */
static void print_json_row(json_t *task, const char *label, const char *key)
{
    json_t *value = json_object_get(task, key);
    char *text;
    char cut[STATUS_VALUE_COLUMNS * 4];

    if (!value || json_is_null(value))
        return;
    text = json_to_text(value);
    cli_text_fit(text, STATUS_VALUE_COLUMNS, cut, sizeof(cut));
    print_row(label, cut);
    free(text);
}

/* Prints the last STATUS_LOG_TAIL_LINES lines of text, indented. */
static void print_log_tail(long long task_id, const char *text)
{
    const char *start = text + strlen(text);
    int lines = 0;
    char clean[1024];

    while (start > text && start[-1] == '\n')
        start--;
    const char *end = start;

    while (start > text && lines < STATUS_LOG_TAIL_LINES) {
        start--;
        if (start > text && start[-1] == '\n')
            lines++;
    }
    printf("  log tail (last %d lines; 'taskrelay status %lld --json' shows all):\n",
           STATUS_LOG_TAIL_LINES, task_id);
    while (start < end) {
        const char *newline = memchr(start, '\n', (size_t)(end - start));
        size_t len = newline ? (size_t)(newline - start) : (size_t)(end - start);
        char *line = xstrndup(start, len);

        cli_text_fit(line, 0, clean, sizeof(clean));
        printf("    %s\n", clean);
        free(line);
        start += len + 1;
    }
}

static void print_task(json_t *task)
{
    char line[1200];
    int64_t timeout_s = int_field(task, "timeout_s");

    printf("task %lld  %s\n", int_field(task, "id"), string_field(task, "kind"));
    snprintf(line, sizeof(line), "%s, attempt %lld of %lld", string_field(task, "status"),
             int_field(task, "attempt"), int_field(task, "max_attempts"));
    print_row("status", line);
    snprintf(line, sizeof(line), "%lld%%  %s", int_field(task, "progress"),
             string_field(task, "message"));
    print_row("progress", line);
    print_row("worker", string_field(task, "worker_id")[0] ? string_field(task, "worker_id") : "-");
    if (json_string_value(json_object_get(task, "error")))
        print_row("error", string_field(task, "error"));
    print_json_row(task, "result", "result");
    print_json_row(task, "payload", "payload");

    snprintf(line, sizeof(line), "on failure: %s, on loss: %s, backoff %lld ms",
             json_is_true(json_object_get(task, "retry_on_failure")) ? "yes" : "no",
             json_is_true(json_object_get(task, "retry_on_loss")) ? "yes" : "no",
             int_field(task, "backoff_ms"));
    print_row("retry", line);
    if (timeout_s > 0)
        snprintf(line, sizeof(line), "%lld s", (long long)timeout_s);
    else
        snprintf(line, sizeof(line), "the worker's configured timeout");
    print_row("timeout", line);
    if (string_field(task, "idempotency_key")[0])
        print_row("idempotency", string_field(task, "idempotency_key"));

    print_time_row(task, "created", "created_at");
    print_time_row(task, "dispatched", "dispatched_at");
    print_time_row(task, "started", "started_at");
    print_time_row(task, "finished", "finished_at");
    print_time_row(task, "updated", "updated_at");
    if (string_field(task, "log_tail")[0])
        print_log_tail(int_field(task, "id"), string_field(task, "log_tail"));
}

/* Sends method to /api/v1/tasks/{id}SUFFIX, with the body {} for a POST.
 * Returns the reply, or NULL after printing the error. */
static json_t *call_task_route(struct cli_client *client, const char *method,
                               long long task_id, const char *suffix)
{
    char path[96];
    struct cli_error err;
    long http_status;
    json_t *reply;

    json_t *body = strcmp(method, "POST") == 0 ? json_object() : NULL;
    int rc;

    snprintf(path, sizeof(path), "/api/v1/tasks/%lld%s", task_id, suffix);
    rc = cli_client_call(client, method, path, body, &http_status, &reply, &err);
    json_decref(body);
    if (rc < 0) {
        cli_error_print(&err);
        return NULL;
    }
    return reply;
}

int cli_status_run(const struct cli_args *args, struct cli_client *client)
{
    json_t *task = call_task_route(client, "GET", args->task_id, "");

    if (!task)
        return CLI_EXIT_ERROR;
    if (args->json)
        cli_print_json(task);
    else
        print_task(task);
    json_decref(task);
    return CLI_EXIT_OK;
}

int cli_watch_run(const struct cli_args *args, struct cli_client *client)
{
    json_t *final_task = NULL;
    int rc = cli_follow_task(client, args->task_id, args->show_log, &final_task);

    if (args->json && final_task)
        cli_print_json(final_task);
    json_decref(final_task);
    return rc;
}

/* Prints the outcome of cancel or retry: the reply as JSON, or one line
 * with the task's new status when the reply contains the task. */
static int print_change(const struct cli_args *args, json_t *reply, const char *requested)
{
    const char *status = json_string_value(json_object_get(reply, "status"));

    if (args->json)
        cli_print_json(reply);
    else if (status && int_field(reply, "attempt") > 1)
        printf("task %lld: %s, attempt %lld\n", args->task_id, status,
               int_field(reply, "attempt"));
    else if (status)
        printf("task %lld: %s\n", args->task_id, status);
    else
        printf("task %lld: %s\n", args->task_id, requested);
    json_decref(reply);
    return CLI_EXIT_OK;
}

int cli_cancel_run(const struct cli_args *args, struct cli_client *client)
{
    json_t *reply = call_task_route(client, "POST", args->task_id, "/cancel");

    return reply ? print_change(args, reply, "cancel requested") : CLI_EXIT_ERROR;
}

int cli_retry_run(const struct cli_args *args, struct cli_client *client)
{
    json_t *reply = call_task_route(client, "POST", args->task_id, "/retry");

    return reply ? print_change(args, reply, "retry requested") : CLI_EXIT_ERROR;
}
