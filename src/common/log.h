/* One logger for the whole program: one line per event on stderr,
 * "TIME LEVEL COMPONENT: message key=value ...". Safe to call from any thread. */
#ifndef TASKRELAY_LOG_H
#define TASKRELAY_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

extern enum log_level log_threshold;

/* Parses "error", "warn", "info" or "debug"; returns -1 for anything else. */
int log_level_parse(const char *name, enum log_level *out);

void log_write(enum log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The level is checked before the arguments are evaluated. */
#define LOG_AT(level, component, ...)                                          \
    do {                                                                       \
        if ((level) <= log_threshold)                                          \
            log_write((level), (component), __VA_ARGS__);                      \
    } while (0)

#define log_error(component, ...) LOG_AT(LOG_ERROR, component, __VA_ARGS__)
#define log_warn(component, ...) LOG_AT(LOG_WARN, component, __VA_ARGS__)
#define log_info(component, ...) LOG_AT(LOG_INFO, component, __VA_ARGS__)
#define log_debug(component, ...) LOG_AT(LOG_DEBUG, component, __VA_ARGS__)

#endif
