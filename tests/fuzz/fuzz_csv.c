/* Fuzzes the CSV reader of `invite import` (common/csv.c) with any file, read from memory through
 * the same FILE interface. Every record must respect the caps (1..CSV_FIELDS_MAX fields, at most
 * CSV_RECORD_MAX bytes), record numbers only grow, and a field past the last one reads as "".
 * Each record's first three cells then go through the result-file writer (import_row_format)
 * and are read back: the reader must return exactly the cells written, so a result file is
 * always a valid CSV of the same values, whatever the input held. The set of seen addresses
 * (import_seen_add) must name the first row of an address added twice. */
#include "fuzz_support.h"

#include "common/csv.h"
#include "cli/import.h"
#include "common/buf.h"

#include <stdlib.h>
#include <string.h>

#define RECORDS_MAX 4096 /* records read from one input: plenty for any seed, bounds the time */

/* Writes cells as one result-file line, reads it back and compares. */
static void round_trip(unsigned long row_no, const char *email, const char *code,
                       const char *description)
{
    struct import_row row = {.row = row_no, .result = IMPORT_FAILED};
    row.email = (char *)email;
    row.code = (char *)code;
    row.description = (char *)description;
    struct buf b;
    buf_init(&b, 4 * CSV_RECORD_MAX);
    import_row_format(&b, &row);
    FILE *f = fmemopen(b.data, b.len, "r");
    fuzz_check(f != NULL, "fmemopen");
    struct csv_reader r;
    csv_init(&r, f);
    fuzz_check(csv_next(&r) == CSV_RECORD && csv_nfields(&r) == 6, "a result line has 6 cells");
    fuzz_check(strcmp(csv_field(&r, 1), email) == 0, "the email cell reads back");
    fuzz_check(strcmp(csv_field(&r, 2), "failed") == 0, "the result cell reads back");
    fuzz_check(strcmp(csv_field(&r, 3), "") == 0, "the empty cell reads back");
    fuzz_check(strcmp(csv_field(&r, 4), code) == 0, "the code cell reads back");
    fuzz_check(strcmp(csv_field(&r, 5), description) == 0, "the description cell reads back");
    fuzz_check(csv_next(&r) == CSV_END, "a result line is one record");
    csv_cleanup(&r);
    fclose(f);
    buf_cleanup(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* fmemopen wants a buffer of at least one byte. */
    char *copy = fuzz_strndup(data, size);
    FILE *f = fmemopen(copy, size ? size : 1, "r");
    fuzz_check(f != NULL, "fmemopen");
    if (!size)
        fgetc(f); /* an empty file: reach EOF */
    struct csv_reader r;
    struct import_seen seen;
    csv_init(&r, f);
    import_seen_init(&seen);
    unsigned long last = 0;
    enum csv_status st;
    for (int n = 0; n < RECORDS_MAX && (st = csv_next(&r)) != CSV_END; n++) {
        fuzz_check(st != CSV_IO_ERROR, "reading memory never fails");
        fuzz_check(csv_record_no(&r) > last, "record numbers grow");
        last = csv_record_no(&r);
        if (st == CSV_TOO_BIG)
            continue;
        size_t nf = csv_nfields(&r), total = 0;
        fuzz_check(nf >= 1 && nf <= CSV_FIELDS_MAX, "1..CSV_FIELDS_MAX fields");
        for (size_t i = 0; i < nf; i++)
            total += strlen(csv_field(&r, i));
        fuzz_check(total <= CSV_RECORD_MAX, "a record within CSV_RECORD_MAX bytes");
        fuzz_check(strcmp(csv_field(&r, nf), "") == 0, "past the last field reads as empty");
        round_trip(last, csv_field(&r, 0), csv_field(&r, 1), csv_field(&r, 2));
        unsigned long first = import_seen_add(&seen, csv_field(&r, 0), last);
        fuzz_check(import_seen_add(&seen, csv_field(&r, 0), last + 1) == (first ? first : last),
                   "an address added again names its first row");
    }
    import_seen_cleanup(&seen);
    csv_cleanup(&r);
    fclose(f);
    free(copy);
    return 0;
}
