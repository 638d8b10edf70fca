#include <stdio.h>

#include "cli/cli_commands.h"
#include "cli/cli_follow.h"
#include "cli/cli_payload.h"
#include "common/limits.h"

/* Builds the POST /api/v1/tasks body. Fields left unset get the server's
 * defaults. Takes the reference to payload. */
static json_t *build_request(const struct cli_args *args, json_t *payload)
{
    json_t *body = json_object();

    json_object_set_new(body, "kind", json_string(args->kind));
    json_object_set_new(body, "payload", payload);
    if (args->idempotency_key)
        json_object_set_new(body, "idempotency_key", json_string(args->idempotency_key));
    if (args->max_attempts > 0)
        json_object_set_new(body, "max_attempts", json_integer(args->max_attempts));
    if (args->retry_on_failure)
        json_object_set_new(body, "retry_on_failure", json_true());
    if (args->retry_on_loss)
        json_object_set_new(body, "retry_on_loss", json_true());
    if (args->backoff_ms >= 0)
        json_object_set_new(body, "backoff_ms", json_integer(args->backoff_ms));
    if (args->timeout_s >= 0)
        json_object_set_new(body, "timeout_s", json_integer(args->timeout_s));
    return body;
}

int cli_submit_run(const struct cli_args *args, struct cli_client *client)
{
    char message[1024];
    struct cli_error err;
    json_t *payload;
    json_t *body = NULL;
    json_t *task = NULL;
    json_t *final_task = NULL;
    long http_status;
    long long task_id;
    int rc = CLI_EXIT_ERROR;

    /* NOTE: a server started with a larger --max-body takes larger
     * payloads, but the CLI checks the default limit only. */
    if (cli_payload_load(args->payload, LIMIT_BODY_DEFAULT, &payload, message, sizeof(message)) <
        0) {
        fprintf(stderr, "taskrelay: %s\n", message);
        return CLI_EXIT_USAGE;
    }
    body = build_request(args, payload);
    if (cli_client_call(client, "POST", "/api/v1/tasks", body, &http_status, &task, &err) < 0) {
        cli_error_print(&err);
        goto out;
    }
    task_id = (long long)json_integer_value(json_object_get(task, "id"));
    if (task_id <= 0) {
        fprintf(stderr, "taskrelay: the server accepted the task but its reply has no task id\n");
        goto out;
    }

    if (http_status == 200)
        fprintf(stderr, "taskrelay: task %lld already exists with idempotency key '%s'; "
                "it was not submitted again\n",
                task_id, args->idempotency_key ? args->idempotency_key : "");
    /* stdout carries one document: the id, the task, or with --wait --json
     * the task once it ended. */
    if (args->json && args->wait)
        fprintf(stderr, "task %lld submitted\n", task_id);
    else if (args->json)
        cli_print_json(task);
    else
        printf("%lld\n", task_id);
    fflush(stdout);
    if (!args->wait) {
        rc = CLI_EXIT_OK;
        goto out;
    }

    rc = cli_follow_task(client, task_id, args->show_log, &final_task);
    if (args->json && final_task)
        cli_print_json(final_task);

out:
    json_decref(final_task);
    json_decref(task);
    json_decref(body);
    return rc;
}
