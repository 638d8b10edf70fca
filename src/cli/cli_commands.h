/* The client commands, one function each, and their exit statuses. */
#ifndef TASKRELAY_CLI_COMMANDS_H
#define TASKRELAY_CLI_COMMANDS_H

#include <stdio.h>

#include "cli/cli_client.h"
#include "cli/cli_options.h"

enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_TASK_FAILED = 1, /* the followed task failed or was canceled */
    CLI_EXIT_USAGE = 2,       /* invalid command line or --payload */
    CLI_EXIT_ERROR = 3,       /* the server could not be reached or rejected a request */
    CLI_EXIT_INTERRUPTED = 130,
};

/* Each runs one parsed command against client and returns the exit status. */
int cli_submit_run(const struct cli_args *args, struct cli_client *client);
int cli_status_run(const struct cli_args *args, struct cli_client *client);
int cli_watch_run(const struct cli_args *args, struct cli_client *client);
int cli_cancel_run(const struct cli_args *args, struct cli_client *client);
int cli_retry_run(const struct cli_args *args, struct cli_client *client);
int cli_tasks_run(const struct cli_args *args, struct cli_client *client);
int cli_workers_run(const struct cli_args *args, struct cli_client *client);

/* Prints the --help text of command. */
void cli_help_print(enum cli_command command, FILE *out);

/* Prints value to stdout as indented JSON and a newline. */
void cli_print_json(json_t *value);

#endif
