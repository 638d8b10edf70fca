/* taskrelay: one program with subcommands for the server, the worker agent
 * and the command-line client. main only picks the subcommand. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/httpc.h"
#include "server/server.h"
#include "worker/worker.h"

static void print_usage(FILE *out)
{
    fprintf(out,
            "usage: taskrelay COMMAND [OPTIONS]\n"
            "\n"
            "Services:\n"
            "  server     run the control-plane server (HTTP API, dashboard, store)\n"
            "  worker     run a worker agent that executes tasks\n"
            "\n"
            "Client commands (server from TASKRELAY_SERVER, token from TASKRELAY_TOKEN):\n"
            "  submit KIND [--payload JSON|@FILE] [--wait]\n"
            "  status ID    print one task\n"
            "  watch ID     follow a task's progress until it ends\n"
            "  cancel ID    cancel a task\n"
            "  retry ID     start a new attempt of a failed or canceled task\n"
            "  tasks        list tasks\n"
            "  workers      list workers\n"
            "\n"
            "Inside a task program:\n"
            "  progress PERCENT [MESSAGE]   report progress to the worker\n"
            "\n"
            "Run 'taskrelay COMMAND --help' for the options of a command.\n");
}

int main(int argc, char **argv)
{
    const char *command;

    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    command = argv[1];
    if (strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0 ||
        strcmp(command, "help") == 0) {
        print_usage(stdout);
        return 0;
    }
    if (strcmp(command, "--version") == 0) {
        printf("taskrelay %s\n", TASKRELAY_VERSION);
        return 0;
    }

    /* A peer that closes a socket must not kill the process. */
    signal(SIGPIPE, SIG_IGN);

    if (strcmp(command, "progress") == 0)
        return cli_progress_main(argc - 1, argv + 1);

    httpc_global_init();
    if (strcmp(command, "server") == 0)
        return server_main(argc - 1, argv + 1);
    if (strcmp(command, "worker") == 0)
        return worker_main(argc - 1, argv + 1);
    if (cli_is_command(command))
        return cli_main(argc - 1, argv + 1);

    fprintf(stderr, "taskrelay: unknown command '%s'; run 'taskrelay --help' for the list\n",
            command);
    return 2;
}
