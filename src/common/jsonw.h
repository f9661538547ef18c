/* Writing JSON text straight into a buffer, for answers on hot paths (a bulk answer of 1,000
 * invites built as jansson objects cost more than the database writes behind it). */
#ifndef SI_COMMON_JSONW_H
#define SI_COMMON_JSONW_H

#include "common/buf.h"
#include "common/clock.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Appends s (n bytes of UTF-8, NULs allowed) as a quoted JSON string: '"' and '\' are
 * escaped, control characters become \u00XX. The caller guarantees valid UTF-8 (every string
 * we store was checked on the way in). b must be uncapped. */
void jw_string(struct buf *b, const char *s, size_t n);

/* Appends "key": — key is our own literal, written without escaping. */
void jw_key(struct buf *b, const char *key);

/* Appends "key":"value" with value escaped, preceded by a comma unless first. */
void jw_member_str(struct buf *b, const char *key, const char *value);

/* Appends v in decimal. */
void jw_int(struct buf *b, int64_t v);

/* Appends "key":<integer>, likewise. */
void jw_member_int(struct buf *b, const char *key, int64_t v);

/* Appends "key":"<RFC 3339 with milliseconds>", likewise. */
void jw_member_time(struct buf *b, const char *key, si_ms t);

#endif
