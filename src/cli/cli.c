/* Dispatch of `siteinvites <command>`: the command table, usage texts, exit codes, and opening
 * the store the same way for every command. */
#include "cli/cli.h"

#include "cli/audit.h"
#include "cli/import.h"
#include "cli/secret.h"
#include "common/log.h"
#include "common/secure.h"
#include "common/xalloc.h"
#include "si_version.h" /* generated: SI_GIT_COMMIT (packaging/version.cmake) */

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG         "siteinvites"
#define USAGE_COLUMN 32

extern char **environ;

/* Option tables of the commands; the settings (--db, ...) come from config.c's table. */
static const struct cli_opt json_only[] = {
    {"--json", false, NULL, "print one JSON object"},
    {NULL, false, NULL, NULL},
};
static const struct cli_opt account_create_opts[] = {
    {"--name", true, "N", "account name (required)"},
    {"--email", true, "E", "account owner's email (required)"},
    {"--json", false, NULL, "print one JSON object"},
    {NULL, false, NULL, NULL},
};
static const struct cli_opt site_create_opts[] = {
    {"--account", true, "ID", "owning account (required)"},
    {"--name", true, "N", "site name (required)"},
    {"--contributor-limit", true, "K", "seats: pending invites plus contributors (default 100)"},
    {"--language", true, "L", "language of emails and pages, e.g. en, fr, pt-BR (default en)"},
    {"--lifetime-days", true, "D", "invite lifetime, 1 to 90 days (default 30)"},
    {"--json", false, NULL, "print one JSON object"},
    {NULL, false, NULL, NULL},
};
static const struct cli_opt site_update_opts[] = {
    {"--site", true, "ID", "the site to change (required)"},
    {"--accept-redirect-url", true, "U", "https:// URL offered after accepting; none = unset"},
    {"--reminder-days", true, "N|off", "remind pending invites N days (1 to 89) before expiry"},
    {"--allowed-email-domains", true, "LIST",
     "invite only a.com,*.b.com (*.b.com: its subdomains); none = every domain"},
    {"--json", false, NULL, "print one JSON object"},
    {NULL, false, NULL, NULL},
};
static const struct cli_opt key_create_opts[] = {
    {"--account", true, "ID", "account the key acts for (required)"},
    {"--name", true, "N", "a label for people (default \"cli\")"},
    {"--permissions", true, "a,b", "permission names (default: all of them)"},
    {"--json", false, NULL, "print one JSON object"},
    {NULL, false, NULL, NULL},
};
static const struct cli_opt key_list_opts[] = {
    {"--account", true, "ID", "account whose keys to list (required)"},
    {"--json", false, NULL, "print one JSON object"},
    {NULL, false, NULL, NULL},
};
static const struct cli_opt console_link_opts[] = {
    {"--account", true, "ID", "the account whose owner signs in (required)"},
    {"--ttl", true, "T", "how long the link works: 15m (default), 1h, 900s ... up to 7d"},
    {"--json", false, NULL, "print one JSON object"},
    {NULL, false, NULL, NULL},
};
static const struct cli_opt role_list_opts[] = {
    {"--account", true, "ID", "account whose roles to list (required)"},
    {"--json", false, NULL, "print one JSON object"},
    {NULL, false, NULL, NULL},
};
static const struct cli_opt role_create_opts[] = {
    {"--account", true, "ID", "account that owns the role (required)"},
    {"--title", true, "T", "role title, unique in the account (required)"},
    {"--description", true, "D", "what the role may do"},
    {"--json", false, NULL, "print one JSON object"},
    {NULL, false, NULL, NULL},
};
static const struct cli_opt backup_opts[] = {
    {"--to", true, "FILE", "where the copy goes (replaced only by a whole copy)"},
    {"--json", false, NULL, "print one JSON object"},
    {NULL, false, NULL, NULL},
};
static const struct cli_opt invite_list_opts[] = {
    {"--site", true, "ID", "site whose invites to list (required)"},
    {"--status", true, "S", "only Pending, Used, Deleted, Declined or Expired"},
    {"--json", false, NULL, "print one JSON object"},
    {NULL, false, NULL, NULL},
};

/* Every command, in --help order. A group (account, key, ...) is the rows sharing it. */
static const struct cli_cmd commands[] = {
    {"serve", NULL, "[settings]", "run the API, the invitee pages and the mail worker", SCOPE_SERVE,
     NULL, 0, NULL, cli_serve},
    {"migrate", NULL, "[--db URL] [--json]", "bring the database schema up to date", SCOPE_ADMIN,
     json_only, 0, NULL, cli_migrate},
    {"account", "create", "--name N --email E [--json]", "create an account", SCOPE_ADMIN,
     account_create_opts, 0, NULL, admin_account_create},
    {"site", "create",
     "--account ID --name N [--contributor-limit K] [--language L] [--lifetime-days D] [--json]",
     "create a site of an account", SCOPE_ADMIN, site_create_opts, 0, NULL, admin_site_create},
    {"site", "update",
     "--site ID [--accept-redirect-url U] [--reminder-days N|off] "
     "[--allowed-email-domains a.com,*.b.com|none] [--json]",
     "change a site's settings (docs/SITE-SETTINGS.md)", SCOPE_ADMIN, site_update_opts, 0, NULL,
     admin_site_update},
    {"key", "create", "--account ID [--name N] [--permissions a,b] [--json]",
     "create an API key (printed once)", SCOPE_ADMIN, key_create_opts, 0, NULL, admin_key_create},
    {"key", "list", "--account ID [--json]",
     "list an account's keys: name, prefix, permissions, created, last used, revoked", SCOPE_ADMIN,
     key_list_opts, 0, NULL, admin_key_list},
    {"key", "revoke", "ID [--json]", "revoke an API key at once", SCOPE_ADMIN, json_only, 1, "ID",
     admin_key_revoke},
    {"console", "link", "--account ID [--ttl 15m] [--json]",
     "print a one-time sign-in link to the owner's console (docs/CONSOLE.md)", SCOPE_ADMIN,
     console_link_opts, 0, NULL, admin_console_link},
    {"role", "list", "--account ID [--json]", "list predefined and custom roles", SCOPE_ADMIN,
     role_list_opts, 0, NULL, admin_role_list},
    {"role", "create", "--account ID --title T [--description D] [--json]", "create a custom role",
     SCOPE_ADMIN, role_create_opts, 0, NULL, admin_role_create},
    {"invite", "list", "--site ID [--status S] [--json]", "list the invites of a site", SCOPE_ADMIN,
     invite_list_opts, 0, NULL, admin_invite_list},
    /* Scope 0: import speaks the HTTP API, so no database or server setting applies. */
    {"invite", "import",
     "--site ID --policy ID[,ID] --csv FILE [--url URL] [--key-file FILE] [--chunk N] "
     "[--out FILE] [--language L] [--dry-run] [--json]",
     "bulk-invite the addresses of a CSV file over the API", 0, import_options, 0, NULL,
     cli_invite_import},
    {"audit", "export", "--site ID --since T [--until T] [--out FILE]",
     "write a site's audit log as JSON lines, for a SIEM", SCOPE_ADMIN, audit_export_options, 0,
     NULL, cli_audit_export},
    {"outbox", "status", "[--json]", "count queued, sent, failed and cancelled emails", SCOPE_ADMIN,
     json_only, 0, NULL, admin_outbox_status},
    {"outbox", "retry", "[--json]", "requeue failed emails of invites still pending", SCOPE_ADMIN,
     json_only, 0, NULL, admin_outbox_retry},
    {"backup", NULL, "--to FILE [--json]",
     "copy a SQLite database consistently while serving (PostgreSQL: use pg_dump)", SCOPE_ADMIN,
     backup_opts, 0, NULL, cli_backup},
    {"doctor", NULL, "[settings]",
     "check config, database, secret, mail server, TLS files and disk; exit code per failure",
     SCOPE_ALL, NULL, 0, NULL, cli_doctor},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

const struct cli_cmd *cli_commands(size_t *n)
{
    *n = NCOMMANDS;
    return commands;
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(PROG ": ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_exit_for(enum si_err err)
{
    switch (err) {
    case SI_OK:
        return CLI_EXIT_OK;
    case SI_EINVAL:
    case SI_ENOTFOUND:
    case SI_EEXIST:
    case SI_ESTATE:
    case SI_ELIMIT:
        return CLI_EXIT_USAGE;
    default:
        return CLI_EXIT_CONFIG;
    }
}

const char *cli_opt(const struct cli_cmd *cmd, const struct cli_args *a, const char *flag)
{
    for (size_t i = 0; cmd->opts && cmd->opts[i].flag && i < CLI_OPTS_MAX; i++)
        if (strcmp(cmd->opts[i].flag, flag) == 0)
            return a->values[i];
    return NULL;
}

char *cli_redact_url(const char *url)
{
    /* Only "scheme://user:password@host" carries a password; everything else prints as is. */
    const char *scheme = strstr(url, "://");
    const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    const char *colon = at ? memchr(scheme + 3, ':', (size_t)(at - scheme - 3)) : NULL;
    if (!colon)
        return xstrdup(url);
    return xasprintf("%.*s:***%s", (int)(colon - url), url, at);
}

/* What an operator does about a full disk, appended to the message that reports it. */
static const char *full_hint(enum si_err rc)
{
    return rc == SI_EFULL ? ": free space on the disk that holds it, then start again" : "";
}

enum si_err cli_open_store(const char *url, struct store **out, int *applied)
{
    char err[CLI_ERR_MAX];
    enum si_err rc = SI_OK;
    char *shown = cli_redact_url(url);
    char *dir = secret_db_dir(url);
    *out = NULL;
    /* A fresh checkout has no var/: make the sqlite file's folder so the defaults just work. */
    if (dir) {
        rc = secret_mkdirs(dir, DATA_DIR_MODE, err);
        if (rc) {
            cli_error("%s", err);
            goto out;
        }
    }
    rc = store_open(url, out);
    if (rc == SI_ECONFIG) {
        cli_error("unsupported database URL '%s': use sqlite:PATH or postgres://...", shown);
        goto out;
    }
    if (rc) {
        cli_error("cannot open database %s (%s)%s", shown, si_err_str(rc), full_hint(rc));
        goto out;
    }
    rc = store_migrate(*out, applied);
    if (rc) {
        cli_error("cannot migrate database %s (%s)%s", shown, si_err_str(rc), full_hint(rc));
        store_close(*out);
        *out = NULL;
    }
out:
    free(dir);
    free(shown);
    /* Callers only need the exit class: configuration (scheme) versus storage or I/O. */
    return rc == SI_ECONFIG || rc == SI_OK ? rc : (rc == SI_EIO ? SI_EIO : SI_ESTORE);
}

/* One help line per command option, aligned with the settings' lines. */
static void print_opts(FILE *f, const struct cli_opt *opts)
{
    for (size_t i = 0; opts && opts[i].flag; i++) {
        char left[96];
        snprintf(left, sizeof left, "%s%s%s", opts[i].flag, opts[i].metavar ? " " : "",
                 opts[i].metavar ? opts[i].metavar : "");
        fprintf(f, "  %-*s %s\n", USAGE_COLUMN, left, opts[i].help);
    }
}

static void cmd_name(const struct cli_cmd *c, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s%s", c->group, c->verb ? " " : "", c->verb ? c->verb : "");
}

static void usage_cmd(FILE *f, const struct cli_cmd *c)
{
    char name[64];
    cmd_name(c, name, sizeof name);
    /* Summaries are lower-case table cells; as a sentence they start with a capital. */
    fprintf(f, "usage: %s %s %s\n\n%c%s.\n\noptions:\n", PROG, name, c->synopsis,
            toupper((unsigned char)c->summary[0]), c->summary + 1);
    print_opts(f, c->opts);
    config_print_help(f, c->scope);
    fprintf(f, "  %-*s %s\n", USAGE_COLUMN, "-h, --help", "show this help");
}

/* `siteinvites --help`: the command list. */
static void usage_main(FILE *f)
{
    fprintf(f,
            "usage: %s <command> [options]\n\nSelf-hosted Site Invites service.\n\n"
            "commands:\n",
            PROG);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        char name[64];
        cmd_name(&commands[i], name, sizeof name);
        fprintf(f, "  %-*s %s\n", USAGE_COLUMN - 12, name, commands[i].summary);
    }
    fprintf(f,
            "\nSettings come from flags, then SITEINVITES_* variables, then --config FILE, "
            "then defaults.\nRun '%s <command> --help' for a command's options; "
            "'%s --version' prints the version.\n",
            PROG, PROG);
}

/* Finds the command named by argv[1] (and argv[2]); *words receives how many words it used.
 * NULL when unknown, with *group_known set when argv[1] names a group. */
static const struct cli_cmd *find_cmd(int argc, char **argv, int *words, bool *group_known)
{
    *group_known = false;
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const struct cli_cmd *c = &commands[i];
        if (strcmp(c->group, argv[1]) != 0)
            continue;
        *group_known = true;
        if (!c->verb) {
            *words = 1;
            return c;
        }
        if (argc > 2 && strcmp(c->verb, argv[2]) == 0) {
            *words = 2;
            return c;
        }
    }
    return NULL;
}

/* The verbs of one group, for `siteinvites key` and `siteinvites key --help`. */
static void usage_group(FILE *f, const char *group)
{
    fprintf(f, "usage:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        /* A one-word command (verb NULL) is not a group: it never gets here, but say so. */
        if (commands[i].verb && strcmp(commands[i].group, group) == 0)
            fprintf(f, "  %s %s %s %s\n", PROG, group, commands[i].verb, commands[i].synopsis);
}

/* Sets the log level from its name; false for an unknown name. */
static bool apply_log_level(const char *name)
{
    enum log_level level;
    if (!log_level_parse(name, &level))
        return false;
    log_set_level(level);
    return true;
}

/* The exit code of a usage error: `invite import` keeps 1 for "some rows failed", so there
 * every error found before a request is 2 (docs/CLI.md). */
static int usage_exit(const struct cli_cmd *c, int code)
{
    return c->run == cli_invite_import ? CLI_EXIT_CONFIG : code;
}

/* Resolves the settings of one command and runs it. */
static int run_cmd(const struct cli_cmd *c, int argc, char **argv)
{
    struct settings s;
    struct cli_args a;
    char err[CLI_ERR_MAX];
    int code = CLI_EXIT_OK;
    settings_init(&s);
    enum si_err rc = config_load(&s, c->scope, c->opts, argc, argv, environ, &a, err);
    if (rc) {
        cli_error("%s", err);
        code = usage_exit(c, cli_exit_for(rc));
        goto out;
    }
    if (a.help) {
        usage_cmd(stdout, c);
        goto out;
    }
    if (a.npositional != c->positional) {
        char name[64];
        cmd_name(c, name, sizeof name);
        cli_error("usage: %s %s %s", PROG, name, c->synopsis);
        code = usage_exit(c, CLI_EXIT_USAGE);
        goto out;
    }
    if (!apply_log_level(s.log_level)) {
        cli_error("log-level must be debug, info, warn or error");
        code = CLI_EXIT_CONFIG;
        goto out;
    }
    enum log_format format;
    if (!log_format_parse(s.log_format, &format)) {
        cli_error("log-format must be text or json");
        code = CLI_EXIT_CONFIG;
        goto out;
    }
    log_set_format(format);
    /* IDs and keys come from libsodium's generator, which needs its one-time set-up. */
    if (secure_init() != SI_OK) {
        cli_error("cannot initialise libsodium");
        code = CLI_EXIT_CONFIG;
        goto out;
    }
    code = c->run(c, &s, &a);
out:
    settings_cleanup(&s);
    return code;
}

/* "siteinvites 0.1.0", plus "(git abcdef123456[-dirty])" when built from a git checkout. */
static void print_version(FILE *f)
{
    const char *commit = SI_GIT_COMMIT;
    if (*commit)
        fprintf(f, "%s %s (git %s)\n", PROG, SI_VERSION, commit);
    else
        fprintf(f, "%s %s\n", PROG, SI_VERSION);
}

int cli_main(int argc, char **argv)
{
    if (argc < 2) {
        usage_main(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage_main(stdout);
        return CLI_EXIT_OK;
    }
    /* Hidden: the build writes the man pages with it (manpage.c), from the tables above. */
    if (strcmp(argv[1], "--help-man") == 0)
        return argc == 3 && cli_man(stdout, argv[2]) == SI_OK ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        print_version(stdout);
        return CLI_EXIT_OK;
    }
    int words = 0;
    bool group_known = false;
    const struct cli_cmd *c = find_cmd(argc, argv, &words, &group_known);
    if (!c && group_known) {
        bool help = argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0);
        if (!help)
            cli_error("'%s' needs one of these subcommands:", argv[1]);
        usage_group(help ? stdout : stderr, argv[1]);
        return help ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    if (!c) {
        cli_error("unknown command '%s' (try '%s --help')", argv[1], PROG);
        return CLI_EXIT_USAGE;
    }
    return run_cmd(c, argc - 1 - words, argv + 1 + words);
}
