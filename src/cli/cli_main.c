#include <stdio.h>

#include "cli/cli.h"
#include "cli/cli_client.h"
#include "cli/cli_commands.h"
#include "cli/cli_options.h"

typedef int (*command_fn)(const struct cli_args *args, struct cli_client *client);

static const command_fn command_functions[CLI_CMD_COUNT] = {
    [CLI_CMD_SUBMIT] = cli_submit_run, [CLI_CMD_STATUS] = cli_status_run,
    [CLI_CMD_WATCH] = cli_watch_run,   [CLI_CMD_CANCEL] = cli_cancel_run,
    [CLI_CMD_RETRY] = cli_retry_run,   [CLI_CMD_TASKS] = cli_tasks_run,
    [CLI_CMD_WORKERS] = cli_workers_run,
};

int cli_is_command(const char *name)
{
    enum cli_command command;

    return cli_command_lookup(name, &command) == 0;
}

int cli_main(int argc, char **argv)
{
    struct cli_env env;
    struct cli_args args;
    struct cli_client *client;
    char err[1024];
    int rc;

    cli_env_from_process(&env);
    if (cli_args_parse(argc, argv, &env, &args, err, sizeof(err)) < 0) {
        fprintf(stderr, "taskrelay: %s\n", err);
        return CLI_EXIT_USAGE;
    }
    if (args.help) {
        cli_help_print(args.command, stdout);
        return CLI_EXIT_OK;
    }

    client = cli_client_new(args.server_url, args.server_source, args.token);
    rc = command_functions[args.command](&args, client);
    cli_client_free(client);
    return rc;
}
