/* Settings of the binary: one table row per setting (flag, SITEINVITES_* variable, config-file
 * key, default, type, help), resolved with the precedence flags > environment > config file >
 * defaults, plus the argv parser that separates settings from a command's own options. */
#ifndef SI_CLI_CONFIG_H
#define SI_CLI_CONFIG_H

#include "common/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CLI_ERR_MAX        512  /* bytes of an error message, NUL included */
#define CLI_OPTS_MAX       16   /* options of one command */
#define CLI_POSITIONAL_MAX 4    /* positional arguments of one command */
#define CONFIG_LINE_MAX    4096 /* bytes of one config-file line */
#define LISTEN_HOST_MAX    256  /* bytes of the host part of a listen address, NUL included */

/* Which commands a setting applies to: a setting outside a command's scope is refused as a
 * flag and ignored in the environment and config file (one file serves every command). */
#define SCOPE_SERVE 1u
#define SCOPE_ADMIN 2u
#define SCOPE_ALL   (SCOPE_SERVE | SCOPE_ADMIN)

/* Where a setting's value came from; later sources override earlier ones. */
enum setting_source { SRC_DEFAULT, SRC_FILE, SRC_ENV, SRC_FLAG };

/* X(field, ...) would hide the layout; the indices below name the rows of the table. */
enum setting_id {
    SET_CONFIG,
    SET_DB,
    SET_DB_READ,
    SET_DB_READ_MAX_LAG,
    SET_LISTEN,
    SET_BASE_URL,
    SET_MAIL_DIR,
    SET_SMTP_URL,
    SET_SMTP_REQUIRE_TLS,
    SET_SMTP_USER,
    SET_SMTP_PASSWORD,
    SET_SMTP_SENDERS,
    SET_MAIL_MAX_ATTEMPTS,
    SET_MAIL_MAX_AGE,
    SET_MAIL_RETRY_MS,
    SET_MAIL_LEASE,
    SET_MAIL_FROM,
    SET_TEMPLATES_DIR,
    SET_SECRET_FILE,
    SET_THREADS,
    SET_BODY_LIMIT,
    SET_ACCESS_LOG,
    SET_MAIL_WORKER,
    SET_LOG_LEVEL,
    SET_INVITE_LIFETIME,
    SET_TLS_CERT,
    SET_TLS_KEY,
    SET_TLS_LISTEN,
    SET_DEV,
    SET_SMTP_ALLOW_NO_AUTH,
    SET_SMTP_TIMEOUT,
    SET_LOG_FORMAT,
    SET_METRICS_LISTEN,
    SET_KEY_RATE,
    SET_KEY_BURST,
    SET_IDEMPOTENCY_TTL,
    SET_MAX_CONNECTIONS,
    SET_MAX_CONNECTIONS_PER_IP,
    SET_READ_TIMEOUT,
    SET_TEST_CLOCK_FILE,
    SET_ALLOW_HTTP_WEBHOOKS,
    SET_WEBHOOK_THREADS,
    SET_WEBHOOK_RETRY_MS,
    SET_WEBHOOK_GIVE_UP,
    SET_WEBHOOK_DISABLE_AFTER,
    SET_WEBHOOK_TIMEOUT,
    SET_WEBHOOK_CONNECT_TIMEOUT,
    SET_CONSOLE_IDLE,
    SET_CONSOLE_SESSION,
    SET_WEBHOOK_CA_FILE,
    SET_WEBHOOK_RETENTION,
    SETTINGS_COUNT
};

/* Resolved settings. Strings are owned (NULL = unset or empty); free with settings_cleanup. */
struct settings {
    char *config;
    char *db;
    char *db_read;                /* PostgreSQL standbys for site reads (docs/SCALING.md) */
    long long db_read_max_lag_ms; /* a standby lagging more serves no read */
    char *listen;
    char *base_url;
    char *mail_dir;
    char *smtp_url;
    bool smtp_require_tls;
    char *smtp_user;     /* config file or environment only, never argv; never logged */
    char *smtp_password; /* likewise */
    long long smtp_senders;
    long long mail_max_attempts;
    long long mail_max_age_s;
    long long mail_retry_ms;
    long long mail_lease_s;
    char *mail_from;
    char *templates_dir;
    char *secret_file;
    long long threads;
    long long body_limit;
    bool access_log;
    bool mail_worker;
    char *log_level;
    long long invite_lifetime_s;
    char *tls_cert;
    char *tls_key;
    char *tls_listen; /* a second, HTTPS listener beside listen (with dev: a local CA if no cert) */
    bool dev;
    bool smtp_allow_no_auth;
    long long smtp_timeout_s; /* longest SMTP connection or message, in seconds */
    char *log_format;
    char *metrics_listen;
    long long key_rate;
    long long key_burst;
    long long idempotency_ttl_s; /* tests only: Idempotency-Key records last N s; 0 = 24 h */
    long long max_connections;
    long long max_connections_per_ip; /* 0 = no limit */
    long long read_timeout_s;         /* an idle timeout per connection */
    char *test_clock_file;            /* TESTS ONLY: the clock's offset file (cli/test_clock.h) */
    bool allow_http_webhooks;         /* development: http:// and loopback endpoints */
    long long webhook_threads;        /* 0 = no delivery from this process */
    long long webhook_retry_ms;
    long long webhook_give_up_s;
    long long webhook_disable_after_s;
    long long webhook_timeout_s;
    long long webhook_connect_timeout_s;
    long long console_idle_s;         /* the console's session idle timeout */
    long long console_life_s;         /* and absolute lifetime */
    char *webhook_ca_file;            /* PEM trusted by deliveries besides the system store */
    long long webhook_retention_days; /* finished deliveries and their events kept N days */
    enum setting_source source[SETTINGS_COUNT];
};

enum setting_type {
    TYPE_STRING,
    TYPE_INT,    /* decimal, within [min, max] */
    TYPE_BOOL,   /* on|off|true|false|yes|no|1|0, always with a value */
    TYPE_SWITCH, /* a flag without value means on; env and file take a bool */
};

/* One row of the settings table. */
struct setting_def {
    enum setting_id id;
    const char *key; /* config-file key; the flag is "--" key */
    const char *env; /* environment variable */
    const char *def; /* default as text; NULL = unset */
    enum setting_type type;
    unsigned scope;
    long long min, max; /* TYPE_INT only */
    size_t offset;      /* field in struct settings */
    const char *metavar;
    const char *help;
    bool no_flag; /* a secret: config file or environment only (argv shows in ps and history) */
};

/* A command's own option (not a setting): "--json", "--name N". */
struct cli_opt {
    const char *flag; /* "--name"; NULL ends a table */
    bool takes_value;
    const char *metavar;
    const char *help;
};

/* What the parser found besides settings. Values are borrowed from argv. */
struct cli_args {
    const char *values[CLI_OPTS_MAX]; /* per option, in table order; "on" for a bare flag */
    const char *positional[CLI_POSITIONAL_MAX];
    size_t npositional;
    bool help; /* --help or -h was given: nothing else was resolved */
};

/* The settings table (static storage) and its length. */
const struct setting_def *config_table(size_t *n);

/* Fills s with the defaults. Call settings_cleanup afterwards in every case. */
void settings_init(struct settings *s);
/* Frees the owned strings; s may be reused after settings_init. */
void settings_cleanup(struct settings *s);

/* Sets one setting from text, parsing it by type. value NULL or "" unsets a string setting.
 * SI_ECONFIG with a message naming the setting as that source spells it ("--threads",
 * "SITEINVITES_THREADS", "threads") in err. */
enum si_err config_set(struct settings *s, const struct setting_def *d, const char *value,
                       enum setting_source src, char err[CLI_ERR_MAX]) SI_MUST_USE;

/* Applies a config file: `key = value` lines, `#` comments, blank lines; surrounding blanks
 * and matching double quotes around a value are dropped. Keys outside scope are ignored.
 * SI_ECONFIG for a bad line ("FILE:LINE: ..."), SI_EIO if the file cannot be read. */
enum si_err config_apply_file(struct settings *s, const char *path, unsigned scope,
                              char err[CLI_ERR_MAX]) SI_MUST_USE;

/* config_apply_file without the file: applies the lines of f (borrowed), naming path in
 * messages, and does not check the file's mode. SI_ECONFIG for a bad line, SI_EIO when f fails.
 * For callers with the text in memory (the fuzz target). */
enum si_err config_apply_lines(struct settings *s, FILE *f, const char *path, unsigned scope,
                               char err[CLI_ERR_MAX]) SI_MUST_USE;

/* Applies SITEINVITES_* variables of envp (NULL-terminated "NAME=value" strings). */
enum si_err config_apply_env(struct settings *s, char *const *envp, unsigned scope,
                             char err[CLI_ERR_MAX]) SI_MUST_USE;

/* Parses argv (the words after the command) into settings and options, with the full
 * precedence: defaults, then the config file (--config, else SITEINVITES_CONFIG), then envp,
 * then flags. Accepts "--flag value" and "--flag=value"; "--" ends options. s must have been
 * initialised with settings_init. SI_EINVAL for a usage error (unknown option, missing value,
 * too many arguments), SI_ECONFIG for a bad value in any source, SI_EIO for an unreadable
 * config file; err says which. */
enum si_err config_load(struct settings *s, unsigned scope, const struct cli_opt *opts, int argc,
                        char **argv, char *const *envp, struct cli_args *out,
                        char err[CLI_ERR_MAX]) SI_MUST_USE;

/* A listen address split into host (brackets of an IPv6 literal kept) and port. */
struct listen_addr {
    char host[LISTEN_HOST_MAX];
    uint16_t port; /* 0 = any free port */
};

/* Parses "host:port" or "[v6]:port". SI_ECONFIG with a message when malformed. */
enum si_err config_parse_listen(const char *text, struct listen_addr *out,
                                char err[CLI_ERR_MAX]) SI_MUST_USE;

/* Prints the settings of scope as option help lines (flag, env, default, help). */
void config_print_help(FILE *f, unsigned scope);

#endif
