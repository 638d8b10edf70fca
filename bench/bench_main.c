/* taskrelay-bench: the load generator behind bench/run_bench.py. It runs
 * one phase against a server that is already running and prints the
 * phase's figures as one JSON object on stdout. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_phases.h"
#include "common/httpc.h"
#include "common/log.h"
#include "common/util.h"

typedef int (*phase_fn)(const struct bench_options *options, json_t **result, char *err,
                        size_t err_len);

struct phase {
    const char *name;
    phase_fn run;
};

static const struct phase phases[] = {
    {"throughput", bench_phase_throughput},
    {"latency", bench_phase_latency},
    {"sse", bench_phase_sse},
    {"drive", bench_phase_drive},
    {"fork", bench_phase_fork},
};

static void print_usage(FILE *out)
{
    fputs("usage: taskrelay-bench PHASE [OPTIONS]\n"
          "\n"
          "Runs one benchmark phase against a running taskrelay server and prints\n"
          "its figures as JSON. Tokens come from TASKRELAY_API_TOKEN and\n"
          "TASKRELAY_WORKER_TOKEN.\n"
          "\n"
          "Phases:\n"
          "  throughput  tasks/s through the whole lifecycle with simulated workers\n"
          "  latency     create-to-/execute latency, one task at a time\n"
          "  sse         progress-to-delivery latency at many stream watchers\n"
          "  drive       tasks/s through real workers that are already registered\n"
          "  fork        fork+exec+wait rate of --program (needs no server)\n"
          "\n"
          "Options:\n"
          "  --server URL       server base URL (default http://127.0.0.1:8080)\n"
          "  --kind NAME        task kind to create (default bench.noop)\n"
          "  --workers N        simulated workers (default 1)\n"
          "  --slots N          slots per simulated worker (default 4)\n"
          "  --creators N       concurrent creator connections (default 4)\n"
          "  --tasks N          tasks to create, or program runs (default 1000)\n"
          "  --watchers N       stream watchers in the sse phase (default 1000)\n"
          "  --rounds N         progress reports per task in the sse phase (default 20)\n"
          "  --parallel N       programs at once in the fork phase (default 2)\n"
          "  --program PATH     program of the fork phase (default /bin/true)\n"
          "  --timeout-s S      the phase gives up after S seconds (default 60)\n"
          "  --server-pid PID   measure this process's CPU time in the throughput phase\n",
          out);
}

static int parse_count(const char *name, const char *text, int64_t min, int64_t max,
                       int64_t *out)
{
    if (!text || parse_int64(text, min, max, out) < 0) {
        fprintf(stderr, "taskrelay-bench: invalid %s '%s': use a whole number from %lld to %lld\n",
                name, text ? text : "(missing)", (long long)min, (long long)max);
        return -1;
    }
    return 0;
}

static int parse_int_option(const char *name, const char *text, int min, int max, int *out)
{
    int64_t value;

    if (parse_count(name, text, min, max, &value) < 0)
        return -1;
    *out = (int)value;
    return 0;
}

/* Applies one "--name value" pair. Returns 0, or -1 after printing why. */
static int apply_option(struct bench_options *o, const char *name, const char *value)
{
    int64_t number;

    if (strcmp(name, "--server") == 0 && value)
        o->target.server_url = value;
    else if (strcmp(name, "--kind") == 0 && value)
        o->kind = value;
    else if (strcmp(name, "--program") == 0 && value)
        o->program = value;
    else if (strcmp(name, "--workers") == 0)
        return parse_int_option(name, value, 1, 1024, &o->worker_count);
    else if (strcmp(name, "--slots") == 0)
        return parse_int_option(name, value, 1, 1024, &o->slots);
    else if (strcmp(name, "--creators") == 0)
        return parse_int_option(name, value, 1, 1024, &o->creator_count);
    else if (strcmp(name, "--watchers") == 0)
        return parse_int_option(name, value, 1, 100000, &o->watcher_count);
    else if (strcmp(name, "--rounds") == 0)
        return parse_int_option(name, value, 1, 10000, &o->round_count);
    else if (strcmp(name, "--parallel") == 0)
        return parse_int_option(name, value, 1, 1024, &o->parallel_count);
    else if (strcmp(name, "--timeout-s") == 0)
        return parse_int_option(name, value, 1, 86400, &o->timeout_s);
    else if (strcmp(name, "--tasks") == 0)
        return parse_count(name, value, 1, 100000000, &o->task_count);
    else if (strcmp(name, "--server-pid") == 0) {
        if (parse_count(name, value, 1, 4194304, &number) < 0)
            return -1;
        o->server_pid = (pid_t)number;
    } else {
        fprintf(stderr, "taskrelay-bench: unknown option or missing value '%s': see --help\n",
                name);
        return -1;
    }
    return 0;
}

static int parse_options(int argc, char **argv, struct bench_options *o)
{
    o->target.server_url = "http://127.0.0.1:8080";
    o->target.api_token = getenv("TASKRELAY_API_TOKEN");
    o->target.worker_token = getenv("TASKRELAY_WORKER_TOKEN");
    o->kind = "bench.noop";
    o->program = "/bin/true";
    o->worker_count = 1;
    o->slots = 4;
    o->creator_count = 4;
    o->task_count = 1000;
    o->watcher_count = 1000;
    o->round_count = 20;
    o->parallel_count = 2;
    o->timeout_s = 60;

    for (int i = 2; i < argc; i += 2) {
        if (apply_option(o, argv[i], i + 1 < argc ? argv[i + 1] : NULL) < 0)
            return -1;
    }
    if (!o->target.api_token || !o->target.worker_token) {
        fprintf(stderr, "taskrelay-bench: TASKRELAY_API_TOKEN and TASKRELAY_WORKER_TOKEN must "
                        "be set to the server's tokens\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct bench_options options;
    const struct phase *phase = NULL;
    json_t *result = NULL;
    char err[1024] = "";
    int rc;

    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        print_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
        if (strcmp(argv[1], phases[i].name) == 0)
            phase = &phases[i];
    }
    if (!phase) {
        fprintf(stderr, "taskrelay-bench: unknown phase '%s': see --help\n", argv[1]);
        return 2;
    }
    memset(&options, 0, sizeof(options));
    if (parse_options(argc, argv, &options) < 0)
        return 2;

    /* A watcher or worker connection the server closed must not end the
     * process. */
    signal(SIGPIPE, SIG_IGN);
    log_threshold = LOG_WARN;
    httpc_global_init();

    rc = phase->run(&options, &result, err, sizeof(err));
    if (!result)
        result = json_object();
    json_object_set_new(result, "phase", json_string(phase->name));
    if (rc < 0) {
        json_object_set_new(result, "error", json_string(err));
        fprintf(stderr, "taskrelay-bench: %s phase failed: %s\n", phase->name, err);
    }
    json_dumpf(result, stdout, JSON_COMPACT);
    fputc('\n', stdout);
    json_decref(result);
    return rc < 0 ? 1 : 0;
}
