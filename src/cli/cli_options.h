/* Command-line parsing of the client commands: the command, its positional
 * arguments and options, and the server URL and token taken from the
 * options or the environment. Parsing does no I/O, so tests can drive it. */
#ifndef TASKRELAY_CLI_OPTIONS_H
#define TASKRELAY_CLI_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#define CLI_DEFAULT_SERVER "http://127.0.0.1:8080"
#define CLI_SERVER_URL_LEN 1024

enum cli_command {
    CLI_CMD_SUBMIT,
    CLI_CMD_STATUS,
    CLI_CMD_WATCH,
    CLI_CMD_CANCEL,
    CLI_CMD_RETRY,
    CLI_CMD_TASKS,
    CLI_CMD_WORKERS,
    CLI_CMD_COUNT
};

/* Environment values the parser falls back on, each NULL when unset. */
struct cli_env {
    const char *server;    /* TASKRELAY_SERVER */
    const char *token;     /* TASKRELAY_TOKEN */
    const char *api_token; /* TASKRELAY_API_TOKEN, used when TASKRELAY_TOKEN is unset */
};

/* The parsed command line. Strings are borrowed from argv or the
 * environment, except server_url, which is a normalised copy. Numeric
 * options that were not given keep the value noted beside them, so the
 * server applies its own default. */
struct cli_args {
    enum cli_command command;
    int help;
    int json;
    char server_url[CLI_SERVER_URL_LEN]; /* without a trailing '/' */
    const char *server_source;           /* "--server", "TASKRELAY_SERVER" or "default" */
    const char *token;                   /* NULL when none was given */

    long long task_id; /* status, watch, cancel, retry */

    const char *kind;    /* submit */
    const char *payload; /* submit: JSON text or @FILE; NULL sends {} */
    const char *idempotency_key;
    int64_t max_attempts; /* 0: not given */
    int retry_on_failure;
    int retry_on_loss;
    int64_t backoff_ms; /* -1: not given */
    int64_t timeout_s;  /* -1: not given */
    int wait;

    int show_log; /* watch and submit --wait: print the task's output */

    const char *status_filter; /* tasks */
    const char *kind_filter;
    const char *cursor;
    int64_t limit; /* 0: not given */
};

/* Looks up a command by name. Returns -1 when name is not a client command. */
int cli_command_lookup(const char *name, enum cli_command *out);
const char *cli_command_name(enum cli_command command);

/* Fills env from the process environment. Empty variables count as unset. */
void cli_env_from_process(struct cli_env *env);

/* Parses argv, where argv[0] is the command name. Options may come before,
 * between or after the positional arguments, as "--name VALUE" or
 * "--name=VALUE", and "--" ends them. With --help or -h anywhere before
 * "--", only args->command and args->help are set and the rest is not
 * checked. Returns 0, or -1 with a message naming the argument and the fix. */
int cli_args_parse(int argc, char **argv, const struct cli_env *env, struct cli_args *args,
                   char *err, size_t err_len);

#endif
