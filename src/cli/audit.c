/* `siteinvites audit export`: pages of the site's audit log written as JSON lines. */
#include "cli/audit.h"

#include "cli/admin.h"
#include "common/buf.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const struct cli_opt audit_export_options[] = {
    {"--site", true, "ID", "site whose audit log to export (required)"},
    {"--since", true, "T", "from this time on, RFC 3339 (required)"},
    {"--until", true, "T", "before this time, RFC 3339 (default: everything since)"},
    {"--out", true, "FILE", "write to FILE, mode 0600 (default: standard output)"},
    {NULL, false, NULL, NULL},
};

/* The export's arguments, checked. */
struct export_args {
    char site_id[SI_ID_LEN];
    si_ms since, until;
    const char *out; /* NULL: standard output */
};

static bool read_time(const char *flag, const char *v, si_ms *out)
{
    if (v && time_parse(v, out) == SI_OK)
        return true;
    cli_error("%s must be an RFC 3339 time such as 2026-01-31T00:00:00Z, got '%s'", flag,
              v ? v : "");
    return false;
}

static bool read_args(const struct cli_cmd *cmd, const struct cli_args *a, struct export_args *x)
{
    const char *site = cli_opt(cmd, a, "--site");
    const char *since = cli_opt(cmd, a, "--since");
    const char *until = cli_opt(cmd, a, "--until");
    memset(x, 0, sizeof *x);
    if (!site || !since) {
        cli_error("--site and --since are required (usage: siteinvites audit export %s)",
                  cmd->synopsis);
        return false;
    }
    if (!admin_parse_id("--site", site, x->site_id) || !read_time("--since", since, &x->since))
        return false;
    if (until && !read_time("--until", until, &x->until))
        return false;
    x->out = cli_opt(cmd, a, "--out");
    return true;
}

/* Opens the destination: --out created 0600 (an audit log names people), else stdout. */
static FILE *open_out(const char *path)
{
    if (!path)
        return stdout;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        cli_error("cannot write %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    return f;
}

/* Writes every page of q to f, one entry a line. */
static enum si_err write_pages(struct store *st, struct audit_query *q, FILE *f)
{
    struct buf line;
    buf_init(&line, 0);
    enum si_err rc = SI_OK;
    for (bool more = true; more && !rc;) {
        struct audit_page page;
        rc = store_audit_list(st, q, &page);
        if (rc)
            break;
        for (size_t i = 0; i < page.n && !rc; i++) {
            buf_reset(&line);
            audit_entry_json(&page.items[i], &line);
            buf_xappend(&line, "\n", 1);
            if (fwrite(line.data, 1, line.len, f) != line.len)
                rc = SI_EIO;
        }
        more = page.has_next && page.n > 0;
        if (more) { /* the next page starts after the last entry written */
            q->has_after = true;
            q->after_time = page.items[page.n - 1].time;
            q->after_id = page.items[page.n - 1].id;
        }
        audit_page_cleanup(&page);
    }
    buf_cleanup(&line);
    return rc;
}

int cli_audit_export(const struct cli_cmd *cmd, const struct settings *s, const struct cli_args *a)
{
    struct export_args x;
    if (!read_args(cmd, a, &x))
        return CLI_EXIT_USAGE;
    struct store *st = NULL;
    struct site site = {.settings = NULL};
    enum si_err rc = cli_open_store(s->db, &st, NULL);
    if (rc)
        return cli_exit_for(rc);
    rc = store_site_get(st, x.site_id, &site);
    if (rc == SI_ENOTFOUND)
        cli_error("no site with ID %s", x.site_id);
    else if (rc)
        cli_error("cannot read site %s (%s)", x.site_id, si_err_str(rc));
    FILE *f = rc ? NULL : open_out(x.out);
    if (!rc && !f)
        rc = SI_EIO;
    if (!rc) {
        struct audit_query q = {.site_id = site.id,
                                .account_id = site.account_id,
                                .since = x.since,
                                .until = x.until,
                                .limit = AUDIT_LIMIT_MAX};
        rc = write_pages(st, &q, f);
        if (fflush(f) != 0 && !rc)
            rc = SI_EIO;
        if (rc)
            cli_error("cannot export the audit log (%s)", si_err_str(rc));
    }
    if (f && f != stdout && fclose(f) != 0 && !rc) {
        cli_error("cannot write %s: %s", x.out, strerror(errno));
        rc = SI_EIO;
    }
    site_cleanup(&site);
    store_close(st);
    return cli_exit_for(rc);
}
