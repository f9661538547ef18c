/* The invitee's answer: which invites may be answered at a fixed time, which account joins, the
 * contributor row and the row change, for accept and decline. */
#include "core/answer.h"

#include "fakes.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define HOUR ((si_ms)3600000)

/* A Pending invite expiring in a day, as a store loads it. */
static void load_invite(struct invite *v)
{
    memset(v, 0, sizeof *v);
    snprintf(v->id, sizeof v->id, "%s", "inv-1");
    snprintf(v->site_id, sizeof v->site_id, "%s", "site-1");
    snprintf(v->email, sizeof v->email, "%s", "Ann@example.com");
    snprintf(v->email_key, sizeof v->email_key, "%s", "ann@example.com");
    v->policies.n = 2;
    snprintf(v->policies.ids[0], sizeof v->policies.ids[0], "%s", "role-a");
    snprintf(v->policies.ids[1], sizeof v->policies.ids[1], "%s", "role-b");
    v->locations.n = 1;
    snprintf(v->locations.ids[0], sizeof v->locations.ids[0], "%s", "loc-1");
    v->status = INVITE_PENDING;
    v->created = FAKE_NOW - HOUR;
    v->expires = FAKE_NOW + 24 * HOUR;
}

static void new_answer(struct invitee_answer *a, enum invitee_choice choice)
{
    memset(a, 0, sizeof *a);
    a->choice = choice;
    a->now = FAKE_NOW;
    snprintf(a->new_account.id, sizeof a->new_account.id, "%s", "acct-new");
    a->new_account.created = FAKE_NOW;
    snprintf(a->contributor_id, sizeof a->contributor_id, "%s", "ctb-1");
    load_invite(&a->invite);
}

static void test_only_pending_unexpired_is_answerable(void **state)
{
    (void)state;
    struct invitee_answer a;
    for (int choice = INVITEE_ACCEPT; choice <= INVITEE_DECLINE; choice++) {
        new_answer(&a, (enum invitee_choice)choice);
        assert_int_equal(answer_open(&a), SI_OK);
        enum invite_status refused[] = {INVITE_USED, INVITE_DELETED, INVITE_DECLINED,
                                        INVITE_EXPIRED};
        for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
            new_answer(&a, (enum invitee_choice)choice);
            a.invite.status = refused[i];
            assert_int_equal(answer_open(&a), SI_ESTATE);
        }
        /* Lazy expiry: stored Pending, but its expiry is now. */
        new_answer(&a, (enum invitee_choice)choice);
        a.invite.expires = FAKE_NOW;
        assert_int_equal(answer_open(&a), SI_ESTATE);
        a.invite.expires = FAKE_NOW + 1;
        assert_int_equal(answer_open(&a), SI_OK);
    }
}

static void test_invited_address_joins_by_default(void **state)
{
    (void)state;
    struct invitee_answer a;
    new_answer(&a, INVITEE_ACCEPT);
    assert_int_equal(answer_open(&a), SI_OK);
    assert_ptr_equal(a.email, a.invite.email);
    assert_ptr_equal(a.email_key, a.invite.email_key);
    assert_string_equal(a.new_account.email, "Ann@example.com");
    assert_string_equal(a.new_account.name, "Ann@example.com"); /* unnamed: the address */

    new_answer(&a, INVITEE_ACCEPT);
    snprintf(a.new_account.name, sizeof a.new_account.name, "%s", "Ann");
    assert_int_equal(answer_open(&a), SI_OK);
    assert_string_equal(a.new_account.name, "Ann");
}

static void test_passed_address_joins(void **state)
{
    (void)state;
    struct invitee_answer a;
    new_answer(&a, INVITEE_ACCEPT);
    a.email = "Bob@Example.com";
    a.email_key = "bob@example.com";
    snprintf(a.new_account.email, sizeof a.new_account.email, "%s", "Bob@Example.com");
    assert_int_equal(answer_open(&a), SI_OK);
    assert_string_equal(a.email, "Bob@Example.com");
    assert_string_equal(a.new_account.email, "Bob@Example.com");
    answer_join(&a, NULL);
    assert_string_equal(a.contributor.email, "Bob@Example.com");
    assert_string_equal(a.contributor.email_key, "bob@example.com");
    /* Wix's invitedEmail stays the invite's address. */
    assert_string_equal(a.contributor.invited_email, "Ann@example.com");
}

static void test_decline_leaves_addresses_alone(void **state)
{
    (void)state;
    struct invitee_answer a;
    new_answer(&a, INVITEE_DECLINE);
    assert_int_equal(answer_open(&a), SI_OK);
    assert_null(a.email);
    assert_string_equal(a.new_account.email, "");
    struct answer_write w;
    answer_write_plan(&a, &w);
    assert_int_equal(w.status, INVITE_DECLINED);
    assert_string_equal(w.accepted_by, "");
    assert_true(w.cancel_mail);
}

static void test_existing_account_joins(void **state)
{
    (void)state;
    struct invitee_answer a;
    new_answer(&a, INVITEE_ACCEPT);
    assert_int_equal(answer_open(&a), SI_OK);
    answer_join(&a, "acct-old");
    assert_false(a.account_created);
    const struct contributor_row *r = &a.contributor;
    assert_string_equal(r->account_id, "acct-old");
    assert_string_equal(r->id, "ctb-1");
    assert_string_equal(r->site_id, "site-1");
    assert_string_equal(r->email, "Ann@example.com");
    assert_string_equal(r->email_key, "ann@example.com");
    assert_int_equal(r->policies.n, 2);
    assert_string_equal(r->policies.ids[1], "role-b");
    assert_int_equal(r->joined, FAKE_NOW);
    assert_string_equal(r->invite_id, "inv-1");
    assert_string_equal(r->invited_email, "Ann@example.com");
    assert_int_equal(r->locations.n, 1); /* the invite's locations join with the roles */
    assert_string_equal(r->locations.ids[0], "loc-1");
    struct answer_write w;
    answer_write_plan(&a, &w);
    assert_int_equal(w.status, INVITE_USED);
    assert_string_equal(w.accepted_by, "acct-old");
    assert_true(w.cancel_mail);
}

static void test_new_account_is_made(void **state)
{
    (void)state;
    struct invitee_answer a;
    new_answer(&a, INVITEE_ACCEPT);
    assert_int_equal(answer_open(&a), SI_OK);
    answer_join(&a, NULL);
    assert_true(a.account_created);
    assert_string_equal(a.contributor.account_id, "acct-new");
    struct answer_write w;
    answer_write_plan(&a, &w);
    assert_int_equal(w.status, INVITE_USED);
    assert_string_equal(w.accepted_by, "acct-new");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_only_pending_unexpired_is_answerable),
        cmocka_unit_test(test_invited_address_joins_by_default),
        cmocka_unit_test(test_passed_address_joins),
        cmocka_unit_test(test_decline_leaves_addresses_alone),
        cmocka_unit_test(test_existing_account_joins),
        cmocka_unit_test(test_new_account_is_made),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
