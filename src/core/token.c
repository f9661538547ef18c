/* Accept-link tokens: base64url(salt || tag), the tag a keyed BLAKE2b of the salt. */
#include "core/token.h"

#include <string.h>

/* Domain separation: the server secret may one day key other tags (webhook secrets, form
 * tokens); a label of its own keeps a tag made for one purpose from being valid for another. */
#define TOKEN_LABEL     "siteinvites accept-link v1"
#define TOKEN_LABEL_LEN (sizeof TOKEN_LABEL) /* with the NUL, which ends the label */
#define TOKEN_RAW_LEN   (SI_TOKEN_SALT_LEN + TOKEN_TAG_LEN)

_Static_assert(TOKEN_RAW_LEN == 32 && TOKEN_TEXT_LEN == 43, "token text is base64url of 32 bytes");
_Static_assert(TOKEN_TAG_LEN <= SECURE_HASH_LEN, "the tag is a prefix of the hash");

/* tag = BLAKE2b-256(key = secret, label || NUL || salt)[0..16). */
static void compute_tag(const uint8_t secret[SECURE_KEY_LEN], const uint8_t salt[SI_TOKEN_SALT_LEN],
                        uint8_t tag[TOKEN_TAG_LEN])
{
    uint8_t msg[TOKEN_LABEL_LEN + SI_TOKEN_SALT_LEN];
    uint8_t full[SECURE_HASH_LEN];
    memcpy(msg, TOKEN_LABEL, TOKEN_LABEL_LEN);
    memcpy(msg + TOKEN_LABEL_LEN, salt, SI_TOKEN_SALT_LEN);
    secure_hash(full, msg, sizeof msg, secret, SECURE_KEY_LEN);
    memcpy(tag, full, TOKEN_TAG_LEN);
    secure_wipe(full, sizeof full);
}

void token_new_salt(const struct random_source *r, uint8_t salt[SI_TOKEN_SALT_LEN])
{
    random_fill(r, salt, SI_TOKEN_SALT_LEN);
}

void token_format(const uint8_t secret[SECURE_KEY_LEN], const uint8_t salt[SI_TOKEN_SALT_LEN],
                  char out[TOKEN_TEXT_LEN + 1])
{
    uint8_t raw[TOKEN_RAW_LEN];
    memcpy(raw, salt, SI_TOKEN_SALT_LEN);
    compute_tag(secret, salt, raw + SI_TOKEN_SALT_LEN);
    b64url_encode(out, raw, sizeof raw);
    secure_wipe(raw, sizeof raw);
}

/* True when every byte is in the base64url alphabet (so no non-ASCII byte reaches decoding). */
static bool b64url_shape(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

enum si_err token_parse(const uint8_t secret[SECURE_KEY_LEN], const char *text,
                        uint8_t salt[SI_TOKEN_SALT_LEN])
{
    uint8_t raw[TOKEN_RAW_LEN];
    uint8_t tag[TOKEN_TAG_LEN];
    size_t n = 0;
    enum si_err rc = SI_EINVAL;
    /* Length and alphabet first: cheap, and they bound everything the decoder sees. */
    if (!text || strnlen(text, TOKEN_TEXT_MAX + 1) != TOKEN_TEXT_LEN ||
        !b64url_shape(text, TOKEN_TEXT_LEN))
        return SI_EINVAL;
    /* b64url_decode refuses non-canonical spellings, so each token has exactly one text. */
    if (b64url_decode(text, TOKEN_TEXT_LEN, raw, sizeof raw, &n) || n != TOKEN_RAW_LEN)
        goto out;
    compute_tag(secret, raw, tag);
    if (!secure_equal(tag, raw + SI_TOKEN_SALT_LEN, TOKEN_TAG_LEN))
        goto out;
    memcpy(salt, raw, SI_TOKEN_SALT_LEN);
    rc = SI_OK;
out:
    secure_wipe(tag, sizeof tag);
    secure_wipe(raw, sizeof raw);
    return rc;
}
