/* Composing an invite email: RFC 5322 headers and a MIME multipart/alternative body (text and
 * HTML, UTF-8, quoted-printable), from rendered templates. Pure: no clock, no I/O. */
#ifndef SI_MAIL_COMPOSE_H
#define SI_MAIL_COMPOSE_H

#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"
#include "mail/mail_template.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COMPOSE_MESSAGE_MAX    (1024 * 1024) /* bytes of one composed message */
#define COMPOSE_QP_LINE_MAX    76            /* chars of a quoted-printable line (RFC 2045) */
#define COMPOSE_HEADER_LINE    78            /* chars of a folded header line (RFC 5322) */
#define COMPOSE_WORD_MAX       75            /* chars of one RFC 2047 encoded word */
#define COMPOSE_DOMAIN_MAX     256           /* bytes of the Message-ID domain, NUL included */
#define COMPOSE_FROM_MAX       512           /* bytes of the configured From value */
#define COMPOSE_DOMAIN_DEFAULT "siteinvites.local"

struct compose_input {
    int64_t outbox_id;                /* with invite_id, makes the Message-ID */
    const char *invite_id;            /* a GUID */
    si_ms date;                       /* the Date header (the claim time) */
    const char *from;                 /* configured From: "Name <addr>" or "addr" */
    const char *to;                   /* the invitee address */
    const char *reply_to;             /* the inviter's address, or NULL/"" for none */
    const struct mail_templates *tpl; /* the language's templates */
    const struct mail_values *values; /* accept_link already built */
};

/* Appends the complete message to out (CRLF line ends, no line over COMPOSE_QP_LINE_MAX chars in
 * the bodies; header lines folded at COMPOSE_HEADER_LINE except an address or Message-ID too long
 * to fit, which stay whole and under 998; at most COMPOSE_MESSAGE_MAX bytes). The
 * Message-ID is <si.{outbox_id}.{invite_id}@{domain of from, else siteinvites.local}>, and
 * every byte but the Date header depends only on the input, so a message sent twice is the same
 * message. SI_EINVAL when to or from fails compose_address_ok / compose_from_ok (nothing is
 * appended then: such a row can never be sent), SI_ETOOBIG past the size cap. Thread-safe. */
enum si_err compose_invite(const struct compose_input *in, struct buf *out) SI_MUST_USE;

/* True when addr can go into a To header and an SMTP envelope as it is: 3..SI_EMAIL_MAX bytes,
 * one '@' with text on both sides, no control byte (CR, LF, NUL, TAB, DEL ...), no space and
 * none of <>()[],;:"\ (which would change the header's structure). UTF-8 is allowed. */
bool compose_address_ok(const char *addr);

/* True when from is a usable From value: printable ASCII or valid UTF-8 without controls,
 * either a bare address or "Display Name <address>", the address passing compose_address_ok. */
bool compose_from_ok(const char *from);

/* Copies the bare address of a From value ("Name <a@b>" -> "a@b") into out (cap bytes);
 * false when from is not compose_from_ok or the address does not fit. */
bool compose_from_address(const char *from, char *out, size_t cap);

/* Writes the domain for Message-IDs: the From address's domain when it is plain ASCII letters,
 * digits, '.' and '-', else COMPOSE_DOMAIN_DEFAULT. */
void compose_message_id_domain(const char *from, char out[COMPOSE_DOMAIN_MAX]);

/* Appends t as an RFC 5322 date ("Sat, 26 Dec 2026 05:05:42 +0000", UTC). */
enum si_err compose_date(struct buf *out, si_ms t) SI_MUST_USE;

/* Appends text quoted-printable encoded (RFC 2045): LF (or CRLF) is a hard line break written as
 * CRLF, other lines are soft-broken so none exceeds COMPOSE_QP_LINE_MAX chars. */
enum si_err compose_qp(struct buf *out, const char *text, size_t len) SI_MUST_USE;

/* Appends "Name: " and value as RFC 2047 B encoded words (whole UTF-8 characters in each,
 * each at most COMPOSE_WORD_MAX chars), folded so no line exceeds COMPOSE_HEADER_LINE, then
 * CRLF. value must be valid UTF-8 without controls (mail_template_render's header escaping):
 * SI_EINVAL when it is not UTF-8 (an encoded word holds whole characters). */
enum si_err compose_encoded_header(struct buf *out, const char *name,
                                   const char *value) SI_MUST_USE;

#endif
