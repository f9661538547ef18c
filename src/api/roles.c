/* Roles of an account: Get Roles Info (predefined and custom roles, translated and filtered by
 * level), and creating a custom role. */
#include "api/api.h"
#include "api/audit.h"

#include "api/role_view.h"
#include "api/validate.h"
#include "core/roles.h"

#include <stdlib.h>
#include <string.h>

#define ROLE_TITLE_MAX_CHARS 100
#define ROLE_DESC_MAX_CHARS  500

/* Wix's EditorType values: accepted in filter.editorTypes; every role serves every editor. */
static const char *const editor_types[] = {"UNINITIALIZED", "EDITORX", "BLOCKS", "STUDIO"};

/* filter.roleLevel (or the snake-case filter.role_level a script sends); ALL when absent. */
static void read_level(const struct request *req, enum role_level *level, struct violations *vs)
{
    const char *name = "filter.roleLevel", *v = request_arg(req, name);
    if (!v)
        v = request_arg(req, name = "filter.role_level");
    *level = ROLE_LEVEL_ALL;
    if (v && !roles_level_parse(v, level))
        violations_add(vs, name, RULE_INVALID_ENUM_VALUE,
                       "must be one of ALL, SITE_LEVEL, ACCOUNT_LEVEL");
}

/* filter.editorTypes, repeated as the SDK sends arrays: each value must be an EditorType. */
static void read_editor_types(const struct request *req, struct violations *vs)
{
    for (int i = 0; i < req->nargs; i++) {
        const char *name = req->args[i].name;
        if (strcmp(name, "filter.editorTypes") != 0 && strcmp(name, "filter.editor_types") != 0)
            continue;
        bool known = false;
        for (size_t k = 0; k < sizeof editor_types / sizeof editor_types[0]; k++)
            known |= strcmp(editor_types[k], req->args[i].value) == 0;
        if (!known)
            violations_add(vs, name, RULE_INVALID_ENUM_VALUE,
                           "must be one of UNINITIALIZED, EDITORX, BLOCKS, STUDIO");
    }
}

void api_roles_list(struct request *req)
{
    struct violations vs = {.n = 0};
    enum role_level level;
    read_level(req, &level, &vs);
    read_editor_types(req, &vs);
    if (vs.n) {
        request_fail_validation(req, &vs);
        return;
    }
    /* An unknown or malformed locale reads as English, as Wix's default. */
    const char *locale = request_arg(req, "locale");
    struct role *roles = NULL;
    size_t n = 0, npre = 0;
    enum si_err rc = store_roles_list(req->app->store, req->principal.account_id, &roles, &n);
    if (rc) {
        request_fail_err(req, rc);
        return;
    }
    /* Predefined roles come from core (their texts translated, their restriction); the store's
     * copies only back the title check of custom roles. */
    const struct role *pre = roles_predefined(&npre);
    json_t *apre = json_array(), *acustom = json_array();
    for (size_t i = 0; i < npre; i++)
        if (roles_in_level(&pre[i], level))
            json_array_append_new(apre, role_view_json(&pre[i], locale));
    for (size_t i = 0; i < n; i++)
        if (!roles[i].predefined && roles_in_level(&roles[i], level))
            json_array_append_new(acustom, role_view_json(&roles[i], locale));
    free(roles);
    json_t *o = json_object();
    json_object_set_new(o, "predefinedRoles", apre);
    json_object_set_new(o, "customRoles", acustom);
    request_reply_json(req, 200, o);
}

/* A text member of a role: max_chars code points and fitting cap bytes with its NUL, no
 * control characters; required ones must hold something other than spaces. */
static void read_text(const json_t *body, const char *name, bool required, size_t max_chars,
                      char *out, size_t cap, struct violations *vs)
{
    const json_t *v = body ? json_object_get(body, name) : NULL;
    out[0] = '\0';
    if (!v || json_is_null(v)) {
        if (required)
            violations_add(vs, name, RULE_REQUIRED_FIELD, "is required");
        return;
    }
    if (!json_is_string(v)) {
        validate_type_error(vs, name, "a string");
        return;
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v), chars = 0;
    if (!validate_utf8_count(s, len, &chars) || validate_has_control(s, len, NULL)) {
        violations_add(vs, name, RULE_FORMAT, "must be text without control characters");
        return;
    }
    /* Titles are stored in fixed fields: the byte cap matters for scripts of 3-4 byte UTF-8. */
    if (chars > max_chars || len >= cap) {
        violations_add(vs, name, RULE_MAX, "at most %zu characters (%zu bytes)", max_chars,
                       cap - 1);
        return;
    }
    if (required && strspn(s, " ") == len) {
        violations_add(vs, name, RULE_REQUIRED_FIELD, "must not be empty");
        return;
    }
    memcpy(out, s, len + 1);
}

void api_roles_create(struct request *req)
{
    struct violations vs = {.n = 0};
    struct role r;
    memset(&r, 0, sizeof r);
    const json_t *body = validate_body_object(req->json, &vs);
    read_text(body, "title", true, ROLE_TITLE_MAX_CHARS, r.title, sizeof r.title, &vs);
    read_text(body, "description", false, ROLE_DESC_MAX_CHARS, r.description, sizeof r.description,
              &vs);
    if (vs.n) {
        request_fail_validation(req, &vs);
        return;
    }
    /* Custom roles get GUIDs, so they can never collide with the 19-digit predefined IDs. */
    id_new(req->app->rng, r.id);
    r.predefined = false;
    struct audit_actor actor;
    enum si_err rc = store_role_create(req->app->store, req->principal.account_id, &r,
                                       clock_now(req->app->clock), api_audit_actor(req, &actor));
    if (rc == SI_EEXIST) {
        request_fail(req, P_ALREADY_EXISTS, "A role with this title already exists.");
        return;
    }
    if (rc) {
        request_fail_err(req, rc);
        return;
    }
    /* 200 rather than 201, like every creation of the Wix API this mirrors. */
    request_reply_json(req, 200, json_pack("{s:o}", "role", role_view_json(&r, NULL)));
}
