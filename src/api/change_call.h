/* Changing one invite without holding an HTTP thread: resend, revoke and update hand their
 * decision function to store_invite_change_async and answer when the store has decided, as
 * bulk.h does for creates. */
#ifndef SI_API_CHANGE_CALL_H
#define SI_API_CHANGE_CALL_H

#include "request/request.h"
#include "store/store.h"

struct change_call;
/* Answers once the store has decided: call->rc is the result, call->out the row (rc SI_OK). */
typedef void (*change_finish_fn)(struct request *req, struct change_call *call);

/* The state of one deferred change. A handler embeds it as the FIRST member of its own
 * heap-allocated struct (which holds the decision function's context), so that freeing the
 * change call frees everything. */
struct change_call {
    char id[SI_ID_LEN]; /* the invite, normalised */
    si_ms now;
    struct invite out; /* the row as written (filled when rc is SI_OK) */
    enum si_err rc;
    change_finish_fn finish;
    struct audit_actor actor; /* who changes it (the audit log): set by the caller (the
                               * console's owner), or left zeroed for the request's API key */
};

/* Queues the change of call->id (fn deciding with fn_ctx, which must live inside the same
 * allocation as call) and defers the answer (request_defer); finish answers once the store
 * has decided. read_back asks for the written row in call->out. The request owns the
 * allocation from here on and frees it (invite_cleanup of out, then free(call)) when it ends. */
void change_execute_deferred(struct request *req, struct change_call *call, invite_change_fn fn,
                             void *fn_ctx, bool read_back, change_finish_fn finish);

#endif
