/* Database URLs for store tests: a fresh SQLite file per call, or the server a test run names.
 * Uses libc only, so it links into every test executable. */
#ifndef SI_TESTS_STORE_FIXTURE_H
#define SI_TESTS_STORE_FIXTURE_H

#include <stdbool.h>

/* Environment variable naming the store under test (e.g. a postgres:// URL); when unset each
 * call of store_fixture_url makes a new SQLite database under /tmp. */
#define STORE_FIXTURE_ENV "SI_TEST_STORE_URL"

/* Returns a heap URL the caller frees (after store_fixture_remove). Aborts if /tmp is unusable. */
char *store_fixture_url(void);

/* True when url is a private SQLite file made by store_fixture_url (empty at first use). */
bool store_fixture_is_private(const char *url);

/* Deletes a private SQLite database (file, -wal, -shm, folder); other URLs are left alone. */
void store_fixture_remove(const char *url);

#endif
