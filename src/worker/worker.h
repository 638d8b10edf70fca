/* Entry point of "taskrelay worker". */
#ifndef TASKRELAY_WORKER_H
#define TASKRELAY_WORKER_H

/* argv[0] is "worker". Returns the process exit status. */
int worker_main(int argc, char **argv);

#endif
