/* The store contract suite, part three: the mail outbox (claim with lease, sent, failed with
 * retry or for good, counts) and what a claimed message carries. */
#include "store_suite.h"

#include "store/webhooks.h"

#define LEASE ((si_ms)60000)

/* Claims at time t and returns how many rows came back; msgs (may be NULL) receives them. */
static size_t claim(struct fx *f, si_ms t, struct outbox_msg **msgs)
{
    struct outbox_msg *m = NULL;
    size_t n = 99;
    assert_int_equal(store_outbox_claim(f->s, t, LEASE, 10, &m, &n), SI_OK);
    if (msgs)
        *msgs = m;
    else {
        for (size_t i = 0; i < n; i++)
            outbox_msg_cleanup(&m[i]);
        free(m);
    }
    return n;
}

static void free_msgs(struct outbox_msg *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        outbox_msg_cleanup(&m[i]);
    free(m);
}

static void test_claim_carries_message(void **state)
{
    struct fx *f = *state;
    char id[SI_ID_LEN];
    struct role r = {.title = "Copy Editor", .description = "words"};
    fx_id(r.id);
    assert_int_equal(store_role_create(f->s, f->acct.id, &r, NOW, NULL), SI_OK);
    char pols[128];
    snprintf(pols, sizeof pols, "%s,%s", P_ADMIN, r.id);
    fx_create(f, "Ann@example.com", NOW, NOW + DAY, pols, id);

    struct outbox_msg *m = NULL;
    assert_int_equal(claim(f, NOW, &m), 1);
    assert_true(m[0].id > 0);
    assert_int_equal(m[0].kind, OUTBOX_INVITE);
    assert_int_equal(m[0].attempts, 0);
    assert_int_equal(m[0].created, NOW);
    assert_string_equal(m[0].invite.id, id);
    assert_string_equal(m[0].invite.email, "Ann@example.com");
    assert_string_equal(m[0].invite.purpose, "Join us");
    assert_string_equal(m[0].site_name, f->site.name);
    assert_string_equal(m[0].site_language, "fr");
    assert_string_equal(m[0].inviter_name, "Ada");
    assert_string_equal(m[0].inviter_email, "Ada@owner.test");
    assert_string_equal(m[0].role_titles[0], "Admin (Co-Owner)");
    assert_string_equal(m[0].role_titles[1], "Copy Editor");
    free_msgs(m, 1);

    /* Leased: nobody else gets it until the lease runs out. */
    assert_int_equal(claim(f, NOW + 1000, NULL), 0);
    assert_int_equal(claim(f, NOW + LEASE, &m), 1);
    assert_int_equal(m[0].attempts, 0);
    free_msgs(m, 1);

    /* A resend queues a second email of kind resend. */
    struct fx_change x = {.write = true, .effect = OUTBOX_ENQUEUE};
    assert_int_equal(
        store_invite_change(f->s, f->site.id, id, NOW + 2 * LEASE, NULL, fx_change_fn, &x, NULL),
        SI_OK);
    assert_int_equal(claim(f, NOW + 3 * LEASE, &m), 2);
    assert_int_equal(m[0].kind, OUTBOX_INVITE); /* oldest due first */
    assert_int_equal(m[1].kind, OUTBOX_RESEND);
    assert_int_equal(m[1].created, NOW + 2 * LEASE);
    free_msgs(m, 2);
}

/* A claim hands its rows out oldest due first, whatever their IDs' order, each with its own
 * invite; one batch marks them all sent. */
static void test_claim_order_by_due(void **state)
{
    struct fx *f = *state;
    char id[3][SI_ID_LEN];
    fx_create(f, "a@example.com", NOW, NOW + DAY, P_ADMIN, id[0]);
    fx_create(f, "b@example.com", NOW, NOW + DAY, P_ADMIN, id[1]);
    fx_create(f, "c@example.com", NOW, NOW + DAY, P_ADMIN, id[2]);
    struct outbox_msg *m = NULL;
    assert_int_equal(claim(f, NOW, &m), 3);
    int64_t mid[3] = {m[0].id, m[1].id, m[2].id};
    assert_true(mid[0] < mid[1] && mid[1] < mid[2]);
    free_msgs(m, 3);
    /* Retries due in the reverse order of the IDs. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(
            store_outbox_failed(f->s, mid[i], NOW + 3000 - 1000 * i, "421 later", NULL, NOW),
            SI_OK);
    assert_int_equal(claim(f, NOW + 5000, &m), 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(m[i].id, mid[2 - i]);
        assert_string_equal(m[i].invite.id, id[2 - i]);
        assert_int_equal(m[i].attempts, 1);
    }
    free_msgs(m, 3);
    assert_int_equal(store_outbox_sent(f->s, mid, 3, NOW + 5001), SI_OK);
    struct outbox_counts oc;
    assert_int_equal(store_outbox_counts(f->s, &oc), SI_OK);
    assert_int_equal(oc.sent, 3);
    assert_int_equal(oc.queued, 0);
}

static void test_sent_failed_counts(void **state)
{
    struct fx *f = *state;
    char id[3][SI_ID_LEN];
    fx_create(f, "a@example.com", NOW, NOW + DAY, P_ADMIN, id[0]);
    fx_create(f, "b@example.com", NOW + 1, NOW + DAY, P_ADMIN, id[1]);
    fx_create(f, "c@example.com", NOW + 2, NOW + DAY, P_ADMIN, id[2]);
    struct outbox_msg *m = NULL;
    assert_int_equal(claim(f, NOW + 10, &m), 3);
    for (int i = 0; i < 3; i++)
        assert_string_equal(m[i].invite.id, id[i]);
    int64_t mid[3] = {m[0].id, m[1].id, m[2].id};
    free_msgs(m, 3);

    assert_int_equal(store_outbox_sent(f->s, &mid[0], 1, NOW + 20), SI_OK);
    assert_int_equal(store_outbox_failed(f->s, mid[1], NOW + 5000, "421 try later", NULL, NOW),
                     SI_OK);
    assert_int_equal(store_outbox_failed(f->s, mid[2], 0, "550 no such user", NULL, NOW), SI_OK);
    int64_t unknown = mid[2] + 100;
    assert_int_equal(store_outbox_sent(f->s, &unknown, 1, NOW), SI_ENOTFOUND);
    /* A batch of unknown IDs says so; an empty batch is nothing to do. */
    int64_t none[2] = {unknown, unknown + 1};
    assert_int_equal(store_outbox_sent(f->s, none, 2, NOW + 20), SI_ENOTFOUND);
    assert_int_equal(store_outbox_sent(f->s, none, 0, NOW + 20), SI_OK);
    assert_int_equal(store_outbox_failed(f->s, mid[2] + 100, 0, "x", NULL, NOW), SI_ENOTFOUND);

    struct outbox_counts oc;
    assert_int_equal(store_outbox_counts(f->s, &oc), SI_OK);
    assert_int_equal(oc.queued, 1);
    assert_int_equal(oc.sent, 1);
    assert_int_equal(oc.failed, 1);
    assert_int_equal(oc.cancelled, 0);
    assert_int_equal(oc.oldest_due, NOW + 5000);

    struct invite got;
    assert_int_equal(store_invite_get(f->s, f->site.id, id[0], &got), SI_OK);
    assert_int_equal(got.delivery.status, DELIVERY_SENT);
    assert_int_equal(got.delivery.attempts, 1);
    invite_cleanup(&got);
    assert_int_equal(store_invite_get(f->s, f->site.id, id[1], &got), SI_OK);
    assert_int_equal(got.delivery.status, DELIVERY_QUEUED);
    assert_int_equal(got.delivery.attempts, 1);
    assert_string_equal(got.delivery.last_error, "421 try later");
    invite_cleanup(&got);
    assert_int_equal(store_invite_get(f->s, f->site.id, id[2], &got), SI_OK);
    assert_int_equal(got.delivery.status, DELIVERY_FAILED);
    assert_string_equal(got.delivery.last_error, "550 no such user");
    invite_cleanup(&got);

    /* The retry is not due before its time; its lease was cleared by the failure. */
    assert_int_equal(claim(f, NOW + 4999, NULL), 0);
    assert_int_equal(claim(f, NOW + 5000, &m), 1);
    assert_int_equal(m[0].id, mid[1]);
    assert_int_equal(m[0].attempts, 1);
    free_msgs(m, 1);
    assert_int_equal(store_outbox_sent(f->s, &mid[1], 1, NOW + 5001), SI_OK);
    assert_int_equal(store_outbox_counts(f->s, &oc), SI_OK);
    assert_int_equal(oc.queued, 0);
    assert_int_equal(oc.sent, 2);
    assert_int_equal(oc.oldest_due, 0);
}

static void test_revoked_not_claimed(void **state)
{
    struct fx *f = *state;
    char id[2][SI_ID_LEN];
    fx_create(f, "a@example.com", NOW, NOW + DAY, P_ADMIN, id[0]);
    fx_create(f, "b@example.com", NOW, NOW + DAY, P_ADMIN, id[1]);
    /* Revoked with cancel: the row is cancelled. Deleted without cancel: still never sent. */
    fx_set_status(f, id[0], INVITE_DELETED, OUTBOX_CANCEL);
    fx_set_status(f, id[1], INVITE_DELETED, OUTBOX_KEEP);
    assert_int_equal(claim(f, NOW + DAY, NULL), 0);
    struct outbox_counts oc;
    assert_int_equal(store_outbox_counts(f->s, &oc), SI_OK);
    assert_int_equal(oc.cancelled, 1);
    assert_int_equal(oc.queued, 1);
}

static void test_cancel_while_in_flight(void **state)
{
    struct fx *f = *state;
    char id[SI_ID_LEN];
    fx_create(f, "a@example.com", NOW, NOW + DAY, P_ADMIN, id);
    struct outbox_msg *m = NULL;
    assert_int_equal(claim(f, NOW, &m), 1);
    int64_t mid = m[0].id;
    free_msgs(m, 1);
    fx_set_status(f, id, INVITE_DELETED, OUTBOX_CANCEL);
    /* A failure of the cancelled try must not bring it back to the queue. */
    assert_int_equal(store_outbox_failed(f->s, mid, NOW + 1000, "timeout", NULL, NOW), SI_OK);
    struct outbox_counts oc;
    assert_int_equal(store_outbox_counts(f->s, &oc), SI_OK);
    assert_int_equal(oc.queued, 0);
    assert_int_equal(oc.cancelled, 1);
    assert_int_equal(claim(f, NOW + DAY, NULL), 0);
}

static void test_claim_limits(void **state)
{
    struct fx *f = *state;
    char id[SI_ID_LEN], email[64];
    for (int i = 0; i < 12; i++) {
        snprintf(email, sizeof email, "u%d@example.com", i);
        fx_create(f, email, NOW + i, NOW + DAY, P_ADMIN, id);
    }
    struct outbox_msg *m = (struct outbox_msg *)1;
    size_t n = 7;
    assert_int_equal(store_outbox_claim(f->s, NOW + 100, LEASE, 0, &m, &n), SI_OK);
    assert_int_equal(n, 0);
    assert_null(m);
    assert_int_equal(claim(f, NOW + 100, &m), 10); /* claim() asks for at most 10 */
    for (size_t i = 1; i < 10; i++)
        assert_true(m[i - 1].created <= m[i].created);
    free_msgs(m, 10);
    assert_int_equal(claim(f, NOW + 100, NULL), 2);
}

/* Deliveries of invite.delivery_failed queued so far. */
static int64_t failed_events(struct fx *f)
{
    struct webhook_counts wc;
    assert_int_equal(store_webhook_counts(f->s, &wc), SI_OK);
    return wc.by_event[WH_INVITE_DELIVERY_FAILED][WH_OUT_QUEUED];
}

/* The give-up writes invite.delivery_failed in its own transaction: not for a retry, not for an
 * email cancelled while in flight, once for an email given up on. */
static void test_give_up_writes_delivery_failed(void **state)
{
    struct fx *f = *state;
    struct webhook_row w = {.events = WEBHOOK_EVENT_BIT(WH_INVITE_DELIVERY_FAILED),
                            .enabled = true,
                            .created = NOW,
                            .updated = NOW};
    fx_id(w.id);
    snprintf(w.site_id, sizeof w.site_id, "%s", f->site.id);
    snprintf(w.url, sizeof w.url, "https://hooks.example.com/in");
    snprintf(w.secret, sizeof w.secret, "sealed");
    assert_int_equal(store_webhook_create(f->s, &w, NULL), SI_OK);
    char id[2][SI_ID_LEN];
    fx_create(f, "a@example.com", NOW, NOW + DAY, P_ADMIN, id[0]);
    fx_create(f, "b@example.com", NOW + 1, NOW + DAY, P_ADMIN, id[1]);
    struct outbox_msg *m = NULL;
    assert_int_equal(claim(f, NOW + 10, &m), 2);
    struct invite shown = m[0].invite;
    shown.delivery.status = DELIVERY_FAILED;
    assert_int_equal(store_outbox_failed(f->s, m[0].id, NOW + 5000, "421", NULL, NOW), SI_OK);
    assert_int_equal(failed_events(f), 0);
    fx_set_status(f, id[1], INVITE_DELETED, OUTBOX_CANCEL);
    assert_int_equal(store_outbox_failed(f->s, m[1].id, 0, "550", &m[1].invite, NOW), SI_OK);
    assert_int_equal(failed_events(f), 0);
    assert_int_equal(claim(f, NOW + 6000, NULL), 1);
    assert_int_equal(store_outbox_failed(f->s, m[0].id, 0, "550", &shown, NOW + 6000), SI_OK);
    assert_int_equal(failed_events(f), 1);
    free_msgs(m, 2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_claim_carries_message),
        T(test_claim_order_by_due),
        T(test_sent_failed_counts),
        T(test_revoked_not_claimed),
        T(test_cancel_while_in_flight),
        T(test_claim_limits),
        T(test_give_up_writes_delivery_failed),
    };
    return fx_main(tests, sizeof tests / sizeof tests[0], "store_outbox");
}
