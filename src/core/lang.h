/* Language tags: which template language an email or page uses. */
#ifndef SI_CORE_LANG_H
#define SI_CORE_LANG_H

#include <stdbool.h>

#define LANG_FALLBACK "en"

/* True when tag is a syntactically valid BCP 47-ish tag: 2-3 letters, then optional
 * subtags of 1-8 alphanumerics separated by '-' or '_', total under SI_LANG_MAX. */
bool lang_tag_valid(const char *tag);

/* Picks the supported language for an email: requested tag (primary subtag, "pt-BR" -> "pt"),
 * else the site's language, else "en". supported is a NULL-terminated list. Returns a pointer
 * into supported (static storage). */
const char *lang_pick(const char *requested, const char *site_language,
                      const char *const *supported);

#endif
