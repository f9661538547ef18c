/* Small helpers over the domain types: ownership, status names, lazy expiry. */
#include "invite.h"

#include "common/xalloc.h"

#include <stdlib.h>
#include <string.h>

#define INVITE_STATUS_NAME(e, name) [e] = name,
static const char *const status_names[] = {INVITE_STATUSES(INVITE_STATUS_NAME)};
#undef INVITE_STATUS_NAME

void invite_cleanup(struct invite *inv)
{
    free(inv->purpose);
    inv->purpose = NULL;
}

void site_cleanup(struct site *s)
{
    free(s->settings);
    s->settings = NULL;
}

void sites_free(struct site *sites, size_t n)
{
    for (size_t i = 0; sites && i < n; i++)
        site_cleanup(&sites[i]);
    free(sites);
}

const struct site_settings *site_settings_of(const struct site *s)
{
    static const struct site_settings unset; /* every member's zero is "not set" */
    return s->settings ? s->settings : &unset;
}

void site_settings_put(struct site *s, const struct site_settings *set)
{
    site_cleanup(s);
    if (set->accept_redirect_url[0] || set->reminder_days || set->allowed_domains[0]) {
        s->settings = xmalloc(sizeof *s->settings);
        *s->settings = *set;
    }
}

void invite_copy(struct invite *dst, const struct invite *src)
{
    *dst = *src;
    dst->purpose = xstrdup(src->purpose);
}

void policy_list_copy(struct policy_list *dst, const struct policy_list *src)
{
    dst->n = src->n;
    memcpy(dst->ids, src->ids, (size_t)src->n * sizeof src->ids[0]);
}

enum invite_status invite_status_at(const struct invite *inv, si_ms now)
{
    if (inv->status == INVITE_PENDING && inv->expires <= now)
        return INVITE_EXPIRED;
    return inv->status;
}

const char *invite_status_name(enum invite_status s)
{
    if ((size_t)s >= sizeof status_names / sizeof status_names[0])
        return "Unknown";
    return status_names[s];
}

bool invite_status_parse(const char *name, enum invite_status *out)
{
    for (size_t i = 0; i < sizeof status_names / sizeof status_names[0]; i++) {
        if (strcmp(name, status_names[i]) == 0) {
            *out = (enum invite_status)i;
            return true;
        }
    }
    return false;
}

const char *delivery_status_name(enum delivery_status s)
{
    switch (s) {
    case DELIVERY_QUEUED:
        return "Queued";
    case DELIVERY_SENT:
        return "Sent";
    case DELIVERY_FAILED:
        return "Failed";
    case DELIVERY_CANCELLED:
        return "Cancelled";
    case DELIVERY_NONE:
        break;
    }
    return NULL;
}

enum delivery_status delivery_status_parse(const char *name)
{
    for (int i = DELIVERY_QUEUED; name && i <= DELIVERY_CANCELLED; i++)
        if (strcmp(name, delivery_status_name((enum delivery_status)i)) == 0)
            return (enum delivery_status)i;
    return DELIVERY_NONE;
}
