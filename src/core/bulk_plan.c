/* The per-address decision of Bulk Invite: existing invite, contributor, seat limit. */
#include "core/bulk_plan.h"

#include <string.h>

/* Completes a new invite as the row a store inserts: the caller prepared everything else. */
static void prepare_new(struct invite *v, const char *site_id)
{
    size_t n = strnlen(site_id, sizeof v->site_id - 1);
    memcpy(v->site_id, site_id, n);
    v->site_id[n] = '\0';
    /* Its first email is queued in the same transaction, so a reader sees it Queued. */
    v->delivery = (struct delivery){.status = DELIVERY_QUEUED};
}

enum bulk_outcome bulk_plan_item(struct bulk_item *it, const struct bulk_facts *f,
                                 struct bulk_seats *seats, const char *site_id)
{
    /* An existing invite is handed back even when the site is full: asking twice for one
     * address must not fail because the first call took the last seat. */
    if (f->pending)
        it->outcome = BULK_EXISTING;
    else if (f->contributor)
        it->outcome = BULK_ALREADY_CONTRIBUTOR;
    else if (seats->used >= seats->limit)
        it->outcome = BULK_LIMIT_REACHED;
    else {
        prepare_new(&it->invite, site_id);
        seats->used++;
        it->outcome = BULK_CREATED;
    }
    return it->outcome;
}
