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
#define SALT_TEXT_LEN   22 /* sealed version 1 link: base64url of the 16-byte salt, unpadded */
#define ID_SEALED_LEN   23 /* sealed version 2 link: base64url of 2 || the ID's 16 bytes */
#define FP_LABEL        "siteinvites idempotency v1"

_Static_assert(SI_TOKEN_SALT_LEN == 16, "a sealed link holds the salt as 22 base64url chars");
_Static_assert(TOKEN_KEY_LEN + 1 == 17, "a sealed version 2 link is 23 base64url chars");

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

/* The length of the link's tail (its last path segment, at most TOKEN_TEXT_MAX bytes) in
 * text[start..end); 0 when the value does not end in LINK_PATH and a tail. */
static size_t tail_length(const char *text, size_t start, size_t end)
{
    size_t n = 0;
    while (n < TOKEN_TEXT_MAX && end - n > start && text[end - n - 1] != '/')
        n++;
    if (n == 0 || end - start < LINK_PATH_LEN + n ||
        memcmp(text + end - n - LINK_PATH_LEN, LINK_PATH, LINK_PATH_LEN) != 0)
        return 0;
    return n;
}

/* Copies text while replacing, in every link value, the tail after LINK_PATH by what swap
 * writes (NUL-terminated into repl). */
static enum si_err rewrite_links(const uint8_t secret[SECURE_KEY_LEN], const char *text, size_t len,
                                 enum si_err (*swap)(const uint8_t *secret, const char *tail,
                                                     size_t n, char *repl),
                                 struct buf *out)
{
    size_t done = 0, start, end;
    char repl[TOKEN_TEXT_CAP];
    enum si_err rc = SI_OK;
    while (!rc && next_link(text, len, done, &start, &end)) {
        size_t tail_len = end < len ? tail_length(text, start, end) : 0;
        if (!tail_len) {
            rc = SI_EINVAL;
            break;
        }
        char tail[TOKEN_TEXT_MAX + 1];
        memcpy(tail, text + end - tail_len, tail_len);
        tail[tail_len] = '\0';
        rc = swap(secret, tail, tail_len, repl);
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

/* A token becomes the text of what it names, the tag checked, then dropped: a version 1 link
 * its salt (22 chars), a version 2 link its version byte and ID (23 chars). */
static enum si_err token_to_sealed(const uint8_t *secret, const char *tail, size_t n, char *repl)
{
    struct token_ref ref;
    uint8_t raw[1 + TOKEN_KEY_LEN];
    (void)n; /* token_parse_ref measures it again */
    enum si_err rc = token_parse_ref(secret, tail, &ref);
    if (!rc && ref.kind == TOKEN_BY_ID) {
        raw[0] = TOKEN_BY_ID;
        memcpy(raw + 1, ref.key, TOKEN_KEY_LEN);
        b64url_encode(repl, raw, sizeof raw);
    } else if (!rc) {
        b64url_encode(repl, ref.key, TOKEN_KEY_LEN);
    }
    secure_wipe(&ref, sizeof ref);
    return rc;
}

/* A sealed link's text becomes its full token again; its length says its version. */
static enum si_err sealed_to_token(const uint8_t *secret, const char *tail, size_t n, char *repl)
{
    uint8_t raw[1 + TOKEN_KEY_LEN];
    size_t got = 0;
    struct token_ref ref = {.kind = n == ID_SEALED_LEN ? TOKEN_BY_ID : TOKEN_BY_SALT};
    size_t want = ref.kind == TOKEN_BY_ID ? sizeof raw : TOKEN_KEY_LEN;
    if ((n != SALT_TEXT_LEN && n != ID_SEALED_LEN) ||
        b64url_decode(tail, n, raw, sizeof raw, &got) || got != want ||
        (ref.kind == TOKEN_BY_ID && raw[0] != TOKEN_BY_ID))
        return SI_EINVAL;
    memcpy(ref.key, ref.kind == TOKEN_BY_ID ? raw + 1 : raw, TOKEN_KEY_LEN);
    token_format_ref(secret, &ref, repl);
    return SI_OK;
}

enum si_err idem_seal(const uint8_t secret[SECURE_KEY_LEN], const char *text, size_t len,
                      struct buf *out)
{
    return rewrite_links(secret, text, len, token_to_sealed, out);
}

enum si_err idem_unseal(const uint8_t secret[SECURE_KEY_LEN], const char *text, size_t len,
                        struct buf *out)
{
    return rewrite_links(secret, text, len, sealed_to_token, out);
}
