/* The audit log's pure parts: names, the action and changes of each kind of change, the actor
 * rules, and the entry's JSON shape. */
#include "core/audit.h"

#include "core/lifecycle.h"
#include "core/webhook.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define NOW ((si_ms)1800000000000)
#define DAY SI_MS_PER_DAY

static const struct audit_actor KEY = {.type = AUDIT_ACTOR_API_KEY,
                                       .id = "5f0c7a52-1b7e-4c53-9d55-3b0c5d2b8e11",
                                       .name = "crm \"sync\"",
                                       .request_id = "0b6e5d4c-3a2b-4c1d-8e9f-0a1b2c3d4e5f"};

static struct invite pending(void)
{
    struct invite v;
    memset(&v, 0, sizeof v);
    snprintf(v.id, sizeof v.id, "%s", "019a4b2e-9c3d-7e10-8a42-5b6c7d8e9f01");
    snprintf(v.site_id, sizeof v.site_id, "%s", "48a9106a-c068-4e7e-aafc-afcc8c740a6c");
    snprintf(v.email, sizeof v.email, "%s", "Ada@example.com");
    v.policies.n = 1;
    snprintf(v.policies.ids[0], sizeof v.policies.ids[0], "%s", "6732588207941061632");
    v.status = INVITE_PENDING;
    v.created = NOW - DAY;
    v.expires = NOW + DAY;
    return v;
}

/* Parses text as a JSON object; the caller decrefs. */
static json_t *parse(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    assert_non_null(j);
    assert_true(json_is_object(j));
    return j;
}

static const char *str_at(const json_t *o, const char *a, const char *b)
{
    const json_t *v = json_object_get(json_object_get(o, a), b);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void test_names_round_trip(void **state)
{
    (void)state;
    for (int a = 0; a < AUDIT_ACTION_COUNT; a++) {
        enum audit_action back;
        assert_true(audit_action_parse(audit_action_name((enum audit_action)a), &back));
        assert_int_equal(back, a);
    }
    enum audit_action act;
    assert_false(audit_action_parse("invite.nope", &act));
    assert_false(audit_action_parse(NULL, &act));
    enum audit_actor_type t;
    assert_true(audit_actor_type_parse("apiKey", &t));
    assert_int_equal(t, AUDIT_ACTOR_API_KEY);
    assert_false(audit_actor_type_parse("", &t)); /* NONE has no name to ask for */
    enum audit_target_type tt;
    assert_true(audit_target_type_parse("contributor", &tt));
    assert_int_equal(tt, AUDIT_TARGET_CONTRIBUTOR);
    assert_string_equal(audit_action_name(AUDIT_CONTRIBUTOR_ROLE_CHANGED),
                        "contributor.role_changed");
}

/* Runs a lifecycle rule on a copy of v as the store would, and builds the entry. */
static bool decide(const struct invite *v, invite_change_fn fn, void *ctx, struct audit_entry *e)
{
    struct invite_change ch = {.inv = *v, .outbox = OUTBOX_KEEP};
    assert_int_equal(fn(&ch, ctx, NOW), SI_OK);
    return audit_invite_change(v, &ch, &KEY, NOW, e);
}

static void test_revoke_resend_update(void **state)
{
    (void)state;
    struct invite v = pending();
    struct audit_entry e;
    assert_true(decide(&v, lifecycle_revoke, NULL, &e));
    assert_int_equal(e.action, AUDIT_INVITE_REVOKED);
    assert_string_equal(e.changes, "{\"status\":{\"from\":\"Pending\",\"to\":\"Deleted\"}}");
    assert_string_equal(e.target_id, v.id);
    assert_string_equal(e.actor.request_id, KEY.request_id);
    assert_int_equal(e.time, NOW);
    audit_entry_cleanup(&e);

    /* A lapsed Pending row is resent from Expired, as the caller saw it. */
    struct invite lapsed = pending();
    lapsed.expires = NOW - 1;
    struct resend_ctx rc = {.lifetime_ms = 30 * DAY};
    assert_true(decide(&lapsed, lifecycle_resend, &rc, &e));
    assert_int_equal(e.action, AUDIT_INVITE_RESENT);
    json_t *j = parse(e.changes);
    assert_string_equal(str_at(j, "status", "from"), "Expired");
    assert_string_equal(str_at(j, "status", "to"), "Pending");
    assert_non_null(str_at(j, "expirationDate", "to"));
    assert_null(json_object_get(j, "policyIds"));
    json_decref(j);
    audit_entry_cleanup(&e);

    struct policy_list p = {.n = 2, .ids = {"1", "2"}};
    struct update_ctx up = {.policies = &p};
    assert_true(decide(&v, lifecycle_update, &up, &e));
    assert_int_equal(e.action, AUDIT_INVITE_UPDATED);
    assert_string_equal(
        e.changes, "{\"policyIds\":{\"from\":[\"6732588207941061632\"],\"to\":[\"1\",\"2\"]}}");
    audit_entry_cleanup(&e);

    /* Revoking a revoked invite writes nothing, so there is no entry. */
    struct invite gone = pending();
    gone.status = INVITE_DELETED;
    assert_false(decide(&gone, lifecycle_revoke, NULL, &e));
}

static void test_created_and_answered(void **state)
{
    (void)state;
    struct invite v = pending();
    snprintf(v.staff_id, sizeof v.staff_id, "%s", "7c9e6679-7425-40de-944b-e07fc1f90ae7");
    struct audit_entry e;
    audit_invite_created(&v, &KEY, &e);
    assert_int_equal(e.action, AUDIT_INVITE_CREATED);
    assert_int_equal(e.time, v.created);
    json_t *j = parse(e.changes);
    assert_string_equal(str_at(j, "email", "to"), "Ada@example.com");
    assert_null(str_at(j, "email", "from"));
    assert_string_equal(str_at(j, "staffId", "to"), v.staff_id);
    assert_null(json_object_get(j, "locationIds")); /* none given, none shown */
    json_decref(j);
    audit_entry_cleanup(&e);

    audit_invite_answered(&v, true, "85f58442-e0ac-49fc-8a5d-36a2e50c7177", &KEY, NOW, &e);
    assert_int_equal(e.action, AUDIT_INVITE_ACCEPTED);
    assert_int_equal(e.actor.type, AUDIT_ACTOR_INVITEE); /* not the key that may have called */
    assert_string_equal(e.actor.id, "85f58442-e0ac-49fc-8a5d-36a2e50c7177");
    assert_string_equal(e.actor.email, "Ada@example.com");
    assert_string_equal(e.actor.name, "");
    assert_string_equal(e.actor.request_id, KEY.request_id);
    audit_entry_cleanup(&e);

    audit_invite_answered(&v, false, "ignored", NULL, NOW, &e);
    assert_int_equal(e.action, AUDIT_INVITE_DECLINED);
    assert_string_equal(e.actor.id, "");
    assert_string_equal(e.changes, "{\"status\":{\"from\":\"Pending\",\"to\":\"Declined\"}}");
    audit_entry_cleanup(&e);
}

static void test_contributor_changes(void **state)
{
    (void)state;
    struct contributor_row before = {.site_id = "s", .account_id = "a"};
    before.policies = (struct policy_list){.n = 1, .ids = {"1"}};
    struct contributor_row after = before;
    after.locations = (struct policy_list){.n = 1, .ids = {"l1"}};
    struct audit_entry e;
    audit_contributor_change(AUDIT_CONTRIBUTOR_LOCATIONS_CHANGED, &before, &after, &KEY, NOW, &e);
    assert_string_equal(e.changes, "{\"locationIds\":{\"from\":[],\"to\":[\"l1\"]}}");
    assert_int_equal(e.target_type, AUDIT_TARGET_CONTRIBUTOR);
    assert_string_equal(e.target_id, "a");
    audit_entry_cleanup(&e);
    audit_contributor_change(AUDIT_CONTRIBUTOR_REMOVED, &after, NULL, &KEY, NOW, &e);
    assert_string_equal(e.changes,
                        "{\"policyIds\":{\"from\":[\"1\"]},\"locationIds\":{\"from\":[\"l1\"]}}");
    audit_entry_cleanup(&e);
}

/* A patch applied by core, then the entry of what differs: each changed setting once, unset
 * sides left out, the domain lists as arrays; nothing at all for a patch that changes nothing. */
static void test_site_settings_changed(void **state)
{
    (void)state;
    const char *site = "48a9106a-c068-4e7e-aafc-afcc8c740a6c";
    struct site_settings before = {.reminder_days = 3, .allowed_domains = "a.example"};
    struct site_settings after = before;
    struct site_settings_patch p = {.accept_redirect_url = "https://x.example/done",
                                    .reminder_days = 3,
                                    .allowed_domains = "a.example,*.b.example"};
    site_settings_apply(&after, &p);
    assert_string_equal(after.accept_redirect_url, "https://x.example/done");
    struct audit_entry e;
    assert_true(audit_site_settings_changed(site, &before, &after, &KEY, NOW, &e));
    assert_int_equal(e.action, AUDIT_SITE_SETTINGS_CHANGED);
    assert_int_equal(e.target_type, AUDIT_TARGET_SITE);
    assert_string_equal(e.target_id, site);
    assert_string_equal(e.site_id, site);
    assert_int_equal(e.actor.type, AUDIT_ACTOR_API_KEY);
    assert_string_equal(e.changes, "{\"acceptRedirectUrl\":{\"to\":\"https://x.example/done\"},"
                                   "\"allowedEmailDomains\":{\"from\":[\"a.example\"],"
                                   "\"to\":[\"a.example\",\"*.b.example\"]}}");
    audit_entry_cleanup(&e);

    /* Clearing: the URL's "to" and the days' "to" (0 = off) are left out, [] is every domain. */
    struct site_settings cleared = after;
    p = (struct site_settings_patch){
        .accept_redirect_url = "", .reminder_days = 0, .allowed_domains = ""};
    site_settings_apply(&cleared, &p);
    assert_true(audit_site_settings_changed(site, &after, &cleared, NULL, NOW, &e));
    assert_int_equal(e.actor.type, AUDIT_ACTOR_SYSTEM);
    assert_string_equal(e.changes,
                        "{\"acceptRedirectUrl\":{\"from\":\"https://x.example/done\"},"
                        "\"reminderDaysBeforeExpiry\":{\"from\":3},"
                        "\"allowedEmailDomains\":{\"from\":[\"a.example\",\"*.b.example\"],"
                        "\"to\":[]}}");
    audit_entry_cleanup(&e);

    /* The same values again, or keep-everything (NULL, -1): no entry. */
    struct site_settings same = after;
    p = (struct site_settings_patch){.reminder_days = -1};
    site_settings_apply(&same, &p);
    e.changes = NULL;
    assert_false(audit_site_settings_changed(site, &after, &same, &KEY, NOW, &e));
    assert_null(e.changes);
}

static void test_webhook_changes(void **state)
{
    (void)state;
    const char *site = "48a9106a-c068-4e7e-aafc-afcc8c740a6c";
    struct audit_webhook a = {.site_id = site,
                              .id = "7d3e2f10-1111-4a2b-9c3d-0e1f2a3b4c5d",
                              .url = "https://h.example/in",
                              .description = "",
                              .events = WEBHOOK_EVENT_BIT(WH_INVITE_CREATED),
                              .enabled = true};
    struct audit_entry e;
    assert_true(audit_webhook_change(AUDIT_WEBHOOK_CREATED, NULL, &a, false, &KEY, NOW, &e));
    assert_int_equal(e.target_type, AUDIT_TARGET_WEBHOOK);
    assert_string_equal(e.target_id, a.id);
    assert_string_equal(e.site_id, site);
    assert_string_equal(e.changes, "{\"url\":{\"to\":\"https://h.example/in\"},"
                                   "\"events\":{\"to\":[\"invite.created\"]},"
                                   "\"enabled\":{\"to\":true}}");
    audit_entry_cleanup(&e);
    /* Nothing it records differs: no entry, even when the caller changed other columns. */
    assert_false(audit_webhook_change(AUDIT_WEBHOOK_UPDATED, &a, &a, false, &KEY, NOW, &e));
    struct audit_webhook z = a;
    z.description = "crm";
    z.enabled = false;
    assert_true(audit_webhook_change(AUDIT_WEBHOOK_UPDATED, &a, &z, true, &KEY, NOW, &e));
    assert_string_equal(e.changes, "{\"description\":{\"to\":\"crm\"},"
                                   "\"enabled\":{\"from\":true,\"to\":false},"
                                   "\"secret\":{\"to\":\"rotated\"}}");
    audit_entry_cleanup(&e);
    assert_true(audit_webhook_change(AUDIT_WEBHOOK_DELETED, &z, NULL, false, NULL, NOW, &e));
    assert_int_equal(e.actor.type, AUDIT_ACTOR_SYSTEM);
    assert_string_equal(e.changes, "{\"url\":{\"from\":\"https://h.example/in\"},"
                                   "\"events\":{\"from\":[\"invite.created\"]},"
                                   "\"description\":{\"from\":\"crm\"}}");
    audit_entry_cleanup(&e);
    assert_true(audit_webhook_change(AUDIT_WEBHOOK_TESTED, NULL, &z, false, &KEY, NOW, &e));
    assert_string_equal(e.changes, "{}");
    audit_entry_cleanup(&e);
}

static void test_reminded(void **state)
{
    (void)state;
    struct audit_entry e;
    audit_invite_reminded("s1", "i1", NOW, &e);
    assert_int_equal(e.action, AUDIT_INVITE_REMINDED);
    assert_int_equal(e.actor.type, AUDIT_ACTOR_SYSTEM);
    assert_string_equal(e.site_id, "s1");
    assert_string_equal(e.target_id, "i1");
    assert_int_equal(e.time, NOW);
    assert_string_equal(e.changes, audit_reminded_changes());
    audit_entry_cleanup(&e);
}

static void test_actor_defaults(void **state)
{
    (void)state;
    struct audit_actor out;
    audit_actor_or_system(NULL, &out);
    assert_int_equal(out.type, AUDIT_ACTOR_SYSTEM);
    struct audit_actor untyped = {.request_id = "r1"};
    audit_actor_or_system(&untyped, &out);
    assert_int_equal(out.type, AUDIT_ACTOR_SYSTEM);
    assert_string_equal(out.request_id, "r1");
    struct audit_entry e;
    audit_admin_entry(AUDIT_KEY_CREATED, "", "acct", AUDIT_TARGET_KEY, "k1", NOW, &e);
    assert_int_equal(e.actor.type, AUDIT_ACTOR_ADMIN);
    assert_string_equal(e.account_id, "acct");
    assert_string_equal(e.changes, "{}");
    audit_entry_cleanup(&e);
}

static void test_entry_json(void **state)
{
    (void)state;
    struct invite v = pending();
    struct audit_entry e;
    audit_invite_created(&v, &KEY, &e);
    e.id = 42;
    struct buf b;
    buf_init(&b, 0);
    audit_entry_json(&e, &b);
    json_t *j = parse(b.data);
    assert_string_equal(json_string_value(json_object_get(j, "id")), "42");
    assert_string_equal(json_string_value(json_object_get(j, "action")), "invite.created");
    assert_string_equal(str_at(j, "actor", "type"), "apiKey");
    assert_string_equal(str_at(j, "actor", "name"), "crm \"sync\""); /* escaped */
    assert_string_equal(str_at(j, "target", "type"), "invite");
    assert_string_equal(json_string_value(json_object_get(j, "requestId")), KEY.request_id);
    assert_string_equal(json_string_value(json_object_get(j, "time")),
                        "2027-01-14T08:00:00.000Z"); /* the invite's creation */
    assert_true(json_is_object(json_object_get(j, "changes")));
    assert_int_equal(json_object_size(j), 8);
    json_decref(j);
    audit_entry_cleanup(&e);

    /* The system outside a request: no requestId, no siteId on account-level entries. */
    buf_reset(&b);
    audit_admin_entry(AUDIT_KEY_REVOKED, "", "acct", AUDIT_TARGET_KEY, "k1", NOW, &e);
    audit_entry_json(&e, &b);
    j = parse(b.data);
    assert_null(json_object_get(j, "requestId"));
    assert_null(json_object_get(j, "siteId"));
    assert_string_equal(str_at(j, "actor", "type"), "admin");
    assert_int_equal(json_object_size(json_object_get(j, "actor")), 1);
    json_decref(j);
    audit_entry_cleanup(&e);
    buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_round_trip),      cmocka_unit_test(test_revoke_resend_update),
        cmocka_unit_test(test_created_and_answered),  cmocka_unit_test(test_contributor_changes),
        cmocka_unit_test(test_site_settings_changed), cmocka_unit_test(test_reminded),
        cmocka_unit_test(test_actor_defaults),        cmocka_unit_test(test_entry_json),
        cmocka_unit_test(test_webhook_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
