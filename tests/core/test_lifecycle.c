/* The invite lifecycle: every call from every state, at fixed times. */
#include "core/lifecycle.h"

#include "fakes.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define MINUTE ((si_ms)60000)
#define HOUR   (60 * MINUTE)
#define DAY    SI_MS_PER_DAY

/* The stored states, plus a Pending row whose expiry has passed (reads as Expired). */
enum row_state {
    ROW_PENDING,
    ROW_PENDING_LAPSED,
    ROW_EXPIRED,
    ROW_USED,
    ROW_DELETED,
    ROW_DECLINED
};
#define ROW_STATES 6

static struct fake_clock fc;

static int setup(void **state)
{
    (void)state;
    fake_clock_init(&fc, FAKE_NOW);
    return 0;
}

/* An invite created ten days ago (so its first email is outside the 24-hour window). */
static struct invite_change make_change(enum row_state st)
{
    static const enum invite_status stored[ROW_STATES] = {INVITE_PENDING, INVITE_PENDING,
                                                          INVITE_EXPIRED, INVITE_USED,
                                                          INVITE_DELETED, INVITE_DECLINED};
    si_ms now = clock_now(&fc.clock);
    struct invite_change c;
    memset(&c, 0, sizeof c);
    memcpy(c.inv.id, "0b7e3c52-9a4b-4c1e-8d2f-3a6b5c4d2e1f", SI_ID_LEN);
    c.inv.status = stored[st];
    c.inv.created = now - 10 * DAY;
    c.inv.updated = c.inv.created;
    c.inv.last_sent = c.inv.created;
    c.inv.expires = st == ROW_PENDING ? now + 20 * DAY : now - HOUR;
    c.inv.send_count = 1;
    memcpy(c.inv.language, "fr", 3);
    memcpy(c.inv.staff_id, "staff-1", 8);
    c.inv.policies.n = 1;
    memcpy(c.inv.policies.ids[0], "1000000000000000001", 20);
    c.inv.delivery.status = DELIVERY_SENT;
    return c;
}

/* A refused call leaves the row, the outbox effect and the write flag as loaded. */
static void assert_untouched(const struct invite_change *after, enum row_state st)
{
    /* field by field: padding bytes of a struct copy are unspecified */
    struct invite_change before = make_change(st);
    const struct invite *a = &after->inv, *b = &before.inv;
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->created, b->created);
    assert_int_equal(a->updated, b->updated);
    assert_int_equal(a->expires, b->expires);
    assert_int_equal(a->last_sent, b->last_sent);
    assert_int_equal(a->send_count, b->send_count);
    assert_string_equal(a->language, b->language);
    assert_string_equal(a->staff_id, b->staff_id);
    assert_int_equal(a->policies.n, b->policies.n);
    assert_string_equal(a->policies.ids[0], b->policies.ids[0]);
    assert_int_equal(a->delivery.status, b->delivery.status);
    assert_int_equal(after->outbox, OUTBOX_KEEP);
    assert_false(after->write);
}

static void test_resend_from_resendable_states(void **state)
{
    (void)state;
    const enum row_state ok[] = {ROW_PENDING, ROW_PENDING_LAPSED, ROW_EXPIRED};
    si_ms now = clock_now(&fc.clock);
    for (size_t i = 0; i < 3; i++) {
        struct invite_change c = make_change(ok[i]);
        struct resend_ctx ctx = {.lifetime_ms = 30 * DAY, .language = NULL};
        assert_int_equal(lifecycle_resend(&c, &ctx, now), SI_OK);
        assert_int_equal(c.inv.status, INVITE_PENDING);
        assert_int_equal(c.inv.expires, now + 30 * DAY);
        assert_int_equal(c.inv.updated, now);
        assert_int_equal(c.inv.last_sent, now);
        assert_int_equal(c.inv.send_count, 2);
        assert_string_equal(c.inv.language, "fr");
        assert_int_equal(c.inv.delivery.status, DELIVERY_QUEUED);
        assert_int_equal(c.outbox, OUTBOX_ENQUEUE);
        assert_true(c.write);
        assert_int_equal(c.inv.created, now - 10 * DAY); /* the link and creation stay */
    }
}

static void test_resend_replaces_language(void **state)
{
    (void)state;
    struct invite_change c = make_change(ROW_PENDING);
    struct resend_ctx ctx = {.lifetime_ms = DAY, .language = "pt-BR"};
    assert_int_equal(lifecycle_resend(&c, &ctx, clock_now(&fc.clock)), SI_OK);
    assert_string_equal(c.inv.language, "pt-BR");
    /* a language that cannot fit is refused before anything changes */
    char longer[SI_LANG_MAX + 1];
    memset(longer, 'a', SI_LANG_MAX);
    longer[SI_LANG_MAX] = '\0';
    c = make_change(ROW_PENDING);
    ctx.language = longer;
    assert_int_equal(lifecycle_resend(&c, &ctx, clock_now(&fc.clock)), SI_EINVAL);
    assert_untouched(&c, ROW_PENDING);
}

static void test_resend_refused_states(void **state)
{
    (void)state;
    const enum row_state no[] = {ROW_USED, ROW_DELETED, ROW_DECLINED};
    for (size_t i = 0; i < 3; i++) {
        struct invite_change c = make_change(no[i]);
        struct resend_ctx ctx = {.lifetime_ms = DAY};
        assert_int_equal(lifecycle_resend(&c, &ctx, clock_now(&fc.clock)), SI_ESTATE);
        assert_untouched(&c, no[i]);
    }
    struct invite_change c = make_change(ROW_PENDING);
    struct resend_ctx zero = {.lifetime_ms = 0};
    assert_int_equal(lifecycle_resend(&c, &zero, clock_now(&fc.clock)), SI_EINVAL);
    assert_int_equal(lifecycle_resend(&c, NULL, clock_now(&fc.clock)), SI_EINVAL);
    assert_untouched(&c, ROW_PENDING);
}

static void test_resend_limit_old_invite(void **state)
{
    (void)state;
    si_ms now = clock_now(&fc.clock);
    struct resend_ctx ctx = {.lifetime_ms = DAY};
    struct invite_change c = make_change(ROW_PENDING);
    c.sends_in_window = SI_RESENDS_PER_DAY - 1;
    c.oldest_send_in_window = now - 23 * HOUR;
    assert_int_equal(lifecycle_resend(&c, &ctx, now), SI_OK);
    /* the first email is 10 days old: five emails in the window are five resends */
    c = make_change(ROW_PENDING);
    c.sends_in_window = SI_RESENDS_PER_DAY;
    c.oldest_send_in_window = now - 23 * HOUR;
    assert_int_equal(lifecycle_resend(&c, &ctx, now), SI_ELIMIT);
    assert_int_equal(ctx.retry_after_s, 3600);
    assert_untouched(&c, ROW_PENDING);
    /* rounding is up, and never below one second */
    c.oldest_send_in_window = now - DAY + 1500;
    assert_int_equal(lifecycle_resend(&c, &ctx, now), SI_ELIMIT);
    assert_int_equal(ctx.retry_after_s, 2);
    c.oldest_send_in_window = now - DAY + 1000;
    assert_int_equal(lifecycle_resend(&c, &ctx, now), SI_ELIMIT);
    assert_int_equal(ctx.retry_after_s, 1);
    c.oldest_send_in_window = now - DAY;
    assert_int_equal(lifecycle_resend(&c, &ctx, now), SI_ELIMIT);
    assert_int_equal(ctx.retry_after_s, 1);
}

/* Replays a day of clicks on "resend" with the store's window arithmetic done here. */
struct sim {
    si_ms sends[32];
    int n;
};

static enum si_err sim_resend(struct sim *s, struct invite_change *c, struct resend_ctx *ctx)
{
    si_ms now = clock_now(&fc.clock);
    c->sends_in_window = 0;
    c->oldest_send_in_window = 0;
    for (int i = 0; i < s->n; i++) {
        if (s->sends[i] > now - DAY) {
            if (!c->sends_in_window)
                c->oldest_send_in_window = s->sends[i];
            c->sends_in_window++;
        }
    }
    enum si_err rc = lifecycle_resend(c, ctx, now);
    if (rc == SI_OK)
        s->sends[s->n++] = now;
    return rc;
}

static void test_resend_limit_new_invite(void **state)
{
    (void)state;
    si_ms t0 = clock_now(&fc.clock);
    struct invite_change c = make_change(ROW_PENDING);
    c.inv.created = t0; /* invited just now: its first email is in the window */
    struct sim s = {.sends = {t0}, .n = 1};
    struct resend_ctx ctx = {.lifetime_ms = 30 * DAY};
    for (int i = 1; i <= SI_RESENDS_PER_DAY; i++) {
        fc.now = t0 + i * MINUTE;
        assert_int_equal(sim_resend(&s, &c, &ctx), SI_OK);
    }
    assert_int_equal(c.inv.send_count, 1 + SI_RESENDS_PER_DAY);
    fc.now = t0 + 6 * MINUTE;
    assert_int_equal(sim_resend(&s, &c, &ctx), SI_ELIMIT);
    assert_int_equal(ctx.retry_after_s, (DAY - 6 * MINUTE) / 1000);
    /* When the first email leaves the window the five resends are still in it: refused again,
     * now with the exact wait for the oldest resend (the documented lower-bound case). */
    fc.now = t0 + DAY;
    assert_int_equal(sim_resend(&s, &c, &ctx), SI_ELIMIT);
    assert_int_equal(ctx.retry_after_s, 60);
    fc.now = t0 + DAY + MINUTE;
    assert_int_equal(sim_resend(&s, &c, &ctx), SI_OK);
    assert_int_equal(c.inv.expires, fc.now + 30 * DAY);
}

static void test_revoke(void **state)
{
    (void)state;
    si_ms now = clock_now(&fc.clock);
    const enum row_state ok[] = {ROW_PENDING, ROW_PENDING_LAPSED, ROW_EXPIRED};
    for (size_t i = 0; i < 3; i++) {
        struct invite_change c = make_change(ok[i]);
        c.inv.delivery.status = DELIVERY_QUEUED;
        si_ms expires = c.inv.expires;
        assert_int_equal(lifecycle_revoke(&c, NULL, now), SI_OK);
        assert_int_equal(c.inv.status, INVITE_DELETED);
        assert_int_equal(c.inv.updated, now);
        assert_int_equal(c.inv.expires, expires);
        assert_int_equal(c.inv.delivery.status, DELIVERY_CANCELLED);
        assert_int_equal(c.outbox, OUTBOX_CANCEL);
        assert_true(c.write);
    }
    /* revoking twice is fine and writes nothing */
    struct invite_change c = make_change(ROW_DELETED);
    assert_int_equal(lifecycle_revoke(&c, NULL, now), SI_OK);
    assert_untouched(&c, ROW_DELETED);
    const enum row_state no[] = {ROW_USED, ROW_DECLINED};
    for (size_t i = 0; i < 2; i++) {
        c = make_change(no[i]);
        assert_int_equal(lifecycle_revoke(&c, NULL, now), SI_ESTATE);
        assert_untouched(&c, no[i]);
    }
}

static void test_revoke_keeps_a_sent_delivery(void **state)
{
    (void)state;
    struct invite_change c = make_change(ROW_PENDING); /* its email was already sent */
    assert_int_equal(lifecycle_revoke(&c, NULL, clock_now(&fc.clock)), SI_OK);
    assert_int_equal(c.inv.delivery.status, DELIVERY_SENT);
}

static void test_update_pending(void **state)
{
    (void)state;
    si_ms now = clock_now(&fc.clock);
    struct policy_list pl = {.n = 2};
    memcpy(pl.ids[0], "1000000000000000002", 20);
    memcpy(pl.ids[1], "1000000000000000005", 20);
    struct update_ctx u = {.policies = &pl, .staff_id = "staff-2"};
    struct invite_change c = make_change(ROW_PENDING);
    assert_int_equal(lifecycle_update(&c, &u, now), SI_OK);
    assert_int_equal(c.inv.policies.n, 2);
    assert_string_equal(c.inv.policies.ids[1], "1000000000000000005");
    assert_string_equal(c.inv.staff_id, "staff-2");
    assert_int_equal(c.inv.updated, now);
    assert_int_equal(c.inv.send_count, 1); /* no email */
    assert_int_equal(c.outbox, OUTBOX_KEEP);
    assert_true(c.write);
    /* NULL members keep their fields; "" clears staffId */
    c = make_change(ROW_PENDING);
    struct update_ctx only_staff = {.policies = NULL, .staff_id = ""};
    assert_int_equal(lifecycle_update(&c, &only_staff, now), SI_OK);
    assert_string_equal(c.inv.staff_id, "");
    assert_string_equal(c.inv.policies.ids[0], "1000000000000000001");
}

static void test_update_refused(void **state)
{
    (void)state;
    si_ms now = clock_now(&fc.clock);
    struct update_ctx u = {.staff_id = "x"};
    const enum row_state no[] = {ROW_PENDING_LAPSED, ROW_EXPIRED, ROW_USED, ROW_DELETED,
                                 ROW_DECLINED};
    for (size_t i = 0; i < 5; i++) {
        struct invite_change c = make_change(no[i]);
        assert_int_equal(lifecycle_update(&c, &u, now), SI_ESTATE);
        assert_untouched(&c, no[i]);
    }
    struct policy_list empty = {.n = 0};
    struct update_ctx bad = {.policies = &empty, .staff_id = "y"};
    struct invite_change c = make_change(ROW_PENDING);
    assert_int_equal(lifecycle_update(&c, &bad, now), SI_EINVAL);
    assert_untouched(&c, ROW_PENDING);
    char staff[SI_STAFF_ID_MAX + 1];
    memset(staff, 's', SI_STAFF_ID_MAX);
    staff[SI_STAFF_ID_MAX] = '\0';
    struct update_ctx too_long = {.staff_id = staff};
    assert_int_equal(lifecycle_update(&c, &too_long, now), SI_EINVAL);
    assert_int_equal(lifecycle_update(&c, NULL, now), SI_EINVAL);
    assert_untouched(&c, ROW_PENDING);
}

static void test_lifetime(void **state)
{
    (void)state;
    assert_int_equal(lifecycle_lifetime_ms(0, 0, 0), SI_LIFETIME_DAYS_DEFAULT * DAY);
    assert_int_equal(lifecycle_lifetime_ms(0, 7, 0), 7 * DAY);
    assert_int_equal(lifecycle_lifetime_ms(3, 7, 0), 3 * DAY);
    assert_int_equal(lifecycle_lifetime_ms(3, 7, 5), 5000);
    assert_int_equal(lifecycle_lifetime_ms(-1, 0, -5), SI_LIFETIME_DAYS_DEFAULT * DAY);
    assert_int_equal(lifecycle_lifetime_ms(0, 400, 0), SI_LIFETIME_DAYS_MAX * DAY);
    assert_int_equal(lifecycle_lifetime_ms(91, 0, 0), SI_LIFETIME_DAYS_MAX * DAY);
    assert_int_equal(lifecycle_lifetime_ms(90, 0, 0), 90 * DAY);
    assert_int_equal(lifecycle_lifetime_ms(1, 0, 0), DAY);
}

/* The window a store loads the resend facts from: emails queued in the last 24 hours. */
static void test_window_start(void **state)
{
    (void)state;
    assert_int_equal(change_window_start(FAKE_NOW), FAKE_NOW - DAY);
    assert_int_equal(CHANGE_WINDOW_MS, DAY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_resend_from_resendable_states, setup),
        cmocka_unit_test_setup(test_resend_replaces_language, setup),
        cmocka_unit_test_setup(test_resend_refused_states, setup),
        cmocka_unit_test_setup(test_resend_limit_old_invite, setup),
        cmocka_unit_test_setup(test_resend_limit_new_invite, setup),
        cmocka_unit_test_setup(test_revoke, setup),
        cmocka_unit_test_setup(test_revoke_keeps_a_sent_delivery, setup),
        cmocka_unit_test_setup(test_update_pending, setup),
        cmocka_unit_test_setup(test_update_refused, setup),
        cmocka_unit_test_setup(test_lifetime, setup),
        cmocka_unit_test(test_window_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
