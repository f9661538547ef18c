/* Field validation shared by the API handlers: each helper judges one JSON member, records every
 * problem as a violation under the member's wire name, and writes the parsed value only when the
 * member is valid. Helpers never stop at the first problem, so a body's violations come back
 * together. All helpers are pure and thread-safe; none keeps a reference to the JSON. */
#ifndef SI_API_VALIDATE_H
#define SI_API_VALIDATE_H

#include "core/invite.h"
#include "request/problem.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define VALIDATE_EXPIRES_DAYS_MIN SI_LIFETIME_DAYS_MIN
#define VALIDATE_EXPIRES_DAYS_MAX SI_LIFETIME_DAYS_MAX

/* Counts the code points of len bytes of strict UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF). Returns false, leaving *chars untouched, when the text is
 * not valid UTF-8. A NUL byte is a valid code point here; callers that refuse it say so. */
bool validate_utf8_count(const char *s, size_t len, size_t *chars);

/* True when the text holds a C0 control character (or DEL) other than those in allowed, which
 * may be NULL or "" (for example "\t\r\n"). Embedded NULs are always reported. */
bool validate_has_control(const char *s, size_t len, const char *allowed);

/* Formats a field name ("emails[3]", "query.filter.status") into out, cut at
 * VIOLATION_FIELD_MAX - 1 bytes: a name that long is already past any useful message. */
void validate_field_name(char out[VIOLATION_FIELD_MAX], const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Records that a present member has the wrong JSON type ("must be a string", ...). */
void validate_type_error(struct violations *vs, const char *field, const char *expected);

/* policyIds: v may be NULL (absent). When required, absence or an empty array is REQUIRED_FIELD;
 * over SI_POLICIES_MAX entries is MAX_SIZE; every element that is not a string naming a role in
 * roles[0..nroles) or a predefined role gets a violation "<field>[i]" (INVALID_ENUM_VALUE), and
 * so does one a site may not grant, Owner or an account-level role (OTHER, core's
 * roles_site_grant). A retired alias is replaced by its ID (roles_canonical_id). Repeated IDs
 * are kept once, first position wins. On success out holds the IDs in input order and true is
 * returned; an absent optional member returns false with no violation (out->n == 0). */
bool validate_policy_ids(const json_t *v, const char *field, bool required,
                         const struct role *roles, size_t nroles, struct policy_list *out,
                         struct violations *vs);

/* True when some string element of a policyIds array is not a predefined role, so the caller
 * must load the account's custom roles before validate_policy_ids. Cheap; no allocation. */
bool validate_policy_ids_need_custom(const json_t *v);

/* Optional language tag (defaultEmailLanguage): absent leaves out untouched and returns true;
 * a string must pass lang_tag_valid (FORMAT otherwise). */
bool validate_language(const json_t *v, const char *field, char out[SI_LANG_MAX],
                       struct violations *vs);

/* Optional invitePurpose: valid UTF-8 of at most SI_PURPOSE_MAX_CHARS code points, no control
 * characters except TAB, CR and LF (mail composition folds those). *out receives a heap copy
 * (caller frees) or NULL when absent, null or empty. */
bool validate_purpose(const json_t *v, const char *field, char **out, struct violations *vs);

/* Optional staffId: 0..SI_STAFF_ID_MAX-1 bytes of UTF-8 without control characters. An empty
 * string is valid and means "none" (update uses it to clear). *present tells whether the member
 * was given (null counts as absent). */
bool validate_staff_id(const json_t *v, const char *field, char out[SI_STAFF_ID_MAX], bool *present,
                       struct violations *vs);

/* Optional expiresInDays: an integer within VALIDATE_EXPIRES_DAYS_MIN..MAX; *out is 0 when
 * absent (0 means "site default" to lifecycle_lifetime_ms). */
bool validate_expires_days(const json_t *v, const char *field, int *out, struct violations *vs);

/* Optional boolean; *out is left untouched when absent. */
bool validate_bool(const json_t *v, const char *field, bool *out, struct violations *vs);

/* A body that must be a JSON object or empty: returns the object, or NULL when the body was
 * empty (json == NULL). A non-object body records a violation on "body" and returns NULL. */
const json_t *validate_body_object(const json_t *json, struct violations *vs);

#endif
