/* Capped buffers: limits hold exactly, a refused append changes nothing, growth and take. */
#include "common/buf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_append_up_to_the_limit(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 8);
    assert_int_equal(buf_append(&b, "abcd", 4), SI_OK);
    assert_int_equal(buf_puts(&b, "efgh"), SI_OK); /* exactly at the limit */
    assert_int_equal(b.len, 8);
    assert_string_equal(b.data, "abcdefgh");
    char *before = b.data;
    size_t cap = b.cap;
    /* one byte past the limit: refused, and the buffer is exactly as it was */
    assert_int_equal(buf_append(&b, "i", 1), SI_ETOOBIG);
    assert_int_equal(b.len, 8);
    assert_ptr_equal(b.data, before);
    assert_int_equal(b.cap, cap);
    assert_string_equal(b.data, "abcdefgh");
    assert_int_equal(buf_printf(&b, "%d", 1), SI_ETOOBIG);
    assert_string_equal(b.data, "abcdefgh");
    /* an empty append still fits */
    assert_int_equal(buf_append(&b, "", 0), SI_OK);
    buf_cleanup(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
}

static void test_oversized_single_append(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 4);
    assert_int_equal(buf_append(&b, "hello", 5), SI_ETOOBIG);
    assert_int_equal(b.len, 0);
    assert_null(b.data);
    /* a size that would overflow len + n must not wrap around the check */
    assert_int_equal(buf_append(&b, "x", SIZE_MAX), SI_ETOOBIG);
    assert_int_equal(b.len, 0);
    buf_cleanup(&b);
}

static void test_printf_grows(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(buf_printf(&b, "%04d,", i), SI_OK);
    assert_int_equal(b.len, 5000);
    assert_true(b.cap > b.len);
    assert_memory_equal(b.data, "0000,0001,", 10);
    assert_string_equal(b.data + 4995, "0999,");
    /* one printf larger than the first allocation */
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_int_equal(buf_printf(&b, "%600s|", "x"), SI_OK);
    assert_int_equal(b.len, 601);
    assert_int_equal(b.data[599], 'x');
    assert_int_equal(b.data[600], '|');
    buf_cleanup(&b);
}

static void test_printf_limit_is_exact(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 10);
    assert_int_equal(buf_printf(&b, "%s-%d", "abc", 12345), SI_OK); /* 9 bytes */
    assert_int_equal(buf_printf(&b, "%c", 'z'), SI_OK);             /* 10 */
    assert_int_equal(buf_printf(&b, "%c", 'y'), SI_ETOOBIG);
    assert_string_equal(b.data, "abc-12345z");
    buf_cleanup(&b);
}

static void test_take(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 100);
    char *empty = buf_take(&b); /* never NULL, even before any append */
    assert_non_null(empty);
    assert_string_equal(empty, "");
    free(empty);
    assert_int_equal(buf_puts(&b, "owned"), SI_OK);
    char *s = buf_take(&b);
    assert_string_equal(s, "owned");
    /* b is fresh again and keeps its limit */
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.limit, 100);
    assert_int_equal(buf_puts(&b, "again"), SI_OK);
    assert_string_equal(b.data, "again");
    free(s);
    buf_cleanup(&b);
}

static void test_binary_data(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(buf_append(&b, "a\0b", 3), SI_OK);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "a\0b", 4); /* NUL-terminated after the bytes too */
    buf_cleanup(&b);
}

/* buf_cat joins its strings, up to the NULL; past the limit it changes nothing. */
static void test_cat(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 6);
    assert_int_equal(buf_cat(&b, "ab", "", "c", NULL), SI_OK);
    assert_string_equal(b.data, "abc");
    assert_int_equal(buf_cat(&b, "de", "fg", NULL), SI_ETOOBIG); /* 7 bytes of 6 */
    assert_int_equal(b.len, 3);
    assert_string_equal(b.data, "abc");
    assert_int_equal(buf_cat(&b, "d", "ef", NULL), SI_OK); /* exactly at the limit */
    assert_string_equal(b.data, "abcdef");
    assert_int_equal(buf_cat(&b, NULL), SI_OK);
    assert_int_equal(b.len, 6);
    buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_up_to_the_limit),
        cmocka_unit_test(test_cat),
        cmocka_unit_test(test_oversized_single_append),
        cmocka_unit_test(test_printf_grows),
        cmocka_unit_test(test_printf_limit_is_exact),
        cmocka_unit_test(test_take),
        cmocka_unit_test(test_binary_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
