/* The ",id1,id2," text form of role lists (policy_text.h). */
#include "store/policy_text.h"

#include "core/roles.h"

#include <stdio.h>
#include <string.h>

enum si_err policy_text_encode(const struct policy_list *p, char out[POLICY_TEXT_MAX])
{
    size_t len = 0;
    out[len++] = ',';
    for (int i = 0; i < p->n && i < SI_POLICIES_MAX; i++) {
        size_t n = strnlen(p->ids[i], SI_POLICY_ID_MAX);
        /* A comma would break the delimited form; IDs never have one (numerals and GUIDs). */
        if (n == 0 || n >= SI_POLICY_ID_MAX || memchr(p->ids[i], ',', n))
            return SI_EINVAL;
        memcpy(out + len, p->ids[i], n);
        len += n;
        out[len++] = ',';
    }
    out[len] = '\0';
    return SI_OK;
}

void policy_text_decode(const char *text, struct policy_list *p)
{
    p->n = 0;
    const char *s = text ? text : "";
    while (*s && p->n < SI_POLICIES_MAX) {
        if (*s == ',') {
            s++;
            continue;
        }
        size_t n = strcspn(s, ",");
        size_t keep = n < SI_POLICY_ID_MAX ? n : SI_POLICY_ID_MAX - 1;
        memcpy(p->ids[p->n], s, keep);
        p->ids[p->n][keep] = '\0';
        p->n++;
        s += n;
    }
}

enum si_err policy_text_each_alias(enum si_err (*fn)(void *ctx, const char *from, const char *to,
                                                     const char *old_id),
                                   void *ctx)
{
    size_t n;
    const struct role_alias *al = roles_aliases(&n);
    enum si_err rc = SI_OK;
    for (size_t i = 0; !rc && i < n; i++) {
        char from[SI_POLICY_ID_MAX + 2], to[SI_POLICY_ID_MAX + 2];
        snprintf(from, sizeof from, ",%s,", al[i].old_id);
        snprintf(to, sizeof to, ",%s,", al[i].id);
        rc = fn(ctx, from, to, al[i].old_id);
    }
    return rc;
}
