/* Settings of "taskrelay worker": defaults, then the JSON config file, then
 * the environment, then the command line, each later source overriding the
 * earlier ones. docs/worker.md describes every setting. */
#ifndef TASKRELAY_WORKER_CONFIG_H
#define TASKRELAY_WORKER_CONFIG_H

#include <stddef.h>

#include "common/limits.h"

#define WORKER_DEFAULT_LISTEN "127.0.0.1:3000"
#define WORKER_DEFAULT_SLOTS 1
#define WORKER_DEFAULT_TIMEOUT_S 3600
#define WORKER_DEFAULT_HEARTBEAT_MS 5000
#define WORKER_DEFAULT_KILL_GRACE_MS 5000
#define WORKER_DEFAULT_SHUTDOWN_GRACE_S 30
#define WORKER_MAX_SLOTS 1024
#define WORKER_MAX_KINDS 256
#define WORKER_MAX_ARGS 256

/* One task kind this worker runs: argv is program followed by args. */
struct worker_kind {
    char name[LIMIT_KIND_LEN + 1];
    char *program; /* absolute path */
    char **args;   /* args_count strings */
    int args_count;
    int timeout_s; /* used when a task does not set its own timeout */
};

struct worker_config {
    char *server_url; /* without a trailing slash */
    char *listen;
    char worker_id[LIMIT_WORKER_ID_LEN + 1];
    int slots;
    struct worker_kind kinds[WORKER_MAX_KINDS];
    int kind_count;
    char *state_dir;
    char *default_kind;
    char *advertise_url;
    int heartbeat_ms;
    int kill_grace_ms;
    int max_body; /* bytes accepted in a request body */
    int shutdown_grace_s;
    char *log_level;
    char *token; /* from TASKRELAY_WORKER_TOKEN only; never logged */
};

/* Outcome of worker_config_load besides success. */
enum {
    WORKER_CONFIG_HELP = 1, /* --help was given; the caller prints the usage */
};

/* Sets every field to its default; worker_config_load calls it first. */
void worker_config_init(struct worker_config *config);

/* Fills config from argv (argv[0] is "worker"), the environment and the
 * config file named by --config. Returns 0, WORKER_CONFIG_HELP, or -1 with
 * a message naming the invalid value and the fix in err. The caller frees
 * config with worker_config_free in every case. */
int worker_config_load(struct worker_config *config, int argc, char **argv, char *err,
                       size_t err_len);

/* Applies a JSON config file's settings; exposed for the unit tests. */
int worker_config_apply_file_text(struct worker_config *config, const char *text,
                                  size_t len, const char *origin, char *err, size_t err_len);

/* Adds or replaces a kind from "NAME=PROGRAM"; exposed for the unit tests. */
int worker_config_add_kind_spec(struct worker_config *config, const char *spec, char *err,
                                size_t err_len);

/* Checks the combined settings and fills the derived defaults (id, state
 * directory, advertise URL, default kind); exposed for the unit tests. */
int worker_config_finish(struct worker_config *config, char *err, size_t err_len);

/* Returns the kind named name, or NULL. */
const struct worker_kind *worker_config_find_kind(const struct worker_config *config,
                                                  const char *name);

/* Returns 1 when name is 1-64 characters of [A-Za-z0-9._-]. */
int worker_name_valid(const char *name);

void worker_config_print_usage(void);
void worker_config_free(struct worker_config *config);

#endif
