/* Webhook rules: event names, secrets, Standard Webhooks signatures, retries, auto-disable. */
#include "webhook.h"

#include "common/jsonw.h"
#include "common/seal.h"
#include "core/invite_view.h"

#include <stdio.h>
#include <string.h>

static const char *const event_names[] = {
#define WH_NAME(e, name) name,
    WEBHOOK_EVENTS(WH_NAME)
#undef WH_NAME
};

const char *webhook_event_name(enum webhook_event e)
{
    return (unsigned)e < WH_EVENT_COUNT ? event_names[e] : "";
}

bool webhook_event_parse(const char *name, enum webhook_event *out)
{
    for (unsigned i = 0; i < WH_EVENT_COUNT; i++) {
        if (strcmp(name, event_names[i]) == 0) {
            *out = (enum webhook_event)i;
            return true;
        }
    }
    return false;
}

bool webhook_contributor_event(enum audit_action action, enum webhook_event *out)
{
    switch (action) {
    case AUDIT_CONTRIBUTOR_ROLE_CHANGED:
        *out = WH_CONTRIBUTOR_ROLE_CHANGED;
        return true;
    case AUDIT_CONTRIBUTOR_REMOVED:
        *out = WH_CONTRIBUTOR_REMOVED;
        return true;
    default:
        return false;
    }
}

enum webhook_event webhook_change_event(const struct invite_change *ch)
{
    if (ch->inv.status == INVITE_DELETED)
        return WH_INVITE_REVOKED;
    if (ch->outbox == OUTBOX_ENQUEUE)
        return WH_INVITE_RESENT;
    return WH_INVITE_UPDATED;
}

void webhook_secret_new(const struct random_source *rng, uint8_t key[WEBHOOK_KEY_LEN],
                        char text[WEBHOOK_SECRET_TEXT_MAX])
{
    random_fill(rng, key, WEBHOOK_KEY_LEN);
    size_t p = sizeof WEBHOOK_SECRET_PREFIX - 1;
    memcpy(text, WEBHOOK_SECRET_PREFIX, p);
    b64_encode(text + p, key, WEBHOOK_KEY_LEN);
}

enum si_err webhook_secret_parse(const char *text, uint8_t key[WEBHOOK_KEY_LEN])
{
    size_t p = sizeof WEBHOOK_SECRET_PREFIX - 1, n = 0;
    if (strncmp(text, WEBHOOK_SECRET_PREFIX, p) != 0)
        return SI_EINVAL;
    uint8_t tmp[WEBHOOK_KEY_LEN + 3];
    enum si_err rc = b64_decode(text + p, strlen(text + p), tmp, sizeof tmp, &n);
    if (!rc && n != WEBHOOK_KEY_LEN)
        rc = SI_EINVAL;
    if (!rc)
        memcpy(key, tmp, WEBHOOK_KEY_LEN);
    secure_wipe(tmp, sizeof tmp);
    return rc;
}

enum si_err webhook_sign(char *sig, size_t cap, const uint8_t *key, size_t key_len,
                         const char *msg_id, int64_t ts_s, const char *body, size_t len)
{
    /* The signed content is "id.timestamp.body", fed to the HMAC in two parts so the body
     * is never copied. */
    char head[WEBHOOK_MSG_ID_MAX + 32];
    int hn = snprintf(head, sizeof head, "%s.%lld.", msg_id, (long long)ts_s);
    if (hn < 0 || (size_t)hn >= sizeof head)
        return SI_EINVAL;
    uint8_t mac[SEAL_MAC_LEN];
    seal_hmac_sha256(mac, key, key_len, head, (size_t)hn, body, len);
    size_t used = strlen(sig), need = (used ? 1 : 0) + 3 + b64_len(SEAL_MAC_LEN) + 1;
    if (used + need > cap)
        return SI_ETOOBIG;
    if (used)
        sig[used++] = ' ';
    memcpy(sig + used, "v1,", 3);
    b64_encode(sig + used + 3, mac, SEAL_MAC_LEN);
    return SI_OK;
}

si_ms webhook_next_due(si_ms now, si_ms created, int tries, si_ms base, si_ms give_up, uint32_t rnd)
{
    si_ms d = base > 0 ? base : WEBHOOK_RETRY_BASE_MS;
    if (give_up <= 0)
        give_up = WEBHOOK_GIVE_UP_MS;
    for (int i = 1; i < tries && d < WEBHOOK_RETRY_CAP_MS; i++)
        d *= 4;
    if (d > WEBHOOK_RETRY_CAP_MS)
        d = WEBHOOK_RETRY_CAP_MS;
    /* rnd / 2^32 in [0, 1) maps to a factor in [1 - j, 1 + j). */
    si_ms span = d * WEBHOOK_JITTER_PCT / 100;
    si_ms due = now + d - span + (si_ms)(((uint64_t)rnd * (uint64_t)(2 * span)) >> 32);
    return due - created > give_up ? 0 : due;
}

bool webhook_should_disable(si_ms failing_since, si_ms now, si_ms disable_after)
{
    if (disable_after <= 0)
        disable_after = WEBHOOK_DISABLE_AFTER_MS;
    return failing_since > 0 && now - failing_since >= disable_after;
}

/* {"type":"...","timestamp":"...","data": — the part every payload starts with. */
static void payload_head(struct buf *b, enum webhook_event e, si_ms now)
{
    buf_xappend(b, "{", 1);
    jw_member_str(b, "type", webhook_event_name(e));
    jw_member_time(b, "timestamp", now);
    buf_xappend(b, ",", 1);
    jw_key(b, "data");
}

void webhook_payload_invite(struct buf *b, enum webhook_event e, const struct invite *inv,
                            si_ms now)
{
    payload_head(b, e, now);
    invite_view_write(b, inv, now, NULL, true);
    buf_xappend(b, "}", 1);
}

void webhook_payload_raw(struct buf *b, enum webhook_event e, const char *data, size_t len,
                         si_ms now)
{
    payload_head(b, e, now);
    buf_xappend(b, data, len);
    buf_xappend(b, "}", 1);
}
