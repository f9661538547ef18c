/* `siteinvites invite import`: bulk-invites the addresses of a CSV file over the HTTP API
 * (the public client library), chunk by chunk, with progress on stderr and a per-row result
 * file. The parts shared by import.c and import_rows.c are declared here too. */
#ifndef SI_CLI_IMPORT_H
#define SI_CLI_IMPORT_H

#include "cli/cli.h"
#include "common/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The command (registered in cli.c). Exit 0 when every row was invited (created, already
 * pending, or a repeat of an earlier row), 1 when a row failed or a chunk errored, 2 for a
 * usage, configuration or I/O error (nothing is sent when it is found before the first
 * chunk). Main thread only. */
int cli_invite_import(const struct cli_cmd *cmd, const struct settings *s,
                      const struct cli_args *a);
/* Its options (static storage, NULL-flag terminated), for the command table. */
extern const struct cli_opt import_options[];

/* The result of one row, in the result file's words (import_result_name). */
enum import_result {
    IMPORT_PENDING, /* read, not sent yet */
    IMPORT_CREATED,
    IMPORT_EXISTING,
    IMPORT_FAILED,
    IMPORT_DUPLICATE,
    IMPORT_ERROR,
    IMPORT_RESULTS
};

/* One data row of the current chunk. Strings are owned by the row (import_row_cleanup). */
struct import_row {
    unsigned long row; /* spreadsheet row number (1-based, header and blank rows counted) */
    char *email;       /* the email cell, blanks trimmed */
    enum import_result result;
    char *invite_id;   /* created / existing */
    char *code;        /* failed / error: the API's or our code */
    char *description; /* failed / duplicate / error */
};

/* "created", "existing", ...; static. */
const char *import_result_name(enum import_result r);

/* Releases a row's strings and zeroes it. */
void import_row_cleanup(struct import_row *row);

/* Appends the result-file line of row (RFC 4180 quoting, CRLF-free: LF line ends) to b. */
void import_row_format(struct buf *b, const struct import_row *row);

/* A set of addresses seen earlier in the file, compared case-insensitively. It keeps a 128-bit
 * hash and the first row of each address, not the text, so a file of a million rows costs
 * about 24 MB. */
struct import_seen {
    struct seen_slot *slots;
    size_t cap; /* a power of two */
    size_t n;
};

void import_seen_init(struct import_seen *s);
void import_seen_cleanup(struct import_seen *s);
/* Adds email with its row and returns 0, or returns the row where it was first seen. */
unsigned long import_seen_add(struct import_seen *s, const char *email, unsigned long row);

#endif
