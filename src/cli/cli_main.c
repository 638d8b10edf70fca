#include <stdio.h>

#include "cli/cli.h"

int cli_is_command(const char *name) { return 0; }
int cli_main(int argc, char **argv) { return 1; }
