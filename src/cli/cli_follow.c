#include "cli/cli_follow.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_commands.h"
#include "cli/cli_format.h"
#include "cli/cli_live.h"
#include "cli/cli_sse.h"
#include "cli/cli_stream.h"
#include "common/json_util.h"
#include "common/util.h"

/* Lines of a failed task's error that the summary shows. */
#define SUMMARY_ERROR_LINES 20

/* Set by the SIGINT handler. The stream and the backoff sleep poll it. */
static volatile sig_atomic_t interrupted;

struct follow {
    struct cli_client *client;
    long long task_id;
    struct cli_live *live;
    struct cli_sse_parser *parser;
    json_t *task; /* the newest task object seen */
    int ended;    /* task is in a terminal state */
};

static void on_sigint(int signo)
{
    interrupted = 1;
}

static int is_terminal_status(const char *status)
{
    return status && (strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0 ||
                      strcmp(status, "canceled") == 0);
}

/* Takes ownership of task and shows it. */
static void accept_task(struct follow *f, json_t *task)
{
    json_decref(f->task);
    f->task = task;
    cli_live_show_task(f->live, task);
    f->ended = is_terminal_status(json_string_value(json_object_get(task, "status")));
}

static int fetch_task(struct follow *f, struct cli_error *err)
{
    char path[64];
    long http_status;
    json_t *task;

    snprintf(path, sizeof(path), "/api/v1/tasks/%lld", f->task_id);
    if (cli_client_call(f->client, "GET", path, NULL, &http_status, &task, err) < 0)
        return -1;
    accept_task(f, task);
    return 0;
}

/* Reads the task's events and makes the newest one the stream's starting
 * point, showing its state, so a change after the first read of the task
 * is neither missed nor waited for. Returns 1 when that event ended the
 * task. When the events cannot be read, the stream starts at the live
 * events and 0 is returned. */
static int seed_event_id(struct follow *f)
{
    char path[64];
    char id_text[32];
    long http_status;
    json_t *reply;
    struct cli_error err;
    json_t *events;
    json_t *last;
    json_t *status;
    int ended = 0;

    snprintf(path, sizeof(path), "/api/v1/tasks/%lld/events", f->task_id);
    if (cli_client_call(f->client, "GET", path, NULL, &http_status, &reply, &err) < 0)
        return 0;
    events = json_object_get(reply, "events");
    last = json_array_get(events, json_array_size(events) - 1);
    status = json_object_get(last, "status");
    if (json_is_integer(json_object_get(last, "seq"))) {
        snprintf(id_text, sizeof(id_text), "%lld",
                 (long long)json_integer_value(json_object_get(last, "seq")));
        cli_sse_parser_set_last_event_id(f->parser, id_text);
        if (json_is_string(status) && is_terminal_status(json_string_value(status)))
            ended = 1;
        else if (json_is_string(status))
            cli_live_show(f->live, json_string_value(status),
                          json_integer_value(json_object_get(last, "attempt")),
                          json_integer_value(json_object_get(last, "progress")),
                          json_string_value(json_object_get(last, "message")));
    }
    json_decref(reply);
    return ended;
}

static int on_task_event(struct follow *f, const struct cli_sse_event *event)
{
    char err[256];
    json_t *task = json_parse_strict(event->data, event->data_len, err, sizeof(err));

    if (!json_is_object(task) ||
        json_integer_value(json_object_get(task, "id")) != (json_int_t)f->task_id) {
        json_decref(task);
        return 0;
    }
    accept_task(f, task);
    return f->ended ? 1 : 0;
}

static void on_log_event(struct follow *f, const struct cli_sse_event *event)
{
    char err[256];
    json_t *chunk = json_parse_strict(event->data, event->data_len, err, sizeof(err));
    json_t *text = json_object_get(chunk, "text");

    if (json_is_string(text) && json_is_integer(json_object_get(chunk, "offset")))
        cli_live_log(f->live, json_integer_value(json_object_get(chunk, "attempt")),
                     json_integer_value(json_object_get(chunk, "offset")),
                     json_string_value(text), json_string_length(text));
    json_decref(chunk);
}

static int on_event(const struct cli_sse_event *event, void *ctx)
{
    struct follow *f = ctx;

    if (strcmp(event->type, "task") == 0)
        return on_task_event(f, event);
    if (strcmp(event->type, "log") == 0)
        on_log_event(f, event);
    return 0;
}

/* Sleeps delay_ms in short steps. Returns -1 early after SIGINT. */
static int backoff_sleep(int64_t delay_ms)
{
    int64_t end_ms = mono_ms() + delay_ms;

    while (!interrupted && mono_ms() < end_ms)
        sleep_ms(end_ms - mono_ms() < 100 ? end_ms - mono_ms() : 100);
    return interrupted ? -1 : 0;
}

static int64_t backoff_delay_ms(int failures, int64_t server_retry_ms)
{
    int64_t delay_ms = CLI_FOLLOW_BACKOFF_MIN_MS;

    for (int i = 1; i < failures && delay_ms < CLI_FOLLOW_BACKOFF_MAX_MS; i++)
        delay_ms *= 2;
    if (server_retry_ms > delay_ms)
        delay_ms = server_retry_ms;
    return delay_ms < CLI_FOLLOW_BACKOFF_MAX_MS ? delay_ms : CLI_FOLLOW_BACKOFF_MAX_MS;
}

/* Reads the task stream until the task ends, reconnecting after drops. */
static int stream_until_end(struct follow *f)
{
    char path[64];
    char note[1400];
    struct cli_stream_outcome outcome;
    int failures = 0;

    snprintf(path, sizeof(path), "/api/v1/tasks/%lld/stream", f->task_id);
    for (;;) {
        cli_sse_parser_reset_stream(f->parser);
        cli_stream_run(f->client, path, cli_sse_parser_last_event_id(f->parser), f->parser,
                       &interrupted, &outcome);
        if (outcome.end == CLI_STREAM_STOPPED)
            return CLI_EXIT_OK;
        if (outcome.end == CLI_STREAM_INTERRUPTED)
            return CLI_EXIT_INTERRUPTED;
        if (outcome.end == CLI_STREAM_INVALID ||
            (outcome.end == CLI_STREAM_REJECTED && outcome.err.http_status < 500)) {
            cli_live_end(f->live);
            cli_error_print(&outcome.err);
            return CLI_EXIT_ERROR;
        }

        failures = outcome.received_len > 0 ? 1 : failures + 1;
        if (failures > CLI_FOLLOW_MAX_RECONNECTS) {
            cli_live_end(f->live);
            cli_error_print(&outcome.err);
            fprintf(stderr, "taskrelay: gave up after %d attempts to reconnect; the task goes "
                    "on, run 'taskrelay watch %lld' to follow it again\n",
                    CLI_FOLLOW_MAX_RECONNECTS, f->task_id);
            return CLI_EXIT_ERROR;
        }
        int64_t delay_ms = backoff_delay_ms(failures, cli_sse_parser_retry_ms(f->parser));

        snprintf(note, sizeof(note), "%s; reconnecting in %lld ms", outcome.err.message,
                 (long long)delay_ms);
        cli_live_notice(f->live, note);
        if (backoff_sleep(delay_ms) < 0)
            return CLI_EXIT_INTERRUPTED;

        /* The stream may have ended because the task did. */
        if (fetch_task(f, &outcome.err) == 0 && f->ended)
            return CLI_EXIT_OK;
    }
}

/* Prints the closing lines and returns the exit status for the task. */
static int summarize(struct follow *f)
{
    const char *status = json_string_value(json_object_get(f->task, "status"));
    const char *error = json_string_value(json_object_get(f->task, "error"));
    json_t *result = json_object_get(f->task, "result");
    char text[1024];

    if (!status)
        status = "ended";
    if (strcmp(status, "completed") == 0) {
        fprintf(stderr, "task %lld completed\n", f->task_id);
        if (result && !json_is_null(result)) {
            char *result_text = json_to_text(result);

            cli_text_fit(result_text, 400, text, sizeof(text));
            fprintf(stderr, "result: %s\n", text);
            free(result_text);
        }
        return CLI_EXIT_OK;
    }

    if (!error || !error[0]) {
        fprintf(stderr, "task %lld %s\n", f->task_id, status);
        return CLI_EXIT_TASK_FAILED;
    }
    if (!strchr(error, '\n')) {
        cli_text_fit(error, 900, text, sizeof(text));
        fprintf(stderr, "task %lld %s: %s\n", f->task_id, status, text);
        return CLI_EXIT_TASK_FAILED;
    }

    /* A multi-line error, such as an exit code followed by the program's
     * stderr, keeps its lines. */
    fprintf(stderr, "task %lld %s:\n", f->task_id, status);
    for (int i = 0; *error && i < SUMMARY_ERROR_LINES; i++) {
        size_t len = strcspn(error, "\n");
        char *line = xstrndup(error, len);

        cli_text_fit(line, 900, text, sizeof(text));
        fprintf(stderr, "  %s\n", text);
        free(line);
        error += len + (error[len] == '\n');
    }
    if (*error)
        fprintf(stderr, "  ...; 'taskrelay status %lld --json' shows the whole error\n",
                f->task_id);
    return CLI_EXIT_TASK_FAILED;
}

int cli_follow_task(struct cli_client *client, long long task_id, int show_log,
                    json_t **final_task)
{
    struct follow f = {.client = client, .task_id = task_id};
    struct sigaction action = {.sa_handler = on_sigint, .sa_flags = SA_RESETHAND};
    struct sigaction old_action;
    struct cli_error err;
    int rc;

    *final_task = NULL;
    f.live = cli_live_new(show_log);
    f.parser = cli_sse_parser_new(CLI_STREAM_MAX_EVENT_LEN, on_event, &f);
    interrupted = 0;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &old_action);

    rc = fetch_task(&f, &err);
    if (rc == 0 && !f.ended && seed_event_id(&f))
        rc = fetch_task(&f, &err);
    if (rc < 0) {
        cli_live_end(f.live);
        cli_error_print(&err);
        rc = CLI_EXIT_ERROR;
        goto out;
    }
    rc = f.ended ? CLI_EXIT_OK : stream_until_end(&f);

    cli_live_end(f.live);
    if (rc == CLI_EXIT_INTERRUPTED)
        fprintf(stderr, "taskrelay: stopped following task %lld, which keeps running on the "
                "server; 'taskrelay cancel %lld' stops it\n",
                task_id, task_id);
    if (rc == CLI_EXIT_OK) {
        rc = summarize(&f);
        *final_task = json_incref(f.task);
    }

out:
    sigaction(SIGINT, &old_action, NULL);
    cli_sse_parser_free(f.parser);
    cli_live_free(f.live);
    json_decref(f.task);
    return rc;
}
