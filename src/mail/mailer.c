/* The outbox worker: claims due rows, composes each invite email, hands it to the transport and
 * records sent / retry / failed on the row; then the console's sign-in mails, from their own
 * queue (store_console_mail_claim), the same way. */
#include "mailer.h"

#include "common/log.h"
#include "common/seal.h"
#include "common/text_table.h"
#include "common/xalloc.h"
#include "core/roles.h"
#include "core/token.h"
#include "mail/backoff.h"
#include "mail/compose.h"
#include "mail/expiry.h"
#include "mail/maildir.h"
#include "mail/mail_template.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAILER_BATCH_DEFAULT 100
#define MAILER_BATCH_MAX     1000
#define MAILER_LEASE_DEFAULT ((si_ms)60 * 1000)
#define MAILER_POLL_DEFAULT  ((si_ms)1000)
#define MAILER_LINK_MAX      2048 /* bytes of an accept link, NUL included */
#define MAILER_TEMPLATES_DIR SI_SOURCE_DIR "/templates"
#define LEASE_USE_PCT        80  /* share of the claim lease a round may spend sending */
#define MARK_FULL_PAUSE_MS   250 /* between tries to mark a round sent while the disk is full */
#define SIGNIN_ROUND_MAX     20  /* sign-in mails per round: a person waits for each */
#define SIGNIN_TOKEN_LEN     (CONSOLE_MAIL_SEALED_LEN - SEAL_OVERHEAD) /* link token text */
#define SIGNIN_TIME_MAX      32

struct mailer;

/* One sender: a thread with its own transport (its own SMTP connection). Senders claim their
 * own batches from the store, so they never hold the same email. */
struct sender {
    struct mailer *m;
    struct transport transport;
    pthread_mutex_t round_lock; /* one round at a time on this transport: thread or run_once */
    pthread_t thread;
    bool has_thread;
};

struct mailer {
    struct mailer_config cfg; /* with defaults filled in; strings borrowed */
    struct store *store;
    const struct clock *clock;
    struct mail_template_set *templates;
    struct text_table *role_texts;    /* translated role titles; NULL = core's English */
    struct sender *senders;           /* cfg.senders of them */
    char from_addr[SI_EMAIL_MAX + 1]; /* envelope sender */
    size_t base_len;                  /* base_url without trailing slashes */
    pthread_mutex_t lock;             /* guards stop and wake_gen */
    pthread_cond_t cond;
    bool stop;
    atomic_bool stopping; /* stop, readable without the lock: no new email starts once set */
    uint64_t wake_gen;    /* bumped by mailer_wake; a sender that saw it change goes again */
    atomic_int_least64_t sent, retried, failed;
};

/* ---- configuration -------------------------------------------------------------------- */

static bool base_url_ok(const char *u)
{
    if (!u || (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0))
        return false;
    for (const unsigned char *p = (const unsigned char *)u; *p; p++)
        if (*p <= ' ' || *p >= 0x7F || *p == '"' || *p == '<' || *p == '>')
            return false;
    return strlen(u) < MAILER_LINK_MAX - TOKEN_TEXT_MAX - 16;
}

/* Copies cfg with defaults; refuses what could only fail later, message by message. */
static enum si_err configure(struct mailer *m, const struct mailer_config *cfg)
{
    m->cfg = *cfg;
    struct mailer_config *c = &m->cfg;

    if (!c->lease_ms)
        c->lease_ms = MAILER_LEASE_DEFAULT;
    if (!c->max_attempts)
        c->max_attempts = BACKOFF_ATTEMPTS_DEFAULT;
    if (!c->poll_ms)
        c->poll_ms = MAILER_POLL_DEFAULT;
    if (!c->templates_dir)
        c->templates_dir = MAILER_TEMPLATES_DIR;
    if (!c->random)
        c->random = &random_system;
    if (!c->senders)
        c->senders = 1;
    if (!c->transport) {
        c->transport = &maildir_transport;
        c->transport_target = c->maildir;
    }
    if (!c->batch)
        c->batch = c->transport->batch ? c->transport->batch : MAILER_BATCH_DEFAULT;
    const char *bad = NULL;
    if (!compose_from_ok(c->from) ||
        !compose_from_address(c->from, m->from_addr, sizeof m->from_addr))
        bad = "from: expected \"Name <address>\" or an address, UTF-8 without control characters";
    else if (!base_url_ok(c->base_url))
        bad = "base URL: expected http:// or https:// without spaces or quotes";
    else if (!c->secret)
        bad = "no server secret for accept links";
    else if (c->batch < 0 || c->batch > MAILER_BATCH_MAX || c->lease_ms < 0 ||
             c->max_attempts < 0 || c->poll_ms < 0 || c->senders < 1 ||
             c->senders > MAILER_SENDERS_MAX || c->max_age_ms < 0 || c->retry_base_ms < 0 ||
             c->try_max_ms < 0)
        bad = "batch, lease, attempts, age, retry wait, senders or poll interval out of range";
    else if (c->try_max_ms >= c->lease_ms)
        bad = "the claim lease must be longer than one try (mail-lease-seconds > "
              "smtp-timeout-seconds), or two workers could send one email";
    if (bad) {
        log_error("mailer: bad configuration: %s", bad);
        return SI_ECONFIG;
    }
    m->base_len = strlen(c->base_url);
    while (m->base_len > 0 && c->base_url[m->base_len - 1] == '/')
        m->base_len--;
    return SI_OK;
}

/* ---- one email ------------------------------------------------------------------------ */

/* The roles' titles in lang: predefined ones translated (core's roles_text), custom ones as the
 * store read them. */
static enum si_err join_roles(const struct mailer *m, const struct outbox_msg *msg,
                              const char *lang, struct buf *out)
{
    enum si_err rc = buf_append(out, "", 0);
    for (int i = 0; i < msg->invite.policies.n && i < SI_POLICIES_MAX && !rc; i++) {
        const struct role *r = roles_find_predefined(msg->invite.policies.ids[i]);
        const char *title = msg->role_titles[i][0] ? msg->role_titles[i] : NULL, *description;
        if (r)
            roles_text(m->role_texts, lang, r, &title, &description);
        if (!title)
            continue; /* a role deleted since: say nothing rather than show an ID */
        rc = buf_cat(out, out->len ? ", " : "", title, NULL);
    }
    return rc;
}

/* Composes msg into out. SI_EINVAL: it can never be composed (reason in why). */
static enum si_err compose_msg(struct mailer *m, const struct outbox_msg *msg, si_ms now,
                               struct buf *out, const char **why)
{
    char token[TOKEN_TEXT_CAP], link[MAILER_LINK_MAX], expires[EXPIRY_TEXT_MAX];
    token_format_invite(m->cfg.secret, &msg->invite, token);
    snprintf(link, sizeof link, "%.*s/invite/%s", (int)m->base_len, m->cfg.base_url, token);
    /* The invite's language, else the site's, else English: the pages' order too. */
    const struct mail_templates *tpl = mail_template_pick(
        m->templates, msg->kind == OUTBOX_REMINDER ? MAIL_KIND_REMINDER : MAIL_KIND_INVITE,
        msg->invite.language, msg->site_language);
    /* The date follows the templates actually used, so a fallback to English stays English. */
    expiry_format(msg->invite.expires, mail_templates_lang(tpl), expires);
    struct buf roles;
    buf_init(&roles, 0);
    enum si_err rc = join_roles(m, msg, mail_templates_lang(tpl), &roles);
    struct mail_values v = {
        .v = {
            [TV_SITE_NAME] = msg->site_name,
            [TV_INVITER_NAME] = msg->inviter_name[0] ? msg->inviter_name : msg->inviter_email,
            [TV_INVITER_EMAIL] = msg->inviter_email,
            [TV_INVITEE_EMAIL] = msg->invite.email,
            [TV_ROLES] = roles.data,
            [TV_PURPOSE] = msg->invite.purpose,
            [TV_ACCEPT_LINK] = link,
            [TV_EXPIRES] = expires,
            [TV_SITE_LANGUAGE] = msg->site_language,
        }};
    struct compose_input in = {.outbox_id = msg->id,
                               .invite_id = msg->invite.id,
                               .date = now,
                               .from = m->cfg.from,
                               .to = msg->invite.email,
                               .reply_to = msg->inviter_email,
                               .tpl = tpl,
                               .values = &v};
    if (!rc)
        rc = compose_invite(&in, out);
    if (rc == SI_EINVAL)
        *why = "invalid recipient address or invite id: the email cannot be composed";
    else if (rc == SI_ETOOBIG)
        *why = "the composed email is too large";
    secure_wipe(token, sizeof token);
    secure_wipe(link, sizeof link);
    buf_cleanup(&roles);
    return rc;
}

/* Records a try that failed: retried with backoff, or given up when final or out of tries. */
static enum si_err record_failure(struct mailer *m, const struct outbox_msg *msg, bool final,
                                  const char *why)
{
    uint32_t rnd = 0;
    random_fill(m->cfg.random, &rnd, sizeof rnd);
    si_ms now = clock_now(m->clock);
    si_ms due = final ? 0
                      : backoff_next_due_from(now, m->cfg.retry_base_ms, msg->attempts + 1,
                                              m->cfg.max_attempts, rnd);
    /* Past the age limit a late try would surprise more than help: give up instead. */
    if (due && m->cfg.max_age_ms && due - msg->created > m->cfg.max_age_ms)
        due = 0;
    if (due) {
        atomic_fetch_add(&m->retried, 1);
    } else {
        atomic_fetch_add(&m->failed, 1);
        if (m->cfg.count_email)
            m->cfg.count_email(false);
    }
    log_warn("mail: outbox %" PRId64 " (invite %s) try %d failed%s: %s", msg->id, msg->invite.id,
             msg->attempts + 1, due ? ", will retry" : ", giving up", why);
    /* invite.delivery_failed, written with the give-up, shows the delivery as it now stands
     * (the claimed copy predates the give-up). */
    struct invite shown = msg->invite;
    shown.delivery.status = DELIVERY_FAILED;
    shown.delivery.attempts = msg->attempts + 1;
    return store_outbox_failed(m->store, msg->id, due, why, due ? NULL : &shown, now);
}

/* Delivers one claimed row and records the outcome. Returns only store errors (and sets
 * *delivered); a failed email is an outcome written to its row. */
static enum si_err deliver_one(struct sender *sd, const struct outbox_msg *msg, si_ms now,
                               bool *delivered)
{
    struct mailer *m = sd->m;
    char err[TRANSPORT_ERROR_MAX] = "";
    const char *why = NULL;
    *delivered = false;
    /* A revoked, used, declined or expired invite's link is dead: don't mail it. */
    enum invite_status st = invite_status_at(&msg->invite, now);
    if (st != INVITE_PENDING) {
        snprintf(err, sizeof err, "invite is %s: email not sent", invite_status_name(st));
        return record_failure(m, msg, true, err);
    }
    struct buf eml;
    buf_init(&eml, COMPOSE_MESSAGE_MAX);
    enum si_err rc = compose_msg(m, msg, now, &eml, &why);
    if (rc) {
        if (!why)
            why = si_err_str(rc);
        buf_cleanup(&eml);
        return record_failure(m, msg, true, why);
    }
    struct mail_envelope env = {.from = m->from_addr, .to = msg->invite.email};
    rc = transport_send(&sd->transport, &env, eml.data, eml.len, err);
    secure_wipe(eml.data, eml.cap); /* holds the accept link */
    buf_cleanup(&eml);
    if (rc) {
        if (!err[0])
            snprintf(err, sizeof err, "%s: %s", sd->transport.ops->name, si_err_str(rc));
        return record_failure(m, msg, rc == SI_EMAIL, err);
    }
    /* Handed to the transport; it counts as sent once the round's flush succeeds. */
    *delivered = true;
    return SI_OK;
}

/* Marks the handed-over rows ids sent. On a full disk (SI_EFULL) a lost mark would send them
 * all again when their lease ends, so it tries again every MARK_FULL_PAUSE_MS for up to half
 * the lease (an operator freeing space meanwhile saves the duplicates), unless stopping. */
static enum si_err mark_sent(struct mailer *m, const int64_t *ids, size_t n)
{
    enum si_err rc = store_outbox_sent(m->store, ids, n, clock_now(m->clock));
    for (si_ms waited = 0; rc == SI_EFULL && waited < m->cfg.lease_ms / 2;
         waited += MARK_FULL_PAUSE_MS) {
        pthread_mutex_lock(&m->lock);
        struct timespec until = clock_deadline_after(MARK_FULL_PAUSE_MS);
        while (!m->stop && clock_cond_wait(&m->cond, &m->lock, &until) != ETIMEDOUT)
            ; /* a wake is for new work, not for this */
        bool stop = m->stop;
        pthread_mutex_unlock(&m->lock);
        if (stop)
            break;
        rc = store_outbox_sent(m->store, ids, n, clock_now(m->clock));
    }
    if (rc == SI_EFULL)
        log_error("mail: could not mark %zu emails sent on the full disk; they go again after "
                  "their lease",
                  n);
    return rc;
}

/* Ends a round's deliveries: flushes the transport (Maildir syncs the batch at once), then marks
 * every handed-over row sent in one commit. If the flush fails, each of them is a retryable
 * failure (some may have arrived: at least once, same Message-ID). */
static enum si_err finish_round(struct sender *sd, const struct outbox_msg *msgs,
                                const size_t *done, size_t ndone, int *sent)
{
    struct mailer *m = sd->m;
    char err[TRANSPORT_ERROR_MAX] = "";
    if (ndone == 0)
        return SI_OK;
    enum si_err rc = transport_flush(&sd->transport, err), first = SI_OK;
    if (rc) {
        if (!err[0])
            snprintf(err, sizeof err, "%s: %s", sd->transport.ops->name, si_err_str(rc));
        for (size_t i = 0; i < ndone; i++) {
            enum si_err r = record_failure(m, &msgs[done[i]], false, err);
            first = first ? first : r;
        }
        return first;
    }
    int64_t *ids = xcalloc(ndone, sizeof *ids);
    log_batch_begin(); /* a line per email, written together: one write(2) per round */
    for (size_t i = 0; i < ndone; i++) {
        ids[i] = msgs[done[i]].id;
        if (m->cfg.count_email)
            m->cfg.count_email(true);
        log_info("mail: outbox %" PRId64 " (invite %s) delivered via %s", ids[i],
                 msgs[done[i]].invite.id, sd->transport.ops->name);
    }
    log_batch_end();
    rc = mark_sent(m, ids, ndone);
    free(ids);
    atomic_fetch_add(&m->sent, ndone);
    *sent = (int)ndone;
    return rc;
}

/* ---- the console's sign-in mails ----------------------------------------------------- */

/* Composes the sign-in mail of cm with its token into out. Message-ID si.<mail id>.<account id>:
 * an account's ID is never an invite's, so it cannot meet an invite email's. */
static enum si_err signin_compose(struct mailer *m, const struct console_mail *cm,
                                  const char *token, si_ms now, struct buf *out)
{
    char link[MAILER_LINK_MAX], until[SIGNIN_TIME_MAX];
    time_t t = (time_t)(cm->expires / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(until, sizeof until, "%Y-%m-%d %H:%M UTC", &tm);
    snprintf(link, sizeof link, "%.*s/console/signin/%s", (int)m->base_len, m->cfg.base_url, token);
    const struct mail_templates *tpl =
        mail_template_pick(m->templates, MAIL_KIND_SIGNIN, cm->lang, NULL);
    struct mail_values v = {.v = {[TV_ACCOUNT_NAME] = cm->account_name,
                                  [TV_SIGNIN_LINK] = link,
                                  [TV_INVITEE_EMAIL] = cm->email,
                                  [TV_EXPIRES] = until}};
    struct compose_input in = {.outbox_id = cm->id,
                               .invite_id = cm->account_id,
                               .date = now,
                               .from = m->cfg.from,
                               .to = cm->email,
                               .tpl = tpl,
                               .values = &v};
    enum si_err rc = compose_invite(&in, out);
    secure_wipe(link, sizeof link);
    return rc;
}

/* Sends one claimed sign-in mail and records the try: sent, again later, or given up (the
 * link expired, the address or the seal is bad, no tries left). Returns store errors only. */
static enum si_err signin_deliver(struct sender *sd, const struct console_mail *cm, si_ms now)
{
    struct mailer *m = sd->m;
    char token[SIGNIN_TOKEN_LEN + 1], err[TRANSPORT_ERROR_MAX] = "";
    bool final = true;
    struct buf eml;
    buf_init(&eml, COMPOSE_MESSAGE_MAX);
    enum si_err rc = SI_OK;
    if (now >= cm->expires)
        snprintf(err, sizeof err, "sign-in link expired: email not sent");
    else if (seal_open((uint8_t *)token, cm->sealed, CONSOLE_MAIL_SEALED_LEN, m->cfg.secret))
        snprintf(err, sizeof err, "sealed with another server secret: email not sent");
    else if (token[SIGNIN_TOKEN_LEN] = '\0', signin_compose(m, cm, token, now, &eml))
        snprintf(err, sizeof err, "the sign-in email cannot be composed");
    else {
        struct mail_envelope env = {.from = m->from_addr, .to = cm->email};
        rc = transport_send(&sd->transport, &env, eml.data, eml.len, err);
        if (!rc)
            rc = transport_flush(&sd->transport, err);
        if (rc && !err[0])
            snprintf(err, sizeof err, "%s: %s", sd->transport.ops->name, si_err_str(rc));
        final = rc == SI_EMAIL;
    }
    secure_wipe(token, sizeof token);
    secure_wipe(eml.data, eml.cap); /* holds the link */
    buf_cleanup(&eml);
    si_ms due = -1; /* sent */
    if (err[0]) {
        uint32_t rnd = 0;
        random_fill(m->cfg.random, &rnd, sizeof rnd);
        due = final ? 0
                    : backoff_next_due_from(now, m->cfg.retry_base_ms, cm->attempts + 1,
                                            m->cfg.max_attempts, rnd);
        if (due >= cm->expires)
            due = 0; /* a try after the link's end could only mail a dead link */
        log_warn("mail: sign-in mail %" PRId64 " (account %s) try %d failed%s: %s", cm->id,
                 cm->account_id, cm->attempts + 1, due ? ", will retry" : ", giving up", err);
    } else {
        log_info("mail: sign-in mail %" PRId64 " (account %s) delivered via %s", cm->id,
                 cm->account_id, sd->transport.ops->name);
    }
    return store_console_mail_done(m->store, cm->id, clock_now(m->clock), due, err);
}

/* Claims and sends due sign-in mails one at a time, up to SIGNIN_ROUND_MAX. */
static enum si_err signin_round(struct sender *sd)
{
    struct mailer *m = sd->m;
    enum si_err rc = SI_OK;
    for (int i = 0; i < SIGNIN_ROUND_MAX && !rc && !atomic_load(&m->stopping); i++) {
        struct console_mail cm;
        bool found = false;
        si_ms now = clock_now(m->clock);
        rc = store_console_mail_claim(m->store, now, m->cfg.lease_ms, &cm, &found);
        if (!rc && found)
            rc = signin_deliver(sd, &cm, now);
        secure_wipe(&cm, sizeof cm);
        if (!found)
            break;
    }
    return rc;
}

/* ---- rounds and the threads ---------------------------------------------------------- */

/* Claims and delivers one batch on sd's transport. *claimed tells whether a backlog remains. */
static enum si_err run_round(struct sender *sd, int *sent, size_t *claimed)
{
    struct mailer *m = sd->m;
    struct outbox_msg *msgs = NULL;
    size_t n = 0;
    *sent = 0;
    *claimed = 0;
    pthread_mutex_lock(&sd->round_lock);
    si_ms now = clock_now(m->clock);
    enum si_err rc = store_outbox_claim(m->store, now, m->cfg.lease_ms, m->cfg.batch, &msgs, &n);
    size_t *done = xcalloc(n ? n : 1, sizeof *done), ndone = 0; /* indices handed over */
    for (size_t i = 0; i < n; i++) {
        /* Stopping: no new attempt starts; the rest come back to a worker after their lease. */
        if (atomic_load(&m->stopping)) {
            log_info("mail: stopping; %zu claimed emails left for the next start", n - i);
            break;
        }
        /* Past most of the lease another worker may claim these rows again: leave the rest for
         * then rather than risk sending them twice (a slow SMTP server). A try that may take
         * try_max_ms must also end before the lease does. */
        si_ms elapsed = clock_now(m->clock) - now;
        if (elapsed > m->cfg.lease_ms * LEASE_USE_PCT / 100 ||
            (m->cfg.try_max_ms && elapsed + m->cfg.try_max_ms >= m->cfg.lease_ms)) {
            log_warn("mail: lease nearly over; %zu claimed emails left for the next round", n - i);
            break;
        }
        bool delivered = false;
        /* A store error on one row leaves it leased (it comes back later); go on with the
         * others, which are already claimed, and report the first error. */
        enum si_err r = deliver_one(sd, &msgs[i], now, &delivered);
        if (delivered)
            done[ndone++] = i;
        if (r && !rc)
            rc = r;
    }
    enum si_err fr = finish_round(sd, msgs, done, ndone, sent);
    rc = rc ? rc : fr;
    fr = signin_round(sd);
    rc = rc ? rc : fr;
    free(done);
    pthread_mutex_unlock(&sd->round_lock);
    for (size_t i = 0; i < n; i++)
        outbox_msg_cleanup(&msgs[i]);
    free(msgs);
    *claimed = n;
    return rc;
}

enum si_err mailer_run_once(struct mailer *m, int *sent)
{
    size_t claimed;
    int n = 0;
    enum si_err rc = run_round(&m->senders[0], &n, &claimed);
    if (sent)
        *sent = n;
    return rc;
}

/* Waits up to poll_ms (monotonic) unless woken since seen or stopped. Called with m->lock held. */
static void idle_wait(struct mailer *m, uint64_t seen)
{
    struct timespec ts = clock_deadline_after(m->cfg.poll_ms);
    while (!m->stop && m->wake_gen == seen)
        if (clock_cond_wait(&m->cond, &m->lock, &ts) == ETIMEDOUT)
            break;
}

static void *worker(void *arg)
{
    pthread_setname_np(pthread_self(), "si-mail");
    struct sender *sd = arg;
    struct mailer *m = sd->m;
    pthread_mutex_lock(&m->lock);
    while (!m->stop) {
        uint64_t seen = m->wake_gen; /* a wake from now on means: go again */
        pthread_mutex_unlock(&m->lock);
        int sent;
        size_t claimed;
        enum si_err rc = run_round(sd, &sent, &claimed);
        pthread_mutex_lock(&m->lock);
        /* A full batch means more may be due: go again at once (stop is checked first). */
        if (!rc && claimed == (size_t)m->cfg.batch)
            continue;
        idle_wait(m, seen);
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

void mailer_wake(void *ctx)
{
    struct mailer *m = ctx;
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    m->wake_gen++;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
}

/* ---- life cycle ----------------------------------------------------------------------- */

/* Stops and joins the sender threads started so far (each finishes its round in hand). */
static void join_senders(struct mailer *m)
{
    pthread_mutex_lock(&m->lock);
    m->stop = true;
    atomic_store(&m->stopping, true);
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
    /* A send in hand may wait on a hung server for its whole timeout: make it give up now. */
    for (int i = 0; m->senders && i < m->cfg.senders; i++)
        if (m->senders[i].has_thread)
            transport_cancel(&m->senders[i].transport);
    for (int i = 0; m->senders && i < m->cfg.senders; i++)
        if (m->senders[i].has_thread) {
            pthread_join(m->senders[i].thread, NULL);
            m->senders[i].has_thread = false;
        }
}

static void mailer_free(struct mailer *m)
{
    for (int i = 0; m->senders && i < m->cfg.senders; i++) {
        transport_close(&m->senders[i].transport);
        pthread_mutex_destroy(&m->senders[i].round_lock);
    }
    free(m->senders);
    mail_template_free(m->templates);
    text_table_free(m->role_texts);
    pthread_cond_destroy(&m->cond);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

/* Opens one transport per sender; SI_OK or the first failure (the rest stay closed). */
static enum si_err open_senders(struct mailer *m)
{
    m->senders = xcalloc((size_t)m->cfg.senders, sizeof *m->senders);
    enum si_err rc = SI_OK;
    for (int i = 0; i < m->cfg.senders; i++) {
        struct sender *sd = &m->senders[i];
        sd->m = m;
        pthread_mutex_init(&sd->round_lock, NULL);
        if (!rc)
            rc = transport_open_with(m->cfg.transport, m->cfg.transport_target,
                                     m->cfg.transport_options, &sd->transport);
    }
    return rc;
}

enum si_err mailer_new(const struct mailer_config *cfg, struct store *store,
                       const struct clock *clock, struct mailer **out)
{
    struct mailer *m = xcalloc(1, sizeof *m);
    pthread_cond_init(&m->cond, NULL); /* timed waits pick the monotonic clock themselves */
    pthread_mutex_init(&m->lock, NULL);
    m->store = store;
    m->clock = clock;
    enum si_err rc = configure(m, cfg);
    if (!rc)
        rc = mail_template_load(m->cfg.templates_dir, &m->templates);
    if (!rc)
        rc = text_table_load(m->cfg.templates_dir, ROLES_TEXTS_FAMILY, ROLES_TEXTS_FILE,
                             roles_texts_check, &m->role_texts);
    if (rc == SI_EINVAL || rc == SI_ETOOBIG)
        rc = SI_ECONFIG; /* a broken template is a configuration error to the caller */
    if (!rc)
        rc = open_senders(m);
    if (rc) {
        mailer_free(m);
        return rc;
    }
    *out = m;
    return SI_OK;
}

enum si_err mailer_start(const struct mailer_config *cfg, struct store *store,
                         const struct clock *clock, struct mailer **out)
{
    struct mailer *m = NULL;
    enum si_err rc = mailer_new(cfg, store, clock, &m);
    if (rc)
        return rc;
    for (int i = 0; i < m->cfg.senders; i++) {
        struct sender *sd = &m->senders[i];
        int e = pthread_create(&sd->thread, NULL, worker, sd);
        if (e) {
            log_error("mailer: cannot start a sender thread: %s", strerror(e));
            join_senders(m);
            mailer_free(m);
            return SI_EIO;
        }
        sd->has_thread = true;
    }
    log_info("mail: %d sender%s started (%s, batch %d, poll %" PRId64 " ms)", m->cfg.senders,
             m->cfg.senders == 1 ? "" : "s", m->cfg.transport->name, m->cfg.batch, m->cfg.poll_ms);
    *out = m;
    return SI_OK;
}

void mailer_stop(struct mailer *m)
{
    if (!m)
        return;
    join_senders(m); /* the rounds in hand finish first */
    mailer_free(m);
}

void mailer_get_stats(struct mailer *m, struct mailer_stats *out)
{
    out->sent = atomic_load(&m->sent);
    out->retried = atomic_load(&m->retried);
    out->failed = atomic_load(&m->failed);
}
