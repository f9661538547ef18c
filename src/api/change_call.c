/* Deferred invite changes (change_call.h): the store's thread decides and writes, the HTTP
 * thread answers. */
#include "api/audit.h"
#include "api/change_call.h"

#include <stdlib.h>

/* Runs on the store's thread: records the result and wakes the request, nothing more. */
static void store_done(void *ctx, enum si_err rc)
{
    struct request *req = ctx;
    struct change_call *call = req->finish_ctx;
    call->rc = rc;
    request_wake(req);
}

/* Runs on an HTTP thread once the store has decided. */
static void finish_call(struct request *req, void *ctx)
{
    struct change_call *call = ctx;
    call->finish(req, call);
}

static void free_call(void *ctx)
{
    struct change_call *call = ctx;
    invite_cleanup(&call->out);
    free(call); /* the handler's struct, of which call is the first member */
}

void change_execute_deferred(struct request *req, struct change_call *call, invite_change_fn fn,
                             void *fn_ctx, bool read_back, change_finish_fn finish)
{
    call->finish = finish;
    call->rc = SI_OK;
    /* An actor the caller set (the console's owner) stays; else the request's API key. */
    const struct audit_actor *actor =
        call->actor.type != AUDIT_ACTOR_NONE ? &call->actor : api_audit_actor(req, &call->actor);
    request_defer(req, finish_call, call, free_call);
    store_invite_change_async(req->app->store, req->site.id, call->id, call->now, actor, fn, fn_ctx,
                              read_back ? &call->out : NULL, store_done, req);
}
