/* "taskrelay progress PERCENT [MESSAGE...]": run inside a task program, it
 * writes one progress line to the worker's progress pipe. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/limits.h"
#include "common/util.h"
#include "worker/progress_line.h"

static void print_progress_usage(FILE *out)
{
    fprintf(out, "usage: taskrelay progress PERCENT [MESSAGE...]\n"
                 "\n"
                 "Reports progress from inside a task program: PERCENT is a whole number\n"
                 "from 0 to 100, MESSAGE is optional text (at most %d bytes are kept).\n"
                 "Writes to the descriptor in TASKRELAY_PROGRESS_FD, which the worker sets.\n",
            LIMIT_MESSAGE_LEN);
}

/* Joins the message words with spaces; line breaks become spaces so the
 * message stays one line. */
static char *join_message(int count, char **words)
{
    struct strbuf message;

    strbuf_init(&message);
    for (int i = 0; i < count; i++) {
        if (i > 0)
            strbuf_append(&message, " ", 1);
        strbuf_append(&message, words[i], strlen(words[i]));
    }
    for (size_t i = 0; i < message.len; i++) {
        if (message.data[i] == '\n' || message.data[i] == '\r')
            message.data[i] = ' ';
    }
    return message.data;
}

int cli_progress_main(int argc, char **argv)
{
    const char *fd_text = getenv("TASKRELAY_PROGRESS_FD");
    int64_t percent, fd;
    char *message;
    char *line;
    size_t len;
    ssize_t written;

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        print_progress_usage(stdout);
        return 0;
    }
    if (argc < 2) {
        print_progress_usage(stderr);
        return 2;
    }
    if (parse_int64(argv[1], 0, 100, &percent) < 0) {
        fprintf(stderr, "taskrelay progress: invalid percent '%s': give a whole number from 0 to 100\n",
                argv[1]);
        return 2;
    }
    if (!fd_text || parse_int64(fd_text, 0, 65535, &fd) < 0) {
        fprintf(stderr, "taskrelay progress: TASKRELAY_PROGRESS_FD is %s: run this command inside a task program started by 'taskrelay worker'\n",
                fd_text ? "not a descriptor number" : "not set");
        return 2;
    }

    message = join_message(argc - 2, argv + 2);
    utf8_truncate(message, strlen(message), LIMIT_MESSAGE_LEN);
    line = message[0] ? xasprintf("%d %s\n", (int)percent, message)
                      : xasprintf("%d\n", (int)percent);
    len = strlen(line);
    /* One write of at most about 1 KiB is atomic on a pipe (PIPE_BUF is at
     * least 4096 on Linux), so lines from parallel callers do not mix. */
    do {
        written = write((int)fd, line, len);
    } while (written < 0 && errno == EINTR);
    free(line);
    free(message);
    if (written != (ssize_t)len) {
        fprintf(stderr, "taskrelay progress: cannot write to descriptor %lld: %s: run this command inside a task program started by 'taskrelay worker'\n",
                (long long)fd, written < 0 ? strerror(errno) : "short write");
        return 1;
    }
    return 0;
}
