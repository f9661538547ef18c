/* The rules of webhooks, pure: event names and subscriptions, endpoint secrets, Standard Webhooks
 * signatures, the retry schedule and when a failing endpoint is disabled. Addresses and URLs
 * (server-side request forgery) are in core/webhook_addr.h. */
#ifndef SI_CORE_WEBHOOK_H
#define SI_CORE_WEBHOOK_H

#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/secure.h"
#include "core/audit.h"
#include "core/change.h"
#include "core/invite.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* X(enum, wire name). The order is the bit of each in a subscription mask: append only. */
#define WEBHOOK_EVENTS(X)                                                                          \
    X(WH_INVITE_CREATED, "invite.created")                                                         \
    X(WH_INVITE_RESENT, "invite.resent")                                                           \
    X(WH_INVITE_UPDATED, "invite.updated")                                                         \
    X(WH_INVITE_ACCEPTED, "invite.accepted")                                                       \
    X(WH_INVITE_DECLINED, "invite.declined")                                                       \
    X(WH_INVITE_REVOKED, "invite.revoked")                                                         \
    X(WH_INVITE_EXPIRED, "invite.expired")                                                         \
    X(WH_INVITE_DELIVERY_FAILED, "invite.delivery_failed")                                         \
    X(WH_CONTRIBUTOR_REMOVED, "contributor.removed")                                               \
    X(WH_CONTRIBUTOR_ROLE_CHANGED, "contributor.role_changed")                                     \
    X(WH_TEST, "webhook.test")

enum webhook_event {
#define WH_ENUM(e, name) e,
    WEBHOOK_EVENTS(WH_ENUM)
#undef WH_ENUM
        WH_EVENT_COUNT
};

#define WEBHOOK_EVENT_BIT(e) (1u << (unsigned)(e))
/* webhook.test is sent by POST .../test to its one endpoint, never subscribed to. */
#define WEBHOOK_SUBSCRIBABLE (WEBHOOK_EVENT_BIT(WH_TEST) - 1u)

#define WEBHOOK_URL_MAX          2048 /* bytes of an endpoint URL, plus NUL */
#define WEBHOOK_DESCRIPTION_MAX  512  /* bytes of a description, plus NUL */
#define WEBHOOK_PER_SITE_MAX     20   /* endpoints of one site */
#define WEBHOOK_KEY_LEN          32   /* random bytes of a signing secret */
#define WEBHOOK_SECRET_PREFIX    "whsec_"
#define WEBHOOK_SECRET_TEXT_MAX  64  /* "whsec_" + base64 of 32 bytes (44), plus NUL */
#define WEBHOOK_SIGNATURE_MAX    128 /* one "v1,<base64 of 32 bytes>" (47), a space, another */
#define WEBHOOK_MSG_ID_MAX       40  /* "msg_" + an ID, plus NUL */
#define WEBHOOK_ROTATE_GRACE_MS  SI_MS_PER_DAY       /* the old secret still signs this long */
#define WEBHOOK_GIVE_UP_MS       (3 * SI_MS_PER_DAY) /* retries stop this long after the event */
#define WEBHOOK_DISABLE_AFTER_MS SI_MS_PER_DAY       /* failing this long disables an endpoint */
#define WEBHOOK_RETRY_BASE_MS    ((si_ms)5 * 1000)   /* wait after the first failed try */
#define WEBHOOK_RETRY_CAP_MS     ((si_ms)6 * 3600 * 1000) /* longest wait between two tries */
#define WEBHOOK_JITTER_PCT       20

/* The wire name of an event ("invite.created"); "" for a value out of range. */
const char *webhook_event_name(enum webhook_event e);
/* The event named name (exact match). false when unknown. */
bool webhook_event_parse(const char *name, enum webhook_event *out);

/* Which event a committed change of one invite is, ch being what the decision wrote
 * (ch->write set): revoke turns the invite Deleted (a Deleted invite cannot change again), a
 * resend queues an email, anything else written is an update. */
enum webhook_event webhook_change_event(const struct invite_change *ch);

/* The event of a committed contributor change (contributor.role_changed, .removed); false when
 * the change has none (a change of locations). */
bool webhook_contributor_event(enum audit_action action, enum webhook_event *out);

/* A new signing secret: key gets WEBHOOK_KEY_LEN random bytes from rng, text their
 * "whsec_" + base64 form. */
void webhook_secret_new(const struct random_source *rng, uint8_t key[WEBHOOK_KEY_LEN],
                        char text[WEBHOOK_SECRET_TEXT_MAX]);
/* The key of a secret's text ("whsec_" + base64 of WEBHOOK_KEY_LEN bytes). SI_EINVAL if not. */
enum si_err webhook_secret_parse(const char *text, uint8_t key[WEBHOOK_KEY_LEN]) SI_MUST_USE;

/* One Standard Webhooks signature, "v1," + base64(HMAC-SHA256(key, msg_id "." ts "." body)),
 * key being key_len bytes (ours are WEBHOOK_KEY_LEN; the spec allows others),
 * appended to sig (cap bytes, NUL-terminated), separated by a space when sig is not empty.
 * SI_ETOOBIG when it would not fit (sig unchanged). */
enum si_err webhook_sign(char *sig, size_t cap, const uint8_t *key, size_t key_len,
                         const char *msg_id, int64_t ts_s, const char *body,
                         size_t len) SI_MUST_USE;

/* When to try a delivery again after its tries-th failed try (1 = the first) at now, for an
 * event created at created: base * 4^(tries-1) capped at WEBHOOK_RETRY_CAP_MS, moved by up to
 * +-WEBHOOK_JITTER_PCT % by rnd; 0 (give up) once that is more than give_up ms after created.
 * base <= 0 is WEBHOOK_RETRY_BASE_MS, give_up <= 0 WEBHOOK_GIVE_UP_MS. Pure. */
si_ms webhook_next_due(si_ms now, si_ms created, int tries, si_ms base, si_ms give_up,
                       uint32_t rnd);

/* Whether an endpoint failing without a success since failing_since (0: not failing) is to
 * be disabled at now: after disable_after ms (<= 0: WEBHOOK_DISABLE_AFTER_MS). */
bool webhook_should_disable(si_ms failing_since, si_ms now, si_ms disable_after);

/* Appends the payload of event e about inv to b (uncapped): {"type", "timestamp" (RFC 3339 of
 * now), "data": the invite as the API shows it at now, without its acceptLink}. */
void webhook_payload_invite(struct buf *b, enum webhook_event e, const struct invite *inv,
                            si_ms now);
/* The same with data = the JSON text data (len bytes, an object the caller rendered). */
void webhook_payload_raw(struct buf *b, enum webhook_event e, const char *data, size_t len,
                         si_ms now);

#endif
