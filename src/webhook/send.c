/* libcurl POSTs of webhook deliveries (see send.h). */
#include "send.h"

#include "common/buf.h"
#include "common/log.h"
#include "common/xalloc.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_MAX 256

struct sender {
    CURL *curl; /* made at the thread's first POST */
};

static pthread_mutex_t curl_lock = PTHREAD_MUTEX_INITIALIZER;
static bool curl_started; /* by curl_start, until webhook_global_cleanup */

/* libcurl's global set-up, at the first need of it (a POST, or the CA bundle at start-up), not
 * when serve starts: it sets up OpenSSL, ~2.3 MiB of a process's resident memory, which a server
 * that never sends a webhook (and mails to a Maildir) does without. Reference counted by
 * libcurl, so the SMTP transport's own call does not clash. */
static bool curl_start(void)
{
    pthread_mutex_lock(&curl_lock);
    if (!curl_started)
        curl_started = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    bool ok = curl_started;
    pthread_mutex_unlock(&curl_lock);
    return ok;
}

void webhook_global_cleanup(void)
{
    pthread_mutex_lock(&curl_lock);
    if (curl_started)
        curl_global_cleanup();
    curl_started = false;
    pthread_mutex_unlock(&curl_lock);
}

/* Appends the file at path to b; false when it cannot be read whole. */
static bool append_file(struct buf *b, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    char chunk[8192];
    size_t n;
    bool ok = true;
    while (ok && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        ok = buf_append(b, chunk, n) == SI_OK;
    ok = ok && !ferror(f);
    fclose(f);
    return ok && buf_puts(b, "\n") == SI_OK;
}

enum si_err webhook_ca_bundle(const char *extra_path, char **out, size_t *len)
{
    struct buf b;
    char *system = NULL;
    buf_init(&b, WEBHOOK_CA_MAX);
    CURL *c = curl_start() ? curl_easy_init() : NULL;
    /* The system store as libcurl would use it; none (a build without a default) is fine. */
    if (c && curl_easy_getinfo(c, CURLINFO_CAINFO, &system) == CURLE_OK && system &&
        !append_file(&b, system))
        log_warn("webhooks: cannot read the system CA file %s; trusting %s only", system,
                 extra_path);
    curl_easy_cleanup(c);
    size_t before = b.len;
    if (!append_file(&b, extra_path) ||
        !memmem(b.data + before, b.len - before, "BEGIN CERTIFICATE", 17)) {
        log_error("webhooks: webhook-ca-file %s: not a readable PEM bundle (at most %u bytes "
                  "with the system store)",
                  extra_path, WEBHOOK_CA_MAX);
        buf_cleanup(&b);
        return SI_EINVAL;
    }
    *len = b.len;
    *out = buf_take(&b);
    return SI_OK;
}

struct sender *sender_new(void)
{
    return xcalloc(1, sizeof(struct sender));
}

void sender_free(struct sender *s)
{
    if (!s)
        return;
    curl_easy_cleanup(s->curl);
    free(s);
}

/* The answer's body is not read: a receiver's reply means nothing but its status. */
static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}

static struct curl_slist *add_header(struct curl_slist *l, const char *name, const char *value)
{
    char line[HEADER_MAX + WEBHOOK_URL_MAX];
    snprintf(line, sizeof line, "%s: %s", name, value);
    struct curl_slist *n = curl_slist_append(l, line);
    if (!n)
        abort(); /* out of memory: the server aborts (STYLE.md) */
    return n;
}

/* "-host:port" forgets a pinned address of an earlier POST; "host:port:addr" pins this one, so
 * curl connects to the address we checked and not to whatever a second lookup returns. */
static struct curl_slist *pin(const struct send_request *r)
{
    char forget[WEBHOOK_HOST_MAX + 16], entry[WEBHOOK_HOST_MAX + RESOLVE_TEXT_MAX + 20];
    const char *lb = r->addr->v6 ? "[" : "", *rb = r->addr->v6 ? "]" : "";
    snprintf(forget, sizeof forget, "-%s:%d", r->parsed->host, r->parsed->port);
    snprintf(entry, sizeof entry, "%s:%d:%s%s%s", r->parsed->host, r->parsed->port, lb,
             r->addr->text, rb);
    struct curl_slist *l = curl_slist_append(NULL, forget);
    struct curl_slist *n = l ? curl_slist_append(l, entry) : NULL;
    if (!n)
        abort();
    return n;
}

static void set_options(CURL *c, const struct send_request *r, struct curl_slist *headers,
                        struct curl_slist *resolve)
{
    curl_easy_setopt(c, CURLOPT_URL, r->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, r->allow_http ? "http,https" : "https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, r->connect_timeout_s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, r->timeout_s);
    curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
    if (r->ca_pem) {
        /* Not copied for each POST (the bundle is ~220 kB): it outlives every handle. */
        struct curl_blob ca = {
            .data = (void *)r->ca_pem, .len = r->ca_len, .flags = CURL_BLOB_NOCOPY};
        curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "siteinvites-webhooks/" SI_VERSION);
}

enum si_err sender_post(struct sender *s, const struct send_request *r, int *status,
                        char error[SEND_ERROR_MAX])
{
    if (!s->curl && (!curl_start() || !(s->curl = curl_easy_init()))) {
        *status = 0;
        snprintf(error, SEND_ERROR_MAX, "libcurl does not start");
        return SI_EIO;
    }
    char ts[24];
    snprintf(ts, sizeof ts, "%lld", r->ts_s);
    struct curl_slist *h = add_header(NULL, "Content-Type", "application/json");
    h = add_header(h, "webhook-id", r->msg_id);
    h = add_header(h, "webhook-timestamp", ts);
    h = add_header(h, "webhook-signature", r->signature);
    h = add_header(h, "Expect", ""); /* no 100-continue round trip */
    struct curl_slist *resolve = pin(r);
    set_options(s->curl, r, h, resolve);
    CURLcode cc = curl_easy_perform(s->curl);
    long code = 0;
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
    /* The lists are owned by us, not the handle: clear the pointers before freeing them. */
    curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(s->curl, CURLOPT_RESOLVE, NULL);
    curl_slist_free_all(h);
    curl_slist_free_all(resolve);
    *status = cc == CURLE_OK ? (int)code : 0;
    if (cc != CURLE_OK) {
        snprintf(error, SEND_ERROR_MAX, "%s",
                 cc == CURLE_OPERATION_TIMEDOUT ? "timeout" : curl_easy_strerror(cc));
        return SI_EIO;
    }
    if (code < 200 || code > 299) {
        snprintf(error, SEND_ERROR_MAX, "HTTP %ld", code);
        return SI_EIO;
    }
    error[0] = '\0';
    return SI_OK;
}
