/* The --help text of each client command. */
#include <stdio.h>

#include "cli/cli_commands.h"

static const char common_options[] =
    "\n"
    "Common options:\n"
    "  --server URL     the taskrelay server's base URL; default: $TASKRELAY_SERVER,\n"
    "                   else " CLI_DEFAULT_SERVER "\n"
    "  --token TOKEN    the API token; default: $TASKRELAY_TOKEN, else\n"
    "                   $TASKRELAY_API_TOKEN. Prefer the variable: other users can\n"
    "                   read command lines with ps.\n"
    "  --json           print the server's JSON reply instead of text\n"
    "  -h, --help       print this help\n";

static const char exit_statuses[] =
    "\n"
    "Exit status: 0 on success, 2 for an invalid command line, 3 when the server\n"
    "could not be reached or rejected the request.\n";

static const char follow_exit_statuses[] =
    "\n"
    "Exit status: 0 when the task completed, 1 when it failed or was canceled,\n"
    "2 for an invalid command line, 3 when the server could not be reached or\n"
    "rejected a request, 130 when interrupted with Ctrl-C (the task goes on).\n";

static const char follow_text[] =
    "The progress line goes to stderr: redrawn in place on a terminal, one line per\n"
    "change otherwise. The CLI reads the task, then its event stream\n"
    "(GET /api/v1/tasks/ID/stream), and reconnects with Last-Event-ID after a drop,\n"
    "waiting 0.25 s doubling to 5 s between tries and giving up after 10 failed\n"
    "tries in a row.\n";

static void print_submit_help(FILE *out)
{
    fprintf(out,
            "usage: taskrelay submit KIND [OPTIONS]\n"
            "\n"
            "Submits a task of kind KIND (1-64 characters of letters, digits, '.', '_',\n"
            "'-') and prints its id on stdout, or with --json the task as JSON.\n"
            "\n"
            "Options:\n"
            "  --payload JSON|@FILE   the task's payload: JSON text, @FILE to read it from\n"
            "                         a file, @- for stdin; default: {}\n"
            "  --idempotency-key KEY  1-200 bytes; a second submit with the same key\n"
            "                         returns the existing task instead of a new one\n"
            "  --max-attempts N       attempts in all, 1-100; default: 1 (no retry)\n"
            "  --retry-on-failure     start a new attempt when the program fails\n"
            "  --retry-on-loss        start a new attempt when the worker is lost\n"
            "  --backoff-ms MS        wait before attempt n is MS * 2^(n-2)\n"
            "                         milliseconds, 0-3600000; default: 1000\n"
            "  --timeout SECONDS      kill the program after this many seconds,\n"
            "                         1-604800; default or 0: the worker's setting\n"
            "  --wait                 follow the task until it ends, drawing its progress\n"
            "  --log                  with --wait: print the task's output on stdout\n"
            "\n");
    fputs(follow_text, out);
    fputs(common_options, out);
    fputs(follow_exit_statuses, out);
    fputs("Without --wait the exit status is 0 once the server stored the task.\n", out);
}

static void print_task_id_help(FILE *out, enum cli_command command)
{
    switch (command) {
    case CLI_CMD_STATUS:
        fprintf(out, "usage: taskrelay status ID [OPTIONS]\n\n"
                     "Prints the fields of task ID: status, progress, worker, error, result,\n"
                     "payload, retry settings, times and the last lines of its output.\n");
        break;
    case CLI_CMD_WATCH:
        fprintf(out, "usage: taskrelay watch ID [OPTIONS]\n\n"
                     "Follows task ID until it ends, drawing its progress. A task that already\n"
                     "ended is printed at once. With --json the ended task is printed as JSON.\n\n");
        fputs(follow_text, out);
        fprintf(out, "\nOptions:\n"
                     "  --log            print the task's output on stdout as it arrives\n");
        break;
    case CLI_CMD_CANCEL:
        fprintf(out, "usage: taskrelay cancel ID [OPTIONS]\n\n"
                     "Cancels task ID. A pending task ends at once; a running one ends\n"
                     "canceled and its worker kills the program. A task that already ended\n"
                     "cannot be canceled (the server replies 409).\n");
        break;
    default:
        fprintf(out, "usage: taskrelay retry ID [OPTIONS]\n\n"
                     "Starts a new attempt of task ID, which must have failed or been\n"
                     "canceled. Follow it with 'taskrelay watch ID'.\n");
        break;
    }
    fputs(common_options, out);
    fputs(command == CLI_CMD_WATCH ? follow_exit_statuses : exit_statuses, out);
}

static void print_tasks_help(FILE *out)
{
    fprintf(out,
            "usage: taskrelay tasks [OPTIONS]\n"
            "\n"
            "Lists tasks, newest first, as a table: id, status, kind, worker, progress,\n"
            "age (since the task was created) and message. On a terminal the message is\n"
            "cut to fit. The counts per status and the cursor of the next page go to\n"
            "stderr.\n"
            "\n"
            "Options:\n"
            "  --status STATUS  only tasks in STATUS: pending, dispatched, running,\n"
            "                   completed, failed or canceled\n"
            "  --kind KIND      only tasks of kind KIND\n"
            "  --limit N        tasks per page, 1-500; default: 50\n"
            "  --cursor C       the page after the one that printed 'more tasks: --cursor C'\n");
    fputs(common_options, out);
    fputs(exit_statuses, out);
}

static void print_workers_help(FILE *out)
{
    fprintf(out,
            "usage: taskrelay workers [OPTIONS]\n"
            "\n"
            "Lists the workers the server knows, as a table: id, status (online, busy,\n"
            "offline), running/slots, completed and failed task counts, time since the\n"
            "last heartbeat, version, URL and kinds.\n");
    fputs(common_options, out);
    fputs(exit_statuses, out);
}

void cli_help_print(enum cli_command command, FILE *out)
{
    switch (command) {
    case CLI_CMD_SUBMIT:
        print_submit_help(out);
        break;
    case CLI_CMD_TASKS:
        print_tasks_help(out);
        break;
    case CLI_CMD_WORKERS:
        print_workers_help(out);
        break;
    default:
        print_task_id_help(out, command);
        break;
    }
}
