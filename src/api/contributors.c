/* Contributors of a site (docs/API.md §3.3.8), as Wix's Contributors API has them: query them
 * (with Wix's filters), replace one's roles or locations, remove one (which frees the seat).
 * Site-level calls: the router has checked the key, the site and the permission. */
#include "api/audit.h"
#include "api/api.h"
#include "api/invitee_flow.h"

#include "api/validate.h"
#include "core/contributor.h"

#include <stdlib.h>
#include <string.h>

#define CONTRIBUTORS_LIST_MAX 10000 /* rows one list answer may hold */
#define DESC_NO_CONTRIBUTOR   "No contributor with this account in this site."
#define ARG_POLICY_IDS        "filter.policyIds"   /* the SDK's wire form of filter.policyIds */
#define ARG_LOCATION_IDS      "filter.locationIds" /* and of filter.locationIds */
#define FILTER_VALUES_MAX     REQUEST_ARGS_MAX     /* no more can arrive in one query string */

/* ---- the Contributor object ------------------------------------------------------------- */

/* The role with this ID among roles (the account's, predefined first), or NULL. */
static const struct role *role_of(const struct role *roles, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (contributor_same_role(roles[i].id, id))
            return &roles[i];
    return NULL;
}

static json_t *ids_json(const struct policy_list *l)
{
    json_t *a = json_array();
    for (int i = 0; i < l->n; i++)
        json_array_append_new(a, json_string(l->ids[i]));
    return a;
}

/* One Assignment: {policy{policyId, title, description}, assignmentId, subject{id, subjectType,
 * context{id, contextType}}}; the subject is the contributor's account in the site's account
 * (Wix: "a subjectType = USER will have context = ACCOUNT"). */
static json_t *assignment_json(const struct request *req, const struct contributor_row *c,
                               const char *role_id, const struct role *roles, size_t nroles)
{
    char aid[SI_ASSIGNMENT_ID_LEN];
    contributor_assignment_id(c->site_id, c->account_id, role_id, aid);
    const struct role *r = role_of(roles, nroles, role_id);
    json_t *policy = json_pack("{s:s}", "policyId", role_id);
    if (r) {
        json_object_set_new(policy, "title", json_string(r->title));
        json_object_set_new(policy, "description", json_string(r->description));
    }
    return json_pack("{s:o, s:s, s:{s:s, s:s, s:{s:s, s:s}}}", "policy", policy, "assignmentId",
                     aid, "subject", "id", c->account_id, "subjectType", "USER", "context", "id",
                     req->site.account_id, "contextType", "ACCOUNT_CTX");
}

/* A contributor in both of Wix's shapes at once (docs/API.md §3.3.8): ContributorV2
 * {accountId, accountOwnerId} of Query Site Contributors and the full Contributor object {id,
 * metaData, isTeam, isClient, invitedEmail, joinedAt}; our own members under "siteinvites". */
static json_t *contributor_wix_json(const struct request *req, const struct contributor_row *c,
                                    const struct role *roles, size_t nroles)
{
    char joined[SI_TIME_TEXT_LEN];
    time_format(c->joined, joined);
    json_t *assignments = json_array();
    for (int i = 0; i < c->policies.n; i++)
        json_array_append_new(assignments,
                              assignment_json(req, c, c->policies.ids[i], roles, nroles));
    json_t *o = json_object();
    json_object_set_new(o, "accountId", json_string(c->account_id));
    /* The owner of the account the contributor joined: the site's account, whose ID is all
     * we know of its owner (we have no separate user IDs). */
    json_object_set_new(o, "accountOwnerId", json_string(req->site.account_id));
    json_object_set_new(o, "id", json_string(c->account_id));
    json_object_set_new(o, "metaData",
                        json_pack("{s:s, s:s, s:o}", "id", c->account_id, "email", c->email,
                                  "assignments", assignments));
    json_object_set_new(o, "isTeam", json_false());
    json_object_set_new(o, "isClient", json_false());
    if (c->invited_email[0])
        json_object_set_new(o, "invitedEmail", json_string(c->invited_email));
    json_object_set_new(o, "joinedAt", json_string(joined));
    json_t *ours =
        json_pack("{s:s, s:o}", "contributorId", c->id, "locationIds", ids_json(&c->locations));
    if (c->invite_id[0])
        json_object_set_new(ours, "inviteId", json_string(c->invite_id));
    json_object_set_new(o, "siteinvites", ours);
    return o;
}

/* ---- Query Site Contributors ------------------------------------------------------------ */

/* Collects the values of the repeated query argument name into out (borrowed from req). Location
 * IDs must be GUIDs (lowercased into locs); a violation names "<name>[i]". */
static size_t filter_values(const struct request *req, const char *name, const char **out,
                            char (*locs)[SI_ID_LEN], struct violations *vs)
{
    size_t n = 0;
    for (int i = 0; i < req->nargs && n < FILTER_VALUES_MAX; i++) {
        const char *v = req->args[i].value;
        if (strcmp(req->args[i].name, name) != 0 || !v)
            continue;
        if (locs && !id_normalize(v, locs[n])) {
            char field[VIOLATION_FIELD_MAX];
            validate_field_name(field, "%s[%zu]", name, n);
            violations_add(vs, field, RULE_FORMAT, "must be a GUID");
            continue;
        }
        out[n] = locs ? locs[n] : v;
        n++;
    }
    return n;
}

void api_contributors_query(struct request *req)
{
    struct violations vs = {.n = 0};
    const char *pols[FILTER_VALUES_MAX], *locs[FILTER_VALUES_MAX];
    char loc_ids[FILTER_VALUES_MAX][SI_ID_LEN];
    struct contributor_filter f = {.policy_ids = pols, .location_ids = locs};
    f.npolicies = filter_values(req, ARG_POLICY_IDS, pols, NULL, &vs);
    f.nlocations = filter_values(req, ARG_LOCATION_IDS, locs, loc_ids, &vs);
    if (vs.n) {
        request_fail_validation(req, &vs);
        return;
    }
    struct contributor_row *rows = NULL;
    struct role *roles = NULL;
    size_t n = 0, nroles = 0;
    enum si_err rc =
        store_contributors_list(req->app->store, req->site.id, CONTRIBUTORS_LIST_MAX, &rows, &n);
    if (!rc) /* the titles of the assignments' roles */
        rc = store_roles_list(req->app->store, req->principal.account_id, &roles, &nroles);
    if (rc) {
        request_fail_err(req, rc);
        goto out;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        if (contributor_filter_match(&rows[i], &f))
            json_array_append_new(list, contributor_wix_json(req, &rows[i], roles, nroles));
    request_reply_json(req, 200, json_pack("{s:o}", "contributors", list));
out:
    free(rows);
    free(roles);
}

/* ---- Change Role, Change Locations, Remove ------------------------------------------------ */

/* accountId: a required GUID (any case), normalised into out. */
static bool read_account_id(const json_t *v, char out[SI_ID_LEN], struct violations *vs)
{
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

static const json_t *member(const json_t *body, const char *name)
{
    return body ? json_object_get(body, name) : NULL;
}

/* newRoles: [{roleId}, ...] becomes the array of IDs validate_policy_ids judges; a malformed
 * element gets its own violation. Returns a new array (caller decrefs) or NULL when absent. */
static json_t *role_ids_of(const json_t *body, struct violations *vs)
{
    const json_t *a = member(body, "newRoles");
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

/* contributor_view's render (invitee_flow.h): called by the store inside the change's
 * transaction. */
char *contributor_view_render(void *ctx, const struct contributor_row *row)
{
    const struct contributor_view_ctx *v = ctx;
    json_t *data = contributor_wix_json(v->req, row, v->roles, v->nroles);
    char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    return text;
}

/* 404 for an account that is no contributor of the site, else the error's own answer. */
static void fail_write(struct request *req, enum si_err rc)
{
    if (rc == SI_ENOTFOUND)
        request_fail(req, P_NOT_FOUND, DESC_NO_CONTRIBUTOR);
    else
        request_fail_err(req, rc);
}

void api_contributor_change_role(struct request *req)
{
    struct violations vs = {.n = 0};
    struct role *roles = NULL;
    size_t nroles = 0;
    char account[SI_ID_LEN];
    struct policy_list policies = {.n = 0};
    struct contributor_row row;
    struct audit_actor actor;
    const json_t *body = validate_body_object(req->json, &vs);
    read_account_id(member(body, "accountId"), account, &vs);
    json_t *ids = role_ids_of(body, &vs);
    /* Custom roles for the check, and every role's title for the webhook event's payload. */
    enum si_err rc = store_roles_list(req->app->store, req->principal.account_id, &roles, &nroles);
    if (rc)
        goto out;
    validate_policy_ids(ids, "newRoles", true, roles, nroles, &policies, &vs);
    if (vs.n) {
        request_fail_validation(req, &vs);
        goto out;
    }
    struct contributor_view_ctx ctx = {req, roles, nroles};
    const struct contributor_view view = {contributor_view_render, &ctx};
    rc = store_contributor_set_roles(req->app->store, req->site.id, account, &policies,
                                     clock_now(req->app->clock), api_audit_actor(req, &actor),
                                     &view, &row);
    if (rc)
        goto out;
    /* Wix's ChangeContributorRoleResponse: every role now held, with its assignment's ID. */
    json_t *assigned = json_array();
    for (int i = 0; i < row.policies.n; i++) {
        char aid[SI_ASSIGNMENT_ID_LEN];
        contributor_assignment_id(row.site_id, row.account_id, row.policies.ids[i], aid);
        json_array_append_new(
            assigned, json_pack("{s:s, s:s}", "roleId", row.policies.ids[i], "assignmentId", aid));
    }
    request_reply_json(req, 200, json_pack("{s:o}", "newAssignedRoles", assigned));
out:
    if (rc)
        fail_write(req, rc);
    json_decref(ids);
    free(roles);
}

void api_contributor_change_locations(struct request *req)
{
    struct violations vs = {.n = 0};
    char account[SI_ID_LEN];
    struct policy_list locations = {.n = 0};
    struct contributor_row row;
    struct audit_actor actor;
    const json_t *body = validate_body_object(req->json, &vs);
    read_account_id(member(body, "accountId"), account, &vs);
    const json_t *nl = member(body, "newLocations");
    /* Required, as on Wix's page; [] clears every location. */
    if (!nl || json_is_null(nl))
        violations_add(&vs, "newLocations", RULE_REQUIRED_FIELD, "is required");
    else
        validate_location_ids(nl, "newLocations", &locations, &vs);
    if (vs.n) {
        request_fail_validation(req, &vs);
        return;
    }
    enum si_err rc = store_contributor_set_locations(req->app->store, req->site.id, account,
                                                     &locations, clock_now(req->app->clock),
                                                     api_audit_actor(req, &actor), &row);
    if (rc) {
        fail_write(req, rc);
        return;
    }
    /* Each role assignment now holds the same locations: one element per assignment. */
    json_t *assigned = json_array();
    for (int i = 0; i < row.policies.n; i++)
        json_array_append_new(assigned,
                              json_pack("{s:o}", "locationIds", ids_json(&row.locations)));
    request_reply_json(req, 200, json_pack("{s:o}", "newAssignedLocations", assigned));
}

void api_contributor_remove(struct request *req)
{
    struct violations vs = {.n = 0};
    char account[SI_ID_LEN];
    struct audit_actor actor;
    const json_t *body = validate_body_object(req->json, &vs);
    const json_t *v = member(body, "accountId");
    json_t *arg = NULL;
    /* DELETE may name the account in the query string instead (a DELETE body is unusual). */
    const char *q = request_arg(req, "accountId");
    if (!v && q)
        v = arg = json_string(q);
    read_account_id(v, account, &vs);
    json_decref(arg);
    if (vs.n) {
        request_fail_validation(req, &vs);
        return;
    }
    struct role *roles = NULL;
    size_t nroles = 0;
    /* The titles of the removed contributor's roles, for the webhook event's payload. */
    enum si_err rc = store_roles_list(req->app->store, req->principal.account_id, &roles, &nroles);
    struct contributor_view_ctx ctx = {req, roles, nroles};
    const struct contributor_view view = {contributor_view_render, &ctx};
    if (!rc)
        rc = store_contributor_remove(req->app->store, req->site.id, account,
                                      clock_now(req->app->clock), api_audit_actor(req, &actor),
                                      &view);
    free(roles);
    if (rc == SI_OK) {
        request_reply_json(req, 200, json_object());
    } else {
        fail_write(req, rc);
    }
}
