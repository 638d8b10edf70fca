#include <stdio.h>

#include "worker/worker.h"

int worker_main(int argc, char **argv)
{
    fprintf(stderr, "taskrelay worker: not built yet\n");
    return 1;
}
