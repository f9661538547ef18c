/* The rules of Idempotency-Key, written once for both stores: which keys are valid, the
 * fingerprint of a request, what a stored record means for a new request with its key, which
 * answers are kept, and how an answer is sealed (accept-link tags taken out) before it is
 * stored. No I/O and no clock: times are passed in. */
#ifndef SI_CORE_IDEMPOTENCY_H
#define SI_CORE_IDEMPOTENCY_H

#include "common/buf.h"
#include "common/clock.h"
#include "common/secure.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDEM_KEY_MAX    255                  /* bytes of a key: 1..255 printable ASCII */
#define IDEM_FP_LEN     SECURE_HASH_LEN      /* bytes of a request fingerprint */
#define IDEM_TTL_MS     (24 * 3600 * 1000LL) /* a record answers its key for this long */
#define IDEM_LEASE_MS   (60 * 1000LL)        /* a claim not finished by then may be taken over */
#define IDEM_WAIT_MS    (10 * 1000LL)        /* how long a twin waits for the first to finish */
#define IDEM_STATE_RUN  0                    /* stored state: claimed, the handler is running */
#define IDEM_STATE_DONE 1                    /* stored state: the answer is recorded */

/* What a key's stored record holds, as far as the decision needs it. */
struct idem_row {
    int state; /* IDEM_STATE_RUN or IDEM_STATE_DONE */
    uint8_t fingerprint[IDEM_FP_LEN];
    si_ms lease_until; /* IDEM_STATE_RUN: the claim holds until then */
    si_ms expires;     /* the record is void from then on (and swept) */
};

/* What a request with a key does, given the key's record. */
enum idem_verdict {
    IDEM_RUN,    /* no live record (none, expired, or an abandoned claim): claim it and run */
    IDEM_REPLAY, /* the same request finished: answer the recorded answer again */
    IDEM_REUSED, /* the key was used for another request: 409 IDEMPOTENCY_KEY_REUSED */
    IDEM_IN_USE, /* the same request is still running: wait for it, or 409 IN_USE */
};

/* Whether key (NUL-terminated) is 1..IDEM_KEY_MAX bytes of printable ASCII (0x20..0x7e). */
bool idem_key_valid(const char *key);

/* out = the fingerprint of a request: a hash of its method name, path, site ID (may be "" for
 * account routes) and body (len bytes, may be 0). Two requests are "the same" for a key exactly
 * when their fingerprints are equal. Thread-safe. */
void idem_fingerprint(const char *method, const char *path, const char *site_id, const void *body,
                      size_t len, uint8_t out[IDEM_FP_LEN]);

/* The decision for a request with fingerprint fp at time now, given the key's record (NULL:
 * none). An expired record counts as none; a running claim whose lease is over is abandoned
 * (its server died) and may be run again. */
enum idem_verdict idem_decide(const struct idem_row *row, const uint8_t fp[IDEM_FP_LEN], si_ms now);

/* Whether an answer of this status is recorded for replay: every answer below 500 but 429 (so
 * a retry sees the same error), while a 5xx or a 429 releases the key so a retry runs again. */
bool idem_keeps(unsigned status);

/* The record's lifetime: ttl_override_ms when > 0 (a test setting), else IDEM_TTL_MS. */
si_ms idem_ttl(si_ms ttl_override_ms);

/* Appends to out the answer text (len bytes of JSON we wrote) with the tag taken out of every
 * acceptLink token: what is stored holds only what the database already has (an old link's
 * salt, a version 2 link's version byte and invite ID; core/token.h), so a
 * database reader cannot use a stored answer's links. The secret checks each token. SI_EINVAL
 * (out unspecified) if an acceptLink does not hold a token of ours. */
enum si_err idem_seal(const uint8_t secret[SECURE_KEY_LEN], const char *text, size_t len,
                      struct buf *out) SI_MUST_USE;

/* Appends to out the original answer from sealed text: every sealed acceptLink gets its token
 * back, derived from the secret. SI_EINVAL if a sealed link is malformed. */
enum si_err idem_unseal(const uint8_t secret[SECURE_KEY_LEN], const char *text, size_t len,
                        struct buf *out) SI_MUST_USE;

#endif
