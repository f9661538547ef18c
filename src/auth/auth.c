/* API keys and permissions: names, key generation and hashing, and authenticating a request. */
#include "auth/auth.h"

#include "auth/key_cache.h"
#include "common/clock.h"

#include <string.h>
#include <strings.h>

#define API_KEY_PREFIX_LEN (sizeof API_KEY_PREFIX - 1)
#define API_KEY_B64_LEN    (API_KEY_TEXT_LEN - API_KEY_PREFIX_LEN)
#define BEARER             "bearer"
#define BEARER_LEN         (sizeof BEARER - 1)

_Static_assert(API_KEY_B64_LEN == 43, "a key is the prefix and base64url of 32 bytes");

/* Names and bits come from the one PERMISSIONS list in auth.h, so they cannot drift apart. */
struct perm_name {
    unsigned bit;
    const char *name;
};

#define PERM_ENTRY(bit, name) {bit, name},
static const struct perm_name perm_names[] = {PERMISSIONS(PERM_ENTRY)};
#undef PERM_ENTRY
#define PERM_COUNT (sizeof perm_names / sizeof perm_names[0])

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* The bit of the permission named s[0..n), or 0. */
static unsigned perm_lookup(const char *s, size_t n)
{
    for (size_t i = 0; i < PERM_COUNT; i++)
        if (strlen(perm_names[i].name) == n && memcmp(perm_names[i].name, s, n) == 0)
            return perm_names[i].bit;
    return 0;
}

bool perm_parse_list(const char *csv, unsigned *out)
{
    if (!csv)
        return false;
    unsigned perms = 0;
    const char *p = csv;
    /* People type "a, b" on the command line: blanks around a name are not part of it. An
     * empty element ("a,,b", a trailing comma) is refused rather than skipped, because it is
     * most likely a name that went missing. */
    for (;;) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && is_space(*a))
            a++;
        while (b > a && is_space(b[-1]))
            b--;
        unsigned bit = perm_lookup(a, (size_t)(b - a)); /* an empty name finds nothing */
        if (!bit)
            return false;
        perms |= bit;
        if (!*end)
            break;
        p = end + 1;
    }
    *out = perms;
    return true;
}

void perm_format_list(unsigned perms, char *out, size_t cap)
{
    if (cap == 0)
        return;
    out[0] = '\0';
    size_t len = 0;
    for (size_t i = 0; i < PERM_COUNT; i++) {
        if (!(perms & perm_names[i].bit))
            continue;
        size_t n = strlen(perm_names[i].name) + (len ? 1 : 0);
        /* Whole names only: a truncated name would read as a different (or unknown) one. */
        if (len + n >= cap)
            return;
        if (len)
            out[len++] = ',';
        memcpy(out + len, perm_names[i].name, strlen(perm_names[i].name) + 1);
        len = strlen(out);
    }
}

void auth_key_new(const struct random_source *r, char out[API_KEY_TEXT_LEN + 1])
{
    uint8_t raw[API_KEY_RANDOM_LEN];
    /* The raw bytes are the key in another spelling: wipe them like the text. */
    random_fill(r, raw, sizeof raw);
    memcpy(out, API_KEY_PREFIX, API_KEY_PREFIX_LEN);
    b64url_encode(out + API_KEY_PREFIX_LEN, raw, sizeof raw);
    secure_wipe(raw, sizeof raw);
}

void auth_key_issue(const struct random_source *r, struct api_key_row *row,
                    char key[API_KEY_TEXT_LEN + 1], uint8_t hash[SECURE_HASH_LEN])
{
    auth_key_new(r, key);
    auth_key_hash(key, API_KEY_TEXT_LEN, hash);
    memcpy(row->prefix, key, API_KEY_SHOWN_LEN);
    row->prefix[API_KEY_SHOWN_LEN] = '\0';
}

void auth_key_hash(const char *key, size_t len, uint8_t out[SECURE_HASH_LEN])
{
    /* Unkeyed on purpose: keys stay valid if the server secret is rotated (docs/SECURITY.md). */
    secure_hash(out, key, len, NULL, 0);
}

/* True when s[0..n) has the shape of a key we issue: the prefix and 43 base64url chars. */
static bool key_shape(const char *s, size_t n)
{
    if (n != API_KEY_TEXT_LEN || memcmp(s, API_KEY_PREFIX, API_KEY_PREFIX_LEN) != 0)
        return false;
    for (size_t i = API_KEY_PREFIX_LEN; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* Skips an optional case-insensitive "Bearer" scheme and the blanks after it. Wix clients send
 * the raw key; generic HTTP tooling sends "Bearer <key>"; both must work. */
static const char *strip_bearer(const char *v)
{
    if (strncasecmp(v, BEARER, BEARER_LEN) != 0 || !is_space(v[BEARER_LEN]))
        return v;
    v += BEARER_LEN;
    while (is_space(*v))
        v++;
    return v;
}

/* store_key_site_lookup through the key cache. The epoch is read before the store, so an
 * answer read across a change is kept under the epoch that change has already ended. */
static enum si_err lookup(struct store *s, const uint8_t hash[SECURE_HASH_LEN], const char *site_id,
                          struct api_key_row *row, struct site *site, bool *site_found)
{
    uint64_t epoch = store_auth_epoch(s);
    int64_t now_ms = epoch ? clock_mono_us() / 1000 : 0;
    if (key_cache_get(hash, site_id, epoch, now_ms, row, site)) {
        *site_found = site_id != NULL;
        return SI_OK;
    }
    enum si_err rc = store_key_site_lookup(s, hash, site_id, row, site, site_found);
    if (!rc)
        key_cache_put(hash, site_id, epoch, now_ms, row, site, *site_found);
    return rc;
}

enum si_err auth_authenticate(struct store *s, const char *authorization, struct principal *out)
{
    struct site none;
    bool found;
    return auth_authenticate_site(s, authorization, NULL, out, &none, &found);
}

enum si_err auth_authenticate_site(struct store *s, const char *authorization, const char *site_id,
                                   struct principal *out, struct site *site, bool *site_found)
{
    uint8_t hash[SECURE_HASH_LEN];
    struct api_key_row row;
    enum si_err rc;
    /* A failed call leaves an empty principal, never a stale one a caller could act on. */
    memset(out, 0, sizeof *out);
    memset(site, 0, sizeof *site);
    *site_found = false;
    /* Everything that cannot be one of our keys is refused before any hashing or store round
     * trip, so junk headers cost nothing and never reach the database. */
    if (!authorization || strnlen(authorization, API_KEY_TEXT_MAX + 1) > API_KEY_TEXT_MAX)
        return SI_EUNAUTH;
    const char *key = strip_bearer(authorization);
    size_t len = strlen(key);
    if (!key_shape(key, len))
        return SI_EUNAUTH;
    auth_key_hash(key, len, hash);
    rc = lookup(s, hash, site_id, &row, site, site_found);
    if (rc == SI_ENOTFOUND)
        rc = SI_EUNAUTH;
    /* Revoked and unknown keys get the same answer, so a caller learns nothing about a key. */
    if (!rc && row.revoked != 0)
        rc = SI_EUNAUTH;
    if (rc) {
        site_cleanup(site);
        memset(site, 0, sizeof *site);
        *site_found = false;
        goto out;
    }
    memcpy(out->key_id, row.id, sizeof out->key_id);
    memcpy(out->key_name, row.name, sizeof out->key_name);
    memcpy(out->account_id, row.account_id, sizeof out->account_id);
    out->permissions = row.permissions;
out:
    secure_wipe(hash, sizeof hash);
    return rc;
}
