/* Line-oriented logging to stderr, thread-safe, one line per call. */
#ifndef SI_COMMON_LOG_H
#define SI_COMMON_LOG_H

#include <stdbool.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the lowest level written (default LOG_INFO). Thread-safe (SIGHUP changes it). */
void log_set_level(enum log_level level);

/* "debug", "info", "warn" or "error" into *out; false for anything else. */
bool log_level_parse(const char *name, enum log_level *out);

/* Writes "time level message\n" to stderr in one write(2). Never pass keys or tokens. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/* Logs and aborts the process: only for start-up failures and broken invariants. */
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
