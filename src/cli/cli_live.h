/* The live view of one task while the CLI follows it: a progress line on
 * stderr, redrawn in place on a terminal and printed once per change
 * otherwise, and optionally the task's output on stdout. */
#ifndef TASKRELAY_CLI_LIVE_H
#define TASKRELAY_CLI_LIVE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct cli_live;

/* show_log: print the task's output, which cli_live_log receives. */
struct cli_live *cli_live_new(int show_log);
void cli_live_free(struct cli_live *live);

/* Shows a task's state. A line is drawn only when the status, attempt,
 * progress or message changed since the last one. */
void cli_live_show(struct cli_live *live, const char *status, int64_t attempt, int64_t progress,
                   const char *message);
/* Shows the state in a task object from the API. */
void cli_live_show_task(struct cli_live *live, json_t *task);

/* Takes a chunk of the task's output at byte offset of the given attempt.
 * Bytes already printed are skipped, so a chunk sent again after a
 * reconnect prints once. Complete lines are printed at once, and the rest
 * when the next line ends or cli_live_end is called. */
void cli_live_log(struct cli_live *live, int64_t attempt, int64_t offset, const char *text,
                  size_t len);

/* Prints a line of text below the progress line, such as a reconnect note. */
void cli_live_notice(struct cli_live *live, const char *text);

/* Ends the view: the last progress line stays, and output not yet
 * printed is printed. */
void cli_live_end(struct cli_live *live);

#endif
