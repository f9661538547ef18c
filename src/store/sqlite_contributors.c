/* SQLite operations on the contributors of a site (list, change roles, remove) and the periodic
 * sweep that stores Expired. The invitee's answer is sqlite_changes.c. */
#include "sqlite_int.h"
#include "webhook_ops.h"

#include "common/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONTRIBUTOR_COLS                                                                           \
    "id, site_id, account_id, email, email_key, policy_ids, joined_ms, invite_id, location_ids,"   \
    " invited_email"
static const struct sq_sql SQL_LIST = {SQ_CONTRIBUTORS_LIST,
                                       "SELECT " CONTRIBUTOR_COLS " FROM contributors"
                                       " WHERE site_id = ?1 ORDER BY joined_ms, id LIMIT ?2"};
static const struct sq_sql SQL_GET = {SQ_CONTRIBUTOR_GET,
                                      "SELECT " CONTRIBUTOR_COLS " FROM contributors"
                                      " WHERE site_id = ?1 AND account_id = ?2"};
static const struct sq_sql SQL_SET_ROLES = {
    SQ_CONTRIBUTOR_SET_ROLES,
    "UPDATE contributors SET policy_ids = ?3 WHERE site_id = ?1 AND account_id = ?2"};
static const struct sq_sql SQL_SET_LOCATIONS = {
    SQ_CONTRIBUTOR_SET_LOCATIONS,
    "UPDATE contributors SET location_ids = ?3 WHERE site_id = ?1 AND account_id = ?2"};
static const struct sq_sql SQL_REMOVE = {
    SQ_CONTRIBUTOR_REMOVE, "DELETE FROM contributors WHERE site_id = ?1 AND account_id = ?2"};
/* Walks invites_status_expires_site; the seat trigger runs for each row. */
static const struct sq_sql SQL_EXPIRE = {
    SQ_INVITES_EXPIRE,
    "UPDATE invites SET status = 'Expired', updated_ms = ?1 WHERE rowid IN (SELECT rowid FROM"
    " invites WHERE status = 'Pending' AND expires_ms <= ?1 LIMIT ?2) RETURNING id, site_id"};

/* The statement of a change: ?1 site, ?2 account, ?3 the list in its stored form. */
static const struct sq_sql *statement_of(enum audit_action a)
{
    return a == AUDIT_CONTRIBUTOR_ROLE_CHANGED        ? &SQL_SET_ROLES
           : a == AUDIT_CONTRIBUTOR_LOCATIONS_CHANGED ? &SQL_SET_LOCATIONS
                                                      : &SQL_REMOVE;
}

#define TEXT(s, i, v) sqlite3_bind_text((s), (i), (v), -1, SQLITE_STATIC)

/* ---- contributors ------------------------------------------------------------------------ */

static void read_contributor(sqlite3_stmt *s, struct contributor_row *r)
{
    memset(r, 0, sizeof *r);
    sq_col_text(s, 0, r->id, sizeof r->id);
    sq_col_text(s, 1, r->site_id, sizeof r->site_id);
    sq_col_text(s, 2, r->account_id, sizeof r->account_id);
    sq_col_text(s, 3, r->email, sizeof r->email);
    sq_col_text(s, 4, r->email_key, sizeof r->email_key);
    policy_text_decode((const char *)sqlite3_column_text(s, 5), &r->policies);
    r->joined = sqlite3_column_int64(s, 6);
    sq_col_text(s, 7, r->invite_id, sizeof r->invite_id);
    policy_text_decode((const char *)sqlite3_column_text(s, 8), &r->locations);
    sq_col_text(s, 9, r->invited_email, sizeof r->invited_email);
}

static void read_contributor_elem(sqlite3_stmt *s, void *elem)
{
    read_contributor(s, elem);
}

enum si_err sq_contributors_list(void *be, const char *site_id, size_t max,
                                 struct contributor_row **out, size_t *n)
{
    const struct sq_list l = {&SQL_LIST,          site_id, max, sizeof **out, read_contributor_elem,
                              "list contributors"};
    void *rows = NULL;
    enum si_err rc = sq_list_rows(be, &l, &rows, n);
    *out = rows;
    return rc;
}

/* Reads one contributor of a site on c; SI_ENOTFOUND when none. */
static enum si_err get_contributor(struct sq_conn *c, const char *site_id, const char *account_id,
                                   struct contributor_row *out)
{
    sqlite3_stmt *s;
    enum si_err rc = sq_step_row(c, &SQL_GET, site_id, account_id, "read contributor", &s);
    if (!rc)
        read_contributor(s, out);
    sq_done(s);
    return rc;
}

/* Runs k's statement on the loaded row (list bound as ?3 in its stored form), reads the row
 * back and writes the audit entry, inside the caller's transaction. */
static enum si_err keyed_body(struct sq_conn *c, const struct contributor_change *k,
                              const char *text)
{
    struct contributor_row before, after = {.joined = 0};
    sqlite3_stmt *s;
    enum si_err rc = get_contributor(c, k->site_id, k->account_id, &before);
    if (!rc)
        rc = sq_prep(c, statement_of(k->action), &s);
    if (rc)
        return rc;
    int b = TEXT(s, 1, k->site_id) | TEXT(s, 2, k->account_id);
    if (k->list)
        b |= TEXT(s, 3, text);
    if (b) {
        sq_done(s);
        return sq_fail(c, "bind");
    }
    rc = sq_exec_stmt(c, s, "change contributor");
    if (!rc && k->list)
        rc = get_contributor(c, k->site_id, k->account_id, &after);
    if (!rc) {
        struct audit_entry e;
        audit_contributor_change(k->action, &before, k->list ? &after : NULL, k->actor, k->now, &e);
        rc = sq_audit_add(c, &e);
        audit_entry_cleanup(&e);
    }
    if (!rc)
        rc = webhook_emit_contributor(&sq_webhook_steps, c, k->action, k->list ? &after : &before,
                                      k->view, k->now);
    if (!rc && k->out)
        *k->out = after;
    return rc;
}

/* Runs k in its own write transaction; SI_ENOTFOUND when the site has no such contributor. */
enum si_err sq_contributor_change(void *be, const struct contributor_change *k)
{
    struct sq_conn *c = NULL;
    char text[POLICY_TEXT_MAX];
    enum si_err rc = k->list ? policy_text_encode(k->list, text) : SI_OK;
    if (!rc)
        rc = sq_borrow_writer(be, &c);
    if (rc)
        return rc;
    rc = sq_begin(c);
    if (!rc) {
        rc = keyed_body(c, k, text);
        if (!rc)
            rc = sq_commit(c);
        else
            sq_rollback(c);
    }
    sq_return(be, c);
    return rc;
}

/* ---- expiry --------------------------------------------------------------------------------- */

enum si_err sq_invites_expire(void *be, si_ms now, int max, int64_t *n)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s;
    *n = 0;
    enum si_err rc = sq_borrow_writer(be, &c);
    if (rc)
        return rc;
    rc = sq_begin(c);
    if (rc)
        goto out;
    rc = sq_webhook_expiring(c, NULL, now, max);
    if (!rc)
        rc = sq_prep(c, &SQL_EXPIRE, &s);
    if (!rc) {
        if (sqlite3_bind_int64(s, 1, now) | sqlite3_bind_int(s, 2, max)) {
            sq_done(s);
            rc = sq_fail(c, "bind");
        } else
            rc = sq_audit_expired(c, s, now, n); /* with their audit entries */
    }
    if (!rc)
        rc = sq_commit(c);
    else
        sq_rollback(c);
out:
    sq_return(be, c);
    return rc;
}
