/* Database URLs for store tests: a fresh SQLite file per call, or a fresh database on the
 * PostgreSQL server a test run names. */
#ifndef SI_TESTS_STORE_FIXTURE_H
#define SI_TESTS_STORE_FIXTURE_H

#include <stdbool.h>

/* Environment variable naming the store under test. A postgres:// URL names a maintenance
 * database on a server the tests may use: each store_fixture_url() call creates a new database
 * there (CREATE DATABASE si_t_<random hex>). Any other value is returned as is; when unset each
 * call makes a new SQLite database under /tmp. */
#define STORE_FIXTURE_ENV "SI_TEST_STORE_URL"

/* Returns a heap URL the caller frees (after store_fixture_remove). Aborts if /tmp is unusable
 * or the PostgreSQL server refuses to create the database. */
char *store_fixture_url(void);

/* True when url is a private database made by store_fixture_url (empty at first use). */
bool store_fixture_is_private(const char *url);

/* Deletes a private database: the SQLite file (-wal, -shm, folder), or the PostgreSQL database
 * (DROP DATABASE ... WITH (FORCE)). Other URLs are left alone. */
void store_fixture_remove(const char *url);

#endif
