/* Accept-link tokens: base64url(salt || tag) (version 1) or base64url(2 || ID || tag)
 * (version 2), the tag a keyed BLAKE2b of what the link names under its version's label. */
#include "core/token.h"

#include <string.h>

/* Domain separation: the server secret keys other tags too (form tokens, cursors); a label of
 * its own per version keeps a tag made for one purpose or version from being valid for another. */
#define TOKEN_LABEL_V1  "siteinvites accept-link v1"
#define TOKEN_LABEL_V2  "siteinvites accept-link v2"
#define TOKEN_LABEL_LEN (sizeof TOKEN_LABEL_V1) /* with the NUL, which ends the label */
#define TOKEN_V2_BYTE   0x02                    /* version 2's first byte */
#define TOKEN_RAW_LEN   (SI_TOKEN_SALT_LEN + TOKEN_TAG_LEN)
#define TOKEN_V2_RAW    (1 + TOKEN_KEY_LEN + TOKEN_TAG_LEN)

_Static_assert(TOKEN_RAW_LEN == 32 && TOKEN_TEXT_LEN == 43, "token text is base64url of 32 bytes");
_Static_assert(TOKEN_V2_RAW == 33 && TOKEN_V2_TEXT_LEN == 44, "33 bytes: 44 chars, no spare bits");
_Static_assert(sizeof TOKEN_LABEL_V2 == TOKEN_LABEL_LEN, "labels of one length");
_Static_assert(TOKEN_TAG_LEN <= SECURE_HASH_LEN, "the tag is a prefix of the hash");

/* tag = BLAKE2b-256(key = secret, label(kind) || NUL || key)[0..16). */
static void compute_tag(const uint8_t secret[SECURE_KEY_LEN], enum token_kind kind,
                        const uint8_t key[TOKEN_KEY_LEN], uint8_t tag[TOKEN_TAG_LEN])
{
    uint8_t msg[TOKEN_LABEL_LEN + TOKEN_KEY_LEN];
    uint8_t full[SECURE_HASH_LEN];
    memcpy(msg, kind == TOKEN_BY_ID ? TOKEN_LABEL_V2 : TOKEN_LABEL_V1, TOKEN_LABEL_LEN);
    memcpy(msg + TOKEN_LABEL_LEN, key, TOKEN_KEY_LEN);
    secure_hash(full, msg, sizeof msg, secret, SECURE_KEY_LEN);
    memcpy(tag, full, TOKEN_TAG_LEN);
    secure_wipe(full, sizeof full);
}

void token_new_salt(const struct random_source *r, uint8_t salt[SI_TOKEN_SALT_LEN])
{
    random_fill(r, salt, SI_TOKEN_SALT_LEN);
}

void token_ref_of_invite(const struct invite *inv, struct token_ref *out)
{
    if (inv->has_salt) {
        out->kind = TOKEN_BY_SALT;
        memcpy(out->key, inv->token_salt, TOKEN_KEY_LEN);
        return;
    }
    out->kind = TOKEN_BY_ID;
    if (!id_to_bytes(inv->id, out->key))
        memset(out->key, 0, TOKEN_KEY_LEN); /* never stored: such a link names no invite */
}

size_t token_format_ref(const uint8_t secret[SECURE_KEY_LEN], const struct token_ref *ref,
                        char out[TOKEN_TEXT_CAP])
{
    uint8_t raw[TOKEN_V2_RAW];
    size_t n = 0;
    if (ref->kind == TOKEN_BY_ID)
        raw[n++] = TOKEN_V2_BYTE;
    memcpy(raw + n, ref->key, TOKEN_KEY_LEN);
    compute_tag(secret, ref->kind, ref->key, raw + n + TOKEN_KEY_LEN);
    n += TOKEN_KEY_LEN + TOKEN_TAG_LEN;
    b64url_encode(out, raw, n);
    secure_wipe(raw, sizeof raw);
    return n == TOKEN_V2_RAW ? TOKEN_V2_TEXT_LEN : TOKEN_TEXT_LEN;
}

size_t token_format_invite(const uint8_t secret[SECURE_KEY_LEN], const struct invite *inv,
                           char out[TOKEN_TEXT_CAP])
{
    struct token_ref ref;
    token_ref_of_invite(inv, &ref);
    size_t n = token_format_ref(secret, &ref, out);
    secure_wipe(&ref, sizeof ref);
    return n;
}

void token_format(const uint8_t secret[SECURE_KEY_LEN], const uint8_t salt[SI_TOKEN_SALT_LEN],
                  char out[TOKEN_TEXT_LEN + 1])
{
    struct token_ref ref = {.kind = TOKEN_BY_SALT};
    char text[TOKEN_TEXT_CAP];
    memcpy(ref.key, salt, TOKEN_KEY_LEN);
    token_format_ref(secret, &ref, text);
    memcpy(out, text, TOKEN_TEXT_LEN + 1);
    secure_wipe(text, sizeof text);
    secure_wipe(&ref, sizeof ref);
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

enum si_err token_parse_ref(const uint8_t secret[SECURE_KEY_LEN], const char *text,
                            struct token_ref *out)
{
    uint8_t raw[TOKEN_V2_RAW];
    uint8_t tag[TOKEN_TAG_LEN];
    size_t n = 0;
    enum si_err rc = SI_EINVAL;
    /* Length and alphabet first: cheap, and they bound everything the decoder sees. The length
     * says the version: 43 characters are version 1, 44 version 2. */
    size_t len = text ? strnlen(text, TOKEN_TEXT_MAX + 1) : 0;
    if ((len != TOKEN_TEXT_LEN && len != TOKEN_V2_TEXT_LEN) || !b64url_shape(text, len))
        return SI_EINVAL;
    size_t want = len == TOKEN_TEXT_LEN ? TOKEN_RAW_LEN : TOKEN_V2_RAW;
    /* b64url_decode refuses non-canonical spellings, so each token has exactly one text. */
    if (b64url_decode(text, len, raw, sizeof raw, &n) || n != want)
        goto out;
    enum token_kind kind = want == TOKEN_V2_RAW ? TOKEN_BY_ID : TOKEN_BY_SALT;
    const uint8_t *key = kind == TOKEN_BY_ID ? raw + 1 : raw;
    if (kind == TOKEN_BY_ID && raw[0] != TOKEN_V2_BYTE)
        goto out;
    compute_tag(secret, kind, key, tag);
    if (!secure_equal(tag, key + TOKEN_KEY_LEN, TOKEN_TAG_LEN))
        goto out;
    out->kind = kind;
    memcpy(out->key, key, TOKEN_KEY_LEN);
    rc = SI_OK;
out:
    secure_wipe(tag, sizeof tag);
    secure_wipe(raw, sizeof raw);
    return rc;
}

enum si_err token_parse(const uint8_t secret[SECURE_KEY_LEN], const char *text,
                        uint8_t salt[SI_TOKEN_SALT_LEN])
{
    struct token_ref ref;
    enum si_err rc = token_parse_ref(secret, text, &ref);
    if (!rc && ref.kind != TOKEN_BY_SALT)
        rc = SI_EINVAL;
    if (!rc)
        memcpy(salt, ref.key, SI_TOKEN_SALT_LEN);
    secure_wipe(&ref, sizeof ref);
    return rc;
}
