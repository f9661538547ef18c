/* Admin command output: one JSON object (--json) or aligned text for people. */
#include "cli/output.h"

#include "common/secure.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define TEXT_NULL     "-"
#define COL_GAP       2  /* spaces between table columns */
#define COL_WIDTH_MAX 60 /* wider cells push their neighbours rather than everyone */

void output_init(struct output *o, bool json)
{
    o->json = json;
    o->obj = json ? json_object() : NULL;
    o->secret_key = NULL;
}

int output_finish(struct output *o)
{
    int rc = 0;
    if (o->json) {
        /* Compact, keys in insertion order, one line: easy for scripts and jq alike. */
        if (json_dumpf(o->obj, stdout, JSON_PRESERVE_ORDER | JSON_COMPACT) != 0 ||
            fputc('\n', stdout) == EOF)
            rc = 2;
        const char *secret =
            o->secret_key ? json_string_value(json_object_get(o->obj, o->secret_key)) : NULL;
        if (secret)
            secure_wipe((char *)secret, strlen(secret)); /* jansson's own copy of the key */
        json_decref(o->obj);
        o->obj = NULL;
    }
    if (fflush(stdout) != 0 || ferror(stdout))
        rc = 2;
    return rc;
}

void output_str(struct output *o, const char *key, const char *value)
{
    if (o->json)
        json_object_set_new(o->obj, key, value ? json_string(value) : json_null());
    else
        printf("%s: %s\n", key, value ? value : TEXT_NULL);
}

void output_secret(struct output *o, const char *key, const char *value)
{
    o->secret_key = key;
    output_str(o, key, value);
}

void output_int(struct output *o, const char *key, int64_t value)
{
    if (o->json)
        json_object_set_new(o->obj, key, json_integer((json_int_t)value));
    else
        printf("%s: %" PRId64 "\n", key, value);
}

void output_bool(struct output *o, const char *key, bool value)
{
    if (o->json)
        json_object_set_new(o->obj, key, json_boolean(value));
    else
        printf("%s: %s\n", key, value ? "true" : "false");
}

void output_table_init(struct output_table *t, const char *key, const char *const *cols,
                       size_t ncols)
{
    memset(t, 0, sizeof *t);
    t->key = key;
    t->ncols = ncols < OUTPUT_COLS_MAX ? ncols : OUTPUT_COLS_MAX;
    for (size_t i = 0; i < t->ncols; i++)
        t->cols[i] = cols[i];
    t->rows = json_array();
}

void output_table_row(struct output_table *t, const char *const *values)
{
    json_t *row = json_array();
    for (size_t i = 0; i < t->ncols; i++)
        json_array_append_new(row, values[i] ? json_string(values[i]) : json_null());
    json_array_append_new(t->rows, row);
}

/* A table cell's text; a JSON null prints as "-". */
static const char *cell(json_t *row, size_t i)
{
    const char *s = json_string_value(json_array_get(row, i));
    return s ? s : TEXT_NULL;
}

/* Header line and rows, each column as wide as its widest cell (capped). */
static void print_text_table(const struct output_table *t)
{
    size_t width[OUTPUT_COLS_MAX];
    for (size_t c = 0; c < t->ncols; c++)
        width[c] = strlen(t->cols[c]);
    size_t r;
    json_t *row;
    json_array_foreach(t->rows, r, row)
    {
        for (size_t c = 0; c < t->ncols; c++) {
            size_t n = strlen(cell(row, c));
            if (n > width[c])
                width[c] = n < COL_WIDTH_MAX ? n : COL_WIDTH_MAX;
        }
    }
    if (t->captioned)
        printf("%s:\n", t->key);
    /* The last column is not padded, so lines carry no trailing blanks. */
    for (size_t c = 0; c < t->ncols; c++)
        printf("%-*s%s", c + 1 < t->ncols ? (int)(width[c] + COL_GAP) : 0, t->cols[c],
               c + 1 < t->ncols ? "" : "\n");
    json_array_foreach(t->rows, r, row)
    {
        for (size_t c = 0; c < t->ncols; c++)
            printf("%-*s%s", c + 1 < t->ncols ? (int)(width[c] + COL_GAP) : 0, cell(row, c),
                   c + 1 < t->ncols ? "" : "\n");
    }
    if (json_array_size(t->rows) == 0)
        printf("(none)\n");
}

void output_table_end(struct output *o, struct output_table *t)
{
    if (o->json) {
        /* Rows become objects keyed by the column names, in column order. */
        json_t *arr = json_array();
        size_t r;
        json_t *row;
        json_array_foreach(t->rows, r, row)
        {
            json_t *obj = json_object();
            for (size_t c = 0; c < t->ncols; c++)
                json_object_set(obj, t->cols[c], json_array_get(row, c));
            json_array_append_new(arr, obj);
        }
        json_object_set_new(o->obj, t->key, arr);
    } else {
        print_text_table(t);
    }
    json_decref(t->rows);
    t->rows = NULL;
}
