/* The console's rules at fixed times: a sign-in link's state, a session's idle timeout and
 * absolute lifetime (edges included), a clock going back, and when last_seen is written. */
#include "core/console.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define T0 1700000000000LL /* an arbitrary wall-clock time in ms */

static void test_link_state(void **state)
{
    (void)state;
    si_ms exp = T0 + 900000;
    assert_int_equal(console_link_state(0, exp, T0), CONSOLE_LINK_OK);
    assert_int_equal(console_link_state(0, exp, exp - 1), CONSOLE_LINK_OK);
    assert_int_equal(console_link_state(0, exp, exp), CONSOLE_LINK_EXPIRED);
    assert_int_equal(console_link_state(T0 + 5, exp, T0 + 10), CONSOLE_LINK_USED);
    /* Used says more than expired: the owner did sign in with it. */
    assert_int_equal(console_link_state(T0 + 5, exp, exp + 1), CONSOLE_LINK_USED);
}

static void test_session_idle_and_lifetime(void **state)
{
    (void)state;
    assert_true(console_session_alive(T0, T0, T0, 1800, 43200));
    assert_true(console_session_alive(T0, T0, T0 + 1799999, 1800, 43200));
    assert_false(console_session_alive(T0, T0, T0 + 1800000, 1800, 43200));
    /* Seen recently but too old: the absolute lifetime wins. */
    si_ms late = T0 + 43200000;
    assert_true(console_session_alive(T0, late - 1000, late - 1, 1800, 43200));
    assert_false(console_session_alive(T0, late - 1000, late, 1800, 43200));
    /* A clock that went back counts as no time passed. */
    assert_true(console_session_alive(T0, T0, T0 - 5000000, 1800, 43200));
}

static void test_touch_once_a_minute(void **state)
{
    (void)state;
    assert_false(console_session_needs_touch(T0, T0));
    assert_false(console_session_needs_touch(T0, T0 + CONSOLE_TOUCH_MS - 1));
    assert_true(console_session_needs_touch(T0, T0 + CONSOLE_TOUCH_MS));
}

static void test_sweep_bounds(void **state)
{
    (void)state;
    struct console_sweep_bounds b;
    console_sweep_bounds(T0, &b);
    assert_true(b.link_expired_before == T0 - 86400000);
    /* No setting keeps a session alive past these: the settings' own upper bounds. */
    assert_false(console_session_alive(T0, b.session_seen_before, T0, CONSOLE_IDLE_MAX_S,
                                       CONSOLE_LIFE_MAX_S));
    assert_false(console_session_alive(b.session_created_before, T0, T0, CONSOLE_IDLE_MAX_S,
                                       CONSOLE_LIFE_MAX_S));
    assert_true(console_session_alive(b.session_created_before + 1, b.session_seen_before + 1, T0,
                                      CONSOLE_IDLE_MAX_S, CONSOLE_LIFE_MAX_S));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_link_state),
        cmocka_unit_test(test_session_idle_and_lifetime),
        cmocka_unit_test(test_touch_once_a_minute),
        cmocka_unit_test(test_sweep_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
