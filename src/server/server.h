/* Entry point of "taskrelay server". */
#ifndef TASKRELAY_SERVER_H
#define TASKRELAY_SERVER_H

/* argv[0] is "server". Returns the process exit status. */
int server_main(int argc, char **argv);

#endif
