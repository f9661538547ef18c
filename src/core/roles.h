/* The predefined roles: Wix's IDs where Wix publishes them, which of them a site may grant, the
 * old IDs kept as aliases, the role-level filter and the translated titles. */
#ifndef SI_CORE_ROLES_H
#define SI_CORE_ROLES_H

#include "common/text_table.h"
#include "core/invite.h"

#include <stdbool.h>
#include <stddef.h>

/* Wix's own IDs (Get Roles Info's example, docs/API.md §1). */
#define ROLE_ID_OWNER         "6601492336091027458"
#define ROLE_ID_ACCOUNT_ADMIN "6642345101181663232"
#define ROLE_ID_ADMIN         "6732588207941061632"

/* Where the translations live: <templates_dir>/roles/<lang>/roles.json (text_table_load). */
#define ROLES_TEXTS_FAMILY "roles"
#define ROLES_TEXTS_FILE   "roles.json"

/* Wix's RoleLevel filter of Get Roles Info. */
enum role_level { ROLE_LEVEL_ALL, ROLE_LEVEL_SITE, ROLE_LEVEL_ACCOUNT };

/* Why a role cannot be granted on a site by an invite or a role change. */
enum role_grant {
    ROLE_GRANT_OK,
    ROLE_GRANT_OWNER,        /* Owner passes only by transferring the site */
    ROLE_GRANT_ACCOUNT_ONLY, /* restricted from Site: an account-level role */
};

/* A retired ID and the ID that replaced it; input still accepts the old one. */
struct role_alias {
    const char *old_id;
    const char *id;
};

/* The predefined roles, in display order (Wix's first); *n receives the count. Static. */
const struct role *roles_predefined(size_t *n);

/* The predefined role with this ID or alias, or NULL. Static storage. */
const struct role *roles_find_predefined(const char *id);

/* The ID answers carry for id: the replacing ID when id is a retired alias, else id itself
 * (borrowed from the caller, or static). */
const char *roles_canonical_id(const char *id);

/* The retired IDs; *n receives the count. Static. Migrations rewrite stored IDs with it. */
const struct role_alias *roles_aliases(size_t *n);

/* May a site grant role id (canonical or alias) by an invite or a role change? Custom and
 * unknown IDs are OK here: whether they exist is the caller's question. */
enum role_grant roles_site_grant(const char *id);

/* Wix's name of a restriction: "NoRestriction", "Site" or "Account". */
const char *roles_restriction_name(enum role_restriction r);

/* Parses "ALL", "SITE_LEVEL" or "ACCOUNT_LEVEL"; false for anything else. */
bool roles_level_parse(const char *s, enum role_level *out);

/* True when r belongs in the answer for level: SITE_LEVEL lists roles a site may hold (not
 * restricted from Site), ACCOUNT_LEVEL those an account may hold. */
bool roles_in_level(const struct role *r, enum role_level level);

/* Title and description of r for locale: for a predefined role the translation in texts (whole
 * tag, then primary subtag, then "en"), else its English; a custom role's own texts. texts may
 * be NULL. Borrowed from r or texts. Thread-safe. */
void roles_text(const struct text_table *texts, const char *locale, const struct role *r,
                const char **title, const char **description);

/* Checks a loaded table of role texts: every key a predefined ID, every language holding a
 * title and a description of every predefined role that fit struct role, and "en" equal to the
 * built-in English (Wix's titles, which the stores seed). SI_EINVAL with the reason in why.
 * A text_table_check_fn, so loaders pass it to text_table_load. */
enum si_err roles_texts_check(const struct text_table *texts, char *why, size_t cap) SI_MUST_USE;

#endif
