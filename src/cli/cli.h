/* The command line: dispatch of `siteinvites <command>`, exit codes, and the few helpers the
 * command files (serve.c, admin.c, admin_read.c) share. */
#ifndef SI_CLI_CLI_H
#define SI_CLI_CLI_H

#include "cli/config.h"
#include "common/err.h"
#include "store/store.h"

/* Exit codes of every command (docs/CLI.md). */
enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_USAGE = 1,  /* bad arguments, failed validation, unknown or conflicting entity */
    CLI_EXIT_CONFIG = 2, /* bad configuration, storage or file-system failure */
};

/* One command: `group verb` ("account create") or a single word ("serve": verb NULL). */
struct cli_cmd {
    const char *group;
    const char *verb;
    const char *synopsis;        /* arguments, for usage lines */
    const char *summary;         /* one line for `siteinvites --help` */
    unsigned scope;              /* which settings apply (SCOPE_*) */
    const struct cli_opt *opts;  /* command options, NULL-flag terminated; may be NULL */
    size_t positional;           /* positional arguments required (exactly) */
    const char *positional_name; /* their name in usage lines ("ID") */
    int (*run)(const struct cli_cmd *cmd, const struct settings *s, const struct cli_args *a);
};

/* Runs the binary: argv as main received it. Returns the process exit code (enum cli_exit).
 * Reads the process environment for SITEINVITES_* settings. Main thread only. */
int cli_main(int argc, char **argv);

/* The command table (static storage), in --help order, and its length. */
const struct cli_cmd *cli_commands(size_t *n);

/* Writes a man page in roff to f, from the command and settings tables --help prints:
 * section "1" is siteinvites(1), "5" is siteinvites.conf(5) (manpage.c). SI_EINVAL for another
 * section. Used by the build (`siteinvites --help-man 1`), so the pages cannot drift. */
enum si_err cli_man(FILE *f, const char *section) SI_MUST_USE;

/* Prints "siteinvites: <message>\n" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The exit code for an error: usage-like results (invalid, not found, exists) give 1,
 * everything else (configuration, storage, I/O) gives 2. */
int cli_exit_for(enum si_err err);

/* The value of a command option by its flag ("--name"), or NULL when not given. Borrowed
 * from argv. */
const char *cli_opt(const struct cli_cmd *cmd, const struct cli_args *a, const char *flag);

/* A copy of a database URL safe to print: a password in it is replaced by "***". Heap. */
char *cli_redact_url(const char *url);

/* Opens the store named by url (creating the parent folder of a sqlite file) and migrates it.
 * *applied (may be NULL) receives the number of migration steps run. Errors are printed to
 * stderr; the caller exits with cli_exit_for(rc). *out must be closed with store_close. */
enum si_err cli_open_store(const char *url, struct store **out, int *applied) SI_MUST_USE;

/* The commands, one function each (admin.c, admin_read.c, serve.c). */
int cli_serve(const struct cli_cmd *cmd, const struct settings *s, const struct cli_args *a);
int cli_migrate(const struct cli_cmd *cmd, const struct settings *s, const struct cli_args *a);
int cli_backup(const struct cli_cmd *cmd, const struct settings *s, const struct cli_args *a);
int cli_doctor(const struct cli_cmd *cmd, const struct settings *s, const struct cli_args *a);
int admin_account_create(const struct cli_cmd *cmd, const struct settings *s,
                         const struct cli_args *a);
int admin_site_create(const struct cli_cmd *cmd, const struct settings *s,
                      const struct cli_args *a);
int admin_site_update(const struct cli_cmd *cmd, const struct settings *s,
                      const struct cli_args *a); /* site_update.c */
int admin_key_create(const struct cli_cmd *cmd, const struct settings *s, const struct cli_args *a);
int admin_key_revoke(const struct cli_cmd *cmd, const struct settings *s, const struct cli_args *a);
int admin_console_link(const struct cli_cmd *cmd, const struct settings *s,
                       const struct cli_args *a); /* console_cmd.c */
/* key list: an account's keys with their prefix and last use (docs/CLI.md). */
int admin_key_list(const struct cli_cmd *cmd, const struct settings *s, const struct cli_args *a);
int admin_role_list(const struct cli_cmd *cmd, const struct settings *s, const struct cli_args *a);
int admin_role_create(const struct cli_cmd *cmd, const struct settings *s,
                      const struct cli_args *a);
int admin_invite_list(const struct cli_cmd *cmd, const struct settings *s,
                      const struct cli_args *a);
int admin_outbox_status(const struct cli_cmd *cmd, const struct settings *s,
                        const struct cli_args *a);
/* `outbox retry`: requeues failed emails of invites still pending (store_outbox_retry). */
int admin_outbox_retry(const struct cli_cmd *cmd, const struct settings *s,
                       const struct cli_args *a);

#endif
