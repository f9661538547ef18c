/* Operator commands that look after a running installation rather than its data: `backup`
 * (a consistent copy of a SQLite database while serving). */
#include "cli/cli.h"
#include "cli/output.h"
#include "cli/secret.h"

#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
