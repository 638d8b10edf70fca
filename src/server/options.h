/* Command-line options of "taskrelay server". */
#ifndef TASKRELAY_SERVER_OPTIONS_H
#define TASKRELAY_SERVER_OPTIONS_H

#include "server/app.h"

struct server_options {
    struct server_config config;
    const char *port_file; /* where to write the bound port, or NULL */
    const char *log_level;
};

/* Parses argv (argv[0] is "server") and the environment into opts.
 * Returns 0 to run, 1 after printing help, -1 after printing an error. */
int server_options_parse(int argc, char **argv, struct server_options *opts);
void server_options_free(struct server_options *opts);

#endif
