/* The SMTP transport (libcurl): hands finished messages to a mail server over one reused
 * connection, with STARTTLS or implicit TLS and an optional login, and tells a bounce (5xx) from
 * a failure worth retrying. The only file of the server that includes curl.h. */
#ifndef SI_MAIL_SMTP_H
#define SI_MAIL_SMTP_H

#include "mail/transport.h"

#include <stdbool.h>

#define SMTP_URL_MAX            1024  /* bytes of an SMTP URL, NUL included */
#define SMTP_CONNECT_TIMEOUT_MS 10000 /* TCP + TLS handshake */
#define SMTP_SEND_TIMEOUT_MS    30000 /* one whole message, greeting to final reply */
#define SMTP_ERR_MAX            256   /* bytes of a start-up check message, NUL included */

/* Settings of an SMTP transport; strings borrowed for the transport's life. */
struct smtp_options {
    bool require_tls;        /* smtp://: refuse to send unless STARTTLS succeeds */
    const char *user;        /* login, or NULL for none; never logged */
    const char *password;    /* with user; never logged */
    bool allow_no_auth;      /* with user: send even when the server offers no AUTH */
    long connect_timeout_ms; /* 0 = SMTP_CONNECT_TIMEOUT_MS */
    long send_timeout_ms;    /* 0 = SMTP_SEND_TIMEOUT_MS */
};

/* The SMTP transport's table. open(url, struct smtp_options *) makes one libcurl handle; send
 * reuses its connection from message to message (MAIL FROM, RCPT TO, DATA), reconnecting when
 * the server closed it. send returns SI_OK once the server answered 250 to the data; SI_EMAIL
 * for a permanent refusal (a 5xx reply, login denied) with the server's reply in err, e.g.
 * "smtp: 550 5.1.1 no such user (RCPT TO)"; SI_EIO for anything worth a retry (4xx, refused,
 * timeout, STARTTLS required but not offered). With a user set, a server that does not log us
 * in (no AUTH offered) gets nothing: SI_EIO before DATA, unless allow_no_auth. cancel (from
 * the stopping thread) shuts the connection down, so a hung server cannot hold a stop.
 * err never holds message bytes or the login. */
extern const struct transport_ops smtp_transport;

/* Initialises libcurl once for the process (call before any thread uses the transport) and
 * checks that it speaks SMTP (and SMTPS). SI_ECONFIG with a message in err otherwise. Pair
 * with smtp_global_cleanup. Not thread-safe. */
enum si_err smtp_global_init(char err[SMTP_ERR_MAX]) SI_MUST_USE;

/* Releases what smtp_global_init took; after every transport is closed. Not thread-safe. */
void smtp_global_cleanup(void);

/* Checks url and the server at start-up, so a bad setting fails at once, not message by message:
 * the scheme must be smtp:// or smtps:// with a host, no user or password in the URL, no path
 * beyond "/"; then a connection is tried (greeting, EHLO, STARTTLS, login). SI_ECONFIG with a
 * message in err for a bad URL, a host that does not resolve, TLS required but not offered, or a
 * refused login, or a user set and no login done (the server offers no AUTH) without
 * allow_no_auth. A server that refuses the connection or times out is only a warning in err
 * (SI_OK, err non-empty): it may come up later and the outbox keeps the mail until then. */
enum si_err smtp_check(const char *url, const struct smtp_options *opt,
                       char err[SMTP_ERR_MAX]) SI_MUST_USE;

#endif
