/* The mail worker: a thread that claims due outbox rows, composes them and hands them to a
 * transport, then records the outcome. Storage (store), scheduling (here) and sending
 * (transport) stay apart so delivery could become its own process. */
#ifndef SI_MAIL_MAILER_H
#define SI_MAIL_MAILER_H

#include "common/clock.h"
#include "common/secure.h"
#include "common/err.h"
#include "mail/transport.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

struct mailer_config {
    const char *maildir;       /* Maildir root (tmp/, new/, cur/ are created) */
    const char *from;          /* From header, e.g. "Site Invites <invites@localhost>" */
    const char *base_url;      /* for accept links, no trailing slash */
    const char *templates_dir; /* folder holding mail/<lang>/ */
    const uint8_t *secret;     /* SECURE_KEY_LEN bytes, for accept-link tokens */
    int batch;                 /* rows claimed per round; 0 = the transport's (Maildir 500)
                                  or 100 */
    si_ms lease_ms;            /* claim lease; 0 = 60 s */
    int max_attempts;          /* tries before Failed; 0 = 10 */
    si_ms poll_ms;             /* idle poll interval; 0 = 1000 */
    /* Optional: */
    const struct transport_ops *transport; /* NULL = maildir_transport at maildir */
    const char *transport_target;          /* open() target for a non-Maildir transport */
    const void *transport_options;         /* open() options (struct smtp_options for SMTP) */
    const struct random_source *random;    /* retry jitter; NULL = random_system */
    int senders;         /* sender threads, each with its own transport (connection); 0 = 1 */
    si_ms max_age_ms;    /* an email still failing this long after it was queued is Failed;
                            0 = no age limit (attempts only) */
    si_ms retry_base_ms; /* wait after the first failed try, doubled per try; 0 = 30 s */
    si_ms try_max_ms;    /* longest one send may take (the SMTP timeout); 0 = unknown. A round
                            starts no send that could still run when its claim's lease ends */
    /* Called once per email sent (true) or given up on (false), from a sender thread; NULL =
     * none. The process's metrics live above mail, so serve installs this (http/metrics). */
    void (*count_email)(bool sent);
};

/* Counters since the mailer started (for /metrics). */
struct mailer_stats {
    int64_t sent;    /* handed to the transport and marked sent */
    int64_t retried; /* failed tries scheduled again */
    int64_t failed;  /* emails given up on (bad address, permanent refusal, tries exhausted) */
};

struct mailer;

#define MAILER_SENDERS_MAX 64 /* sender threads of one mailer */

/* Validates cfg, loads the templates, opens one transport per sender and starts the sender
 * threads (cfg.senders; each claims its own batches, so no email is handled by two). store,
 * clock and the config strings must outlive the mailer. SI_ECONFIG for a bad setting or
 * template, SI_EIO if the maildir cannot be created (all logged). */
enum si_err mailer_start(const struct mailer_config *cfg, struct store *store,
                         const struct clock *clock, struct mailer **out) SI_MUST_USE;

/* As mailer_start without the thread: rounds run only through mailer_run_once (tests, the CLI's
 * one-shot commands). Freed with mailer_stop. */
enum si_err mailer_new(const struct mailer_config *cfg, struct store *store,
                       const struct clock *clock, struct mailer **out) SI_MUST_USE;

/* Wakes every sender now (new rows queued). Thread-safe; ctx is the struct mailer. */
void mailer_wake(void *ctx);

/* Stops the senders: no new email is started after this call, the one in hand is finished
 * (its transport sees the stop and gives up within about a second, see smtp_options.cancel),
 * claimed emails not started come back after their lease; then frees the mailer. NULL is
 * accepted. */
void mailer_stop(struct mailer *m);

/* Runs one claim-compose-send round synchronously on the calling thread with the first sender's
 * transport (tests and the CLI);
 * *sent receives how many were delivered. Safe while the thread runs: rounds never overlap.
 * A failed email is not an error here (it is recorded on its row); SI_ESTORE when the store
 * failed, in which case leased rows come back after the lease.
 *
 * Delivery is at least once: a crash between the transport's SI_OK and the store's "sent"
 * sends the row again after its lease, with the same Message-ID. */
enum si_err mailer_run_once(struct mailer *m, int *sent) SI_MUST_USE;

/* Copies the counters. Thread-safe. */
void mailer_get_stats(struct mailer *m, struct mailer_stats *out);

#endif
