/* The rows of `invite import`: their result-file lines and the set of addresses already seen,
 * which turns a repeated address into a `duplicate` row instead of a second request. */
#include "cli/import.h"

#include "common/xalloc.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEEN_INITIAL_CAP 1024 /* slots; doubled when half full */
#define FNV_OFFSET       UINT64_C(14695981039346656037)
#define FNV_PRIME        UINT64_C(1099511628211)
#define SECOND_OFFSET    UINT64_C(0x9e3779b97f4a7c15) /* a different start for the 2nd hash */

/* One address: two independent 64-bit hashes (a collision of both is ~2^-128) and its row. */
struct seen_slot {
    uint64_t a, b;
    unsigned long row; /* 0 = empty slot */
};

const char *import_result_name(enum import_result r)
{
    static const char *const names[IMPORT_RESULTS] = {"pending", "created",   "existing",
                                                      "failed",  "duplicate", "error"};
    return r < IMPORT_RESULTS ? names[r] : "error";
}

void import_row_cleanup(struct import_row *row)
{
    free(row->email);
    free(row->invite_id);
    free(row->code);
    free(row->description);
    memset(row, 0, sizeof *row);
}

/* One CSV cell: quoted when it holds a comma, quote or line break, quotes doubled. */
static void put_cell(struct buf *b, const char *text)
{
    if (!text)
        return;
    if (!strpbrk(text, ",\"\r\n")) {
        buf_xputs(b, text);
        return;
    }
    buf_xappend(b, "\"", 1);
    for (const char *p = text; *p; p++) {
        if (*p == '"')
            buf_xappend(b, "\"", 1);
        buf_xappend(b, p, 1);
    }
    buf_xappend(b, "\"", 1);
}

void import_row_format(struct buf *b, const struct import_row *row)
{
    char num[32];
    snprintf(num, sizeof num, "%lu,", row->row);
    buf_xputs(b, num);
    put_cell(b, row->email);
    buf_xappend(b, ",", 1);
    buf_xputs(b, import_result_name(row->result));
    buf_xappend(b, ",", 1);
    put_cell(b, row->invite_id);
    buf_xappend(b, ",", 1);
    put_cell(b, row->code);
    buf_xappend(b, ",", 1);
    put_cell(b, row->description);
    buf_xappend(b, "\n", 1);
}

void import_seen_init(struct import_seen *s)
{
    s->cap = SEEN_INITIAL_CAP;
    s->n = 0;
    s->slots = xcalloc(s->cap, sizeof *s->slots);
}

void import_seen_cleanup(struct import_seen *s)
{
    free(s->slots);
    s->slots = NULL;
    s->cap = s->n = 0;
}

/* FNV-1a of the lower-cased text from a given start, with a final mix so close inputs spread
 * over the table's low bits. */
static uint64_t hash_lower(const char *text, uint64_t h)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        h ^= (uint64_t)tolower(*p);
        h *= FNV_PRIME;
    }
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    return h;
}

/* The slot holding (a, b), or the empty slot where it belongs. */
static struct seen_slot *probe(struct seen_slot *slots, size_t cap, uint64_t a, uint64_t b)
{
    for (size_t i = (size_t)a & (cap - 1);; i = (i + 1) & (cap - 1))
        if (slots[i].row == 0 || (slots[i].a == a && slots[i].b == b))
            return &slots[i];
}

static void grow(struct import_seen *s)
{
    size_t cap = s->cap * 2;
    struct seen_slot *slots = xcalloc(cap, sizeof *slots);
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i].row)
            *probe(slots, cap, s->slots[i].a, s->slots[i].b) = s->slots[i];
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
}

unsigned long import_seen_add(struct import_seen *s, const char *email, unsigned long row)
{
    uint64_t a = hash_lower(email, FNV_OFFSET), b = hash_lower(email, SECOND_OFFSET);
    struct seen_slot *slot = probe(s->slots, s->cap, a, b);
    if (slot->row)
        return slot->row;
    slot->a = a;
    slot->b = b;
    slot->row = row;
    /* Half full at most, so probes stay short and always end at an empty slot. */
    if (++s->n * 2 > s->cap)
        grow(s);
    return 0;
}
