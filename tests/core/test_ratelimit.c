/* The token-bucket rule at fixed times: burst, refill, cap, retry-after, a clock going back. */
#include "core/ratelimit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define T0 1700000000000LL /* an arbitrary wall-clock time in ms */

static void test_burst_then_refused(void **state)
{
    (void)state;
    struct rate_bucket b = {4, T0};
    long retry = 0;
    for (int i = 0; i < 4; i++)
        assert_true(rate_take(&b, 2, 4, T0, &retry));
    assert_true(b.tokens == 0);
    assert_false(rate_take(&b, 2, 4, T0, &retry));
    assert_int_equal(retry, 1); /* one token at 2/s: 0.5 s, rounded up to whole seconds */
    assert_true(b.tokens == 0); /* a refusal takes nothing */
    assert_int_equal(b.refill_ms, T0);
}

static void test_refill_by_elapsed_time(void **state)
{
    (void)state;
    struct rate_bucket b = {0, T0};
    long retry = 0;
    assert_false(rate_take(&b, 2, 4, T0 + 400, &retry)); /* 0.8 tokens */
    assert_true(b.tokens > 0.79 && b.tokens < 0.81);
    assert_int_equal(b.refill_ms, T0 + 400);
    assert_true(rate_take(&b, 2, 4, T0 + 500, &retry)); /* 1.0 */
    assert_true(b.tokens > -1e-9 && b.tokens < 1e-9);
    assert_int_equal(b.refill_ms, T0 + 500);
}

static void test_capped_at_burst(void **state)
{
    (void)state;
    struct rate_bucket b = {1, T0};
    long retry = 0;
    assert_true(rate_take(&b, 2, 4, T0 + 3600 * 1000, &retry)); /* an hour idle: 4, not 7201 */
    assert_true(b.tokens == 3);
    /* a burst under 1 counts as 1 */
    struct rate_bucket one = {0, T0};
    assert_true(rate_take(&one, 10, 0, T0 + 5000, &retry));
    assert_true(one.tokens == 0);
}

static void test_retry_after_slow_rate(void **state)
{
    (void)state;
    struct rate_bucket b = {0.25, T0};
    long retry = 0;
    assert_false(rate_take(&b, 0.1, 1, T0, &retry)); /* 0.75 missing at 0.1/s: 7.5 s -> 8 */
    assert_int_equal(retry, 8);
}

static void test_clock_going_back(void **state)
{
    (void)state;
    struct rate_bucket b = {1.5, T0};
    long retry = 0;
    assert_true(rate_take(&b, 2, 4, T0 - 10000, &retry)); /* another instance's clock behind */
    assert_true(b.tokens == 0.5);
    assert_int_equal(b.refill_ms, T0); /* kept: no refill is counted twice later */
    assert_false(rate_take(&b, 2, 4, T0 - 5000, &retry));
    assert_int_equal(retry, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_refused), cmocka_unit_test(test_refill_by_elapsed_time),
        cmocka_unit_test(test_capped_at_burst),    cmocka_unit_test(test_retry_after_slow_rate),
        cmocka_unit_test(test_clock_going_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
