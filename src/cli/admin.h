/* Helpers the admin commands and serve --dev share: ID options, account checks, key making. */
#ifndef SI_CLI_ADMIN_H
#define SI_CLI_ADMIN_H

#include "auth/auth.h"
#include "common/ids.h"
#include "store/store.h"

#include <stdbool.h>

/* Normalises an ID given as option flag's value into out; prints why and returns false when
 * it is not a GUID. */
bool admin_parse_id(const char *flag, const char *v, char out[SI_ID_LEN]);

/* SI_OK when the account exists; otherwise prints "no account with ID ..." (SI_ENOTFOUND) or
 * the store failure, and returns it. */
enum si_err admin_account_exists(struct store *st, const char *id) SI_MUST_USE;

/* Creates an API key for account_id with perms: a new key text in key (the caller shows it once
 * and wipes it) stored only as its hash, and its ID in id. Uses the system clock and random
 * source (secure_init first). Prints the store failure and returns it; key is wiped then. */
enum si_err admin_key_make(struct store *st, const char *account_id, const char *name,
                           unsigned perms, char id[SI_ID_LEN],
                           char key[API_KEY_TEXT_LEN + 1]) SI_MUST_USE;

#endif
