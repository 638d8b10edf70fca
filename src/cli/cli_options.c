#include "cli/cli_options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "common/util.h"

#define ALL_COMMANDS ((1u << CLI_CMD_COUNT) - 1)
#define BIT(command) (1u << (command))
#define FOLLOWING_COMMANDS (BIT(CLI_CMD_SUBMIT) | BIT(CLI_CMD_WATCH))

static const char *const command_names[CLI_CMD_COUNT] = {
    [CLI_CMD_SUBMIT] = "submit", [CLI_CMD_STATUS] = "status", [CLI_CMD_WATCH] = "watch",
    [CLI_CMD_CANCEL] = "cancel", [CLI_CMD_RETRY] = "retry",   [CLI_CMD_TASKS] = "tasks",
    [CLI_CMD_WORKERS] = "workers",
};

enum option_id {
    OPT_SERVER,
    OPT_TOKEN,
    OPT_JSON,
    OPT_PAYLOAD,
    OPT_IDEMPOTENCY_KEY,
    OPT_MAX_ATTEMPTS,
    OPT_RETRY_ON_FAILURE,
    OPT_RETRY_ON_LOSS,
    OPT_BACKOFF_MS,
    OPT_TIMEOUT,
    OPT_WAIT,
    OPT_LOG,
    OPT_STATUS,
    OPT_KIND,
    OPT_LIMIT,
    OPT_CURSOR,
};

struct option_spec {
    const char *name; /* without the leading "--" */
    int takes_value;
    unsigned commands; /* bit set of enum cli_command */
    enum option_id id;
};

static const struct option_spec option_specs[] = {
    {"server", 1, ALL_COMMANDS, OPT_SERVER},
    {"token", 1, ALL_COMMANDS, OPT_TOKEN},
    {"json", 0, ALL_COMMANDS, OPT_JSON},
    {"payload", 1, BIT(CLI_CMD_SUBMIT), OPT_PAYLOAD},
    {"idempotency-key", 1, BIT(CLI_CMD_SUBMIT), OPT_IDEMPOTENCY_KEY},
    {"max-attempts", 1, BIT(CLI_CMD_SUBMIT), OPT_MAX_ATTEMPTS},
    {"retry-on-failure", 0, BIT(CLI_CMD_SUBMIT), OPT_RETRY_ON_FAILURE},
    {"retry-on-loss", 0, BIT(CLI_CMD_SUBMIT), OPT_RETRY_ON_LOSS},
    {"backoff-ms", 1, BIT(CLI_CMD_SUBMIT), OPT_BACKOFF_MS},
    {"timeout", 1, BIT(CLI_CMD_SUBMIT), OPT_TIMEOUT},
    {"wait", 0, BIT(CLI_CMD_SUBMIT), OPT_WAIT},
    {"log", 0, FOLLOWING_COMMANDS, OPT_LOG},
    {"status", 1, BIT(CLI_CMD_TASKS), OPT_STATUS},
    {"kind", 1, BIT(CLI_CMD_TASKS), OPT_KIND},
    {"limit", 1, BIT(CLI_CMD_TASKS), OPT_LIMIT},
    {"cursor", 1, BIT(CLI_CMD_TASKS), OPT_CURSOR},
};

static const char *const task_statuses[] = {"pending",   "dispatched", "running",
                                            "completed", "failed",     "canceled"};

int cli_command_lookup(const char *name, enum cli_command *out)
{
    for (int i = 0; i < CLI_CMD_COUNT; i++) {
        if (strcmp(name, command_names[i]) == 0) {
            *out = (enum cli_command)i;
            return 0;
        }
    }
    return -1;
}

const char *cli_command_name(enum cli_command command)
{
    return command_names[command];
}

static const char *env_value(const char *name)
{
    const char *value = getenv(name);

    return value && value[0] ? value : NULL;
}

void cli_env_from_process(struct cli_env *env)
{
    env->server = env_value("TASKRELAY_SERVER");
    env->token = env_value("TASKRELAY_TOKEN");
    env->api_token = env_value("TASKRELAY_API_TOKEN");
}

static const struct option_spec *find_option(const char *name, size_t name_len)
{
    for (size_t i = 0; i < sizeof(option_specs) / sizeof(option_specs[0]); i++) {
        if (strlen(option_specs[i].name) == name_len &&
            strncmp(option_specs[i].name, name, name_len) == 0)
            return &option_specs[i];
    }
    return NULL;
}

static int parse_number(const char *option, const char *value, int64_t min, int64_t max,
                        const char *unit, int64_t *out, char *err, size_t err_len)
{
    if (parse_int64(value, min, max, out) == 0)
        return 0;
    snprintf(err, err_len, "invalid value '%s' for --%s: expected a whole number of %s from %lld to %lld",
             value, option, unit, (long long)min, (long long)max);
    return -1;
}

static int check_status_filter(const char *value, char *err, size_t err_len)
{
    for (size_t i = 0; i < sizeof(task_statuses) / sizeof(task_statuses[0]); i++) {
        if (strcmp(value, task_statuses[i]) == 0)
            return 0;
    }
    snprintf(err, err_len,
             "invalid value '%s' for --status: expected pending, dispatched, running, "
             "completed, failed or canceled",
             value);
    return -1;
}

/* Stores one option's value in args. value is NULL for a flag. */
static int apply_option(const struct option_spec *spec, const char *value, struct cli_args *args,
                        char *err, size_t err_len)
{
    switch (spec->id) {
    case OPT_SERVER:
        args->server_source = "--server";
        if (strlen(value) < sizeof(args->server_url)) {
            snprintf(args->server_url, sizeof(args->server_url), "%s", value);
            return 0;
        }
        snprintf(err, err_len, "the --server URL is longer than %d bytes", CLI_SERVER_URL_LEN - 1);
        return -1;
    case OPT_TOKEN:
        args->token = value;
        return 0;
    case OPT_JSON:
        args->json = 1;
        return 0;
    case OPT_PAYLOAD:
        args->payload = value;
        return 0;
    case OPT_IDEMPOTENCY_KEY:
        args->idempotency_key = value;
        if (value[0] && strlen(value) <= LIMIT_IDEMPOTENCY_KEY_LEN)
            return 0;
        snprintf(err, err_len, "invalid --idempotency-key: it must be 1 to %d bytes long",
                 LIMIT_IDEMPOTENCY_KEY_LEN);
        return -1;
    case OPT_MAX_ATTEMPTS:
        return parse_number(spec->name, value, 1, LIMIT_MAX_ATTEMPTS, "attempts",
                            &args->max_attempts, err, err_len);
    case OPT_RETRY_ON_FAILURE:
        args->retry_on_failure = 1;
        return 0;
    case OPT_RETRY_ON_LOSS:
        args->retry_on_loss = 1;
        return 0;
    case OPT_BACKOFF_MS:
        return parse_number(spec->name, value, 0, LIMIT_BACKOFF_MS, "milliseconds",
                            &args->backoff_ms, err, err_len);
    case OPT_TIMEOUT:
        return parse_number(spec->name, value, 0, LIMIT_TIMEOUT_S, "seconds", &args->timeout_s,
                            err, err_len);
    case OPT_WAIT:
        args->wait = 1;
        return 0;
    case OPT_LOG:
        args->show_log = 1;
        return 0;
    case OPT_STATUS:
        args->status_filter = value;
        return check_status_filter(value, err, err_len);
    case OPT_KIND:
        args->kind_filter = value;
        return 0;
    case OPT_LIMIT:
        return parse_number(spec->name, value, 1, 500, "tasks", &args->limit, err, err_len);
    case OPT_CURSOR:
        args->cursor = value;
        return 0;
    }
    return 0;
}

/* Handles argv[*index], an argument starting with "--", and advances
 * *index past a separate value. */
static int parse_option(int argc, char **argv, int *index, struct cli_args *args, char *err,
                        size_t err_len)
{
    const char *text = argv[*index] + 2;
    const char *equals = strchr(text, '=');
    size_t name_len = equals ? (size_t)(equals - text) : strlen(text);
    const struct option_spec *spec = find_option(text, name_len);
    const char *command = command_names[args->command];
    const char *value = NULL;

    if (!spec || !(spec->commands & BIT(args->command))) {
        snprintf(err, err_len, "unknown option '--%.*s' for '%s'; run 'taskrelay %s --help' for the options",
                 (int)name_len, text, command, command);
        return -1;
    }

    if (spec->takes_value) {
        if (equals) {
            value = equals + 1;
        } else if (*index + 1 < argc) {
            value = argv[++*index];
        } else {
            snprintf(err, err_len, "option '--%s' needs a value; run 'taskrelay %s --help'",
                     spec->name, command);
            return -1;
        }
    } else if (equals) {
        snprintf(err, err_len, "option '--%s' takes no value, but got '%s'", spec->name,
                 equals + 1);
        return -1;
    }
    return apply_option(spec, value, args, err, err_len);
}

static int check_kind(const char *kind, char *err, size_t err_len)
{
    if (name_chars_valid(kind, LIMIT_KIND_LEN))
        return 0;
    snprintf(err, err_len,
             "invalid task kind '%s': use 1 to %d characters of letters, digits, '.', '_' and '-'",
             kind, LIMIT_KIND_LEN);
    return -1;
}

/* Checks the number of positional arguments and stores them. */
static int apply_positionals(char **positionals, int count, struct cli_args *args, char *err,
                             size_t err_len)
{
    const char *command = command_names[args->command];
    int64_t id;

    switch (args->command) {
    case CLI_CMD_SUBMIT:
        if (count != 1) {
            snprintf(err, err_len, "'taskrelay submit' takes one task kind, got %d arguments; "
                     "example: taskrelay submit file-report --payload '{\"dir\": \"/tmp\"}'",
                     count);
            return -1;
        }
        args->kind = positionals[0];
        return check_kind(args->kind, err, err_len);
    case CLI_CMD_STATUS:
    case CLI_CMD_WATCH:
    case CLI_CMD_CANCEL:
    case CLI_CMD_RETRY:
        if (count != 1) {
            snprintf(err, err_len, "'taskrelay %s' takes one task id, got %d arguments; example: taskrelay %s 42",
                     command, count, command);
            return -1;
        }
        if (parse_int64(positionals[0], 1, INT64_MAX, &id) < 0) {
            snprintf(err, err_len, "invalid task id '%s': expected a positive whole number such as 42",
                     positionals[0]);
            return -1;
        }
        args->task_id = (long long)id;
        return 0;
    default:
        if (count != 0) {
            snprintf(err, err_len, "'taskrelay %s' takes no arguments, but got '%s'", command,
                     positionals[0]);
            return -1;
        }
        return 0;
    }
}

/* Fills in the server URL and token from the environment where no option
 * gave them, and checks the URL's form. */
static int apply_environment(const struct cli_env *env, struct cli_args *args, char *err,
                             size_t err_len)
{
    size_t len;

    if (!args->server_source) {
        if (env->server && strlen(env->server) >= sizeof(args->server_url)) {
            snprintf(err, err_len, "TASKRELAY_SERVER is longer than %d bytes",
                     CLI_SERVER_URL_LEN - 1);
            return -1;
        }
        args->server_source = env->server ? "TASKRELAY_SERVER" : "default";
        snprintf(args->server_url, sizeof(args->server_url), "%s",
                 env->server ? env->server : CLI_DEFAULT_SERVER);
    }
    if (!args->token)
        args->token = env->token ? env->token : env->api_token;
    if (args->token && !args->token[0])
        args->token = NULL;

    len = strlen(args->server_url);
    while (len > 0 && args->server_url[len - 1] == '/')
        args->server_url[--len] = '\0';
    if ((strncmp(args->server_url, "http://", 7) == 0 && len > 7) ||
        (strncmp(args->server_url, "https://", 8) == 0 && len > 8))
        return 0;
    snprintf(err, err_len, "invalid server URL '%s' from %s: expected http://HOST:PORT, such as %s",
             args->server_url, args->server_source, CLI_DEFAULT_SERVER);
    return -1;
}

static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    return 0;
}

int cli_args_parse(int argc, char **argv, const struct cli_env *env, struct cli_args *args,
                   char *err, size_t err_len)
{
    char **positionals = NULL;
    int positional_count = 0;
    int options_ended = 0;
    int rc = -1;

    memset(args, 0, sizeof(*args));
    args->backoff_ms = -1;
    args->timeout_s = -1;
    if (argc < 1 || cli_command_lookup(argv[0], &args->command) < 0) {
        snprintf(err, err_len, "unknown command '%s'; run 'taskrelay --help' for the list",
                 argc < 1 ? "" : argv[0]);
        return -1;
    }
    if (wants_help(argc, argv)) {
        args->help = 1;
        return 0;
    }

    positionals = xcalloc((size_t)argc, sizeof(*positionals));
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];

        if (!options_ended && strcmp(arg, "--") == 0) {
            options_ended = 1;
        } else if (!options_ended && strncmp(arg, "--", 2) == 0) {
            if (parse_option(argc, argv, &i, args, err, err_len) < 0)
                goto out;
        } else if (!options_ended && arg[0] == '-' && arg[1] != '\0') {
            snprintf(err, err_len, "unknown option '%s'; options are spelled with two dashes, "
                     "run 'taskrelay %s --help'",
                     arg, command_names[args->command]);
            goto out;
        } else {
            positionals[positional_count++] = argv[i];
        }
    }

    if (apply_positionals(positionals, positional_count, args, err, err_len) < 0)
        goto out;
    if (apply_environment(env, args, err, err_len) < 0)
        goto out;
    rc = 0;

out:
    free(positionals);
    return rc;
}
