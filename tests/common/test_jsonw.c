/* The JSON text writer: escaping that jansson agrees with, and member separators. */
#include "common/jsonw.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* Writes s with jw_string and checks jansson parses it back to the same bytes. */
static void round_trip(const char *s, size_t n)
{
    struct buf b;
    buf_init(&b, 0);
    jw_string(&b, s, n);
    json_error_t err;
    json_t *v = json_loadb(b.data, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (!v)
        fail_msg("jansson refused %s: %s", b.data, err.text);
    assert_true(json_is_string(v));
    assert_int_equal(json_string_length(v), n);
    assert_memory_equal(json_string_value(v), s, n);
    /* Raw control characters must never reach the text. */
    for (size_t i = 0; i < b.len; i++)
        assert_true((unsigned char)b.data[i] >= 0x20);
    json_decref(v);
    buf_cleanup(&b);
}

static void test_escaping(void **state)
{
    (void)state;
    round_trip("", 0);
    round_trip("plain", 5);
    round_trip("quote \" and backslash \\", 24);
    round_trip("line\r\nbreak\ttab", 15);
    round_trip("nul\0inside", 10);
    round_trip("\x01\x1f", 2);
    round_trip("utf-8: \xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80", 16);
    round_trip("</script><b>", 12);
    /* Long strings are sized exactly before writing (escape_room): escapes of each kind. */
    static char lng[10000];
    for (size_t i = 0; i < sizeof lng; i++)
        lng[i] = "ab\"\\\n\x01"
                 "cd"[i % 8];
    round_trip(lng, sizeof lng);
}

/* Each byte value at each place of the 8-byte words the writer scans (and across their
 * edges): ASCII must round-trip through jansson escaped as needed, bytes above 0x7F (UTF-8
 * parts, which jansson would judge as a sequence) are written as they are. */
static void test_every_byte_everywhere(void **state)
{
    (void)state;
    char s[25], want[40];
    struct buf b;
    buf_init(&b, 0);
    for (int c = 0; c < 256; c++) {
        for (size_t at = 0; at < sizeof s; at++) {
            memset(s, 'x', sizeof s);
            s[at] = (char)c;
            if (c < 0x80) {
                round_trip(s, sizeof s);
                continue;
            }
            buf_reset(&b);
            jw_string(&b, s, sizeof s);
            want[0] = '"';
            memcpy(want + 1, s, sizeof s);
            want[sizeof s + 1] = '"';
            assert_int_equal(b.len, sizeof s + 2);
            assert_memory_equal(b.data, want, sizeof s + 2);
        }
    }
    buf_cleanup(&b);
}

static void test_members(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    buf_xputs(&b, "{");
    jw_member_str(&b, "a", "x\"y");
    jw_member_int(&b, "n", -42);
    jw_member_time(&b, "t", 1795669542123);
    buf_xputs(&b, "}");
    assert_string_equal(b.data, "{\"a\":\"x\\\"y\",\"n\":-42,\"t\":\"2026-11-26T05:05:42.123Z\"}");
    buf_cleanup(&b);
    /* Integers at both ends, and a member after a nested array. */
    buf_init(&b, 0);
    buf_xputs(&b, "{");
    jw_member_int(&b, "min", INT64_MIN);
    jw_member_int(&b, "max", INT64_MAX);
    jw_member_int(&b, "zero", 0);
    buf_xputs(&b, ","); /* jw_key writes no separator: its callers do */
    jw_key(&b, "l");
    buf_xputs(&b, "[");
    jw_string(&b, "e", 1);
    buf_xputs(&b, "]");
    jw_member_time(&b, "t", 0);
    buf_xputs(&b, ",\"ids\":[");
    jw_int(&b, -7);
    buf_xputs(&b, ",");
    jw_int(&b, 1000000000000);
    buf_xputs(&b, "]");
    buf_xputs(&b, "}");
    assert_string_equal(b.data, "{\"min\":-9223372036854775808,\"max\":9223372036854775807,"
                                "\"zero\":0,\"l\":[\"e\"],\"t\":\"1970-01-01T00:00:00.000Z\","
                                "\"ids\":[-7,1000000000000]}");
    buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_every_byte_everywhere),
        cmocka_unit_test(test_members),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
