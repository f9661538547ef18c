/* The store contract suite, part one: schema, principals, roles, Bulk Invite, get and change,
 * and concurrent writers. Parts two and three are test_store_query.c and test_store_outbox.c. */
#include "store_suite.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define POOL_THREADS    4  /* writers racing in the concurrency test */
#define POOL_PER_THREAD 40 /* invites each of them tries to create */
#define POOL_LIMIT      100

static void test_migrate_twice(void **state)
{
    (void)state;
    char *url = store_fixture_url();
    struct store *s = NULL;
    int applied = -1;
    bool empty = false;
    assert_int_equal(store_open(url, &s), SI_OK);
    assert_int_equal(store_migrate(s, &applied), SI_OK);
    if (store_fixture_is_private(url))
        assert_true(applied > 0);
    assert_int_equal(store_migrate(s, &applied), SI_OK);
    assert_int_equal(applied, 0);
    assert_int_equal(store_ping(s), SI_OK);
    if (store_fixture_is_private(url)) {
        assert_int_equal(store_is_empty(s, &empty), SI_OK);
        assert_true(empty);
    }
    /* A second handle on the same database sees it up to date. */
    struct store *s2 = NULL;
    assert_int_equal(store_open(url, &s2), SI_OK);
    assert_int_equal(store_migrate(s2, &applied), SI_OK);
    assert_int_equal(applied, 0);
    store_close(s2);
    store_close(s);
    store_fixture_remove(url);
    free(url);
}

static void test_open_bad_urls(void **state)
{
    (void)state;
    struct store *s = (struct store *)1;
    /* Port 1 always refuses: a postgres URL is accepted, the connection fails. An unreachable
     * server is a transient failure (SI_EBUSY, answered 503 with Retry-After), not a bad URL. */
    assert_int_equal(store_open("postgres://127.0.0.1:1/x", &s), SI_EBUSY);
    assert_null(s);
    assert_int_equal(store_open("mysql://localhost/x", &s), SI_ECONFIG);
    assert_int_equal(store_open("sqlite:", &s), SI_ECONFIG);
    assert_int_equal(store_open("sqlite:/nonexistent-dir-si/x/db.sqlite", &s), SI_ESTORE);
    store_close(NULL);
}

static void test_accounts_and_sites(void **state)
{
    struct fx *f = *state;
    struct account a;
    bool empty = true;
    assert_int_equal(store_is_empty(f->s, &empty), SI_OK);
    assert_false(empty);
    assert_int_equal(store_account_get(f->s, f->acct.id, &a), SI_OK);
    assert_string_equal(a.name, "Ada");
    assert_string_equal(a.email, "Ada@owner.test");
    assert_int_equal(a.created, NOW - DAY);
    assert_int_equal(store_account_create(f->s, &f->acct), SI_EEXIST);

    char other[SI_ID_LEN];
    fx_id(other);
    assert_int_equal(store_account_get(f->s, other, &a), SI_ENOTFOUND);

    struct site site = f->site, got;
    fx_id(site.id);
    snprintf(site.account_id, sizeof site.account_id, "%s", other);
    assert_int_equal(store_site_create(f->s, &site), SI_ENOTFOUND);
    assert_int_equal(store_site_get(f->s, site.id, &got), SI_ENOTFOUND);
    assert_int_equal(store_site_get(f->s, f->site.id, &got), SI_OK);
    assert_string_equal(got.account_id, f->acct.id);
    assert_string_equal(got.name, f->site.name);
    assert_string_equal(got.language, "fr");
    assert_int_equal(got.contributor_limit, 100);
    assert_int_equal(got.lifetime_days, 30);
}

/* A key row of the fixture's account (not stored), with a fresh ID and a random hash. */
static struct api_key_row new_key(const struct fx *f, const char *name, const char *prefix,
                                  unsigned permissions, si_ms created, uint8_t hash[32])
{
    struct api_key_row k = {.permissions = permissions, .created = created};
    fx_id(k.id);
    snprintf(k.account_id, sizeof k.account_id, "%s", f->acct.id);
    snprintf(k.name, sizeof k.name, "%s", name);
    snprintf(k.prefix, sizeof k.prefix, "%s", prefix);
    random_fill(&random_system, hash, 32);
    return k;
}

static void test_keys(void **state)
{
    struct fx *f = *state;
    struct api_key_row got;
    uint8_t hash[32], unknown[32];
    struct api_key_row k = new_key(f, "ci", "sik_Ab-9_z", 5, NOW, hash);
    random_fill(&random_system, unknown, sizeof unknown);

    assert_int_equal(store_key_create(f->s, &k, hash), SI_OK);
    assert_int_equal(store_key_lookup(f->s, hash, &got), SI_OK);
    assert_string_equal(got.id, k.id);
    assert_string_equal(got.account_id, f->acct.id);
    assert_string_equal(got.name, "ci");
    assert_int_equal(got.permissions, 5);
    assert_int_equal(got.revoked, 0);
    assert_string_equal(got.prefix, "sik_Ab-9_z");
    assert_int_equal(got.last_used, 0); /* never used */
    assert_int_equal(store_key_lookup(f->s, unknown, &got), SI_ENOTFOUND);

    assert_int_equal(store_key_revoke(f->s, k.id, NOW + 5), SI_OK);
    assert_int_equal(store_key_lookup(f->s, hash, &got), SI_OK);
    assert_int_equal(got.revoked, NOW + 5);
    /* Revoking twice keeps the first time. */
    assert_int_equal(store_key_revoke(f->s, k.id, NOW + 9), SI_OK);
    assert_int_equal(store_key_lookup(f->s, hash, &got), SI_OK);
    assert_int_equal(got.revoked, NOW + 5);
    char other[SI_ID_LEN];
    fx_id(other);
    assert_int_equal(store_key_revoke(f->s, other, NOW), SI_ENOTFOUND);
    /* The same hash twice is refused. */
    fx_id(k.id);
    assert_int_equal(store_key_create(f->s, &k, hash), SI_EEXIST);
}

/* A key and the site a request names in one read: the site's fields and settings as
 * store_site_get gives them, "not found" for an unknown site, nothing for an unknown key. */
static void test_key_site_lookup(void **state)
{
    struct fx *f = *state;
    struct api_key_row got;
    uint8_t hash[32], unknown[32];
    struct api_key_row k = new_key(f, "both", "", 3, NOW, hash);
    random_fill(&random_system, unknown, sizeof unknown);
    assert_int_equal(store_key_create(f->s, &k, hash), SI_OK);
    struct site_settings_patch set = {.accept_redirect_url = "https://a.example/done",
                                      .reminder_days = 4,
                                      .allowed_domains = "a.example"};
    assert_int_equal(store_site_settings_set(f->s, f->site.id, &set, NOW, NULL), SI_OK);

    struct site site;
    bool found = true;
    assert_int_equal(store_key_site_lookup(f->s, hash, f->site.id, &got, &site, &found), SI_OK);
    assert_true(found);
    assert_string_equal(got.id, k.id);
    assert_string_equal(got.name, "both");
    assert_int_equal(got.permissions, 3);
    assert_string_equal(site.id, f->site.id);
    assert_string_equal(site.account_id, f->acct.id);
    assert_string_equal(site.name, f->site.name);
    assert_string_equal(site.language, "fr");
    assert_int_equal(site.contributor_limit, 100);
    assert_int_equal(site.lifetime_days, 30);
    assert_non_null(site.settings);
    assert_string_equal(site.settings->accept_redirect_url, "https://a.example/done");
    assert_int_equal(site.settings->reminder_days, 4);
    assert_string_equal(site.settings->allowed_domains, "a.example");
    site_cleanup(&site);

    char other[SI_ID_LEN];
    fx_id(other);
    assert_int_equal(store_key_site_lookup(f->s, hash, other, &got, &site, &found), SI_OK);
    assert_false(found);
    assert_string_equal(got.id, k.id);
    assert_null(site.settings);
    assert_int_equal(store_key_site_lookup(f->s, hash, NULL, &got, &site, &found), SI_OK);
    assert_false(found);
    assert_string_equal(got.id, k.id);
    assert_int_equal(store_key_site_lookup(f->s, unknown, f->site.id, &got, &site, &found),
                     SI_ENOTFOUND);
    assert_false(found);
    assert_null(site.settings);
}

/* The last use of a key only moves forward, whichever order (or server) writes it. */
static void test_keys_used(void **state)
{
    struct fx *f = *state;
    struct api_key_row *list = NULL;
    uint8_t ha[32], hb[32];
    size_t n = 0;
    struct api_key_row a = new_key(f, "a", "sik_aaaaaa", 4, NOW, ha);
    struct api_key_row b = new_key(f, "b", "", 4, NOW + 1, hb);
    assert_int_equal(store_key_create(f->s, &a, ha), SI_OK);
    assert_int_equal(store_key_create(f->s, &b, hb), SI_OK); /* no prefix: as before v14 */

    struct key_use uses[3] = {{.at = NOW + 100}, {.at = NOW + 50}, {.at = NOW + 7}};
    snprintf(uses[0].key_id, sizeof uses[0].key_id, "%s", a.id);
    snprintf(uses[1].key_id, sizeof uses[1].key_id, "%s", b.id);
    fx_id(uses[2].key_id); /* unknown: skipped, not an error */
    assert_int_equal(store_keys_used(f->s, uses, 3), SI_OK);
    assert_int_equal(store_keys_used(f->s, uses, 0), SI_OK);
    /* An older time for a, written late (or by another server): a keeps the newer one. */
    uses[0].at = NOW + 60;
    uses[1].at = NOW + 90;
    assert_int_equal(store_keys_used(f->s, uses, 2), SI_OK);

    struct api_key_row got;
    assert_int_equal(store_key_lookup(f->s, ha, &got), SI_OK);
    assert_int_equal(got.last_used, NOW + 100);
    assert_int_equal(store_account_keys(f->s, f->acct.id, 10, &list, &n), SI_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].id, a.id);
    assert_string_equal(list[0].prefix, "sik_aaaaaa");
    assert_int_equal(list[0].last_used, NOW + 100);
    assert_string_equal(list[1].id, b.id);
    assert_string_equal(list[1].prefix, "");
    assert_int_equal(list[1].last_used, NOW + 90);
    free(list);
}

static void test_roles(void **state)
{
    struct fx *f = *state;
    struct role *roles = NULL;
    size_t n = 0;
    assert_int_equal(store_roles_list(f->s, f->acct.id, &roles, &n), SI_OK);
    /* The seeds are core's list, Wix's order: Owner, Account Admin, Admin, ... */
    assert_int_equal(n, 10);
    assert_string_equal(roles[0].title, "Owner");
    assert_string_equal(roles[2].id, P_ADMIN);
    assert_string_equal(roles[2].title, "Admin (Co-Owner)");
    assert_true(roles[2].predefined);
    assert_string_equal(roles[9].title, "Marketing Manager");
    free(roles);

    struct role r = {.title = "Copy Editor", .description = "Fixes words"};
    fx_id(r.id);
    assert_int_equal(store_role_create(f->s, f->acct.id, &r, NOW, NULL), SI_OK);
    struct role dup = r;
    fx_id(dup.id);
    snprintf(dup.title, sizeof dup.title, "copy EDITOR");
    assert_int_equal(store_role_create(f->s, f->acct.id, &dup, NOW, NULL), SI_EEXIST);
    snprintf(dup.title, sizeof dup.title, "admin (co-owner)");
    assert_int_equal(store_role_create(f->s, f->acct.id, &dup, NOW, NULL), SI_EEXIST);
    snprintf(dup.title, sizeof dup.title, "Second");
    assert_int_equal(store_role_create(f->s, f->acct.id, &dup, NOW, NULL), SI_OK);

    /* Another account may use the same title and does not see the first one's roles. */
    struct account b;
    fx_account(f, &b, "Bob");
    struct role other = r;
    fx_id(other.id);
    assert_int_equal(store_role_create(f->s, b.id, &other, NOW, NULL), SI_OK);
    assert_int_equal(store_roles_list(f->s, b.id, &roles, &n), SI_OK);
    assert_int_equal(n, 11);
    assert_string_equal(roles[10].id, other.id);
    free(roles);

    assert_int_equal(store_roles_list(f->s, f->acct.id, &roles, &n), SI_OK);
    assert_int_equal(n, 12);
    assert_string_equal(roles[10].id, r.id);
    assert_string_equal(roles[10].title, "Copy Editor");
    assert_string_equal(roles[10].description, "Fixes words");
    assert_false(roles[10].predefined);
    assert_string_equal(roles[11].title, "Second");
    free(roles);
}

static void test_bulk_created(void **state)
{
    struct fx *f = *state;
    struct bulk_item it[3];
    fx_invite(&it[0].invite, f, "Ann@example.com", NOW, NOW + DAY, P_ADMIN);
    fx_invite(&it[1].invite, f, "bob@example.com", NOW, NOW + DAY, P_ADMIN "," P_DESIGNER);
    fx_invite(&it[2].invite, f, "cy@example.com", NOW, NOW + DAY, P_MANAGER);
    assert_int_equal(fx_bulk(f, it, 3, NOW, 100, false), SI_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(it[i].outcome, BULK_CREATED);
        assert_int_equal(it[i].invite.delivery.status, DELIVERY_QUEUED);
    }
    struct invite got;
    assert_int_equal(store_invite_get(f->s, f->site.id, it[1].invite.id, &got), SI_OK);
    assert_string_equal(got.email, "bob@example.com");
    assert_int_equal(got.policies.n, 2);
    assert_string_equal(got.policies.ids[1], P_DESIGNER);
    assert_string_equal(got.purpose, "Join us");
    assert_int_equal(got.status, INVITE_PENDING);
    assert_int_equal(got.expires, NOW + DAY);
    assert_int_equal(got.send_count, 1);
    assert_false(got.has_salt); /* stored NULL: the link names the ID */
    assert_int_equal(got.delivery.status, DELIVERY_QUEUED);
    assert_int_equal(got.delivery.attempts, 0);
    invite_cleanup(&got);

    int64_t used = 0;
    assert_int_equal(store_seats_used(f->s, f->site.id, NOW, &used), SI_OK);
    assert_int_equal(used, 3);
    /* After expiry those seats are free again. */
    assert_int_equal(store_seats_used(f->s, f->site.id, NOW + DAY, &used), SI_OK);
    assert_int_equal(used, 0);
    struct outbox_counts oc;
    assert_int_equal(store_outbox_counts(f->s, &oc), SI_OK);
    assert_int_equal(oc.queued, 3);
    assert_int_equal(oc.oldest_due, NOW);
    fx_items_cleanup(it, 3);
}

static void test_bulk_existing(void **state)
{
    struct fx *f = *state;
    char first[SI_ID_LEN], stale[SI_ID_LEN], ann[SI_ID_LEN];
    fx_create(f, "ann@example.com", NOW - HOUR, NOW + DAY, P_ADMIN, ann);
    fx_create(f, "old@example.com", NOW - 2 * DAY, NOW - DAY, P_ADMIN, stale); /* lazily expired */
    struct invite got;
    struct bulk_item it[4];
    fx_invite(&it[0].invite, f, "ANN@Example.com", NOW, NOW + DAY, P_MANAGER);
    fx_invite(&it[1].invite, f, "old@example.com", NOW, NOW + DAY, P_MANAGER);
    fx_invite(&it[2].invite, f, "new@example.com", NOW, NOW + DAY, P_MANAGER);
    fx_invite(&it[3].invite, f, "New@Example.com", NOW, NOW + DAY, P_MANAGER); /* repeat */
    memcpy(first, it[2].invite.id, SI_ID_LEN);
    assert_int_equal(fx_bulk(f, it, 4, NOW, 100, false), SI_OK);
    assert_int_equal(it[0].outcome, BULK_EXISTING);
    assert_string_equal(it[0].invite.id, ann);
    assert_string_equal(it[0].invite.email, "ann@example.com"); /* the stored row, unchanged */
    assert_string_equal(it[0].invite.policies.ids[0], P_ADMIN);
    assert_int_equal(it[0].invite.created, NOW - HOUR);
    assert_int_equal(it[0].invite.delivery.status, DELIVERY_QUEUED);
    assert_int_equal(it[1].outcome, BULK_CREATED);
    assert_int_equal(it[2].outcome, BULK_CREATED);
    assert_int_equal(it[3].outcome, BULK_EXISTING);
    assert_string_equal(it[3].invite.id, first);
    assert_int_equal(store_invite_get(f->s, f->site.id, stale, &got), SI_OK);
    assert_int_equal(invite_status_at(&got, NOW), INVITE_EXPIRED);
    invite_cleanup(&got);
    int64_t used = 0; /* ann, old's new invite, new (once) */
    assert_int_equal(store_seats_used(f->s, f->site.id, NOW, &used), SI_OK);
    assert_int_equal(used, 3);
    fx_items_cleanup(it, 4);
}

static void add_contributor(struct fx *f, const char *email)
{
    struct account a;
    fx_account(f, &a, "Contrib");
    struct contributor_row c = {.joined = NOW - HOUR, .policies = {.n = 1, .ids = {P_ADMIN}}};
    fx_id(c.id);
    snprintf(c.site_id, sizeof c.site_id, "%s", f->site.id);
    snprintf(c.account_id, sizeof c.account_id, "%s", a.id);
    snprintf(c.email, sizeof c.email, "%s", email);
    for (size_t i = 0; email[i]; i++)
        c.email_key[i] = (char)tolower((unsigned char)email[i]);
    assert_int_equal(store_contributor_add(f->s, &c), SI_OK);
    fx_id(c.id);
    assert_int_equal(store_contributor_add(f->s, &c), SI_EEXIST); /* same account twice */
}

static void test_bulk_contributor_and_limit(void **state)
{
    struct fx *f = *state;
    add_contributor(f, "Member@example.com");
    char pending[SI_ID_LEN];
    fx_create(f, "pending@example.com", NOW - HOUR, NOW + DAY, P_ADMIN, pending);
    int64_t used = 0;
    assert_int_equal(store_seats_used(f->s, f->site.id, NOW, &used), SI_OK);
    assert_int_equal(used, 2);

    /* Limit 4: two seats used, so two new invites fit; existing ones take no new seat. */
    struct bulk_item it[5];
    fx_invite(&it[0].invite, f, "member@EXAMPLE.com", NOW, NOW + DAY, P_ADMIN);
    fx_invite(&it[1].invite, f, "a@example.com", NOW, NOW + DAY, P_ADMIN);
    fx_invite(&it[2].invite, f, "pending@example.com", NOW, NOW + DAY, P_ADMIN);
    fx_invite(&it[3].invite, f, "b@example.com", NOW, NOW + DAY, P_ADMIN);
    fx_invite(&it[4].invite, f, "c@example.com", NOW, NOW + DAY, P_ADMIN);
    char refused[SI_ID_LEN];
    memcpy(refused, it[4].invite.id, SI_ID_LEN);
    assert_int_equal(fx_bulk(f, it, 5, NOW, 4, false), SI_OK);
    assert_int_equal(it[0].outcome, BULK_ALREADY_CONTRIBUTOR);
    assert_int_equal(it[1].outcome, BULK_CREATED);
    assert_int_equal(it[2].outcome, BULK_EXISTING);
    assert_string_equal(it[2].invite.id, pending);
    assert_int_equal(it[3].outcome, BULK_CREATED);
    assert_int_equal(it[4].outcome, BULK_LIMIT_REACHED);
    struct invite got;
    assert_int_equal(store_invite_get(f->s, f->site.id, refused, &got), SI_ENOTFOUND);
    assert_int_equal(store_seats_used(f->s, f->site.id, NOW, &used), SI_OK);
    assert_int_equal(used, 4);
    fx_items_cleanup(it, 5);
}

/* A call big enough for the backend to ask once which addresses the site knows: known ones
 * (any case) are still found, unknown ones created; then the same with a repeat in the call. */
static void test_bulk_large_mixed(void **state)
{
    struct fx *f = *state;
    add_contributor(f, "member@example.com");
    char p1[SI_ID_LEN], p2[SI_ID_LEN];
    fx_create(f, "p1@example.com", NOW - HOUR, NOW + DAY, P_ADMIN, p1);
    fx_create(f, "p2@example.com", NOW - HOUR, NOW + DAY, P_ADMIN, p2);
    enum { N = 12 };
    struct bulk_item it[N];
    char email[64];
    for (int i = 0; i < N; i++) {
        snprintf(email, sizeof email, "fresh%d@example.com", i);
        fx_invite(&it[i].invite, f, email, NOW, NOW + DAY, P_MANAGER);
    }
    invite_cleanup(&it[3].invite);
    fx_invite(&it[3].invite, f, "P1@Example.COM", NOW, NOW + DAY, P_MANAGER);
    invite_cleanup(&it[7].invite);
    fx_invite(&it[7].invite, f, "Member@example.com", NOW, NOW + DAY, P_MANAGER);
    invite_cleanup(&it[10].invite);
    fx_invite(&it[10].invite, f, "p2@example.com", NOW, NOW + DAY, P_MANAGER);
    assert_int_equal(fx_bulk(f, it, N, NOW, 100, false), SI_OK);
    for (int i = 0; i < N; i++) {
        enum bulk_outcome want = i == 3 || i == 10 ? BULK_EXISTING
                                 : i == 7          ? BULK_ALREADY_CONTRIBUTOR
                                                   : BULK_CREATED;
        assert_int_equal(it[i].outcome, want);
    }
    assert_string_equal(it[3].invite.id, p1);
    assert_string_equal(it[10].invite.id, p2);
    int64_t used = 0; /* member, p1, p2, and 9 new */
    assert_int_equal(store_seats_used(f->s, f->site.id, NOW, &used), SI_OK);
    assert_int_equal(used, 12);
    fx_items_cleanup(it, N);

    /* A repeat inside one call: the second occurrence finds the first's new invite. */
    for (int i = 0; i < N; i++) {
        snprintf(email, sizeof email, "again%d@example.com", i);
        fx_invite(&it[i].invite, f, email, NOW, NOW + DAY, P_MANAGER);
    }
    invite_cleanup(&it[9].invite);
    fx_invite(&it[9].invite, f, "AGAIN2@example.com", NOW, NOW + DAY, P_MANAGER);
    assert_int_equal(fx_bulk(f, it, N, NOW, 100, false), SI_OK);
    assert_int_equal(it[2].outcome, BULK_CREATED);
    assert_int_equal(it[9].outcome, BULK_EXISTING);
    assert_string_equal(it[9].invite.id, it[2].invite.id);
    assert_int_equal(store_seats_used(f->s, f->site.id, NOW, &used), SI_OK);
    assert_int_equal(used, 12 + 11);
    fx_items_cleanup(it, N);
}

static void test_bulk_dry_run(void **state)
{
    struct fx *f = *state;
    struct bulk_item it[3];
    fx_invite(&it[0].invite, f, "a@example.com", NOW, NOW + DAY, P_ADMIN);
    fx_invite(&it[1].invite, f, "A@example.com", NOW, NOW + DAY, P_ADMIN);
    fx_invite(&it[2].invite, f, "b@example.com", NOW, NOW + DAY, P_ADMIN);
    assert_int_equal(fx_bulk(f, it, 3, NOW, 1, true), SI_OK);
    assert_int_equal(it[0].outcome, BULK_CREATED);
    assert_int_equal(it[1].outcome, BULK_EXISTING);
    assert_int_equal(it[2].outcome, BULK_LIMIT_REACHED);
    struct invite got;
    assert_int_equal(store_invite_get(f->s, f->site.id, it[0].invite.id, &got), SI_ENOTFOUND);
    int64_t used = -1;
    assert_int_equal(store_seats_used(f->s, f->site.id, NOW, &used), SI_OK);
    assert_int_equal(used, 0);
    struct outbox_counts oc;
    assert_int_equal(store_outbox_counts(f->s, &oc), SI_OK);
    assert_int_equal(oc.queued, 0);
    fx_items_cleanup(it, 3);
}

static void test_bulk_all_or_nothing(void **state)
{
    struct fx *f = *state;
    struct bulk_item it[3];
    fx_invite(&it[0].invite, f, "a@example.com", NOW, NOW + DAY, P_ADMIN);
    fx_invite(&it[1].invite, f, "b@example.com", NOW, NOW + DAY, P_ADMIN);
    fx_invite(&it[2].invite, f, "c@example.com", NOW, NOW + DAY, P_ADMIN);
    /* The third reuses the first's accept-link salt (old-style invites, which the partial
     * unique index still covers): the store must refuse and undo all. */
    fx_salted(&it[0].invite);
    fx_salted(&it[2].invite);
    memcpy(it[2].invite.token_salt, it[0].invite.token_salt, SI_TOKEN_SALT_LEN);
    assert_int_not_equal(fx_bulk(f, it, 3, NOW, 100, false), SI_OK);
    struct invite got;
    assert_int_equal(store_invite_get(f->s, f->site.id, it[0].invite.id, &got), SI_ENOTFOUND);
    struct outbox_counts oc;
    assert_int_equal(store_outbox_counts(f->s, &oc), SI_OK);
    assert_int_equal(oc.queued, 0);
    /* A policy ID the stored form cannot hold is refused the same way. */
    snprintf(it[2].invite.policies.ids[0], SI_POLICY_ID_MAX, "a,b");
    random_fill(&random_system, it[2].invite.token_salt, SI_TOKEN_SALT_LEN);
    assert_int_equal(fx_bulk(f, it, 3, NOW, 100, false), SI_EINVAL);
    assert_int_equal(store_invite_get(f->s, f->site.id, it[1].invite.id, &got), SI_ENOTFOUND);
    fx_items_cleanup(it, 3);
}

/* A call for a site that does not exist is "not found" and writes nothing; the store's
 * connection is fine afterwards (on PostgreSQL the failure arrives inside a pipeline of
 * statements, whose results must all be read before the next call). */
static void test_bulk_unknown_site(void **state)
{
    struct fx *f = *state;
    struct bulk_item it[2];
    fx_invite(&it[0].invite, f, "a@example.com", NOW, NOW + DAY, P_ADMIN);
    fx_invite(&it[1].invite, f, "b@example.com", NOW, NOW + DAY, P_ADMIN);
    const char *unknown = "0b3e2c1a-5d4f-4e6a-8b7c-9d0e1f2a3b4c";
    for (int i = 0; i < 2; i++)
        snprintf(it[i].invite.site_id, sizeof it[i].invite.site_id, "%s", unknown);
    struct bulk_request req = {
        .site_id = unknown, .contributor_limit = 100, .now = NOW, .items = it, .n = 2};
    assert_int_equal(store_invites_bulk(f->s, &req), SI_ENOTFOUND);
    struct outbox_counts oc;
    assert_int_equal(store_outbox_counts(f->s, &oc), SI_OK);
    assert_int_equal(oc.queued, 0);
    fx_items_cleanup(it, 2);
    fx_invite(&it[0].invite, f, "a@example.com", NOW, NOW + DAY, P_ADMIN);
    assert_int_equal(fx_bulk(f, it, 1, NOW, 100, false), SI_OK);
    assert_int_equal(it[0].outcome, BULK_CREATED);
    struct invite got;
    assert_int_equal(store_invite_get(f->s, f->site.id, it[0].invite.id, &got), SI_OK);
    invite_cleanup(&got);
    assert_int_equal(store_outbox_counts(f->s, &oc), SI_OK);
    assert_int_equal(oc.queued, 1);
    fx_items_cleanup(it, 1);
}

static void test_bulk_thousand(void **state)
{
    struct fx *f = *state;
    struct bulk_item *it = calloc(SI_BULK_MAX, sizeof *it);
    char email[64];
    for (int i = 0; i < SI_BULK_MAX; i++) {
        snprintf(email, sizeof email, "user%d@example.com", i);
        fx_invite(&it[i].invite, f, email, NOW, NOW + DAY, P_ADMIN "," P_MANAGER);
    }
    assert_int_equal(fx_bulk(f, it, SI_BULK_MAX, NOW, 5000, false), SI_OK);
    for (int i = 0; i < SI_BULK_MAX; i++)
        assert_int_equal(it[i].outcome, BULK_CREATED);
    struct outbox_counts oc;
    assert_int_equal(store_outbox_counts(f->s, &oc), SI_OK);
    assert_int_equal(oc.queued, SI_BULK_MAX);
    fx_items_cleanup(it, SI_BULK_MAX);
    free(it);
}

/* A call whose new invites the store may write several at a time (SQLite: statements of up
 * to 128 rows), with addresses the site knows between them: every invite stored as given, in
 * item order, each with one queued email in that order; and a failure inside a later group of
 * rows undoes the whole call. */
static void test_bulk_rows_in_item_order(void **state)
{
    struct fx *f = *state;
    enum { N = 300 };
    char known[3][SI_ID_LEN], email[64];
    fx_create(f, "known0@example.com", NOW - HOUR, NOW + DAY, P_ADMIN, known[0]);
    fx_create(f, "known1@example.com", NOW - HOUR, NOW + DAY, P_ADMIN, known[1]);
    fx_create(f, "known2@example.com", NOW - HOUR, NOW + DAY, P_ADMIN, known[2]);
    const int at[3] = {140, 141, 299}; /* where the known addresses come in the call */
    struct bulk_item *it = calloc(N, sizeof *it);
    for (int i = 0, k = 0; i < N; i++) {
        if (k < 3 && i == at[k])
            snprintf(email, sizeof email, "known%d@example.com", k++);
        else
            snprintf(email, sizeof email, "row%03d@example.com", i);
        fx_invite(&it[i].invite, f, email, NOW, NOW + DAY + i, i % 2 ? P_ADMIN : P_MANAGER);
    }
    assert_int_equal(fx_bulk(f, it, N, NOW, 5000, false), SI_OK);
    struct outbox_msg *m = NULL;
    size_t n = 0;
    assert_int_equal(store_outbox_claim(f->s, NOW, 60000, 1000, &m, &n), SI_OK);
    assert_int_equal(n, 3 + N - 3); /* the three earlier invites' emails come first */
    for (int i = 0, k = 0, msg = 3; i < N; i++) {
        if (k < 3 && i == at[k]) {
            assert_int_equal(it[i].outcome, BULK_EXISTING);
            assert_string_equal(it[i].invite.id, known[k++]);
            continue;
        }
        assert_int_equal(it[i].outcome, BULK_CREATED);
        struct invite got;
        assert_int_equal(store_invite_get(f->s, f->site.id, it[i].invite.id, &got), SI_OK);
        assert_string_equal(got.email, it[i].invite.email);
        assert_int_equal(got.expires, NOW + DAY + i);
        assert_string_equal(got.policies.ids[0], i % 2 ? P_ADMIN : P_MANAGER);
        assert_int_equal(got.delivery.status, DELIVERY_QUEUED);
        invite_cleanup(&got);
        assert_string_equal(m[msg].invite.id, it[i].invite.id);
        assert_string_equal(m[msg].invite.email, it[i].invite.email);
        msg++;
    }
    for (size_t i = 0; i < n; i++)
        outbox_msg_cleanup(&m[i]);
    free(m);
    fx_items_cleanup(it, N);

    /* Item 200 reuses item 10's accept-link salt: refused after 200 rows were written. */
    struct outbox_counts before, after;
    assert_int_equal(store_outbox_counts(f->s, &before), SI_OK);
    for (int i = 0; i < N; i++) {
        snprintf(email, sizeof email, "undone%03d@example.com", i);
        fx_invite(&it[i].invite, f, email, NOW, NOW + DAY, P_ADMIN);
    }
    fx_salted(&it[10].invite);
    fx_salted(&it[200].invite);
    memcpy(it[200].invite.token_salt, it[10].invite.token_salt, SI_TOKEN_SALT_LEN);
    assert_int_not_equal(fx_bulk(f, it, N, NOW, 5000, false), SI_OK);
    struct invite got;
    for (int i = 0; i < N; i += 37)
        assert_int_equal(store_invite_get(f->s, f->site.id, it[i].invite.id, &got), SI_ENOTFOUND);
    assert_int_equal(store_outbox_counts(f->s, &after), SI_OK);
    assert_int_equal(after.queued, before.queued);
    assert_int_equal(before.queued, 3 + N - 3);
    fx_items_cleanup(it, N);
    free(it);
}

static void test_get_scoped_and_by_link(void **state)
{
    struct fx *f = *state;
    struct site other;
    fx_site(f, f->acct.id, &other, 10);
    struct bulk_item it[2];
    fx_invite(&it[0].invite, f, "a@example.com", NOW, NOW + DAY, P_ADMIN);
    free(it[0].invite.purpose);
    it[0].invite.purpose = NULL; /* no purpose reads back as NULL */
    fx_invite(&it[1].invite, f, "old@example.com", NOW, NOW + DAY, P_ADMIN);
    fx_salted(&it[1].invite); /* made before schema 16: a version 1 link */
    assert_int_equal(fx_bulk(f, it, 2, NOW, 10, false), SI_OK);
    struct invite got;
    assert_int_equal(store_invite_get(f->s, other.id, it[0].invite.id, &got), SI_ENOTFOUND);
    /* A new invite: its link names the ID. */
    struct token_ref ref;
    token_ref_of_invite(&it[0].invite, &ref);
    assert_int_equal(ref.kind, TOKEN_BY_ID);
    assert_int_equal(store_invite_by_link(f->s, &ref, &got), SI_OK);
    assert_string_equal(got.id, it[0].invite.id);
    assert_string_equal(got.site_id, f->site.id);
    assert_false(got.has_salt);
    assert_null(got.purpose);
    invite_cleanup(&got);
    /* An old invite: found by its salt, and never by its ID, so it has one working link. */
    token_ref_of_invite(&it[1].invite, &ref);
    assert_int_equal(ref.kind, TOKEN_BY_SALT);
    assert_int_equal(store_invite_by_link(f->s, &ref, &got), SI_OK);
    assert_string_equal(got.id, it[1].invite.id);
    assert_true(got.has_salt);
    assert_memory_equal(got.token_salt, it[1].invite.token_salt, SI_TOKEN_SALT_LEN);
    invite_cleanup(&got);
    ref.kind = TOKEN_BY_ID;
    assert_true(id_to_bytes(it[1].invite.id, ref.key));
    assert_int_equal(store_invite_by_link(f->s, &ref, &got), SI_ENOTFOUND);
    /* Unknown salt, unknown ID. */
    memset(ref.key, 0, sizeof ref.key);
    assert_int_equal(store_invite_by_link(f->s, &ref, &got), SI_ENOTFOUND);
    ref.kind = TOKEN_BY_SALT;
    assert_int_equal(store_invite_by_link(f->s, &ref, &got), SI_ENOTFOUND);
    invite_cleanup(&it[0].invite);
    invite_cleanup(&it[1].invite);
}

static void test_change(void **state)
{
    struct fx *f = *state;
    char id[SI_ID_LEN];
    char a[SI_ID_LEN];
    fx_create(f, "a@example.com", NOW - HOUR, NOW + DAY, P_ADMIN, a);
    fx_create(f, "b@example.com", NOW - 2 * HOUR, NOW + DAY, P_ADMIN, a);
    fx_create(f, "c@example.com", NOW - 3 * HOUR, NOW + DAY, P_ADMIN, id);
    struct invite out;
    struct fx_change x = {.write = true, .staff_id = "staff-7", .effect = OUTBOX_ENQUEUE};

    /* Write plus a resend email: fn saw the first email in its 24-hour window. */
    assert_int_equal(store_invite_change(f->s, f->site.id, id, NOW, NULL, fx_change_fn, &x, &out),
                     SI_OK);
    assert_int_equal(x.seen_sends, 1);
    assert_int_equal(x.seen_oldest, NOW - 3 * HOUR);
    assert_string_equal(out.staff_id, "staff-7");
    assert_int_equal(out.updated, NOW);
    assert_int_equal(out.delivery.status, DELIVERY_QUEUED);
    invite_cleanup(&out);
    x = (struct fx_change){.write = false};
    assert_int_equal(
        store_invite_change(f->s, f->site.id, id, NOW + 1, NULL, fx_change_fn, &x, NULL), SI_OK);
    assert_int_equal(x.seen_sends, 2);
    /* A change whose clock read an earlier now (it raced the resend above for the lock) still
     * counts the resend's email: the window has no upper bound. */
    x = (struct fx_change){.write = false};
    assert_int_equal(
        store_invite_change(f->s, f->site.id, id, NOW - 1, NULL, fx_change_fn, &x, NULL), SI_OK);
    assert_int_equal(x.seen_sends, 2);

    /* An error from fn rolls everything back and is returned as is. */
    x = (struct fx_change){.ret = SI_ESTATE,
                           .write = true,
                           .staff_id = "nope",
                           .set_status = true,
                           .status = INVITE_DELETED,
                           .effect = OUTBOX_CANCEL};
    assert_int_equal(store_invite_change(f->s, f->site.id, id, NOW, NULL, fx_change_fn, &x, &out),
                     SI_ESTATE);
    assert_int_equal(store_invite_get(f->s, f->site.id, id, &out), SI_OK);
    assert_string_equal(out.staff_id, "staff-7");
    assert_int_equal(out.status, INVITE_PENDING);
    assert_int_equal(out.delivery.status, DELIVERY_QUEUED);
    invite_cleanup(&out);

    /* Cancel: every queued email of the invite is cancelled; the latest shows it. */
    x = (struct fx_change){
        .write = true, .set_status = true, .status = INVITE_DELETED, .effect = OUTBOX_CANCEL};
    assert_int_equal(store_invite_change(f->s, f->site.id, id, NOW, NULL, fx_change_fn, &x, &out),
                     SI_OK);
    assert_int_equal(out.status, INVITE_DELETED);
    assert_int_equal(out.delivery.status, DELIVERY_CANCELLED);
    invite_cleanup(&out);
    struct outbox_counts oc;
    assert_int_equal(store_outbox_counts(f->s, &oc), SI_OK);
    assert_int_equal(oc.cancelled, 2);
    assert_int_equal(oc.queued, 2); /* a and b keep theirs */
    int64_t used = 0;
    assert_int_equal(store_seats_used(f->s, f->site.id, NOW, &used), SI_OK);
    assert_int_equal(used, 2);
    /* Back to Pending (as a resend of an Expired invite would) takes the seat again. */
    fx_set_status(f, id, INVITE_PENDING, OUTBOX_KEEP);
    assert_int_equal(store_seats_used(f->s, f->site.id, NOW, &used), SI_OK);
    assert_int_equal(used, 3);
    fx_set_status(f, id, INVITE_EXPIRED, OUTBOX_KEEP);
    assert_int_equal(store_seats_used(f->s, f->site.id, NOW, &used), SI_OK);
    assert_int_equal(used, 2);

    /* Another site's invite, or an unknown one, is not found and fn is not called. */
    struct site other;
    fx_site(f, f->acct.id, &other, 10);
    x = (struct fx_change){.write = true};
    assert_int_equal(store_invite_change(f->s, other.id, id, NOW, NULL, fx_change_fn, &x, &out),
                     SI_ENOTFOUND);
    assert_int_equal(x.calls, 0);
}

struct racer {
    struct fx *f;
    int created, refused, errors;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    char email[80], tid[SI_ID_LEN];
    fx_id(tid);
    for (int i = 0; i < POOL_PER_THREAD; i++) {
        struct bulk_item it;
        snprintf(email, sizeof email, "%.8s-%d@example.com", tid, i);
        fx_invite(&it.invite, r->f, email, NOW, NOW + DAY, P_ADMIN);
        if (fx_bulk(r->f, &it, 1, NOW, POOL_LIMIT, false) != SI_OK)
            r->errors++;
        else if (it.outcome == BULK_CREATED)
            r->created++;
        else if (it.outcome == BULK_LIMIT_REACHED)
            r->refused++;
        struct invite got;
        if (store_invite_get(r->f->s, r->f->site.id, it.invite.id, &got) == SI_OK)
            invite_cleanup(&got);
        invite_cleanup(&it.invite);
    }
    return NULL;
}

/* Writers on several threads share the pool; seats stay exact under contention. */
/* store_invites_bulk_async from several threads at once: every done runs exactly once with
 * SI_OK, every invite is stored, seats add up; a dry run answers through done too. */
struct async_count {
    atomic_int done, failed;
};

static void count_done(void *ctx, enum si_err rc)
{
    struct async_count *c = ctx;
    if (rc)
        atomic_fetch_add(&c->failed, 1);
    atomic_fetch_add(&c->done, 1);
}

enum { ASYNC_THREADS = 6, ASYNC_CALLS = 25 };

struct async_thread {
    struct fx *f;
    int index;
    struct async_count *count;
    struct bulk_item items[ASYNC_CALLS];
    struct bulk_request reqs[ASYNC_CALLS];
};

static void *async_submit(void *arg)
{
    struct async_thread *t = arg;
    char email[64];
    for (int i = 0; i < ASYNC_CALLS; i++) {
        snprintf(email, sizeof email, "async%d.%d@example.com", t->index, i);
        fx_invite(&t->items[i].invite, t->f, email, NOW, NOW + DAY, P_ADMIN);
        t->reqs[i] = (struct bulk_request){.site_id = t->f->site.id,
                                           .contributor_limit = 1000,
                                           .now = NOW,
                                           .items = &t->items[i],
                                           .n = 1};
        store_invites_bulk_async(t->f->s, &t->reqs[i], count_done, t->count);
    }
    return NULL;
}

static void test_bulk_async(void **state)
{
    struct fx *f = *state;
    struct async_count count = {0};
    static struct async_thread threads[ASYNC_THREADS];
    pthread_t th[ASYNC_THREADS];
    for (int i = 0; i < ASYNC_THREADS; i++) {
        threads[i] = (struct async_thread){.f = f, .index = i, .count = &count};
        assert_int_equal(pthread_create(&th[i], NULL, async_submit, &threads[i]), 0);
    }
    for (int i = 0; i < ASYNC_THREADS; i++)
        pthread_join(th[i], NULL);
    /* done may come later than the submit returned: wait for all, up to 10 s. */
    for (int waited = 0; atomic_load(&count.done) < ASYNC_THREADS * ASYNC_CALLS && waited < 10000;
         waited++) {
        struct timespec ms = {.tv_sec = 0, .tv_nsec = 1000000};
        nanosleep(&ms, NULL);
    }
    assert_int_equal(atomic_load(&count.done), ASYNC_THREADS * ASYNC_CALLS);
    assert_int_equal(atomic_load(&count.failed), 0);
    for (int t = 0; t < ASYNC_THREADS; t++) {
        for (int i = 0; i < ASYNC_CALLS; i++) {
            assert_int_equal(threads[t].items[i].outcome, BULK_CREATED);
            struct invite got;
            assert_int_equal(
                store_invite_get(f->s, f->site.id, threads[t].items[i].invite.id, &got), SI_OK);
            invite_cleanup(&got);
        }
        fx_items_cleanup(threads[t].items, ASYNC_CALLS);
    }
    int64_t used = 0;
    assert_int_equal(store_seats_used(f->s, f->site.id, NOW, &used), SI_OK);
    assert_int_equal(used, ASYNC_THREADS * ASYNC_CALLS);

    /* A dry run answers through done as well, and writes nothing. */
    struct async_count dry = {0};
    struct bulk_item it;
    fx_invite(&it.invite, f, "dry@example.com", NOW, NOW + DAY, P_ADMIN);
    struct bulk_request req = {.site_id = f->site.id,
                               .contributor_limit = 1000,
                               .now = NOW,
                               .dry_run = true,
                               .items = &it,
                               .n = 1};
    store_invites_bulk_async(f->s, &req, count_done, &dry);
    for (int waited = 0; atomic_load(&dry.done) < 1 && waited < 10000; waited++) {
        struct timespec ms = {.tv_sec = 0, .tv_nsec = 1000000};
        nanosleep(&ms, NULL);
    }
    assert_int_equal(atomic_load(&dry.done), 1);
    assert_int_equal(it.outcome, BULK_CREATED);
    struct invite got;
    assert_int_equal(store_invite_get(f->s, f->site.id, it.invite.id, &got), SI_ENOTFOUND);
    invite_cleanup(&it.invite);
}

/* Changes through store_invite_change_async, queued among bulk calls: each gets its own
 * result (found or not, refused by its rule or written), out is filled only when written, and
 * a change between two bulk calls sees the first and is seen by the second (seat counts). */
static void wait_done(struct async_count *c, int n)
{
    for (int waited = 0; atomic_load(&c->done) < n && waited < 10000; waited++) {
        struct timespec ms = {.tv_sec = 0, .tv_nsec = 1000000};
        nanosleep(&ms, NULL);
    }
    assert_int_equal(atomic_load(&c->done), n);
}

struct change_result {
    struct async_count *count;
    enum si_err rc;
};

static void change_done(void *ctx, enum si_err rc)
{
    struct change_result *r = ctx;
    r->rc = rc;
    count_done(r->count, rc);
}

static void test_change_async(void **state)
{
    struct fx *f = *state;
    char a[SI_ID_LEN], b[SI_ID_LEN], gone[SI_ID_LEN];
    fx_create(f, "a@example.com", NOW - HOUR, NOW + DAY, P_ADMIN, a);
    fx_create(f, "b@example.com", NOW - HOUR, NOW + DAY, P_ADMIN, b);
    fx_id(gone);
    struct async_count count = {0};
    struct change_result r[5];
    for (int i = 0; i < 5; i++)
        r[i] = (struct change_result){.count = &count, .rc = SI_EINVAL};
    struct bulk_item first, second;
    fx_invite(&first.invite, f, "c@example.com", NOW, NOW + DAY, P_ADMIN);
    fx_invite(&second.invite, f, "d@example.com", NOW, NOW + DAY, P_ADMIN);
    struct bulk_request b1 = {
        .site_id = f->site.id, .contributor_limit = 3, .now = NOW, .items = &first, .n = 1};
    struct bulk_request b2 = b1;
    b2.items = &second;
    struct fx_change write = {.write = true, .staff_id = "staff-9", .effect = OUTBOX_ENQUEUE};
    struct fx_change refuse = {.ret = SI_ESTATE, .write = true, .staff_id = "never"};
    struct fx_change revoke = {
        .write = true, .set_status = true, .status = INVITE_DELETED, .effect = OUTBOX_CANCEL};
    struct invite out_a = {.purpose = NULL}, out_refused = {.purpose = NULL};

    store_invites_bulk_async(f->s, &b1, change_done, &r[0]); /* takes the 3rd of 3 seats */
    store_invite_change_async(f->s, f->site.id, a, NOW, NULL, fx_change_fn, &write, &out_a,
                              change_done, &r[1]);
    store_invite_change_async(f->s, f->site.id, gone, NOW, NULL, fx_change_fn, &write, NULL,
                              change_done, &r[2]);
    store_invite_change_async(f->s, f->site.id, b, NOW, NULL, fx_change_fn, &refuse, &out_refused,
                              change_done, &r[3]);
    store_invite_change_async(f->s, f->site.id, b, NOW, NULL, fx_change_fn, &revoke, NULL,
                              change_done, &r[4]); /* frees b's seat for the second bulk call */
    wait_done(&count, 5);
    assert_int_equal(r[0].rc, SI_OK);
    assert_int_equal(first.outcome, BULK_CREATED);
    assert_int_equal(r[1].rc, SI_OK);
    assert_string_equal(out_a.staff_id, "staff-9");
    assert_int_equal(r[2].rc, SI_ENOTFOUND);
    assert_int_equal(r[3].rc, SI_ESTATE);
    assert_null(out_refused.purpose); /* not filled: nothing was written */
    assert_int_equal(r[4].rc, SI_OK);

    struct async_count count2 = {0};
    struct change_result last = {.count = &count2, .rc = SI_EINVAL};
    store_invites_bulk_async(f->s, &b2, change_done, &last);
    wait_done(&count2, 1);
    assert_int_equal(last.rc, SI_OK);
    assert_int_equal(second.outcome, BULK_CREATED); /* the seat b's revoke freed */
    struct invite got;
    assert_int_equal(store_invite_get(f->s, f->site.id, b, &got), SI_OK);
    assert_int_equal(got.status, INVITE_DELETED);
    assert_string_equal(got.staff_id, ""); /* the refused change wrote nothing */
    invite_cleanup(&got);
    invite_cleanup(&out_a);
    invite_cleanup(&first.invite);
    invite_cleanup(&second.invite);
}

static void test_concurrent_writers(void **state)
{
    struct fx *f = *state;
    pthread_t t[POOL_THREADS];
    struct racer r[POOL_THREADS] = {0};
    for (int i = 0; i < POOL_THREADS; i++) {
        r[i].f = f;
        assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
    }
    int created = 0, refused = 0;
    for (int i = 0; i < POOL_THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(r[i].errors, 0);
        created += r[i].created;
        refused += r[i].refused;
    }
    assert_int_equal(created, POOL_LIMIT);
    assert_int_equal(refused, POOL_THREADS * POOL_PER_THREAD - POOL_LIMIT);
    int64_t used = 0;
    assert_int_equal(store_seats_used(f->s, f->site.id, NOW, &used), SI_OK);
    assert_int_equal(used, POOL_LIMIT);
}

/* Every entry q finds, paged q.limit at a time and copied to out (changes strdup'ed: free them
 * with audit_entry_cleanup): a page never holds more than its limit. */
static size_t audit_all(struct fx *f, struct audit_query q, struct audit_entry *out, size_t max)
{
    size_t n = 0;
    for (bool more = true; more;) {
        struct audit_page p;
        assert_int_equal(store_audit_list(f->s, &q, &p), SI_OK);
        assert_true(p.n <= (size_t)q.limit);
        for (size_t i = 0; i < p.n; i++) {
            assert_true(n < max);
            out[n] = p.items[i];
            out[n++].changes = strdup(p.items[i].changes);
        }
        more = p.has_next;
        if (more) {
            q.has_after = true;
            q.after_time = p.items[p.n - 1].time;
            q.after_id = p.items[p.n - 1].id;
        }
        audit_page_cleanup(&p);
    }
    return n;
}

/* The site's audit log as the store pages it, every entry of it: their actions in order. */
static size_t audit_actions(struct fx *f, enum audit_action *out, size_t max)
{
    struct audit_query q = {.site_id = f->site.id, .account_id = f->acct.id, .limit = 2};
    struct audit_entry e[16];
    assert_true(max <= 16);
    size_t n = audit_all(f, q, e, max);
    for (size_t i = 0; i < n; i++) {
        out[i] = e[i].action;
        audit_entry_cleanup(&e[i]);
    }
    return n;
}

/* Entries are written with the change they record, in its transaction: a dry run, a refused
 * change and a change that writes nothing leave none; every written change leaves one. */
static void test_audit_in_transactions(void **state)
{
    struct fx *f = *state;
    enum audit_action got[16];
    assert_int_equal(audit_actions(f, got, 16), 1);
    assert_int_equal(got[0], AUDIT_SITE_CREATED); /* fx_setup's site, by the admin */
    struct bulk_item it[2];
    fx_invite(&it[0].invite, f, "a@example.com", NOW, NOW + DAY, P_ADMIN);
    fx_invite(&it[1].invite, f, "b@example.com", NOW, NOW + DAY, P_ADMIN);
    assert_int_equal(fx_bulk(f, it, 2, NOW, 100, true), SI_OK); /* dry run */
    assert_int_equal(audit_actions(f, got, 16), 1);
    assert_int_equal(fx_bulk(f, it, 2, NOW, 100, false), SI_OK);
    assert_int_equal(audit_actions(f, got, 16), 3);
    assert_int_equal(got[1], AUDIT_INVITE_CREATED);
    assert_int_equal(got[2], AUDIT_INVITE_CREATED);

    struct fx_change refuse = {.ret = SI_ESTATE, .write = true, .staff_id = "x"};
    assert_int_equal(store_invite_change(f->s, f->site.id, it[0].invite.id, NOW, NULL, fx_change_fn,
                                         &refuse, NULL),
                     SI_ESTATE);
    struct fx_change idle = {.write = false};
    assert_int_equal(store_invite_change(f->s, f->site.id, it[0].invite.id, NOW, NULL, fx_change_fn,
                                         &idle, NULL),
                     SI_OK);
    assert_int_equal(audit_actions(f, got, 16), 3);
    fx_set_status(f, it[0].invite.id, INVITE_DELETED, OUTBOX_CANCEL);
    assert_int_equal(audit_actions(f, got, 16), 4);
    assert_int_equal(got[3], AUDIT_INVITE_REVOKED);

    /* The expiry sweep: one entry per invite it stores Expired. */
    int64_t n = 0;
    assert_int_equal(store_invites_expire(f->s, NOW + 2 * DAY, 100, &n), SI_OK);
    assert_int_equal(n, 1);
    assert_int_equal(audit_actions(f, got, 16), 5);
    assert_int_equal(got[4], AUDIT_INVITE_EXPIRED);

    /* A filter keeps only its action; another site's log does not see these. */
    struct audit_query q = {.site_id = f->site.id,
                            .account_id = f->acct.id,
                            .has_action = true,
                            .action = AUDIT_INVITE_CREATED,
                            .limit = 10};
    struct audit_page p;
    assert_int_equal(store_audit_list(f->s, &q, &p), SI_OK);
    assert_int_equal(p.n, 2);
    assert_false(p.has_next);
    assert_int_equal(p.items[0].actor.type, AUDIT_ACTOR_SYSTEM); /* no actor given */
    assert_string_equal(p.items[0].target_id, it[0].invite.id);
    audit_page_cleanup(&p);
    struct site other;
    fx_site(f, f->acct.id, &other, 10);
    q.site_id = other.id;
    assert_int_equal(store_audit_list(f->s, &q, &p), SI_OK);
    assert_int_equal(p.n, 0);
    audit_page_cleanup(&p);
    fx_items_cleanup(it, 2);
}

/* All of the site's invite.created entries, paged limit at a time: out gets them in order. */
static size_t created_entries(struct fx *f, int limit, struct audit_entry *out, size_t max)
{
    struct audit_query q = {.site_id = f->site.id,
                            .account_id = f->acct.id,
                            .has_action = true,
                            .action = AUDIT_INVITE_CREATED,
                            .limit = limit};
    return audit_all(f, q, out, max);
}

/* A bulk call's invite.created entries are one batch row (store/audit_sql.h): read back they
 * are one entry per created invite, in item order, with increasing ids below those written
 * after; pages of any size and cursors inside the row give every entry once. */
static void test_audit_batch_rows(void **state)
{
    struct fx *f = *state;
    enum { N = 7 };
    struct bulk_item it[N];
    char email[64];
    char known[SI_ID_LEN];
    fx_create(f, "known@example.com", NOW - 1, NOW + DAY, P_ADMIN, known); /* one entry alone */
    for (int i = 0; i < N; i++) {
        snprintf(email, sizeof email, i == 3 ? "known@example.com" : "b%d@example.com", i);
        fx_invite(&it[i].invite, f, email, NOW, NOW + DAY, P_ADMIN);
    }
    assert_int_equal(fx_bulk(f, it, N, NOW, 100, false), SI_OK);
    assert_int_equal(it[3].outcome, BULK_EXISTING); /* no entry: nothing was created */
    fx_set_status(f, it[0].invite.id, INVITE_DELETED, OUTBOX_CANCEL); /* written after */

    struct audit_entry every[16], paged[16];
    size_t n = created_entries(f, 100, every, 16);
    assert_int_equal(n, 1 + N - 1);
    for (size_t k = 1, i = 0; k < n; k++, i++) {
        i += i == 3; /* the existing address made none */
        assert_string_equal(every[k].target_id, it[i].invite.id);
        assert_int_equal(every[k].time, NOW);
        assert_true(every[k].id > every[k - 1].id);
        assert_non_null(strstr(every[k].changes, it[i].invite.email));
        assert_int_equal(every[k].changes[0], '{');
    }
    for (int limit = 1; limit <= 4; limit++) {
        size_t m = created_entries(f, limit, paged, 16);
        assert_int_equal(m, n);
        for (size_t k = 0; k < m; k++) {
            assert_int_equal(paged[k].id, every[k].id);
            assert_string_equal(paged[k].target_id, every[k].target_id);
            assert_string_equal(paged[k].changes, every[k].changes);
            audit_entry_cleanup(&paged[k]);
        }
    }
    /* The revoke, written after the batch, comes after all of its ids. */
    struct audit_query q = {.site_id = f->site.id,
                            .account_id = f->acct.id,
                            .has_action = true,
                            .action = AUDIT_INVITE_REVOKED,
                            .limit = 10};
    struct audit_page p;
    assert_int_equal(store_audit_list(f->s, &q, &p), SI_OK);
    assert_int_equal(p.n, 1);
    assert_true(p.items[0].id > every[n - 1].id);
    audit_page_cleanup(&p);
    for (size_t k = 0; k < n; k++)
        audit_entry_cleanup(&every[k]);
    fx_items_cleanup(it, N);
}

/* Pending invites past their expiry are found by one expiry range over every site (SQLite's
 * invites_status_expires_site, PostgreSQL's invites_site_pending): another site's overdue rows
 * never free this site's seats, count in its totals or show in its status sort, and another
 * site's bulk call never stores this site's rows Expired. */
static void test_overdue_rows_stay_in_their_site(void **state)
{
    struct fx *f = *state;
    struct site mine = f->site, other;
    fx_site(f, f->acct.id, &other, 100);
    char late[SI_ID_LEN], live[SI_ID_LEN], theirs[2][SI_ID_LEN];
    fx_create(f, "late@example.com", NOW, NOW + HOUR, P_ADMIN, late);
    fx_create(f, "live@example.com", NOW, NOW + DAY, P_ADMIN, live);
    f->site = other;
    fx_create(f, "b1@example.com", NOW, NOW + HOUR, P_ADMIN, theirs[0]);
    fx_create(f, "b2@example.com", NOW, NOW + HOUR, P_ADMIN, theirs[1]);
    f->site = mine;

    si_ms at = NOW + 2 * HOUR; /* both sites have overdue rows, still stored Pending */
    int64_t used = -1;
    assert_int_equal(store_seats_used(f->s, mine.id, at, &used), SI_OK);
    assert_int_equal(used, 1);
    assert_int_equal(store_seats_used(f->s, other.id, at, &used), SI_OK);
    assert_int_equal(used, 0);
    int64_t counts[SITE_COUNTS_LEN] = {0};
    assert_int_equal(store_site_counts(f->s, mine.id, at, counts), SI_OK);
    assert_int_equal(counts[INVITE_PENDING], 1);
    assert_int_equal(counts[INVITE_EXPIRED], 1);

    struct invite_query q = {.sort = SORT_STATUS, .limit = 10};
    struct invite_page page = {0};
    assert_int_equal(store_invites_query(f->s, mine.id, &q, at, &page), SI_OK);
    assert_int_equal(page.n, 2); /* Expired sorts before Pending */
    assert_string_equal(page.items[0].id, late);
    assert_string_equal(page.items[1].id, live);
    invite_page_cleanup(&page);

    /* A bulk call in the other site (SQLite's stores that site's overdue rows Expired; the
     * PostgreSQL store leaves them to the periodic sweep) leaves mine as they were. */
    f->site = other;
    char fresh[SI_ID_LEN];
    fx_create(f, "b3@example.com", at, at + DAY, P_ADMIN, fresh);
    f->site = mine;
    struct invite got;
    assert_int_equal(store_invite_get(f->s, mine.id, late, &got), SI_OK);
    assert_int_equal(got.status, INVITE_PENDING); /* stored; readers see it Expired */
    invite_cleanup(&got);
    assert_int_equal(store_seats_used(f->s, mine.id, at, &used), SI_OK);
    assert_int_equal(used, 1);
    assert_int_equal(store_seats_used(f->s, other.id, at, &used), SI_OK);
    assert_int_equal(used, 1); /* b3 */
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrate_twice),
        cmocka_unit_test(test_open_bad_urls),
        T(test_accounts_and_sites),
        T(test_keys),
        T(test_key_site_lookup),
        T(test_keys_used),
        T(test_roles),
        T(test_bulk_created),
        T(test_bulk_existing),
        T(test_bulk_contributor_and_limit),
        T(test_overdue_rows_stay_in_their_site),
        T(test_bulk_large_mixed),
        T(test_bulk_dry_run),
        T(test_bulk_all_or_nothing),
        T(test_bulk_unknown_site),
        T(test_bulk_thousand),
        T(test_bulk_rows_in_item_order),
        T(test_get_scoped_and_by_link),
        T(test_change),
        T(test_concurrent_writers),
        T(test_bulk_async),
        T(test_change_async),
        T(test_audit_in_transactions),
        T(test_audit_batch_rows),
    };
    return fx_main(tests, sizeof tests / sizeof tests[0], "store");
}
