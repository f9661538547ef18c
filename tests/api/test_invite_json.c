/* Unit tests of the SiteInvite JSON shape (api/invite_json.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api/invite_json.h"
#include "core/token.h"
#include "fakes.h"

#include <ctype.h>
#include <string.h>

#define BASE    "https://invites.example.com"
#define SITE_ID "2f1c0a52-6a3b-4d6e-9f10-0123456789ab"
#define INV_ID  "7d9e4c1a-1b2c-4d3e-8f40-aabbccddeeff"
#define ACCT_ID "c0ffee00-1234-4abc-8def-000000000001"
#define USER_ID "c0ffee00-1234-4abc-8def-000000000002"

static struct app test_app;
static struct fake_clock clk;

static int setup(void **state)
{
    (void)state;
    memset(&test_app, 0, sizeof test_app);
    memset(test_app.secret, 0x5a, sizeof test_app.secret);
    snprintf(test_app.base_url, sizeof test_app.base_url, "%s", BASE);
    fake_clock_init(&clk, FAKE_NOW);
    test_app.clock = &clk.clock;
    return 0;
}

/* A Pending invite with only the mandatory members set. */
static void minimal_invite(struct invite *inv)
{
    memset(inv, 0, sizeof *inv);
    snprintf(inv->id, sizeof inv->id, "%s", INV_ID);
    snprintf(inv->site_id, sizeof inv->site_id, "%s", SITE_ID);
    snprintf(inv->email, sizeof inv->email, "Ann.Lee@example.com");
    snprintf(inv->email_key, sizeof inv->email_key, "ann.lee@example.com");
    inv->policies.n = 1;
    snprintf(inv->policies.ids[0], SI_POLICY_ID_MAX, "1000000000000000001");
    snprintf(inv->inviter_account_id, sizeof inv->inviter_account_id, "%s", ACCT_ID);
    inv->status = INVITE_PENDING;
    inv->has_salt = false; /* a new invite: its link names the ID */
    inv->created = FAKE_NOW - 1000;
    inv->updated = FAKE_NOW - 500;
    inv->expires = FAKE_NOW + 30 * SI_MS_PER_DAY;
    inv->send_count = 1;
}

static const char *str(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        fail_msg("member %s is not a string", key);
    return json_string_value(v);
}

static void assert_lowercase_guid(const char *s)
{
    assert_int_equal(strlen(s), 36);
    for (const char *p = s; *p; p++)
        assert_false(isupper((unsigned char)*p));
}

static void test_minimal_shape(void **state)
{
    (void)state;
    struct invite inv;
    minimal_invite(&inv);
    json_t *o = invite_json(&test_app, &inv, FAKE_NOW);
    assert_string_equal(str(o, "id"), INV_ID);
    assert_lowercase_guid(str(o, "id"));
    assert_string_equal(str(o, "siteId"), SITE_ID);
    assert_string_equal(str(o, "email"), "Ann.Lee@example.com");
    assert_string_equal(str(o, "inviterId"), ACCT_ID);
    assert_string_equal(str(o, "inviterAccountId"), ACCT_ID);
    assert_string_equal(str(o, "status"), "Pending");
    const json_t *pol = json_object_get(o, "policyIds");
    assert_true(json_is_array(pol));
    assert_int_equal(json_array_size(pol), 1);
    assert_string_equal(json_string_value(json_array_get(pol, 0)), "1000000000000000001");
    assert_int_equal(json_integer_value(json_object_get(o, "sendCount")), 1);
    /* Unset optional members are omitted, not null. */
    static const char *const absent[] = {"acceptedByAccountId", "staffId",      "invitePurpose",
                                         "emailLanguage",       "lastSentDate", "delivery"};
    for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++)
        if (json_object_get(o, absent[i]))
            fail_msg("%s should be omitted", absent[i]);
    assert_int_equal(json_object_size(o), 12); /* the 12 members always present */
    json_decref(o);
}

static void test_timestamps(void **state)
{
    (void)state;
    struct invite inv;
    minimal_invite(&inv);
    inv.created = FAKE_NOW; /* 2026-11-26T05:05:42.123Z */
    inv.updated = FAKE_NOW + 7;
    inv.expires = FAKE_NOW + SI_MS_PER_DAY;
    inv.last_sent = FAKE_NOW + 1;
    json_t *o = invite_json(&test_app, &inv, FAKE_NOW);
    assert_string_equal(str(o, "dateCreated"), "2026-11-26T05:05:42.123Z");
    assert_string_equal(str(o, "dateUpdated"), "2026-11-26T05:05:42.130Z");
    assert_string_equal(str(o, "expirationDate"), "2026-11-27T05:05:42.123Z");
    assert_string_equal(str(o, "lastSentDate"), "2026-11-26T05:05:42.124Z");
    json_decref(o);
}

static void test_accept_link(void **state)
{
    (void)state;
    struct invite inv;
    minimal_invite(&inv);
    json_t *o = invite_json(&test_app, &inv, FAKE_NOW);
    const char *link = str(o, "acceptLink");
    const char *prefix = BASE "/invite/";
    assert_int_equal(strncmp(link, prefix, strlen(prefix)), 0);
    const char *tok = link + strlen(prefix);
    assert_int_equal(strlen(tok), TOKEN_V2_TEXT_LEN);
    /* The token in the link is the one the invitee page will parse back to this ID. */
    struct token_ref ref;
    uint8_t id[SI_ID_BYTES];
    assert_int_equal(token_parse_ref(test_app.secret, tok, &ref), SI_OK);
    assert_int_equal(ref.kind, TOKEN_BY_ID);
    assert_true(id_to_bytes(inv.id, id));
    assert_memory_equal(ref.key, id, sizeof id);
    /* An invite made before schema 16 keeps its salt's version 1 link. */
    struct invite old = inv;
    old.has_salt = true;
    memset(old.token_salt, 0x11, sizeof old.token_salt);
    json_t *o1 = invite_json(&test_app, &old, FAKE_NOW);
    const char *tok1 = str(o1, "acceptLink") + strlen(prefix);
    uint8_t salt[SI_TOKEN_SALT_LEN];
    assert_int_equal(strlen(tok1), TOKEN_TEXT_LEN);
    assert_int_equal(token_parse(test_app.secret, tok1, salt), SI_OK);
    assert_memory_equal(salt, old.token_salt, sizeof salt);
    json_decref(o1);
    /* Another secret gives another link: the tag depends on the server secret. */
    struct app other = test_app;
    other.secret[0] ^= 1;
    json_t *o2 = invite_json(&other, &inv, FAKE_NOW);
    assert_string_not_equal(str(o2, "acceptLink"), link);
    json_decref(o2);
    json_decref(o);
}

static void test_optional_members(void **state)
{
    (void)state;
    struct invite inv;
    minimal_invite(&inv);
    char purpose[] = "Help with the <blog> & \"news\"";
    inv.purpose = purpose;
    snprintf(inv.staff_id, sizeof inv.staff_id, "staff-42");
    snprintf(inv.language, sizeof inv.language, "pt-BR");
    inv.last_sent = FAKE_NOW;
    inv.delivery.status = DELIVERY_FAILED;
    inv.delivery.attempts = 3;
    snprintf(inv.delivery.last_error, sizeof inv.delivery.last_error, "550 no such user");
    json_t *o = invite_json(&test_app, &inv, FAKE_NOW);
    assert_string_equal(str(o, "invitePurpose"), purpose);
    assert_string_equal(str(o, "staffId"), "staff-42");
    assert_string_equal(str(o, "emailLanguage"), "pt-BR");
    const json_t *d = json_object_get(o, "delivery");
    assert_true(json_is_object(d));
    assert_string_equal(str(d, "status"), "Failed");
    assert_int_equal(json_integer_value(json_object_get(d, "attempts")), 3);
    assert_string_equal(str(d, "lastError"), "550 no such user");
    json_decref(o);

    inv.delivery.status = DELIVERY_QUEUED;
    inv.delivery.attempts = 0;
    inv.delivery.last_error[0] = '\0';
    o = invite_json(&test_app, &inv, FAKE_NOW);
    d = json_object_get(o, "delivery");
    assert_string_equal(str(d, "status"), "Queued");
    assert_null(json_object_get(d, "lastError"));
    json_decref(o);
}

static void test_effective_status(void **state)
{
    (void)state;
    struct invite inv;
    minimal_invite(&inv);
    inv.expires = FAKE_NOW; /* expiry reached at this very millisecond */
    json_t *o = invite_json(&test_app, &inv, FAKE_NOW);
    assert_string_equal(str(o, "status"), "Expired");
    json_decref(o);
    o = invite_json(&test_app, &inv, FAKE_NOW - 1);
    assert_string_equal(str(o, "status"), "Pending");
    json_decref(o);
}

static void test_accepted_by_only_when_used(void **state)
{
    (void)state;
    struct invite inv;
    minimal_invite(&inv);
    snprintf(inv.accepted_by_account_id, sizeof inv.accepted_by_account_id, "%s", USER_ID);
    json_t *o = invite_json(&test_app, &inv, FAKE_NOW);
    assert_null(json_object_get(o, "acceptedByAccountId"));
    json_decref(o);
    inv.status = INVITE_USED;
    o = invite_json(&test_app, &inv, FAKE_NOW);
    assert_string_equal(str(o, "status"), "Used");
    assert_string_equal(str(o, "acceptedByAccountId"), USER_ID);
    json_decref(o);
}

/* The array writer's text, parsed back: it must be valid JSON on its own. */
static json_t *write_array(const struct invite *invs, size_t n)
{
    struct buf b;
    buf_init(&b, 0);
    invite_json_write_array(&b, &test_app, invs, n, FAKE_NOW);
    json_t *a = json_loadb(b.data, b.len, 0, NULL);
    assert_non_null(a);
    buf_cleanup(&b);
    return a;
}

static void test_array(void **state)
{
    (void)state;
    struct invite invs[3];
    for (int i = 0; i < 3; i++) {
        minimal_invite(&invs[i]);
        invs[i].id[0] = (char)('a' + i);
    }
    json_t *a = write_array(invs, 3);
    assert_int_equal(json_array_size(a), 3);
    assert_int_equal(str(json_array_get(a, 2), "id")[0], 'c');
    json_decref(a);
    a = write_array(invs, 0);
    assert_true(json_is_array(a));
    assert_int_equal(json_array_size(a), 0);
    json_decref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_minimal_shape, setup),
        cmocka_unit_test_setup(test_timestamps, setup),
        cmocka_unit_test_setup(test_accept_link, setup),
        cmocka_unit_test_setup(test_optional_members, setup),
        cmocka_unit_test_setup(test_effective_status, setup),
        cmocka_unit_test_setup(test_accepted_by_only_when_used, setup),
        cmocka_unit_test_setup(test_array, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
