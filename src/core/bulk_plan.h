/* The rule of Bulk Invite: what happens to each address of a call, decided from the facts a
 * store loaded (existing invite, contributor, seats), so every backend decides alike. */
#ifndef SI_CORE_BULK_PLAN_H
#define SI_CORE_BULK_PLAN_H

#include "core/invite.h"

#include <stdbool.h>
#include <stdint.h>

enum bulk_outcome {
    BULK_CREATED,             /* invite is the new row, its email queued */
    BULK_EXISTING,            /* a Pending invite existed; invite is that row, nothing sent */
    BULK_ALREADY_CONTRIBUTOR, /* email is already a contributor of the site */
    BULK_LIMIT_REACHED,       /* no seat left */
};

struct bulk_item {
    /* in: a fully prepared new invite (id, salt, email, email_key, policies, times ...). */
    /* out: replaced by the existing row when outcome is BULK_EXISTING. */
    struct invite invite;
    enum bulk_outcome outcome; /* out */
};

/* What a store found for one address of a call, before it is decided. */
struct bulk_facts {
    /* An unexpired Pending invite of the site has the address: a stored one, or one an earlier
     * item of the same call created. */
    bool pending;
    /* A contributor of the site has the address. Only read when pending is false, so a store
     * may skip loading it once it found a pending invite. */
    bool contributor;
};

/* The seats of a site while a call is decided: taken ones (unexpired Pending invites plus
 * contributors, including the invites this call created so far) and the site's limit. */
struct bulk_seats {
    int64_t used;
    int64_t limit;
};

/* Decides one item from its facts, in this order: an existing Pending invite wins
 * (BULK_EXISTING: the store hands back that row instead of it->invite), then a contributor
 * (BULK_ALREADY_CONTRIBUTOR), then the seat limit (BULK_LIMIT_REACHED); otherwise BULK_CREATED:
 * the item takes a seat (seats->used grows by one) and it->invite becomes the row to insert,
 * in site_id with its first email queued. Sets it->outcome and returns it. Pure and allocation
 * free: it runs once per address on the bulk hot path. */
enum bulk_outcome bulk_plan_item(struct bulk_item *it, const struct bulk_facts *f,
                                 struct bulk_seats *seats, const char *site_id);

#endif
