#include "server/options.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "common/log.h"
#include "common/util.h"

static void print_help(void)
{
    printf("usage: taskrelay server [OPTIONS]\n"
           "\n"
           "Runs the control plane: HTTP API, dashboard, SQLite store and push dispatch.\n"
           "\n"
           "Options:\n"
           "  --listen HOST:PORT        address to listen on (default 127.0.0.1:8080,\n"
           "                            env TASKRELAY_LISTEN; port 0 picks a free port)\n"
           "  --db FILE                 SQLite database file (default ./taskrelay.db,\n"
           "                            env TASKRELAY_DB)\n"
           "  --data-dir DIR            folder for artifacts (default ./taskrelay-data,\n"
           "                            env TASKRELAY_DATA_DIR)\n"
           "  --max-body BYTES          request body limit (default %d)\n"
           "  --heartbeat-ms MS         heartbeat interval handed to workers (default 5000)\n"
           "  --offline-after N         missed heartbeats before a worker is offline and its\n"
           "                            tasks are lost (default 3)\n"
           "  --dispatch-timeout-ms MS  how long a push to a worker may take before the\n"
           "                            server asks the worker again (default 5000)\n"
           "  --kind NAME               accept tasks of this kind before any worker\n"
           "                            advertises it (repeatable)\n"
           "  --port-file FILE          write the bound port to FILE once listening\n"
           "  --log-level LEVEL         error, warn, info or debug (default info)\n"
           "  --help                    show this help\n"
           "\n"
           "Environment:\n"
           "  TASKRELAY_API_TOKEN       bearer token for clients and the dashboard (required)\n"
           "  TASKRELAY_WORKER_TOKEN    token between the server and workers (required)\n",
           LIMIT_BODY_DEFAULT);
}

static const char *env_or(const char *name, const char *fallback)
{
    const char *value = getenv(name);

    return value && *value ? value : fallback;
}

static int parse_number(const char *option, const char *text, int64_t min, int64_t max,
                        int64_t *out)
{
    if (parse_int64(text, min, max, out) == 0)
        return 0;
    fprintf(stderr, "taskrelay server: %s '%s' is invalid: use a whole number from %lld to %lld\n",
            option, text, (long long)min, (long long)max);
    return -1;
}

static int check_tokens(struct server_config *c)
{
    c->api_token = getenv("TASKRELAY_API_TOKEN");
    c->worker_token = getenv("TASKRELAY_WORKER_TOKEN");
    if (!c->api_token || strlen(c->api_token) < 16) {
        fprintf(stderr, "taskrelay server: TASKRELAY_API_TOKEN is missing or shorter than 16 "
                        "characters: set it, e.g. to the output of 'openssl rand -hex 24'\n");
        return -1;
    }
    if (!c->worker_token || strlen(c->worker_token) < 16) {
        fprintf(stderr, "taskrelay server: TASKRELAY_WORKER_TOKEN is missing or shorter than "
                        "16 characters: set it to a random value and give the same one to "
                        "every worker\n");
        return -1;
    }
    return 0;
}

static int apply_option(int opt, const char *arg, struct server_options *o)
{
    struct server_config *c = &o->config;
    int64_t n;

    switch (opt) {
    case 'l': c->listen = arg; return 0;
    case 'd': c->db_path = arg; return 0;
    case 'D': c->data_dir = arg; return 0;
    case 'b':
        if (parse_number("--max-body", arg, 1024, 1LL << 30, &n) < 0)
            return -1;
        c->max_body = (size_t)n;
        return 0;
    case 'h':
        if (parse_number("--heartbeat-ms", arg, 50, 3600000, &n) < 0)
            return -1;
        c->heartbeat_ms = n;
        return 0;
    case 'o':
        if (parse_number("--offline-after", arg, 1, 1000, &n) < 0)
            return -1;
        c->offline_after_beats = (int)n;
        return 0;
    case 't':
        if (parse_number("--dispatch-timeout-ms", arg, 10, 600000, &n) < 0)
            return -1;
        c->dispatch_timeout_ms = n;
        return 0;
    case 'k':
        if (!task_kind_valid(arg)) {
            fprintf(stderr, "taskrelay server: --kind '%s' is invalid: use 1-64 characters of "
                            "A-Z, a-z, 0-9, '.', '_', '-'\n", arg);
            return -1;
        }
        c->kinds = xrealloc(c->kinds, (c->kind_count + 1) * sizeof(*c->kinds));
        c->kinds[c->kind_count++] = arg;
        return 0;
    case 'p': o->port_file = arg; return 0;
    case 'L': o->log_level = arg; return 0;
    default: return -1;
    }
}

int server_options_parse(int argc, char **argv, struct server_options *o)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"db", required_argument, NULL, 'd'},
        {"data-dir", required_argument, NULL, 'D'},
        {"max-body", required_argument, NULL, 'b'},
        {"heartbeat-ms", required_argument, NULL, 'h'},
        {"offline-after", required_argument, NULL, 'o'},
        {"dispatch-timeout-ms", required_argument, NULL, 't'},
        {"kind", required_argument, NULL, 'k'},
        {"port-file", required_argument, NULL, 'p'},
        {"log-level", required_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    struct server_config *c = &o->config;
    int opt;
    enum log_level level;

    memset(o, 0, sizeof(*o));
    c->listen = env_or("TASKRELAY_LISTEN", "127.0.0.1:8080");
    c->db_path = env_or("TASKRELAY_DB", "./taskrelay.db");
    c->data_dir = env_or("TASKRELAY_DATA_DIR", "./taskrelay-data");
    c->max_body = LIMIT_BODY_DEFAULT;
    c->heartbeat_ms = 5000;
    c->offline_after_beats = 3;
    c->dispatch_timeout_ms = 5000;
    o->log_level = env_or("TASKRELAY_LOG_LEVEL", "info");

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (opt == 'H') {
            print_help();
            return 1;
        }
        if (opt == '?') {
            fprintf(stderr, "taskrelay server: run 'taskrelay server --help' for the options\n");
            return -1;
        }
        if (apply_option(opt, optarg, o) < 0)
            return -1;
    }
    if (optind < argc) {
        fprintf(stderr, "taskrelay server: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (log_level_parse(o->log_level, &level) < 0) {
        fprintf(stderr, "taskrelay server: --log-level '%s' is invalid: use error, warn, info "
                        "or debug\n", o->log_level);
        return -1;
    }
    log_threshold = level;
    return check_tokens(c);
}

void server_options_free(struct server_options *o)
{
    free(o->config.kinds);
    o->config.kinds = NULL;
}
