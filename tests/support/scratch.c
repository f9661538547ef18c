/* Throwaway test folders under /tmp: create, fill, remove. */
#include "scratch.h"

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#define SCRATCH_FDS 16 /* folders nftw may hold open at once */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int scratch_setup(void **state)
{
    char *dir = strdup("/tmp/si-test-XXXXXX");
    assert_non_null(dir);
    assert_non_null(mkdtemp(dir));
    *state = dir;
    return 0;
}

int scratch_teardown(void **state)
{
    nftw(*state, rm_entry, SCRATCH_FDS, FTW_DEPTH | FTW_PHYS);
    free(*state);
    return 0;
}

void scratch_mkdir(const char *dir, const char *name)
{
    char path[SCRATCH_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(mkdir(path, 0700), 0);
}

void scratch_write(const char *dir, const char *name, const char *data, size_t len)
{
    char path[SCRATCH_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}
