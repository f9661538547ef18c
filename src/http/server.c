/* The libmicrohttpd adapter: daemon life cycle, one struct request per HTTP request (created on
 * the first callback, freed in the completion callback), body collection, answers (deferred
 * ones with the connection suspended meanwhile), access log. */
#include "http/server.h"

#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/secure.h"
#include "common/xalloc.h"
#include "http/metrics.h"
#include "http/routes.h"
#include "http/tls.h"
#include "request/request.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Per connection: headers + read buffer. 16 KiB holds any sane request head (nginx's default
 * is 8 KiB); libmicrohttpd zeroes this pool on every request, so 64 KiB cost a third of a GET. */
#define HTTP_CONNECTION_MEMORY (16 * 1024)
#define HTTP_LISTEN_BACKLOG    1024
#define HTTP_STOP_GRACE_MS     10000 /* how long stop waits for requests in flight */
#define HTTP_DRAIN_MAX         (64ull * 1024 * 1024) /* refused bodies above this are not read */
#define HTTP_HOST_MAX          64
#define HTTP_MHD_LOG_MAX       512
#define HTTP_CLIENT_MAX        INET6_ADDRSTRLEN /* a client address as text, NUL included */
#define HTTP_CSP                                                                                   \
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; "  \
    "base-uri 'none'"

struct http_server {
    struct MHD_Daemon *daemon;
    struct app *app;
    struct tls_files *tls; /* NULL for plain HTTP; kept until stop, as MHD may refer to it */
    size_t body_limit;
    bool access_log;
    enum http_role role;
    uint16_t port;
    /* Requests between their first callback and completion; stop waits for zero. */
    atomic_long inflight;
    atomic_bool stopping;
    long deferred; /* suspended for deferred work and not yet resumed (under lock) */
    pthread_mutex_t lock;
    pthread_cond_t idle;
};

/* Where a request is between libmicrohttpd's callbacks. */
enum exchange_state {
    X_RECEIVING, /* headers and body arriving, or answered inline */
    X_DEFERRED,  /* the handler deferred its answer: the connection is suspended */
    X_WOKEN      /* the deferred work is done: the next callback runs finish and answers */
};

/* A request and the copies of its strings, in one allocation (one malloc per request). */
struct exchange {
    struct request req; /* first: a struct request * is a struct exchange * */
    size_t auth_len;    /* bytes of the Authorization copy, wiped on free */
    size_t cookie_len;  /* bytes of the Cookie copy, wiped on free */
    uint64_t drained;   /* body bytes read past the limit and dropped */
    struct MHD_Connection *conn;
    struct http_server *srv;
    enum exchange_state state;    /* written by the waking thread, read after the resume */
    bool after_stop;              /* began once stop had begun: answered 503 (http_server_stop) */
    char client[HTTP_CLIENT_MAX]; /* the peer's address, for the log */
    char arena[];
};

/* Headers copied into the request, in the order of the fields they fill. */
static const char *const copied_headers[] = {
    "Authorization",  "wix-site-id",     "wix-account-id", "Content-Type",    "Origin",
    "Sec-Fetch-Site", "Idempotency-Key", "Cookie",         "Accept-Language",
};
#define HEADER_COUNT (sizeof copied_headers / sizeof copied_headers[0])

struct collected {
    const char *h[HEADER_COUNT];
    const char *arg_name[REQUEST_ARGS_MAX], *arg_value[REQUEST_ARGS_MAX];
    int nargs;
    size_t bytes; /* arena bytes needed for everything above */
};

static int64_t now_us(void)
{
    return clock_mono_us();
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    struct collected *c = cls;
    if (c->nargs >= REQUEST_ARGS_MAX)
        return MHD_NO; /* the first REQUEST_ARGS_MAX are kept; stop iterating */
    value = value ? value : "";
    c->arg_name[c->nargs] = key;
    c->arg_value[c->nargs] = value;
    c->nargs++;
    c->bytes += strlen(key) + strlen(value) + 2;
    return MHD_YES;
}

/* Copies s into the arena at *pos; NULL stays NULL. */
static char *arena_put(char *arena, size_t *pos, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *dst = arena + *pos;
    memcpy(dst, s, n);
    *pos += n;
    return dst;
}

/* A deferred handler's connection sleeps until its work is done: libmicrohttpd then neither
 * reads from it nor times it out, and the epoll thread serves other connections. */
static void suspend_exchange(struct request *req)
{
    struct exchange *x = (struct exchange *)req;
    x->state = X_DEFERRED;
    pthread_mutex_lock(&x->srv->lock);
    x->srv->deferred++;
    pthread_mutex_unlock(&x->srv->lock);
    MHD_suspend_connection(x->conn);
}

/* From any thread (the store's group thread, usually): MHD calls on_request again for the
 * connection, on its own thread, which runs finish and queues the answer (MHD queues answers
 * only from its callbacks). The resume's lock publishes the state to that thread. */
static void resume_exchange(struct request *req)
{
    struct exchange *x = (struct exchange *)req;
    struct http_server *srv = x->srv; /* x may be gone once the connection is resumed */
    x->state = X_WOKEN;
    MHD_resume_connection(x->conn);
    /* Counted down under the lock that http_server_stop waits with, so the daemon outlives
     * every resume, however long the store took (wait_deferred). */
    pthread_mutex_lock(&srv->lock);
    if (--srv->deferred == 0)
        pthread_cond_broadcast(&srv->idle);
    pthread_mutex_unlock(&srv->lock);
}

/* What we keep per connection (MHD's socket context): its peer, and whether a request came. */
struct conn_note {
    bool had_request;
    char client[HTTP_CLIENT_MAX];
};

/* Writes the connection's peer address as text ("?" if unknown). */
static void client_text(struct MHD_Connection *conn, char out[HTTP_CLIENT_MAX])
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    const void *a = NULL;
    if (sa && sa->sa_family == AF_INET)
        a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    else if (sa && sa->sa_family == AF_INET6)
        a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    if (!a || !inet_ntop(sa->sa_family, a, out, HTTP_CLIENT_MAX))
        snprintf(out, HTTP_CLIENT_MAX, "?");
}

/* A connection opens or closes. A TLS connection that closes before any request is almost
 * always a failed handshake, which MHD logs without the peer: say who it was. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct http_server *srv = cls;
    struct conn_note *n = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        n = xcalloc(1, sizeof *n);
        client_text(conn, n->client);
        *socket_context = n;
        return;
    }
    if (n && !n->had_request && srv->tls)
        log_warn("http: TLS connection from %s closed before any request (a failed handshake: "
                 "see the line above, or the client gave up)",
                 n->client);
    free(n);
    *socket_context = NULL;
}

static struct request *request_new(struct http_server *srv, struct MHD_Connection *conn,
                                   const char *url, const char *method)
{
    struct collected c = {.bytes = strlen(url) + 1};
    for (size_t i = 0; i < HEADER_COUNT; i++) {
        c.h[i] = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, copied_headers[i]);
        c.bytes += c.h[i] ? strlen(c.h[i]) + 1 : 0;
    }
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &c);

    struct exchange *x = xmalloc(sizeof *x + c.bytes);
    memset(x, 0, sizeof *x);
    struct request *req = &x->req;
    size_t pos = 0;
    req->path = arena_put(x->arena, &pos, url); /* MHD has already URL-decoded it */
    req->authorization = arena_put(x->arena, &pos, c.h[0]);
    x->auth_len = c.h[0] ? strlen(c.h[0]) : 0;
    req->site_id_header = arena_put(x->arena, &pos, c.h[1]);
    req->account_id_header = arena_put(x->arena, &pos, c.h[2]);
    req->content_type = arena_put(x->arena, &pos, c.h[3]);
    req->origin = arena_put(x->arena, &pos, c.h[4]);
    req->sec_fetch_site = arena_put(x->arena, &pos, c.h[5]);
    req->idempotency_key = arena_put(x->arena, &pos, c.h[6]);
    req->cookie = arena_put(x->arena, &pos, c.h[7]);
    x->cookie_len = c.h[7] ? strlen(c.h[7]) : 0;
    req->accept_language = arena_put(x->arena, &pos, c.h[8]);
    for (int i = 0; i < c.nargs; i++) {
        req->args[i].name = arena_put(x->arena, &pos, c.arg_name[i]);
        req->args[i].value = arena_put(x->arena, &pos, c.arg_value[i]);
    }
    req->nargs = c.nargs;

    x->conn = conn;
    x->srv = srv;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct conn_note *note = ci ? ci->socket_context : NULL;
    if (note) {
        note->had_request = true;
        memcpy(x->client, note->client, sizeof x->client);
    } else {
        client_text(conn, x->client);
    }
    req->client = x->client;
    req->on_defer = suspend_exchange;
    req->on_wake = resume_exchange;
    req->app = srv->app;
    req->method = routes_method(method);
    req->started_us = now_us();
    req->retry_after_s = -1;
    id_new(srv->app->rng, req->request_id);
    buf_init(&req->body, srv->body_limit);
    return req;
}

/* The only place a struct request is freed (from the completion callback). */
static void request_free(struct request *req)
{
    struct exchange *x = (struct exchange *)req;
    /* A client gone while its deferred work ran never got finish called: an answer recorded
     * for its Idempotency-Key (on_final) is still owed, so that a retry replays it. */
    if (x->state == X_WOKEN && req->finish && req->on_final)
        request_finish(req);
    if (req->authorization)
        secure_wipe(req->authorization, x->auth_len);
    if (req->cookie)
        secure_wipe(req->cookie, x->cookie_len);
    if (req->set_cookie)
        secure_wipe(req->set_cookie, strlen(req->set_cookie));
    free(req->set_cookie);
    free(req->location);
    if (req->finish_ctx_free)
        req->finish_ctx_free(req->finish_ctx);
    buf_cleanup(&req->body);
    json_decref(req->json);
    site_cleanup(&req->site);
    free(req->answer);
    free(req->param);
    free(x);
}

static bool add_headers(struct MHD_Response *r, const struct request *req)
{
    bool ok = MHD_add_response_header(r, "X-Wix-Request-Id", req->request_id) == MHD_YES;
    const char *type = req->answer_type ? req->answer_type : "application/json";
    ok = ok && MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type) == MHD_YES;
    if (ok && req->retry_after_s >= 0) {
        char secs[24];
        snprintf(secs, sizeof secs, "%ld", req->retry_after_s);
        ok = MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, secs) == MHD_YES;
    }
    if (ok && req->idem_replayed)
        ok = MHD_add_response_header(r, "Idempotent-Replayed", "true") == MHD_YES;
    if (ok && req->allow)
        ok = MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, req->allow) == MHD_YES;
    if (ok && req->set_cookie)
        ok = MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, req->set_cookie) == MHD_YES;
    if (ok && req->location)
        ok = MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, req->location) == MHD_YES;
    if (ok && req->no_store) {
        ok = MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") == MHD_YES &&
             MHD_add_response_header(r, "Referrer-Policy", "no-referrer") == MHD_YES &&
             MHD_add_response_header(r, "X-Content-Type-Options", "nosniff") == MHD_YES &&
             MHD_add_response_header(r, "Content-Security-Policy", HTTP_CSP) == MHD_YES;
    }
    return ok;
}

/* Queues the answer in req; the answer buffer moves to MHD without a copy. HEAD gets the GET
 * answer's headers and MHD leaves the body out. */
static enum MHD_Result send_answer(struct MHD_Connection *conn, struct request *req)
{
    struct MHD_Response *r;
    if (req->answer && req->answer_len) {
        r = MHD_create_response_from_buffer(req->answer_len, req->answer, MHD_RESPMEM_MUST_FREE);
        if (r)
            req->answer = NULL; /* MHD frees it now */
    } else {
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (!r) {
        log_error("request %s: cannot create the response", req->request_id);
        return MHD_NO;
    }
    enum MHD_Result ret = MHD_NO;
    if (add_headers(r, req))
        ret = MHD_queue_response(conn, req->status, r);
    else
        log_error("request %s: cannot add response headers", req->request_id);
    MHD_destroy_response(r);
    return ret;
}

/* Dispatches and queues the answer, unless the handler deferred it (request_defer): then the
 * connection is suspended and a later callback answers (on_request). */
/* Whether this server's role keeps the path away (404, as for any unknown path). */
static bool outside_role(const struct http_server *srv, const struct request *req)
{
    bool metrics = strcmp(req->path, "/metrics") == 0;
    if (srv->role == HTTP_ROLE_NO_METRICS)
        return metrics;
    if (srv->role == HTTP_ROLE_METRICS_ONLY)
        return !metrics && strcmp(req->path, "/healthz") != 0 && strcmp(req->path, "/readyz") != 0;
    return false;
}

static enum MHD_Result answer(struct MHD_Connection *conn, struct request *req)
{
    struct exchange *x = (struct exchange *)req;
    struct http_server *srv = x->srv;
    if (x->after_stop) { /* the server is stopping: a new request is not started */
        req->route_name = "stopping";
        request_fail(req, P_UNAVAILABLE, NULL);
        return send_answer(conn, req);
    }
    if (outside_role(srv, req)) {
        req->route_name = "unmatched";
        request_fail(req, P_NOT_FOUND, NULL);
        return send_answer(conn, req);
    }
    routes_dispatch(req);
    if (req->finish)
        return MHD_YES;
    return send_answer(conn, req);
}

/* The Content-Length the client announced, or 0 when absent (chunked) or unreadable. */
static unsigned long long announced_length(struct MHD_Connection *conn)
{
    const char *cl =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!cl)
        return 0;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(cl, &end, 10);
    return end != cl && errno == 0 ? n : 0;
}

/* Whether a body announced over the limit is refused before it is read. A client that sent
 * "Expect: 100-continue" waits for that answer; any other client is already sending, and
 * closing on unread data makes the kernel reset the connection, which many clients report
 * instead of the 413. So those bodies are drained, unless they are too big to be worth it. */
static bool refuse_early(struct MHD_Connection *conn, unsigned long long length)
{
    if (length > HTTP_DRAIN_MAX)
        return true;
    const char *expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
    return expect && strcasecmp(expect, "100-continue") == 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    struct http_server *srv = cls;
    struct request *req = *con_cls;
    if (!req) {
        atomic_fetch_add(&srv->inflight, 1);
        req = request_new(srv, conn, url, method);
        *con_cls = req;
        ((struct exchange *)req)->after_stop = atomic_load(&srv->stopping);
        unsigned long long length = announced_length(conn);
        if (length <= srv->body_limit)
            return MHD_YES; /* wait for the body */
        req->body_too_large = true;
        return refuse_early(conn, length) ? answer(conn, req) : MHD_YES;
    }
    struct exchange *x = (struct exchange *)req;
    if (x->state == X_WOKEN) { /* resumed: the deferred work is done */
        x->state = X_RECEIVING;
        request_finish(req);
        return send_answer(conn, req);
    }
    if (req->status) { /* answered early; MHD drains what the client still sends */
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        /* Past the limit, keep draining without storing so the 413 can still be sent; a
         * stream that never ends (chunked) is cut off at HTTP_DRAIN_MAX. */
        if (!req->body_too_large && buf_append(&req->body, upload_data, *upload_size) != SI_OK)
            req->body_too_large = true;
        if (req->body_too_large && (x->drained += *upload_size) > HTTP_DRAIN_MAX)
            return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }
    return answer(conn, req);
}

static void log_access(const struct request *req, int64_t us, bool aborted)
{
    const struct exchange *x = (const struct exchange *)req;
    char path[LOG_PATH_MAX];
    routes_log_path(req->path, path, sizeof path);
    struct log_ctx ctx = {.request_id = req->request_id,
                          .key_id = req->principal.key_id[0] ? req->principal.key_id : NULL,
                          .client = x->client};
    log_msg_ctx(LOG_INFO, &ctx, "%s %s %u %lldus%s", routes_method_name(req->method), path,
                req->status, (long long)us, aborted ? " aborted" : "");
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    struct http_server *srv = cls;
    struct request *req = *con_cls;
    if (!req)
        return;
    *con_cls = NULL;
    int64_t us = now_us() - req->started_us;
    if (req->status)
        metrics_observe(req->route_name, req->status, us);
    if (srv->access_log)
        log_access(req, us, toe != MHD_REQUEST_TERMINATED_COMPLETED_OK);
    request_free(req);
    /* The last request out wakes a stop that is waiting (see http_server_stop). */
    if (atomic_fetch_sub(&srv->inflight, 1) == 1 && atomic_load(&srv->stopping)) {
        pthread_mutex_lock(&srv->lock);
        pthread_cond_broadcast(&srv->idle);
        pthread_mutex_unlock(&srv->lock);
    }
}

/* fmt is libmicrohttpd's own format string; the attribute tells the compiler so. */
__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char text[HTTP_MHD_LOG_MAX];
    vsnprintf(text, sizeof text, fmt, ap);
    size_t n = strlen(text);
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        text[--n] = '\0';
    log_warn("http: %s", text);
}

/* Parses "host:port", "[v6]:port", "localhost:port" or ":port" (all IPv4 interfaces). */
static enum si_err parse_listen(const char *listen, struct sockaddr_storage *ss, bool *v6)
{
    char host[HTTP_HOST_MAX];
    const char *colon;
    memset(ss, 0, sizeof *ss);
    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');
        if (!close || close[1] != ':' || (size_t)(close - listen - 1) >= sizeof host)
            return SI_ECONFIG;
        memcpy(host, listen + 1, (size_t)(close - listen - 1));
        host[close - listen - 1] = '\0';
        colon = close + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon || (size_t)(colon - listen) >= sizeof host)
            return SI_ECONFIG;
        memcpy(host, listen, (size_t)(colon - listen));
        host[colon - listen] = '\0';
    }
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end || errno || port < 0 || port > 65535)
        return SI_ECONFIG;

    *v6 = listen[0] == '[';
    if (*v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        return inet_pton(AF_INET6, host, &a->sin6_addr) == 1 ? SI_OK : SI_ECONFIG;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (!host[0] || strcmp(host, "*") == 0) {
        a->sin_addr.s_addr = htonl(INADDR_ANY);
        return SI_OK;
    }
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? SI_OK : SI_ECONFIG;
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static unsigned thread_count(int threads)
{
    if (threads > 0)
        return (unsigned)threads;
    /* Two per core: a thread waiting for the store's single writer would otherwise leave its
     * core idle while reads queue behind it (create-one: 5,756 -> 7,603 req/s, bench/README). */
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? 2 * (unsigned)n : 2;
}

enum si_err http_server_start(const struct http_config *cfg, struct app *app,
                              struct http_server **out)
{
    *out = NULL;
    struct sockaddr_storage addr;
    bool v6 = false;
    if (!cfg->listen || parse_listen(cfg->listen, &addr, &v6) != SI_OK) {
        log_error("http: bad listen address \"%s\" (want host:port or [v6]:port)",
                  cfg->listen ? cfg->listen : "");
        return SI_ECONFIG;
    }
    struct tls_files *tls = NULL;
    enum si_err rc = tls_files_load(cfg->tls_cert, cfg->tls_key, &tls);
    if (rc)
        return rc;
    struct MHD_OptionItem tls_opts[TLS_MHD_OPTIONS];
    tls_mhd_options(tls, tls_opts);
    char why[TLS_WHY_MAX];
    if (tls && tls_creds_install(tls, why) != SI_OK) {
        log_error("http: cannot serve TLS: the certificate and key (--tls-cert %s, --tls-key %s) "
                  "were refused: %s",
                  cfg->tls_cert, cfg->tls_key, why);
        tls_files_free(tls);
        return SI_ECONFIG;
    }
    json_object_seed(0); /* jansson's hash seed, set once before any worker thread */

    struct http_server *srv = xcalloc(1, sizeof *srv);
    srv->app = app;
    srv->tls = tls;
    srv->body_limit = cfg->body_limit ? cfg->body_limit : REQUEST_BODY_LIMIT_DEFAULT;
    srv->access_log = !cfg->no_access_log;
    srv->role = cfg->role;
    pthread_mutex_init(&srv->lock, NULL);
    pthread_cond_init(&srv->idle, NULL);

    unsigned threads = thread_count(cfg->threads);
    unsigned max_conns = cfg->max_connections ? cfg->max_connections : HTTP_MAX_CONNECTIONS_DEFAULT;
    unsigned timeout_s = cfg->read_timeout_s ? cfg->read_timeout_s : HTTP_READ_TIMEOUT_DEFAULT_S;
    if (max_conns < threads) /* MHD splits the limit across the pool: each worker needs one */
        max_conns = threads;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                     MHD_USE_TURBO | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME |
                     (v6 ? MHD_USE_IPv6 : 0) | tls_mhd_flags(tls);
    /* The logger goes first so MHD's own start-up messages reach our log too. A pool of one is
     * no pool: the option is left out and MHD runs its single internal thread. */
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log, NULL},
        {MHD_OPTION_SOCK_ADDR, 0, &addr},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, srv},
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, srv},
        {MHD_OPTION_CONNECTION_LIMIT, max_conns, NULL},
        {MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_per_ip, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, timeout_s, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTP_CONNECTION_MEMORY, NULL},
        {MHD_OPTION_LISTEN_BACKLOG_SIZE, HTTP_LISTEN_BACKLOG, NULL},
        {MHD_OPTION_ARRAY, 0, tls_opts}, /* empty for plain HTTP */
        {threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, threads, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    srv->daemon = MHD_start_daemon(flags, port_of(&addr), NULL, NULL, on_request, srv,
                                   MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (!srv->daemon) {
        if (tls) /* GnuTLS's reason, if it refused the pair, is in MHD's message above */
            log_error("http: cannot serve TLS on %s: the port is taken or the certificate and "
                      "key (--tls-cert %s, --tls-key %s) were refused",
                      cfg->listen, cfg->tls_cert, cfg->tls_key);
        else
            log_error("http: cannot listen on %s", cfg->listen);
        tls_files_free(tls);
        tls_creds_clear();
        pthread_cond_destroy(&srv->idle);
        pthread_mutex_destroy(&srv->lock);
        free(srv);
        return SI_EIO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : 0;
    log_info("http: listening on %s (port %u, %u threads, %u connections, %u s idle timeout%s)",
             cfg->listen, srv->port, threads, max_conns, timeout_s, tls ? ", TLS" : "");
    *out = srv;
    return SI_OK;
}

enum si_err http_server_reload_tls(struct http_server *srv, const char *cert, const char *key)
{
    if (!srv->tls)
        return SI_OK;
    struct tls_files *t = NULL;
    char why[TLS_WHY_MAX];
    enum si_err rc = tls_files_load(cert, key, &t); /* logs what is wrong with the files */
    if (rc) {
        log_error("http: TLS reload failed: keeping the certificate in use");
        return rc;
    }
    rc = tls_creds_install(t, why);
    if (rc)
        log_error("http: TLS reload failed (%s): keeping the certificate in use", why);
    else
        log_info("http: TLS certificate and key reloaded from %s and %s", cert, key);
    tls_files_free(t); /* GnuTLS holds its own parsed copy; the PEM text is wiped */
    return rc;
}

uint16_t http_server_port(const struct http_server *srv)
{
    return srv ? srv->port : 0;
}

/* Waits until no request is in flight or the grace period is over. */
static void wait_idle(struct http_server *srv)
{
    struct timespec deadline = clock_deadline_after(HTTP_STOP_GRACE_MS);
    atomic_store(&srv->stopping, true);
    pthread_mutex_lock(&srv->lock);
    int rc = 0;
    while (atomic_load(&srv->inflight) > 0 && rc != ETIMEDOUT)
        rc = clock_cond_wait(&srv->idle, &srv->lock, &deadline);
    pthread_mutex_unlock(&srv->lock);
    if (rc == ETIMEDOUT)
        log_warn("http: stopping with %ld requests still in flight", atomic_load(&srv->inflight));
}

/* Waits, without a deadline, for every deferred request to be resumed: its store call still
 * runs and will resume its connection, which must exist then. A store that never answers
 * keeps the process from stopping (SIGKILL loses nothing committed) rather than crashing it. */
static void wait_deferred(struct http_server *srv)
{
    pthread_mutex_lock(&srv->lock);
    if (srv->deferred > 0)
        log_warn("http: waiting for %ld deferred requests the store is still working on",
                 srv->deferred);
    while (srv->deferred > 0)
        pthread_cond_wait(&srv->idle, &srv->lock);
    pthread_mutex_unlock(&srv->lock);
}

void http_server_stop(struct http_server *srv)
{
    if (!srv)
        return;
    /* Requests already in flight finish; one that begins from now on is answered 503 (see
     * answer), and MHD_stop_daemon closes the listen socket and every connection. No
     * MHD_quiesce_daemon: on an epoll worker pool (ours) libmicrohttpd 0.9.75 races its own
     * workers removing the listen socket from their epoll sets and aborts the process ("Failed
     * to remove listen FD from epoll set"), seen once in a test's SIGTERM. */
    wait_idle(srv);
    wait_deferred(srv);
    MHD_stop_daemon(srv->daemon);
    tls_files_free(srv->tls);
    if (srv->tls)
        tls_creds_clear();
    pthread_cond_destroy(&srv->idle);
    pthread_mutex_destroy(&srv->lock);
    free(srv);
}
