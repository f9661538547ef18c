/* The client object and its transport: configuration, the reused libcurl handle, and the one
 * function that sends a request and hands back the parsed answer or a filled error. */
#include "client_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define USER_AGENT_DEFAULT "siteinvites-client/" CLIENT_VERSION
#define HEADER_LINE_MAX    4096 /* one "Name: value" line we build */
#define ANSWER_INITIAL_CAP 4096
#define REQUEST_ID_HEADER  "x-wix-request-id"
#define RETRY_AFTER_HEADER "retry-after"
#define REPLAYED_HEADER    "idempotent-replayed"
#define IDEM_HEADER        "Idempotency-Key"
#define IDEM_KEY_MAX       255 /* bytes of a key, as the server checks (docs/IDEMPOTENCY.md) */
#define RETRY_AFTER_MAX_S  (7L * 24 * 3600) /* a larger value is treated as this */
#define CA_BUNDLE_ENV      "CURL_CA_BUNDLE"

/* libcurl's global init is not ours to hide inside si_client_new: before 7.84 it is not
 * thread-safe, and a program may already own it. So the caller calls it, once. */
enum si_client_rc si_client_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? SI_CLIENT_OK : SI_CLIENT_E_TRANSPORT;
}

void si_client_global_cleanup(void)
{
    curl_global_cleanup();
}

const char *si_client_rc_name(enum si_client_rc rc)
{
    switch (rc) {
    case SI_CLIENT_OK:
        return "ok";
    case SI_CLIENT_E_ARG:
        return "invalid argument";
    case SI_CLIENT_E_NOMEM:
        return "out of memory";
    case SI_CLIENT_E_TRANSPORT:
        return "transport error";
    case SI_CLIENT_E_HTTP:
        return "HTTP error";
    case SI_CLIENT_E_RESPONSE:
        return "bad response";
    }
    return "unknown";
}

/* Appends "name: value" to *list; false when out of memory. The line may hold the key: it is
 * wiped here, and curl's copy is wiped in si_client_free. */
static bool add_header(struct curl_slist **list, const char *name, const char *value)
{
    char line[HEADER_LINE_MAX];
    int n = snprintf(line, sizeof line, "%s: %s", name, value);
    struct curl_slist *next = NULL;
    if (n > 0 && (size_t)n < sizeof line)
        next = curl_slist_append(*list, line);
    explicit_bzero(line, sizeof line);
    if (!next)
        return false;
    *list = next;
    return true;
}

static void wipe_headers(struct curl_slist *list)
{
    for (struct curl_slist *h = list; h; h = h->next)
        explicit_bzero(h->data, strlen(h->data));
    curl_slist_free_all(list);
}

/* Checks the strategy and options before anything is allocated; the key is never echoed. */
static enum si_client_rc check_config(const struct si_api_key_strategy *auth,
                                      const struct si_client_options *o,
                                      struct si_client_error *err)
{
    if (!auth || !auth->api_key || !auth->api_key[0])
        return client_fail(err, SI_CLIENT_E_ARG, "api_key is required");
    /* A header value must be one line of text: a CR or LF could smuggle another header. */
    if (!client_text_ok(auth->api_key, false) || strlen(auth->api_key) > HEADER_LINE_MAX / 2)
        return client_fail(err, SI_CLIENT_E_ARG, "api_key has control characters or is too long");
    if (auth->site_id && (!auth->site_id[0] || !client_text_ok(auth->site_id, false) ||
                          strlen(auth->site_id) > SI_CLIENT_INVITE_ID_MAX))
        return client_fail(err, SI_CLIENT_E_ARG, "site_id is empty, too long or not text");
    if (auth->account_id && (!auth->account_id[0] || !client_text_ok(auth->account_id, false) ||
                             strlen(auth->account_id) > SI_CLIENT_INVITE_ID_MAX))
        return client_fail(err, SI_CLIENT_E_ARG, "account_id is empty, too long or not text");
    const char *base = o && o->base_url ? o->base_url : SI_CLIENT_WIX_BASE_URL;
    if ((strncasecmp(base, "http://", 7) != 0 && strncasecmp(base, "https://", 8) != 0) ||
        !client_text_ok(base, false) || strlen(base) > CLIENT_URL_MAX / 2)
        return client_fail(err, SI_CLIENT_E_ARG, "base_url must be an http:// or https:// URL");
    if (o && (o->connect_timeout_ms < 0 || o->timeout_ms < 0 || o->max_response_bytes < 0))
        return client_fail(err, SI_CLIENT_E_ARG, "timeouts and max_response_bytes must be >= 0");
    if (o && o->user_agent && !client_text_ok(o->user_agent, false))
        return client_fail(err, SI_CLIENT_E_ARG, "user_agent has control characters");
    return SI_CLIENT_OK;
}

static bool build_headers(struct si_client *c, const struct si_api_key_strategy *auth)
{
    /* "Expect:" turns off curl's 100-continue wait on large bodies: one round trip less. */
    return add_header(&c->headers, "Authorization", auth->api_key) &&
           (!auth->site_id || add_header(&c->headers, "wix-site-id", auth->site_id)) &&
           (!auth->account_id || add_header(&c->headers, "wix-account-id", auth->account_id)) &&
           add_header(&c->headers, "Content-Type", "application/json") &&
           add_header(&c->headers, "Accept", "application/json") &&
           (c->headers = curl_slist_append(c->headers, "Expect:")) != NULL;
}

/* Options that stay the same for every request of the client. */
static bool set_fixed_options(struct si_client *c, const struct si_client_options *o)
{
    long connect_ms =
        o && o->connect_timeout_ms ? o->connect_timeout_ms : SI_CLIENT_DEFAULT_CONNECT_TIMEOUT_MS;
    long total_ms = o && o->timeout_ms ? o->timeout_ms : SI_CLIENT_DEFAULT_TIMEOUT_MS;
    const char *agent = o && o->user_agent ? o->user_agent : USER_AGENT_DEFAULT;
    CURL *h = c->curl;
    bool ok = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, total_ms) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_USERAGENT, agent) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->curl_error) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, client_answer_body) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_WRITEDATA, &c->answer) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, client_answer_header) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_HEADERDATA, &c->answer) == CURLE_OK &&
              /* Never follow a redirect: it would carry the key to another host. */
              curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "") == CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500
    ok = ok && curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
#else
    ok = ok && curl_easy_setopt(h, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS) == CURLE_OK;
#endif
    /* The CA bundle: the option, else CURL_CA_BUNDLE (the variable the curl tool reads; libcurl
     * itself does not), else libcurl's built-in default (the system's bundle). */
    const char *ca = o && o->ca_info ? o->ca_info : getenv(CA_BUNDLE_ENV);
    if (ok && ca && ca[0])
        ok = curl_easy_setopt(h, CURLOPT_CAINFO, ca) == CURLE_OK;
    return ok;
}

enum si_client_rc si_client_new(const struct si_api_key_strategy *auth,
                                const struct si_client_options *opts, struct si_client **out,
                                struct si_client_error *err)
{
    client_error_clear(err);
    if (!out)
        return client_fail(err, SI_CLIENT_E_ARG, "out is NULL");
    *out = NULL;
    enum si_client_rc rc = check_config(auth, opts, err);
    if (rc)
        return rc;
    /* Everything is allocated first and checked once: si_client_free copes with a half-made
     * client, so one failure path releases whatever did get allocated. */
    struct si_client *c = calloc(1, sizeof *c);
    if (!c)
        return client_fail(err, SI_CLIENT_E_NOMEM, "out of memory");
    const char *base = opts && opts->base_url ? opts->base_url : SI_CLIENT_WIX_BASE_URL;
    c->api_key = strdup(auth->api_key);
    c->base_url = strdup(base);
    c->curl = curl_easy_init();
    c->has_site = auth->site_id != NULL;
    c->answer.max =
        (size_t)(opts && opts->max_response_bytes ? opts->max_response_bytes
                                                  : SI_CLIENT_DEFAULT_MAX_RESPONSE_BYTES);
    if (!c->api_key || !c->base_url || !c->curl || !build_headers(c, auth) ||
        !set_fixed_options(c, opts)) {
        si_client_free(c);
        return client_fail(err, SI_CLIENT_E_NOMEM, "out of memory setting up the client");
    }
    /* One trailing '/' of the base would double the path's. */
    size_t blen = strlen(c->base_url);
    while (blen > 0 && c->base_url[blen - 1] == '/')
        c->base_url[--blen] = '\0';
    *out = c;
    return SI_CLIENT_OK;
}

void si_client_free(struct si_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    wipe_headers(c->headers);
    if (c->api_key) {
        explicit_bzero(c->api_key, strlen(c->api_key));
        free(c->api_key);
    }
    free(c->base_url);
    free(c->idempotency_key);
    if (c->answer.data)
        explicit_bzero(c->answer.data, c->answer.cap); /* it held accept links */
    free(c->answer.data);
    free(c);
}

size_t client_answer_body(char *data, size_t size, size_t nmemb, void *user)
{
    struct client_answer *a = user;
    size_t n = size * nmemb;
    /* The cap is checked before growing: a hostile or broken server cannot make us allocate
     * more than max_response_bytes however it chunks the body. */
    if (n > a->max - a->len) {
        a->too_big = true;
        return 0;
    }
    if (a->cap == 0 || n > a->cap - a->len - 1) {
        size_t want = a->cap ? a->cap : ANSWER_INITIAL_CAP;
        while (want - a->len - 1 < n && want < SIZE_MAX / 2)
            want *= 2;
        /* Doubling keeps appends amortised O(1); the buffer is kept for the next call. */
        char *grown = realloc(a->data, want);
        if (!grown)
            return 0; /* curl reports CURLE_WRITE_ERROR; too_big stays false: no memory */
        a->data = grown;
        a->cap = want;
    }
    memcpy(a->data + a->len, data, n);
    a->len += n;
    a->data[a->len] = '\0';
    return n;
}

/* Whether line starts with "name:" (case-insensitive); *value is the trimmed rest. */
static bool header_is(const char *line, size_t len, const char *name, const char **value,
                      size_t *vlen)
{
    size_t nl = strlen(name);
    if (len <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
        return false;
    const char *v = line + nl + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    *value = v;
    *vlen = (size_t)(end - v);
    return true;
}

size_t client_answer_header(char *data, size_t size, size_t nmemb, void *user)
{
    struct client_answer *a = user;
    size_t n = size * nmemb;
    const char *v;
    size_t vlen;
    if (header_is(data, n, REQUEST_ID_HEADER, &v, &vlen)) {
        if (vlen >= sizeof a->request_id)
            vlen = sizeof a->request_id - 1;
        memcpy(a->request_id, v, vlen);
        a->request_id[vlen] = '\0';
    } else if (header_is(data, n, RETRY_AFTER_HEADER, &v, &vlen)) {
        /* Delta-seconds only; an HTTP date is left as 0 ("unknown") rather than guessed. */
        long s = 0;
        for (size_t i = 0; i < vlen && v[i] >= '0' && v[i] <= '9' && s < RETRY_AFTER_MAX_S; i++)
            s = s * 10 + (v[i] - '0');
        a->retry_after_s = s > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : s;
    } else if (header_is(data, n, REPLAYED_HEADER, &v, &vlen)) {
        a->replayed = vlen == 4 && strncasecmp(v, "true", 4) == 0;
    }
    return n;
}

/* Points the handle at url with method and body text for this one request. */
static bool set_request(struct si_client *c, const char *method, const char *url, const char *text,
                        size_t len)
{
    CURL *h = c->curl;
    /* Options persist on a reused handle, so each request sets its method explicitly. curl
     * does not copy POSTFIELDS: text must live until curl_easy_perform returns, and the next
     * request replaces the pointer before the handle reads it again. */
    if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK)
        return false;
    /* PATCH and DELETE (the webhook calls) are POST and GET with the method renamed; NULL
     * puts a reused handle back to the plain method. */
    bool plain = strcmp(method, "GET") == 0 || strcmp(method, "POST") == 0;
    if (curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, plain ? NULL : method) != CURLE_OK)
        return false;
    if (strcmp(method, "GET") == 0 || strcmp(method, "DELETE") == 0)
        return curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) == CURLE_OK;
    return curl_easy_setopt(h, CURLOPT_POST, 1L) == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len) == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_POSTFIELDS, text) == CURLE_OK;
}

/* Turns a finished transfer into the answer object or a filled error. */
static enum si_client_rc finish(struct si_client *c, json_t **out, struct si_client_error *err)
{
    long status = 0;
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    /* Wix answers 200 to every success; any 2xx is taken as one so a proxy's 204 still is. */
    if (status < 200 || status > 299) {
        client_error_from_answer(c, (int)status, err);
        return SI_CLIENT_E_HTTP;
    }
    json_t *j = json_loadb(c->answer.data ? c->answer.data : "", c->answer.len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return client_bad_answer(c, SI_CLIENT_E_RESPONSE, "the answer is not a JSON object", err);
    }
    *out = j;
    return SI_CLIENT_OK;
}

enum si_client_rc client_bad_answer(const struct si_client *c, enum si_client_rc rc,
                                    const char *what, struct si_client_error *err)
{
    long status = 0;
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    client_fail(err, rc, "%s", rc == SI_CLIENT_E_NOMEM ? "out of memory reading the answer" : what);
    if (err) {
        err->http_status = (int)status;
        client_copy_text(err->request_id, sizeof err->request_id, c->answer.request_id);
    }
    return rc;
}

/* The finer cause of a transport error, for err->reason (client.h). */
static const char *transport_reason(CURLcode cc)
{
    switch (cc) {
    case CURLE_PEER_FAILED_VERIFICATION:
        return "TLS_CERTIFICATE";
    case CURLE_SSL_CACERT_BADFILE:
        return "CA_FILE";
    case CURLE_SSL_CONNECT_ERROR:
        return "TLS";
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return "DNS";
    case CURLE_COULDNT_CONNECT:
        return "CONNECT";
    case CURLE_OPERATION_TIMEDOUT:
        return "TIMEOUT";
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
        return "CONNECTION_LOST";
    default:
        return "";
    }
}

enum si_client_rc si_client_set_idempotency_key(struct si_client *c, const char *key,
                                                struct si_client_error *err)
{
    client_error_clear(err);
    if (!c)
        return client_fail(err, SI_CLIENT_E_ARG, "client is NULL");
    size_t n = key ? strnlen(key, IDEM_KEY_MAX + 1) : 0;
    if (key && (n == 0 || n > IDEM_KEY_MAX))
        return client_fail(err, SI_CLIENT_E_ARG, "an idempotency key has 1 to 255 characters");
    for (size_t i = 0; i < n; i++)
        if (key[i] < 0x20 || key[i] > 0x7e)
            return client_fail(err, SI_CLIENT_E_ARG,
                               "an idempotency key is printable ASCII (0x20 to 0x7e)");
    char *copy = key ? strdup(key) : NULL;
    if (key && !copy)
        return client_fail(err, SI_CLIENT_E_NOMEM, "out of memory");
    free(c->idempotency_key);
    c->idempotency_key = copy;
    return SI_CLIENT_OK;
}

bool si_client_last_replayed(const struct si_client *c)
{
    return c && c->last_replayed;
}

/* The headers of one request: the client's own, plus the pending Idempotency-Key, which is
 * taken (used once). *extra is the per-request list to free with wipe_headers after the
 * request (NULL when the client's list is used as it is); false when out of memory. */
static bool request_headers(struct si_client *c, struct curl_slist **extra)
{
    *extra = NULL;
    if (!c->idempotency_key)
        return curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers) == CURLE_OK;
    struct curl_slist *list = NULL;
    bool ok = true;
    for (struct curl_slist *h = c->headers; ok && h; h = h->next) {
        struct curl_slist *next = curl_slist_append(list, h->data);
        ok = next != NULL;
        list = next ? next : list;
    }
    ok = ok && add_header(&list, IDEM_HEADER, c->idempotency_key);
    free(c->idempotency_key);
    c->idempotency_key = NULL;
    *extra = list; /* freed by the caller even when incomplete */
    return ok && curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, list) == CURLE_OK;
}

enum si_client_rc client_call(struct si_client *c, const char *method, const char *path,
                              json_t *body, json_t **out, struct si_client_error *err)
{
    struct curl_slist *extra = NULL;
    enum si_client_rc rc = SI_CLIENT_OK;
    char url[CLIENT_URL_MAX];
    char *text = NULL;
    *out = NULL;
    int n = snprintf(url, sizeof url, "%s%s", c->base_url, path);
    if (n < 0 || (size_t)n >= sizeof url)
        return client_fail(err, SI_CLIENT_E_ARG, "the request URL is too long");
    if (strcmp(method, "POST") == 0 || strcmp(method, "PATCH") == 0) {
        text = body ? json_dumps(body, JSON_COMPACT) : strdup("{}");
        if (!text)
            return client_fail(err, SI_CLIENT_E_NOMEM, "out of memory encoding the request");
    }
    /* The answer buffer is kept between calls; only its contents are reset. */
    c->answer.len = 0;
    c->answer.too_big = false;
    c->answer.request_id[0] = '\0';
    c->answer.retry_after_s = 0;
    c->answer.replayed = false;
    c->last_replayed = false;
    c->curl_error[0] = '\0';
    if (!request_headers(c, &extra) ||
        !set_request(c, method, url, text, text ? strlen(text) : 0)) {
        rc = client_fail(err, SI_CLIENT_E_NOMEM, "could not set up the request");
        goto out;
    }
    /* A write error is ours (cap or memory), told apart by too_big; anything else is the
     * network's, and curl's own text (never holding our headers) describes it. */
    CURLcode cc = curl_easy_perform(c->curl);
    if (cc == CURLE_WRITE_ERROR && c->answer.too_big) {
        rc = client_fail(err, SI_CLIENT_E_RESPONSE, "the answer is larger than %zu bytes",
                         c->answer.max);
    } else if (cc == CURLE_WRITE_ERROR) {
        rc = client_fail(err, SI_CLIENT_E_NOMEM, "out of memory reading the answer");
    } else if (cc != CURLE_OK) {
        rc = client_fail(err, SI_CLIENT_E_TRANSPORT, "%s%s%s", curl_easy_strerror(cc),
                         c->curl_error[0] ? ": " : "", c->curl_error);
        if (err) {
            client_copy_text(err->request_id, sizeof err->request_id, c->answer.request_id);
            client_copy_text(err->reason, sizeof err->reason, transport_reason(cc));
        }
    } else {
        c->last_replayed = c->answer.replayed; /* a recorded error is replayed too */
        rc = finish(c, out, err);
    }
out:
    if (extra) { /* back to the client's own list before this one (with the key) is freed */
        curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
        wipe_headers(extra);
    }
    /* Last line of defence: whatever path filled err, the key cannot be in it. */
    if (rc && err)
        client_error_scrub(c, err);
    free(text);
    return rc;
}
