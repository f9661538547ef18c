/* GUIDs: the shape and version bits of new IDs, validation and normalisation. */
#include "common/ids.h"

#include "fakes.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* Checks the 8-4-4-4-12 lowercase shape, version 4 and the RFC 4122 variant. */
static void assert_v4(const char *id)
{
    assert_int_equal(strlen(id), 36);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal(id[i], '-');
        else
            assert_non_null(strchr("0123456789abcdef", id[i]));
    }
    assert_int_equal(id[14], '4');
    assert_non_null(strchr("89ab", id[19]));
    assert_true(id_valid(id));
}

static void test_new_ids(void **state)
{
    (void)state;
    struct fake_random fr;
    fake_random_init(&fr, 1);
    char a[SI_ID_LEN], b[SI_ID_LEN];
    id_new(&fr.source, a);
    id_new(&fr.source, b);
    assert_v4(a);
    assert_v4(b);
    assert_string_not_equal(a, b);
    /* the extremes of the random bytes still give version and variant bits */
    struct fake_constant_random zeros, ones;
    fake_constant_random_init(&zeros, 0x00);
    fake_constant_random_init(&ones, 0xff);
    id_new(&zeros.source, a);
    assert_string_equal(a, "00000000-0000-4000-8000-000000000000");
    id_new(&ones.source, a);
    assert_string_equal(a, "ffffffff-ffff-4fff-bfff-ffffffffffff");
    /* the same stream gives the same IDs, so tests can predict them */
    struct fake_random again;
    fake_random_init(&fr, 1);
    fake_random_init(&again, 1);
    id_new(&fr.source, a);
    id_new(&again.source, b);
    assert_string_equal(a, b);
}

static void test_time_ordered_ids(void **state)
{
    (void)state;
    struct fake_constant_random zeros, ones;
    fake_constant_random_init(&zeros, 0x00);
    fake_constant_random_init(&ones, 0xff);
    char a[SI_ID_LEN], b[SI_ID_LEN];
    /* 2026-11-26T05:05:42.123Z = 0x01A2163EC4EB ms: the first 48 bits, then version 7. */
    id_new_at(&zeros.source, 1795669542123, a);
    assert_string_equal(a, "01a2163e-c4eb-7000-8000-000000000000");
    assert_true(id_valid(a));
    /* Text order follows time order, whatever the random bits. */
    id_new_at(&ones.source, 1795669542123, a);
    id_new_at(&zeros.source, 1795669542124, b);
    assert_true(strcmp(a, b) < 0);
    assert_int_equal(a[14], '7');
    assert_non_null(strchr("89ab", a[19]));
}

static void test_valid(void **state)
{
    (void)state;
    assert_true(id_valid("0b7e3c52-9a4b-4c1e-8d2f-3a6b5c4d2e1f"));
    assert_true(id_valid("00000000-0000-0000-0000-000000000000"));
    const char *bad[] = {
        "0B7E3C52-9A4B-4C1E-8D2F-3A6B5C4D2E1F",  /* uppercase is not the stored form */
        "0b7e3c52-9a4b-4c1e-8d2f-3a6b5c4d2e1",   /* 35 chars */
        "0b7e3c52-9a4b-4c1e-8d2f-3a6b5c4d2e1f0", /* 37 chars */
        "0b7e3c529a4b4c1e8d2f3a6b5c4d2e1f",      /* no dashes */
        "0b7e3c52-9a4b-4c1e-8d2f3-a6b5c4d2e1f",  /* dash misplaced */
        "0b7e3c52-9a4b-4c1e-8d2f-3a6b5c4d2e1g",  /* not hex */
        "{b7e3c52-9a4b-4c1e-8d2f-3a6b5c4d2e1}",  "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (id_valid(bad[i]))
            fail_msg("\"%s\" was accepted", bad[i]);
    }
    assert_false(id_valid(NULL));
}

static void test_normalize(void **state)
{
    (void)state;
    char out[SI_ID_LEN];
    assert_true(id_normalize("0B7E3C52-9A4B-4C1E-8D2F-3A6B5C4D2E1F", out));
    assert_string_equal(out, "0b7e3c52-9a4b-4c1e-8d2f-3a6b5c4d2e1f");
    assert_true(id_normalize("0b7e3c52-9a4b-4c1e-8d2f-3a6b5c4d2e1f", out));
    assert_string_equal(out, "0b7e3c52-9a4b-4c1e-8d2f-3a6b5c4d2e1f");
    memcpy(out, "untouched", 10);
    assert_false(id_normalize("0B7E3C52-9A4B-4C1E-8D2F-3A6B5C4D2E1", out));
    assert_false(id_normalize("0B7E3C52-9A4B-4C1E-8D2F-3A6B5C4D2E1FF", out));
    assert_false(id_normalize("0B7E3C52-9A4B-4C1E-8D2F-3A6B5C4D2E1G", out));
    assert_false(id_normalize("", out));
    assert_false(id_normalize(NULL, out));
    assert_string_equal(out, "untouched");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_ids),
        cmocka_unit_test(test_time_ordered_ids),
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_normalize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
