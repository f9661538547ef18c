/* Roles of an account: list the predefined and custom roles, create a custom role. */
#include "api/api.h"

#include "api/validate.h"

#include <stdlib.h>
#include <string.h>

#define ROLE_TITLE_MAX_CHARS 100
#define ROLE_DESC_MAX_CHARS  500

static json_t *role_json(const struct role *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(r->id));
    json_object_set_new(o, "title", json_string(r->title));
    json_object_set_new(o, "description", json_string(r->description));
    return o;
}

void api_roles_list(struct request *req)
{
    struct role *roles = NULL;
    size_t n = 0;
    enum si_err rc = store_roles_list(req->app->store, req->principal.account_id, &roles, &n);
    if (rc) {
        request_fail_err(req, rc);
        return;
    }
    /* The store lists predefined roles first; the flag, not the position, splits them. */
    json_t *pre = json_array(), *custom = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(roles[i].predefined ? pre : custom, role_json(&roles[i]));
    free(roles);
    json_t *o = json_object();
    json_object_set_new(o, "predefinedRoles", pre);
    json_object_set_new(o, "customRoles", custom);
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
    enum si_err rc = store_role_create(req->app->store, req->principal.account_id, &r);
    if (rc == SI_EEXIST) {
        request_fail(req, P_ALREADY_EXISTS, "A role with this title already exists.");
        return;
    }
    if (rc) {
        request_fail_err(req, rc);
        return;
    }
    /* 200 rather than 201, like every creation of the Wix API this mirrors. */
    request_reply_json(req, 200, json_pack("{s:o}", "role", role_json(&r)));
}
