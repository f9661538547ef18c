/* Throwaway folders for tests that read or write files: made under /tmp by a cmocka setup and
 * removed, with everything in them, by the matching teardown. */
#ifndef SI_TESTS_SCRATCH_H
#define SI_TESTS_SCRATCH_H

#include <stddef.h>

#define SCRATCH_PATH_MAX 4096 /* bytes of a path inside a scratch folder */

/* cmocka setup: *state becomes the new folder's path (heap, freed by scratch_teardown). */
int scratch_setup(void **state);

/* cmocka teardown: removes the folder *state and all it holds, and frees the path. */
int scratch_teardown(void **state);

/* Makes the folder dir/name (its parent must exist); fails the test on error. */
void scratch_mkdir(const char *dir, const char *name);

/* Writes len bytes of data to dir/name, replacing it; fails the test on error. */
void scratch_write(const char *dir, const char *name, const char *data, size_t len);

#endif
