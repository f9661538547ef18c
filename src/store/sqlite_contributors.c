/* SQLite operations of the invitee's side: accepting or declining an invite by its link salt (one
 * transaction with a compare-and-set on the status), the contributors of a site, and the periodic
 * sweep that stores Expired. */
#include "sqlite_int.h"

#include "common/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_INITIAL 16 /* array slots before the first growth */

static const struct sq_sql SQL_LOAD = {SQ_ANSWER_LOAD, "SELECT " SQ_INVITE_COLS SQ_INVITE_FROM
                                                       " WHERE i.token_salt = ?1"};
/* The compare-and-set: only a Pending, unexpired row changes. The write transaction already
 * serialises answers in this process; the WHERE clause keeps the rule true for any writer. */
static const struct sq_sql SQL_CAS = {
    SQ_ANSWER_CAS, "UPDATE invites SET status = ?2, accepted_by = ?3, updated_ms = ?4"
                   " WHERE id = ?1 AND status = 'Pending' AND expires_ms > ?4"};
/* lower() folds ASCII only, like core's email key; the expression index accounts_email backs
 * it. The oldest account wins if an address was registered twice. */
static const struct sq_sql SQL_ACCOUNT_BY_EMAIL = {
    SQ_ACCOUNT_BY_EMAIL,
    "SELECT id FROM accounts WHERE lower(email) = ?1 ORDER BY created_ms, id LIMIT 1"};
#define CONTRIBUTOR_COLS                                                                           \
    "id, site_id, account_id, email, email_key, policy_ids, joined_ms, invite_id"
static const struct sq_sql SQL_LIST = {SQ_CONTRIBUTORS_LIST,
                                       "SELECT " CONTRIBUTOR_COLS " FROM contributors"
                                       " WHERE site_id = ?1 ORDER BY joined_ms, id LIMIT ?2"};
static const struct sq_sql SQL_GET = {SQ_CONTRIBUTOR_GET,
                                      "SELECT " CONTRIBUTOR_COLS " FROM contributors"
                                      " WHERE site_id = ?1 AND account_id = ?2"};
static const struct sq_sql SQL_SET_ROLES = {
    SQ_CONTRIBUTOR_SET_ROLES,
    "UPDATE contributors SET policy_ids = ?3 WHERE site_id = ?1 AND account_id = ?2"};
static const struct sq_sql SQL_REMOVE = {
    SQ_CONTRIBUTOR_REMOVE, "DELETE FROM contributors WHERE site_id = ?1 AND account_id = ?2"};
/* Walks invites_status_expires; the seat trigger runs for each row. */
static const struct sq_sql SQL_EXPIRE = {
    SQ_INVITES_EXPIRE,
    "UPDATE invites SET status = 'Expired', updated_ms = ?1 WHERE rowid IN (SELECT rowid FROM"
    " invites WHERE status = 'Pending' AND expires_ms <= ?1 LIMIT ?2)"};

#define TEXT(s, i, v) sqlite3_bind_text((s), (i), (v), -1, SQLITE_STATIC)

/* Runs a bound write inside the caller's transaction, mapping constraint failures. */
static enum si_err step_write(struct sq_conn *c, sqlite3_stmt *s, const char *what)
{
    enum si_err rc = SI_OK;
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = sq_constraint(c, sqlite3_extended_errcode(c->db), what);
    sq_done(s);
    return rc;
}

/* Reads the invite of a salt on c; SI_ENOTFOUND when none. */
static enum si_err load_by_salt(struct sq_conn *c, const uint8_t *salt, struct invite *out)
{
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, &SQL_LOAD, &s);
    if (rc)
        return rc;
    if (sqlite3_bind_blob(s, 1, salt, SI_TOKEN_SALT_LEN, SQLITE_STATIC) != SQLITE_OK)
        rc = sq_fail(c, "bind");
    else {
        int step = sqlite3_step(s);
        if (step == SQLITE_ROW)
            sq_read_invite(s, out);
        else
            rc = step == SQLITE_DONE ? SI_ENOTFOUND : sq_fail(c, "read invite by salt");
    }
    sq_done(s);
    return rc;
}

/* The account that joins: the oldest with the address, else a new one made now. */
static enum si_err joining_account(struct sq_conn *c, struct invitee_answer *a, char id[SI_ID_LEN])
{
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, &SQL_ACCOUNT_BY_EMAIL, &s);
    if (rc)
        return rc;
    if (TEXT(s, 1, a->email_key)) {
        sq_done(s);
        return sq_fail(c, "bind");
    }
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW)
        sq_col_text(s, 0, id, SI_ID_LEN);
    sq_done(s);
    if (step == SQLITE_ROW)
        return SI_OK;
    if (step != SQLITE_DONE)
        return sq_fail(c, "find account by email");
    rc = sq_prep(c, &sq_sql_account_insert, &s);
    if (rc)
        return rc;
    const struct account *n = &a->new_account;
    if (TEXT(s, 1, n->id) | TEXT(s, 2, n->name) | TEXT(s, 3, n->email) |
        sqlite3_bind_int64(s, 4, n->created)) {
        sq_done(s);
        return sq_fail(c, "bind");
    }
    rc = step_write(c, s, "create account");
    if (!rc) {
        memcpy(id, n->id, SI_ID_LEN);
        a->account_created = true;
    }
    return rc;
}

/* Inserts the contributor row of an accepted invite (a->contributor is filled first). */
static enum si_err add_contributor(struct sq_conn *c, struct invitee_answer *a)
{
    struct contributor_row *r = &a->contributor;
    const struct invite *v = &a->invite;
    snprintf(r->id, sizeof r->id, "%s", a->contributor_id);
    snprintf(r->site_id, sizeof r->site_id, "%s", v->site_id);
    if (!a->email) { /* no verified address passed: the invited one joins */
        a->email = v->email;
        a->email_key = v->email_key;
        snprintf(a->new_account.email, sizeof a->new_account.email, "%s", v->email);
        if (!a->new_account.name[0])
            snprintf(a->new_account.name, sizeof a->new_account.name, "%s", v->email);
    }
    enum si_err rc = joining_account(c, a, r->account_id);
    if (rc)
        return rc;
    /* The contributor's address is the joining account's, which is the invite's unless the
     * platform passed another verified one. */
    snprintf(r->email, sizeof r->email, "%s", a->email);
    snprintf(r->email_key, sizeof r->email_key, "%s", a->email_key);
    r->policies = v->policies;
    r->joined = a->now;
    snprintf(r->invite_id, sizeof r->invite_id, "%s", v->id);
    char policies[POLICY_TEXT_MAX];
    sqlite3_stmt *s;
    rc = policy_text_encode(&r->policies, policies);
    if (!rc)
        rc = sq_prep(c, &sq_sql_contributor_insert, &s);
    if (rc)
        return rc;
    int b = TEXT(s, 1, r->id) | TEXT(s, 2, r->site_id) | TEXT(s, 3, r->account_id);
    b |= TEXT(s, 4, r->email) | TEXT(s, 5, r->email_key) | TEXT(s, 6, policies);
    b |= sqlite3_bind_int64(s, 7, r->joined) | TEXT(s, 8, r->invite_id);
    if (b) {
        sq_done(s);
        return sq_fail(c, "bind");
    }
    return step_write(c, s, "add contributor");
}

/* The status change itself: SI_ESTATE when the compare-and-set matched no row. */
static enum si_err compare_and_set(struct sq_conn *c, struct invitee_answer *a)
{
    const char *status = a->choice == INVITEE_ACCEPT ? "Used" : "Declined";
    const char *by = a->choice == INVITEE_ACCEPT ? a->contributor.account_id : "";
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, &SQL_CAS, &s);
    if (rc)
        return rc;
    if (TEXT(s, 1, a->invite.id) | TEXT(s, 2, status) | TEXT(s, 3, by) |
        sqlite3_bind_int64(s, 4, a->now)) {
        sq_done(s);
        return sq_fail(c, "bind");
    }
    rc = sq_exec_stmt(c, s, "answer invite");
    if (!rc && sqlite3_changes(c->db) != 1)
        rc = SI_ESTATE;
    if (rc)
        return rc;
    rc = sq_prep(c, &sq_sql_outbox_cancel, &s);
    if (rc)
        return rc;
    if (TEXT(s, 1, a->invite.id)) {
        sq_done(s);
        return sq_fail(c, "bind");
    }
    return sq_exec_stmt(c, s, "cancel emails");
}

enum si_err sq_invite_answer(void *be, const uint8_t salt[SI_TOKEN_SALT_LEN],
                             struct invitee_answer *a)
{
    struct sq_conn *c = NULL;
    memset(&a->invite, 0, sizeof a->invite);
    memset(&a->contributor, 0, sizeof a->contributor);
    a->account_created = false;
    enum si_err rc = sq_borrow_writer(be, &c);
    if (rc)
        return rc;
    rc = sq_begin(c);
    if (rc)
        goto out;
    rc = load_by_salt(c, salt, &a->invite);
    /* Decided on the row read inside the write transaction: a second accept waiting for the
     * lock reads Used here and gets SI_ESTATE. */
    if (!rc && invite_status_at(&a->invite, a->now) != INVITE_PENDING)
        rc = SI_ESTATE;
    if (!rc && a->choice == INVITEE_ACCEPT)
        rc = add_contributor(c, a);
    if (!rc)
        rc = compare_and_set(c, a);
    if (!rc) {
        /* Read back, so the caller sees exactly what was committed. */
        struct invite after = {.purpose = NULL};
        rc = load_by_salt(c, salt, &after);
        if (!rc) {
            invite_cleanup(&a->invite);
            a->invite = after;
        }
    }
    if (!rc)
        rc = sq_commit(c);
    else
        sq_rollback(c);
    if (rc && rc != SI_ESTATE) {
        invite_cleanup(&a->invite); /* nothing was written: describe nothing */
        memset(&a->invite, 0, sizeof a->invite);
    }
    if (rc)
        a->account_created = false;
out:
    sq_return(be, c);
    return rc;
}

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
}

enum si_err sq_contributors_list(void *be, const char *site_id, size_t max,
                                 struct contributor_row **out, size_t *n)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    enum si_err rc = sq_borrow(be, &c);
    if (rc)
        return rc;
    rc = sq_prep(c, &SQL_LIST, &s);
    if (!rc && (TEXT(s, 1, site_id) | sqlite3_bind_int64(s, 2, (sqlite3_int64)max)))
        rc = sq_fail(c, "bind");
    int step;
    while (!rc && (step = sqlite3_step(s)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : LIST_INITIAL;
            *out = xrealloc(*out, cap * sizeof **out);
        }
        read_contributor(s, &(*out)[(*n)++]);
    }
    if (!rc && step != SQLITE_DONE)
        rc = sq_fail(c, "list contributors");
    if (rc) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    sq_done(s);
    sq_return(be, c);
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

/* Runs one (site, account) keyed write in its own transaction; SI_ENOTFOUND when it touched no
 * row. policies is bound as ?3 when given. out (may be NULL) gets the row after the write. */
static enum si_err keyed_write(struct sq_store *st, const struct sq_sql *q, const char *site_id,
                               const char *account_id, const char *policies,
                               struct contributor_row *out)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s;
    enum si_err rc = sq_borrow_writer(st, &c);
    if (rc)
        return rc;
    rc = sq_begin(c);
    if (rc)
        goto out;
    rc = sq_prep(c, q, &s);
    if (!rc) {
        int b = TEXT(s, 1, site_id) | TEXT(s, 2, account_id);
        if (policies)
            b |= TEXT(s, 3, policies);
        rc = b ? sq_fail(c, "bind") : sq_exec_stmt(c, s, "change contributor");
        if (b)
            sq_done(s);
    }
    if (!rc && sqlite3_changes(c->db) == 0)
        rc = SI_ENOTFOUND;
    if (!rc && out)
        rc = get_contributor(c, site_id, account_id, out);
    if (!rc)
        rc = sq_commit(c);
    else
        sq_rollback(c);
out:
    sq_return(st, c);
    return rc;
}

enum si_err sq_contributor_set_roles(void *be, const char *site_id, const char *account_id,
                                     const struct policy_list *p, struct contributor_row *out)
{
    char policies[POLICY_TEXT_MAX];
    enum si_err rc = policy_text_encode(p, policies);
    if (rc)
        return rc;
    return keyed_write(be, &SQL_SET_ROLES, site_id, account_id, policies, out);
}

enum si_err sq_contributor_remove(void *be, const char *site_id, const char *account_id)
{
    return keyed_write(be, &SQL_REMOVE, site_id, account_id, NULL, NULL);
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
    rc = sq_prep(c, &SQL_EXPIRE, &s);
    if (!rc) {
        if (sqlite3_bind_int64(s, 1, now) | sqlite3_bind_int(s, 2, max)) {
            sq_done(s);
            rc = sq_fail(c, "bind");
        } else
            rc = sq_exec_stmt(c, s, "expire invites");
    }
    if (!rc)
        *n = sqlite3_changes(c->db);
    if (!rc)
        rc = sq_commit(c);
    else
        sq_rollback(c);
out:
    sq_return(be, c);
    return rc;
}
