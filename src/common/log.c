/* Logging: one formatted line per call, written with a single write(2) so threads never mix;
 * a thread may hold its lines in a batch, written together as whole lines. */
#include "log.h"

#include "clock.h"
#include "xalloc.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Atomic int min_level = LOG_INFO; /* changed by SIGHUP while threads log */
static const char *const level_names[] = {"debug", "info", "warn", "error"};
static enum log_format log_format = LOG_TEXT;

#define LOG_LINE_MAX  2048  /* bytes of one line; longer messages are cut */
#define LOG_BATCH_MAX 32768 /* bytes of held lines written by one write(2) */

/* This thread's held lines (log_batch_begin): NULL when not batching. */
static _Thread_local char *batch;
static _Thread_local size_t batch_len;

void log_set_level(enum log_level level)
{
    atomic_store_explicit(&min_level, (int)level, memory_order_relaxed);
}

bool log_level_parse(const char *name, enum log_level *out)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (name && strcmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return true;
        }
    }
    return false;
}

/* A line under construction; appends past the end are dropped (the line stays whole). */
struct line {
    char b[LOG_LINE_MAX];
    size_t len;
};

static void put(struct line *l, const char *s, size_t n)
{
    if (n > sizeof l->b - 2 - l->len) /* room for the closing bytes and the newline */
        n = sizeof l->b - 2 - l->len;
    memcpy(l->b + l->len, s, n);
    l->len += n;
}

static void puts_(struct line *l, const char *s)
{
    put(l, s, strlen(s));
}

/* A JSON string body: quotes, backslashes and control bytes escaped. Bytes above 0x7F pass
 * through (our messages are UTF-8; a cut sequence is the reader's to replace). */
static void put_json(struct line *l, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            put(l, esc, 2);
        } else if (*p < 0x20 || *p == 0x7F) {
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            put(l, esc, 6);
        } else {
            put(l, (const char *)p, 1);
        }
    }
}

static void put_member(struct line *l, const char *name, const char *value)
{
    if (!value)
        return;
    puts_(l, ",\"");
    puts_(l, name);
    puts_(l, "\":\"");
    put_json(l, value);
    puts_(l, "\"");
}

static void write_err(const char *p, size_t n)
{
    ssize_t w = write(STDERR_FILENO, p, n);
    (void)w; /* nowhere left to report a failed log write */
}

static void batch_flush(void)
{
    if (batch_len)
        write_err(batch, batch_len);
    batch_len = 0;
}

/* Writes a finished line, or holds it in this thread's batch. */
static void emit(enum log_level level, const char *line, size_t n)
{
    if (batch && level < LOG_WARN) {
        if (batch_len + n > LOG_BATCH_MAX)
            batch_flush();
        memcpy(batch + batch_len, line, n);
        batch_len += n;
        return;
    }
    if (batch)
        batch_flush(); /* the lines before this one come first */
    write_err(line, n);
}

void log_batch_begin(void)
{
    if (!batch)
        batch = xmalloc(LOG_BATCH_MAX);
    batch_len = 0;
}

void log_batch_end(void)
{
    if (!batch)
        return;
    batch_flush();
    free(batch);
    batch = NULL;
}

/* format(printf, 3, 0): fmt is checked at the callers, so vsnprintf may take it. */
__attribute__((format(printf, 3, 0))) static void
vlog(enum log_level level, const struct log_ctx *ctx, const char *fmt, va_list ap)
{
    static const struct log_ctx none = {0};
    char msg[LOG_LINE_MAX], when[SI_TIME_TEXT_LEN];
    struct line l = {.len = 0};
    struct timespec ts;
    ctx = ctx ? ctx : &none;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* Not gmtime_r: glibc's takes a process-wide lock, and every thread logs. */
    time_format((si_ms)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, when);
    if (vsnprintf(msg, sizeof msg, fmt, ap) < 0)
        msg[0] = '\0';
    if (log_format == LOG_JSON) {
        puts_(&l, "{\"time\":\"");
        puts_(&l, when);
        puts_(&l, "\"");
        put_member(&l, "level", level_names[level]);
        put_member(&l, "msg", msg);
        put_member(&l, "requestId", ctx->request_id);
        put_member(&l, "keyId", ctx->key_id);
        put_member(&l, "client", ctx->client);
        l.b[l.len++] = '}';
    } else {
        puts_(&l, when);
        puts_(&l, " ");
        puts_(&l, level_names[level]);
        puts_(&l, " ");
        if (ctx->request_id) {
            puts_(&l, ctx->request_id);
            puts_(&l, " ");
        }
        puts_(&l, msg);
        if (ctx->client) {
            puts_(&l, " client=");
            puts_(&l, ctx->client);
        }
        if (ctx->request_id) {
            puts_(&l, " key=");
            puts_(&l, ctx->key_id ? ctx->key_id : "-");
        }
    }
    l.b[l.len++] = '\n';
    emit(level, l.b, l.len);
}

void log_set_format(enum log_format format)
{
    log_format = format;
}

bool log_format_parse(const char *name, enum log_format *out)
{
    if (name && strcmp(name, "text") == 0)
        *out = LOG_TEXT;
    else if (name && strcmp(name, "json") == 0)
        *out = LOG_JSON;
    else
        return false;
    return true;
}

void log_msg_ctx(enum log_level level, const struct log_ctx *ctx, const char *fmt, ...)
{
    if ((int)level < atomic_load_explicit(&min_level, memory_order_relaxed))
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, ctx, fmt, ap);
    va_end(ap);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if ((int)level < atomic_load_explicit(&min_level, memory_order_relaxed))
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, NULL, fmt, ap);
    va_end(ap);
}

void fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(LOG_ERROR, NULL, fmt, ap);
    va_end(ap);
    abort();
}
