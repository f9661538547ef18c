/* The roles as clients and invitees read them: the translated titles of <templates_dir>/roles/,
 * loaded once, a role's JSON (Wix's RoleInfo) and the joined titles an invite page shows. */
#ifndef SI_API_ROLE_VIEW_H
#define SI_API_ROLE_VIEW_H

#include "common/err.h"
#include "core/invite.h"

#include <jansson.h>
#include <stddef.h>

/* Loads <templates_dir>/roles/<lang>/roles.json (none: the built-in English) and checks it with
 * core's roles_texts_check. SI_EINVAL, SI_ECONFIG or SI_ETOOBIG, logged with the file or the
 * reason. Replaces the table in use; not thread-safe against requests (start-up only). */
enum si_err role_view_load(const char *templates_dir) SI_MUST_USE;

/* Frees the loaded table; the built-in English serves afterwards. */
void role_view_unload(void);

/* Wix's RoleInfo of r for locale: {id, title, description, restrictFromLevel}, all four always
 * present; a predefined role's texts translated (core's roles_text). A new reference. */
json_t *role_view_json(const struct role *r, const char *locale);

/* The titles of policies in lang, joined with ", " into out (cap bytes, cut at a whole title):
 * predefined roles translated, custom ones from custom[0..ncustom), an unknown ID as itself. */
void role_view_titles(const struct policy_list *policies, const struct role *custom, size_t ncustom,
                      const char *lang, char *out, size_t cap);

#endif
