/* The seam between the mail worker and whatever carries a finished message away: a table of
 * function pointers (open, send, close), with the Maildir transport and SMTP (libcurl).
 * The worker only ever sees a struct transport, so tests can put a fake behind it. */
#ifndef SI_MAIL_TRANSPORT_H
#define SI_MAIL_TRANSPORT_H

#include "common/err.h"

#include <stddef.h>

/* Bytes of a send error text, NUL included; the same as SI_ERROR_TEXT_MAX, the column it fills. */
#define TRANSPORT_ERROR_MAX 512

/* Who the message is handed over for: the SMTP envelope (MAIL FROM / RCPT TO). Maildir ignores
 * it; SMTP uses it. Both are bare addresses, already checked to hold no control bytes. */
struct mail_envelope {
    const char *from;
    const char *to;
};

/* One kind of transport. Every function gets back the state that open produced.
 *
 * open:  target is the transport's own address (a Maildir folder, an SMTP URL); options is the
 *        transport's own settings struct (NULL for Maildir; struct smtp_options for SMTP),
 *        borrowed for the life of the state; *state receives the transport's private state.
 *        SI_EIO/SI_ECONFIG on failure, logged once.
 * send:  hands over one complete RFC 5322 message (CRLF line ends, len bytes). Returns SI_OK once
 *        the message is durably accepted; SI_EIO for a failure worth retrying (disk full, server
 *        busy, connection lost); SI_EMAIL for a permanent refusal (SMTP 5xx) that no retry can
 *        fix. On failure err (TRANSPORT_ERROR_MAX bytes) holds a short text for the invite's
 *        delivery.lastError; it never contains the message bytes (they hold the accept link).
 * flush: optional (NULL = every send is final). A transport may keep sent messages pending so
 *        that a batch is made durable at once (Maildir: one sync for the batch instead of two
 *        fsyncs per message); flush makes every pending message durable and delivered. Only
 *        after flush returns SI_OK is a message handed over; on failure every message sent
 *        since the last flush counts as failed (SI_EIO, retried; some may have arrived, which
 *        is the at-least-once rule, with the same Message-ID).
 * close: releases the state, dropping anything not flushed; NULL is accepted.
 * batch: the rows one mailer round should claim (0 = the mailer's default, 100). Maildir asks for
 *        its flush size: its messages appear only at the flush, just before the round's "sent"
 *        commit, so only a crash in that short gap delivers a round twice; an SMTP round's
 *        emails leave one by one, and a crash anywhere in it sends those again.
 * cancel: optional (NULL = sends are short). Called from another thread while send may run (a
 *        stop): the send in hand fails soon (SI_EIO, retried later) and no new one connects.
 *
 * Threads: one transport state is used by one thread at a time (the mailer serialises rounds). */
struct transport_ops {
    const char *name; /* "maildir", "smtp" */
    enum si_err (*open)(const char *target, const void *options, void **state);
    enum si_err (*send)(void *state, const struct mail_envelope *env, const char *msg, size_t len,
                        char err[TRANSPORT_ERROR_MAX]);
    enum si_err (*flush)(void *state, char err[TRANSPORT_ERROR_MAX]);
    void (*close)(void *state);
    void (*cancel)(void *state);
    int batch;
};

/* An open transport: its kind and its state. */
struct transport {
    const struct transport_ops *ops;
    void *state;
};

/* Opens a transport of kind ops at target with its options into t. On failure t is left
 * closed. */
static inline enum si_err transport_open_with(const struct transport_ops *ops, const char *target,
                                              const void *options, struct transport *t)
{
    t->ops = ops;
    t->state = NULL;
    enum si_err rc = ops->open(target, options, &t->state);
    if (rc)
        t->ops = NULL;
    return rc;
}

/* Opens a transport that needs no options (Maildir). */
static inline enum si_err transport_open(const struct transport_ops *ops, const char *target,
                                         struct transport *t)
{
    return transport_open_with(ops, target, NULL, t);
}

/* Sends one message through an open transport (see transport_ops.send). */
static inline enum si_err transport_send(struct transport *t, const struct mail_envelope *env,
                                         const char *msg, size_t len, char err[TRANSPORT_ERROR_MAX])
{
    return t->ops->send(t->state, env, msg, len, err);
}

/* Makes every message sent since the last flush durable and delivered (see transport_ops). */
static inline enum si_err transport_flush(struct transport *t, char err[TRANSPORT_ERROR_MAX])
{
    return t->ops->flush ? t->ops->flush(t->state, err) : SI_OK;
}

/* Makes a send running on another thread give up soon (see transport_ops.cancel). */
static inline void transport_cancel(struct transport *t)
{
    if (t->ops && t->ops->cancel)
        t->ops->cancel(t->state);
}

/* Closes t; a closed or never-opened (zeroed) transport is accepted. */
static inline void transport_close(struct transport *t)
{
    if (t->ops)
        t->ops->close(t->state);
    t->ops = NULL;
    t->state = NULL;
}

#endif
