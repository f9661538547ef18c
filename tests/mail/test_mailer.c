/* The outbox worker against a real SQLite store: delivery to a real Maildir, failures that can
 * never succeed, retries with backoff through a fake transport (our own seam), the thread's
 * wake-up and stop, start-up validation, and the backoff schedule itself. */
#include "mail/backoff.h"
#include "mail/mailer.h"

#include "common/ids.h"
#include "core/token.h"
#include "fakes.h"
#include "store_fixture.h"

#include <dirent.h>
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#define TEST_PATH_MAX 4096
#define HOUR          ((si_ms)3600 * 1000)
#define DAY           (24 * HOUR)
#define ROLE_DESIGNER "1000000000000000003"
#define WAIT_S        10 /* upper bound on waiting for the worker thread to act */

static const uint8_t secret[SECURE_KEY_LEN] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                               12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                               23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

/* ---- the fake transport ----------------------------------------------------------------- */

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    enum si_err answer; /* what send returns */
    int sends;
    char *last;                 /* copy of the last message */
    struct fake_clock *advance; /* moved by step on every send (a slow server), or NULL */
    si_ms step;
} fake = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, SI_OK, 0, NULL, NULL, 0};

static enum si_err fake_open(const char *target, const void *options, void **state)
{
    (void)options;
    *state = (void *)target;
    return SI_OK;
}

static enum si_err fake_send(void *state, const struct mail_envelope *env, const char *msg,
                             size_t len, char err[TRANSPORT_ERROR_MAX])
{
    (void)state;
    assert_string_equal(env->from, "invites@example.org");
    pthread_mutex_lock(&fake.lock);
    free(fake.last);
    fake.last = strndup(msg, len);
    fake.sends++;
    if (fake.advance)
        fake.advance->now += fake.step;
    enum si_err rc = fake.answer;
    if (rc)
        snprintf(err, TRANSPORT_ERROR_MAX, "fake: refused (%s)", si_err_name(rc));
    pthread_cond_broadcast(&fake.cond);
    pthread_mutex_unlock(&fake.lock);
    return rc;
}

static void fake_close(void *state)
{
    (void)state;
}

static const struct transport_ops fake_transport = {
    .name = "fake", .open = fake_open, .send = fake_send, .close = fake_close};

/* ---- fixture: a store with one account and site, a scratch folder ------------------------ */

struct fx {
    char *url;
    struct store *s;
    struct account acct;
    struct site site;
    char dir[64];
    char maildir[128];
    struct fake_clock clock;
    struct fake_constant_random rnd;
    struct mailer_config cfg;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    f->url = store_fixture_url();
    if (store_open(f->url, &f->s) != SI_OK || store_migrate(f->s, NULL) != SI_OK)
        return -1;
    id_new(&random_system, f->acct.id);
    snprintf(f->acct.name, sizeof f->acct.name, "Ann Lee");
    snprintf(f->acct.email, sizeof f->acct.email, "ann@example.com");
    f->acct.created = FAKE_NOW - DAY;
    id_new(&random_system, f->site.id);
    snprintf(f->site.account_id, sizeof f->site.account_id, "%s", f->acct.id);
    snprintf(f->site.name, sizeof f->site.name, "Maple Bakery");
    snprintf(f->site.language, sizeof f->site.language, "en");
    f->site.contributor_limit = 100;
    f->site.lifetime_days = 30;
    f->site.created = FAKE_NOW - DAY;
    if (store_account_create(f->s, &f->acct) || store_site_create(f->s, &f->site))
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/si-mailer-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->maildir, sizeof f->maildir, "%s/mail", f->dir);
    fake_clock_init(&f->clock, FAKE_NOW);
    fake_constant_random_init(&f->rnd, 0); /* jitter factor exactly 0.8 */
    const char *src = getenv("SI_SOURCE_DIR");
    static char templates[TEST_PATH_MAX];
    snprintf(templates, sizeof templates, "%s/templates", src && *src ? src : SI_SOURCE_DIR);
    f->cfg = (struct mailer_config){.maildir = f->maildir,
                                    .from = "Site Invites <invites@example.org>",
                                    .base_url = "https://invites.example.org/",
                                    .templates_dir = templates,
                                    .secret = secret,
                                    .max_attempts = 3,
                                    .random = &f->rnd.source};
    pthread_mutex_lock(&fake.lock);
    fake.answer = SI_OK;
    fake.sends = 0;
    fake.advance = NULL;
    pthread_mutex_unlock(&fake.lock);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    store_close(f->s);
    store_fixture_remove(f->url);
    free(f->url);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    free(fake.last);
    fake.last = NULL;
    return 0;
}

/* Fills it with a Pending invite of email made now; salt given: one made before schema 16, with
 * a salt (copied to salt) and a version 1 link. */
static void fill_item(struct fx *f, struct bulk_item *it, const char *email, si_ms expires,
                      bool with_salt)
{
    struct invite *v = &it->invite;
    memset(it, 0, sizeof *it);
    id_new(&random_system, v->id);
    snprintf(v->site_id, sizeof v->site_id, "%s", f->site.id);
    snprintf(v->email, sizeof v->email, "%s", email);
    snprintf(v->email_key, sizeof v->email_key, "%s", email);
    v->policies.n = 1;
    snprintf(v->policies.ids[0], SI_POLICY_ID_MAX, ROLE_DESIGNER);
    snprintf(v->inviter_account_id, sizeof v->inviter_account_id, "%s", f->acct.id);
    v->status = INVITE_PENDING;
    v->has_salt = with_salt;
    if (with_salt)
        random_fill(&random_system, v->token_salt, sizeof v->token_salt);
    v->created = v->updated = v->last_sent = f->clock.now;
    v->expires = expires;
    v->send_count = 1;
}

/* Creates a Pending invite (and its outbox row) created at now; its salt goes to salt. */
static void make_invite(struct fx *f, const char *email, si_ms expires, char id[SI_ID_LEN],
                        uint8_t salt[SI_TOKEN_SALT_LEN])
{
    struct bulk_item it;
    fill_item(f, &it, email, expires, salt != NULL);
    struct bulk_request req = {
        .site_id = f->site.id, .contributor_limit = 100, .now = f->clock.now, .items = &it, .n = 1};
    assert_int_equal(store_invites_bulk(f->s, &req), SI_OK);
    assert_int_equal(it.outcome, BULK_CREATED);
    memcpy(id, it.invite.id, SI_ID_LEN);
    if (salt)
        memcpy(salt, it.invite.token_salt, SI_TOKEN_SALT_LEN);
    invite_cleanup(&it.invite);
}

/* Queues n (< 1,000 in all) Pending invites' emails in one bulk call (<prefix><i>@example.com). */
static void make_invites(struct fx *f, const char *prefix, size_t n)
{
    struct bulk_item *items = calloc(n, sizeof *items);
    assert_non_null(items);
    for (size_t i = 0; i < n; i++) {
        char email[96];
        int len = snprintf(email, sizeof email, "%s%zu@example.com", prefix, i);
        assert_true(len > 0 && (size_t)len < sizeof email);
        fill_item(f, &items[i], email, FAKE_NOW + 30 * DAY, false);
    }
    struct bulk_request req = {.site_id = f->site.id,
                               .contributor_limit = 1000,
                               .now = f->clock.now,
                               .items = items,
                               .n = n};
    assert_int_equal(store_invites_bulk(f->s, &req), SI_OK);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(items[i].outcome, BULK_CREATED);
        invite_cleanup(&items[i].invite);
    }
    free(items);
}

static struct delivery delivery_of(struct fx *f, const char *id)
{
    struct invite inv;
    assert_int_equal(store_invite_get(f->s, f->site.id, id, &inv), SI_OK);
    struct delivery d = inv.delivery;
    invite_cleanup(&inv);
    return d;
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* How many files in dir hold needle once quoted-printable soft breaks are undone (the link
 * holds no '=' or non-ASCII byte, so that is all the decoding it needs). */
static int files_with(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char path[TEST_PATH_MAX + 256];
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *fp = fopen(path, "rb");
        assert_non_null(fp);
        char *raw = calloc(1, 1 << 16);
        size_t len = fread(raw, 1, (1 << 16) - 1, fp), w = 0;
        fclose(fp);
        for (size_t r = 0; r < len; r++) {
            if (r + 2 < len && memcmp(raw + r, "=\r\n", 3) == 0)
                r += 2;
            else
                raw[w++] = raw[r];
        }
        raw[w] = '\0';
        n += strstr(raw, needle) != NULL;
        free(raw);
    }
    closedir(d);
    return n;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_delivers_to_maildir(void **state)
{
    struct fx *f = *state;
    char a[SI_ID_LEN], b[SI_ID_LEN];
    uint8_t salt[SI_TOKEN_SALT_LEN];
    make_invite(f, "bob@example.com", FAKE_NOW + 30 * DAY, a, salt);
    make_invite(f, "eve@example.com", FAKE_NOW + 30 * DAY, b, NULL);
    struct mailer *m = NULL;
    assert_int_equal(mailer_new(&f->cfg, f->s, &f->clock.clock, &m), SI_OK);
    int sent = -1;
    assert_int_equal(mailer_run_once(m, &sent), SI_OK);
    assert_int_equal(sent, 2);
    assert_int_equal(mailer_run_once(m, &sent), SI_OK);
    assert_int_equal(sent, 0); /* nothing is sent twice */
    struct mailer_stats st;
    mailer_get_stats(m, &st);
    assert_int_equal(st.sent, 2);
    mailer_stop(m);

    assert_int_equal(delivery_of(f, a).status, DELIVERY_SENT);
    assert_int_equal(delivery_of(f, b).status, DELIVERY_SENT);
    char path[TEST_PATH_MAX];
    snprintf(path, sizeof path, "%s/new", f->maildir);
    assert_int_equal(count_files(path), 2);
    snprintf(path, sizeof path, "%s/tmp", f->maildir);
    assert_int_equal(count_files(path), 0);

    /* The accept link carries the token of the old invite's salt (version 1) and of the new
     * one's ID (version 2), under the configured base URL with its trailing slash dropped. */
    char token[TOKEN_TEXT_CAP], link[256];
    token_format(secret, salt, token);
    snprintf(link, sizeof link, "https://invites.example.org/invite/%s", token);
    snprintf(path, sizeof path, "%s/new", f->maildir);
    assert_int_equal(files_with(path, link), 1);
    struct invite fresh = {.has_salt = false};
    memcpy(fresh.id, b, SI_ID_LEN);
    assert_int_equal(token_format_invite(secret, &fresh, token), TOKEN_V2_TEXT_LEN);
    snprintf(link, sizeof link, "https://invites.example.org/invite/%s", token);
    assert_int_equal(files_with(path, link), 1);
}

/* A Maildir round claims the transport's batch (MAILDIR_BATCH_MAX, 500): one sync and two
 * commits for all of them. Every file of a round is in new/ once the round returns. */
static void test_maildir_round_takes_its_batch(void **state)
{
    struct fx *f = *state;
    make_invites(f, "x", 520);
    struct mailer *m = NULL;
    assert_int_equal(mailer_new(&f->cfg, f->s, &f->clock.clock, &m), SI_OK);
    int sent = -1;
    assert_int_equal(mailer_run_once(m, &sent), SI_OK);
    assert_int_equal(sent, 500);
    char path[TEST_PATH_MAX];
    snprintf(path, sizeof path, "%s/new", f->maildir);
    assert_int_equal(count_files(path), 500);
    assert_int_equal(mailer_run_once(m, &sent), SI_OK);
    assert_int_equal(sent, 20);
    assert_int_equal(count_files(path), 520);
    snprintf(path, sizeof path, "%s/tmp", f->maildir);
    assert_int_equal(count_files(path), 0);
    mailer_stop(m);

    /* A batch set by the caller wins over the transport's. */
    make_invites(f, "y", 10);
    f->cfg.batch = 7;
    assert_int_equal(mailer_new(&f->cfg, f->s, &f->clock.clock, &m), SI_OK);
    assert_int_equal(mailer_run_once(m, &sent), SI_OK);
    assert_int_equal(sent, 7);
    mailer_stop(m);
}

static void test_bad_address_fails_for_good(void **state)
{
    struct fx *f = *state;
    char id[SI_ID_LEN];
    make_invite(f, "bob@example.com\r\nBcc: x@y.z", FAKE_NOW + 30 * DAY, id, NULL);
    f->cfg.transport = &fake_transport;
    struct mailer *m = NULL;
    assert_int_equal(mailer_new(&f->cfg, f->s, &f->clock.clock, &m), SI_OK);
    int sent = -1;
    assert_int_equal(mailer_run_once(m, &sent), SI_OK);
    assert_int_equal(sent, 0);
    mailer_stop(m);
    assert_int_equal(fake.sends, 0); /* never reached the transport */
    struct delivery d = delivery_of(f, id);
    assert_int_equal(d.status, DELIVERY_FAILED);
    assert_non_null(strstr(d.last_error, "invalid recipient address"));
}

static void test_expired_invite_is_not_mailed(void **state)
{
    struct fx *f = *state;
    char id[SI_ID_LEN];
    make_invite(f, "late@example.com", FAKE_NOW + HOUR, id, NULL);
    f->clock.now += 2 * HOUR; /* the worker was down past the expiry */
    f->cfg.transport = &fake_transport;
    struct mailer *m = NULL;
    assert_int_equal(mailer_new(&f->cfg, f->s, &f->clock.clock, &m), SI_OK);
    int sent = -1;
    assert_int_equal(mailer_run_once(m, &sent), SI_OK);
    mailer_stop(m);
    assert_int_equal(sent, 0);
    assert_int_equal(fake.sends, 0);
    struct delivery d = delivery_of(f, id);
    assert_int_equal(d.status, DELIVERY_FAILED);
    assert_string_equal(d.last_error, "invite is Expired: email not sent");
}

static void test_transport_failure_retries_then_fails(void **state)
{
    struct fx *f = *state;
    char id[SI_ID_LEN];
    make_invite(f, "bob@example.com", FAKE_NOW + 30 * DAY, id, NULL);
    f->cfg.transport = &fake_transport;
    fake.answer = SI_EIO;
    struct mailer *m = NULL;
    assert_int_equal(mailer_new(&f->cfg, f->s, &f->clock.clock, &m), SI_OK);
    int sent = -1;
    assert_int_equal(mailer_run_once(m, &sent), SI_OK);
    assert_int_equal(sent, 0);
    struct delivery d = delivery_of(f, id);
    assert_int_equal(d.status, DELIVERY_QUEUED);
    assert_int_equal(d.attempts, 1);
    assert_string_equal(d.last_error, "fake: refused (SI_EIO)");
    /* Next try: base 30 s times the jitter factor 0.8 from the fixed random source. */
    struct outbox_counts c;
    assert_int_equal(store_outbox_counts(f->s, &c), SI_OK);
    assert_int_equal(c.oldest_due, FAKE_NOW + BACKOFF_BASE_MS * 8 / 10);
    f->clock.now = c.oldest_due - 1;
    assert_int_equal(mailer_run_once(m, &sent), SI_OK);
    assert_int_equal(fake.sends, 1); /* not due yet */
    f->clock.now = c.oldest_due;
    assert_int_equal(mailer_run_once(m, &sent), SI_OK);
    assert_int_equal(fake.sends, 2);
    assert_int_equal(store_outbox_counts(f->s, &c), SI_OK);
    assert_int_equal(c.oldest_due, f->clock.now + 2 * BACKOFF_BASE_MS * 8 / 10); /* doubled */
    f->clock.now = c.oldest_due;
    assert_int_equal(mailer_run_once(m, &sent), SI_OK); /* third try of max_attempts 3 */
    assert_int_equal(fake.sends, 3);
    d = delivery_of(f, id);
    assert_int_equal(d.status, DELIVERY_FAILED);
    assert_int_equal(d.attempts, 3);
    struct mailer_stats st;
    mailer_get_stats(m, &st);
    assert_int_equal(st.retried, 2);
    assert_int_equal(st.failed, 1);
    mailer_stop(m);
}

static void test_permanent_refusal_fails_at_once(void **state)
{
    struct fx *f = *state;
    char id[SI_ID_LEN];
    make_invite(f, "bob@example.com", FAKE_NOW + 30 * DAY, id, NULL);
    f->cfg.transport = &fake_transport;
    fake.answer = SI_EMAIL;
    struct mailer *m = NULL;
    assert_int_equal(mailer_new(&f->cfg, f->s, &f->clock.clock, &m), SI_OK);
    int sent = -1;
    assert_int_equal(mailer_run_once(m, &sent), SI_OK);
    mailer_stop(m);
    struct delivery d = delivery_of(f, id);
    assert_int_equal(d.status, DELIVERY_FAILED);
    assert_int_equal(d.attempts, 1);
}

static void test_slow_sends_stop_before_the_lease_ends(void **state)
{
    struct fx *f = *state;
    char a[SI_ID_LEN], b[SI_ID_LEN];
    make_invite(f, "bob@example.com", FAKE_NOW + 30 * DAY, a, NULL);
    make_invite(f, "eve@example.com", FAKE_NOW + 30 * DAY, b, NULL);
    f->cfg.transport = &fake_transport;
    f->cfg.lease_ms = 60 * 1000;
    fake.advance = &f->clock;
    fake.step = 50 * 1000; /* each send takes 50 s of the 60 s lease */
    struct mailer *m = NULL;
    assert_int_equal(mailer_new(&f->cfg, f->s, &f->clock.clock, &m), SI_OK);
    int sent = -1;
    assert_int_equal(mailer_run_once(m, &sent), SI_OK);
    assert_int_equal(sent, 1); /* the second would have run past the lease */
    assert_int_equal(mailer_run_once(m, &sent), SI_OK);
    assert_int_equal(sent, 0); /* still leased: nobody may take it yet */
    f->clock.now = FAKE_NOW + f->cfg.lease_ms;
    assert_int_equal(mailer_run_once(m, &sent), SI_OK);
    assert_int_equal(sent, 1);
    mailer_stop(m);
    assert_int_equal(fake.sends, 2);
    assert_int_equal(delivery_of(f, a).status, DELIVERY_SENT);
    assert_int_equal(delivery_of(f, b).status, DELIVERY_SENT);
}

/* With the longest try known (the SMTP timeout), a send starts only if it ends within the
 * lease, even well before 80% of it. */
static void test_sends_that_could_outlive_the_lease_wait(void **state)
{
    struct fx *f = *state;
    char ids[3][SI_ID_LEN];
    const char *to[3] = {"bob@example.com", "eve@example.com", "joe@example.com"};
    for (int i = 0; i < 3; i++)
        make_invite(f, to[i], FAKE_NOW + 30 * DAY, ids[i], NULL);
    f->cfg.transport = &fake_transport;
    f->cfg.lease_ms = 60 * 1000;
    f->cfg.try_max_ms = 30 * 1000;
    fake.advance = &f->clock;
    fake.step = 20 * 1000; /* the third would start at 40 s: 40 + 30 > 60 */
    struct mailer *m = NULL;
    assert_int_equal(mailer_new(&f->cfg, f->s, &f->clock.clock, &m), SI_OK);
    int sent = -1;
    assert_int_equal(mailer_run_once(m, &sent), SI_OK);
    assert_int_equal(sent, 2);
    f->clock.now = FAKE_NOW + 2 * f->cfg.lease_ms;
    assert_int_equal(mailer_run_once(m, &sent), SI_OK);
    assert_int_equal(sent, 1);
    mailer_stop(m);
    assert_int_equal(fake.sends, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(delivery_of(f, ids[i]).status, DELIVERY_SENT);
    /* A try as long as the lease is refused at start-up. */
    f->cfg.try_max_ms = f->cfg.lease_ms;
    assert_int_equal(mailer_new(&f->cfg, f->s, &f->clock.clock, &m), SI_ECONFIG);
}

static void test_thread_wakes_and_stops(void **state)
{
    struct fx *f = *state;
    f->cfg.transport = &fake_transport;
    f->cfg.poll_ms = 3600 * 1000; /* only a wake-up can make it look again soon */
    struct mailer *m = NULL;
    assert_int_equal(mailer_start(&f->cfg, f->s, &f->clock.clock, &m), SI_OK);
    char id[SI_ID_LEN];
    make_invite(f, "bob@example.com", FAKE_NOW + 30 * DAY, id, NULL);
    mailer_wake(m);
    struct timespec until = clock_deadline_after((si_ms)WAIT_S * 1000);
    pthread_mutex_lock(&fake.lock);
    while (fake.sends == 0)
        if (clock_cond_wait(&fake.cond, &fake.lock, &until) != 0)
            break;
    int sends = fake.sends;
    pthread_mutex_unlock(&fake.lock);
    assert_int_equal(sends, 1);
    mailer_stop(m); /* finishes the batch in hand: the row is marked sent before it returns */
    assert_int_equal(delivery_of(f, id).status, DELIVERY_SENT);
    assert_non_null(strstr(fake.last, "Message-ID: <si."));
}

static void test_bad_configuration_is_refused(void **state)
{
    struct fx *f = *state;
    struct mailer *m = NULL;
    struct mailer_config c = f->cfg;
    c.from = "Evil\r\nBcc: x@y.z <a@b.c>";
    assert_int_equal(mailer_new(&c, f->s, &f->clock.clock, &m), SI_ECONFIG);
    c = f->cfg;
    c.base_url = "javascript:alert(1)";
    assert_int_equal(mailer_new(&c, f->s, &f->clock.clock, &m), SI_ECONFIG);
    c = f->cfg;
    c.secret = NULL;
    assert_int_equal(mailer_new(&c, f->s, &f->clock.clock, &m), SI_ECONFIG);
    c = f->cfg;
    c.templates_dir = f->dir; /* no mail/ templates there */
    assert_int_equal(mailer_new(&c, f->s, &f->clock.clock, &m), SI_ECONFIG);
    c = f->cfg;
    char file[TEST_PATH_MAX];
    snprintf(file, sizeof file, "%s/file", f->dir);
    FILE *fp = fopen(file, "w");
    assert_non_null(fp);
    fclose(fp);
    c.maildir = file; /* a Maildir cannot be made under a regular file */
    assert_int_equal(mailer_start(&c, f->s, &f->clock.clock, &m), SI_EIO);
    assert_null(m);
    mailer_stop(NULL);
}

static void test_backoff_schedule(void **state)
{
    (void)state;
    /* Without jitter's extremes: rnd 2^31 is the middle, factor 1.0. */
    assert_int_equal(backoff_delay(1, 1u << 31), BACKOFF_BASE_MS);
    assert_int_equal(backoff_delay(2, 1u << 31), 2 * BACKOFF_BASE_MS);
    assert_int_equal(backoff_delay(5, 1u << 31), 16 * BACKOFF_BASE_MS);
    assert_int_equal(backoff_delay(8, 1u << 31), BACKOFF_CAP_MS); /* 64 x 30 s > 1 h */
    assert_int_equal(backoff_delay(1000000, 1u << 31), BACKOFF_CAP_MS);
    /* Jitter stays within +-20%. */
    assert_int_equal(backoff_delay(1, 0), BACKOFF_BASE_MS * 8 / 10);
    si_ms top = backoff_delay(1, UINT32_MAX);
    assert_true(top < BACKOFF_BASE_MS * 12 / 10 && top > BACKOFF_BASE_MS * 119 / 100);
    assert_true(backoff_delay(30, UINT32_MAX) < BACKOFF_CAP_MS * 12 / 10);
    /* Giving up. */
    assert_int_equal(backoff_next_due(1000, 1, 3, 1u << 31), 1000 + BACKOFF_BASE_MS);
    assert_int_equal(backoff_next_due(1000, 3, 3, 1u << 31), 0);
    assert_int_equal(backoff_next_due(1000, BACKOFF_ATTEMPTS_DEFAULT, 0, 0), 0);
    assert_true(backoff_next_due(1000, BACKOFF_ATTEMPTS_DEFAULT - 1, 0, 0) > 0);
}

int main(void)
{
    if (secure_init() != SI_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_delivers_to_maildir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_maildir_round_takes_its_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_address_fails_for_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_invite_is_not_mailed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transport_failure_retries_then_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permanent_refusal_fails_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sends_that_could_outlive_the_lease_wait, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_slow_sends_stop_before_the_lease_ends, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_thread_wakes_and_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_configuration_is_refused, setup, teardown),
        cmocka_unit_test(test_backoff_schedule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
