#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"

enum log_level log_threshold = LOG_INFO;

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

int log_level_parse(const char *name, enum log_level *out)
{
    static const char *const lower[] = {"error", "warn", "info", "debug"};

    for (int i = 0; i < 4; i++) {
        if (strcmp(name, lower[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

void log_write(enum log_level level, const char *component, const char *fmt, ...)
{
    char stamp[32];
    char line[2048];
    va_list ap;

    format_time_ms(now_ms(), stamp, sizeof(stamp));
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);

    /* One fprintf per line keeps lines from different threads whole. */
    fprintf(stderr, "%s %-5s %s: %s\n", stamp, level_names[level], component, line);
}
