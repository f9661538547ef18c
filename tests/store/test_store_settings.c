/* The store contract suite, issue 10: a site's settings (written, kept, read back with the site)
 * and the reminder queue at fixed times: exactly the invites core's rule says are due, once,
 * counted as a send, never for answered, revoked or expired invites, and their queued reminders
 * cancelled once the invite is no longer pending. Run on SQLite and again on PostgreSQL. */
#include "store_suite.h"

#define LEASE ((si_ms)60000)
#define MAX   100

static void set_days(struct fx *f, int days)
{
    struct site_settings_patch p = {.reminder_days = days};
    assert_int_equal(store_site_settings_set(f->s, f->site.id, &p, NOW, NULL), SI_OK);
}

static int64_t queue(struct fx *f, si_ms now)
{
    int64_t n = -1;
    assert_int_equal(store_reminders_queue(f->s, now, MAX, &n), SI_OK);
    return n;
}

static struct invite get(struct fx *f, const char *id)
{
    struct invite v;
    assert_int_equal(store_invite_get(f->s, f->site.id, id, &v), SI_OK);
    return v;
}

/* Claims at now and marks sent what came back, as the mail worker would: the kinds and invite
 * IDs, oldest first, into kinds[] and ids[] (at most 8); returns how many. */
static size_t claim_kinds(struct fx *f, si_ms now, enum outbox_kind kinds[8],
                          char ids[8][SI_ID_LEN])
{
    struct outbox_msg *m = NULL;
    int64_t sent[8];
    size_t n = 0;
    assert_int_equal(store_outbox_claim(f->s, now, LEASE, 8, &m, &n), SI_OK);
    for (size_t i = 0; i < n; i++) {
        kinds[i] = m[i].kind;
        memcpy(ids[i], m[i].invite.id, SI_ID_LEN);
        sent[i] = m[i].id;
        outbox_msg_cleanup(&m[i]);
    }
    free(m);
    if (n)
        assert_int_equal(store_outbox_sent(f->s, sent, n, now), SI_OK);
    return n;
}

static void test_settings_written_kept_and_read(void **state)
{
    struct fx *f = *state;
    struct site got;
    assert_int_equal(store_site_get(f->s, f->site.id, &got), SI_OK);
    assert_null(got.settings); /* none set: nothing on the heap */
    assert_string_equal(site_settings_of(&got)->accept_redirect_url, "");
    assert_int_equal(site_settings_of(&got)->reminder_days, 0);
    assert_string_equal(site_settings_of(&got)->allowed_domains, "");

    struct site_settings_patch all = {.accept_redirect_url = "https://a.example/x?y=1",
                                      .reminder_days = 3,
                                      .allowed_domains = "a.example,*.b.example"};
    assert_int_equal(store_site_settings_set(f->s, f->site.id, &all, NOW, NULL), SI_OK);
    struct site_settings_patch one = {.reminder_days = 7}; /* NULLs keep */
    assert_int_equal(store_site_settings_set(f->s, f->site.id, &one, NOW, NULL), SI_OK);
    assert_int_equal(store_site_get(f->s, f->site.id, &got), SI_OK);
    assert_non_null(got.settings);
    assert_string_equal(got.settings->accept_redirect_url, "https://a.example/x?y=1");
    assert_int_equal(got.settings->reminder_days, 7);
    assert_string_equal(got.settings->allowed_domains, "a.example,*.b.example");
    assert_string_equal(got.name, f->site.name); /* nothing else moved */
    assert_int_equal(got.contributor_limit, f->site.contributor_limit);
    site_cleanup(&got);
    assert_null(got.settings);

    struct site_settings_patch clear = {
        .accept_redirect_url = "", .reminder_days = -1, .allowed_domains = ""};
    assert_int_equal(store_site_settings_set(f->s, f->site.id, &clear, NOW, NULL), SI_OK);
    assert_int_equal(store_site_get(f->s, f->site.id, &got), SI_OK);
    assert_non_null(got.settings); /* reminder_days is still set */
    assert_string_equal(got.settings->accept_redirect_url, "");
    assert_int_equal(got.settings->reminder_days, 7);
    assert_string_equal(got.settings->allowed_domains, "");
    site_cleanup(&got);

    /* Query Sites' load owns each site's settings the same way (sites_free). */
    struct site *sites = NULL;
    size_t n = 0;
    assert_int_equal(store_account_sites(f->s, f->acct.id, 10, &sites, &n), SI_OK);
    assert_int_equal(n, 1);
    assert_non_null(sites[0].settings);
    assert_int_equal(sites[0].settings->reminder_days, 7);
    sites_free(sites, n);

    char unknown[SI_ID_LEN];
    fx_id(unknown);
    assert_int_equal(store_site_settings_set(f->s, unknown, &one, NOW, NULL), SI_ENOTFOUND);
}

static void test_reminders_due_once_and_counted(void **state)
{
    struct fx *f = *state;
    char due[SI_ID_LEN], later[SI_ID_LEN], inside[SI_ID_LEN];
    fx_create(f, "due@example.com", NOW, NOW + 10 * DAY, P_ADMIN, due);
    fx_create(f, "later@example.com", NOW, NOW + 20 * DAY, P_ADMIN, later);
    /* Created 2 days before its expiry: inside a 3-day window, its invitation is the reminder. */
    fx_create(f, "inside@example.com", NOW + 6 * DAY, NOW + 8 * DAY, P_ADMIN, inside);
    enum outbox_kind kinds[8];
    char ids[8][SI_ID_LEN];
    assert_int_equal(claim_kinds(f, NOW + 6 * DAY, kinds, ids), 3); /* the invitations */

    assert_int_equal(queue(f, NOW + 7 * DAY), 0); /* reminders are off */
    set_days(f, 3);
    assert_int_equal(queue(f, NOW + 7 * DAY - 1), 0); /* one ms early */
    assert_int_equal(queue(f, NOW + 7 * DAY), 1);
    assert_int_equal(queue(f, NOW + 7 * DAY + HOUR), 0); /* once */
    struct invite v = get(f, due);
    assert_int_equal(v.send_count, 2);
    assert_int_equal(v.last_sent, NOW + 7 * DAY);
    assert_int_equal(v.expires, NOW + 10 * DAY);
    assert_int_equal(v.delivery.status, DELIVERY_QUEUED);
    invite_cleanup(&v);
    assert_int_equal(claim_kinds(f, NOW + 7 * DAY + HOUR, kinds, ids), 1);
    assert_int_equal(kinds[0], OUTBOX_REMINDER);
    assert_string_equal(ids[0], due);
    v = get(f, inside);
    assert_int_equal(v.send_count, 1);
    invite_cleanup(&v);

    assert_int_equal(queue(f, NOW + 17 * DAY), 1); /* the later one, in its turn */
    assert_int_equal(queue(f, NOW + 30 * DAY), 0); /* expired: never */
}

static void test_no_reminder_after_answer_revoke_or_expiry(void **state)
{
    struct fx *f = *state;
    char used[SI_ID_LEN], revoked[SI_ID_LEN], queued[SI_ID_LEN], expiring[SI_ID_LEN];
    fx_create(f, "used@example.com", NOW, NOW + 10 * DAY, P_ADMIN, used);
    fx_create(f, "revoked@example.com", NOW, NOW + 10 * DAY, P_ADMIN, revoked);
    fx_create(f, "queued@example.com", NOW, NOW + 10 * DAY, P_ADMIN, queued);
    fx_create(f, "expiring@example.com", NOW, NOW + 8 * DAY, P_ADMIN, expiring);
    enum outbox_kind kinds[8];
    char ids[8][SI_ID_LEN];
    assert_int_equal(claim_kinds(f, NOW, kinds, ids), 4);
    set_days(f, 3);
    fx_set_status(f, used, INVITE_USED, OUTBOX_CANCEL);
    fx_set_status(f, revoked, INVITE_DELETED, OUTBOX_CANCEL);
    assert_int_equal(queue(f, NOW + 7 * DAY), 2); /* queued and expiring */

    /* Revoked after its reminder was queued: the queued email is cancelled, never claimed. */
    fx_set_status(f, queued, INVITE_DELETED, OUTBOX_CANCEL);
    /* Expired before its reminder went out: not claimed, and the next sweep cancels it. */
    assert_int_equal(claim_kinds(f, NOW + 8 * DAY, kinds, ids), 0);
    assert_int_equal(queue(f, NOW + 8 * DAY), 0);
    struct outbox_counts oc;
    assert_int_equal(store_outbox_counts(f->s, &oc), SI_OK);
    assert_int_equal(oc.queued, 0);
    assert_int_equal(oc.cancelled, 2);
}

/* The site's entries of one action (at most 8), oldest first, into out; how many. */
static size_t entries_of(struct fx *f, enum audit_action a, struct audit_entry out[8])
{
    struct audit_query q = {.site_id = f->site.id,
                            .account_id = f->acct.id,
                            .has_action = true,
                            .action = a,
                            .limit = 8};
    struct audit_page p;
    assert_int_equal(store_audit_list(f->s, &q, &p), SI_OK);
    size_t n = p.n;
    memcpy(out, p.items, n * sizeof *out); /* the entries' changes move to out */
    free(p.items);
    return n;
}

static void entries_cleanup(struct audit_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        audit_entry_cleanup(&e[i]);
}

/* A settings change leaves its entry (by its actor, with what changed) in its transaction; a
 * change to the same values and an unknown site leave none; each queued reminder leaves one
 * invite.reminded entry of the system, and a sweep that queues nothing none. */
static void test_settings_and_reminders_audited(void **state)
{
    struct fx *f = *state;
    const struct audit_actor key = {
        .type = AUDIT_ACTOR_API_KEY, .id = "k1", .name = "bot", .request_id = "r1"};
    struct site_settings_patch p = {.reminder_days = 3, .allowed_domains = "example.com"};
    struct audit_entry e[8];
    assert_int_equal(store_site_settings_set(f->s, f->site.id, &p, NOW, &key), SI_OK);
    assert_int_equal(store_site_settings_set(f->s, f->site.id, &p, NOW + 1, &key), SI_OK);
    char unknown[SI_ID_LEN];
    fx_id(unknown);
    assert_int_equal(store_site_settings_set(f->s, unknown, &p, NOW, &key), SI_ENOTFOUND);
    assert_int_equal(entries_of(f, AUDIT_SITE_SETTINGS_CHANGED, e), 1);
    assert_int_equal(e[0].actor.type, AUDIT_ACTOR_API_KEY);
    assert_string_equal(e[0].actor.request_id, "r1");
    assert_int_equal(e[0].target_type, AUDIT_TARGET_SITE);
    assert_string_equal(e[0].target_id, f->site.id);
    assert_int_equal(e[0].time, NOW);
    assert_string_equal(e[0].changes, "{\"reminderDaysBeforeExpiry\":{\"to\":3},"
                                      "\"allowedEmailDomains\":{\"from\":[],"
                                      "\"to\":[\"example.com\"]}}");
    entries_cleanup(e, 1);

    char a[SI_ID_LEN], b[SI_ID_LEN];
    fx_create(f, "a@example.com", NOW, NOW + 10 * DAY, P_ADMIN, a);
    fx_create(f, "b@example.com", NOW, NOW + 10 * DAY, P_ADMIN, b);
    assert_int_equal(queue(f, NOW + 7 * DAY), 2);
    assert_int_equal(queue(f, NOW + 7 * DAY + HOUR), 0);
    assert_int_equal(entries_of(f, AUDIT_INVITE_REMINDED, e), 2);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(e[i].actor.type, AUDIT_ACTOR_SYSTEM);
        assert_string_equal(e[i].actor.request_id, "");
        assert_string_equal(e[i].site_id, f->site.id);
        assert_int_equal(e[i].time, NOW + 7 * DAY);
        assert_string_equal(e[i].changes, "{}");
    }
    assert_true((strcmp(e[0].target_id, a) == 0 && strcmp(e[1].target_id, b) == 0) ||
                (strcmp(e[0].target_id, b) == 0 && strcmp(e[1].target_id, a) == 0));
    entries_cleanup(e, 2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_settings_written_kept_and_read),
        T(test_reminders_due_once_and_counted),
        T(test_no_reminder_after_answer_revoke_or_expiry),
        T(test_settings_and_reminders_audited),
    };
    return fx_main(tests, sizeof tests / sizeof tests[0], "store_settings");
}
