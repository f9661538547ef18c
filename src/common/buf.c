/* Capped growable buffers. */
#include "buf.h"

#include "log.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t limit)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = limit;
}

void buf_cleanup(struct buf *b)
{
    free(b->data);
    buf_init(b, b->limit);
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static enum si_err reserve(struct buf *b, size_t extra)
{
    if (b->limit && (extra > b->limit || b->len > b->limit - extra))
        return SI_ETOOBIG;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return SI_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
    return SI_OK;
}

enum si_err buf_append(struct buf *b, const void *p, size_t n)
{
    enum si_err rc = reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return SI_OK;
}

enum si_err buf_puts(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

enum si_err buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        return SI_EINVAL;
    enum si_err rc = reserve(b, (size_t)n);
    if (rc)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return SI_OK;
}

enum si_err buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum si_err rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

enum si_err buf_cat(struct buf *b, ...)
{
    va_list ap;
    size_t total = 0;
    va_start(ap, b);
    for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
        total += strlen(s);
    va_end(ap);
    enum si_err rc = reserve(b, total);
    if (rc)
        return rc;
    va_start(ap, b);
    for (const char *s; (s = va_arg(ap, const char *)) != NULL;) {
        size_t n = strlen(s);
        memcpy(b->data + b->len, s, n);
        b->len += n;
    }
    va_end(ap);
    b->data[b->len] = '\0';
    return SI_OK;
}

void buf_xappend(struct buf *b, const void *p, size_t n)
{
    if (buf_append(b, p, n) != SI_OK)
        fatal("buf_xappend on a capped buffer overflowed (a bug)");
}

char *buf_xspace(struct buf *b, size_t n)
{
    if (reserve(b, n) != SI_OK)
        fatal("buf_xspace on a capped buffer overflowed (a bug)");
    return b->data + b->len;
}

void buf_xadvance(struct buf *b, size_t k)
{
    b->len += k;
    b->data[b->len] = '\0';
}

void buf_xputs(struct buf *b, const char *s)
{
    buf_xappend(b, s, strlen(s));
}

char *buf_take(struct buf *b)
{
    char *d = b->data ? b->data : xstrdup("");
    buf_init(b, b->limit);
    return d;
}
