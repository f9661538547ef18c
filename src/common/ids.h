/* GUIDs: lowercase version-4 identifiers, the ID shape of every entity in the API. */
#ifndef SI_COMMON_IDS_H
#define SI_COMMON_IDS_H

#include "secure.h"

#include <stdbool.h>
#include <stdint.h>

#define SI_ID_LEN 37 /* "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" + NUL */

/* Writes a new random lowercase v4 GUID into out. */
void id_new(const struct random_source *r, char out[SI_ID_LEN]);

/* Writes a new lowercase time-ordered v7 GUID (RFC 9562: 48-bit Unix milliseconds, then 74
 * random bits) into out. For rows inserted in bulk: their primary-key index grows at its end
 * instead of touching a random page per row. The creation time it reveals is public anyway. */
void id_new_at(const struct random_source *r, int64_t unix_ms, char out[SI_ID_LEN]);

/* True when s is a GUID of 8-4-4-4-12 lowercase hex digits (the stored form). */
bool id_valid(const char *s);

/* Copies s lowercased into out if it is a valid GUID (any case); false otherwise. */
bool id_normalize(const char *s, char out[SI_ID_LEN]);

#define SI_ID_BYTES 16 /* a GUID's value without its text form */

/* The 16 bytes a valid stored GUID spells (id_valid); false, out untouched, for anything else. */
bool id_to_bytes(const char *s, uint8_t out[SI_ID_BYTES]);

/* The stored text form (lowercase 8-4-4-4-12) of 16 bytes; any bytes spell some text. */
void id_from_bytes(const uint8_t b[SI_ID_BYTES], char out[SI_ID_LEN]);

#endif
