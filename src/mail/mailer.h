/* The mail worker: a thread that claims due outbox rows, composes them and hands them to a
 * transport, then records the outcome. Storage (store), scheduling (here) and sending
 * (transport) stay apart so delivery could become its own process. */
#ifndef SI_MAIL_MAILER_H
#define SI_MAIL_MAILER_H

#include "common/clock.h"
#include "common/secure.h"
#include "common/err.h"
#include "store/store.h"

#include <stdint.h>

struct mailer_config {
    const char *maildir;       /* Maildir root (tmp/, new/, cur/ are created) */
    const char *from;          /* From header, e.g. "Site Invites <invites@localhost>" */
    const char *base_url;      /* for accept links, no trailing slash */
    const char *templates_dir; /* folder holding mail/<lang>/ */
    const uint8_t *secret;     /* SECURE_KEY_LEN bytes, for accept-link tokens */
    int batch;                 /* rows claimed per round; 0 = 100 */
    si_ms lease_ms;            /* claim lease; 0 = 60 s */
    int max_attempts;          /* tries before Failed; 0 = 10 */
    si_ms poll_ms;             /* idle poll interval; 0 = 1000 */
};

struct mailer;

/* Starts the worker thread. store and the config strings must outlive the mailer.
 * SI_EIO if the maildir cannot be created (logged). */
enum si_err mailer_start(const struct mailer_config *cfg, struct store *store,
                         const struct clock *clock, struct mailer **out) SI_MUST_USE;

/* Wakes the worker now (new rows queued). Thread-safe; ctx is the struct mailer. */
void mailer_wake(void *ctx);

/* Finishes the batch in hand, stops the thread and frees the mailer. NULL is accepted. */
void mailer_stop(struct mailer *m);

/* Runs one claim-compose-send round synchronously on the calling thread (tests and the CLI);
 * *sent receives how many were delivered. */
enum si_err mailer_run_once(struct mailer *m, int *sent) SI_MUST_USE;

#endif
