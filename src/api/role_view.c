/* The roles' texts as answers and pages show them, in the reader's language. */
#include "role_view.h"

#include "common/text_table.h"
#include "core/roles.h"

#include <stdio.h>
#include <string.h>

/* Set at start-up before requests arrive, read-only afterwards; NULL = built-in English. */
static struct text_table *texts;

enum si_err role_view_load(const char *templates_dir)
{
    struct text_table *t = NULL;
    enum si_err rc =
        text_table_load(templates_dir, ROLES_TEXTS_FAMILY, ROLES_TEXTS_FILE, roles_texts_check, &t);
    if (rc)
        return rc;
    text_table_free(texts);
    texts = t;
    return SI_OK;
}

void role_view_unload(void)
{
    text_table_free(texts);
    texts = NULL;
}

json_t *role_view_json(const struct role *r, const char *locale)
{
    const char *title, *description;
    roles_text(texts, locale, r, &title, &description);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(r->id));
    json_object_set_new(o, "title", json_string(title));
    json_object_set_new(o, "description", json_string(description));
    json_object_set_new(o, "restrictFromLevel",
                        json_string(roles_restriction_name(r->restrict_from)));
    return o;
}

void role_view_titles(const struct policy_list *policies, const struct role *custom, size_t ncustom,
                      const char *lang, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < policies->n; i++) {
        const char *id = policies->ids[i], *title = id, *description;
        const struct role *r = roles_find_predefined(id);
        for (size_t j = 0; !r && j < ncustom; j++)
            if (strcmp(custom[j].id, id) == 0)
                r = &custom[j];
        if (r)
            roles_text(texts, lang, r, &title, &description);
        int w = snprintf(out + len, cap - len, "%s%s", i ? ", " : "", title);
        if (w < 0 || (size_t)w >= cap - len) {
            out[len] = '\0'; /* a cut title would read as a different role */
            break;
        }
        len += (size_t)w;
    }
}
