/* The test clock of `serve --test-clock-file`: no file is offset 0, the offset follows the file
 * as it is replaced or rewritten, a malformed file reads as 0. Offsets are days, so the check
 * "system time plus offset, within a minute" cannot depend on how fast the test runs. */
#include "cli/test_clock.h"

#include "scratch.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define SLACK_MS ((si_ms)60000)

/* The test clock's lead over the system clock, read between two system readings. */
static void assert_offset(const struct clock *c, si_ms want)
{
    si_ms before = clock_now(&clock_system);
    si_ms t = clock_now(c);
    si_ms after = clock_now(&clock_system);
    assert_true(t >= before + want);
    assert_true(t <= after + want + SLACK_MS);
}

static void write_offset(const char *dir, const char *text)
{
    scratch_write(dir, "clock", text, strlen(text));
}

static void test_follows_the_file(void **state)
{
    const char *dir = *state;
    char path[512];
    snprintf(path, sizeof path, "%s/clock", dir);
    const struct clock *c = NULL;
    struct test_clock *t = test_clock_new(path, &c);
    assert_non_null(c);
    assert_offset(c, 0); /* no file yet */
    write_offset(dir, "864000000\n");
    assert_offset(c, 10 * SI_MS_PER_DAY);
    /* Rewritten in place: each size differs from the one before, since two writes inside the
     * file system's timestamp granularity keep the modification time (the harness renames). */
    write_offset(dir, "2592000000\n");
    assert_offset(c, 30 * SI_MS_PER_DAY);
    write_offset(dir, "-86400000\n");
    assert_offset(c, -SI_MS_PER_DAY);
    write_offset(dir, "ten days\n"); /* malformed: logged, 0 */
    assert_offset(c, 0);
    write_offset(dir, "");
    assert_offset(c, 0);
    test_clock_free(t);
    test_clock_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_follows_the_file, scratch_setup, scratch_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
