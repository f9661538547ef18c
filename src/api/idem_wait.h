/* Where a request waits while its twin (the same Idempotency-Key and request) is still running:
 * one thread looks at every waiting key's record until the twin has finished or the wait is
 * over, then wakes the request. The request's connection is suspended meanwhile, so no HTTP
 * thread is held; the twin may run in this process or in another server on the database. */
#ifndef SI_API_IDEM_WAIT_H
#define SI_API_IDEM_WAIT_H

#include "common/clock.h"
#include "common/err.h"
#include "request/request.h"
#include "store/store.h"

#define IDEM_WAIT_POLL_MS 25 /* between looks at a waiting key's record */

/* One waiting request; owned by the request (its deferred context), lent to the waiter from
 * idem_waiter_add until the waiter wakes the request. */
struct idem_wait {
    struct request *req;
    struct idem_claim claim; /* its strings point into req */
    int64_t deadline_ms;     /* monotonic: answer IN_USE from then on */
    enum si_err rc;          /* out: a store failure while looking */
    struct idem_outcome out; /* out: the last look's outcome (body heap) */
    struct idem_wait *next;
};

struct idem_waiter;

/* Starts the waiting thread; store is borrowed and must outlive idem_waiter_stop. */
enum si_err idem_waiter_start(struct store *store, struct idem_waiter **out) SI_MUST_USE;

/* Stops the thread once nobody waits (the HTTP servers are stopped first: they wait for their
 * suspended requests) and frees it. NULL is accepted. */
void idem_waiter_stop(struct idem_waiter *w);

/* Hands e over (the request must already be deferred); e->rc and e->out are set and
 * request_wake(e->req) called once the twin finished, the deadline passed, or a look failed.
 * Thread-safe. */
void idem_waiter_add(struct idem_waiter *w, struct idem_wait *e);

/* Says a claimed request just finished: the waiter looks again now instead of at its next
 * poll. Thread-safe; NULL is accepted. */
void idem_waiter_poke(struct idem_waiter *w);

/* The monotonic clock the deadlines use, in milliseconds. */
int64_t idem_wait_now_ms(void);

#endif
