/* Shared fixture of the store contract suite: a fresh store with one account and one site per
 * test, and helpers to make invites. The suite speaks store.h only, so the same tests run on
 * every backend (SI_TEST_STORE_URL picks one; default a new SQLite file). Header-only because
 * tests/support/ is linked into tests that do not link the store. */
#ifndef SI_TESTS_STORE_SUITE_H
#define SI_TESTS_STORE_SUITE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/ids.h"
#include "common/secure.h"
#include "store/store.h"
#include "store_fixture.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW  ((si_ms)1800000000000) /* a fixed "now": the store never reads the clock */
#define HOUR ((si_ms)3600000)
#define DAY  (24 * HOUR)

/* Predefined role IDs (core/roles.c). */
#define P_ADMIN    "6732588207941061632" /* Wix's Admin (Co-Owner) */
#define P_MANAGER  "1000000000000000002"
#define P_DESIGNER "1000000000000000003"

struct fx {
    char *url;
    struct store *s;
    struct account acct;
    struct site site;
};

static inline void fx_id(char out[SI_ID_LEN])
{
    id_new(&random_system, out);
}

static inline void fx_account(struct fx *f, struct account *a, const char *name)
{
    memset(a, 0, sizeof *a);
    fx_id(a->id);
    snprintf(a->name, sizeof a->name, "%s", name);
    snprintf(a->email, sizeof a->email, "%s@owner.test", name);
    a->created = NOW - DAY;
    assert_int_equal(store_account_create(f->s, a), SI_OK);
}

static inline void fx_site(struct fx *f, const char *account_id, struct site *site, int limit)
{
    memset(site, 0, sizeof *site);
    fx_id(site->id);
    snprintf(site->account_id, sizeof site->account_id, "%s", account_id);
    snprintf(site->name, sizeof site->name, "Site %.8s", site->id);
    site->contributor_limit = limit;
    snprintf(site->language, sizeof site->language, "fr");
    site->lifetime_days = 30;
    site->created = NOW - DAY;
    assert_int_equal(store_site_create(f->s, site), SI_OK);
}

static inline int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    f->url = store_fixture_url();
    if (store_open(f->url, &f->s) != SI_OK || store_migrate(f->s, NULL) != SI_OK)
        return -1;
    fx_account(f, &f->acct, "Ada");
    fx_site(f, f->acct.id, &f->site, 100);
    *state = f;
    return 0;
}

static inline int fx_teardown(void **state)
{
    struct fx *f = *state;
    store_close(f->s);
    store_fixture_remove(f->url);
    free(f->url);
    free(f);
    return 0;
}

/* A fully prepared new invite as core would make it (email key = ASCII-lowercased address). */
static inline void fx_invite(struct invite *v, const struct fx *f, const char *email, si_ms created,
                             si_ms expires, const char *pols)
{
    memset(v, 0, sizeof *v);
    fx_id(v->id);
    snprintf(v->site_id, sizeof v->site_id, "%s", f->site.id);
    snprintf(v->email, sizeof v->email, "%s", email);
    for (size_t i = 0; email[i] && i < SI_EMAIL_MAX; i++)
        v->email_key[i] = (char)tolower((unsigned char)email[i]);
    /* pols: comma-separated role IDs */
    for (const char *p = pols; p && *p && v->policies.n < SI_POLICIES_MAX;) {
        size_t n = strcspn(p, ",");
        snprintf(v->policies.ids[v->policies.n++], SI_POLICY_ID_MAX, "%.*s", (int)n, p);
        p += n + (p[n] == ',');
    }
    snprintf(v->inviter_account_id, sizeof v->inviter_account_id, "%s", f->acct.id);
    v->status = INVITE_PENDING;
    /* A new invite (schema 16): no salt, its link names the ID. fx_salted makes an old one. */
    v->has_salt = false;
    v->created = v->updated = created;
    v->expires = expires;
    v->purpose = strdup("Join us");
    v->send_count = 1;
    v->last_sent = created;
}

/* Gives v a random salt, as invites made before schema 16 have (a version 1 link). */
static inline void fx_salted(struct invite *v)
{
    v->has_salt = true;
    random_fill(&random_system, v->token_salt, sizeof v->token_salt);
}

static inline enum si_err fx_bulk(struct fx *f, struct bulk_item *items, size_t n, si_ms now,
                                  int limit, bool dry_run)
{
    struct bulk_request req = {
        .site_id = f->site.id,
        .contributor_limit = limit,
        .now = now,
        .dry_run = dry_run,
        .items = items,
        .n = n,
    };
    return store_invites_bulk(f->s, &req);
}

static inline void fx_items_cleanup(struct bulk_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        invite_cleanup(&items[i].invite);
}

/* Creates one invite through bulk and copies its ID into id. */
static inline void fx_create(struct fx *f, const char *email, si_ms created, si_ms expires,
                             const char *pols, char id[SI_ID_LEN])
{
    struct bulk_item it;
    fx_invite(&it.invite, f, email, created, expires, pols);
    assert_int_equal(fx_bulk(f, &it, 1, created, 1000, false), SI_OK);
    assert_int_equal(it.outcome, BULK_CREATED);
    memcpy(id, it.invite.id, SI_ID_LEN);
    invite_cleanup(&it.invite);
}

/* Decision function of the suite: applies what the context says. */
struct fx_change {
    enum si_err ret;
    bool write;
    enum outbox_effect effect;
    bool set_status;
    enum invite_status status;
    const char *staff_id;
    const char *accepted_by;
    int seen_sends;
    si_ms seen_oldest;
    int calls;
};

static inline enum si_err fx_change_fn(struct invite_change *c, void *vctx, si_ms now)
{
    struct fx_change *x = vctx;
    x->calls++;
    x->seen_sends = c->sends_in_window;
    x->seen_oldest = c->oldest_send_in_window;
    if (x->set_status)
        c->inv.status = x->status;
    if (x->staff_id)
        snprintf(c->inv.staff_id, sizeof c->inv.staff_id, "%s", x->staff_id);
    if (x->accepted_by)
        snprintf(c->inv.accepted_by_account_id, sizeof c->inv.accepted_by_account_id, "%s",
                 x->accepted_by);
    c->inv.updated = now;
    c->write = x->write;
    c->outbox = x->effect;
    return x->ret;
}

static inline void fx_set_status(struct fx *f, const char *id, enum invite_status st,
                                 enum outbox_effect effect)
{
    struct fx_change x = {.write = true, .set_status = true, .status = st, .effect = effect};
    assert_int_equal(store_invite_change(f->s, f->site.id, id, NOW, NULL, fx_change_fn, &x, NULL),
                     SI_OK);
}

static inline int fx_main(const struct CMUnitTest *tests, size_t n, const char *name)
{
    if (secure_init() != SI_OK)
        return 1;
    return _cmocka_run_group_tests(name, tests, n, NULL, NULL);
}

#endif
