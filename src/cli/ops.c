/* Operator commands that look after a running installation rather than its data: `backup`
 * (a consistent copy of a SQLite database while serving) and `doctor` (checks an installation
 * the way serve would use it, one line per check, an exit code per failing outcome). */
#include "cli/cli.h"
#include "cli/output.h"
#include "cli/secret.h"

#include "common/secure.h"
#include "http/tls.h"
#include "mail/smtp.h"
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

/* Says where the secret is, which a restore needs as much as the database. */
static void remind_secret(const char *db_path)
{
    fprintf(stderr,
            "siteinvites: keep the server secret with this backup (secret.key beside %s unless "
            "--secret-file says otherwise): without it every accept link not yet used dies\n",
            db_path);
}

int cli_backup(const struct cli_cmd *cmd, const struct settings *s, const struct cli_args *a)
{
    const char *to = cli_opt(cmd, a, "--to");
    const char *path = s->db ? secret_sqlite_path(s->db) : NULL;
    struct stat st, dst;
    if (!to || !*to) {
        cli_error("backup: --to FILE is required");
        return CLI_EXIT_USAGE;
    }
    if (s->db && !path) {
        /* A server database has its own consistent dump tool, which also restores it. */
        char *shown = cli_redact_url(s->db);
        cli_error("backup: %s is a PostgreSQL database: back it up with pg_dump "
                  "(pg_dump --format=custom --file=FILE URL) and restore with pg_restore; "
                  "keep the --secret-file with it",
                  shown);
        free(shown);
        return CLI_EXIT_CONFIG;
    }
    if (!path || stat(path, &st) != 0) {
        cli_error("backup: no database at %s (%s)", path ? path : "(none)",
                  path ? strerror(errno) : "set --db");
        return CLI_EXIT_CONFIG;
    }
    if (stat(to, &dst) == 0 && dst.st_dev == st.st_dev && dst.st_ino == st.st_ino) {
        cli_error("backup: --to %s is the database itself", to);
        return CLI_EXIT_USAGE;
    }
    struct store *store = NULL;
    /* Opened, not migrated: a backup is what one takes before an upgrade. */
    enum si_err rc = store_open(s->db, &store);
    int pages = 0;
    if (!rc)
        rc = store_backup(store, to, &pages);
    store_close(store);
    if (rc) {
        cli_error("backup of %s to %s failed (%s; see the log line above)", path, to,
                  si_err_str(rc));
        return CLI_EXIT_CONFIG;
    }
    struct output o;
    output_init(&o, cli_opt(cmd, a, "--json") != NULL);
    if (o.json) {
        output_str(&o, "backup", to);
        output_int(&o, "pages", pages);
    } else {
        printf("backup of %s written to %s (%d pages, integrity check ok)\n", path, to, pages);
    }
    remind_secret(path);
    return output_finish(&o);
}

/* ---- doctor ------------------------------------------------------------------------------ */

#define DOCTOR_DISK_MIN_BYTES (256ull * 1024 * 1024) /* below this free space, writes will fail */
#define DOCTOR_TLS_WARN_DAYS  14                     /* a certificate expiring sooner fails */
#define DOCTOR_DAY_S          86400

/* The outcome of one check; its exit code when it is the first failure (docs/CLI.md). */
enum doctor_exit {
    DOCTOR_DB = 3,
    DOCTOR_SCHEMA = 4,
    DOCTOR_SECRET = 5,
    DOCTOR_MAIL = 6,
    DOCTOR_TLS = 7,
    DOCTOR_DISK = 8,
};

struct doctor {
    int code; /* the first failure's code, 0 while all pass */
};

/* Prints one check's line; a failure sets the exit code unless an earlier one did. */
static void report(struct doctor *d, const char *check, int fail_code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void report(struct doctor *d, const char *check, int fail_code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%-8s %-4s ", check, fail_code ? "FAIL" : "ok");
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    if (fail_code && !d->code)
        d->code = fail_code;
}

/* The database answers, and its schema is the one this binary knows. */
static void check_db(struct doctor *d, const struct settings *s)
{
    char *shown = cli_redact_url(s->db ? s->db : "");
    const char *path = s->db ? secret_sqlite_path(s->db) : NULL;
    struct stat st;
    struct store *store = NULL;
    int found = 0, known = 0;
    if (path && stat(path, &st) != 0) {
        report(d, "database", DOCTOR_DB, "%s: no database file (%s)", shown, strerror(errno));
    } else if (store_open(s->db, &store) != SI_OK || store_ping(store) != SI_OK) {
        report(d, "database", DOCTOR_DB, "%s: cannot open or query it (log line above)", shown);
    } else if (store_schema_version(store, &found, &known) != SI_OK) {
        report(d, "schema", DOCTOR_SCHEMA, "%s: no schema: run siteinvites migrate", shown);
    } else if (found != known) {
        report(d, "schema", DOCTOR_SCHEMA, "%s: version %d, this binary knows %d: %s", shown, found,
               known,
               found > known ? "newer than this binary (restore or upgrade it)"
                             : "run siteinvites migrate");
    } else {
        report(d, "database", 0, "%s: reachable, schema version %d", shown, found);
    }
    store_close(store);
    free(shown);
}

/* The secret exists, is SECURE_KEY_LEN bytes and only its owner can read it. */
static void check_secret(struct doctor *d, const struct settings *s)
{
    char err[CLI_ERR_MAX];
    char *path = secret_default_path(s, err);
    struct stat st;
    if (!path)
        report(d, "secret", DOCTOR_SECRET, "%s", err);
    else if (stat(path, &st) != 0)
        report(d, "secret", DOCTOR_SECRET, "%s: %s (serve creates it; back it up)", path,
               strerror(errno));
    else if (!S_ISREG(st.st_mode) || st.st_size != SECURE_KEY_LEN)
        report(d, "secret", DOCTOR_SECRET, "%s: not a %d-byte file", path, SECURE_KEY_LEN);
    else if (st.st_mode & (S_IRWXG | S_IRWXO))
        report(d, "secret", DOCTOR_SECRET, "%s: mode %04o, group or others can read it: chmod 600",
               path, (unsigned)(st.st_mode & 07777));
    else
        report(d, "secret", 0, "%s: mode 0600, %d bytes", path, SECURE_KEY_LEN);
    free(path);
}

#define EXT_SUPER_MAGIC 0xEF53 /* statfs's f_type of ext2, ext3 and ext4 alike */

/* Whether the kernel lists a jbd2 journal for the block device dev: /proc/fs/jbd2 has an entry
 * "<device name>-<journal inode>" (vda-8) per journaled file system. 1 yes, 0 no, -1 unknown. */
static int journal_state(dev_t dev)
{
    char link[64], target[PATH_MAX];
    snprintf(link, sizeof link, "/sys/dev/block/%u:%u", major(dev), minor(dev));
    ssize_t n = readlink(link, target, sizeof target - 1);
    DIR *jbd2 = n > 0 ? opendir("/proc/fs/jbd2") : NULL;
    if (!jbd2)
        return -1;
    target[n] = '\0';
    const char *slash = strrchr(target, '/');
    const char *name = slash ? slash + 1 : target;
    size_t len = strlen(name);
    int found = 0;
    for (struct dirent *e; !found && (e = readdir(jbd2));)
        found = strncmp(e->d_name, name, len) == 0 && e->d_name[len] == '-';
    closedir(jbd2);
    return found;
}

/* Whether dir is on ext4 (or ext2/3 through the ext4 driver) without a journal, where each new
 * file's inode search steps over the inodes deleted in the last minutes (docs/MAIL.md, "The
 * Maildir's file system"). False when it cannot tell. */
static bool on_ext_without_journal(const char *dir)
{
    struct statfs fs;
    struct stat st;
    return statfs(dir, &fs) == 0 && fs.f_type == EXT_SUPER_MAGIC && stat(dir, &st) == 0 &&
           journal_state(st.st_dev) == 0;
}

/* The SMTP server greets and answers EHLO (and STARTTLS, login), or the Maildir is writable. */
static void check_mail(struct doctor *d, const struct settings *s)
{
    if (!s->smtp_url) {
        const char *dir = s->mail_dir ? s->mail_dir : "";
        if (access(dir, W_OK | X_OK) == 0)
            report(d, "mail", 0, "Maildir %s is writable%s", dir,
                   on_ext_without_journal(dir)
                       ? "; its ext4 has no journal: deleted messages make new ones dearer"
                         " (docs/MAIL.md)"
                       : "");
        else
            report(d, "mail", DOCTOR_MAIL, "Maildir %s: %s", dir, strerror(errno));
        return;
    }
    char err[SMTP_ERR_MAX] = "";
    struct smtp_options o = {.require_tls = s->smtp_require_tls,
                             .user = s->smtp_user,
                             .password = s->smtp_password,
                             .allow_no_auth = s->smtp_allow_no_auth,
                             .send_timeout_ms = (long)s->smtp_timeout_s * 1000};
    char *shown = cli_redact_url(s->smtp_url);
    enum si_err rc = smtp_global_init(err);
    if (!rc) {
        rc = smtp_check(s->smtp_url, &o, err);
        smtp_global_cleanup();
    }
    /* serve only warns about a server that is down; the doctor says it is not well. */
    if (rc || err[0])
        report(d, "mail", DOCTOR_MAIL, "%s: %s", shown, err);
    else
        report(d, "mail", 0, "%s answers EHLO%s", shown, s->smtp_user ? " and logs us in" : "");
    free(shown);
}

/* The TLS files load and pair, and the certificate is not about to expire. */
static void check_tls(struct doctor *d, const struct settings *s)
{
    struct tls_files *t = NULL;
    char why[TLS_WHY_MAX];
    long long not_after = 0;
    if (!s->tls_cert && !s->tls_key)
        return; /* plain HTTP (behind a proxy): nothing to check */
    if (tls_files_load(s->tls_cert, s->tls_key, &t) != SI_OK) {
        report(d, "tls", DOCTOR_TLS, "cannot use the files (log line above)");
    } else if (tls_creds_install(t, why) != SI_OK) {
        report(d, "tls", DOCTOR_TLS, "%s", why);
    } else if (tls_cert_expiry(t, &not_after) != SI_OK) {
        report(d, "tls", DOCTOR_TLS, "%s: cannot read the expiry date", s->tls_cert);
    } else {
        long long days = (not_after - (long long)time(NULL)) / DOCTOR_DAY_S;
        report(d, "tls", days < DOCTOR_TLS_WARN_DAYS ? DOCTOR_TLS : 0, "%s: expires in %lld days%s",
               s->tls_cert, days,
               days < 0                      ? " (expired)"
               : days < DOCTOR_TLS_WARN_DAYS ? ": renew it"
                                             : "");
    }
    tls_creds_clear();
    tls_files_free(t);
}

/* Free space where the database (or, for a server database, the Maildir) lives. */
static void check_disk(struct doctor *d, const struct settings *s)
{
    char *dir = s->db ? secret_db_dir(s->db) : NULL;
    const char *where = dir ? dir : (s->mail_dir ? s->mail_dir : ".");
    struct statvfs v;
    if (statvfs(where, &v) != 0) {
        report(d, "disk", DOCTOR_DISK, "%s: %s", where, strerror(errno));
    } else {
        unsigned long long avail = (unsigned long long)v.f_bavail * v.f_frsize;
        report(d, "disk", avail < DOCTOR_DISK_MIN_BYTES ? DOCTOR_DISK : 0, "%s: %llu MiB free%s",
               where, avail / (1024 * 1024),
               avail < DOCTOR_DISK_MIN_BYTES ? " (below 256 MiB)" : "");
    }
    free(dir);
}

int cli_doctor(const struct cli_cmd *cmd, const struct settings *s, const struct cli_args *a)
{
    (void)cmd;
    (void)a;
    struct doctor d = {0};
    /* Settings that parsed at all are the config check: run_cmd refused the rest already. */
    report(&d, "config", 0, "%s", s->config ? s->config : "no config file; flags and environment");
    check_db(&d, s);
    check_secret(&d, s);
    check_mail(&d, s);
    check_tls(&d, s);
    check_disk(&d, s);
    fflush(stdout);
    return d.code;
}
