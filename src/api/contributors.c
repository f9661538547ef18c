/* Contributors of a site (docs/API.md §3.3): list them, replace one's roles, remove one (which
 * frees the seat). Site-level calls: the router has checked the key, the site and the permission.
 */
#include "api/api.h"

#include "api/invitee_flow.h"
#include "api/validate.h"

#include <stdlib.h>
#include <string.h>

#define CONTRIBUTORS_LIST_MAX 10000 /* rows one list answer may hold */
#define DESC_NO_CONTRIBUTOR   "No contributor with this account in this site."

void api_contributors_query(struct request *req)
{
    struct contributor_row *rows = NULL;
    size_t n = 0;
    enum si_err rc =
        store_contributors_list(req->app->store, req->site.id, CONTRIBUTORS_LIST_MAX, &rows, &n);
    if (rc) {
        request_fail_err(req, rc);
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, contributor_json(&rows[i]));
    free(rows);
    request_reply_json(req, 200, json_pack("{s:o}", "contributors", list));
}

/* accountId: a required GUID (any case), normalised into out. */
static bool read_account_id(const json_t *body, char out[SI_ID_LEN], struct violations *vs)
{
    const json_t *v = body ? json_object_get(body, "accountId") : NULL;
    if (!v || json_is_null(v)) {
        violations_add(vs, "accountId", RULE_REQUIRED_FIELD, "is required");
        return false;
    }
    if (!json_is_string(v) || !id_normalize(json_string_value(v), out)) {
        violations_add(vs, "accountId", RULE_FORMAT, "must be a GUID");
        return false;
    }
    return true;
}

/* newRoles: [{roleId}, ...] becomes the array of IDs validate_policy_ids judges; a malformed
 * element gets its own violation. Returns a new array (caller decrefs) or NULL when absent. */
static json_t *role_ids_of(const json_t *body, struct violations *vs)
{
    const json_t *a = body ? json_object_get(body, "newRoles") : NULL;
    if (!a || json_is_null(a))
        return NULL;
    if (!json_is_array(a)) {
        validate_type_error(vs, "newRoles", "an array of {roleId} objects");
        return NULL;
    }
    json_t *ids = json_array();
    size_t i;
    const json_t *e;
    json_array_foreach(a, i, e)
    {
        const json_t *id = json_is_object(e) ? json_object_get(e, "roleId") : NULL;
        if (!id || !json_is_string(id)) {
            char field[VIOLATION_FIELD_MAX];
            validate_field_name(field, "newRoles[%zu].roleId", i);
            violations_add(vs, field, id ? RULE_FORMAT : RULE_REQUIRED_FIELD,
                           "must be a role ID string");
            continue;
        }
        json_array_append(ids, (json_t *)id);
    }
    return ids;
}

void api_contributor_change_role(struct request *req)
{
    struct violations vs = {.n = 0};
    struct role *roles = NULL;
    size_t nroles = 0;
    char account[SI_ID_LEN];
    struct policy_list policies = {.n = 0};
    struct contributor_row row;
    const json_t *body = validate_body_object(req->json, &vs);
    read_account_id(body, account, &vs);
    json_t *ids = role_ids_of(body, &vs);
    enum si_err rc = SI_OK;
    if (validate_policy_ids_need_custom(ids))
        rc = store_roles_list(req->app->store, req->principal.account_id, &roles, &nroles);
    if (rc)
        goto out;
    validate_policy_ids(ids, "newRoles", true, roles, nroles, &policies, &vs);
    if (vs.n) {
        request_fail_validation(req, &vs);
        goto out;
    }
    rc = store_contributor_set_roles(req->app->store, req->site.id, account, &policies, &row);
    if (rc == SI_OK)
        request_reply_json(req, 200, json_pack("{s:o}", "contributor", contributor_json(&row)));
    else if (rc == SI_ENOTFOUND)
        request_fail(req, P_NOT_FOUND, DESC_NO_CONTRIBUTOR);
    rc = (rc == SI_OK || rc == SI_ENOTFOUND) ? SI_OK : rc;
out:
    if (rc)
        request_fail_err(req, rc);
    json_decref(ids);
    free(roles);
}

void api_contributor_remove(struct request *req)
{
    struct violations vs = {.n = 0};
    char account[SI_ID_LEN];
    read_account_id(validate_body_object(req->json, &vs), account, &vs);
    if (vs.n) {
        request_fail_validation(req, &vs);
        return;
    }
    enum si_err rc = store_contributor_remove(req->app->store, req->site.id, account);
    if (rc == SI_OK)
        request_reply_json(req, 200, json_object());
    else if (rc == SI_ENOTFOUND)
        request_fail(req, P_NOT_FOUND, DESC_NO_CONTRIBUTOR);
    else
        request_fail_err(req, rc);
}
