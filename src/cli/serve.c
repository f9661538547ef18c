/* `siteinvites serve`: settings become a plan, the plan becomes an app (store, secret, demo
 * data), the app is started (HTTP server, mail worker), and a signal stops it in order. */
#include "cli/cli.h"

#include "api/api.h"
#include "api/expiry.h"
#include "api/idem_wait.h"
#include "auth/key_usage.h"
#include "console/console.h"
#include "cli/dev.h"
#include "cli/dev_tls.h"
#include "cli/install_paths.h"
#include "cli/secret.h"
#include "cli/test_clock.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/resolve.h"
#include "common/xalloc.h"
#include "http/metrics.h"
#include "request/ratelimit.h"
#include "http/server.h"
#include "mail/mailer.h"
#include "cli/serve_webhooks.h"
#include "mail/smtp.h"
#include "request/app.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define URL_HTTP  "http://"
#define URL_HTTPS "https://"

/* Everything one serve run owns; torn down by stop() whatever stage was reached. */
struct serve {
    const struct settings *s;
    struct listen_addr listen;
    char *secret_path;
    char *templates_dir;
    char *dev_dir; /* where dev.json lives: beside a sqlite file, else beside the secret */
    struct store *store;
    struct app app;
    struct mailer_config mail_cfg;
    struct smtp_options smtp;
    bool curl_ready; /* smtp_global_init ran: cleaned up once, after the mailer */
    struct mailer *mailer;
    struct expiry_sweeper *expiry;        /* stores Expired on overdue invites */
    struct webhook_worker *webhooks;      /* delivers webhook events (cli/serve_webhooks.h) */
    struct idem_waiter *idem_waiter;      /* Idempotency-Key twins wait on it */
    _Atomic(struct mailer *) wake_target; /* set once the mailer runs; read by request threads */
    struct http_server *http;
    struct http_server *https;   /* --tls-listen: the same app over TLS; NULL without it */
    struct http_server *metrics; /* --metrics-listen: /metrics alone; NULL without it */
    struct listen_addr tls_listen;
    struct dev_tls dev_tls; /* --dev --tls-listen without --tls-cert: the local CA's files */
    const char *tls_cert;   /* borrowed from the settings or dev_tls */
    const char *tls_key;
    struct dev_info dev;
    const struct clock *clock;      /* &forward.clock: never goes back */
    struct clock_forward forward;   /* over the system clock or the test clock */
    struct test_clock *test_clock;  /* NULL without --test-clock-file */
    char url[SI_BASE_URL_MAX];      /* http://host:port as actually bound */
    char tls_host[SI_BASE_URL_MAX]; /* host:port of the --tls-listen listener as bound */
};

/* app.mail_wake: requests may queue mail before the mailer has started (it starts after the
 * server, once the base URL is known); those wakes are dropped and the worker's first poll
 * finds the rows anyway. */
static void wake_mailer(void *ctx)
{
    struct serve *sv = ctx;
    struct mailer *m = atomic_load(&sv->wake_target);
    if (m)
        mailer_wake(m);
}

/* True for a PostgreSQL server's URL. */
static bool db_url_server(const char *url)
{
    static const char *const servers[] = {"postgres://", "postgresql://"};
    for (size_t i = 0; i < sizeof servers / sizeof servers[0]; i++)
        if (strncmp(url, servers[i], strlen(servers[i])) == 0)
            return true;
    return false;
}

/* True for the database URLs a store backend exists for (store_open has the final word). */
static bool db_url_known(const char *url)
{
    return db_url_server(url) || secret_sqlite_path(url) != NULL;
}

/* With --smtp-url: starts libcurl, then checks the URL and tries the server once, so a bad
 * setting stops us now with a clear message instead of failing every email later. */
static int plan_smtp(struct serve *sv)
{
    const struct settings *s = sv->s;
    char err[SMTP_ERR_MAX];
    long smtp_timeout_ms = (long)s->smtp_timeout_s * 1000; /* 1..600 s: fits a long */
    if (!s->smtp_user != !s->smtp_password) {
        cli_error("smtp-user and smtp-password go together: set both or neither");
        return CLI_EXIT_CONFIG;
    }
    /* Past its lease a claimed email is claimed again; a try still running then could make it
     * go out twice (docs/FAULTS.md). Checked before the server is contacted. */
    if (s->mail_lease_s <= s->smtp_timeout_s) {
        cli_error("mail-lease-seconds (%lld) must be greater than smtp-timeout-seconds (%lld): a "
                  "claimed email's lease must outlive one SMTP try, or two workers could send it "
                  "twice",
                  s->mail_lease_s, s->smtp_timeout_s);
        return CLI_EXIT_CONFIG;
    }
    sv->smtp = (struct smtp_options){
        .require_tls = s->smtp_require_tls,
        .user = s->smtp_user,
        .password = s->smtp_password,
        .allow_no_auth = s->smtp_allow_no_auth,
        /* One bound for the whole message; connecting gets the smaller of it and the default,
         * so a host that never answers SYN costs no more than a server that never answers. */
        .connect_timeout_ms =
            smtp_timeout_ms < SMTP_CONNECT_TIMEOUT_MS ? smtp_timeout_ms : SMTP_CONNECT_TIMEOUT_MS,
        .send_timeout_ms = smtp_timeout_ms,
    };
    if (smtp_global_init(err) != SI_OK) {
        cli_error("--smtp-url: %s", err);
        return CLI_EXIT_CONFIG;
    }
    sv->curl_ready = true;
    /* The URL is shown redacted: a password typed into it must not reach the terminal or log. */
    char *shown = cli_redact_url(s->smtp_url);
    int code = CLI_EXIT_OK;
    if (smtp_check(s->smtp_url, &sv->smtp, err) != SI_OK) {
        cli_error("--smtp-url %s: %s", shown, err);
        code = CLI_EXIT_CONFIG;
    } else if (err[0]) {
        log_warn("--smtp-url %s: %s", shown, err);
    }
    free(shown);
    return code;
}

/* The clock every part of the server reads: the system's, or with --test-clock-file (refused
 * unless --dev or SITEINVITES_TESTS=1: a production server must not be moved in time) the
 * test clock. Nonzero after printing why. */
static int plan_clock(struct serve *sv)
{
    const struct settings *s = sv->s;
    const struct clock *base = &clock_system;
    clock_forward_init(&sv->forward, base);
    sv->clock = &sv->forward.clock;
    if (!s->test_clock_file)
        return 0;
    const char *env = getenv(TEST_CLOCK_ENV);
    if (!s->dev && !(env && strcmp(env, "1") == 0)) {
        cli_error("--test-clock-file is for tests only: it needs --dev or %s=1", TEST_CLOCK_ENV);
        return 1;
    }
    sv->test_clock = test_clock_new(s->test_clock_file, &base);
    clock_forward_init(&sv->forward, base);
    log_warn("--test-clock-file %s is for tests only: the server's clock follows that file",
             s->test_clock_file);
    return 0;
}

/* SITEINVITES_TEST_HOSTS (tests only, refused unless --dev or SITEINVITES_TESTS=1): names the
 * webhook checks resolve from a fixed map instead of DNS (common/resolve.h). Nonzero after
 * printing why. */
static int plan_test_hosts(const struct settings *s)
{
    const char *map = getenv(RESOLVE_TEST_ENV), *env = getenv(TEST_CLOCK_ENV);
    if (!map || !*map)
        return 0;
    if (!s->dev && !(env && strcmp(env, "1") == 0)) {
        cli_error("%s is for tests only: it needs --dev or %s=1", RESOLVE_TEST_ENV, TEST_CLOCK_ENV);
        return 1;
    }
    if (resolve_test_hosts_set(map)) {
        cli_error("%s: expected name=address[,name=address...] (at most %d)", RESOLVE_TEST_ENV,
                  RESOLVE_TEST_MAX);
        return 1;
    }
    log_warn("%s is for tests only: webhook host names resolve from it", RESOLVE_TEST_ENV);
    return 0;
}

/* Checks the settings that can be checked without side effects and derives the paths. */
static int plan(struct serve *sv)
{
    const struct settings *s = sv->s;
    char err[CLI_ERR_MAX];
    if (s->smtp_url) {
        int code = plan_smtp(sv);
        if (code)
            return code;
    } else if (!s->mail_dir) {
        cli_error("--mail-dir must name a folder");
        return CLI_EXIT_CONFIG;
    }
    if (!s->db || !db_url_known(s->db)) {
        char *shown = s->db ? cli_redact_url(s->db) : NULL;
        cli_error("--db: unsupported database URL '%s': use sqlite:PATH or postgres://...",
                  shown ? shown : "");
        free(shown);
        return CLI_EXIT_CONFIG;
    }
    if (s->db_read && (!db_url_server(s->db_read) || !db_url_server(s->db))) {
        cli_error("--db-read takes postgres://... standbys of a --db postgres://... primary");
        return CLI_EXIT_CONFIG;
    }
    if (!s->tls_cert != !s->tls_key) {
        cli_error("--tls-cert and --tls-key go together: give both or neither");
        return CLI_EXIT_CONFIG;
    }
    if (config_parse_listen(s->listen, &sv->listen, err) != SI_OK) {
        cli_error("--listen: %s", err);
        return CLI_EXIT_CONFIG;
    }
    if (s->tls_listen && config_parse_listen(s->tls_listen, &sv->tls_listen, err) != SI_OK) {
        cli_error("--tls-listen: %s", err);
        return CLI_EXIT_CONFIG;
    }
    /* Only --dev may make its own certificate: a real deployment names the one it serves. */
    if (s->tls_listen && !s->tls_cert && !s->dev) {
        cli_error("--tls-listen needs --tls-cert and --tls-key (or --dev for a local CA)");
        return CLI_EXIT_CONFIG;
    }
    sv->tls_cert = s->tls_cert;
    sv->tls_key = s->tls_key;
    if (plan_clock(sv) || plan_test_hosts(s))
        return CLI_EXIT_CONFIG;
    sv->secret_path = secret_default_path(s, err);
    if (!sv->secret_path) {
        cli_error("%s", err);
        return CLI_EXIT_CONFIG;
    }
    sv->templates_dir = s->templates_dir ? xstrdup(s->templates_dir) : install_templates_dir();
    /* dev.json sits beside the database it describes; a server database has no folder, so
     * it goes beside the secret, which every --dev start reads anyway. */
    sv->dev_dir = secret_db_dir(s->db);
    if (!sv->dev_dir) {
        char *copy = xstrdup(sv->secret_path);
        char *slash = strrchr(copy, '/');
        sv->dev_dir = slash ? xstrndup(copy, (size_t)(slash - copy)) : xstrdup(".");
        free(copy);
    }
    return CLI_EXIT_OK;
}

/* Sets app.base_url from --base-url (trailing slashes dropped) or the bound address. */
static int set_base_url(struct serve *sv)
{
    const char *b = sv->s->base_url;
    if (!b) {
        memcpy(sv->app.base_url, sv->url, sizeof sv->url);
        return CLI_EXIT_OK;
    }
    size_t n = strlen(b);
    while (n > 0 && b[n - 1] == '/')
        n--;
    if ((strncmp(b, URL_HTTP, strlen(URL_HTTP)) != 0 &&
         strncmp(b, URL_HTTPS, strlen(URL_HTTPS)) != 0) ||
        n >= sizeof sv->app.base_url || n <= strlen(URL_HTTPS) - 1) {
        cli_error("--base-url must be an http:// or https:// URL under %d bytes, got '%s'",
                  SI_BASE_URL_MAX, b);
        return CLI_EXIT_CONFIG;
    }
    memcpy(sv->app.base_url, b, n);
    sv->app.base_url[n] = '\0';
    return CLI_EXIT_OK;
}

/* Opens the store, loads the secret, fills the app and makes the demo data. */
static int assemble(struct serve *sv)
{
    char err[CLI_ERR_MAX];
    enum si_err rc = cli_open_store(sv->s->db, &sv->store, NULL);
    if (rc)
        return CLI_EXIT_CONFIG; /* a store that cannot open is configuration, whatever why */
    if (sv->s->db_read &&
        store_read_replicas(sv->store, sv->s->db_read, sv->s->db_read_max_lag_ms) != SI_OK)
        return CLI_EXIT_CONFIG; /* logged by the store */
    bool created = false;
    rc = secret_load_or_create(sv->secret_path, &random_system, sv->app.secret, &created, err);
    if (rc) {
        cli_error("%s", err);
        return CLI_EXIT_CONFIG;
    }
    if (created)
        log_info("created the server secret %s", sv->secret_path);
    sv->app.store = sv->store;
    sv->app.clock = sv->clock;
    sv->app.rng = &random_system;
    sv->app.lifetime_override_s = sv->s->invite_lifetime_s;
    sv->app.webhooks_allow_http = sv->s->allow_http_webhooks; /* before any request */
    sv->app.mail_wake = wake_mailer;
    sv->app.mail_wake_ctx = sv;
    if (sv->s->key_rate > 0) {
        double rate = (double)sv->s->key_rate;
        double burst = (double)(sv->s->key_burst ? sv->s->key_burst : sv->s->key_rate);
        if (store_has_key_buckets(sv->store)) { /* PostgreSQL: one limit across instances */
            sv->app.key_rate = rate;
            sv->app.key_burst = burst;
        } else {
            sv->app.key_limit = ratelimit_new(rate, burst);
        }
    }
    sv->app.signin_by_address = ratelimit_new(CONSOLE_MAIL_ADDR_RATE, CONSOLE_MAIL_ADDR_BURST);
    sv->app.signin_by_client = ratelimit_new(CONSOLE_MAIL_CLIENT_RATE, CONSOLE_MAIL_CLIENT_BURST);
    sv->app.idem_ttl_ms = sv->s->idempotency_ttl_s * 1000;
    sv->app.console_idle_s = sv->s->console_idle_s;
    sv->app.console_life_s = sv->s->console_life_s;
    if (sv->s->idempotency_ttl_s)
        log_warn("--idempotency-ttl-seconds %lld is for tests only: Idempotency-Key answers are "
                 "forgotten in seconds",
                 sv->s->idempotency_ttl_s);
    if (sv->s->invite_lifetime_s)
        log_warn("--invite-lifetime-seconds %lld is for tests only: invites expire in seconds",
                 sv->s->invite_lifetime_s);
    if (sv->s->dev) {
        rc = dev_bootstrap(sv->store, sv->dev_dir, &sv->dev, err);
        if (rc) {
            cli_error("%s", err);
            return CLI_EXIT_CONFIG;
        }
    }
    if (sv->s->tls_listen && !sv->tls_cert) {
        rc = dev_tls_ensure(sv->dev_dir, &sv->dev_tls, err);
        if (rc) {
            cli_error("%s", err);
            return CLI_EXIT_CONFIG;
        }
        sv->tls_cert = sv->dev_tls.cert;
        sv->tls_key = sv->dev_tls.key;
    }
    return CLI_EXIT_OK;
}

/* Starts the HTTP server, then (with the base URL known) the mail worker, then prints. */
static int start(struct serve *sv)
{
    const struct settings *s = sv->s;
    /* With --tls-listen, --listen stays plain HTTP and the certificate serves the second one. */
    bool main_tls = s->tls_cert && !s->tls_listen;
    struct http_config hc = {
        .listen = s->listen,
        .threads = (int)s->threads,
        .body_limit = (size_t)s->body_limit,
        .tls_cert = main_tls ? s->tls_cert : NULL,
        .tls_key = main_tls ? s->tls_key : NULL,
        .no_access_log = !s->access_log,
        .max_connections = (unsigned)s->max_connections,
        .max_per_ip = (unsigned)s->max_connections_per_ip,
        .read_timeout_s = (unsigned)s->read_timeout_s,
        .role = s->metrics_listen ? HTTP_ROLE_NO_METRICS : HTTP_ROLE_ALL,
    };
    /* With a fixed port the base URL is final before the first request can arrive. With port
     * 0 nobody can reach us before the listening line names the port. With TLS the scheme is
     * https, in the listening line and in the default base URL. */
    const char *scheme = main_tls ? URL_HTTPS : URL_HTTP;
    snprintf(sv->url, sizeof sv->url, "%s%s:%u", scheme, sv->listen.host, sv->listen.port);
    int code = set_base_url(sv);
    if (code)
        return code;
    /* Page templates and the expiry sweep are ready before the first request can come. */
    enum si_err rc = api_pages_load(sv->templates_dir);
    if (!rc)
        rc = console_pages_load(sv->templates_dir);
    bool test_times = s->invite_lifetime_s || s->idempotency_ttl_s || sv->test_clock;
    if (!rc)
        rc = expiry_start(sv->store, sv->clock,
                          test_times ? EXPIRY_TEST_INTERVAL_MS : EXPIRY_INTERVAL_MS,
                          (si_ms)s->webhook_retention_days * 24 * 3600 * 1000, &sv->expiry);
    /* Twins of a running Idempotency-Key request wait here; stopped after the servers. */
    if (!rc)
        rc = idem_waiter_start(sv->store, &sv->idem_waiter);
    if (!rc)
        sv->app.idem_waiter = sv->idem_waiter;
    /* Keys' "last used" times go through it; stopped after the servers, flushing. */
    if (!rc)
        rc = key_usage_start(sv->store, &sv->app.key_usage);
    if (rc) {
        cli_error("cannot load the page templates from %s or start a worker thread (%s)",
                  sv->templates_dir, si_err_str(rc));
        return CLI_EXIT_CONFIG;
    }
    rc = http_server_start(&hc, &sv->app, &sv->http);
    if (rc) {
        cli_error("cannot serve on %s (%s; see the log line above)", s->listen, si_err_str(rc));
        return CLI_EXIT_CONFIG;
    }
    snprintf(sv->url, sizeof sv->url, "%s%s:%u", scheme, sv->listen.host,
             http_server_port(sv->http));
    if (s->tls_listen) {
        hc.listen = s->tls_listen;
        hc.tls_cert = sv->tls_cert;
        hc.tls_key = sv->tls_key;
        rc = http_server_start(&hc, &sv->app, &sv->https);
        if (rc) {
            cli_error("cannot serve HTTPS on %s (%s; see the log line above)", s->tls_listen,
                      si_err_str(rc));
            return CLI_EXIT_CONFIG;
        }
        snprintf(sv->tls_host, sizeof sv->tls_host, "%s:%u", sv->tls_listen.host,
                 http_server_port(sv->https));
    }
    if ((code = set_base_url(sv)) != 0)
        return code;
    if (s->metrics_listen) {
        /* Scrapes stay off the public port: plain HTTP, one thread, no access lines. */
        struct http_config mc = {.listen = s->metrics_listen,
                                 .threads = 1,
                                 .no_access_log = true,
                                 .role = HTTP_ROLE_METRICS_ONLY};
        if (http_server_start(&mc, &sv->app, &sv->metrics) != SI_OK) {
            cli_error("cannot serve metrics on %s (see the log line above)", s->metrics_listen);
            return CLI_EXIT_CONFIG;
        }
    }
    sv->mail_cfg = (struct mailer_config){
        .maildir = s->mail_dir,
        .from = s->mail_from,
        .base_url = sv->app.base_url,
        .templates_dir = sv->templates_dir,
        .secret = sv->app.secret,
        .senders = (int)s->smtp_senders,
        .max_attempts = (int)s->mail_max_attempts,
        .max_age_ms = (si_ms)s->mail_max_age_s * 1000,
        .retry_base_ms = (si_ms)s->mail_retry_ms,
        .lease_ms = (si_ms)s->mail_lease_s * 1000,
        .count_email = metrics_count_email,
    };
    if (s->smtp_url) {
        sv->mail_cfg.try_max_ms = (si_ms)s->smtp_timeout_s * 1000;
        sv->mail_cfg.transport = &smtp_transport;
        sv->mail_cfg.transport_target = s->smtp_url;
        sv->mail_cfg.transport_options = &sv->smtp;
    }
    /* With the worker off, mail stays queued in the outbox for a process that delivers it. */
    rc = s->mail_worker ? mailer_start(&sv->mail_cfg, sv->store, sv->clock, &sv->mailer) : SI_OK;
    if (rc) {
        cli_error("cannot start the mail worker with %s and templates %s (%s)",
                  s->smtp_url ? "the SMTP server" : s->mail_dir, sv->templates_dir, si_err_str(rc));
        return CLI_EXIT_CONFIG;
    }
    if (!s->mail_worker)
        log_warn("mail worker off: invitation emails stay queued in the outbox");
    if (serve_webhooks_start(s, &sv->app, &sv->webhooks)) {
        cli_error("cannot start the webhook delivery worker (see the log line above)");
        return CLI_EXIT_CONFIG;
    }
    atomic_store(&sv->wake_target, sv->mailer);
    if (sv->dev.ready) {
        char console[CONSOLE_URL_MAX];
        if (console_link_new(sv->store, &random_system, sv->dev.account_id,
                             clock_now(&clock_system), DEV_CONSOLE_LINK_TTL_S, sv->app.base_url,
                             console, sizeof console) != SI_OK)
            console[0] = '\0'; /* logged by the store; the demo block still helps */
        struct dev_where w = {
            .url = sv->url,
            .tls_host = sv->https ? sv->tls_host : NULL,
            .ca_file = sv->dev_tls.ca,
            .maildir = s->mail_dir,
            .smtp_url = s->smtp_url,
            .console = console[0] ? console : NULL,
        };
        dev_print(&sv->dev, &w);
        secure_wipe(console, sizeof console);
        dev_info_cleanup(&sv->dev);
    }
    /* Before the one listening line, which scripts read last. */
    if (sv->https)
        printf("listening-tls https://%s\n", sv->tls_host);
    /* Tests and scripts read this exact line to learn the port. */
    printf("listening %s\n", sv->url);
    fflush(stdout);
    return CLI_EXIT_OK;
}

/* Stops in the order that loses nothing: no new requests, requests in flight finished, the
 * mail batch finished, then the store. Safe at any stage of start-up. */
static void stop(struct serve *sv)
{
    http_server_stop(sv->metrics);
    http_server_stop(sv->https);
    http_server_stop(sv->http);
    atomic_store(&sv->wake_target, NULL);
    key_usage_stop(sv->app.key_usage); /* no request notes a use any more: write the rest */
    sv->app.key_usage = NULL;
    serve_webhooks_stop(sv->webhooks);
    mailer_stop(sv->mailer);
    idem_waiter_stop(sv->idem_waiter);
    expiry_stop(sv->expiry);
    api_pages_unload();
    console_pages_unload();
    test_clock_free(sv->test_clock); /* every reader of the clock has stopped */
    if (sv->curl_ready)
        smtp_global_cleanup();
    store_close(sv->store);
    ratelimit_free(sv->app.key_limit);
    ratelimit_free(sv->app.signin_by_address);
    ratelimit_free(sv->app.signin_by_client);
    dev_info_cleanup(&sv->dev);
    dev_tls_cleanup(&sv->dev_tls);
    secure_wipe(sv->app.secret, sizeof sv->app.secret);
    free(sv->secret_path);
    free(sv->templates_dir);
    free(sv->dev_dir);
}

/* SIGHUP (systemctl reload, logrotate): the TLS certificate and key are read again, and the
 * log level from the config file when it came from there. What fails to load is logged and the
 * old value kept: a reload never stops the server. */
static void reload(struct serve *sv)
{
    const struct settings *s = sv->s;
    log_info("received SIGHUP: reloading the TLS certificate and the log level");
    /* With --tls-listen the certificate is the second server's (perhaps the dev one). */
    struct http_server *tls_srv = sv->https ? sv->https : sv->http;
    const char *cert = sv->https ? sv->tls_cert : s->tls_cert;
    const char *key = sv->https ? sv->tls_key : s->tls_key;
    if (cert && http_server_reload_tls(tls_srv, cert, key) != SI_OK)
        log_warn("SIGHUP: TLS not reloaded (reason above); serving with the previous one");
    /* A flag or variable outranks the file: then the file's level does not apply. */
    if (!s->config || s->source[SET_LOG_LEVEL] > SRC_FILE)
        return;
    struct settings fresh;
    char err[CLI_ERR_MAX];
    enum log_level level;
    settings_init(&fresh);
    if (config_apply_file(&fresh, s->config, SCOPE_SERVE, err) != SI_OK)
        log_warn("SIGHUP: log level not reloaded: %s", err);
    else if (!log_level_parse(fresh.log_level, &level))
        log_warn("SIGHUP: log level not reloaded: log-level must be debug, info, warn or error");
    else
        log_set_level(level);
    settings_cleanup(&fresh);
}

/* Returns the heap pages start-up freed (migrations, template parsing, a new file's schema
 * pages) to the kernel: glibc keeps freed memory below the top of its heaps resident until
 * asked. Only on glibc; elsewhere the pages stay until reused. */
static void give_back_start_up_memory(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

int cli_serve(const struct cli_cmd *cmd, const struct settings *s, const struct cli_args *a)
{
    (void)cmd;
    (void)a;
    struct serve sv;
    memset(&sv, 0, sizeof sv);
    atomic_init(&sv.wake_target, NULL);
    sv.s = s;
    /* Block the stop signals before any thread exists, so every thread inherits the mask and
     * only sigwait below receives them. A closed client socket must not kill us either. */
    sigset_t stop_set;
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGHUP); /* reload, not stop */
    pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
    signal(SIGPIPE, SIG_IGN);
    int code = plan(&sv);
    if (!code)
        code = assemble(&sv);
    if (!code)
        code = start(&sv);
    if (!code)
        give_back_start_up_memory();
    for (int sig = SIGHUP; !code && sig == SIGHUP;) {
        if (sigwait(&stop_set, &sig) != 0)
            break;
        if (sig == SIGHUP)
            reload(&sv);
        else
            log_info("received %s: finishing requests and mail, then exiting",
                     sig == SIGTERM ? "SIGTERM" : "SIGINT");
    }
    stop(&sv);
    return code;
}
