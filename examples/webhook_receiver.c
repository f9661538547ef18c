/* Example: a webhook receiver for siteinvites that checks every delivery's Standard Webhooks
 * signature before trusting it, and prints the event type and webhook-id of each good one.
 *
 *     SI_WEBHOOK_SECRET=whsec_... ./example_webhook_receiver 9000
 *
 * then register http://127.0.0.1:9000/ (serve --allow-http-webhooks, for local tests) or put it
 * behind an HTTPS proxy. Answers 204 to a verified delivery, 401 otherwise; a receiver should
 * also drop a webhook-id it has seen (deliveries are at least once) and refuse old timestamps.
 * Uses libmicrohttpd and libsodium only; nothing of siteinvites itself. */
#include <microhttpd.h>
#include <sodium.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BODY_MAX      (1024 * 1024)
#define TOLERANCE_S   300 /* refuse a timestamp further than this from our clock */
#define KEY_MAX       64
#define SIGNATURE_MAX 64

static unsigned char key[KEY_MAX];
static size_t key_len;

struct upload {
    char *body;
    size_t len;
    int too_big;
};

/* HMAC-SHA256 over "id.timestamp.body" with the secret's key, base64 into out. */
static void expected(const char *id, const char *ts, const struct upload *u,
                     char out[SIGNATURE_MAX])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, key_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)id, strlen(id));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, strlen(ts));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)u->body, u->len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2base64(out, SIGNATURE_MAX, mac, sizeof mac, sodium_base64_VARIANT_ORIGINAL);
}

/* Whether any "v1,<sig>" of the space-separated header value equals want (constant time). */
static int any_matches(const char *header, const char *want)
{
    size_t wl = strlen(want);
    for (const char *p = header; *p;) {
        size_t n = strcspn(p, " ");
        if (n == wl + 3 && strncmp(p, "v1,", 3) == 0 && sodium_memcmp(p + 3, want, wl) == 0)
            return 1;
        p += n;
        p += strspn(p, " ");
    }
    return 0;
}

static int verified(struct MHD_Connection *c, const struct upload *u)
{
    const char *id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "webhook-id");
    const char *ts = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "webhook-timestamp");
    const char *sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "webhook-signature");
    if (!id || !ts || !sig || u->too_big)
        return 0;
    long long t = strtoll(ts, NULL, 10), now = (long long)time(NULL);
    if (t < now - TOLERANCE_S || t > now + TOLERANCE_S)
        return 0;
    char want[SIGNATURE_MAX];
    expected(id, ts, u, want);
    return any_matches(sig, want);
}

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Prints the "type" member of a verified body (a plain scan: this example has no JSON parser). */
static void print_event(struct MHD_Connection *c, const struct upload *u)
{
    const char *type = memmem(u->body, u->len, "\"type\":\"", 8);
    int n = 0;
    if (type) {
        /* The body is not NUL-terminated: the closing quote is looked for within it only. */
        type += 8;
        const char *end = memchr(type, '"', (size_t)(u->body + u->len - type));
        n = end ? (int)(end - type) : 0;
    }
    printf("%.*s %s\n", n, type ? type : "?",
           MHD_lookup_connection_value(c, MHD_HEADER_KIND, "webhook-id"));
    fflush(stdout);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **state)
{
    (void)cls;
    (void)url;
    (void)version;
    struct upload *u = *state;
    if (strcmp(method, "POST") != 0)
        return answer(c, MHD_HTTP_METHOD_NOT_ALLOWED);
    if (!u) {
        *state = u = calloc(1, sizeof *u);
        return u ? MHD_YES : MHD_NO;
    }
    if (*size) {
        char *grown = u->len + *size > BODY_MAX ? NULL : realloc(u->body, u->len + *size + 1);
        if (grown) {
            u->body = grown;
            memcpy(u->body + u->len, data, *size);
            u->len += *size;
        } else {
            u->too_big = 1;
        }
        *size = 0;
        return MHD_YES;
    }
    if (!verified(c, u))
        return answer(c, MHD_HTTP_UNAUTHORIZED);
    print_event(c, u);
    return answer(c, MHD_HTTP_NO_CONTENT);
}

static void on_done(void *cls, struct MHD_Connection *c, void **state,
                    enum MHD_RequestTerminationCode code)
{
    (void)cls;
    (void)c;
    (void)code;
    struct upload *u = *state;
    if (u)
        free(u->body);
    free(u);
}

int main(int argc, char **argv)
{
    const char *secret = getenv("SI_WEBHOOK_SECRET");
    if (argc != 2 || !secret || strncmp(secret, "whsec_", 6) != 0 || sodium_init() < 0 ||
        sodium_base642bin(key, sizeof key, secret + 6, strlen(secret + 6), NULL, &key_len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
        fprintf(stderr, "usage: SI_WEBHOOK_SECRET=whsec_... %s PORT\n", argv[0]);
        return 2;
    }
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, (uint16_t)atoi(argv[1]),
        NULL, NULL, on_request, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "cannot listen on port %s\n", argv[1]);
        return 1;
    }
    printf("listening %s\n", argv[1]);
    fflush(stdout);
    pause(); /* until a signal ends the process */
    MHD_stop_daemon(d);
    return 0;
}
