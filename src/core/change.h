/* A change of one stored invite as core decides it: the row and resend-window facts a store
 * loaded, and what the decision function chose to write back. */
#ifndef SI_CORE_CHANGE_H
#define SI_CORE_CHANGE_H

#include "common/err.h"
#include "core/invite.h"

#include <stdbool.h>

/* The resend window: emails of an invite queued after now - CHANGE_WINDOW_MS count against
 * SI_RESENDS_PER_DAY. */
#define CHANGE_WINDOW_MS SI_MS_PER_DAY

enum outbox_effect {
    OUTBOX_KEEP,    /* the invite's queued mail is left alone */
    OUTBOX_ENQUEUE, /* queue a new email for the invite (resend) */
    OUTBOX_CANCEL,  /* cancel every email of the invite not yet handed to a server */
};

struct invite_change {
    struct invite inv;           /* in: the stored row; out: the row to write back */
    int sends_in_window;         /* in: emails queued for it after now - 24 h (any later too) */
    si_ms oldest_send_in_window; /* in: creation time of the oldest of those (0 if none) */
    enum outbox_effect outbox;   /* out, default OUTBOX_KEEP */
    bool write;                  /* out, default false: nothing to store (idempotent call) */
};

/* Decides a change inside the store's transaction. Returns SI_OK to commit (if write is set),
 * anything else to roll back and make store_invite_change return that code. Pure: it reads
 * only c, ctx and now. */
typedef enum si_err (*invite_change_fn)(struct invite_change *c, void *ctx, si_ms now);

/* Where the resend window of a change decided at now starts: a store loads the invite's emails
 * queued strictly after it into sends_in_window and oldest_send_in_window. */
static inline si_ms change_window_start(si_ms now)
{
    return now - CHANGE_WINDOW_MS;
}

#endif
