/* Store contract: answering an invite by its accept link (accept, decline, single use, expiry),
 * the contributors of a site, and the expiry sweep. */
#include "store_suite.h"

/* Makes an invite and returns what its accept link names (and its ID). */
static void make(struct fx *f, const char *email, si_ms expires, struct token_ref *link,
                 char id[SI_ID_LEN])
{
    char got[SI_ID_LEN];
    fx_create(f, email, NOW - HOUR, expires, P_ADMIN "," P_DESIGNER, got);
    struct invite inv;
    assert_int_equal(store_invite_get(f->s, f->site.id, got, &inv), SI_OK);
    token_ref_of_invite(&inv, link);
    if (id)
        memcpy(id, got, SI_ID_LEN);
    invite_cleanup(&inv);
}

static enum si_err answer(struct fx *f, const struct token_ref *link, enum invitee_choice choice,
                          si_ms now, struct invitee_answer *a)
{
    memset(a, 0, sizeof *a);
    a->choice = choice;
    a->now = now;
    fx_id(a->new_account.id);
    a->new_account.created = now;
    fx_id(a->contributor_id);
    return store_invite_answer(f->s, link, a);
}

static int64_t seats(struct fx *f)
{
    int64_t used = -1;
    assert_int_equal(store_seats_used(f->s, f->site.id, NOW, &used), SI_OK);
    return used;
}

static void accept_makes_account_and_contributor(void **state)
{
    struct fx *f = *state;
    struct token_ref salt;
    make(f, "Zoe@example.com", NOW + DAY, &salt, NULL);
    assert_int_equal(seats(f), 1);
    struct invitee_answer a;
    assert_int_equal(answer(f, &salt, INVITEE_ACCEPT, NOW, &a), SI_OK);
    assert_true(a.account_created);
    assert_int_equal(a.invite.status, INVITE_USED);
    assert_string_equal(a.invite.accepted_by_account_id, a.new_account.id);
    assert_string_equal(a.contributor.account_id, a.new_account.id);
    assert_string_equal(a.contributor.email, "Zoe@example.com");
    assert_int_equal(a.contributor.policies.n, 2);
    assert_string_equal(a.contributor.policies.ids[1], P_DESIGNER);
    struct account acct;
    assert_int_equal(store_account_get(f->s, a.new_account.id, &acct), SI_OK);
    assert_string_equal(acct.email, "Zoe@example.com");
    assert_int_equal(seats(f), 1); /* the seat moved from pending to contributor */
    invite_cleanup(&a.invite);
    /* Single use: a second accept or a decline finds it Used and writes nothing. */
    assert_int_equal(answer(f, &salt, INVITEE_ACCEPT, NOW, &a), SI_ESTATE);
    assert_int_equal(a.invite.status, INVITE_USED);
    invite_cleanup(&a.invite);
    assert_int_equal(answer(f, &salt, INVITEE_DECLINE, NOW, &a), SI_ESTATE);
    invite_cleanup(&a.invite);
    struct contributor_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(store_contributors_list(f->s, f->site.id, 100, &rows, &n), SI_OK);
    assert_int_equal(n, 1);
    free(rows);
}

static void accept_finds_existing_account_by_email(void **state)
{
    struct fx *f = *state;
    struct token_ref salt;
    struct account existing;
    fx_account(f, &existing, "ben"); /* ben@owner.test */
    make(f, "BEN@owner.test", NOW + DAY, &salt, NULL);
    struct invitee_answer a;
    assert_int_equal(answer(f, &salt, INVITEE_ACCEPT, NOW, &a), SI_OK);
    assert_false(a.account_created);
    assert_string_equal(a.contributor.account_id, existing.id);
    invite_cleanup(&a.invite);
    /* The same account invited again (through a second address spelling is impossible, so via a
     * verified email): already a contributor, nothing written. */
    struct token_ref salt2;
    char id2[SI_ID_LEN];
    make(f, "other@example.com", NOW + DAY, &salt2, id2);
    memset(&a, 0, sizeof a);
    a.choice = INVITEE_ACCEPT;
    a.now = NOW;
    a.email = "ben@owner.test";
    a.email_key = "ben@owner.test";
    fx_id(a.new_account.id);
    fx_id(a.contributor_id);
    assert_int_equal(store_invite_answer(f->s, &salt2, &a), SI_EEXIST);
    invite_cleanup(&a.invite);
    struct invite inv;
    assert_int_equal(store_invite_get(f->s, f->site.id, id2, &inv), SI_OK);
    assert_int_equal(inv.status, INVITE_PENDING);
    invite_cleanup(&inv);
}

static void decline_expired_unknown(void **state)
{
    struct fx *f = *state;
    struct token_ref salt, old, none = {.kind = TOKEN_BY_ID};
    make(f, "dee@example.com", NOW + DAY, &salt, NULL);
    make(f, "old@example.com", NOW, &old, NULL); /* expires exactly now: expired */
    struct invitee_answer a;
    assert_int_equal(answer(f, &salt, INVITEE_DECLINE, NOW, &a), SI_OK);
    assert_int_equal(a.invite.status, INVITE_DECLINED);
    assert_string_equal(a.invite.accepted_by_account_id, "");
    invite_cleanup(&a.invite);
    assert_int_equal(answer(f, &old, INVITEE_ACCEPT, NOW, &a), SI_ESTATE);
    invite_cleanup(&a.invite);
    assert_int_equal(answer(f, &none, INVITEE_ACCEPT, NOW, &a), SI_ENOTFOUND);
    assert_int_equal(seats(f), 0);
}

static void contributors_change_and_remove(void **state)
{
    struct fx *f = *state;
    struct token_ref salt;
    make(f, "cy@example.com", NOW + DAY, &salt, NULL);
    struct invitee_answer a;
    assert_int_equal(answer(f, &salt, INVITEE_ACCEPT, NOW, &a), SI_OK);
    invite_cleanup(&a.invite);
    struct policy_list p = {.n = 1};
    snprintf(p.ids[0], sizeof p.ids[0], "%s", P_MANAGER);
    struct contributor_row row;
    assert_int_equal(store_contributor_set_roles(f->s, f->site.id, a.contributor.account_id, &p,
                                                 NOW, NULL, NULL, &row),
                     SI_OK);
    assert_int_equal(row.policies.n, 1);
    assert_string_equal(row.policies.ids[0], P_MANAGER);
    struct site other;
    fx_site(f, f->acct.id, &other, 10);
    assert_int_equal(
        store_contributor_remove(f->s, other.id, a.contributor.account_id, NOW, NULL, NULL),
        SI_ENOTFOUND);
    assert_int_equal(seats(f), 1);
    assert_int_equal(
        store_contributor_remove(f->s, f->site.id, a.contributor.account_id, NOW, NULL, NULL),
        SI_OK);
    assert_int_equal(seats(f), 0);
    assert_int_equal(
        store_contributor_remove(f->s, f->site.id, a.contributor.account_id, NOW, NULL, NULL),
        SI_ENOTFOUND);
    assert_int_equal(store_contributor_set_roles(f->s, f->site.id, a.contributor.account_id, &p,
                                                 NOW, NULL, NULL, NULL),
                     SI_ENOTFOUND);
}

static void sweep_stores_expired(void **state)
{
    struct fx *f = *state;
    struct token_ref salt;
    char gone[SI_ID_LEN], live[SI_ID_LEN];
    make(f, "a@example.com", NOW - 1, &salt, gone);
    make(f, "b@example.com", NOW + DAY, &salt, live);
    int64_t n = -1;
    assert_int_equal(store_invites_expire(f->s, NOW, 1000, &n), SI_OK);
    assert_int_equal(n, 1);
    struct invite inv;
    assert_int_equal(store_invite_get(f->s, f->site.id, gone, &inv), SI_OK);
    assert_int_equal(inv.status, INVITE_EXPIRED); /* stored, not just read lazily */
    assert_int_equal(inv.updated, NOW);
    invite_cleanup(&inv);
    assert_int_equal(store_invite_get(f->s, f->site.id, live, &inv), SI_OK);
    assert_int_equal(inv.status, INVITE_PENDING);
    invite_cleanup(&inv);
    assert_int_equal(store_invites_expire(f->s, NOW, 1000, &n), SI_OK);
    assert_int_equal(n, 0);
    assert_int_equal(seats(f), 1);
}

/* locationIds: stored with an invite, copied to the contributor with the invited address on
 * accept, replaced by Change Locations; and the sites of an account. */
static void locations_and_account_sites(void **state)
{
    struct fx *f = *state;
    struct bulk_item it;
    fx_invite(&it.invite, f, "Lu@example.com", NOW - HOUR, NOW + DAY, P_ADMIN);
    struct policy_list *l = &it.invite.locations;
    fx_id(l->ids[l->n++]);
    fx_id(l->ids[l->n++]);
    assert_int_equal(fx_bulk(f, &it, 1, NOW - HOUR, 1000, false), SI_OK);
    struct invite inv;
    assert_int_equal(store_invite_get(f->s, f->site.id, it.invite.id, &inv), SI_OK);
    assert_int_equal(inv.locations.n, 2);
    assert_string_equal(inv.locations.ids[1], l->ids[1]);
    struct invitee_answer a;
    struct token_ref link;
    token_ref_of_invite(&inv, &link);
    assert_int_equal(answer(f, &link, INVITEE_ACCEPT, NOW, &a), SI_OK);
    invite_cleanup(&inv);
    invite_cleanup(&a.invite);
    struct contributor_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(store_contributors_list(f->s, f->site.id, 100, &rows, &n), SI_OK);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].locations.n, 2);
    assert_string_equal(rows[0].locations.ids[0], l->ids[0]);
    assert_string_equal(rows[0].invited_email, "Lu@example.com");
    free(rows);
    struct policy_list one = {.n = 1};
    fx_id(one.ids[0]);
    struct contributor_row row;
    const char *acct = a.contributor.account_id;
    assert_int_equal(store_contributor_set_locations(f->s, f->site.id, acct, &one, NOW, NULL, &row),
                     SI_OK);
    assert_int_equal(row.locations.n, 1);
    assert_string_equal(row.locations.ids[0], one.ids[0]);
    assert_int_equal(row.policies.n, 1); /* the roles stay */
    struct site other;
    fx_site(f, f->acct.id, &other, 10);
    assert_int_equal(store_contributor_set_locations(f->s, other.id, acct, &one, NOW, NULL, NULL),
                     SI_ENOTFOUND);
    struct site *sites = NULL;
    assert_int_equal(store_account_sites(f->s, f->acct.id, 100, &sites, &n), SI_OK);
    assert_int_equal(n, 2);
    assert_true(strcmp(sites[0].id, other.id) == 0 || strcmp(sites[1].id, other.id) == 0);
    assert_string_equal(sites[0].account_id, f->acct.id);
    sites_free(sites, n);
    char nobody[SI_ID_LEN];
    fx_id(nobody);
    assert_int_equal(store_account_sites(f->s, nobody, 100, &sites, &n), SI_OK);
    assert_int_equal(n, 0);
    sites_free(sites, n);
    invite_cleanup(&it.invite);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(accept_makes_account_and_contributor),
        T(accept_finds_existing_account_by_email),
        T(decline_expired_unknown),
        T(contributors_change_and_remove),
        T(sweep_stores_expired),
        T(locations_and_account_sites),
    };
    return fx_main(tests, sizeof tests / sizeof tests[0], "store_contributors");
}
