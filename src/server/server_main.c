#include "server/server.h"

int server_main(int argc, char **argv) { return 1; }
