/* Unit tests of the CSV reader of `invite import` (src/common/csv.c) and of the row helpers
 * (result-file quoting, the repeated-address set): RFC 4180 edge cases and the size caps. */
#include "common/csv.h"
#include "cli/import.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* A reader over an in-memory text (fmemopen keeps the bytes, NULs included). */
struct mem_csv {
    FILE *f;
    struct csv_reader r;
};

static void open_text(struct mem_csv *m, const char *text, size_t len)
{
    m->f = fmemopen((void *)text, len, "rb");
    assert_non_null(m->f);
    csv_init(&m->r, m->f);
}

static void close_text(struct mem_csv *m)
{
    csv_cleanup(&m->r);
    fclose(m->f);
}

/* Asserts the next record has exactly the given fields. */
static void expect_record(struct mem_csv *m, size_t n, const char *const *fields)
{
    assert_int_equal(csv_next(&m->r), CSV_RECORD);
    assert_int_equal(csv_nfields(&m->r), n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(csv_field(&m->r, i), fields[i]);
}

static void test_quoted_fields_bom_and_line_ends(void **state)
{
    (void)state;
    static const char text[] = "\xEF\xBB\xBF"
                               "email,name\r\n"
                               "\"a@x.com\",\"Smith, \"\"Jo\"\"\"\r\n"
                               "b@x.com,\"two\r\nlines\"\n"
                               "c@x.com,cr only\r"
                               "d@x.com,last";
    struct mem_csv m;
    open_text(&m, text, sizeof text - 1);
    expect_record(&m, 2, (const char *const[]){"email", "name"});
    expect_record(&m, 2, (const char *const[]){"a@x.com", "Smith, \"Jo\""});
    expect_record(&m, 2, (const char *const[]){"b@x.com", "two\r\nlines"});
    expect_record(&m, 2, (const char *const[]){"c@x.com", "cr only"});
    expect_record(&m, 2, (const char *const[]){"d@x.com", "last"});
    assert_int_equal(csv_record_no(&m.r), 5);
    assert_int_equal(csv_next(&m.r), CSV_END);
    close_text(&m);
}

static void test_blank_rows_and_lenient_quotes(void **state)
{
    (void)state;
    static const char text[] = "\n , ,\na\"b,\"q\"tail,\"\"\n\"open";
    struct mem_csv m;
    open_text(&m, text, sizeof text - 1);
    assert_int_equal(csv_next(&m.r), CSV_RECORD);
    assert_true(csv_blank(&m.r));
    assert_int_equal(csv_next(&m.r), CSV_RECORD);
    assert_true(csv_blank(&m.r));
    expect_record(&m, 3, (const char *const[]){"a\"b", "qtail", ""});
    assert_false(csv_blank(&m.r));
    /* An unterminated quote runs to the end of the input. */
    expect_record(&m, 1, (const char *const[]){"open"});
    assert_int_equal(csv_record_no(&m.r), 4);
    assert_string_equal(csv_field(&m.r, 7), "");
    assert_int_equal(csv_next(&m.r), CSV_END);
    close_text(&m);
}

/* A row over the byte cap or the field cap is dropped whole; the next row reads normally. */
static void test_oversize_rows_are_reported_and_skipped(void **state)
{
    (void)state;
    size_t big = CSV_RECORD_MAX + 10, fields = CSV_FIELDS_MAX + 5;
    size_t cap = big + 2 * fields + 64;
    char *text = calloc(1, cap);
    assert_non_null(text);
    size_t n = 0;
    text[n++] = '"';
    memset(text + n, 'x', big);
    n += big;
    n += (size_t)snprintf(text + n, cap - n, "\",y\n");
    for (size_t i = 0; i < fields; i++)
        text[n++] = ',';
    n += (size_t)snprintf(text + n, cap - n, "\nok@x.com\n");
    struct mem_csv m;
    open_text(&m, text, n);
    assert_int_equal(csv_next(&m.r), CSV_TOO_BIG);
    assert_int_equal(csv_next(&m.r), CSV_TOO_BIG);
    expect_record(&m, 1, (const char *const[]){"ok@x.com"});
    assert_int_equal(csv_record_no(&m.r), 3);
    assert_int_equal(csv_next(&m.r), CSV_END);
    close_text(&m);
    free(text);
}

static void test_result_line_quoting(void **state)
{
    (void)state;
    struct import_row row = {.row = 7, .result = IMPORT_FAILED};
    row.email = strdup("a,\"b\"@x.com");
    row.code = strdup("INVALID_EMAIL");
    row.description = strdup("bad\nline");
    struct buf b;
    buf_init(&b, 0);
    import_row_format(&b, &row);
    assert_string_equal(b.data, "7,\"a,\"\"b\"\"@x.com\",failed,,INVALID_EMAIL,\"bad\nline\"\n");
    buf_cleanup(&b);
    import_row_cleanup(&row);
    assert_null(row.email);
}

static void test_seen_set_is_case_insensitive_and_grows(void **state)
{
    (void)state;
    struct import_seen s;
    import_seen_init(&s);
    char email[64];
    for (unsigned long i = 1; i <= 5000; i++) {
        snprintf(email, sizeof email, "user%lu@example.com", i);
        assert_int_equal(import_seen_add(&s, email, i), 0);
    }
    assert_int_equal(import_seen_add(&s, "USER42@Example.com", 9000), 42);
    assert_int_equal(import_seen_add(&s, "user5000@example.com", 9001), 5000);
    assert_int_equal(import_seen_add(&s, "user5001@example.com", 9002), 0);
    import_seen_cleanup(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quoted_fields_bom_and_line_ends),
        cmocka_unit_test(test_blank_rows_and_lenient_quotes),
        cmocka_unit_test(test_oversize_rows_are_reported_and_skipped),
        cmocka_unit_test(test_result_line_quoting),
        cmocka_unit_test(test_seen_set_is_case_insensitive_and_grows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
