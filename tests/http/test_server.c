/* A smoke test of the real server: libmicrohttpd on 127.0.0.1 port 0 over a real SQLite store,
 * spoken to with raw HTTP/1.1 so every header and status is visible. */
#include "auth/auth.h"
#include "common/ids.h"
#include "http/server.h"
#include "store/store.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#define ANSWER_MAX (256 * 1024)
#define BODY_LIMIT 1024

struct fixture {
    char dir[64];
    struct store *store;
    struct app app;
    struct http_server *srv;
    uint16_t port;
    char site[SI_ID_LEN], foreign_site[SI_ID_LEN], account[SI_ID_LEN];
    char key_all[API_KEY_TEXT_LEN + 1], key_read[API_KEY_TEXT_LEN + 1];
};

struct answer {
    int status;
    char *text; /* whole answer, NUL-terminated */
    const char *body;
    size_t body_len;
};

static void make_account(struct fixture *f, char id[SI_ID_LEN])
{
    struct account a = {.created = 1};
    id_new(&random_system, a.id);
    snprintf(a.name, sizeof a.name, "acme");
    snprintf(a.email, sizeof a.email, "owner-%.8s@example.com", a.id);
    assert_int_equal(store_account_create(f->store, &a), SI_OK);
    memcpy(id, a.id, SI_ID_LEN);
}

static void make_site(struct fixture *f, const char *account, char id[SI_ID_LEN])
{
    struct site s = {.contributor_limit = 10, .lifetime_days = 30, .created = 1};
    id_new(&random_system, s.id);
    memcpy(s.account_id, account, SI_ID_LEN);
    snprintf(s.name, sizeof s.name, "site");
    snprintf(s.language, sizeof s.language, "en");
    assert_int_equal(store_site_create(f->store, &s), SI_OK);
    memcpy(id, s.id, SI_ID_LEN);
}

static void make_key(struct fixture *f, unsigned perms, char text[API_KEY_TEXT_LEN + 1])
{
    struct api_key_row k = {.permissions = perms, .created = 1};
    id_new(&random_system, k.id);
    memcpy(k.account_id, f->account, SI_ID_LEN);
    snprintf(k.name, sizeof k.name, "test");
    auth_key_new(&random_system, text);
    uint8_t hash[SECURE_HASH_LEN];
    auth_key_hash(text, strlen(text), hash);
    assert_int_equal(store_key_create(f->store, &k, hash), SI_OK);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_int_equal(secure_init(), SI_OK);
    snprintf(f->dir, sizeof f->dir, "/tmp/si-http-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char url[128];
    snprintf(url, sizeof url, "sqlite:%s/db.sqlite", f->dir);
    assert_int_equal(store_open(url, &f->store), SI_OK);
    assert_int_equal(store_migrate(f->store, NULL), SI_OK);
    make_account(f, f->account);
    make_site(f, f->account, f->site);
    char other[SI_ID_LEN];
    make_account(f, other);
    make_site(f, other, f->foreign_site);
    make_key(f, PERM_ALL, f->key_all);
    make_key(f, PERM_READ, f->key_read);

    f->app.store = f->store;
    f->app.clock = &clock_system;
    f->app.rng = &random_system;
    snprintf(f->app.base_url, sizeof f->app.base_url, "http://127.0.0.1");
    struct http_config cfg = {.listen = "127.0.0.1:0", .threads = 2, .body_limit = BODY_LIMIT};
    assert_int_equal(http_server_start(&cfg, &f->app, &f->srv), SI_OK);
    f->port = http_server_port(f->srv);
    assert_true(f->port > 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    http_server_stop(f->srv);
    store_close(f->store);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* Sends raw (one request with Connection: close) and reads the answer to EOF. */
static void http_raw(uint16_t port, const char *raw, size_t len, struct answer *a)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    for (size_t off = 0; off < len;) {
        ssize_t n = send(fd, raw + off, len - off, MSG_NOSIGNAL);
        assert_true(n > 0);
        off += (size_t)n;
    }
    a->text = calloc(1, ANSWER_MAX + 1);
    size_t got = 0;
    ssize_t n;
    while (got < ANSWER_MAX && (n = recv(fd, a->text + got, ANSWER_MAX - got, 0)) > 0)
        got += (size_t)n;
    close(fd);
    assert_int_equal(strncmp(a->text, "HTTP/1.1 ", 9), 0);
    a->status = (int)strtol(a->text + 9, NULL, 10);
    char *sep = strstr(a->text, "\r\n\r\n");
    assert_non_null(sep);
    *sep = '\0'; /* headers become their own string */
    a->body = sep + 4;
    a->body_len = got - (size_t)(a->body - a->text);
}

static void http(struct fixture *f, const char *method, const char *path, const char *headers,
                 const char *body, struct answer *a)
{
    char raw[8192];
    int n =
        snprintf(raw, sizeof raw,
                 "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%sContent-Length: "
                 "%zu\r\n\r\n%s",
                 method, path, headers ? headers : "", body ? strlen(body) : 0, body ? body : "");
    assert_true(n > 0 && (size_t)n < sizeof raw);
    http_raw(f->port, raw, (size_t)n, a);
}

/* Value of a response header (case-insensitive name), copied into out; NULL when absent. */
static const char *header(const struct answer *a, const char *name, char *out, size_t cap)
{
    for (const char *line = strstr(a->text, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        size_t n = strlen(name);
        if (strncasecmp(line + 2, name, n) == 0 && line[2 + n] == ':') {
            const char *v = line + 3 + n;
            while (*v == ' ')
                v++;
            size_t len = strcspn(v, "\r");
            snprintf(out, cap, "%.*s", (int)len, v);
            return out;
        }
    }
    return NULL;
}

/* Checks status, request ID, the standard code and data.reason (our finer cause). */
static void expect_reason(const struct answer *a, int status, const char *code, const char *reason)
{
    char id[64];
    assert_int_equal(a->status, status);
    assert_non_null(header(a, "X-Wix-Request-Id", id, sizeof id));
    assert_true(id_valid(id));
    json_t *body = json_loadb(a->body, a->body_len, 0, NULL);
    assert_non_null(body);
    json_t *app = json_object_get(json_object_get(body, "details"), "applicationError");
    assert_string_equal(json_string_value(json_object_get(app, "code")), code);
    assert_string_equal(json_string_value(json_object_get(json_object_get(app, "data"), "reason")),
                        reason);
    json_decref(body);
    free(a->text);
}

/* expect_reason for a problem whose reason is its standard code. */
static void expect_code(const struct answer *a, int status, const char *code)
{
    expect_reason(a, status, code, code);
}

static void test_health_and_headers(void **state)
{
    struct fixture *f = *state;
    struct answer a;
    char v[128], id1[64], id2[64];
    http(f, "GET", "/healthz", NULL, NULL, &a);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.body, "{\"status\":\"ok\"}");
    assert_string_equal(header(&a, "Content-Type", v, sizeof v), "application/json");
    assert_non_null(header(&a, "X-Wix-Request-Id", id1, sizeof id1));
    free(a.text);

    http(f, "HEAD", "/healthz/", NULL, NULL, &a);
    assert_int_equal(a.status, 200);
    assert_int_equal(a.body_len, 0);
    assert_non_null(header(&a, "X-Wix-Request-Id", id2, sizeof id2));
    assert_string_not_equal(id1, id2); /* unique per request */
    free(a.text);

    http(f, "GET", "/readyz", NULL, NULL, &a);
    assert_int_equal(a.status, 200);
    free(a.text);
}

static void test_not_found_and_method(void **state)
{
    struct fixture *f = *state;
    struct answer a;
    char v[128];
    http(f, "GET", "/nope", NULL, NULL, &a);
    expect_code(&a, 404, "NOT_FOUND");

    http(f, "DELETE", "/invites/site-invite/bulk", NULL, NULL, &a);
    assert_string_equal(header(&a, "Allow", v, sizeof v), "POST");
    expect_code(&a, 405, "METHOD_NOT_ALLOWED");
}

static void test_body_checks(void **state)
{
    struct fixture *f = *state;
    struct answer a;
    http(f, "POST", "/site-invite/bulk", "Content-Type: text/plain\r\n", "{}", &a);
    expect_code(&a, 415, "UNSUPPORTED_MEDIA_TYPE");

    http(f, "POST", "/site-invite/bulk", "Content-Type: application/json; charset=utf-8\r\n",
         "{\"a\":", &a);
    expect_reason(&a, 400, "INVALID_ARGUMENT", "INVALID_JSON");

    http(f, "POST", "/site-invite/bulk", NULL, "{\"a\":1,\"a\":2}", &a);
    expect_reason(&a, 400, "INVALID_ARGUMENT", "INVALID_JSON");

    http(f, "POST", "/site-invite/bulk", NULL, "[1]", &a);
    expect_reason(&a, 400, "INVALID_ARGUMENT", "INVALID_JSON");

    char deep[100] = "";
    for (int i = 0; i < 40; i++)
        deep[i] = '[';
    http(f, "POST", "/site-invite/bulk", NULL, deep, &a);
    expect_reason(&a, 400, "INVALID_ARGUMENT", "INVALID_JSON");

    /* Announced too large with Expect: answered from the headers alone, no body sent. */
    char raw[4096];
    int n = snprintf(raw, sizeof raw,
                     "POST /site-invite/bulk HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     "Expect: 100-continue\r\nContent-Length: %d\r\n\r\n",
                     BODY_LIMIT + 1);
    http_raw(f->port, raw, (size_t)n, &a);
    expect_code(&a, 413, "PAYLOAD_TOO_LARGE");

    /* Announced too large without Expect: the body is drained, then refused. */
    n = snprintf(raw, sizeof raw,
                 "POST /site-invite/bulk HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                 "Content-Length: %d\r\n\r\n%0*d",
                 2 * BODY_LIMIT, 2 * BODY_LIMIT, 0);
    http_raw(f->port, raw, (size_t)n, &a);
    expect_code(&a, 413, "PAYLOAD_TOO_LARGE");

    /* Chunked past the limit: drained, then refused. */
    char chunked[4096];
    n = snprintf(chunked, sizeof chunked,
                 "POST /site-invite/bulk HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n400\r\n%0*d\r\n400\r\n%0*d\r\n0\r\n\r\n",
                 1024, 0, 1024, 0);
    http_raw(f->port, chunked, (size_t)n, &a);
    expect_code(&a, 413, "PAYLOAD_TOO_LARGE");
}

static void test_auth_and_tenancy(void **state)
{
    struct fixture *f = *state;
    struct answer a;
    char h[512];
    http(f, "GET", "/site-invite/contributor-limit", NULL, NULL, &a);
    expect_code(&a, 401, "UNAUTHENTICATED");

    snprintf(h, sizeof h, "Authorization: sik_nope\r\nwix-site-id: %s\r\n", f->site);
    http(f, "GET", "/site-invite/contributor-limit", h, NULL, &a);
    expect_code(&a, 401, "UNAUTHENTICATED");

    snprintf(h, sizeof h, "Authorization: %s\r\n", f->key_all);
    http(f, "GET", "/site-invite/contributor-limit", h, NULL, &a);
    expect_code(&a, 403, "PERMISSION_DENIED"); /* no wix-site-id */

    snprintf(h, sizeof h, "Authorization: %s\r\nwix-site-id: %s\r\n", f->key_all, f->foreign_site);
    http(f, "GET", "/site-invite/contributor-limit", h, NULL, &a);
    expect_code(&a, 403, "PERMISSION_DENIED");

    snprintf(h, sizeof h,
             "Authorization: %s\r\nwix-site-id: 11111111-2222-4333-8444-555555555555\r\n",
             f->key_all);
    http(f, "GET", "/site-invite/contributor-limit", h, NULL, &a);
    expect_code(&a, 403, "PERMISSION_DENIED");

    snprintf(h, sizeof h, "Authorization: %s\r\nwix-site-id: %s\r\nwix-account-id: %s\r\n",
             f->key_all, f->site, f->foreign_site);
    http(f, "GET", "/site-invite/contributor-limit", h, NULL, &a);
    expect_code(&a, 403, "PERMISSION_DENIED");

    snprintf(h, sizeof h, "Authorization: Bearer %s\r\nwix-site-id: %s\r\n", f->key_read, f->site);
    http(f, "POST", "/site-invite/bulk", h, "{}", &a);
    expect_code(&a, 403, "PERMISSION_DENIED"); /* a read key cannot send */

    /* Upper-case site IDs are normalised; the account header may match the key. */
    char upper[SI_ID_LEN];
    for (size_t i = 0; i < SI_ID_LEN; i++)
        upper[i] = (char)toupper((unsigned char)f->site[i]);
    snprintf(h, sizeof h, "Authorization: %s\r\nwix-site-id: %s\r\nwix-account-id: %s\r\n",
             f->key_read, upper, f->account);
    http(f, "GET", "/invites/site-invite/contributor-limit", h, NULL, &a);
    assert_int_equal(a.status, 200);
    free(a.text);
}

static void test_page_and_metrics(void **state)
{
    struct fixture *f = *state;
    struct answer a;
    char v[256];
    http(f, "GET", "/invite/not-a-token", NULL, NULL, &a);
    assert_int_equal(a.status, 404); /* malformed token, public route: no key needed */
    assert_string_equal(header(&a, "Content-Type", v, sizeof v), "text/html; charset=utf-8");
    assert_non_null(header(&a, "Content-Security-Policy", v, sizeof v));
    assert_non_null(strstr(v, "default-src 'none'"));
    assert_non_null(strstr(v, "frame-ancestors 'none'"));
    assert_string_equal(header(&a, "Cache-Control", v, sizeof v), "no-store");
    assert_string_equal(header(&a, "Referrer-Policy", v, sizeof v), "no-referrer");
    assert_string_equal(header(&a, "X-Content-Type-Options", v, sizeof v), "nosniff");
    free(a.text);

    http(f, "GET", "/healthz", NULL, NULL, &a);
    free(a.text);
    http(f, "GET", "/metrics", NULL, NULL, &a);
    assert_int_equal(a.status, 200);
    assert_non_null(
        strstr(a.body, "siteinvites_http_requests_total{route=\"healthz\",status=\"200\"}"));
    assert_non_null(
        strstr(a.body, "siteinvites_http_request_duration_seconds_bucket{route=\"healthz\""));
    assert_non_null(strstr(a.body, "siteinvites_outbox_depth 0"));
    free(a.text);
}

static void test_listen_config(void **state)
{
    struct fixture *f = *state;
    struct http_server *srv = NULL;
    const char *bad[] = {"127.0.0.1", "127.0.0.1:x", "127.0.0.1:70000",
                         "::1:0",     "[::1]0",      "nohost:1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct http_config cfg = {.listen = bad[i]};
        assert_int_equal(http_server_start(&cfg, &f->app, &srv), SI_ECONFIG);
        assert_null(srv);
    }
    struct http_config tls = {.listen = "127.0.0.1:0", .tls_cert = "c.pem", .tls_key = "k.pem"};
    assert_int_equal(http_server_start(&tls, &f->app, &srv), SI_ECONFIG);
    /* The port in use: SI_EIO. */
    char busy[32];
    snprintf(busy, sizeof busy, "127.0.0.1:%u", f->port);
    struct http_config dup = {.listen = busy, .threads = 1};
    assert_int_equal(http_server_start(&dup, &f->app, &srv), SI_EIO);
    /* IPv6 loopback with a single thread starts and stops. */
    struct http_config v6 = {.listen = "[::1]:0", .threads = 1, .no_access_log = true};
    assert_int_equal(http_server_start(&v6, &f->app, &srv), SI_OK);
    assert_true(http_server_port(srv) > 0);
    http_server_stop(srv);
}

static void *stop_thread(void *srv)
{
    http_server_stop(srv);
    return NULL;
}

/* A request in flight when stop begins still gets its whole answer. */
static void test_stop_finishes_in_flight(void **state)
{
    struct fixture *f = *state;
    struct http_server *srv = NULL;
    struct http_config cfg = {.listen = "127.0.0.1:0", .threads = 2};
    assert_int_equal(http_server_start(&cfg, &f->app, &srv), SI_OK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(http_server_port(srv))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    const char head[] = "POST /site-invite/bulk HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                        "Expect: 100-continue\r\nContent-Length: 2\r\n\r\n";
    assert_int_equal(send(fd, head, sizeof head - 1, MSG_NOSIGNAL), (ssize_t)(sizeof head - 1));
    /* "100 Continue" proves the server has begun the request. */
    char buf[4096] = "";
    ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    assert_true(n > 0);
    assert_non_null(strstr(buf, " 100 "));
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, stop_thread, srv), 0);
    assert_int_equal(send(fd, "{}", 2, MSG_NOSIGNAL), 2);
    size_t got = 0;
    memset(buf, 0, sizeof buf);
    while (got < sizeof buf - 1 && (n = recv(fd, buf + got, sizeof buf - 1 - got, 0)) > 0)
        got += (size_t)n;
    close(fd);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(strncmp(buf, "HTTP/1.1 401 ", 13), 0);
    assert_non_null(strstr(buf, "UNAUTHENTICATED"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_and_headers),
        cmocka_unit_test(test_not_found_and_method),
        cmocka_unit_test(test_body_checks),
        cmocka_unit_test(test_auth_and_tenancy),
        cmocka_unit_test(test_page_and_metrics),
        cmocka_unit_test(test_listen_config),
        cmocka_unit_test(test_stop_finishes_in_flight),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
