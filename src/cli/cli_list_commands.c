/* The listing commands: tasks and workers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_commands.h"
#include "cli/cli_format.h"
#include "cli/cli_table.h"
#include "common/util.h"

/* Fetches path. Returns the reply, or NULL after printing the error. */
static json_t *fetch(struct cli_client *client, const char *path)
{
    struct cli_error err;
    long http_status;
    json_t *reply;

    if (cli_client_call(client, "GET", path, NULL, &http_status, &reply, &err) < 0) {
        cli_error_print(&err);
        return NULL;
    }
    return reply;
}

/* Writes the age of a time field, or "-". */
static void format_age_field(json_t *object, const char *key, int64_t now, char *out,
                             size_t out_len)
{
    int64_t at_ms;

    if (cli_parse_time_ms(json_string_value(json_object_get(object, key)), &at_ms) < 0)
        snprintf(out, out_len, "-");
    else
        cli_format_age(now - at_ms, out, out_len);
}

/* Rows are cut to the terminal's width only when stdout is a terminal. */
static int output_width(void)
{
    return isatty(STDOUT_FILENO) ? cli_terminal_width(stdout) : 0;
}

static void append_query(struct strbuf *path, const char *name, const char *value)
{
    if (!value)
        return;
    strbuf_appendf(path, "%c%s=", strchr(path->data, '?') ? '&' : '?', name);
    cli_url_escape(path, value);
}

static void print_tasks(json_t *reply)
{
    static const char *const headers[] = {"ID", "STATUS", "KIND", "WORKER", "PROGRESS", "AGE",
                                          "MESSAGE"};
    struct cli_table *table = cli_table_new(7, headers);
    json_t *tasks = json_object_get(reply, "tasks");
    int64_t now = now_ms();
    size_t i;
    json_t *task;

    json_array_foreach(tasks, i, task) {
        char id[24], progress[16], age[16];
        const char *cells[7];

        snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(task, "id")));
        snprintf(progress, sizeof(progress), "%lld%%",
                 (long long)json_integer_value(json_object_get(task, "progress")));
        format_age_field(task, "created_at", now, age, sizeof(age));
        cells[0] = id;
        cells[1] = json_string_value(json_object_get(task, "status"));
        cells[2] = json_string_value(json_object_get(task, "kind"));
        cells[3] = json_string_value(json_object_get(task, "worker_id"));
        cells[4] = progress;
        cells[5] = age;
        cells[6] = json_string_value(json_object_get(task, "message"));
        cli_table_add_row(table, cells);
    }
    if (json_array_size(tasks) == 0)
        printf("no tasks match\n");
    else
        cli_table_print(table, stdout, output_width());
    cli_table_free(table);
}

/* Prints "counts: pending 3, running 1" and the next page's cursor to stderr. */
static void print_tasks_footer(json_t *reply)
{
    json_t *counts = json_object_get(reply, "counts");
    const char *cursor = json_string_value(json_object_get(reply, "next_cursor"));
    const char *status;
    json_t *count;
    const char *separator = "";

    if (json_object_size(counts) > 0) {
        fprintf(stderr, "counts: ");
        json_object_foreach(counts, status, count) {
            fprintf(stderr, "%s%s %lld", separator, status, (long long)json_integer_value(count));
            separator = ", ";
        }
        fprintf(stderr, "\n");
    }
    if (cursor)
        fprintf(stderr, "more tasks: add --cursor %s\n", cursor);
}

int cli_tasks_run(const struct cli_args *args, struct cli_client *client)
{
    struct strbuf path;
    char limit[24];
    json_t *reply;

    strbuf_init(&path);
    strbuf_appendf(&path, "/api/v1/tasks");
    append_query(&path, "status", args->status_filter);
    append_query(&path, "kind", args->kind_filter);
    if (args->limit > 0) {
        snprintf(limit, sizeof(limit), "%lld", (long long)args->limit);
        append_query(&path, "limit", limit);
    }
    append_query(&path, "cursor", args->cursor);
    reply = fetch(client, path.data);
    strbuf_free(&path);
    if (!reply)
        return CLI_EXIT_ERROR;

    if (args->json) {
        cli_print_json(reply);
    } else {
        print_tasks(reply);
        print_tasks_footer(reply);
    }
    json_decref(reply);
    return CLI_EXIT_OK;
}

/* Joins the strings of a JSON array with ",". */
static char *join_strings(json_t *array)
{
    struct strbuf out;
    size_t i;
    json_t *item;

    strbuf_init(&out);
    json_array_foreach(array, i, item) {
        if (json_is_string(item))
            strbuf_appendf(&out, "%s%s", out.len ? "," : "", json_string_value(item));
    }
    return out.data;
}

static void print_workers(json_t *reply)
{
    static const char *const headers[] = {"ID", "STATUS", "RUNNING", "DONE", "FAILED",
                                          "LAST SEEN", "VERSION", "URL", "KINDS"};
    struct cli_table *table = cli_table_new(9, headers);
    json_t *workers = json_object_get(reply, "workers");
    int64_t now = now_ms();
    size_t i;
    json_t *worker;

    json_array_foreach(workers, i, worker) {
        char running[32], completed[24], failed[24], heartbeat[24];
        char *kinds = join_strings(json_object_get(worker, "kinds"));
        const char *cells[9];

        snprintf(running, sizeof(running), "%lld/%lld",
                 (long long)json_integer_value(json_object_get(worker, "running")),
                 (long long)json_integer_value(json_object_get(worker, "slots")));
        snprintf(completed, sizeof(completed), "%lld",
                 (long long)json_integer_value(json_object_get(worker, "completed")));
        snprintf(failed, sizeof(failed), "%lld",
                 (long long)json_integer_value(json_object_get(worker, "failed")));
        format_age_field(worker, "last_heartbeat_at", now, heartbeat, sizeof(heartbeat));
        cells[0] = json_string_value(json_object_get(worker, "id"));
        cells[1] = json_string_value(json_object_get(worker, "status"));
        cells[2] = running;
        cells[3] = completed;
        cells[4] = failed;
        cells[5] = heartbeat;
        cells[6] = json_string_value(json_object_get(worker, "version"));
        cells[7] = json_string_value(json_object_get(worker, "url"));
        cells[8] = kinds;
        cli_table_add_row(table, cells);
        free(kinds);
    }
    if (json_array_size(workers) == 0)
        printf("no workers registered\n");
    else
        cli_table_print(table, stdout, output_width());
    cli_table_free(table);
}

int cli_workers_run(const struct cli_args *args, struct cli_client *client)
{
    json_t *reply = fetch(client, "/api/v1/workers");

    if (!reply)
        return CLI_EXIT_ERROR;
    if (args->json)
        cli_print_json(reply);
    else
        print_workers(reply);
    json_decref(reply);
    return CLI_EXIT_OK;
}
