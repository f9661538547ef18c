/* The predefined roles and their rules. Their IDs are part of the contract: never change or
 * reuse one; a retired ID becomes an alias (docs/API.md §1, docs/DECISIONS.md). */
#include "roles.h"

#include <stdio.h>
#include <string.h>

#define R(id, title, desc, restrict)                                                               \
    {                                                                                              \
        id, title, desc, true, restrict                                                            \
    }

/* The first three are Wix's, verbatim from Get Roles Info's example
 * (https://dev.wix.com/docs/rest/account-level/user-management/accounts/users/get-roles-info).
 * Wix publishes no ID for the others: they keep our 19-digit numerals; three descriptions are
 * Wix's support article's (https://support.wix.com/en/article/roles-permissions-overview). Wix
 * gives no restrictFromLevel for them either: like Admin (Co-Owner) they are site roles. */
static const struct role predefined[] = {
    R(ROLE_ID_OWNER, "Owner",
      "Can manage and access all aspects of sites, including billing and domains, plus invite "
      "other people and set their permissions.",
      ROLE_NO_RESTRICTION),
    R(ROLE_ID_ACCOUNT_ADMIN, "Account Admin (Co-Owner)",
      "Can manage and edit all sites and apps in the account, including billing, domains and "
      "inviting people, but cannot close account.",
      ROLE_RESTRICT_SITE),
    R(ROLE_ID_ADMIN, "Admin (Co-Owner)",
      "Has access to edit, publish and manage site, including billing, payment & financial info, "
      "domains and inviting people, but can't delete or transfer the site.",
      ROLE_RESTRICT_ACCOUNT),
    R("1000000000000000002", "Website Manager",
      "Access to manage, edit & publish site, but cannot manage billing, delete, duplicate or "
      "transfer site",
      ROLE_RESTRICT_ACCOUNT),
    R("1000000000000000003", "Website Designer",
      "Can edit the site, manage settings and apps but cannot access Inbox, contacts and other "
      "sensitive info",
      ROLE_RESTRICT_ACCOUNT),
    R("1000000000000000004", "Back Office Manager",
      "Can access the Dashboard to manage site settings and apps but cannot edit the site",
      ROLE_RESTRICT_ACCOUNT),
    R("1000000000000000005", "Blog Editor", "Writes, edits and publishes every blog post.",
      ROLE_RESTRICT_ACCOUNT),
    R("1000000000000000006", "Blog Writer", "Writes blog posts and submits them for review.",
      ROLE_RESTRICT_ACCOUNT),
    R("1000000000000000007", "Store Manager", "Manages products, orders and the store's settings.",
      ROLE_RESTRICT_ACCOUNT),
    R("1000000000000000008", "Marketing Manager",
      "Runs campaigns, SEO and marketing tools for the site.", ROLE_RESTRICT_ACCOUNT),
};

#define NPREDEFINED (sizeof predefined / sizeof predefined[0])

/* 1000000000000000001 was our Admin (Co-Owner) until Wix's ID replaced it (issue #15). */
static const struct role_alias aliases[] = {
    {"1000000000000000001", ROLE_ID_ADMIN},
};

const struct role *roles_predefined(size_t *n)
{
    *n = NPREDEFINED;
    return predefined;
}

const struct role_alias *roles_aliases(size_t *n)
{
    *n = sizeof aliases / sizeof aliases[0];
    return aliases;
}

const char *roles_canonical_id(const char *id)
{
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(aliases[i].old_id, id) == 0)
            return aliases[i].id;
    return id;
}

const struct role *roles_find_predefined(const char *id)
{
    id = roles_canonical_id(id);
    for (size_t i = 0; i < NPREDEFINED; i++)
        if (strcmp(predefined[i].id, id) == 0)
            return &predefined[i];
    return NULL;
}

enum role_grant roles_site_grant(const char *id)
{
    const struct role *r = roles_find_predefined(id);
    if (!r)
        return ROLE_GRANT_OK;
    /* Wix: "you can only reassign the role by transferring the site to a new owner". */
    if (strcmp(r->id, ROLE_ID_OWNER) == 0)
        return ROLE_GRANT_OWNER;
    return r->restrict_from == ROLE_RESTRICT_SITE ? ROLE_GRANT_ACCOUNT_ONLY : ROLE_GRANT_OK;
}

const char *roles_restriction_name(enum role_restriction r)
{
    switch (r) {
    case ROLE_RESTRICT_SITE:
        return "Site";
    case ROLE_RESTRICT_ACCOUNT:
        return "Account";
    case ROLE_NO_RESTRICTION:
        break;
    }
    return "NoRestriction";
}

bool roles_level_parse(const char *s, enum role_level *out)
{
    static const struct {
        const char *name;
        enum role_level level;
    } names[] = {
        {"ALL", ROLE_LEVEL_ALL},
        {"SITE_LEVEL", ROLE_LEVEL_SITE},
        {"ACCOUNT_LEVEL", ROLE_LEVEL_ACCOUNT},
    };
    for (size_t i = 0; s && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i].name, s) == 0) {
            *out = names[i].level;
            return true;
        }
    return false;
}

bool roles_in_level(const struct role *r, enum role_level level)
{
    switch (level) {
    case ROLE_LEVEL_SITE:
        return r->restrict_from != ROLE_RESTRICT_SITE;
    case ROLE_LEVEL_ACCOUNT:
        return r->restrict_from != ROLE_RESTRICT_ACCOUNT;
    case ROLE_LEVEL_ALL:
        break;
    }
    return true;
}

void roles_text(const struct text_table *texts, const char *locale, const struct role *r,
                const char **title, const char **description)
{
    const struct role *p = r->predefined ? roles_find_predefined(r->id) : NULL;
    const char *lang = p ? text_table_pick(texts, locale) : NULL;
    const char *t = text_table_get(texts, lang, p ? p->id : "", "title");
    const char *d = text_table_get(texts, lang, p ? p->id : "", "description");
    /* roles_texts_check made every language complete; the built-in English is for no table. */
    *title = t ? t : p ? p->title : r->title;
    *description = d ? d : p ? p->description : r->description;
}

struct check {
    const struct text_table *texts;
    char *why;
    size_t cap;
};

/* One key of one language: a predefined ID with both texts, fitting struct role. */
static int check_key(void *ctx, const char *lang, const char *key)
{
    struct check *c = ctx;
    const struct role *p = roles_find_predefined(key);
    if (!p || strcmp(p->id, key) != 0) {
        snprintf(c->why, c->cap, "%s: \"%s\" is not the ID of a predefined role", lang, key);
        return 1;
    }
    const char *t = text_table_get(c->texts, lang, key, "title");
    const char *d = text_table_get(c->texts, lang, key, "description");
    if (!t || !d || !*t || strlen(t) >= SI_NAME_MAX || strlen(d) >= SI_ROLE_DESC_MAX) {
        snprintf(c->why, c->cap, "%s: \"%s\" needs a title (under %d bytes) and a description",
                 lang, key, SI_NAME_MAX);
        return 1;
    }
    if (strcmp(lang, "en") == 0 && (strcmp(t, p->title) != 0 || strcmp(d, p->description) != 0)) {
        snprintf(c->why, c->cap, "en: \"%s\" differs from the built-in English of core/roles.c",
                 key);
        return 1;
    }
    return 0;
}

/* Every predefined role in every language (a missing one is a translator's slip). */
static int check_complete(void *ctx, const char *lang, const char *key)
{
    struct check *c = ctx;
    (void)key;
    for (size_t i = 0; i < NPREDEFINED; i++)
        if (!text_table_get(c->texts, lang, predefined[i].id, "title")) {
            snprintf(c->why, c->cap, "%s: the role \"%s\" (%s) is missing", lang, predefined[i].id,
                     predefined[i].title);
            return 1;
        }
    return 0;
}

enum si_err roles_texts_check(const struct text_table *texts, char *why, size_t cap)
{
    struct check c = {texts, why, cap};
    why[0] = '\0';
    if (texts && !text_table_get(texts, "en", ROLE_ID_OWNER, "title")) {
        snprintf(why, cap, "no \"en\" texts");
        return SI_EINVAL;
    }
    if (text_table_each(texts, check_key, &c) || text_table_each(texts, check_complete, &c))
        return SI_EINVAL;
    return SI_OK;
}
