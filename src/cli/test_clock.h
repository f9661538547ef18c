/* TESTS ONLY: a clock that runs ahead of the system clock by an offset read from a file, so an
 * end-to-end test can move a running server days forward (reminders, expiry) without waiting.
 * `serve --test-clock-file PATH` (docs/CONFIG.md) refuses it outside --dev and the test
 * environment variable. */
#ifndef SI_CLI_TEST_CLOCK_H
#define SI_CLI_TEST_CLOCK_H

#include "common/clock.h"

#define TEST_CLOCK_ENV "SITEINVITES_TESTS" /* "1" allows --test-clock-file without --dev */

struct test_clock;

/* Opens the clock on path: the file holds one decimal offset in milliseconds (may be negative)
 * added to the system clock; a missing or empty file is offset 0. The file is read again when
 * its modification time, size or inode changes, so a writer that replaces it (rename, as the
 * test harness does) is seen at the next reading of the clock. A rewrite in place of the same
 * size inside the file system's timestamp granularity may go unseen. *out_clock is the struct
 * clock to hand to the app, the sweeper and the mailer; both are valid until test_clock_free.
 * Never fails. */
struct test_clock *test_clock_new(const char *path, const struct clock **out_clock);

/* Frees the clock; NULL is accepted. Nothing may read the clock any more. */
void test_clock_free(struct test_clock *t);

#endif
