/* Admin commands that create things: accounts, sites, API keys and custom roles, plus the role
 * list. Each opens (and migrates) the store, validates its options, acts, and prints. */
#include "cli/admin.h"

#include "auth/auth.h"
#include "cli/cli.h"
#include "cli/output.h"
#include "common/clock.h"
#include "core/email.h"
#include "core/lang.h"
#include "core/roles.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define KEY_NAME_DEFAULT "cli"
#define LIMIT_MAX        1000000 /* seats of one site: a typo guard, not a business rule */

/* A required option: NULL (after printing why) when missing or empty. */
static const char *required(const struct cli_cmd *cmd, const struct cli_args *a, const char *flag)
{
    const char *v = cli_opt(cmd, a, flag);
    if (!v || !*v) {
        cli_error("%s is required (usage: siteinvites %s %s %s)", flag, cmd->group, cmd->verb,
                  cmd->synopsis);
        return NULL;
    }
    return v;
}

/* Copies a text option into out[cap], refusing text that does not fit. */
static bool text_opt(const char *flag, const char *v, char *out, size_t cap)
{
    size_t n = strlen(v);
    if (n >= cap) {
        cli_error("%s is too long (at most %zu bytes)", flag, cap - 1);
        return false;
    }
    memcpy(out, v, n + 1);
    return true;
}

bool admin_parse_id(const char *flag, const char *v, char out[SI_ID_LEN])
{
    if (!id_normalize(v, out)) {
        cli_error("%s: '%s' is not an ID (expected a GUID such as "
                  "3f2504e0-4f89-41d3-9a0c-0305e82c3301)",
                  flag, v);
        return false;
    }
    return true;
}

/* An optional whole-number option within [min, max]; absent leaves *out at its default. */
static bool int_opt(const char *flag, const char *v, long min, long max, int *out)
{
    char *end = NULL;
    errno = 0;
    long n = v ? strtol(v, &end, 10) : 0;
    if (!v)
        return true; /* optional and absent: *out keeps its default */
    if (!*v || errno || *end || n < min || n > max) {
        cli_error("%s must be a whole number from %ld to %ld, got '%s'", flag, min, max, v);
        return false;
    }
    *out = (int)n;
    return true;
}

enum si_err admin_account_exists(struct store *st, const char *id)
{
    struct account acc;
    enum si_err rc = store_account_get(st, id, &acc);
    if (rc == SI_ENOTFOUND)
        cli_error("no account with ID %s", id);
    else if (rc)
        cli_error("cannot read account %s (%s)", id, si_err_str(rc));
    return rc;
}

enum si_err admin_key_make(struct store *st, const char *account_id, const char *name,
                           unsigned perms, char id[SI_ID_LEN], char key[API_KEY_TEXT_LEN + 1])
{
    struct api_key_row row;
    uint8_t hash[SECURE_HASH_LEN];
    memset(&row, 0, sizeof row);
    id_new(&random_system, row.id);
    memcpy(row.account_id, account_id, SI_ID_LEN);
    snprintf(row.name, sizeof row.name, "%s", name);
    row.permissions = perms;
    row.created = clock_now(&clock_system);
    auth_key_issue(&random_system, &row, key, hash);
    enum si_err rc = store_key_create(st, &row, hash);
    secure_wipe(hash, sizeof hash);
    if (rc) {
        secure_wipe(key, API_KEY_TEXT_LEN + 1);
        cli_error("cannot store the API key (%s)", si_err_str(rc));
        return rc;
    }
    memcpy(id, row.id, SI_ID_LEN);
    return SI_OK;
}

/* Opens the store for an admin command; on failure the exit code goes into *code. */
static struct store *open_or_exit(const struct settings *s, int *code)
{
    struct store *st = NULL;
    enum si_err rc = cli_open_store(s->db, &st, NULL);
    *code = cli_exit_for(rc);
    return st;
}

/* Prints {"id": id} (or "id: ...") and returns the exit code. */
static int print_id(const struct cli_cmd *cmd, const struct cli_args *a, const char *id)
{
    struct output o;
    output_init(&o, cli_opt(cmd, a, "--json") != NULL);
    output_str(&o, "id", id);
    return output_finish(&o);
}

int admin_account_create(const struct cli_cmd *cmd, const struct settings *s,
                         const struct cli_args *a)
{
    struct account acc;
    char key[SI_EMAIL_MAX + 1];
    const char *name = required(cmd, a, "--name");
    const char *email = name ? required(cmd, a, "--email") : NULL;
    memset(&acc, 0, sizeof acc);
    if (!email || !text_opt("--name", name, acc.name, sizeof acc.name))
        return CLI_EXIT_USAGE;
    /* The owner's address obeys the same rules as an invitee's: it may receive mail later. */
    enum email_verdict v = email_check(email, strlen(email), acc.email, key);
    if (v != EMAIL_OK) {
        cli_error("--email: '%s' is not a valid address (%s)", email, email_verdict_str(v));
        return CLI_EXIT_USAGE;
    }
    int code;
    struct store *st = open_or_exit(s, &code);
    if (!st)
        return code;
    id_new(&random_system, acc.id);
    acc.created = clock_now(&clock_system);
    enum si_err rc = store_account_create(st, &acc);
    if (rc == SI_EEXIST)
        cli_error("an account with this email or ID already exists");
    else if (rc)
        cli_error("cannot create the account (%s)", si_err_str(rc));
    code = rc ? cli_exit_for(rc) : print_id(cmd, a, acc.id);
    store_close(st);
    return code;
}

/* Fills a site from the options; false (message printed) when one is invalid. */
static bool site_from_opts(const struct cli_cmd *cmd, const struct cli_args *a, struct site *site)
{
    const char *account = required(cmd, a, "--account");
    const char *name = account ? required(cmd, a, "--name") : NULL;
    const char *lang = cli_opt(cmd, a, "--language");
    memset(site, 0, sizeof *site);
    site->contributor_limit = SI_CONTRIBUTOR_LIMIT_DEFAULT;
    site->lifetime_days = SI_LIFETIME_DAYS_DEFAULT;
    if (!name || !admin_parse_id("--account", account, site->account_id) ||
        !text_opt("--name", name, site->name, sizeof site->name) ||
        !int_opt("--contributor-limit", cli_opt(cmd, a, "--contributor-limit"), 1, LIMIT_MAX,
                 &site->contributor_limit) ||
        !int_opt("--lifetime-days", cli_opt(cmd, a, "--lifetime-days"), SI_LIFETIME_DAYS_MIN,
                 SI_LIFETIME_DAYS_MAX, &site->lifetime_days))
        return false;
    if (!lang)
        lang = LANG_FALLBACK;
    if (!lang_tag_valid(lang) || strlen(lang) >= sizeof site->language) {
        cli_error("--language: '%s' is not a language tag (e.g. en, fr, pt-BR)", lang);
        return false;
    }
    memcpy(site->language, lang, strlen(lang) + 1);
    return true;
}

int admin_site_create(const struct cli_cmd *cmd, const struct settings *s, const struct cli_args *a)
{
    struct site site;
    if (!site_from_opts(cmd, a, &site))
        return CLI_EXIT_USAGE;
    int code;
    struct store *st = open_or_exit(s, &code);
    if (!st)
        return code;
    /* Checked first for a clear message; store_site_create's SI_ENOTFOUND covers the race. */
    enum si_err rc = admin_account_exists(st, site.account_id);
    if (!rc) {
        id_new(&random_system, site.id);
        site.created = clock_now(&clock_system);
        rc = store_site_create(st, &site);
        if (rc == SI_ENOTFOUND)
            cli_error("no account with ID %s", site.account_id);
        else if (rc)
            cli_error("cannot create the site (%s)", si_err_str(rc));
    }
    code = rc ? cli_exit_for(rc) : print_id(cmd, a, site.id);
    store_close(st);
    return code;
}

int admin_key_create(const struct cli_cmd *cmd, const struct settings *s, const struct cli_args *a)
{
    char account[SI_ID_LEN], id[SI_ID_LEN], key[API_KEY_TEXT_LEN + 1];
    const char *acc = required(cmd, a, "--account");
    const char *name = cli_opt(cmd, a, "--name");
    const char *perms_text = cli_opt(cmd, a, "--permissions");
    unsigned perms = PERM_ALL;
    if (!acc || !admin_parse_id("--account", acc, account))
        return CLI_EXIT_USAGE;
    if (name && strlen(name) >= SI_NAME_MAX) {
        cli_error("--name is too long (at most %d bytes)", SI_NAME_MAX - 1);
        return CLI_EXIT_USAGE;
    }
    /* Unknown names are refused, never dropped: a typo must not widen or narrow a key. */
    if (perms_text && !perm_parse_list(perms_text, &perms)) {
        char all[256];
        perm_format_list(PERM_ALL, all, sizeof all);
        cli_error("--permissions: '%s' is not a list of: %s", perms_text, all);
        return CLI_EXIT_USAGE;
    }
    int code;
    struct store *st = open_or_exit(s, &code);
    if (!st)
        return code;
    enum si_err rc = admin_account_exists(st, account);
    if (!rc)
        rc = admin_key_make(st, account, name && *name ? name : KEY_NAME_DEFAULT, perms, id, key);
    if (!rc) {
        struct output o;
        output_init(&o, cli_opt(cmd, a, "--json") != NULL);
        output_str(&o, "id", id);
        output_secret(&o, "key", key);
        secure_wipe(key, sizeof key); /* the output holds the only copy until it is printed */
        code = output_finish(&o);
        fprintf(stderr, "siteinvites: keep this key now: it is stored only as a hash and will "
                        "not be shown again\n");
    } else {
        code = cli_exit_for(rc);
    }
    store_close(st);
    return code;
}

int admin_key_revoke(const struct cli_cmd *cmd, const struct settings *s, const struct cli_args *a)
{
    char id[SI_ID_LEN];
    if (!admin_parse_id("key ID", a->positional[0], id))
        return CLI_EXIT_USAGE;
    int code;
    struct store *st = open_or_exit(s, &code);
    if (!st)
        return code;
    /* Revoking an already revoked key is a success: the wanted state holds. */
    enum si_err rc = store_key_revoke(st, id, clock_now(&clock_system));
    if (rc == SI_ENOTFOUND)
        cli_error("no API key with ID %s", id);
    else if (rc)
        cli_error("cannot revoke the key (%s)", si_err_str(rc));
    if (!rc) {
        struct output o;
        output_init(&o, cli_opt(cmd, a, "--json") != NULL);
        output_str(&o, "id", id);
        output_bool(&o, "revoked", true);
        code = output_finish(&o);
    } else {
        code = cli_exit_for(rc);
    }
    store_close(st);
    return code;
}

int admin_role_list(const struct cli_cmd *cmd, const struct settings *s, const struct cli_args *a)
{
    static const char *const cols[] = {"id", "title", "description"};
    char account[SI_ID_LEN];
    const char *acc = required(cmd, a, "--account");
    if (!acc || !admin_parse_id("--account", acc, account))
        return CLI_EXIT_USAGE;
    int code;
    struct store *st = open_or_exit(s, &code);
    if (!st)
        return code;
    struct role *roles = NULL;
    size_t n = 0;
    enum si_err rc = admin_account_exists(st, account);
    if (!rc && (rc = store_roles_list(st, account, &roles, &n)) != SI_OK)
        cli_error("cannot list roles (%s)", si_err_str(rc));
    if (!rc) {
        /* The same two lists as GET /roles-management/roles. */
        struct output o;
        struct output_table pre, custom;
        output_init(&o, cli_opt(cmd, a, "--json") != NULL);
        output_table_init(&pre, "predefinedRoles", cols, 3);
        output_table_init(&custom, "customRoles", cols, 3);
        pre.captioned = custom.captioned = true;
        for (size_t i = 0; i < n; i++) {
            const char *row[] = {roles[i].id, roles[i].title, roles[i].description};
            output_table_row(roles[i].predefined ? &pre : &custom, row);
        }
        output_table_end(&o, &pre);
        if (!o.json)
            putchar('\n');
        output_table_end(&o, &custom);
        code = output_finish(&o);
    } else {
        code = cli_exit_for(rc);
    }
    free(roles);
    store_close(st);
    return code;
}

int admin_role_create(const struct cli_cmd *cmd, const struct settings *s, const struct cli_args *a)
{
    struct role r;
    char account[SI_ID_LEN];
    const char *acc = required(cmd, a, "--account");
    const char *title = acc ? required(cmd, a, "--title") : NULL;
    const char *desc = cli_opt(cmd, a, "--description");
    memset(&r, 0, sizeof r);
    if (!title || !admin_parse_id("--account", acc, account) ||
        !text_opt("--title", title, r.title, sizeof r.title) ||
        !text_opt("--description", desc ? desc : "", r.description, sizeof r.description))
        return CLI_EXIT_USAGE;
    int code;
    struct store *st = open_or_exit(s, &code);
    if (!st)
        return code;
    enum si_err rc = admin_account_exists(st, account);
    if (!rc) {
        /* Custom roles get GUIDs, so they never collide with the 19-digit predefined IDs. */
        id_new(&random_system, r.id);
        rc = store_role_create(st, account, &r, clock_now(&clock_system), audit_admin_actor());
        if (rc == SI_EEXIST)
            cli_error("a role titled '%s' already exists for this account", r.title);
        else if (rc)
            cli_error("cannot create the role (%s)", si_err_str(rc));
    }
    code = rc ? cli_exit_for(rc) : print_id(cmd, a, r.id);
    store_close(st);
    return code;
}
