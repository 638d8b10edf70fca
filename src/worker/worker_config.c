#include "worker/worker_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/json_util.h"
#include "common/log.h"
#include "common/util.h"

#define CONFIG_FILE_MAX_LEN (1024 * 1024)

void worker_config_init(struct worker_config *config)
{
    memset(config, 0, sizeof(*config));
    config->listen = xstrdup(WORKER_DEFAULT_LISTEN);
    config->slots = WORKER_DEFAULT_SLOTS;
    config->heartbeat_ms = WORKER_DEFAULT_HEARTBEAT_MS;
    config->kill_grace_ms = WORKER_DEFAULT_KILL_GRACE_MS;
    config->max_body = LIMIT_EXECUTE_BODY_DEFAULT;
    config->shutdown_grace_s = WORKER_DEFAULT_SHUTDOWN_GRACE_S;
    config->log_level = xstrdup("info");
}

static void replace_string(char **field, const char *value)
{
    free(*field);
    *field = value ? xstrdup(value) : NULL;
}

int worker_name_valid(const char *name)
{
    return name_chars_valid(name, LIMIT_KIND_LEN);
}

static void free_kind_args(struct worker_kind *kind)
{
    for (int i = 0; i < kind->args_count; i++)
        free(kind->args[i]);
    free(kind->args);
    kind->args = NULL;
    kind->args_count = 0;
}

/* Returns the kind named name, adding an empty one with the default
 * timeout when it is new; NULL when the table is full. */
static struct worker_kind *get_or_add_kind(struct worker_config *config, const char *name)
{
    struct worker_kind *kind;

    for (int i = 0; i < config->kind_count; i++) {
        if (strcmp(config->kinds[i].name, name) == 0)
            return &config->kinds[i];
    }
    if (config->kind_count == WORKER_MAX_KINDS)
        return NULL;
    kind = &config->kinds[config->kind_count++];
    memset(kind, 0, sizeof(*kind));
    snprintf(kind->name, sizeof(kind->name), "%s", name);
    kind->timeout_s = WORKER_DEFAULT_TIMEOUT_S;
    return kind;
}

const struct worker_kind *worker_config_find_kind(const struct worker_config *config,
                                                  const char *name)
{
    for (int i = 0; i < config->kind_count; i++) {
        if (strcmp(config->kinds[i].name, name) == 0)
            return &config->kinds[i];
    }
    return NULL;
}

int worker_config_add_kind_spec(struct worker_config *config, const char *spec, char *err,
                                size_t err_len)
{
    const char *eq = strchr(spec, '=');
    char name[LIMIT_KIND_LEN + 2];
    struct worker_kind *kind;
    size_t name_len;

    if (!eq) {
        snprintf(err, err_len, "invalid --kind '%s': use NAME=PROGRAM, e.g. shell=/usr/local/bin/job.sh",
                 spec);
        return -1;
    }
    name_len = (size_t)(eq - spec);
    if (name_len == 0 || name_len > LIMIT_KIND_LEN) {
        snprintf(err, err_len, "invalid --kind '%s': the name must be 1-%d characters of [A-Za-z0-9._-]",
                 spec, LIMIT_KIND_LEN);
        return -1;
    }
    memcpy(name, spec, name_len);
    name[name_len] = '\0';
    if (!worker_name_valid(name)) {
        snprintf(err, err_len, "invalid kind name '%s' in --kind: use only A-Z, a-z, 0-9, '.', '_' and '-'",
                 name);
        return -1;
    }
    if (eq[1] == '\0') {
        snprintf(err, err_len, "invalid --kind '%s': the program path after '=' is empty", spec);
        return -1;
    }

    kind = get_or_add_kind(config, name);
    if (!kind) {
        snprintf(err, err_len, "too many kinds: at most %d are allowed", WORKER_MAX_KINDS);
        return -1;
    }
    /* A kind from the command line runs its program with no arguments, also
     * when the config file gave the same kind some; its timeout stays. */
    replace_string(&kind->program, eq + 1);
    free_kind_args(kind);
    return 0;
}

static int file_string(json_t *obj, const char *key, char **field, const char *origin,
                       char *err, size_t err_len)
{
    const char *value;
    char msg[256];
    int rc = json_field_string(obj, key, 0, 4096, &value, msg, sizeof(msg));

    if (rc < 0) {
        snprintf(err, err_len, "%s: %s", origin, msg);
        return -1;
    }
    if (rc == 0)
        replace_string(field, value);
    return 0;
}

static int file_int(json_t *obj, const char *key, int64_t min, int64_t max, int *field,
                    const char *origin, char *err, size_t err_len)
{
    int64_t value;
    char msg[256];
    int rc = json_field_int(obj, key, 0, min, max, &value, msg, sizeof(msg));

    if (rc < 0) {
        snprintf(err, err_len, "%s: %s", origin, msg);
        return -1;
    }
    if (rc == 0)
        *field = (int)value;
    return 0;
}

static int check_known_keys(json_t *obj, const char *const *known, const char *where,
                            const char *origin, char *err, size_t err_len)
{
    const char *key;
    json_t *value;

    json_object_foreach(obj, key, value) {
        int found = 0;

        for (int i = 0; known[i]; i++) {
            if (strcmp(key, known[i]) == 0)
                found = 1;
        }
        if (!found) {
            snprintf(err, err_len, "%s: unknown key '%s' in %s: check the spelling against docs/worker.md",
                     origin, key, where);
            return -1;
        }
    }
    return 0;
}

static int file_kind_args(json_t *entry, struct worker_kind *kind, const char *origin,
                          char *err, size_t err_len)
{
    json_t *args = json_object_get(entry, "args");
    size_t i;
    json_t *arg;

    if (!args || json_is_null(args))
        return 0;
    if (!json_is_array(args) || json_array_size(args) > WORKER_MAX_ARGS) {
        snprintf(err, err_len, "%s: kind '%s': 'args' must be an array of at most %d strings",
                 origin, kind->name, WORKER_MAX_ARGS);
        return -1;
    }
    free_kind_args(kind);
    kind->args = xcalloc(json_array_size(args), sizeof(char *));
    json_array_foreach(args, i, arg) {
        if (!json_is_string(arg) || strlen(json_string_value(arg)) != json_string_length(arg)) {
            snprintf(err, err_len, "%s: kind '%s': args[%zu] must be a string without NUL characters",
                     origin, kind->name, i);
            return -1;
        }
        kind->args[kind->args_count++] = xstrdup(json_string_value(arg));
    }
    return 0;
}

static int file_kind(json_t *entry, size_t index, struct worker_config *config,
                     const char *origin, char *err, size_t err_len)
{
    static const char *const known[] = {"name", "program", "args", "timeout_s", NULL};
    const char *name;
    const char *program;
    char msg[256];
    char where[64];
    struct worker_kind *kind;

    snprintf(where, sizeof(where), "kinds[%zu]", index);
    if (!json_is_object(entry)) {
        snprintf(err, err_len, "%s: %s must be an object with 'name' and 'program'", origin, where);
        return -1;
    }
    if (check_known_keys(entry, known, where, origin, err, err_len) < 0)
        return -1;
    if (json_field_string(entry, "name", 1, LIMIT_KIND_LEN, &name, msg, sizeof(msg)) < 0 ||
        json_field_string(entry, "program", 1, 4096, &program, msg, sizeof(msg)) < 0) {
        snprintf(err, err_len, "%s: %s: %s", origin, where, msg);
        return -1;
    }
    if (!worker_name_valid(name)) {
        snprintf(err, err_len, "%s: %s: invalid kind name '%s': use 1-%d characters of [A-Za-z0-9._-]",
                 origin, where, name, LIMIT_KIND_LEN);
        return -1;
    }
    if (program[0] == '\0') {
        snprintf(err, err_len, "%s: kind '%s': 'program' is empty: give the path of the program", origin,
                 name);
        return -1;
    }

    kind = get_or_add_kind(config, name);
    if (!kind) {
        snprintf(err, err_len, "%s: too many kinds: at most %d are allowed", origin, WORKER_MAX_KINDS);
        return -1;
    }
    replace_string(&kind->program, program);
    if (file_kind_args(entry, kind, origin, err, err_len) < 0)
        return -1;
    return file_int(entry, "timeout_s", 1, LIMIT_TIMEOUT_S, &kind->timeout_s, origin, err,
                    err_len);
}

static int file_kinds(json_t *root, struct worker_config *config, const char *origin,
                      char *err, size_t err_len)
{
    json_t *kinds = json_object_get(root, "kinds");
    size_t i;
    json_t *entry;

    if (!kinds || json_is_null(kinds))
        return 0;
    if (!json_is_array(kinds)) {
        snprintf(err, err_len, "%s: 'kinds' must be an array of {\"name\", \"program\", \"args\", \"timeout_s\"}",
                 origin);
        return -1;
    }
    json_array_foreach(kinds, i, entry) {
        if (file_kind(entry, i, config, origin, err, err_len) < 0)
            return -1;
    }
    return 0;
}

int worker_config_apply_file_text(struct worker_config *config, const char *text,
                                  size_t len, const char *origin, char *err, size_t err_len)
{
    static const char *const known[] = {
        "server", "listen", "id", "slots", "state_dir", "default_kind", "advertise_url",
        "heartbeat_ms", "kill_grace_ms", "max_body", "shutdown_grace_s", "log_level", "kinds", NULL};
    char msg[256];
    json_t *root = json_parse_strict(text, len, msg, sizeof(msg));
    char *id = NULL;
    int rc = -1;

    if (!root) {
        snprintf(err, err_len, "%s: %s", origin, msg);
        goto out;
    }
    if (!json_is_object(root)) {
        snprintf(err, err_len, "%s: the config file must contain one JSON object", origin);
        goto out;
    }
    if (check_known_keys(root, known, "the top level", origin, err, err_len) < 0)
        goto out;

    if (file_string(root, "server", &config->server_url, origin, err, err_len) < 0 ||
        file_string(root, "listen", &config->listen, origin, err, err_len) < 0 ||
        file_string(root, "id", &id, origin, err, err_len) < 0 ||
        file_int(root, "slots", 1, WORKER_MAX_SLOTS, &config->slots, origin, err, err_len) < 0 ||
        file_string(root, "state_dir", &config->state_dir, origin, err, err_len) < 0 ||
        file_string(root, "default_kind", &config->default_kind, origin, err, err_len) < 0 ||
        file_string(root, "advertise_url", &config->advertise_url, origin, err, err_len) < 0 ||
        file_int(root, "heartbeat_ms", 100, 600000, &config->heartbeat_ms, origin, err,
                 err_len) < 0 ||
        file_int(root, "max_body", 1024, 1 << 30, &config->max_body, origin, err, err_len) < 0 ||
        file_int(root, "kill_grace_ms", 0, 600000, &config->kill_grace_ms, origin, err,
                 err_len) < 0 ||
        file_int(root, "shutdown_grace_s", 0, 86400, &config->shutdown_grace_s, origin, err,
                 err_len) < 0 ||
        file_string(root, "log_level", &config->log_level, origin, err, err_len) < 0 ||
        file_kinds(root, config, origin, err, err_len) < 0)
        goto out;

    if (id) {
        if (strlen(id) > LIMIT_WORKER_ID_LEN) {
            snprintf(err, err_len, "%s: 'id' is longer than %d characters", origin,
                     LIMIT_WORKER_ID_LEN);
            goto out;
        }
        snprintf(config->worker_id, sizeof(config->worker_id), "%s", id);
    }
    rc = 0;
out:
    free(id);
    json_decref(root);
    return rc;
}

static int apply_file(struct worker_config *config, const char *path, char *err,
                      size_t err_len)
{
    FILE *file = fopen(path, "rb");
    struct strbuf text;
    char chunk[8192];
    size_t n;
    int rc = -1;

    strbuf_init(&text);
    if (!file) {
        snprintf(err, err_len, "cannot open config file '%s': %s", path, strerror(errno));
        goto out;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), file)) > 0) {
        strbuf_append(&text, chunk, n);
        if (text.len > CONFIG_FILE_MAX_LEN) {
            snprintf(err, err_len, "config file '%s' is larger than %d bytes", path,
                     CONFIG_FILE_MAX_LEN);
            goto out;
        }
    }
    if (ferror(file)) {
        snprintf(err, err_len, "cannot read config file '%s': %s", path, strerror(errno));
        goto out;
    }
    rc = worker_config_apply_file_text(config, text.data, text.len, path, err, err_len);
out:
    if (file)
        fclose(file);
    strbuf_free(&text);
    return rc;
}

void worker_config_print_usage(void)
{
    printf("usage: taskrelay worker --server URL --kind NAME=PROGRAM [--kind ...] [OPTIONS]\n"
           "\n"
           "Runs tasks that the taskrelay server pushes to this agent. The worker token\n"
           "comes from the environment variable TASKRELAY_WORKER_TOKEN (required).\n"
           "\n"
           "Options (command line over environment over config file):\n"
           "  --server URL            server base URL, e.g. http://127.0.0.1:8080\n"
           "                          (env TASKRELAY_SERVER)\n"
           "  --listen HOST:PORT      address of this agent's HTTP API (default %s)\n"
           "  --id NAME               worker id, 1-64 of [A-Za-z0-9._-] (default: host name)\n"
           "  --slots N               tasks run at the same time, 1-%d (default %d)\n"
           "  --kind NAME=PROGRAM     run tasks of kind NAME with PROGRAM (a path, run with\n"
           "                          no arguments); repeat for more kinds\n"
           "  --config FILE           JSON config file with the same settings plus per-kind\n"
           "                          'args' and 'timeout_s' (see docs/worker.md)\n"
           "  --state-dir DIR         run directories and report outbox\n"
           "                          (default ./taskrelay-worker-ID)\n"
           "  --default-kind NAME     kind of flat-form /execute requests (default: first kind)\n"
           "  --advertise-url URL     URL the server uses to reach this agent\n"
           "                          (default http://LISTEN)\n"
           "  --heartbeat-ms MS       milliseconds between heartbeats, 100-600000 (default %d)\n"
           "  --max-body BYTES        largest request body accepted (default %d); keep it\n"
           "                          above the server's --max-body plus 64 KiB\n"
           "  --kill-grace-ms MS      milliseconds from SIGTERM to SIGKILL when a run is\n"
           "                          killed, 0-600000 (default %d)\n"
           "  --shutdown-grace-s S    seconds running tasks may take to finish after SIGTERM\n"
           "                          or SIGINT before they are killed, 0-86400 (default %d)\n"
           "  --log-level LEVEL       error, warn, info or debug (default info)\n"
           "  --help                  print this help\n",
           WORKER_DEFAULT_LISTEN, WORKER_MAX_SLOTS, WORKER_DEFAULT_SLOTS,
           WORKER_DEFAULT_HEARTBEAT_MS, LIMIT_EXECUTE_BODY_DEFAULT, WORKER_DEFAULT_KILL_GRACE_MS,
           WORKER_DEFAULT_SHUTDOWN_GRACE_S);
}

static int parse_int_option(const char *option, const char *value, int64_t min, int64_t max,
                            int *field, char *err, size_t err_len)
{
    int64_t parsed;

    if (parse_int64(value, min, max, &parsed) < 0) {
        snprintf(err, err_len, "invalid %s '%s': give a whole number from %lld to %lld", option,
                 value, (long long)min, (long long)max);
        return -1;
    }
    *field = (int)parsed;
    return 0;
}

/* Applies one command-line option other than --config and --help. */
static int apply_option(struct worker_config *config, const char *option, const char *value,
                        char *err, size_t err_len)
{
    if (strcmp(option, "--server") == 0)
        replace_string(&config->server_url, value);
    else if (strcmp(option, "--listen") == 0)
        replace_string(&config->listen, value);
    else if (strcmp(option, "--id") == 0) {
        if (strlen(value) > LIMIT_WORKER_ID_LEN) {
            snprintf(err, err_len, "invalid --id '%s': use at most %d characters", value,
                     LIMIT_WORKER_ID_LEN);
            return -1;
        }
        snprintf(config->worker_id, sizeof(config->worker_id), "%s", value);
    } else if (strcmp(option, "--slots") == 0)
        return parse_int_option(option, value, 1, WORKER_MAX_SLOTS, &config->slots, err, err_len);
    else if (strcmp(option, "--kind") == 0)
        return worker_config_add_kind_spec(config, value, err, err_len);
    else if (strcmp(option, "--state-dir") == 0)
        replace_string(&config->state_dir, value);
    else if (strcmp(option, "--default-kind") == 0)
        replace_string(&config->default_kind, value);
    else if (strcmp(option, "--advertise-url") == 0)
        replace_string(&config->advertise_url, value);
    else if (strcmp(option, "--heartbeat-ms") == 0)
        return parse_int_option(option, value, 100, 600000, &config->heartbeat_ms, err, err_len);
    else if (strcmp(option, "--max-body") == 0)
        return parse_int_option(option, value, 1024, 1 << 30, &config->max_body, err, err_len);
    else if (strcmp(option, "--kill-grace-ms") == 0)
        return parse_int_option(option, value, 0, 600000, &config->kill_grace_ms, err, err_len);
    else if (strcmp(option, "--shutdown-grace-s") == 0)
        return parse_int_option(option, value, 0, 86400, &config->shutdown_grace_s, err,
                                err_len);
    else if (strcmp(option, "--log-level") == 0)
        replace_string(&config->log_level, value);
    else {
        snprintf(err, err_len, "unknown option '%s': run 'taskrelay worker --help' for the list",
                 option);
        return -1;
    }
    return 0;
}

/* Splits argv[*index] into option and value ("--opt VALUE" or "--opt=VALUE")
 * and advances *index past them. */
static int next_option(int argc, char **argv, int *index, char *option, size_t option_len,
                       const char **value, char *err, size_t err_len)
{
    const char *arg = argv[*index];
    const char *eq = strchr(arg, '=');

    if (strncmp(arg, "--", 2) != 0) {
        snprintf(err, err_len, "unexpected argument '%s': options start with '--'", arg);
        return -1;
    }
    if (eq) {
        snprintf(option, option_len, "%.*s", (int)(eq - arg), arg);
        *value = eq + 1;
        (*index)++;
        return 0;
    }
    snprintf(option, option_len, "%s", arg);
    if (strcmp(arg, "--help") == 0) {
        *value = NULL;
        (*index)++;
        return 0;
    }
    if (*index + 1 >= argc) {
        snprintf(err, err_len, "option %s needs a value: run 'taskrelay worker --help'", arg);
        return -1;
    }
    *value = argv[*index + 1];
    *index += 2;
    return 0;
}

/* Finds --help and --config before anything else is applied, because the
 * config file is the lowest-priority source. */
static int scan_config_and_help(int argc, char **argv, const char **config_path, char *err,
                                size_t err_len)
{
    char option[64];
    const char *value;
    int i = 1;

    while (i < argc) {
        if (next_option(argc, argv, &i, option, sizeof(option), &value, err, err_len) < 0)
            return -1;
        if (strcmp(option, "--help") == 0 || strcmp(option, "-h") == 0)
            return WORKER_CONFIG_HELP;
        if (strcmp(option, "--config") == 0)
            *config_path = value;
    }
    return 0;
}

int worker_config_load(struct worker_config *config, int argc, char **argv, char *err,
                       size_t err_len)
{
    const char *config_path = NULL;
    const char *env;
    char option[64];
    const char *value;
    int rc;
    int i = 1;

    worker_config_init(config);
    rc = scan_config_and_help(argc, argv, &config_path, err, err_len);
    if (rc != 0)
        return rc;
    if (config_path && apply_file(config, config_path, err, err_len) < 0)
        return -1;

    env = getenv("TASKRELAY_SERVER");
    if (env && *env)
        replace_string(&config->server_url, env);
    env = getenv("TASKRELAY_WORKER_TOKEN");
    if (env && *env)
        replace_string(&config->token, env);

    while (i < argc) {
        if (next_option(argc, argv, &i, option, sizeof(option), &value, err, err_len) < 0)
            return -1;
        if (strcmp(option, "--config") == 0)
            continue;
        if (apply_option(config, option, value, err, err_len) < 0)
            return -1;
    }
    return worker_config_finish(config, err, err_len);
}

static int url_valid(const char *url)
{
    return (strncmp(url, "http://", 7) == 0 && url[7] != '\0') ||
           (strncmp(url, "https://", 8) == 0 && url[8] != '\0');
}

static void strip_trailing_slashes(char *url)
{
    size_t len = strlen(url);

    while (len > 0 && url[len - 1] == '/')
        url[--len] = '\0';
}

/* Makes *path absolute against the current directory, because task
 * programs run with their run directory as working directory. */
static int make_absolute(char **path, char *err, size_t err_len)
{
    char cwd[4096];

    if ((*path)[0] == '/')
        return 0;
    if (!getcwd(cwd, sizeof(cwd))) {
        snprintf(err, err_len, "cannot read the current directory to resolve '%s': %s", *path,
                 strerror(errno));
        return -1;
    }
    char *joined = xasprintf("%s/%s", cwd, *path);
    free(*path);
    *path = joined;
    return 0;
}

static int finish_identity(struct worker_config *config, char *err, size_t err_len)
{
    if (config->worker_id[0] == '\0') {
        char host[256];

        if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0') {
            snprintf(err, err_len, "cannot read the host name for the worker id: pass --id NAME");
            return -1;
        }
        host[sizeof(host) - 1] = '\0';
        if (strlen(host) > LIMIT_WORKER_ID_LEN) {
            snprintf(err, err_len, "the host name '%s' is longer than %d characters: pass --id NAME",
                     host, LIMIT_WORKER_ID_LEN);
            return -1;
        }
        memcpy(config->worker_id, host, strlen(host) + 1);
    }
    if (!worker_name_valid(config->worker_id)) {
        snprintf(err, err_len, "invalid worker id '%s': use 1-%d characters of [A-Za-z0-9._-] with --id",
                 config->worker_id, LIMIT_WORKER_ID_LEN);
        return -1;
    }
    if (!config->token || !*config->token) {
        snprintf(err, err_len, "TASKRELAY_WORKER_TOKEN is not set: export the worker token that the server was started with");
        return -1;
    }
    return 0;
}

static int finish_addresses(struct worker_config *config, char *err, size_t err_len)
{
    char host[256];
    int port;

    if (!config->server_url || !*config->server_url) {
        snprintf(err, err_len, "the server URL is missing: pass --server URL or set TASKRELAY_SERVER");
        return -1;
    }
    if (!url_valid(config->server_url)) {
        snprintf(err, err_len, "invalid server URL '%s': use http://HOST:PORT or https://HOST:PORT",
                 config->server_url);
        return -1;
    }
    strip_trailing_slashes(config->server_url);

    if (parse_host_port(config->listen, host, sizeof(host), &port) < 0 || host[0] == '\0') {
        snprintf(err, err_len, "invalid --listen '%s': use HOST:PORT, e.g. 127.0.0.1:3000",
                 config->listen);
        return -1;
    }
    if (!config->advertise_url)
        config->advertise_url = xasprintf("http://%s", config->listen);
    if (!url_valid(config->advertise_url)) {
        snprintf(err, err_len, "invalid advertise URL '%s': use http://HOST:PORT that the server can reach",
                 config->advertise_url);
        return -1;
    }
    strip_trailing_slashes(config->advertise_url);
    return 0;
}

static int finish_kinds(struct worker_config *config, char *err, size_t err_len)
{
    if (config->kind_count == 0) {
        snprintf(err, err_len, "no task kind is configured: pass --kind NAME=PROGRAM at least once");
        return -1;
    }
    for (int i = 0; i < config->kind_count; i++) {
        struct worker_kind *kind = &config->kinds[i];

        if (!kind->program || !*kind->program) {
            snprintf(err, err_len, "kind '%s' has no program: set 'program' or pass --kind %s=PROGRAM",
                     kind->name, kind->name);
            return -1;
        }
        if (make_absolute(&kind->program, err, err_len) < 0)
            return -1;
    }
    if (!config->default_kind)
        config->default_kind = xstrdup(config->kinds[0].name);
    if (!worker_config_find_kind(config, config->default_kind)) {
        snprintf(err, err_len, "default kind '%s' is not configured: pass one of the --kind names",
                 config->default_kind);
        return -1;
    }
    return 0;
}

int worker_config_finish(struct worker_config *config, char *err, size_t err_len)
{
    enum log_level level;

    if (finish_identity(config, err, err_len) < 0 || finish_addresses(config, err, err_len) < 0 ||
        finish_kinds(config, err, err_len) < 0)
        return -1;

    if (log_level_parse(config->log_level, &level) < 0) {
        snprintf(err, err_len, "invalid log level '%s': use error, warn, info or debug",
                 config->log_level);
        return -1;
    }
    if (!config->state_dir)
        config->state_dir = xasprintf("taskrelay-worker-%s", config->worker_id);
    if (config->state_dir[0] == '\0') {
        snprintf(err, err_len, "the state directory is empty: pass --state-dir DIR");
        return -1;
    }
    return make_absolute(&config->state_dir, err, err_len);
}

void worker_config_free(struct worker_config *config)
{
    for (int i = 0; i < config->kind_count; i++) {
        free(config->kinds[i].program);
        free_kind_args(&config->kinds[i]);
    }
    free(config->server_url);
    free(config->listen);
    free(config->state_dir);
    free(config->default_kind);
    free(config->advertise_url);
    free(config->log_level);
    free(config->token);
    memset(config, 0, sizeof(*config));
}
