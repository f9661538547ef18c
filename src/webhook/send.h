/* One webhook POST over libcurl to an address already checked: the only file of the webhook
 * room that includes curl.h. */
#ifndef SI_WEBHOOK_SEND_H
#define SI_WEBHOOK_SEND_H

#include "common/err.h"
#include "common/resolve.h"
#include "core/webhook.h"
#include "core/webhook_addr.h"

#include <stdbool.h>
#include <stddef.h>

#define SEND_ERROR_MAX 256

/* A connection cache of one thread: reused for every POST that thread makes. */
struct sender;

struct send_request {
    const char *url;
    const struct webhook_url *parsed;
    const struct resolved_addr *addr; /* the checked address to connect to */
    const char *msg_id, *signature;
    long long ts_s;
    const char *body;
    size_t len;
    bool allow_http;
    long connect_timeout_s, timeout_s;
    const char *ca_pem; /* NULL: libcurl's default CA store; else this PEM bundle, borrowed */
    size_t ca_len;
};

#define WEBHOOK_CA_MAX (8u << 20) /* the whole trusted bundle, system store included */

/* libcurl's global set-up happens at the first POST (or webhook_ca_bundle), not at start-up;
 * this releases it, if it happened, once no sender is left. */
void webhook_global_cleanup(void);

/* The PEM bundle a webhook POST trusts with webhook-ca-file: libcurl's default CA file (the
 * system store) followed by the PEM certificates of extra_path, into *out (heap, NUL-terminated,
 * the caller frees) and *len. SI_EINVAL (logged) when extra_path cannot be read, holds no
 * "BEGIN CERTIFICATE" or the bundle passes WEBHOOK_CA_MAX. Call at start-up. */
enum si_err webhook_ca_bundle(const char *extra_path, char **out, size_t *len) SI_MUST_USE;

/* A sender holds no connection until its first POST. */
struct sender *sender_new(void);
void sender_free(struct sender *s);

/* POSTs r->body to r->url connected to r->addr only (the name keeps serving TLS verification
 * and the Host header), following no redirect. *status gets the HTTP status (0 when none came);
 * SI_OK for a 2xx, else SI_EIO with error filled ("HTTP 500", "timeout", "libcurl does not
 * start", ...). */
enum si_err sender_post(struct sender *s, const struct send_request *r, int *status,
                        char error[SEND_ERROR_MAX]) SI_MUST_USE;

#endif
