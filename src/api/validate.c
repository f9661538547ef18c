/* Field validation helpers shared by the invite, role and query handlers. */
#include "validate.h"

#include "common/xalloc.h"
#include "core/lang.h"
#include "core/roles.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Length of the sequence a lead byte starts, 0 for a byte that cannot lead. */
static int utf8_seq_len(unsigned char c)
{
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return 2;
    if (c >= 0xe0 && c <= 0xef)
        return 3;
    if (c >= 0xf0 && c <= 0xf4)
        return 4;
    return 0; /* continuation bytes, 0xc0/0xc1 (overlong) and 0xf5.. (past U+10FFFF) */
}

bool validate_utf8_count(const char *s, size_t len, size_t *chars)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, n = 0;
    while (i < len) {
        int k = utf8_seq_len(p[i]);
        if (k == 0 || (size_t)k > len - i)
            return false;
        for (int j = 1; j < k; j++)
            if ((p[i + j] & 0xc0) != 0x80)
                return false;
        /* The second byte's range rules out overlong 3/4-byte forms, surrogates and > U+10FFFF. */
        if (k >= 3) {
            unsigned char b = p[i + 1];
            if ((p[i] == 0xe0 && b < 0xa0) || (p[i] == 0xed && b > 0x9f) ||
                (p[i] == 0xf0 && b < 0x90) || (p[i] == 0xf4 && b > 0x8f))
                return false;
        }
        i += (size_t)k;
        n++;
    }
    *chars = n;
    return true;
}

bool validate_has_control(const char *s, size_t len, const char *allowed)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != 0x7f)
            continue;
        if (c != 0 && allowed && strchr(allowed, c))
            continue;
        return true;
    }
    return false;
}

void validate_field_name(char out[VIOLATION_FIELD_MAX], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, VIOLATION_FIELD_MAX, fmt, ap);
    va_end(ap);
}

void validate_type_error(struct violations *vs, const char *field, const char *expected)
{
    violations_add(vs, field, RULE_FORMAT, "must be %s", expected);
}

bool validate_policy_ids_need_custom(const json_t *v)
{
    size_t i;
    const json_t *e;
    if (!json_is_array(v))
        return false;
    json_array_foreach(v, i, e) if (json_is_string(e) &&
                                    !roles_find_predefined(json_string_value(e))) return true;
    return false;
}

static bool role_known(const char *id, const struct role *roles, size_t nroles)
{
    if (roles_find_predefined(id))
        return true;
    for (size_t i = 0; i < nroles; i++)
        if (strcmp(roles[i].id, id) == 0)
            return true;
    return false;
}

static bool policy_listed(const struct policy_list *pl, const char *id)
{
    for (int i = 0; i < pl->n; i++)
        if (strcmp(pl->ids[i], id) == 0)
            return true;
    return false;
}

bool validate_policy_ids(const json_t *v, const char *field, bool required,
                         const struct role *roles, size_t nroles, struct policy_list *out,
                         struct violations *vs)
{
    int before = vs->n;
    out->n = 0;
    if (!v || json_is_null(v)) {
        if (required)
            violations_add(vs, field, RULE_REQUIRED_FIELD, "at least one policy ID is required");
        return false;
    }
    if (!json_is_array(v)) {
        validate_type_error(vs, field, "an array of policy IDs");
        return false;
    }
    size_t n = json_array_size(v);
    if (n == 0) {
        violations_add(vs, field, RULE_REQUIRED_FIELD, "at least one policy ID is required");
        return false;
    }
    if (n > SI_POLICIES_MAX) {
        violations_add_bound(vs, field, RULE_MAX_SIZE, SI_POLICIES_MAX, "at most %d policy IDs",
                             SI_POLICIES_MAX);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(v, i);
        char name[VIOLATION_FIELD_MAX];
        validate_field_name(name, "%s[%zu]", field, i);
        if (!json_is_string(e)) {
            validate_type_error(vs, name, "a policy ID string");
            continue;
        }
        const char *id = json_string_value(e);
        size_t len = json_string_length(e);
        /* strlen != len means an embedded NUL ("\u0000"): C code downstream would cut there. */
        if (len == 0 || len >= SI_POLICY_ID_MAX || strlen(id) != len ||
            !role_known(id, roles, nroles)) {
            violations_add(vs, name, RULE_INVALID_ENUM_VALUE, "not a role of this account");
            continue;
        }
        /* core decides what a site may grant; answers carry the ID an old alias stands for. */
        enum role_grant g = roles_site_grant(id);
        if (g != ROLE_GRANT_OK) {
            violations_add(vs, name, RULE_OTHER, "%s",
                           g == ROLE_GRANT_OWNER
                               ? "the Owner role cannot be granted: it passes only by "
                                 "transferring the site"
                               : "an account-level role (restricted from Site) cannot be "
                                 "granted on a site");
            continue;
        }
        id = roles_canonical_id(id);
        len = strlen(id);
        if (!policy_listed(out, id)) {
            memcpy(out->ids[out->n], id, len + 1);
            out->n++;
        }
    }
    if (vs->n != before) {
        out->n = 0;
        return false;
    }
    return true;
}

bool validate_language(const json_t *v, const char *field, char out[SI_LANG_MAX],
                       struct violations *vs)
{
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v)) {
        validate_type_error(vs, field, "a language tag string");
        return false;
    }
    const char *tag = json_string_value(v);
    size_t len = json_string_length(v);
    if (len >= SI_LANG_MAX || strlen(tag) != len || !lang_tag_valid(tag)) {
        violations_add(vs, field, RULE_FORMAT, "must be a language tag such as en or pt-BR");
        return false;
    }
    memcpy(out, tag, len + 1);
    return true;
}

bool validate_purpose(const json_t *v, const char *field, char **out, struct violations *vs)
{
    *out = NULL;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v)) {
        validate_type_error(vs, field, "a string");
        return false;
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v), chars = 0;
    if (!validate_utf8_count(s, len, &chars)) {
        violations_add(vs, field, RULE_FORMAT, "must be valid UTF-8 text");
        return false;
    }
    if (chars > SI_PURPOSE_MAX_CHARS) {
        violations_add_bound(vs, field, RULE_MAX, SI_PURPOSE_MAX_CHARS, "at most %d characters",
                             SI_PURPOSE_MAX_CHARS);
        return false;
    }
    /* Line breaks are kept: the mail composer folds them; other controls have no use here. */
    if (validate_has_control(s, len, "\t\r\n")) {
        violations_add(vs, field, RULE_FORMAT, "must not contain control characters");
        return false;
    }
    if (len > 0)
        *out = xstrndup(s, len);
    return true;
}

bool validate_staff_id(const json_t *v, const char *field, char out[SI_STAFF_ID_MAX], bool *present,
                       struct violations *vs)
{
    *present = false;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v)) {
        validate_type_error(vs, field, "a string");
        return false;
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v), chars;
    if (len >= SI_STAFF_ID_MAX) {
        violations_add(vs, field, RULE_MAX, "at most %d bytes", SI_STAFF_ID_MAX - 1);
        return false;
    }
    /* staffId is shown in dashboards and logs: no line breaks or escapes smuggled in. */
    if (!validate_utf8_count(s, len, &chars) || validate_has_control(s, len, NULL)) {
        violations_add(vs, field, RULE_FORMAT, "must be text without control characters");
        return false;
    }
    memcpy(out, s, len + 1);
    *present = true;
    return true;
}

bool validate_expires_days(const json_t *v, const char *field, int *out, struct violations *vs)
{
    *out = 0;
    if (!v || json_is_null(v))
        return true;
    /* 1.0 is refused too: a client sending reals has a units bug we should not round away. */
    if (!json_is_integer(v)) {
        validate_type_error(vs, field, "an integer number of days");
        return false;
    }
    json_int_t d = json_integer_value(v);
    if (d < VALIDATE_EXPIRES_DAYS_MIN) {
        violations_add_bound(vs, field, RULE_MIN, VALIDATE_EXPIRES_DAYS_MIN, "at least %d",
                             VALIDATE_EXPIRES_DAYS_MIN);
        return false;
    }
    if (d > VALIDATE_EXPIRES_DAYS_MAX) {
        violations_add_bound(vs, field, RULE_MAX, VALIDATE_EXPIRES_DAYS_MAX, "at most %d",
                             VALIDATE_EXPIRES_DAYS_MAX);
        return false;
    }
    *out = (int)d;
    return true;
}

bool validate_bool(const json_t *v, const char *field, bool *out, struct violations *vs)
{
    if (!v || json_is_null(v))
        return true;
    if (!json_is_boolean(v)) {
        validate_type_error(vs, field, "true or false");
        return false;
    }
    *out = json_is_true(v);
    return true;
}

const json_t *validate_body_object(const json_t *json, struct violations *vs)
{
    if (!json)
        return NULL;
    if (!json_is_object(json)) {
        validate_type_error(vs, "body", "a JSON object");
        return NULL;
    }
    return json;
}
