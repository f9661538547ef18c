/* Admin commands that read or maintain rather than create: migrate, invite list, outbox
 * status. They read the store directly, never through the HTTP API. */
#include "cli/admin.h"
#include "auth/auth.h"
#include "cli/cli.h"
#include "cli/output.h"

#include "common/clock.h"
#include "common/xalloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POLICIES_TEXT_MAX (SI_POLICIES_MAX * SI_POLICY_ID_MAX) /* "id,id,..." */
#define INVITE_COLS       7

int cli_migrate(const struct cli_cmd *cmd, const struct settings *s, const struct cli_args *a)
{
    struct store *st = NULL;
    int applied = 0;
    enum si_err rc = cli_open_store(s->db, &st, &applied);
    if (rc)
        return cli_exit_for(rc);
    struct output o;
    output_init(&o, cli_opt(cmd, a, "--json") != NULL);
    if (o.json)
        output_int(&o, "applied", applied);
    else if (applied == 0)
        printf("schema already up to date (no migration step to apply)\n");
    else
        printf("applied %d migration step%s; schema up to date\n", applied,
               applied == 1 ? "" : "s");
    int code = output_finish(&o);
    store_close(st);
    return code;
}

/* Joins policy IDs with commas for a table cell (IDs never contain commas). */
static void policies_text(const struct policy_list *p, char out[POLICIES_TEXT_MAX])
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < p->n; i++) {
        int w = snprintf(out + len, POLICIES_TEXT_MAX - len, "%s%s", i ? "," : "", p->ids[i]);
        if (w < 0 || (size_t)w >= POLICIES_TEXT_MAX - len)
            break;
        len += (size_t)w;
    }
}

/* Adds one invite to the table, with the status a reader must see at now. */
static void invite_row(struct output_table *t, const struct invite *inv, si_ms now)
{
    char created[SI_TIME_TEXT_LEN], expires[SI_TIME_TEXT_LEN];
    char policies[POLICIES_TEXT_MAX];
    time_format(inv->created, created);
    time_format(inv->expires, expires);
    policies_text(&inv->policies, policies);
    const char *delivery = delivery_status_name(inv->delivery.status);
    const char *row[INVITE_COLS] = {
        inv->id, inv->email, invite_status_name(invite_status_at(inv, now)), policies, created,
        expires, delivery};
    output_table_row(t, row);
}

/* Builds the query for one page: the status filter, then the cursor after the last row. */
static void page_query(struct invite_query *q, const char *status, const struct invite *last)
{
    memset(q, 0, sizeof *q);
    q->sort = SORT_DATE_CREATED;
    q->limit = QUERY_LIMIT_MAX;
    if (status) {
        q->conds[0].field = QF_STATUS;
        q->conds[0].op = QOP_EQ;
        q->conds[0].n = 1;
        q->conds[0].values[0] = xstrdup(status);
        q->ncond = 1;
    }
    if (last) {
        q->has_after = true;
        q->after_key = xasprintf("%" PRId64, (int64_t)last->created);
        memcpy(q->after_id, last->id, SI_ID_LEN);
    }
}

/* Pages through every invite of the site in creation order into t. */
static enum si_err list_all(struct store *st, const char *site_id, const char *status,
                            struct output_table *t)
{
    /* One "now" for the whole listing, so every page judges expiry alike. */
    si_ms now = clock_now(&clock_system);
    struct invite last;
    bool have_last = false;
    enum si_err rc = SI_OK;
    for (;;) {
        struct invite_query q;
        struct invite_page page;
        memset(&page, 0, sizeof page);
        page_query(&q, status, have_last ? &last : NULL);
        rc = store_invites_query(st, site_id, &q, now, &page);
        invite_query_cleanup(&q);
        if (rc)
            break;
        for (size_t i = 0; i < page.n; i++)
            invite_row(t, &page.items[i], now);
        bool more = page.has_next && page.n > 0;
        if (more) {
            /* Only id and created are needed for the cursor; no owned strings are kept. */
            memcpy(last.id, page.items[page.n - 1].id, SI_ID_LEN);
            last.created = page.items[page.n - 1].created;
            have_last = true;
        }
        invite_page_cleanup(&page);
        if (!more)
            break;
    }
    return rc;
}

int admin_invite_list(const struct cli_cmd *cmd, const struct settings *s, const struct cli_args *a)
{
    /* The API's member names, so scripts can use one vocabulary for both. */
    static const char *const cols[INVITE_COLS] = {
        "id", "email", "status", "policyIds", "dateCreated", "expirationDate", "delivery"};
    char site_id[SI_ID_LEN];
    const char *site_text = cli_opt(cmd, a, "--site");
    const char *status = cli_opt(cmd, a, "--status");
    enum invite_status parsed;
    if (!site_text || !*site_text) {
        cli_error("--site is required (usage: siteinvites invite list %s)", cmd->synopsis);
        return CLI_EXIT_USAGE;
    }
    if (!admin_parse_id("--site", site_text, site_id))
        return CLI_EXIT_USAGE;
    if (status && !invite_status_parse(status, &parsed)) {
        cli_error("--status must be Pending, Used, Deleted, Declined or Expired, got '%s'", status);
        return CLI_EXIT_USAGE;
    }
    struct store *st = NULL;
    enum si_err rc = cli_open_store(s->db, &st, NULL);
    if (rc)
        return cli_exit_for(rc);
    struct site site;
    /* An unknown site is an error rather than an empty list: it is almost always a typo. */
    rc = store_site_get(st, site_id, &site);
    site_cleanup(&site); /* only its existence counts here */
    if (rc == SI_ENOTFOUND)
        cli_error("no site with ID %s", site_id);
    else if (rc)
        cli_error("cannot read site %s (%s)", site_id, si_err_str(rc));
    int code = cli_exit_for(rc);
    if (!rc) {
        struct output o;
        struct output_table t;
        output_init(&o, cli_opt(cmd, a, "--json") != NULL);
        output_table_init(&t, "invites", cols, INVITE_COLS);
        rc = list_all(st, site_id, status, &t);
        if (rc) {
            cli_error("cannot list invites (%s)", si_err_str(rc));
            json_decref(t.rows);
            json_decref(o.obj);
            code = cli_exit_for(rc);
        } else {
            output_table_end(&o, &t);
            code = output_finish(&o);
        }
    }
    store_close(st);
    return code;
}

int admin_outbox_status(const struct cli_cmd *cmd, const struct settings *s,
                        const struct cli_args *a)
{
    struct store *st = NULL;
    struct outbox_counts c;
    enum si_err rc = cli_open_store(s->db, &st, NULL);
    if (rc)
        return cli_exit_for(rc);
    rc = store_outbox_counts(st, &c);
    int code = cli_exit_for(rc);
    if (rc) {
        cli_error("cannot count the outbox (%s)", si_err_str(rc));
    } else {
        struct output o;
        char due[SI_TIME_TEXT_LEN];
        output_init(&o, cli_opt(cmd, a, "--json") != NULL);
        output_int(&o, "queued", c.queued);
        output_int(&o, "sent", c.sent);
        output_int(&o, "failed", c.failed);
        output_int(&o, "cancelled", c.cancelled);
        if (c.oldest_due)
            time_format(c.oldest_due, due);
        output_str(&o, "oldestDue", c.oldest_due ? due : NULL);
        code = output_finish(&o);
    }
    store_close(st);
    return code;
}

int admin_outbox_retry(const struct cli_cmd *cmd, const struct settings *s,
                       const struct cli_args *a)
{
    struct store *st = NULL;
    int64_t n = 0;
    enum si_err rc = cli_open_store(s->db, &st, NULL);
    if (rc)
        return cli_exit_for(rc);
    /* A running server picks the rows up on its next poll (at most its poll interval). */
    rc = store_outbox_retry(st, clock_now(&clock_system), &n);
    int code = cli_exit_for(rc);
    if (rc) {
        cli_error("cannot requeue failed emails (%s)", si_err_str(rc));
    } else {
        struct output o;
        output_init(&o, cli_opt(cmd, a, "--json") != NULL);
        output_int(&o, "requeued", n);
        code = output_finish(&o);
    }
    store_close(st);
    return code;
}

#define KEY_COLS 7
#define KEYS_MAX 10000 /* keys listed: far more than an account has */

/* One key's row; unknown times and prefixes (keys made before schema version 14) are null. */
static void key_row(struct output_table *t, const struct api_key_row *k)
{
    char perms[256], created[SI_TIME_TEXT_LEN], used[SI_TIME_TEXT_LEN], revoked[SI_TIME_TEXT_LEN];
    perm_format_list(k->permissions, perms, sizeof perms);
    time_format(k->created, created);
    if (k->last_used)
        time_format(k->last_used, used);
    if (k->revoked)
        time_format(k->revoked, revoked);
    const char *row[KEY_COLS] = {k->id,
                                 k->name,
                                 k->prefix[0] ? k->prefix : NULL,
                                 perms,
                                 created,
                                 k->last_used ? used : NULL,
                                 k->revoked ? revoked : NULL};
    output_table_row(t, row);
}

int admin_key_list(const struct cli_cmd *cmd, const struct settings *s, const struct cli_args *a)
{
    static const char *const cols[KEY_COLS] = {"id",      "name",     "prefix", "permissions",
                                               "created", "lastUsed", "revoked"};
    char account[SI_ID_LEN];
    const char *acc = cli_opt(cmd, a, "--account");
    if (!acc || !*acc) {
        cli_error("--account is required (usage: siteinvites key list %s)", cmd->synopsis);
        return CLI_EXIT_USAGE;
    }
    if (!admin_parse_id("--account", acc, account))
        return CLI_EXIT_USAGE;
    struct store *st = NULL;
    enum si_err rc = cli_open_store(s->db, &st, NULL);
    if (rc)
        return cli_exit_for(rc);
    struct api_key_row *keys = NULL;
    size_t n = 0;
    rc = admin_account_exists(st, account);
    if (!rc && (rc = store_account_keys(st, account, KEYS_MAX, &keys, &n)) != SI_OK)
        cli_error("cannot list keys (%s)", si_err_str(rc));
    int code = cli_exit_for(rc);
    if (!rc) {
        struct output o;
        struct output_table t;
        output_init(&o, cli_opt(cmd, a, "--json") != NULL);
        output_table_init(&t, "keys", cols, KEY_COLS);
        for (size_t i = 0; i < n; i++)
            key_row(&t, &keys[i]);
        output_table_end(&o, &t);
        code = output_finish(&o);
    }
    free(keys);
    store_close(st);
    return code;
}
