/* The per-address rule of Bulk Invite: every combination of facts, and the seat count. */
#include "core/bulk_plan.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define SITE "site-1"

/* A new invite as the API prepares it: everything but the site and the delivery. */
static struct bulk_item new_item(const char *email)
{
    struct bulk_item it;
    memset(&it, 0, sizeof it);
    snprintf(it.invite.id, sizeof it.invite.id, "%s", "inv-1");
    snprintf(it.invite.email, sizeof it.invite.email, "%s", email);
    snprintf(it.invite.email_key, sizeof it.invite.email_key, "%s", email);
    it.invite.status = INVITE_PENDING;
    it.outcome = BULK_LIMIT_REACHED; /* anything but the expected outcome */
    return it;
}

static void test_new_address_is_created(void **state)
{
    (void)state;
    struct bulk_item it = new_item("a@example.com");
    struct bulk_facts f = {.pending = false, .contributor = false};
    struct bulk_seats seats = {.used = 3, .limit = 10};
    assert_int_equal(bulk_plan_item(&it, &f, &seats, SITE), BULK_CREATED);
    assert_int_equal(it.outcome, BULK_CREATED);
    assert_int_equal(seats.used, 4);
    assert_string_equal(it.invite.site_id, SITE);
    assert_int_equal(it.invite.delivery.status, DELIVERY_QUEUED);
    assert_string_equal(it.invite.email, "a@example.com");
}

static void test_pending_wins_over_everything(void **state)
{
    (void)state;
    /* A pending invite is handed back even for a contributor's address and a full site. */
    for (int contributor = 0; contributor < 2; contributor++) {
        for (int64_t used = 9; used <= 11; used++) {
            struct bulk_item it = new_item("a@example.com");
            struct bulk_facts f = {.pending = true, .contributor = contributor};
            struct bulk_seats seats = {.used = used, .limit = 10};
            assert_int_equal(bulk_plan_item(&it, &f, &seats, SITE), BULK_EXISTING);
            assert_int_equal(seats.used, used);
            assert_string_equal(it.invite.site_id, ""); /* the store hands back the stored row */
        }
    }
}

static void test_contributor_before_limit(void **state)
{
    (void)state;
    for (int64_t used = 0; used <= 11; used += 11) {
        struct bulk_item it = new_item("a@example.com");
        struct bulk_facts f = {.pending = false, .contributor = true};
        struct bulk_seats seats = {.used = used, .limit = 10};
        assert_int_equal(bulk_plan_item(&it, &f, &seats, SITE), BULK_ALREADY_CONTRIBUTOR);
        assert_int_equal(seats.used, used);
    }
}

static void test_limit_reached(void **state)
{
    (void)state;
    struct bulk_item it = new_item("a@example.com");
    struct bulk_facts f = {.pending = false, .contributor = false};
    struct bulk_seats seats = {.used = 10, .limit = 10};
    assert_int_equal(bulk_plan_item(&it, &f, &seats, SITE), BULK_LIMIT_REACHED);
    assert_int_equal(seats.used, 10);
    seats.used = 12; /* over the limit (a lowered limit): still refused, never negative */
    assert_int_equal(bulk_plan_item(&it, &f, &seats, SITE), BULK_LIMIT_REACHED);
    struct bulk_seats none = {.used = 0, .limit = 0};
    assert_int_equal(bulk_plan_item(&it, &f, &none, SITE), BULK_LIMIT_REACHED);
}

/* A call of five new addresses with two seats left: the first two are created, in order. */
static void test_seats_run_out_within_a_call(void **state)
{
    (void)state;
    struct bulk_seats seats = {.used = 98, .limit = 100};
    struct bulk_facts f = {.pending = false, .contributor = false};
    enum bulk_outcome want[] = {BULK_CREATED, BULK_CREATED, BULK_LIMIT_REACHED, BULK_LIMIT_REACHED,
                                BULK_LIMIT_REACHED};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        struct bulk_item it = new_item("x@example.com");
        assert_int_equal(bulk_plan_item(&it, &f, &seats, SITE), want[i]);
    }
    assert_int_equal(seats.used, 100);
}

/* An address repeated within a call: the store reports the first item's new invite as pending
 * for the second, which is then handed back without a seat. */
static void test_repeat_within_a_call(void **state)
{
    (void)state;
    struct bulk_seats seats = {.used = 0, .limit = 1};
    struct bulk_item first = new_item("a@example.com");
    struct bulk_item second = new_item("a@example.com");
    struct bulk_facts fresh = {.pending = false, .contributor = false};
    struct bulk_facts repeat = {.pending = true, .contributor = false};
    assert_int_equal(bulk_plan_item(&first, &fresh, &seats, SITE), BULK_CREATED);
    assert_int_equal(bulk_plan_item(&second, &repeat, &seats, SITE), BULK_EXISTING);
    assert_int_equal(seats.used, 1);
}

static void test_long_site_id_is_cut(void **state)
{
    (void)state;
    char site[SI_ID_LEN + 10];
    memset(site, 's', sizeof site - 1);
    site[sizeof site - 1] = '\0';
    struct bulk_item it = new_item("a@example.com");
    struct bulk_facts f = {.pending = false, .contributor = false};
    struct bulk_seats seats = {.used = 0, .limit = 1};
    assert_int_equal(bulk_plan_item(&it, &f, &seats, site), BULK_CREATED);
    assert_int_equal(strlen(it.invite.site_id), sizeof it.invite.site_id - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_address_is_created),
        cmocka_unit_test(test_pending_wins_over_everything),
        cmocka_unit_test(test_contributor_before_limit),
        cmocka_unit_test(test_limit_reached),
        cmocka_unit_test(test_seats_run_out_within_a_call),
        cmocka_unit_test(test_repeat_within_a_call),
        cmocka_unit_test(test_long_site_id_is_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
