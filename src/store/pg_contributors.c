/* PostgreSQL operations of the invitee's side: accepting or declining an invite by its link salt
 * (one transaction: the row locked, then a compare-and-set on its status), the contributors of a
 * site, and the periodic sweep that stores Expired. */
#include "pg_int.h"

#include "common/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Locked: a second answer of the same invite, in any process, waits here for the first to
 * commit and then reads its outcome (Used or Declined), so it fails with SI_ESTATE instead of
 * racing to add a contributor. */
static const struct pg_sql SQL_LOAD = {PG_ANSWER_LOAD, "SELECT " PG_INVITE_COLS PG_INVITE_FROM
                                                       " WHERE i.token_salt = $1 FOR UPDATE OF i"};
/* The compare-and-set: only a Pending, unexpired row changes. The lock above already orders
 * answers; the WHERE clause keeps the rule true for any writer that does not take it. */
static const struct pg_sql SQL_CAS = {
    PG_ANSWER_CAS,
    "UPDATE invites SET status = $2, accepted_by = $3, updated_ms = $4::bigint"
    " WHERE id = $1 AND status = 'Pending' AND expires_ms > $4::bigint RETURNING id"};
/* ASCII folding like core's email key; the expression index accounts_email backs it. The
 * oldest account wins if an address was registered twice. */
static const struct pg_sql SQL_ACCOUNT_BY_EMAIL = {
    PG_ACCOUNT_BY_EMAIL,
    "SELECT id FROM accounts WHERE " PG_ASCII_LOWER("email") " = $1"
                                                             " ORDER BY created_ms, id LIMIT 1"};
#define CONTRIBUTOR_COLS                                                                           \
    "id, site_id, account_id, email, email_key, policy_ids, joined_ms, invite_id"
static const struct pg_sql SQL_LIST = {PG_CONTRIBUTORS_LIST,
                                       "SELECT " CONTRIBUTOR_COLS " FROM contributors"
                                       " WHERE site_id = $1 ORDER BY joined_ms, id LIMIT $2"};
static const struct pg_sql SQL_SET_ROLES = {
    PG_CONTRIBUTOR_SET_ROLES,
    "UPDATE contributors SET policy_ids = $3"
    " WHERE site_id = $1 AND account_id = $2 RETURNING " CONTRIBUTOR_COLS};
static const struct pg_sql SQL_REMOVE = {
    PG_CONTRIBUTOR_REMOVE, "DELETE FROM contributors WHERE site_id = $1 AND account_id = $2"};
/* Walks the partial index of Pending rows by expiry. */
static const struct pg_sql SQL_EXPIRE = {
    PG_INVITES_EXPIRE,
    "UPDATE invites SET status = 'Expired', updated_ms = $1::bigint WHERE id IN (SELECT id FROM"
    " invites WHERE status = 'Pending' AND expires_ms <= $1::bigint LIMIT $2::integer"
    " FOR UPDATE SKIP LOCKED) AND status = 'Pending'"};

/* Reads the invite of a salt on c, locking it; SI_ENOTFOUND when none. */
static enum si_err load_by_salt(struct pg_conn *c, const uint8_t *salt, struct invite *out)
{
    struct pg_args a = {0};
    PGresult *r;
    pg_arg_bytes(&a, salt, SI_TOKEN_SALT_LEN);
    enum si_err rc = pg_exec(c, &SQL_LOAD, &a, "read invite by salt", &r);
    if (rc)
        return rc;
    if (PQntuples(r) == 0)
        rc = SI_ENOTFOUND;
    else
        pg_read_invite(r, 0, out);
    PQclear(r);
    return rc;
}

/* The account that joins: the oldest with the address, else a new one made now. */
static enum si_err joining_account(struct pg_conn *c, struct invitee_answer *a, char id[SI_ID_LEN])
{
    struct pg_args args = {0};
    PGresult *r;
    pg_arg(&args, a->email_key);
    enum si_err rc = pg_exec(c, &SQL_ACCOUNT_BY_EMAIL, &args, "find account by email", &r);
    if (rc)
        return rc;
    bool found = PQntuples(r) > 0;
    if (found)
        pg_col_text(r, 0, 0, id, SI_ID_LEN);
    PQclear(r);
    if (found)
        return SI_OK;
    const struct account *n = &a->new_account;
    args = (struct pg_args){0};
    pg_arg(&args, n->id);
    pg_arg(&args, n->name);
    pg_arg(&args, n->email);
    pg_arg_i64(&args, n->created);
    rc = pg_exec(c, &pg_sql_account_insert, &args, "create account", NULL);
    if (!rc) {
        memcpy(id, n->id, SI_ID_LEN);
        a->account_created = true;
    }
    return rc;
}

/* Inserts the contributor row of an accepted invite (a->contributor is filled first). */
static enum si_err add_contributor(struct pg_conn *c, struct invitee_answer *a)
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
    /* The contributor's address is the joining account's: the invite's unless the platform
     * passed another verified one. */
    snprintf(r->email, sizeof r->email, "%s", a->email);
    snprintf(r->email_key, sizeof r->email_key, "%s", a->email_key);
    r->policies = v->policies;
    r->joined = a->now;
    snprintf(r->invite_id, sizeof r->invite_id, "%s", v->id);
    char policies[POLICY_TEXT_MAX];
    rc = policy_text_encode(&r->policies, policies);
    if (rc)
        return rc;
    struct pg_args args = {0};
    pg_arg(&args, r->id);
    pg_arg(&args, r->site_id);
    pg_arg(&args, r->account_id);
    pg_arg(&args, r->email);
    pg_arg(&args, r->email_key);
    pg_arg(&args, policies);
    pg_arg_i64(&args, r->joined);
    pg_arg(&args, r->invite_id);
    return pg_exec(c, &pg_sql_contributor_insert, &args, "add contributor", NULL);
}

/* The status change itself: SI_ESTATE when the compare-and-set matched no row. */
static enum si_err compare_and_set(struct pg_conn *c, struct invitee_answer *a)
{
    struct pg_args args = {0};
    int64_t changed = 0;
    pg_arg(&args, a->invite.id);
    pg_arg(&args, a->choice == INVITEE_ACCEPT ? "Used" : "Declined");
    pg_arg(&args, a->choice == INVITEE_ACCEPT ? a->contributor.account_id : "");
    pg_arg_i64(&args, a->now);
    enum si_err rc = pg_exec_count(c, &SQL_CAS, &args, "answer invite", &changed);
    if (!rc && changed != 1)
        rc = SI_ESTATE;
    if (rc)
        return rc;
    args.n = 1; /* the invite ID */
    return pg_exec(c, &pg_sql_outbox_cancel, &args, "cancel emails", NULL);
}

enum si_err pg_invite_answer(void *be, const uint8_t salt[SI_TOKEN_SALT_LEN],
                             struct invitee_answer *a)
{
    struct pg_conn *c = NULL;
    memset(&a->invite, 0, sizeof a->invite);
    memset(&a->contributor, 0, sizeof a->contributor);
    a->account_created = false;
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    rc = pg_begin(c);
    if (rc)
        goto out;
    rc = load_by_salt(c, salt, &a->invite);
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
        rc = pg_commit(c);
    else
        pg_rollback(c);
    if (rc && rc != SI_ESTATE) {
        invite_cleanup(&a->invite); /* nothing was written: describe nothing */
        memset(&a->invite, 0, sizeof a->invite);
    }
    if (rc)
        a->account_created = false;
out:
    pg_return(be, c);
    return rc;
}

/* ---- contributors ------------------------------------------------------------------------ */

static void read_contributor(const PGresult *r, int row, struct contributor_row *out)
{
    memset(out, 0, sizeof *out);
    pg_col_text(r, row, 0, out->id, sizeof out->id);
    pg_col_text(r, row, 1, out->site_id, sizeof out->site_id);
    pg_col_text(r, row, 2, out->account_id, sizeof out->account_id);
    pg_col_text(r, row, 3, out->email, sizeof out->email);
    pg_col_text(r, row, 4, out->email_key, sizeof out->email_key);
    policy_text_decode(PQgetvalue(r, row, 5), &out->policies);
    out->joined = pg_col_i64(r, row, 6);
    pg_col_text(r, row, 7, out->invite_id, sizeof out->invite_id);
}

/* Runs q on a borrowed connection; *r holds the result on SI_OK. */
static enum si_err run(struct pg_store *st, const struct pg_sql *q, const struct pg_args *a,
                       const char *what, PGresult **r)
{
    struct pg_conn *c = NULL;
    *r = NULL;
    enum si_err rc = pg_borrow(st, &c);
    if (rc)
        return rc;
    rc = pg_exec(c, q, a, what, r);
    pg_return(st, c);
    return rc;
}

enum si_err pg_contributors_list(void *be, const char *site_id, size_t max,
                                 struct contributor_row **out, size_t *n)
{
    struct pg_args a = {0};
    PGresult *r;
    *out = NULL;
    *n = 0;
    pg_arg(&a, site_id);
    pg_arg_i64(&a, (int64_t)max);
    enum si_err rc = run(be, &SQL_LIST, &a, "list contributors", &r);
    if (rc)
        return rc;
    int rows = PQntuples(r);
    *out = xcalloc(rows ? (size_t)rows : 1, sizeof **out);
    for (int i = 0; i < rows; i++)
        read_contributor(r, i, &(*out)[i]);
    *n = (size_t)rows;
    PQclear(r);
    return SI_OK;
}

enum si_err pg_contributor_set_roles(void *be, const char *site_id, const char *account_id,
                                     const struct policy_list *p, struct contributor_row *out)
{
    char policies[POLICY_TEXT_MAX];
    enum si_err rc = policy_text_encode(p, policies);
    if (rc)
        return rc;
    struct pg_args a = {0};
    PGresult *r;
    pg_arg(&a, site_id);
    pg_arg(&a, account_id);
    pg_arg(&a, policies);
    /* RETURNING gives the row as written by this very statement (one implicit transaction). */
    rc = run(be, &SQL_SET_ROLES, &a, "change contributor", &r);
    if (rc)
        return rc;
    if (PQntuples(r) == 0)
        rc = SI_ENOTFOUND;
    else if (out)
        read_contributor(r, 0, out);
    PQclear(r);
    return rc;
}

enum si_err pg_contributor_remove(void *be, const char *site_id, const char *account_id)
{
    struct pg_args a = {0};
    struct pg_conn *c = NULL;
    int64_t changed = 0;
    pg_arg(&a, site_id);
    pg_arg(&a, account_id);
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    rc = pg_exec_count(c, &SQL_REMOVE, &a, "remove contributor", &changed);
    pg_return(be, c);
    return !rc && changed == 0 ? SI_ENOTFOUND : rc;
}

/* ---- expiry --------------------------------------------------------------------------------- */

enum si_err pg_invites_expire(void *be, si_ms now, int max, int64_t *n)
{
    struct pg_args a = {0};
    struct pg_conn *c = NULL;
    *n = 0;
    pg_arg_i64(&a, now);
    pg_arg_i64(&a, max);
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    /* SKIP LOCKED: a row being answered or changed right now is left for the next sweep (its
     * reader already sees it as Expired, or the other transaction settles it). */
    rc = pg_exec_count(c, &SQL_EXPIRE, &a, "expire invites", n);
    pg_return(be, c);
    return rc;
}
