/* Accept-link tokens. Version 2 (issue 14): the invite's ID plus a 128-bit keyed tag, found by
 * the primary key. Version 1 (invites made before schema 16): 128 random bits (the salt, stored)
 * plus the tag. The tag is never stored and is derived with the server secret, so a database or
 * log reader cannot forge or use a link. docs/SECURITY.md "Accept links". */
#ifndef SI_CORE_TOKEN_H
#define SI_CORE_TOKEN_H

#include "common/secure.h"
#include "common/err.h"
#include "core/invite.h"

#include <stdint.h>

#define TOKEN_TAG_LEN     16
#define TOKEN_TEXT_LEN    43 /* version 1: base64url of salt || tag, unpadded */
#define TOKEN_V2_TEXT_LEN 44 /* version 2: base64url of 0x02 || invite ID bytes || tag */
#define TOKEN_TEXT_CAP    (TOKEN_V2_TEXT_LEN + 1) /* room for either text and its NUL */
#define TOKEN_TEXT_MAX    64 /* anything longer is malformed without decoding */
#define TOKEN_KEY_LEN     16 /* a salt or an invite ID's bytes */

_Static_assert(SI_TOKEN_SALT_LEN == TOKEN_KEY_LEN && SI_ID_BYTES == TOKEN_KEY_LEN,
               "both link versions name their invite by 16 bytes");

/* What a link names: an old invite by its stored salt, or a new one by its ID. */
enum token_kind { TOKEN_BY_SALT = 1, TOKEN_BY_ID = 2 };

struct token_ref {
    enum token_kind kind;
    uint8_t key[TOKEN_KEY_LEN]; /* the salt, or the ID's bytes (common/ids.h id_to_bytes) */
};

/* Fills salt with fresh random bytes (version 1 links; kept for tests that make old invites). */
void token_new_salt(const struct random_source *r, uint8_t salt[SI_TOKEN_SALT_LEN]);

/* What inv's link names: its salt when it has one (made before schema 16), else its ID, which
 * must be a valid GUID (every stored invite ID is). */
void token_ref_of_invite(const struct invite *inv, struct token_ref *out);

/* Renders the link token of ref into out (TOKEN_TEXT_LEN or TOKEN_V2_TEXT_LEN chars + NUL);
 * returns its length. */
size_t token_format_ref(const uint8_t secret[SECURE_KEY_LEN], const struct token_ref *ref,
                        char out[TOKEN_TEXT_CAP]);

/* token_format_ref of inv's link: the text its emails, answers and console show. */
size_t token_format_invite(const uint8_t secret[SECURE_KEY_LEN], const struct invite *inv,
                           char out[TOKEN_TEXT_CAP]);

/* Checks token text of either version and says what it names. SI_EINVAL for anything
 * malformed, truncated, over-long, non-ASCII, of an unknown version or whose tag does not match
 * (constant-time compare); out is then untouched. */
enum si_err token_parse_ref(const uint8_t secret[SECURE_KEY_LEN], const char *text,
                            struct token_ref *out) SI_MUST_USE;

/* Version 1 only, for tests and tools that make or read old links: the token of a salt, and
 * the salt of a token (token_parse_ref with TOKEN_BY_SALT required). */
void token_format(const uint8_t secret[SECURE_KEY_LEN], const uint8_t salt[SI_TOKEN_SALT_LEN],
                  char out[TOKEN_TEXT_LEN + 1]);
enum si_err token_parse(const uint8_t secret[SECURE_KEY_LEN], const char *text,
                        uint8_t salt[SI_TOKEN_SALT_LEN]) SI_MUST_USE;

#endif
