/* Language tags: syntax check and the choice of a supported template language. */
#include "core/lang.h"

#include "core/invite.h"

#include <stddef.h>
#include <string.h>

#define LANG_PRIMARY_MIN 2 /* ISO 639-1 */
#define LANG_PRIMARY_MAX 3 /* ISO 639-2/3 */
#define LANG_SUBTAG_MAX  8 /* BCP 47 */

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(char c)
{
    return is_alpha(c) || (c >= '0' && c <= '9');
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Only the shape is checked, not the IANA registry: an unknown but well-formed language is
 * legal input that simply falls back (lang_pick), while junk is a validation error. */
bool lang_tag_valid(const char *tag)
{
    if (!tag || strnlen(tag, SI_LANG_MAX) >= SI_LANG_MAX)
        return false;
    size_t n = 0;
    while (is_alpha(tag[n]))
        n++;
    if (n < LANG_PRIMARY_MIN || n > LANG_PRIMARY_MAX)
        return false;
    const char *p = tag + n;
    /* Each further subtag: a separator, then 1-8 alphanumerics. */
    while (*p) {
        if (*p != '-' && *p != '_')
            return false;
        p++;
        size_t k = 0;
        while (is_alnum(p[k]))
            k++;
        if (k < 1 || k > LANG_SUBTAG_MAX)
            return false;
        p += k;
    }
    return true;
}

/* Length of the primary subtag (the letters before the first separator). */
static size_t primary_len(const char *tag)
{
    size_t n = 0;
    while (tag[n] && tag[n] != '-' && tag[n] != '_')
        n++;
    return n;
}

/* The supported entry whose primary subtag equals tag's, case-insensitively, or NULL. */
static const char *find_supported(const char *tag, const char *const *supported)
{
    if (!lang_tag_valid(tag))
        return NULL;
    /* Templates exist per language, not per region: "pt-BR" and "pt-PT" both get "pt". */
    size_t n = primary_len(tag);
    for (size_t i = 0; supported[i]; i++) {
        const char *s = supported[i];
        if (primary_len(s) != n)
            continue;
        size_t k = 0;
        while (k < n && lower(s[k]) == lower(tag[k]))
            k++;
        if (k == n)
            return s;
    }
    return NULL;
}

const char *lang_pick(const char *requested, const char *site_language,
                      const char *const *supported)
{
    if (!supported || !supported[0])
        return LANG_FALLBACK;
    const char *pick = find_supported(requested, supported);
    if (!pick)
        pick = find_supported(site_language, supported);
    if (!pick)
        pick = find_supported(LANG_FALLBACK, supported);
    /* A list without English still yields one of its own entries, never a missing template. */
    return pick ? pick : supported[0];
}
