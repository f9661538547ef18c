/* Fuzzes the invite address rules (core/email.c) with any bytes, NULs included. An accepted
 * address must come back with a stored form and a key that are themselves accepted, map to the
 * same key (checking is idempotent), and can go into a To header as they are
 * (compose_address_ok): an address the API takes must be one the mailer can send to. */
#include "fuzz_support.h"

#include "core/email.h"
#include "mail/compose.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *addr = fuzz_strndup(data, size);
    char email[SI_EMAIL_MAX + 1], key[SI_EMAIL_MAX + 1];
    enum email_verdict v = email_check(addr, size, email, key);
    fuzz_check(email_verdict_str(v) != NULL, "every verdict has a reason");
    if (v == EMAIL_OK) {
        fuzz_check(strlen(email) <= SI_EMAIL_MAX && strlen(key) <= SI_EMAIL_MAX,
                   "stored forms fit SI_EMAIL_MAX");
        fuzz_check(strlen(email) == size, "the stored form keeps the address's length");
        fuzz_check(compose_address_ok(email), "an accepted address can be mailed");
        char email2[SI_EMAIL_MAX + 1], key2[SI_EMAIL_MAX + 1];
        fuzz_check(email_check(email, strlen(email), email2, key2) == EMAIL_OK,
                   "the stored form is accepted again");
        fuzz_check(strcmp(email, email2) == 0 && strcmp(key, key2) == 0,
                   "checking the stored form changes nothing");
        fuzz_check(email_check(key, strlen(key), email2, key2) == EMAIL_OK &&
                       strcmp(key, key2) == 0,
                   "the key is its own key");
    }
    free(addr);
    return 0;
}
