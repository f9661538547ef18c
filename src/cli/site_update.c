/* `siteinvites site update`: a site's issue-10 settings from the command line, checked by the
 * same core rules as PATCH /invites/site-settings and written through the same store call. */
#include "cli/cli.h"

#include "cli/admin.h"
#include "cli/output.h"
#include "common/clock.h"
#include "core/site_settings.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define OPT_URL     "--accept-redirect-url"
#define OPT_DAYS    "--reminder-days"
#define OPT_DOMAINS "--allowed-email-domains"

/* What the options ask for; the strings point into argv or into domains. */
struct site_edit {
    struct site_settings_patch patch;
    char domains[SITE_DOMAINS_TEXT_MAX + 1];
};

static bool parse_url(const char *v, struct site_edit *e)
{
    const char *why = "";
    /* "none" clears, like "off" and "none" of the other two options. */
    if (strcmp(v, "none") == 0)
        v = "";
    if (!site_settings_url_ok(v, &why)) {
        cli_error(OPT_URL " %s", why);
        return false;
    }
    e->patch.accept_redirect_url = v;
    return true;
}

static bool parse_days(const char *v, struct site_edit *e)
{
    char *end;
    if (strcmp(v, "off") == 0) {
        e->patch.reminder_days = 0;
        return true;
    }
    errno = 0;
    long d = strtol(v, &end, 10);
    if (errno || end == v || *end || d < 0 || d > SITE_REMINDER_DAYS_MAX) {
        cli_error(OPT_DAYS " must be 0 to %d days, or off", SITE_REMINDER_DAYS_MAX);
        return false;
    }
    e->patch.reminder_days = (int)d;
    return true;
}

/* "a.com,*.b.com" (spaces around commas allowed) or "none". */
static bool parse_domains(const char *v, struct site_edit *e)
{
    e->domains[0] = '\0';
    e->patch.allowed_domains = e->domains;
    if (strcmp(v, "none") == 0)
        return true;
    for (const char *p = v; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        size_t skip = strspn(p, " ");
        char norm[SITE_DOMAIN_MAX + 3];
        const char *why;
        size_t len = n > skip ? n - skip : 0;
        while (len > 0 && p[skip + len - 1] == ' ')
            len--;
        if (!site_settings_domain_ok(p + skip, len, norm, &why)) {
            cli_error(OPT_DOMAINS " '%.*s' %s", (int)n, p, why);
            return false;
        }
        if (!site_settings_domains_add(e->domains, norm)) {
            cli_error(OPT_DOMAINS ": at most %d domains, %d bytes in all", SITE_DOMAINS_MAX,
                      SITE_DOMAINS_TEXT_MAX);
            return false;
        }
        p += n + (comma ? 1 : 0);
    }
    return true;
}

/* Reads the options into e; false (after printing why) when one is bad or none is given. */
static bool read_options(const struct cli_cmd *cmd, const struct cli_args *a, struct site_edit *e)
{
    const char *url = cli_opt(cmd, a, OPT_URL);
    const char *days = cli_opt(cmd, a, OPT_DAYS);
    const char *domains = cli_opt(cmd, a, OPT_DOMAINS);
    e->patch = (struct site_settings_patch){.reminder_days = -1};
    if (!url && !days && !domains) {
        cli_error("give at least one of " OPT_URL ", " OPT_DAYS " or " OPT_DOMAINS);
        return false;
    }
    return (!url || parse_url(url, e)) && (!days || parse_days(days, e)) &&
           (!domains || parse_domains(domains, e));
}

/* Prints the site's settings as stored, flat: the list as its stored text. */
static int print_settings(const struct cli_cmd *cmd, const struct cli_args *a,
                          const struct site *site)
{
    struct output o;
    output_init(&o, cli_opt(cmd, a, "--json") != NULL);
    output_str(&o, "id", site->id);
    const struct site_settings *set = site_settings_of(site);
    output_str(&o, "acceptRedirectUrl", set->accept_redirect_url);
    output_int(&o, "reminderDaysBeforeExpiry", set->reminder_days);
    output_str(&o, "allowedEmailDomains", set->allowed_domains);
    return output_finish(&o);
}

int admin_site_update(const struct cli_cmd *cmd, const struct settings *s, const struct cli_args *a)
{
    char id[SI_ID_LEN];
    struct site_edit e;
    const char *site_opt = cli_opt(cmd, a, "--site");
    if (!site_opt) {
        cli_error("--site is required");
        return CLI_EXIT_USAGE;
    }
    if (!admin_parse_id("--site", site_opt, id) || !read_options(cmd, a, &e))
        return CLI_EXIT_USAGE;
    struct store *st = NULL;
    enum si_err rc = cli_open_store(s->db, &st, NULL);
    if (rc)
        return cli_exit_for(rc);
    struct site after = {.settings = NULL};
    rc = store_site_settings_set(st, id, &e.patch, clock_now(&clock_system), audit_admin_actor());
    if (!rc)
        rc = store_site_get(st, id, &after);
    int code;
    if (rc == SI_ENOTFOUND)
        cli_error("no site with ID %s", id);
    else if (rc)
        cli_error("cannot update the site (%s)", si_err_str(rc));
    code = rc ? cli_exit_for(rc) : print_settings(cmd, a, &after);
    site_cleanup(&after);
    store_close(st);
    return code;
}
