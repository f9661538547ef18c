/* The settings table and its sources: defaults, config file, environment, flags. */
#include "cli/config.h"

#include "common/xalloc.h"
#include "core/console.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define ENV_PREFIX                 "SITEINVITES_"
#define INT_MAX_TEXT               20 /* digits and sign of a long long */
#define PORT_MAX                   65535
#define THREADS_MAX                1024
#define LIFETIME_MAX               (90LL * 86400) /* the longest invite lifetime a site may set */
#define BODY_MIN                   1024
#define BODY_MAX                   (64LL * 1024 * 1024)
#define HELP_COLUMN                32
#define SENDERS_MAX                64 /* MAILER_SENDERS_MAX */
#define ATTEMPTS_MAX               100
#define RETRY_MS_MIN               10
#define RETRY_MS_MAX               (3600LL * 1000)
#define LEASE_MAX                  3600
#define CONNS_MAX                  1000000
#define TIMEOUT_MAX                3600
#define WEBHOOK_THREADS_MAX        16 /* webhook/worker.h */
#define WEBHOOK_RETENTION_MAX_DAYS 3650
#define LAG_MS_MAX                 (3600LL * 1000)

#define F(field) offsetof(struct settings, field)

/* One row per setting; docs/CONFIG.md is this table in prose and must follow it. */
static const struct setting_def table[] = {
    {SET_CONFIG, "config", ENV_PREFIX "CONFIG", NULL, TYPE_STRING, SCOPE_ALL, 0, 0, F(config),
     "FILE", "read settings from FILE (`key = value` lines, # comments)", false},
    {SET_DB, "db", ENV_PREFIX "DB", "sqlite:var/siteinvites.db", TYPE_STRING, SCOPE_ALL, 0, 0,
     F(db), "URL", "database: sqlite:PATH or postgres://...", false},
    {SET_DB_READ, "db-read", ENV_PREFIX "DB_READ", NULL, TYPE_STRING, SCOPE_SERVE, 0, 0, F(db_read),
     "URL", "PostgreSQL standbys (postgres://..., multi-host) that serve site reads when fresh",
     false},
    {SET_DB_READ_MAX_LAG, "db-read-max-lag-ms", ENV_PREFIX "DB_READ_MAX_LAG_MS", "1000", TYPE_INT,
     SCOPE_SERVE, 0, LAG_MS_MAX, F(db_read_max_lag_ms), "MS",
     "a standby further behind than this serves no read (the primary does)", false},
    {SET_LISTEN, "listen", ENV_PREFIX "LISTEN", "127.0.0.1:8080", TYPE_STRING, SCOPE_SERVE, 0, 0,
     F(listen), "HOST:PORT", "address to serve on; port 0 picks a free port", false},
    {SET_BASE_URL, "base-url", ENV_PREFIX "BASE_URL", NULL, TYPE_STRING, SCOPE_ALL, 0, 0,
     F(base_url), "URL", "public URL of this server, for accept links (default http://LISTEN)",
     false},
    {SET_MAIL_DIR, "mail-dir", ENV_PREFIX "MAIL_DIR", "var/mail", TYPE_STRING, SCOPE_SERVE, 0, 0,
     F(mail_dir), "DIR", "Maildir that receives outgoing mail (DIR/new/*.eml)", false},
    {SET_SMTP_URL, "smtp-url", ENV_PREFIX "SMTP_URL", NULL, TYPE_STRING, SCOPE_SERVE, 0, 0,
     F(smtp_url), "URL", "send mail over SMTP (smtp://HOST:PORT, smtps://HOST:PORT) instead",
     false},
    {SET_SMTP_REQUIRE_TLS, "smtp-require-tls", ENV_PREFIX "SMTP_REQUIRE_TLS", "off", TYPE_BOOL,
     SCOPE_SERVE, 0, 0, F(smtp_require_tls), "on|off",
     "smtp://: send only after STARTTLS (otherwise used when offered)", false},
    {SET_SMTP_USER, "smtp-user", ENV_PREFIX "SMTP_USER", NULL, TYPE_STRING, SCOPE_SERVE, 0, 0,
     F(smtp_user), "USER", "SMTP login (config file or environment only)", true},
    {SET_SMTP_PASSWORD, "smtp-password", ENV_PREFIX "SMTP_PASSWORD", NULL, TYPE_STRING, SCOPE_SERVE,
     0, 0, F(smtp_password), "PASSWORD", "SMTP password (config file or environment only)", true},
    {SET_SMTP_SENDERS, "smtp-senders", ENV_PREFIX "SMTP_SENDERS", "1", TYPE_INT, SCOPE_SERVE, 1,
     SENDERS_MAX, F(smtp_senders), "N", "mail sender threads, one connection each", false},
    {SET_MAIL_MAX_ATTEMPTS, "mail-max-attempts", ENV_PREFIX "MAIL_MAX_ATTEMPTS", "10", TYPE_INT,
     SCOPE_SERVE, 1, ATTEMPTS_MAX, F(mail_max_attempts), "N",
     "tries of one email before it is Failed", false},
    {SET_MAIL_MAX_AGE, "mail-max-age-seconds", ENV_PREFIX "MAIL_MAX_AGE_SECONDS", "86400", TYPE_INT,
     SCOPE_SERVE, 0, LIFETIME_MAX, F(mail_max_age_s), "N",
     "an email not delivered this long after it was queued is Failed; 0 = no limit", false},
    {SET_MAIL_RETRY_MS, "mail-retry-ms", ENV_PREFIX "MAIL_RETRY_MS", "30000", TYPE_INT, SCOPE_SERVE,
     RETRY_MS_MIN, RETRY_MS_MAX, F(mail_retry_ms), "MS",
     "wait after a failed try, doubled per try (capped at 1 hour), +-20% jitter", false},
    {SET_MAIL_LEASE, "mail-lease-seconds", ENV_PREFIX "MAIL_LEASE_SECONDS", "60", TYPE_INT,
     SCOPE_SERVE, 1, LEASE_MAX, F(mail_lease_s), "N",
     "a claimed email not marked sent or failed within N s (a crash) is claimed again", false},
    {SET_MAIL_FROM, "mail-from", ENV_PREFIX "MAIL_FROM", "Site Invites <invites@localhost>",
     TYPE_STRING, SCOPE_SERVE, 0, 0, F(mail_from), "ADDR", "From header of invite emails", false},
    {SET_TEMPLATES_DIR, "templates-dir", ENV_PREFIX "TEMPLATES_DIR", NULL, TYPE_STRING, SCOPE_SERVE,
     0, 0, F(templates_dir), "DIR",
     "mail and page templates (default ./templates, else the installed or source tree's)", false},
    {SET_SECRET_FILE, "secret-file", ENV_PREFIX "SECRET_FILE", NULL, TYPE_STRING, SCOPE_SERVE, 0, 0,
     F(secret_file), "FILE",
     "server secret, created if absent (default: secret.key beside a sqlite database)", false},
    {SET_THREADS, "threads", ENV_PREFIX "THREADS", "0", TYPE_INT, SCOPE_SERVE, 0, THREADS_MAX,
     F(threads), "N", "HTTP worker threads; 0 = two per core", false},
    {SET_BODY_LIMIT, "body-limit", ENV_PREFIX "BODY_LIMIT", "1048576", TYPE_INT, SCOPE_SERVE,
     BODY_MIN, BODY_MAX, F(body_limit), "BYTES", "largest request body accepted", false},
    {SET_ACCESS_LOG, "access-log", ENV_PREFIX "ACCESS_LOG", "on", TYPE_BOOL, SCOPE_SERVE, 0, 0,
     F(access_log), "on|off", "log one line per request", false},
    {SET_MAIL_WORKER, "mail-worker", ENV_PREFIX "MAIL_WORKER", "on", TYPE_BOOL, SCOPE_SERVE, 0, 0,
     F(mail_worker), "on|off",
     "deliver queued mail from this process (off: queue only, e.g. to measure the API alone)",
     false},
    {SET_LOG_LEVEL, "log-level", ENV_PREFIX "LOG_LEVEL", "info", TYPE_STRING, SCOPE_ALL, 0, 0,
     F(log_level), "LEVEL", "debug, info, warn or error", false},
    {SET_INVITE_LIFETIME, "invite-lifetime-seconds", ENV_PREFIX "INVITE_LIFETIME_SECONDS", "0",
     TYPE_INT, SCOPE_SERVE, 0, LIFETIME_MAX, F(invite_lifetime_s), "N",
     "TESTS ONLY: invites expire after N seconds; 0 = per-site days", false},
    {SET_TLS_CERT, "tls-cert", ENV_PREFIX "TLS_CERT", NULL, TYPE_STRING, SCOPE_SERVE, 0, 0,
     F(tls_cert), "FILE", "PEM certificate (with --tls-key)", false},
    {SET_TLS_KEY, "tls-key", ENV_PREFIX "TLS_KEY", NULL, TYPE_STRING, SCOPE_SERVE, 0, 0, F(tls_key),
     "FILE", "PEM private key (with --tls-cert)", false},
    {SET_TLS_LISTEN, "tls-listen", ENV_PREFIX "TLS_LISTEN", NULL, TYPE_STRING, SCOPE_SERVE, 0, 0,
     F(tls_listen), "HOST:PORT",
     "also serve HTTPS here (listen stays HTTP); with --dev and no --tls-cert, a local CA", false},
    {SET_DEV, "dev", ENV_PREFIX "DEV", "off", TYPE_SWITCH, SCOPE_SERVE, 0, 0, F(dev), NULL,
     "create demo data and print a ready-to-run curl example", false},
    {SET_SMTP_ALLOW_NO_AUTH, "smtp-allow-no-auth", ENV_PREFIX "SMTP_ALLOW_NO_AUTH", "off",
     TYPE_SWITCH, SCOPE_SERVE, 0, 0, F(smtp_allow_no_auth), NULL,
     "with smtp-user: send even if the server offers no AUTH (otherwise refused)", false},
    {SET_SMTP_TIMEOUT, "smtp-timeout-seconds", ENV_PREFIX "SMTP_TIMEOUT_SECONDS", "30", TYPE_INT,
     SCOPE_SERVE, 1, 600, F(smtp_timeout_s), "N",
     "longest wait for an SMTP server: connecting, then one whole message", false},
    {SET_LOG_FORMAT, "log-format", ENV_PREFIX "LOG_FORMAT", "text", TYPE_STRING, SCOPE_ALL, 0, 0,
     F(log_format), "FORMAT", "text, or json: one object per line for log shippers", false},
    {SET_METRICS_LISTEN, "metrics-listen", ENV_PREFIX "METRICS_LISTEN", NULL, TYPE_STRING,
     SCOPE_SERVE, 0, 0, F(metrics_listen), "HOST:PORT",
     "serve /metrics here (plain HTTP) and not on the API port", false},
    {SET_KEY_RATE, "key-rate", ENV_PREFIX "KEY_RATE", "0", TYPE_INT, SCOPE_SERVE, 0, 1000000,
     F(key_rate), "RPS",
     "requests per second per API key (token bucket, shared on PostgreSQL); 0 = off", false},
    {SET_KEY_BURST, "key-burst", ENV_PREFIX "KEY_BURST", "0", TYPE_INT, SCOPE_SERVE, 0, 1000000,
     F(key_burst), "N", "requests one key may make at once above key-rate; 0 = key-rate", false},
    {SET_IDEMPOTENCY_TTL, "idempotency-ttl-seconds", ENV_PREFIX "IDEMPOTENCY_TTL_SECONDS", "0",
     TYPE_INT, SCOPE_SERVE, 0, 86400, F(idempotency_ttl_s), "N",
     "TESTS ONLY: an Idempotency-Key's answer is kept N seconds; 0 = 24 hours", false},
    {SET_MAX_CONNECTIONS, "max-connections", ENV_PREFIX "MAX_CONNECTIONS", "1000", TYPE_INT,
     SCOPE_SERVE, 1, CONNS_MAX, F(max_connections), "N",
     "open HTTP connections per listener; more wait in the listen backlog", false},
    {SET_MAX_CONNECTIONS_PER_IP, "max-connections-per-ip", ENV_PREFIX "MAX_CONNECTIONS_PER_IP", "0",
     TYPE_INT, SCOPE_SERVE, 0, CONNS_MAX, F(max_connections_per_ip), "N",
     "open connections from one client address, more are closed; 0 = no limit (use behind a proxy)",
     false},
    {SET_READ_TIMEOUT, "read-timeout-seconds", ENV_PREFIX "READ_TIMEOUT_SECONDS", "30", TYPE_INT,
     SCOPE_SERVE, 1, TIMEOUT_MAX, F(read_timeout_s), "N",
     "close a connection that sent or took no byte for N s (headers, body, keep-alive, answer)",
     false},
    {SET_TEST_CLOCK_FILE, "test-clock-file", ENV_PREFIX "TEST_CLOCK_FILE", NULL, TYPE_STRING,
     SCOPE_SERVE, 0, 0, F(test_clock_file), "FILE",
     "TESTS ONLY (with --dev or SITEINVITES_TESTS=1): the clock runs FILE's milliseconds ahead",
     false},
    {SET_ALLOW_HTTP_WEBHOOKS, "allow-http-webhooks", ENV_PREFIX "ALLOW_HTTP_WEBHOOKS", "off",
     TYPE_SWITCH, SCOPE_SERVE, 0, 0, F(allow_http_webhooks), NULL,
     "DEVELOPMENT ONLY: webhooks may use http:// and loopback or private addresses", false},
    {SET_WEBHOOK_THREADS, "webhook-threads", ENV_PREFIX "WEBHOOK_THREADS", "2", TYPE_INT,
     SCOPE_SERVE, 0, WEBHOOK_THREADS_MAX, F(webhook_threads), "N",
     "webhook delivery threads, one connection cache each; 0 = deliver none from here", false},
    {SET_WEBHOOK_RETRY_MS, "webhook-retry-ms", ENV_PREFIX "WEBHOOK_RETRY_MS", "5000", TYPE_INT,
     SCOPE_SERVE, RETRY_MS_MIN, RETRY_MS_MAX, F(webhook_retry_ms), "MS",
     "wait after a failed webhook try, x4 per try (capped at 6 hours), +-20% jitter", false},
    {SET_WEBHOOK_GIVE_UP, "webhook-give-up-seconds", ENV_PREFIX "WEBHOOK_GIVE_UP_SECONDS", "259200",
     TYPE_INT, SCOPE_SERVE, 1, LIFETIME_MAX, F(webhook_give_up_s), "N",
     "a webhook event not delivered N s after it happened is Failed (default 3 days)", false},
    {SET_WEBHOOK_DISABLE_AFTER, "webhook-disable-seconds", ENV_PREFIX "WEBHOOK_DISABLE_SECONDS",
     "86400", TYPE_INT, SCOPE_SERVE, 1, LIFETIME_MAX, F(webhook_disable_after_s), "N",
     "an endpoint failing for N s without a success is disabled (default 24 hours)", false},
    {SET_WEBHOOK_TIMEOUT, "webhook-timeout-seconds", ENV_PREFIX "WEBHOOK_TIMEOUT_SECONDS", "10",
     TYPE_INT, SCOPE_SERVE, 1, 300, F(webhook_timeout_s), "N",
     "longest webhook POST, connecting included", false},
    {SET_WEBHOOK_CONNECT_TIMEOUT, "webhook-connect-seconds", ENV_PREFIX "WEBHOOK_CONNECT_SECONDS",
     "5", TYPE_INT, SCOPE_SERVE, 1, 300, F(webhook_connect_timeout_s), "N",
     "longest wait for a webhook receiver's connection", false},
    {SET_CONSOLE_IDLE, "console-idle-seconds", ENV_PREFIX "CONSOLE_IDLE_SECONDS", "1800", TYPE_INT,
     SCOPE_SERVE, 60, CONSOLE_IDLE_MAX_S, F(console_idle_s), "N",
     "a console session unused for N s is over (docs/CONSOLE.md)", false},
    {SET_CONSOLE_SESSION, "console-session-seconds", ENV_PREFIX "CONSOLE_SESSION_SECONDS", "43200",
     TYPE_INT, SCOPE_SERVE, 60, CONSOLE_LIFE_MAX_S, F(console_life_s), "N",
     "a console session is over N s after sign-in, used or not", false},
    {SET_WEBHOOK_CA_FILE, "webhook-ca-file", ENV_PREFIX "WEBHOOK_CA_FILE", NULL, TYPE_STRING,
     SCOPE_SERVE, 0, 0, F(webhook_ca_file), "FILE",
     "PEM CA certificates webhook deliveries trust besides the system store", false},
    {SET_WEBHOOK_RETENTION, "webhook-retention-days", ENV_PREFIX "WEBHOOK_RETENTION_DAYS", "30",
     TYPE_INT, SCOPE_SERVE, 1, WEBHOOK_RETENTION_MAX_DAYS, F(webhook_retention_days), "N",
     "finished webhook deliveries and their events are deleted N days after (queued ones never)",
     false},
};

#undef F

const struct setting_def *config_table(size_t *n)
{
    *n = sizeof table / sizeof table[0];
    return table;
}

/* The address of a row's field inside a settings struct. */
static void *field(struct settings *s, const struct setting_def *d)
{
    return (char *)s + d->offset;
}

void settings_init(struct settings *s)
{
    memset(s, 0, sizeof *s);
    char err[CLI_ERR_MAX];
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        /* Defaults are ours and valid; a failure here is a broken table. */
        if (config_set(s, &table[i], table[i].def, SRC_DEFAULT, err) != SI_OK)
            abort();
    }
}

void settings_cleanup(struct settings *s)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (table[i].type == TYPE_STRING) {
            char **p = field(s, &table[i]);
            free(*p);
            *p = NULL;
        }
    }
}

/* How a message names the setting: the spelling the user typed in that source. */
static void setting_name(const struct setting_def *d, enum setting_source src, char *out,
                         size_t cap)
{
    if (src == SRC_ENV)
        snprintf(out, cap, "%s", d->env);
    else if (src == SRC_FILE)
        snprintf(out, cap, "%s", d->key);
    else
        snprintf(out, cap, "--%s", d->key);
}

/* The usual spellings of a boolean, case-insensitively. */
static bool parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"on", "true", "yes", "1"};
    static const char *const no[] = {"off", "false", "no", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* A whole decimal number in [min, max]; no blanks, no trailing bytes, no overflow. */
static bool parse_int(const char *v, long long min, long long max, long long *out)
{
    if (!*v || strlen(v) > INT_MAX_TEXT || isspace((unsigned char)*v))
        return false;
    errno = 0;
    char *end = NULL;
    long long n = strtoll(v, &end, 10);
    if (errno || *end || n < min || n > max)
        return false;
    *out = n;
    return true;
}

enum si_err config_set(struct settings *s, const struct setting_def *d, const char *value,
                       enum setting_source src, char err[CLI_ERR_MAX])
{
    char name[128];
    setting_name(d, src, name, sizeof name);
    switch (d->type) {
    case TYPE_STRING: {
        char **p = field(s, d);
        free(*p);
        *p = value && *value ? xstrdup(value) : NULL;
        break;
    }
    case TYPE_INT:
        if (!value || !parse_int(value, d->min, d->max, field(s, d))) {
            snprintf(err, CLI_ERR_MAX, "%s: expected a whole number from %lld to %lld, got '%s'",
                     name, d->min, d->max, value ? value : "");
            return SI_ECONFIG;
        }
        break;
    case TYPE_BOOL:
    case TYPE_SWITCH:
        if (!value || !parse_bool(value, field(s, d))) {
            snprintf(err, CLI_ERR_MAX, "%s: expected on or off, got '%s'", name,
                     value ? value : "");
            return SI_ECONFIG;
        }
        break;
    }
    s->source[d->id] = src;
    return SI_OK;
}

static const struct setting_def *find_key(const char *key, size_t len)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const char *k = table[i].key;
        if (strlen(k) != len)
            continue;
        /* A file may spell mail-dir as mail_dir: both map to the same row. */
        size_t j = 0;
        while (j < len && (key[j] == k[j] || (key[j] == '_' && k[j] == '-')))
            j++;
        if (j == len)
            return &table[i];
    }
    return NULL;
}

/* Drops blanks at both ends, in place; returns the new start. */
static char *trim(char *p)
{
    while (isspace((unsigned char)*p))
        p++;
    size_t n = strlen(p);
    while (n > 0 && isspace((unsigned char)p[n - 1]))
        p[--n] = '\0';
    return p;
}

/* Applies one non-blank, non-comment line; msg receives the reason on failure. */
static enum si_err apply_line(struct settings *s, char *line, unsigned scope, char msg[CLI_ERR_MAX])
{
    char *eq = strchr(line, '=');
    if (!eq) {
        snprintf(msg, CLI_ERR_MAX, "expected 'key = value'");
        return SI_ECONFIG;
    }
    *eq = '\0';
    char *key = trim(line);
    char *value = trim(eq + 1);
    const struct setting_def *d = find_key(key, strlen(key));
    if (!d) {
        snprintf(msg, CLI_ERR_MAX, "unknown setting '%.100s'", key);
        return SI_ECONFIG;
    }
    if (d->id == SET_CONFIG) {
        snprintf(msg, CLI_ERR_MAX, "a config file cannot name another config file");
        return SI_ECONFIG;
    }
    size_t n = strlen(value);
    if (n >= 2 && value[0] == '"' && value[n - 1] == '"') {
        value[n - 1] = '\0';
        value++;
    }
    if (!(d->scope & scope))
        return SI_OK; /* a serve setting read by an admin command: not ours to judge */
    return config_set(s, d, value, SRC_FILE, msg);
}

/* A file that set a secret (smtp-password) must not be readable by others, as ssh refuses a
 * private key: a password others can read is a password given away. Group access is allowed
 * only for the group this process runs as: the packaged layout is root:siteinvites 0640, read
 * by the service through its group, so root alone may change it. */
static enum si_err check_secret_mode(const struct settings *s, FILE *f, const char *path,
                                     char err[CLI_ERR_MAX])
{
    struct stat st;
    if (fstat(fileno(f), &st) != 0)
        return SI_OK;
    bool others = st.st_mode & S_IRWXO;
    bool foreign_group = (st.st_mode & S_IRWXG) && st.st_gid != getegid();
    if (!others && !foreign_group)
        return SI_OK;
    if (s->source[SET_SMTP_PASSWORD] != SRC_FILE)
        return SI_OK; /* the login name alone is no secret */
    snprintf(err, CLI_ERR_MAX,
             "config file %s holds %s but is readable by others or by a group this process "
             "is not in (mode %04o): run chmod 600 %s (or 640 with the service's group)",
             path, "smtp-password", (unsigned)(st.st_mode & 07777), path);
    return SI_ECONFIG;
}

enum si_err config_apply_lines(struct settings *s, FILE *f, const char *path, unsigned scope,
                               char err[CLI_ERR_MAX])
{
    char line[CONFIG_LINE_MAX];
    char msg[CLI_ERR_MAX];
    for (int lineno = 1; fgets(line, sizeof line, f); lineno++) {
        /* A line that did not fit would be read as two: refuse it instead. */
        size_t n = strlen(line);
        if (n == sizeof line - 1 && line[n - 1] != '\n' && !feof(f)) {
            snprintf(err, CLI_ERR_MAX, "%s:%d: line longer than %d bytes", path, lineno,
                     CONFIG_LINE_MAX - 2);
            return SI_ECONFIG;
        }
        char *p = trim(line);
        if (*p == '\0' || *p == '#')
            continue;
        enum si_err rc = apply_line(s, p, scope, msg);
        if (rc) {
            snprintf(err, CLI_ERR_MAX, "%s:%d: %.400s", path, lineno, msg);
            return rc;
        }
    }
    if (ferror(f)) {
        snprintf(err, CLI_ERR_MAX, "cannot read config file %s: %s", path, strerror(errno));
        return SI_EIO;
    }
    return SI_OK;
}

enum si_err config_apply_file(struct settings *s, const char *path, unsigned scope,
                              char err[CLI_ERR_MAX])
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, CLI_ERR_MAX, "cannot read config file %s: %s", path, strerror(errno));
        return SI_EIO;
    }
    enum si_err rc = config_apply_lines(s, f, path, scope, err);
    if (!rc)
        rc = check_secret_mode(s, f, path, err);
    fclose(f);
    return rc;
}

enum si_err config_apply_env(struct settings *s, char *const *envp, unsigned scope,
                             char err[CLI_ERR_MAX])
{
    for (size_t e = 0; envp && envp[e]; e++) {
        const char *var = envp[e];
        const char *eq = strchr(var, '=');
        if (!eq || strncmp(var, ENV_PREFIX, strlen(ENV_PREFIX)) != 0)
            continue;
        for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
            const struct setting_def *d = &table[i];
            if (!(d->scope & scope) || strlen(d->env) != (size_t)(eq - var) ||
                strncmp(d->env, var, (size_t)(eq - var)) != 0)
                continue;
            enum si_err rc = config_set(s, d, eq + 1, SRC_ENV, err);
            if (rc)
                return rc;
        }
    }
    return SI_OK;
}

enum si_err config_parse_listen(const char *text, struct listen_addr *out, char err[CLI_ERR_MAX])
{
    const char *colon = NULL;
    size_t hostlen = 0;
    if (!text || !*text)
        goto bad;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':' || close == text + 1)
            goto bad;
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        /* Two colons without brackets is an IPv6 literal we cannot split reliably. */
        if (!colon || memchr(text, ':', (size_t)(colon - text)))
            goto bad;
    }
    hostlen = (size_t)(colon - text);
    if (hostlen == 0 || hostlen >= sizeof out->host)
        goto bad;
    for (size_t i = 0; i < hostlen; i++) {
        unsigned char c = (unsigned char)text[i];
        if (!isalnum(c) && !strchr(".-:[]%_", c))
            goto bad;
    }
    long long port = 0;
    if (strlen(colon + 1) > 5 || !isdigit((unsigned char)colon[1]) ||
        !parse_int(colon + 1, 0, PORT_MAX, &port))
        goto bad;
    memcpy(out->host, text, hostlen);
    out->host[hostlen] = '\0';
    out->port = (uint16_t)port;
    return SI_OK;
bad:
    snprintf(err, CLI_ERR_MAX,
             "bad listen address '%.200s': expected HOST:PORT (e.g. 127.0.0.1:8080, [::1]:8080)",
             text ? text : "");
    return SI_ECONFIG;
}

void config_print_help(FILE *f, unsigned scope)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const struct setting_def *d = &table[i];
        if (!(d->scope & scope))
            continue;
        char left[96];
        snprintf(left, sizeof left, "%s%s%s%s", d->no_flag ? "" : "--", d->key,
                 d->metavar ? " " : "", d->metavar ? d->metavar : "");
        fprintf(f, "  %-*s %s\n", HELP_COLUMN, left, d->help);
        fprintf(f, "  %-*s (%senv %s%s%s)\n", HELP_COLUMN, "",
                d->no_flag ? "not a flag: config file key or " : "", d->env,
                d->def ? ", default " : "", d->def ? d->def : "");
    }
}

/* The row of a setting flag ("listen" from "--listen"), in any scope. */
static const struct setting_def *find_flag(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strlen(table[i].key) == len && strncmp(table[i].key, name, len) == 0)
            return &table[i];
    return NULL;
}

/* Index of a command option ("name" without dashes), or -1. */
static int find_opt(const struct cli_opt *opts, const char *name, size_t len)
{
    for (int i = 0; opts && opts[i].flag && i < CLI_OPTS_MAX; i++)
        if (strlen(opts[i].flag) == len + 2 && strncmp(opts[i].flag + 2, name, len) == 0)
            return i;
    return -1;
}

/* Walks argv once. Without s it only checks the words and fills out (options, positionals,
 * help); with s it applies the setting flags, which must come after the other sources. */
static enum si_err walk(struct settings *s, unsigned scope, const struct cli_opt *opts, int argc,
                        char **argv, struct cli_args *out, char err[CLI_ERR_MAX])
{
    bool only_positional = false;
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i];
        if (only_positional || w[0] != '-' || w[1] == '\0') {
            if (s)
                continue;
            if (out->npositional == CLI_POSITIONAL_MAX) {
                snprintf(err, CLI_ERR_MAX, "too many arguments ('%.100s')", w);
                return SI_EINVAL;
            }
            out->positional[out->npositional++] = w;
            continue;
        }
        if (strcmp(w, "--") == 0) {
            only_positional = true;
            continue;
        }
        if (strcmp(w, "-h") == 0 || strcmp(w, "--help") == 0) {
            out->help = true;
            continue;
        }
        if (w[1] != '-') {
            snprintf(err, CLI_ERR_MAX, "unknown option %.100s", w);
            return SI_EINVAL;
        }
        const char *name = w + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const struct setting_def *d = find_flag(name, len);
        int o = d ? -1 : find_opt(opts, name, len);
        if (d && d->no_flag) {
            snprintf(err, CLI_ERR_MAX,
                     "--%.*s cannot be given on the command line (it would show in ps and shell "
                     "history): set %s in the config file or %s",
                     (int)len, name, d->key, d->env);
            return SI_EINVAL;
        }
        if (d && !(d->scope & scope)) {
            snprintf(err, CLI_ERR_MAX, "option --%.*s does not apply to this command", (int)len,
                     name);
            return SI_EINVAL;
        }
        if (!d && o < 0) {
            snprintf(err, CLI_ERR_MAX, "unknown option --%.*s", (int)len, name);
            return SI_EINVAL;
        }
        bool takes_value = d ? d->type != TYPE_SWITCH : opts[o].takes_value;
        const char *value = eq ? eq + 1 : NULL;
        if (!value && takes_value) {
            if (i + 1 >= argc) {
                snprintf(err, CLI_ERR_MAX, "option --%.*s needs a value", (int)len, name);
                return SI_EINVAL;
            }
            value = argv[++i];
        }
        if (!value)
            value = "on";
        if (!d && !s) {
            if (!takes_value && eq) {
                snprintf(err, CLI_ERR_MAX, "option --%.*s takes no value", (int)len, name);
                return SI_EINVAL;
            }
            out->values[o] = value;
        }
        if (d && s) {
            enum si_err rc = config_set(s, d, value, SRC_FLAG, err);
            if (rc)
                return rc;
        }
    }
    return SI_OK;
}

enum si_err config_load(struct settings *s, unsigned scope, const struct cli_opt *opts, int argc,
                        char **argv, char *const *envp, struct cli_args *out, char err[CLI_ERR_MAX])
{
    memset(out, 0, sizeof *out);
    enum si_err rc = walk(NULL, scope, opts, argc, argv, out, err);
    if (rc || out->help)
        return rc;
    /* The config file's name comes from the two sources above it: apply the flags once to
     * learn --config (and to report a bad flag value before reading any file), else look for
     * SITEINVITES_CONFIG. The flags are applied again last, so they win over file and env. */
    rc = walk(s, scope, opts, argc, argv, out, err);
    if (rc)
        return rc;
    for (size_t e = 0; !rc && envp && envp[e] && s->source[SET_CONFIG] != SRC_FLAG; e++)
        if (strncmp(envp[e], ENV_PREFIX "CONFIG=", strlen(ENV_PREFIX "CONFIG=")) == 0)
            rc = config_set(s, &table[SET_CONFIG], envp[e] + strlen(ENV_PREFIX "CONFIG="), SRC_ENV,
                            err);
    if (rc)
        return rc;
    char *config = s->config ? xstrdup(s->config) : NULL;
    if (config)
        rc = config_apply_file(s, config, scope, err);
    free(config);
    if (!rc)
        rc = config_apply_env(s, envp, scope, err);
    if (!rc)
        rc = walk(s, scope, opts, argc, argv, out, err);
    return rc;
}
