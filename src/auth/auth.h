/* API keys and permissions: key generation, hashing, and turning a request's credentials into a
 * principal. Keys are 256-bit random secrets; the store keeps only their BLAKE2b-256 hash, which
 * is safe without a slow KDF because a 256-bit random key cannot be guessed from its hash. */
#ifndef SI_AUTH_AUTH_H
#define SI_AUTH_AUTH_H

#include "common/secure.h"
#include "store/store.h"

#include <stdbool.h>

/* X(bit, wire name) */
#define PERMISSIONS(X)                                                                             \
    X(PERM_SEND_INVITE, "site-users.send-invite")                                                  \
    X(PERM_DELETE_INVITE, "site-users.delete-invite")                                              \
    X(PERM_READ, "site-users.read")                                                                \
    X(PERM_CONTRIBUTORS, "contributors.manage")

enum permission {
    PERM_SEND_INVITE = 1u << 0,
    PERM_DELETE_INVITE = 1u << 1,
    PERM_READ = 1u << 2,
    PERM_CONTRIBUTORS = 1u << 3,
};
#define PERM_ALL (PERM_SEND_INVITE | PERM_DELETE_INVITE | PERM_READ | PERM_CONTRIBUTORS)

#define API_KEY_PREFIX     "sik_"
#define API_KEY_RANDOM_LEN 32       /* bytes of entropy */
#define API_KEY_TEXT_LEN   (4 + 43) /* prefix + base64url(32) */
#define API_KEY_TEXT_MAX   256      /* longer Authorization values are refused */
/* What lists show of a key (store's api_key_row.prefix): the fixed prefix and the first 6
 * base64url characters of the random part, 36 of its 256 bits. Enough to tell an account's keys
 * apart and to match a key in hand to its row; 220 unknown bits left make it useless for
 * guessing the key. */
#define API_KEY_SHOWN_RANDOM 6
#define API_KEY_SHOWN_LEN    (4 + API_KEY_SHOWN_RANDOM)
_Static_assert(API_KEY_SHOWN_LEN < KEY_PREFIX_MAX, "the shown prefix fits the store's column");

/* Who is calling: the key and its account. */
struct principal {
    char key_id[SI_ID_LEN];
    char key_name[SI_NAME_MAX]; /* for the audit log's actor */
    char account_id[SI_ID_LEN];
    unsigned permissions;
};

/* Parses "a,b,c" permission names into a bit set; false (and *out untouched) on an unknown name
 * or an empty list. */
bool perm_parse_list(const char *csv, unsigned *out);

/* Writes the comma-separated names of a bit set into out (cap bytes). */
void perm_format_list(unsigned perms, char *out, size_t cap);

/* Creates a new key text (API_KEY_TEXT_LEN chars + NUL). The caller wipes it after use. */
void auth_key_new(const struct random_source *r, char out[API_KEY_TEXT_LEN + 1]);

/* Issues a new key for row: its text into key (the caller shows it once, then wipes it), the
 * hash to store into hash, and its shown prefix into row->prefix. Every creator of keys calls
 * this, so no key is stored without its prefix. */
void auth_key_issue(const struct random_source *r, struct api_key_row *row,
                    char key[API_KEY_TEXT_LEN + 1], uint8_t hash[SECURE_HASH_LEN]);

/* The stored hash of a key text. */
void auth_key_hash(const char *key, size_t len, uint8_t out[SECURE_HASH_LEN]);

/* Authenticates an Authorization header value (raw key or "Bearer <key>"), NULL if absent.
 * SI_EUNAUTH for a missing, malformed, unknown or revoked key; SI_ESTORE on store failure. */
enum si_err auth_authenticate(struct store *s, const char *authorization,
                              struct principal *out) SI_MUST_USE;
/* auth_authenticate, reading in the same store call the site of ID site_id (NULL: none), as
 * store_key_site_lookup gives it: *site (which must own nothing) and *site_found. On any
 * failure *site owns nothing and *site_found is false. */
enum si_err auth_authenticate_site(struct store *s, const char *authorization, const char *site_id,
                                   struct principal *out, struct site *site,
                                   bool *site_found) SI_MUST_USE;

#endif
