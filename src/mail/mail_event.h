/* The invite.delivery_failed webhook event of an email the outbox gave up on. */
#ifndef SI_MAIL_MAIL_EVENT_H
#define SI_MAIL_MAIL_EVENT_H

#include "store/store.h"

/* Writes invite.delivery_failed about msg's invite, as it stood when claimed, at now (for the
 * site's subscribed endpoints; nothing when none). Called after store_outbox_failed stored the
 * give-up; a failure is logged, never returned: the email's outcome is already recorded. */
void mail_failed_event(struct store *store, const struct outbox_msg *msg, si_ms now);

#endif
