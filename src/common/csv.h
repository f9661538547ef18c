/* A streaming RFC 4180 CSV reader for spreadsheet imports (`invite import`, the console's CSV
 * upload): one record at a time from a FILE,
 * with a cap on the bytes and fields of a record, so a file of any length reads in constant
 * memory and a malformed or huge row is reported instead of read without end. */
#ifndef SI_COMMON_CSV_H
#define SI_COMMON_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CSV_RECORD_MAX (64 * 1024) /* bytes of one record's fields together */
#define CSV_FIELDS_MAX 256         /* fields of one record */

/* What csv_next found. */
enum csv_status {
    CSV_RECORD,   /* a record is in the reader */
    CSV_END,      /* end of input: no more records */
    CSV_TOO_BIG,  /* a record over CSV_RECORD_MAX bytes or CSV_FIELDS_MAX fields: it was read to
                     its end and dropped; csv_record_no() still counts it */
    CSV_IO_ERROR, /* the stream failed (errno is set) */
};

/* Reader state; caller-owned storage, set up with csv_init and released with csv_cleanup. */
struct csv_reader {
    FILE *f;    /* borrowed */
    char *buf;  /* the current record's fields, each NUL-terminated */
    size_t len; /* bytes used in buf */
    size_t off[CSV_FIELDS_MAX];
    size_t nfields;
    unsigned long record; /* 1-based number of the last record read (blank ones included) */
    bool started;         /* the byte-order mark check ran */
    bool too_big;
};

/* Starts reading f (borrowed: the caller closes it after csv_cleanup). A UTF-8 byte-order
 * mark at the very start is skipped. */
void csv_init(struct csv_reader *r, FILE *f);
/* Frees the record buffer; r may be reused after csv_init. */
void csv_cleanup(struct csv_reader *r);

/* Reads the next record. Fields may be quoted ("a, ""b""" is a, "b"), quoted fields may hold
 * commas and line breaks, records end at LF, CRLF or CR. A quote inside an unquoted field is
 * kept as text and text after a closing quote is appended, as spreadsheets do. Not
 * thread-safe; one reader per thread. */
enum csv_status csv_next(struct csv_reader *r);

/* The number of fields of the current record (at least 1). */
size_t csv_nfields(const struct csv_reader *r);
/* Field i of the current record, NUL-terminated (an embedded NUL byte ends it early), or ""
 * past the last field. Borrowed until the next csv_next or csv_cleanup. */
const char *csv_field(const struct csv_reader *r, size_t i);
/* True when every field of the current record is empty or blanks: a blank spreadsheet row. */
bool csv_blank(const struct csv_reader *r);
/* The 1-based number of the last record read (the spreadsheet row number). */
unsigned long csv_record_no(const struct csv_reader *r);

/* The column holding the addresses, from the first record: the one headed `email` (any case,
 * blanks around it ignored), else the first (0). Returns true when the first record is that
 * header, and so holds no address. */
bool csv_email_column(const struct csv_reader *r, long *col);

#endif
