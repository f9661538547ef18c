/* Growable byte buffers with a hard cap, for anything fed from the network or a file. */
#ifndef SI_COMMON_BUF_H
#define SI_COMMON_BUF_H

#include "err.h"

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data; /* always NUL-terminated when len > 0 or after any append */
    size_t len;
    size_t cap;   /* allocated bytes */
    size_t limit; /* appends past this many bytes fail with SI_ETOOBIG; 0 means no cap */
};

/* Prepares caller-owned storage; limit 0 = uncapped (only for data we produce ourselves). */
void buf_init(struct buf *b, size_t limit);
/* Releases the storage; the struct may be reused after buf_init. */
void buf_cleanup(struct buf *b);
/* Empties the buffer, keeping its allocation. */
void buf_reset(struct buf *b);

/* Appends n bytes; SI_ETOOBIG past the limit (the buffer is then unchanged). */
enum si_err buf_append(struct buf *b, const void *p, size_t n) SI_MUST_USE;
enum si_err buf_puts(struct buf *b, const char *s) SI_MUST_USE;
enum si_err buf_printf(struct buf *b, const char *fmt, ...) SI_MUST_USE
    __attribute__((format(printf, 2, 3)));
enum si_err buf_vprintf(struct buf *b, const char *fmt, va_list ap) SI_MUST_USE
    __attribute__((format(printf, 2, 0)));

/* Appends the strings given, up to a NULL: as buf_printf with only %s, without parsing a
 * format or formatting twice (SI_ETOOBIG past the limit, the buffer then unchanged). */
enum si_err buf_cat(struct buf *b, ...) SI_MUST_USE __attribute__((sentinel));

/* Appends to an uncapped buffer (limit 0): cannot fail, aborts on out-of-memory. */
void buf_xappend(struct buf *b, const void *p, size_t n);
void buf_xputs(struct buf *b, const char *s);

/* For writers that know an upper bound of what they append (an uncapped buffer): buf_xspace
 * returns room for at least n bytes after the data, buf_xadvance(b, k) then takes the k <= n
 * bytes written there as appended. One capacity check for a whole member instead of one per
 * piece. */
char *buf_xspace(struct buf *b, size_t n);
void buf_xadvance(struct buf *b, size_t k);

/* Hands the NUL-terminated data to the caller (who frees it) and re-initialises b. */
char *buf_take(struct buf *b);

#endif
