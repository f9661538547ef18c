/* What admin commands print: with --json exactly one JSON object on stdout, otherwise
 * `key: value` lines and small aligned tables for people. */
#ifndef SI_CLI_OUTPUT_H
#define SI_CLI_OUTPUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OUTPUT_COLS_MAX 8 /* columns of one table */

/* One answer being built. In JSON mode everything goes into one object printed by
 * output_finish; in text mode fields are printed as they come, tables when they end. */
struct output {
    bool json;
    json_t *obj;            /* JSON mode only; owned */
    const char *secret_key; /* member wiped from memory after printing (output_secret) */
};

/* One list: an array of objects in JSON, an aligned table with a header line in text. */
struct output_table {
    const char *key;                   /* JSON member name; text caption when captioned */
    const char *cols[OUTPUT_COLS_MAX]; /* JSON member names and text headers */
    size_t ncols;
    bool captioned; /* text: print "key:" above the table */
    json_t *rows;   /* every row as an array of strings (both modes); owned */
};

void output_init(struct output *o, bool json);
/* Prints the JSON object (JSON mode) and releases everything. Returns 0, or 2 when stdout
 * could not be written (a closed pipe, a full disk). */
int output_finish(struct output *o);

/* A string field; NULL prints as null in JSON and as "-" in text. */
void output_str(struct output *o, const char *key, const char *value);
void output_int(struct output *o, const char *key, int64_t value);
void output_bool(struct output *o, const char *key, bool value);
/* A string field that is a secret shown once (an API key): as output_str, and the JSON copy is
 * wiped before it is freed. One per output. The caller wipes its own copy. */
void output_secret(struct output *o, const char *key, const char *value);

/* Starts a table with ncols columns named by cols (static strings). */
void output_table_init(struct output_table *t, const char *key, const char *const *cols,
                       size_t ncols);
/* Adds a row of ncols strings (copied; NULL allowed). */
void output_table_row(struct output_table *t, const char *const *values);
/* Emits the table into o and releases it. */
void output_table_end(struct output *o, struct output_table *t);

#endif
