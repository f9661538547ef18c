/* Accept-link tokens: 128 random bits (the salt, stored) plus a 128-bit keyed tag (never stored,
 * derived with the server secret), so a database or log reader cannot forge or use a link. */
#ifndef SI_CORE_TOKEN_H
#define SI_CORE_TOKEN_H

#include "common/secure.h"
#include "common/err.h"
#include "core/invite.h"

#include <stdint.h>

#define TOKEN_TAG_LEN  16
#define TOKEN_TEXT_LEN 43 /* base64url of salt || tag, unpadded */
#define TOKEN_TEXT_MAX 64 /* anything longer is malformed without decoding */

/* Fills salt with fresh random bytes. */
void token_new_salt(const struct random_source *r, uint8_t salt[SI_TOKEN_SALT_LEN]);

/* Renders the token text for a salt: out gets TOKEN_TEXT_LEN chars + NUL. */
void token_format(const uint8_t secret[SECURE_KEY_LEN], const uint8_t salt[SI_TOKEN_SALT_LEN],
                  char out[TOKEN_TEXT_LEN + 1]);

/* Checks token text and extracts its salt. SI_EINVAL for anything malformed, truncated,
 * over-long, non-ASCII or whose tag does not match (constant-time compare). */
enum si_err token_parse(const uint8_t secret[SECURE_KEY_LEN], const char *text,
                        uint8_t salt[SI_TOKEN_SALT_LEN]) SI_MUST_USE;

#endif
