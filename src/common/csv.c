/* The streaming CSV reader of `invite import` and the console's CSV upload: a small state machine
 * over getc, and the choice of the address column. */
#include "common/csv.h"

#include "common/xalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BOM_LEN 3

void csv_init(struct csv_reader *r, FILE *f)
{
    memset(r, 0, sizeof *r);
    r->f = f;
    /* Room for a full record plus one NUL per field: never reallocated afterwards. */
    r->buf = xmalloc(CSV_RECORD_MAX + CSV_FIELDS_MAX + 1);
}

void csv_cleanup(struct csv_reader *r)
{
    free(r->buf);
    r->buf = NULL;
}

/* Skips a UTF-8 byte-order mark; puts back whatever else starts the stream. */
static void skip_bom(struct csv_reader *r)
{
    static const unsigned char bom[BOM_LEN] = {0xEF, 0xBB, 0xBF};
    int c = getc(r->f);
    if (c != bom[0]) {
        if (c != EOF)
            ungetc(c, r->f);
        return;
    }
    /* Only one byte of push-back is portable, so a partial mark is read as text. */
    for (size_t i = 1; i < BOM_LEN; i++) {
        c = getc(r->f);
        if (c != bom[i]) {
            r->buf[r->len++] = (char)bom[0];
            for (size_t j = 1; j < i; j++)
                r->buf[r->len++] = (char)bom[j];
            if (c != EOF)
                ungetc(c, r->f);
            return;
        }
    }
}

/* Appends one byte of the current field, or marks the record too big. */
static void put(struct csv_reader *r, int c)
{
    if (r->len >= CSV_RECORD_MAX) {
        r->too_big = true;
        return;
    }
    r->buf[r->len++] = (char)c;
}

/* Ends the current field: its NUL, and the next field's start. */
static void end_field(struct csv_reader *r, bool another)
{
    r->buf[r->len++] = '\0';
    if (!another)
        return;
    if (r->nfields == CSV_FIELDS_MAX) {
        r->too_big = true;
        /* Keep writing into the last field's slot: its text is dropped with the record. */
        r->len = r->off[r->nfields - 1];
        return;
    }
    r->off[r->nfields++] = r->len;
}

enum csv_status csv_next(struct csv_reader *r)
{
    r->len = 0;
    r->nfields = 1;
    r->off[0] = 0;
    r->too_big = false;
    if (!r->started) {
        r->started = true;
        skip_bom(r);
    }
    bool quoted = false, any = r->len > 0, field_start = r->len == 0;
    int c;
    for (;;) {
        c = getc(r->f);
        if (c == EOF)
            break;
        any = true;
        if (quoted) {
            if (c != '"') {
                put(r, c);
                continue;
            }
            int next = getc(r->f);
            if (next == '"') {
                put(r, '"');
                continue;
            }
            quoted = false;
            if (next != EOF)
                ungetc(next, r->f);
            continue;
        }
        if (c == ',') {
            end_field(r, true);
            field_start = true;
            continue;
        }
        if (c == '\n')
            break;
        if (c == '\r') {
            int next = getc(r->f);
            if (next != '\n' && next != EOF)
                ungetc(next, r->f);
            break;
        }
        if (c == '"' && field_start) {
            quoted = true;
            field_start = false;
            continue;
        }
        field_start = false;
        put(r, c);
    }
    if (c == EOF && ferror(r->f))
        return CSV_IO_ERROR;
    if (c == EOF && !any)
        return CSV_END;
    end_field(r, false);
    r->record++;
    return r->too_big ? CSV_TOO_BIG : CSV_RECORD;
}

size_t csv_nfields(const struct csv_reader *r)
{
    return r->nfields;
}

const char *csv_field(const struct csv_reader *r, size_t i)
{
    return i < r->nfields ? r->buf + r->off[i] : "";
}

bool csv_blank(const struct csv_reader *r)
{
    for (size_t i = 0; i < r->nfields; i++)
        for (const char *p = csv_field(r, i); *p; p++)
            if (!isspace((unsigned char)*p))
                return false;
    return true;
}

unsigned long csv_record_no(const struct csv_reader *r)
{
    return r->record;
}

bool csv_email_column(const struct csv_reader *r, long *col)
{
    *col = 0;
    for (size_t i = 0; i < csv_nfields(r); i++) {
        const char *f = csv_field(r, i);
        while (isspace((unsigned char)*f))
            f++;
        size_t n = strlen(f);
        while (n > 0 && isspace((unsigned char)f[n - 1]))
            n--;
        if (n == strlen("email") && strncasecmp(f, "email", n) == 0) {
            *col = (long)i;
            return true;
        }
    }
    return false;
}
