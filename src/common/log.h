/* Line-oriented logging to stderr, thread-safe, one line per call. */
#ifndef SI_COMMON_LOG_H
#define SI_COMMON_LOG_H

#include <stdbool.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the lowest level written (default LOG_INFO). Thread-safe (SIGHUP changes it). */
void log_set_level(enum log_level level);

/* "debug", "info", "warn" or "error" into *out; false for anything else. */
bool log_level_parse(const char *name, enum log_level *out);

enum log_format {
    LOG_TEXT, /* "time level [request-id] message [client=A key=K]" */
    LOG_JSON  /* one object per line: time, level, msg, and requestId, keyId, client if known */
};

/* Sets the line format (default LOG_TEXT). Call before threads start. */
void log_set_format(enum log_format format);

/* "text" or "json" into *out; false for anything else. */
bool log_format_parse(const char *name, enum log_format *out);

/* Whom a line is about: any member may be NULL (left out). Borrowed for the call. */
struct log_ctx {
    const char *request_id;
    const char *key_id; /* the API key's ID, never the key */
    const char *client; /* the peer's address */
};

/* Writes one line to stderr in one write(2), in the set format. Never pass keys or tokens. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* As log_msg, about one request (ctx's fields: JSON members, or text around the message). */
void log_msg_ctx(enum log_level level, const struct log_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Holds the calling thread's debug and info lines from here to log_batch_end and writes them
 * together (one write(2) per LOG_BATCH_MAX bytes): for a loop that logs a line per item, such as
 * the mail worker's delivered emails. A warn or error line is written at once, after the lines
 * held before it. Not nested; other threads' lines are not held. */
void log_batch_begin(void);
void log_batch_end(void);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/* Logs and aborts the process: only for start-up failures and broken invariants. */
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
