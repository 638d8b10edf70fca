/* Entry points of the client commands and of "taskrelay progress". */
#ifndef TASKRELAY_CLI_H
#define TASKRELAY_CLI_H

/* Returns 1 when name is a client command (submit, status, watch, cancel,
 * retry, tasks, workers). */
int cli_is_command(const char *name);

/* argv[0] is the command name. Returns the process exit status. */
int cli_main(int argc, char **argv);

/* Runs "taskrelay progress PERCENT [MESSAGE]" inside a task program: writes
 * one line to the descriptor named by TASKRELAY_PROGRESS_FD. */
int cli_progress_main(int argc, char **argv);

#endif
