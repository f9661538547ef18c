/* Allocation that cannot fail: the server and CLI abort on out-of-memory (the client never). */
#ifndef SI_COMMON_XALLOC_H
#define SI_COMMON_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
/* Returns a heap copy of s (NULL gives NULL); caller frees. */
char *xstrdup(const char *s);
/* Returns a NUL-terminated heap copy of the first n bytes of s; caller frees. */
char *xstrndup(const char *s, size_t n);
/* printf into a new heap string; caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
