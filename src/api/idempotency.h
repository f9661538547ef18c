/* The request-level side of Idempotency-Key (docs/IDEMPOTENCY.md): claim the key before the
 * handler runs, record its final answer, replay a recorded answer, refuse a reused key, and
 * let a twin wait for the request still running. core/idempotency.h holds the rules. */
#ifndef SI_API_IDEMPOTENCY_H
#define SI_API_IDEMPOTENCY_H

#include "request/request.h"

/* Runs handler for req (authenticated, body parsed) under its Idempotency-Key: without the
 * header, handler just runs. An invalid key is answered 400 (validationError, field
 * "Idempotency-Key"); otherwise the key's record decides (core's idem_decide): run and record
 * the answer once final (a 5xx or 429 releases the key instead), replay the recorded answer
 * with Idempotent-Replayed, 409 IDEMPOTENCY_KEY_REUSED, or wait (deferred, connection
 * suspended) for the running twin and replay its answer, else 409 IDEMPOTENCY_KEY_IN_USE.
 * On an HTTP thread. */
void api_idempotent(struct request *req, void (*handler)(struct request *req));

#endif
