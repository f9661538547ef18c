/* Idempotency-Key rules: key syntax, request fingerprints, the decision on a stored record, and
 * sealing the accept links of a stored answer. */
#include "core/idempotency.h"

#include "core/token.h"

#include <string.h>

/* The member whose value is a link with a token. In JSON text we wrote, this exact byte run can
 * only be a member name: inside a string every quote is escaped, so no input can forge it. */
#define LINK_MEMBER     "\"acceptLink\":\""
#define LINK_MEMBER_LEN (sizeof LINK_MEMBER - 1)
#define LINK_PATH       "/invite/"
#define LINK_PATH_LEN   (sizeof LINK_PATH - 1)
#define SALT_TEXT_LEN   22 /* base64url of a 16-byte salt, unpadded */
#define FP_LABEL        "siteinvites idempotency v1"

_Static_assert(SI_TOKEN_SALT_LEN == 16, "a sealed link holds the salt as 22 base64url chars");

bool idem_key_valid(const char *key)
{
    size_t n = 0;
    for (; key[n]; n++) {
        if (n >= IDEM_KEY_MAX || key[n] < 0x20 || key[n] > 0x7e)
            return false;
    }
    return n > 0;
}

void idem_fingerprint(const char *method, const char *path, const char *site_id, const void *body,
                      size_t len, uint8_t out[IDEM_FP_LEN])
{
    /* H(label, method, path, site, H(body)) with NULs between the texts: no two different
     * requests spell the same input, and the body is hashed where it lies (up to 1 MiB). */
    uint8_t body_hash[SECURE_HASH_LEN];
    secure_hash(body_hash, len ? body : "", len, NULL, 0);
    struct buf b;
    buf_init(&b, 0);
    const char *parts[] = {FP_LABEL, method, path, site_id};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        buf_xappend(&b, parts[i], strlen(parts[i]) + 1);
    buf_xappend(&b, body_hash, sizeof body_hash);
    secure_hash(out, b.data, b.len, NULL, 0);
    buf_cleanup(&b);
}

enum idem_verdict idem_decide(const struct idem_row *row, const uint8_t fp[IDEM_FP_LEN], si_ms now)
{
    if (!row || row->expires <= now)
        return IDEM_RUN;
    /* Another body under the key is refused whether or not the first is finished. */
    if (memcmp(row->fingerprint, fp, IDEM_FP_LEN) != 0)
        return IDEM_REUSED;
    if (row->state == IDEM_STATE_DONE)
        return IDEM_REPLAY;
    /* A claim past its lease belongs to a server that stopped mid-request: what it did is
     * either committed or not, and the retry decides again against the data. */
    return row->lease_until > now ? IDEM_IN_USE : IDEM_RUN;
}

bool idem_keeps(unsigned status)
{
    /* 429 says "later": recording it would refuse the retry it asks for until the record
     * expires. */
    return status > 0 && status < 500 && status != 429;
}

si_ms idem_ttl(si_ms ttl_override_ms)
{
    return ttl_override_ms > 0 ? ttl_override_ms : IDEM_TTL_MS;
}

/* The next link value in text[from..len): *start is its first byte, *end its closing quote.
 * false when there is none left. */
static bool next_link(const char *text, size_t len, size_t from, size_t *start, size_t *end)
{
    const char *p =
        from < len ? memmem(text + from, len - from, LINK_MEMBER, LINK_MEMBER_LEN) : NULL;
    if (!p)
        return false;
    *start = (size_t)(p - text) + LINK_MEMBER_LEN;
    const char *q = memchr(text + *start, '"', len - *start);
    *end = q ? (size_t)(q - text) : len;
    return true;
}

/* Copies text while replacing, in every link value, the tail after LINK_PATH of length
 * tail_len by what swap writes (NUL-terminated into repl). */
static enum si_err
rewrite_links(const uint8_t secret[SECURE_KEY_LEN], const char *text, size_t len, size_t tail_len,
              enum si_err (*swap)(const uint8_t *secret, const char *tail, char *repl),
              struct buf *out)
{
    size_t done = 0, start, end;
    char repl[TOKEN_TEXT_LEN + 1];
    enum si_err rc = SI_OK;
    while (!rc && next_link(text, len, done, &start, &end)) {
        if (end >= len || end - start < LINK_PATH_LEN + tail_len ||
            memcmp(text + end - tail_len - LINK_PATH_LEN, LINK_PATH, LINK_PATH_LEN) != 0) {
            rc = SI_EINVAL;
            break;
        }
        char tail[TOKEN_TEXT_LEN + 1];
        memcpy(tail, text + end - tail_len, tail_len);
        tail[tail_len] = '\0';
        rc = swap(secret, tail, repl);
        secure_wipe(tail, sizeof tail);
        if (rc)
            break;
        buf_xappend(out, text + done, end - tail_len - done);
        buf_xputs(out, repl);
        done = end;
    }
    secure_wipe(repl, sizeof repl);
    if (!rc)
        buf_xappend(out, text + done, len - done);
    return rc;
}

/* A token becomes the text of its salt (the tag is checked, then dropped). */
static enum si_err token_to_salt(const uint8_t *secret, const char *tail, char *repl)
{
    uint8_t salt[SI_TOKEN_SALT_LEN];
    enum si_err rc = token_parse(secret, tail, salt);
    if (!rc)
        b64url_encode(repl, salt, sizeof salt);
    return rc;
}

/* The text of a salt becomes its full token again. */
static enum si_err salt_to_token(const uint8_t *secret, const char *tail, char *repl)
{
    uint8_t salt[SI_TOKEN_SALT_LEN];
    size_t n = 0;
    if (b64url_decode(tail, SALT_TEXT_LEN, salt, sizeof salt, &n) || n != sizeof salt)
        return SI_EINVAL;
    token_format(secret, salt, repl);
    return SI_OK;
}

enum si_err idem_seal(const uint8_t secret[SECURE_KEY_LEN], const char *text, size_t len,
                      struct buf *out)
{
    return rewrite_links(secret, text, len, TOKEN_TEXT_LEN, token_to_salt, out);
}

enum si_err idem_unseal(const uint8_t secret[SECURE_KEY_LEN], const char *text, size_t len,
                        struct buf *out)
{
    return rewrite_links(secret, text, len, SALT_TEXT_LEN, salt_to_token, out);
}
