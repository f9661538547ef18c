/* Shared helpers of the fuzz targets: input splitting and invariant checks. */
#include "fuzz_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *fuzz_strndup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

uint8_t fuzz_byte(struct fuzz_reader *r)
{
    if (!r->left)
        return 0;
    r->left--;
    return *r->p++;
}

char *fuzz_string(struct fuzz_reader *r, size_t *len)
{
    const uint8_t *sep = r->left ? memchr(r->p, FUZZ_SEP, r->left) : NULL;
    size_t n = sep ? (size_t)(sep - r->p) : r->left;
    char *s = fuzz_strndup(r->p, n);
    /* Skip the separator too, so the next value starts after it. */
    size_t used = sep ? n + 1 : n;
    r->p += used;
    r->left -= used;
    if (len)
        *len = n;
    return s;
}

void fuzz_check(bool ok, const char *what)
{
    if (ok)
        return;
    fprintf(stderr, "fuzz invariant broken: %s\n", what);
    abort();
}

const char *fuzz_source_dir(void)
{
    const char *env = getenv("SI_SOURCE_DIR");
    return env && *env ? env : SI_SOURCE_DIR;
}
