/* Email address rules: what an invite may be sent to, and the forms we store and compare. */
#ifndef SI_CORE_EMAIL_H
#define SI_CORE_EMAIL_H

#include "core/invite.h"

#include <stdbool.h>
#include <stddef.h>

/* Why an address was refused (for messages; the API code is always INVALID_EMAIL). */
enum email_verdict {
    EMAIL_OK,
    EMAIL_EMPTY,
    EMAIL_TOO_LONG, /* > 254 octets, or local part > 64 */
    EMAIL_NO_AT,
    EMAIL_BAD_LOCAL,    /* empty, bad characters, dots misplaced, quoted (see docs) */
    EMAIL_BAD_DOMAIN,   /* empty, label rules, no dot, IP literal, trailing dot ... */
    EMAIL_CONTROL_CHAR, /* CR, LF, NUL, TAB or any other control or space */
    EMAIL_BAD_UTF8,
};

/* Checks addr (NUL-terminated, len bytes before the NUL, which may contain NULs to detect) and
 * on success writes the stored form (local part as given, domain lowercased) and the comparison
 * key (whole address case-folded) into out_email and out_key (SI_EMAIL_MAX + 1 bytes each).
 * The rule set is written in docs/EMAIL.md. Pure; thread-safe. */
enum email_verdict email_check(const char *addr, size_t len, char *out_email, char *out_key);

/* A short English reason for a verdict. */
const char *email_verdict_str(enum email_verdict v);

#endif
