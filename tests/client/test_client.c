/* The public C client against the real server: every call, its answers and its errors (HTTP,
 * validation, tenancy, transport, timeout, bad input), through include/siteinvites/client.h. */
#include "server_fixture.h"
#include "siteinvites/client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define ROLE_ADMIN       "6732588207941061632" /* Wix's Admin (Co-Owner), docs/API.md §1 */
#define ROLE_DESIGNER    "1000000000000000003"
#define UNKNOWN_INVITE   "0190e7c4-0000-7000-8000-000000000000"
#define EMAIL_MAX        128
#define URL_MAX          64
#define RESENDS_ALLOWED  5 /* docs/API.md §3.2: at most 5 resends per invite per 24 hours */
#define SHORT_TIMEOUT_MS 300

/* One server and tenant for the whole suite, made in group setup. */
static struct suite {
    struct server_fixture fx;
    char *account_id;
    char *other_account_id;
    char *site_id;
    char *key;
    char tag[16]; /* makes this run's addresses unique */
} S;

static void email_for(char *out, const char *who)
{
    snprintf(out, EMAIL_MAX, "%s-%s@example.com", who, S.tag);
}

/* A client on the suite's site; account_id may be NULL. */
static struct si_client *client_with(const char *key, const char *account_id, const char *base)
{
    struct si_api_key_strategy auth = {
        .api_key = key, .site_id = S.site_id, .account_id = account_id};
    struct si_client_options opts = {.base_url = base ? base : S.fx.base_url};
    struct si_client *c = NULL;
    struct si_client_error err;
    assert_int_equal(si_client_new(&auth, &opts, &c, &err), SI_CLIENT_OK);
    assert_non_null(c);
    return c;
}

static struct si_client *client(void)
{
    return client_with(S.key, NULL, NULL);
}

/* Bulk-invites the given addresses with ROLE_ADMIN; asserts the call itself succeeded. */
static struct si_bulk_invite_result *bulk(struct si_client *c, const char *const *emails, size_t n)
{
    static const char *const roles[] = {ROLE_ADMIN};
    struct si_bulk_invite_request req = {
        .emails = emails, .email_count = n, .policy_ids = roles, .policy_id_count = 1};
    struct si_bulk_invite_result *r = NULL;
    struct si_client_error err;
    enum si_client_rc rc = si_client_bulk_invite(c, &req, &r, &err);
    if (rc)
        fail_msg("bulk: %s %d %s %s", si_client_rc_name(rc), err.http_status, err.code,
                 err.description);
    assert_non_null(r);
    return r;
}

/* The tenant is made with the admin CLI on the same SQLite file before the server starts, so
 * every test finds its account, site and key in place. */
static int suite_setup(void **state)
{
    (void)state;
    if (fixture_init(&S.fx) != 0)
        return -1;
    snprintf(S.tag, sizeof S.tag, "%08lx", (unsigned long)time(NULL) ^ (unsigned long)getpid());
    const char *acct[] = {
        "account", "create", "--name", "Client Co", "--email", "owner@client.example", NULL};
    const char *other[] = {
        "account", "create", "--name", "Other Co", "--email", "owner@other.example", NULL};
    S.account_id = fixture_cli_member(&S.fx, "id", acct);
    S.other_account_id = fixture_cli_member(&S.fx, "id", other);
    if (!S.account_id || !S.other_account_id)
        return -1;
    const char *site[] = {"site", "create", "--account", S.account_id, "--name", "Blog", NULL};
    const char *key[] = {"key", "create", "--account", S.account_id, NULL};
    S.site_id = fixture_cli_member(&S.fx, "id", site);
    S.key = fixture_cli_member(&S.fx, "key", key);
    if (!S.site_id || !S.key)
        return -1;
    return fixture_start(&S.fx);
}

static int suite_teardown(void **state)
{
    (void)state;
    /* A clean stop is part of the contract: SIGTERM gives exit status 0. */
    int rc = S.fx.pid ? fixture_stop(&S.fx) : 0;
    fixture_cleanup(&S.fx);
    free(S.account_id);
    free(S.other_account_id);
    free(S.site_id);
    free(S.key);
    return rc == 0 ? 0 : -1;
}

/* Created, already pending, and an invalid address in one call: the bad one fails alone. */
static void test_bulk_invite(void **state)
{
    (void)state;
    char ada[EMAIL_MAX], bob[EMAIL_MAX];
    email_for(ada, "ada");
    email_for(bob, "bob");
    struct si_client *c = client();
    const char *first[] = {ada, "not an email", bob};
    struct si_bulk_invite_result *r = bulk(c, first, 3);
    assert_int_equal(r->invite_count, 2);
    assert_string_equal(r->invites[0].email, ada);
    assert_string_equal(r->invites[1].email, bob);
    const struct si_invite *inv = &r->invites[0];
    assert_int_equal(strlen(inv->id), 36);
    assert_string_equal(inv->site_id, S.site_id);
    assert_int_equal(inv->status, SI_INVITE_PENDING);
    assert_string_equal(inv->status_text, "Pending");
    assert_int_equal(inv->policy_id_count, 1);
    assert_string_equal(inv->policy_ids[0], ROLE_ADMIN);
    assert_string_equal(inv->inviter_account_id, S.account_id);
    assert_non_null(strstr(inv->accept_link, "/invite/"));
    assert_non_null(inv->date_created);
    assert_non_null(inv->expiration_date);
    assert_true(strcmp(inv->expiration_date, inv->date_created) > 0);
    assert_null(inv->accepted_by_account_id);
    assert_int_equal(inv->send_count, 1);
    assert_int_equal(r->failure_count, 1);
    assert_string_equal(r->failures[0].email, "not an email");
    assert_string_equal(r->failures[0].code, "INVALID_EMAIL");
    assert_non_null(r->failures[0].description);

    /* The same address again (other case in the domain): the pending invite comes back,
     * unchanged and without a new email (send_count stays 1). */
    char ada_upper[EMAIL_MAX];
    snprintf(ada_upper, sizeof ada_upper, "ada-%s@EXAMPLE.com", S.tag);
    const char *again[] = {ada_upper};
    struct si_bulk_invite_result *r2 = bulk(c, again, 1);
    assert_int_equal(r2->invite_count, 1);
    assert_string_equal(r2->invites[0].id, inv->id);
    assert_int_equal(r2->invites[0].send_count, 1);
    assert_int_equal(r2->failure_count, 0);
    assert_null(r2->failures);
    si_bulk_invite_result_free(r2);
    si_bulk_invite_result_free(r);
    si_client_free(c);
}

/* dryRun (a siteinvites addition): the answer is computed, nothing is written. */
static void test_bulk_dry_run(void **state)
{
    (void)state;
    char eve[EMAIL_MAX];
    email_for(eve, "eve");
    struct si_client *c = client();
    const char *emails[] = {eve};
    const char *roles[] = {ROLE_DESIGNER};
    struct si_bulk_invite_request req = {.emails = emails,
                                         .email_count = 1,
                                         .policy_ids = roles,
                                         .policy_id_count = 1,
                                         .invite_purpose = "Help\twith the blog",
                                         .default_email_language = "fr",
                                         .expires_in_days = 3,
                                         .dry_run = true};
    struct si_bulk_invite_result *r = NULL;
    struct si_client_error err;
    assert_int_equal(si_client_bulk_invite(c, &req, &r, &err), SI_CLIENT_OK);
    assert_int_equal(r->invite_count, 1);
    assert_string_equal(r->invites[0].invite_purpose, "Help\twith the blog");
    assert_string_equal(r->invites[0].email_language, "fr");
    assert_string_equal(r->invites[0].policy_ids[0], ROLE_DESIGNER);
    /* Nothing was stored: no ID, no link, and a real call afterwards is the first. */
    assert_null(r->invites[0].id);
    assert_null(r->invites[0].accept_link);
    si_bulk_invite_result_free(r);
    r = NULL;
    req.dry_run = false;
    assert_int_equal(si_client_bulk_invite(c, &req, &r, &err), SI_CLIENT_OK);
    assert_int_equal(r->invites[0].send_count, 1);
    assert_non_null(r->invites[0].accept_link);
    si_bulk_invite_result_free(r);
    si_client_free(c);
}

/* Idempotency-Key (a siteinvites addition): the same key and input replay the first answer,
 * the key goes with one request only, another input under the key is 409 REUSED. */
static void test_idempotency_key(void **state)
{
    (void)state;
    char ida[EMAIL_MAX], key[64];
    email_for(ida, "ida");
    snprintf(key, sizeof key, "client-%s", S.tag);
    struct si_client *c = client();
    const char *emails[] = {ida};
    const char *roles[] = {ROLE_DESIGNER};
    struct si_bulk_invite_request req = {
        .emails = emails, .email_count = 1, .policy_ids = roles, .policy_id_count = 1};
    struct si_bulk_invite_result *first = NULL, *again = NULL, *plain = NULL;
    struct si_client_error err;
    assert_int_equal(si_client_set_idempotency_key(c, key, &err), SI_CLIENT_OK);
    assert_int_equal(si_client_bulk_invite(c, &req, &first, &err), SI_CLIENT_OK);
    assert_false(si_client_last_replayed(c));
    assert_int_equal(si_client_set_idempotency_key(c, key, &err), SI_CLIENT_OK);
    assert_int_equal(si_client_bulk_invite(c, &req, &again, &err), SI_CLIENT_OK);
    assert_true(si_client_last_replayed(c));
    assert_string_equal(again->invites[0].id, first->invites[0].id);
    assert_string_equal(again->invites[0].accept_link, first->invites[0].accept_link);
    /* Without a key set again, the next call carries none: answered afresh (the same pending
     * invite, by Bulk Invite's own rule), not replayed. */
    assert_int_equal(si_client_bulk_invite(c, &req, &plain, &err), SI_CLIENT_OK);
    assert_false(si_client_last_replayed(c));
    assert_string_equal(plain->invites[0].id, first->invites[0].id);
    /* The key with another input. */
    const char *other[] = {"someone-else@example.com"};
    req.emails = other;
    struct si_bulk_invite_result *refused = NULL;
    assert_int_equal(si_client_set_idempotency_key(c, key, &err), SI_CLIENT_OK);
    assert_int_equal(si_client_bulk_invite(c, &req, &refused, &err), SI_CLIENT_E_HTTP);
    assert_null(refused);
    assert_int_equal(err.http_status, 409);
    assert_string_equal(err.code, "ALREADY_EXISTS");
    assert_string_equal(err.reason, "IDEMPOTENCY_KEY_REUSED");
    /* Bad keys never leave the client. */
    assert_int_equal(si_client_set_idempotency_key(c, "", &err), SI_CLIENT_E_ARG);
    assert_int_equal(si_client_set_idempotency_key(c, "new\nline", &err), SI_CLIENT_E_ARG);
    assert_int_equal(si_client_set_idempotency_key(NULL, key, &err), SI_CLIENT_E_ARG);
    assert_int_equal(si_client_set_idempotency_key(c, NULL, &err), SI_CLIENT_OK);
    assert_false(si_client_last_replayed(NULL));
    si_bulk_invite_result_free(first);
    si_bulk_invite_result_free(again);
    si_bulk_invite_result_free(plain);
    si_client_free(c);
}

/* Get returns the stored invite; resend renews it, keeps the link and counts the send. */
static void test_get_and_resend(void **state)
{
    (void)state;
    char carl[EMAIL_MAX];
    email_for(carl, "carl");
    struct si_client *c = client();
    const char *emails[] = {carl};
    struct si_bulk_invite_result *r = bulk(c, emails, 1);
    const char *id = r->invites[0].id;
    struct si_invite *got = NULL, *sent = NULL;
    struct si_client_error err;
    assert_int_equal(si_client_get_invite(c, id, &got, &err), SI_CLIENT_OK);
    assert_string_equal(got->id, id);
    assert_string_equal(got->email, carl);
    assert_string_equal(got->accept_link, r->invites[0].accept_link);
    assert_int_equal(got->status, SI_INVITE_PENDING);
    assert_non_null(got->delivery_status);

    assert_int_equal(si_client_resend_invite(c, id, "de", &sent, &err), SI_CLIENT_OK);
    assert_string_equal(sent->id, id);
    assert_int_equal(sent->send_count, 2);
    assert_string_equal(sent->accept_link, got->accept_link);
    assert_string_equal(sent->email_language, "de");
    assert_true(strcmp(sent->expiration_date, got->expiration_date) >= 0);
    si_invite_free(sent);
    si_invite_free(got);
    si_bulk_invite_result_free(r);
    si_client_free(c);
}

/* The resend limit of docs/API.md §3.4 comes back as 429 with its code and Retry-After. */
static void test_resend_limit(void **state)
{
    (void)state;
    char dora[EMAIL_MAX];
    email_for(dora, "dora");
    struct si_client *c = client();
    const char *emails[] = {dora};
    struct si_bulk_invite_result *r = bulk(c, emails, 1);
    struct si_client_error err;
    for (int i = 0; i < RESENDS_ALLOWED; i++) {
        struct si_invite *sent = NULL;
        assert_int_equal(si_client_resend_invite(c, r->invites[0].id, NULL, &sent, &err),
                         SI_CLIENT_OK);
        si_invite_free(sent);
    }
    struct si_invite *sent = NULL;
    assert_int_equal(si_client_resend_invite(c, r->invites[0].id, NULL, &sent, &err),
                     SI_CLIENT_E_HTTP);
    assert_null(sent);
    assert_int_equal(err.http_status, 429);
    assert_string_equal(err.code, "RESOURCE_EXHAUSTED");
    assert_true(err.retry_after_s > 0);
    assert_true(err.request_id[0] != '\0');
    si_bulk_invite_result_free(r);
    si_client_free(c);
}

/* Revoke, revoke again (idempotent), then resend is refused by state. */
static void test_revoke(void **state)
{
    (void)state;
    char finn[EMAIL_MAX];
    email_for(finn, "finn");
    struct si_client *c = client();
    const char *emails[] = {finn};
    struct si_bulk_invite_result *r = bulk(c, emails, 1);
    const char *id = r->invites[0].id;
    struct si_client_error err;
    assert_int_equal(si_client_revoke_invite(c, id, &err), SI_CLIENT_OK);
    assert_int_equal(si_client_revoke_invite(c, id, &err), SI_CLIENT_OK);
    struct si_invite *got = NULL;
    assert_int_equal(si_client_get_invite(c, id, &got, &err), SI_CLIENT_OK);
    assert_int_equal(got->status, SI_INVITE_DELETED);
    si_invite_free(got);
    struct si_invite *sent = NULL;
    assert_int_equal(si_client_resend_invite(c, id, NULL, &sent, &err), SI_CLIENT_E_HTTP);
    assert_int_equal(err.http_status, 428);
    assert_string_equal(err.code, "FAILED_PRECONDITION");
    assert_string_equal(err.reason, "INVITE_NOT_RESENDABLE");
    assert_true(err.description[0] != '\0');
    si_bulk_invite_result_free(r);
    si_client_free(c);
}

/* The webhook calls: create (the secret shown once), list (without it), rotate, test, disable,
 * delete. A public address literal passes the server's address check without DNS. */
/* Three test events, paged two by two, newest first; bad cursors and limits are refused
 * before any request. */
static void check_deliveries(struct si_client *c, const char *id)
{
    struct si_client_error err;
    struct si_webhook_delivery_page *p1 = NULL, *p2 = NULL;
    assert_int_equal(si_client_test_webhook(c, id, &err), SI_CLIENT_OK);
    assert_int_equal(si_client_test_webhook(c, id, &err), SI_CLIENT_OK);
    assert_int_equal(si_client_webhook_deliveries(c, id, NULL, 2, &p1, &err), SI_CLIENT_OK);
    assert_int_equal(p1->delivery_count, 2);
    assert_true(p1->has_next);
    assert_non_null(p1->next_cursor);
    for (size_t i = 0; i < p1->delivery_count; i++) {
        assert_string_equal(p1->deliveries[i].event, "webhook.test");
        assert_int_equal(strncmp(p1->deliveries[i].message_id, "msg_", 4), 0);
        assert_non_null(p1->deliveries[i].status);
        assert_non_null(p1->deliveries[i].date_created);
    }
    assert_true(strtoll(p1->deliveries[0].id, NULL, 10) > strtoll(p1->deliveries[1].id, NULL, 10));
    assert_int_equal(si_client_webhook_deliveries(c, id, p1->next_cursor, 2, &p2, &err),
                     SI_CLIENT_OK);
    assert_int_equal(p2->delivery_count, 1);
    assert_false(p2->has_next);
    assert_null(p2->next_cursor);
    assert_string_not_equal(p2->deliveries[0].id, p1->deliveries[1].id);
    si_webhook_delivery_page_free(p2);
    si_webhook_delivery_page_free(p1);
    p1 = NULL;
    assert_int_equal(si_client_webhook_deliveries(c, id, NULL, 0, &p1, &err), SI_CLIENT_OK);
    assert_int_equal(p1->delivery_count, 3); /* the server's default page holds them all */
    si_webhook_delivery_page_free(p1);
    p1 = NULL;
    assert_int_equal(si_client_webhook_deliveries(c, id, "1&limit=5", 2, &p1, &err),
                     SI_CLIENT_E_ARG);
    assert_int_equal(si_client_webhook_deliveries(c, id, NULL, 101, &p1, &err), SI_CLIENT_E_ARG);
    assert_null(p1);
}

/* PATCH url and events, read back with GET one; a PATCH with nothing is refused locally. */
static void check_update(struct si_client *c, const char *id)
{
    struct si_client_error err;
    struct si_webhook *got = NULL;
    const char *one[] = {"invite.revoked"};
    struct si_webhook_update u = {
        .url = "https://93.184.216.34/moved", .events = one, .event_count = 1};
    assert_int_equal(si_client_update_webhook(c, id, &u, &got, &err), SI_CLIENT_OK);
    assert_string_equal(got->url, "https://93.184.216.34/moved");
    assert_null(got->secret);
    si_webhook_free(got);
    got = NULL;
    assert_int_equal(si_client_get_webhook(c, id, &got, &err), SI_CLIENT_OK);
    assert_string_equal(got->id, id);
    assert_string_equal(got->url, "https://93.184.216.34/moved");
    assert_int_equal(got->event_count, 1);
    assert_string_equal(got->events[0], "invite.revoked");
    assert_string_equal(got->description, "crm"); /* kept */
    si_webhook_free(got);
    got = NULL;
    struct si_webhook_update none = {.url = NULL};
    assert_int_equal(si_client_update_webhook(c, id, &none, &got, &err), SI_CLIENT_E_ARG);
    struct si_webhook_update loop = {.url = "https://127.0.0.1/x"};
    assert_int_equal(si_client_update_webhook(c, id, &loop, &got, &err), SI_CLIENT_E_HTTP);
    assert_int_equal(err.http_status, 400);
    assert_null(got);
}

static void test_webhooks(void **state)
{
    (void)state;
    struct si_client *c = client();
    struct si_client_error err;
    const char *events[] = {"invite.created", "invite.accepted"};
    struct si_webhook *w = NULL, *rotated = NULL, *list = NULL;
    size_t n = 0;
    assert_int_equal(
        si_client_create_webhook(c, "https://93.184.216.34/hook", events, 2, "crm", &w, &err),
        SI_CLIENT_OK);
    assert_non_null(w->secret);
    assert_int_equal(strncmp(w->secret, "whsec_", 6), 0);
    assert_int_equal(w->event_count, 2);
    assert_string_equal(w->events[1], "invite.accepted");
    assert_string_equal(w->description, "crm");
    assert_true(w->enabled);
    assert_int_equal(si_client_list_webhooks(c, &list, &n, &err), SI_CLIENT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].id, w->id);
    assert_null(list[0].secret);
    si_webhooks_free(list, n);
    assert_int_equal(si_client_rotate_webhook_secret(c, w->id, &rotated, &err), SI_CLIENT_OK);
    assert_string_not_equal(rotated->secret, w->secret);
    assert_int_equal(si_client_test_webhook(c, w->id, &err), SI_CLIENT_OK);
    check_deliveries(c, w->id);
    check_update(c, w->id);
    assert_int_equal(si_client_set_webhook_enabled(c, w->id, false, &err), SI_CLIENT_OK);
    assert_int_equal(si_client_list_webhooks(c, &list, &n, &err), SI_CLIENT_OK);
    assert_false(list[0].enabled);
    si_webhooks_free(list, n);
    assert_int_equal(si_client_delete_webhook(c, w->id, &err), SI_CLIENT_OK);
    assert_int_equal(si_client_delete_webhook(c, w->id, &err), SI_CLIENT_E_HTTP);
    assert_int_equal(err.http_status, 404);
    const char *bad[] = {"invite.nope"};
    si_webhook_free(rotated);
    rotated = NULL;
    assert_int_equal(
        si_client_create_webhook(c, "https://93.184.216.34/", bad, 1, NULL, &rotated, &err),
        SI_CLIENT_E_HTTP);
    assert_int_equal(err.http_status, 400);
    assert_null(rotated);
    assert_int_equal(
        si_client_create_webhook(c, "https://127.0.0.1/", events, 1, NULL, &rotated, &err),
        SI_CLIENT_E_HTTP);
    assert_string_equal(err.field, "url");
    assert_int_equal(si_client_delete_webhook(c, "../x", &err), SI_CLIENT_E_ARG);
    si_webhook_free(w);
    si_client_free(c);
}

/* A filter, a sort and cursor paging: two pages that together hold exactly the three. */
static void test_query_paging(void **state)
{
    (void)state;
    char a[EMAIL_MAX], b[EMAIL_MAX], d[EMAIL_MAX], filter[4 * EMAIL_MAX];
    email_for(a, "qa");
    email_for(b, "qb");
    email_for(d, "qc");
    struct si_client *c = client();
    const char *emails[] = {d, a, b}; /* created out of order: the sort must reorder them */
    si_bulk_invite_result_free(bulk(c, emails, 3));
    snprintf(filter, sizeof filter, "{\"email\": {\"$in\": [\"%s\", \"%s\", \"%s\"]}}", a, b, d);
    struct si_invite_query q = {.filter_json = filter, .sort_field = "email", .limit = 2};
    struct si_invite_page *p1 = NULL, *p2 = NULL;
    struct si_client_error err;
    assert_int_equal(si_client_query_invites(c, &q, &p1, &err), SI_CLIENT_OK);
    assert_int_equal(p1->invite_count, 2);
    assert_string_equal(p1->invites[0].email, a);
    assert_string_equal(p1->invites[1].email, b);
    assert_true(p1->has_next);
    assert_non_null(p1->next_cursor);

    /* The cursor alone carries filter and sort: the second query sends neither. */
    struct si_invite_query next = {.cursor = p1->next_cursor, .limit = 2};
    assert_int_equal(si_client_query_invites(c, &next, &p2, &err), SI_CLIENT_OK);
    assert_int_equal(p2->invite_count, 1);
    assert_string_equal(p2->invites[0].email, d);
    assert_false(p2->has_next);
    assert_null(p2->next_cursor);
    si_invite_page_free(p2);

    /* Descending order flips the first page. */
    q.sort_desc = true;
    assert_int_equal(si_client_query_invites(c, &q, &p2, &err), SI_CLIENT_OK);
    assert_string_equal(p2->invites[0].email, d);
    si_invite_page_free(p2);
    si_invite_page_free(p1);
    si_client_free(c);
}

/* The audit log: a revoke's entry found by action, with the call's actor and changes; pages of
 * one follow the cursor; a bad filter is the server's 400, a bad limit the client's own. */
static void test_audit_log(void **state)
{
    (void)state;
    char who[EMAIL_MAX];
    email_for(who, "audited");
    struct si_client *c = client();
    const char *emails[] = {who};
    struct si_bulk_invite_result *r = bulk(c, emails, 1);
    struct si_client_error err;
    assert_int_equal(si_client_revoke_invite(c, r->invites[0].id, &err), SI_CLIENT_OK);
    struct si_audit_query q = {.action = "invite.revoked", .actor_type = "apiKey"};
    struct si_audit_page *p = NULL;
    assert_int_equal(si_client_audit_log(c, &q, &p, &err), SI_CLIENT_OK);
    const struct si_audit_entry *mine = NULL;
    for (size_t i = 0; i < p->entry_count; i++) {
        if (strcmp(p->entries[i].target_id, r->invites[0].id) == 0)
            mine = &p->entries[i];
    }
    assert_non_null(mine);
    assert_string_equal(mine->action, "invite.revoked");
    assert_string_equal(mine->target_type, "invite");
    assert_non_null(mine->actor_id);
    assert_non_null(mine->request_id);
    assert_null(mine->actor_email);
    assert_string_equal(mine->changes_json,
                        "{\"status\":{\"from\":\"Pending\",\"to\":\"Deleted\"}}");
    si_audit_page_free(p);

    /* Pages of one: the cursor leads to a different entry. */
    struct si_audit_query one = {.limit = 1};
    struct si_audit_page *p1 = NULL, *p2 = NULL;
    assert_int_equal(si_client_audit_log(c, &one, &p1, &err), SI_CLIENT_OK);
    assert_int_equal(p1->entry_count, 1);
    assert_true(p1->has_next);
    one.cursor = p1->next_cursor;
    assert_int_equal(si_client_audit_log(c, &one, &p2, &err), SI_CLIENT_OK);
    assert_int_equal(p2->entry_count, 1);
    assert_string_not_equal(p1->entries[0].id, p2->entries[0].id);
    si_audit_page_free(p2);
    si_audit_page_free(p1);

    struct si_audit_query bad = {.action = "invite.nope"};
    assert_int_equal(si_client_audit_log(c, &bad, &p, &err), SI_CLIENT_E_HTTP);
    assert_int_equal(err.http_status, 400);
    assert_null(p);
    struct si_audit_query big = {.limit = 101};
    assert_int_equal(si_client_audit_log(c, &big, &p, &err), SI_CLIENT_E_ARG);
    si_bulk_invite_result_free(r);
    si_client_free(c);
}

/* A status filter sees a revoked invite; a NULL query lists the site. */
static void test_query_status(void **state)
{
    (void)state;
    char gus[EMAIL_MAX], filter[2 * EMAIL_MAX];
    email_for(gus, "gus");
    struct si_client *c = client();
    const char *emails[] = {gus};
    struct si_bulk_invite_result *r = bulk(c, emails, 1);
    struct si_client_error err;
    assert_int_equal(si_client_revoke_invite(c, r->invites[0].id, &err), SI_CLIENT_OK);
    snprintf(filter, sizeof filter, "{\"status\": \"Deleted\", \"email\": \"%s\"}", gus);
    struct si_invite_query q = {.filter_json = filter};
    struct si_invite_page *p = NULL;
    assert_int_equal(si_client_query_invites(c, &q, &p, &err), SI_CLIENT_OK);
    assert_int_equal(p->invite_count, 1);
    assert_string_equal(p->invites[0].id, r->invites[0].id);
    assert_int_equal(p->invites[0].status, SI_INVITE_DELETED);
    si_invite_page_free(p);
    assert_int_equal(si_client_query_invites(c, NULL, &p, &err), SI_CLIENT_OK);
    assert_true(p->invite_count >= 1);
    si_invite_page_free(p);
    si_bulk_invite_result_free(r);
    si_client_free(c);
}

/* A wrong key: 401 with the code and a request ID, and the key in no error text. */
static void test_wrong_key(void **state)
{
    (void)state;
    static const char bad_key[] = "not-a-real-key-0123456789";
    struct si_client *c = client_with(bad_key, NULL, NULL);
    struct si_invite *got = NULL;
    struct si_client_error err;
    assert_int_equal(si_client_get_invite(c, UNKNOWN_INVITE, &got, &err), SI_CLIENT_E_HTTP);
    assert_null(got);
    assert_int_equal(err.http_status, 401);
    assert_string_equal(err.code, "UNAUTHENTICATED");
    assert_int_equal(strlen(err.request_id), 36);
    assert_true(err.description[0] != '\0');
    assert_null(strstr(err.description, bad_key));
    si_client_free(c);
}

/* An unknown invite is 404 NOT_FOUND (reason INVITE_NOT_FOUND) for get, resend and revoke
 * alike. */
static void test_unknown_invite(void **state)
{
    (void)state;
    struct si_client *c = client();
    struct si_invite *got = NULL;
    struct si_client_error err;
    assert_int_equal(si_client_get_invite(c, UNKNOWN_INVITE, &got, &err), SI_CLIENT_E_HTTP);
    assert_int_equal(err.http_status, 404);
    assert_string_equal(err.code, "NOT_FOUND");
    assert_string_equal(err.reason, "INVITE_NOT_FOUND");
    char first_id[SI_CLIENT_REQUEST_ID_MAX];
    memcpy(first_id, err.request_id, sizeof first_id);
    assert_true(first_id[0] != '\0');
    assert_int_equal(si_client_resend_invite(c, UNKNOWN_INVITE, NULL, &got, &err),
                     SI_CLIENT_E_HTTP);
    assert_int_equal(err.http_status, 404);
    assert_string_not_equal(err.request_id, first_id); /* one ID per request */
    assert_int_equal(si_client_revoke_invite(c, UNKNOWN_INVITE, &err), SI_CLIENT_E_HTTP);
    assert_string_equal(err.code, "NOT_FOUND");
    assert_string_equal(err.reason, "INVITE_NOT_FOUND");
    si_client_free(c);
}

/* A validation error: code INVALID_ARGUMENT and the first violated field. */
static void test_validation_error(void **state)
{
    (void)state;
    struct si_client *c = client();
    const char *emails[] = {"ok@example.com"};
    const char *roles[] = {"999"};
    struct si_bulk_invite_request req = {
        .emails = emails, .email_count = 1, .policy_ids = roles, .policy_id_count = 1};
    struct si_bulk_invite_result *r = NULL;
    struct si_client_error err;
    assert_int_equal(si_client_bulk_invite(c, &req, &r, &err), SI_CLIENT_E_HTTP);
    assert_null(r);
    assert_int_equal(err.http_status, 400);
    assert_string_equal(err.code, "INVALID_ARGUMENT");
    assert_string_equal(err.field, "policyIds[0]");
    assert_string_equal(err.reason, ""); /* a validation error has no reason */
    assert_true(err.request_id[0] != '\0');
    si_client_free(c);
}

/* The site settings calls (issue 10): read, change some, keep the rest, refused values, clear.
 * Leaves the site as it found it (no settings). */
static void test_site_settings(void **state)
{
    (void)state;
    struct si_client *c = client();
    struct si_site_settings *s = NULL;
    struct si_client_error err;
    assert_int_equal(si_client_get_site_settings(c, &s, &err), SI_CLIENT_OK);
    assert_null(s->accept_redirect_url);
    assert_int_equal(s->reminder_days_before_expiry, 0);
    assert_int_equal(s->allowed_email_domain_count, 0);
    si_site_settings_free(s);

    const char *domains[] = {"Example.com", "*.corp.example.com"};
    struct si_site_settings_update u = {.accept_redirect_url = "https://app.example.com/hi",
                                        .set_reminder_days = true,
                                        .reminder_days_before_expiry = 3,
                                        .set_allowed_email_domains = true,
                                        .allowed_email_domains = domains,
                                        .allowed_email_domain_count = 2};
    assert_int_equal(si_client_update_site_settings(c, &u, &s, &err), SI_CLIENT_OK);
    assert_string_equal(s->accept_redirect_url, "https://app.example.com/hi");
    assert_int_equal(s->reminder_days_before_expiry, 3);
    assert_int_equal(s->allowed_email_domain_count, 2);
    assert_string_equal(s->allowed_email_domains[0], "example.com");
    assert_string_equal(s->allowed_email_domains[1], "*.corp.example.com");
    si_site_settings_free(s);

    /* Only the reminder changes; out may be NULL. */
    struct si_site_settings_update days = {.set_reminder_days = true,
                                           .reminder_days_before_expiry = 5};
    assert_int_equal(si_client_update_site_settings(c, &days, NULL, &err), SI_CLIENT_OK);
    assert_int_equal(si_client_get_site_settings(c, &s, &err), SI_CLIENT_OK);
    assert_int_equal(s->reminder_days_before_expiry, 5);
    assert_string_equal(s->accept_redirect_url, "https://app.example.com/hi");
    si_site_settings_free(s);

    /* The server refuses an http:// URL: a validation error, nothing changed. */
    struct si_site_settings_update bad = {.accept_redirect_url = "http://app.example.com/"};
    s = NULL;
    assert_int_equal(si_client_update_site_settings(c, &bad, &s, &err), SI_CLIENT_E_HTTP);
    assert_null(s);
    assert_int_equal(err.http_status, 400);
    assert_string_equal(err.field, "acceptRedirectUrl");
    struct si_site_settings_update none = {.accept_redirect_url = NULL};
    assert_int_equal(si_client_update_site_settings(c, &none, NULL, &err), SI_CLIENT_E_ARG);

    struct si_site_settings_update clear = {
        .accept_redirect_url = "", .set_reminder_days = true, .set_allowed_email_domains = true};
    assert_int_equal(si_client_update_site_settings(c, &clear, &s, &err), SI_CLIENT_OK);
    assert_null(s->accept_redirect_url);
    assert_int_equal(s->reminder_days_before_expiry, 0);
    assert_int_equal(s->allowed_email_domain_count, 0);
    si_site_settings_free(s);
    si_client_free(c);
}

/* wix-account-id is sent: another account's ID is refused, the right one accepted. */
static void test_account_header(void **state)
{
    (void)state;
    struct si_client *c = client_with(S.key, S.other_account_id, NULL);
    struct si_invite_page *p = NULL;
    struct si_client_error err;
    assert_int_equal(si_client_query_invites(c, NULL, &p, &err), SI_CLIENT_E_HTTP);
    assert_int_equal(err.http_status, 403);
    assert_string_equal(err.code, "PERMISSION_DENIED");
    si_client_free(c);
    c = client_with(S.key, S.account_id, NULL);
    assert_int_equal(si_client_query_invites(c, NULL, &p, &err), SI_CLIENT_OK);
    si_invite_page_free(p);
    si_client_free(c);
}

/* A socket bound to 127.0.0.1; listening or not. The caller closes it. */
static int local_socket(bool listening, char *url)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    if (listening)
        assert_int_equal(listen(fd, 4), 0);
    snprintf(url, URL_MAX, "http://127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
    return fd;
}

/* Nothing listens: a transport error with status 0 and curl's message. */
static void test_transport_error(void **state)
{
    (void)state;
    char url[URL_MAX];
    int fd = local_socket(false, url); /* bound, never listening: connect is refused */
    struct si_client *c = client_with(S.key, NULL, url);
    struct si_invite *got = NULL;
    struct si_client_error err;
    assert_int_equal(si_client_get_invite(c, UNKNOWN_INVITE, &got, &err), SI_CLIENT_E_TRANSPORT);
    assert_null(got);
    assert_int_equal(err.http_status, 0);
    assert_string_equal(err.code, "TRANSPORT");
    assert_string_equal(err.reason, "CONNECT");
    assert_non_null(strstr(err.description, "onnect"));
    assert_null(strstr(err.description, S.key));
    si_client_free(c);
    close(fd);
}

/* A peer that accepts the connection but never answers: the timeout option ends the call. */
static void test_timeout(void **state)
{
    (void)state;
    char url[URL_MAX];
    int fd = local_socket(true, url);
    struct si_api_key_strategy auth = {.api_key = S.key, .site_id = S.site_id};
    struct si_client_options opts = {.base_url = url, .timeout_ms = SHORT_TIMEOUT_MS};
    struct si_client *c = NULL;
    struct si_client_error err;
    assert_int_equal(si_client_new(&auth, &opts, &c, &err), SI_CLIENT_OK);
    struct si_invite *got = NULL;
    assert_int_equal(si_client_get_invite(c, UNKNOWN_INVITE, &got, &err), SI_CLIENT_E_TRANSPORT);
    assert_string_equal(err.code, "TRANSPORT");
    assert_non_null(strstr(err.description, "imeout"));
    si_client_free(c);
    close(fd);
}

/* Bad input is refused before any request: the client points at a refusing port, so a
 * request would show up as TRANSPORT instead of INVALID_ARGUMENT. */
static void test_bad_input(void **state)
{
    (void)state;
    char url[URL_MAX];
    int fd = local_socket(false, url);
    struct si_client *c = client_with(S.key, NULL, url);
    struct si_client_error err;
    struct si_invite *inv = NULL;
    struct si_bulk_invite_result *r = NULL;
    struct si_invite_page *p = NULL;
    const char *one[] = {"a@example.com"}, *roles[] = {ROLE_ADMIN}, *holes[] = {NULL};
    struct si_bulk_invite_request empty = {
        .emails = one, .email_count = 0, .policy_ids = roles, .policy_id_count = 1};
    struct si_bulk_invite_request no_roles = {.emails = one, .email_count = 1};
    struct si_bulk_invite_request null_email = {
        .emails = holes, .email_count = 1, .policy_ids = roles, .policy_id_count = 1};
    struct si_bulk_invite_request too_many = {
        .emails = one, .email_count = 1001, .policy_ids = roles, .policy_id_count = 1};
    struct si_invite_query big = {.limit = SI_CLIENT_QUERY_LIMIT_MAX + 1};
    struct si_invite_query not_object = {.filter_json = "[1]"};
    enum si_client_rc rcs[] = {
        si_client_bulk_invite(c, &empty, &r, &err),
        si_client_bulk_invite(c, &no_roles, &r, &err),
        si_client_bulk_invite(c, &null_email, &r, &err),
        si_client_bulk_invite(c, &too_many, &r, &err),
        si_client_bulk_invite(c, NULL, &r, &err),
        si_client_bulk_invite(NULL, &empty, &r, &err),
        si_client_get_invite(c, "../../roles-management/roles", &inv, &err),
        si_client_get_invite(c, "", &inv, &err),
        si_client_get_invite(c, UNKNOWN_INVITE, NULL, &err),
        si_client_resend_invite(c, NULL, NULL, &inv, &err),
        si_client_resend_invite(c, UNKNOWN_INVITE, "fr\r\nX: y", &inv, &err),
        si_client_revoke_invite(c, "a b", &err),
        si_client_query_invites(c, &big, &p, &err),
        si_client_query_invites(c, &not_object, &p, &err),
    };
    for (size_t i = 0; i < sizeof rcs / sizeof rcs[0]; i++) {
        if (rcs[i] != SI_CLIENT_E_ARG)
            fail_msg("case %zu: %s", i, si_client_rc_name(rcs[i]));
    }
    assert_null(r);
    assert_null(inv);
    assert_null(p);
    assert_int_equal(err.http_status, 0);
    assert_string_equal(err.code, "INVALID_ARGUMENT");
    si_client_free(c);
    close(fd);
}

/* si_client_new refuses what could never work, and no client comes back. */
static void test_new_bad_config(void **state)
{
    (void)state;
    /* A non-NULL garbage value proves the failure path resets the out-pointer. */
    struct si_client *c = (struct si_client *)&c;
    struct si_client_error err;
    struct si_api_key_strategy no_key = {.site_id = "s"};
    struct si_api_key_strategy newline = {.api_key = "k\r\nX-Evil: 1", .site_id = "s"};
    struct si_api_key_strategy ok = {.api_key = "k", .site_id = "s"};
    struct si_client_options ftp = {.base_url = "ftp://example.com"};
    struct si_client_options negative = {.timeout_ms = -1};
    assert_int_equal(si_client_new(NULL, NULL, &c, &err), SI_CLIENT_E_ARG);
    assert_null(c);
    assert_int_equal(si_client_new(&no_key, NULL, &c, &err), SI_CLIENT_E_ARG);
    assert_int_equal(si_client_new(&newline, NULL, &c, &err), SI_CLIENT_E_ARG);
    assert_null(strstr(err.description, "X-Evil"));
    assert_int_equal(si_client_new(&ok, &ftp, &c, &err), SI_CLIENT_E_ARG);
    assert_int_equal(si_client_new(&ok, &negative, &c, &err), SI_CLIENT_E_ARG);
    assert_int_equal(si_client_new(&ok, NULL, NULL, &err), SI_CLIENT_E_ARG);
    assert_null(c);
    /* Without a site, the client is made (account-level use) but invite calls are refused. */
    struct si_api_key_strategy no_site = {.api_key = "k"};
    assert_int_equal(si_client_new(&no_site, NULL, &c, &err), SI_CLIENT_OK);
    struct si_invite *inv = NULL;
    assert_int_equal(si_client_get_invite(c, UNKNOWN_INVITE, &inv, &err), SI_CLIENT_E_ARG);
    assert_non_null(strstr(err.description, "site_id"));
    si_client_free(c);
    si_client_free(NULL);
    assert_string_equal(si_invite_status_name(SI_INVITE_EXPIRED), "Expired");
    assert_string_equal(si_client_rc_name(SI_CLIENT_E_TRANSPORT), "transport error");
}

/* One call to the TLS server with ca_info (NULL: none); returns its rc, err filled. The key is
 * unknown there, so a call that got through TLS ends in a 401. */
static enum si_client_rc tls_call(const char *url, const char *ca_info, struct si_client_error *err)
{
    struct si_api_key_strategy auth = {.api_key = S.key, .site_id = S.site_id};
    struct si_client_options opts = {.base_url = url, .ca_info = ca_info};
    struct si_client *c = NULL;
    assert_int_equal(si_client_new(&auth, &opts, &c, err), SI_CLIENT_OK);
    struct si_invite *got = NULL;
    enum si_client_rc rc = si_client_get_invite(c, UNKNOWN_INVITE, &got, err);
    assert_null(got);
    si_client_free(c);
    return rc;
}

/* A real `serve --tls-cert` whose certificate a throwaway private CA signed: untrusted by
 * default (reason TLS_CERTIFICATE), trusted through ca_info or CURL_CA_BUNDLE, the option
 * first; an unreadable CA file is its own reason. */
static void test_private_ca(void **state)
{
    (void)state;
    struct server_fixture t;
    assert_int_equal(fixture_init(&t), 0);
    assert_int_equal(fixture_make_tls(&t), 0);
    assert_int_equal(fixture_start(&t), 0);
    assert_non_null(strstr(t.base_url, "https://"));
    char missing[FIXTURE_PATH_MAX + 16];
    snprintf(missing, sizeof missing, "%s/no-such-ca.pem", t.dir);
    struct si_client_error err;

    assert_int_equal(unsetenv("CURL_CA_BUNDLE"), 0);
    assert_int_equal(tls_call(t.base_url, NULL, &err), SI_CLIENT_E_TRANSPORT);
    assert_string_equal(err.reason, "TLS_CERTIFICATE");
    assert_non_null(strstr(err.description, "certificate"));
    assert_int_equal(tls_call(t.base_url, t.ca, &err), SI_CLIENT_E_HTTP);
    assert_int_equal(err.http_status, 401);
    assert_int_equal(tls_call(t.base_url, missing, &err), SI_CLIENT_E_TRANSPORT);
    assert_string_equal(err.reason, "CA_FILE");

    /* The environment when no option is given; the option wins over it. */
    assert_int_equal(setenv("CURL_CA_BUNDLE", t.ca, 1), 0);
    assert_int_equal(tls_call(t.base_url, NULL, &err), SI_CLIENT_E_HTTP);
    assert_int_equal(err.http_status, 401);
    assert_int_equal(setenv("CURL_CA_BUNDLE", missing, 1), 0);
    assert_int_equal(tls_call(t.base_url, NULL, &err), SI_CLIENT_E_TRANSPORT);
    assert_string_equal(err.reason, "CA_FILE");
    assert_int_equal(tls_call(t.base_url, t.ca, &err), SI_CLIENT_E_HTTP);
    assert_int_equal(err.http_status, 401);
    /* Empty counts as unset: back to the system's bundle, which does not know the CA. */
    assert_int_equal(setenv("CURL_CA_BUNDLE", "", 1), 0);
    assert_int_equal(tls_call(t.base_url, NULL, &err), SI_CLIENT_E_TRANSPORT);
    assert_string_equal(err.reason, "TLS_CERTIFICATE");
    assert_int_equal(unsetenv("CURL_CA_BUNDLE"), 0);

    assert_int_equal(fixture_stop(&t), 0);
    fixture_cleanup(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bulk_invite),      cmocka_unit_test(test_bulk_dry_run),
        cmocka_unit_test(test_idempotency_key),  cmocka_unit_test(test_get_and_resend),
        cmocka_unit_test(test_resend_limit),     cmocka_unit_test(test_revoke),
        cmocka_unit_test(test_query_paging),     cmocka_unit_test(test_query_status),
        cmocka_unit_test(test_wrong_key),        cmocka_unit_test(test_unknown_invite),
        cmocka_unit_test(test_validation_error), cmocka_unit_test(test_account_header),
        cmocka_unit_test(test_transport_error),  cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_bad_input),        cmocka_unit_test(test_new_bad_config),
        cmocka_unit_test(test_private_ca),       cmocka_unit_test(test_site_settings),
        cmocka_unit_test(test_audit_log),        cmocka_unit_test(test_webhooks),
    };
    /* The tests decide the CA bundle themselves (test_private_ca); none comes from outside. */
    unsetenv("CURL_CA_BUNDLE");
    if (si_client_global_init() != SI_CLIENT_OK)
        return 1;
    int failed = cmocka_run_group_tests(tests, suite_setup, suite_teardown);
    si_client_global_cleanup();
    return failed;
}
