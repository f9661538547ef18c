/* SQLite side of Idempotency-Key records: claim (load, ask core, write), record, release and
 * sweep. The rule is core's (core/idempotency.h); this file only runs SQL. */
#include "sqlite_int.h"

#include "common/xalloc.h"

#include <stdlib.h>
#include <string.h>

#define TEXT(s, i, v) sqlite3_bind_text((s), (i), (v), -1, SQLITE_STATIC)

static const struct sq_sql SQL_IDEM_GET = {
    SQ_IDEM_GET, "SELECT state, fingerprint, lease_until_ms, expires_ms, status, body"
                 " FROM idempotency_keys WHERE account_id = ?1 AND key = ?2"};
/* A new claim replaces an expired or abandoned record (core decided it may). */
static const struct sq_sql SQL_IDEM_PUT = {
    SQ_IDEM_PUT, "INSERT OR REPLACE INTO idempotency_keys (account_id, key, fingerprint, owner,"
                 " state, lease_until_ms, expires_ms, status, body)"
                 " VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, 0, NULL)"};
static const struct sq_sql SQL_IDEM_DONE = {
    SQ_IDEM_DONE, "UPDATE idempotency_keys SET state = 1, status = ?4, body = ?5"
                  " WHERE account_id = ?1 AND key = ?2 AND owner = ?3 AND state = 0"};
static const struct sq_sql SQL_IDEM_RELEASE = {
    SQ_IDEM_RELEASE, "DELETE FROM idempotency_keys"
                     " WHERE account_id = ?1 AND key = ?2 AND owner = ?3 AND state = 0"};
static const struct sq_sql SQL_IDEM_SWEEP = {
    SQ_IDEM_SWEEP, "DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM"
                   " idempotency_keys WHERE expires_ms <= ?1 LIMIT ?2)"};

/* Reads the key's record on c and decides; a replay copies the recorded answer. */
static enum si_err load_and_decide(struct sq_conn *c, const struct idem_claim *cl,
                                   struct idem_outcome *out)
{
    sqlite3_stmt *s = NULL;
    enum si_err rc =
        sq_step_row(c, &SQL_IDEM_GET, cl->account_id, cl->key, "read idempotency key", &s);
    if (rc == SI_ENOTFOUND) {
        sq_done(s);
        out->verdict = idem_decide(NULL, cl->fingerprint, cl->now);
        return SI_OK;
    }
    if (rc) {
        sq_done(s);
        return rc;
    }
    struct idem_row row = {.state = sqlite3_column_int(s, 0),
                           .lease_until = sqlite3_column_int64(s, 2),
                           .expires = sqlite3_column_int64(s, 3)};
    const void *fp = sqlite3_column_blob(s, 1);
    if (fp && sqlite3_column_bytes(s, 1) == IDEM_FP_LEN)
        memcpy(row.fingerprint, fp, IDEM_FP_LEN);
    out->verdict = idem_decide(&row, cl->fingerprint, cl->now);
    if (out->verdict == IDEM_REPLAY) {
        const void *body = sqlite3_column_blob(s, 5);
        out->len = (size_t)sqlite3_column_bytes(s, 5);
        out->status = (unsigned)sqlite3_column_int(s, 4);
        out->body = xmalloc(out->len + 1);
        if (out->len)
            memcpy(out->body, body, out->len);
        out->body[out->len] = '\0';
    }
    sq_done(s);
    return SI_OK;
}

static enum si_err write_claim(struct sq_conn *c, const struct idem_claim *cl)
{
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, &SQL_IDEM_PUT, &s);
    if (rc)
        return rc;
    int b = TEXT(s, 1, cl->account_id) | TEXT(s, 2, cl->key) | TEXT(s, 4, cl->owner);
    b |= sqlite3_bind_blob(s, 3, cl->fingerprint, IDEM_FP_LEN, SQLITE_STATIC);
    b |= sqlite3_bind_int64(s, 5, cl->lease_until) | sqlite3_bind_int64(s, 6, cl->expires);
    if (b) {
        sq_done(s);
        return sq_fail(c, "bind");
    }
    return sq_write_in_txn(c, s, "claim idempotency key");
}

enum si_err sq_idem_claim(void *be, const struct idem_claim *cl, bool write,
                          struct idem_outcome *out)
{
    struct sq_conn *c = NULL;
    memset(out, 0, sizeof *out);
    if (!write) { /* a look: one read on a reader, no lock */
        enum si_err rc = sq_borrow(be, &c);
        if (!rc)
            rc = load_and_decide(c, cl, out);
        sq_return(be, c);
        return rc;
    }
    enum si_err rc = sq_borrow_writer(be, &c);
    if (rc)
        return rc;
    /* BEGIN IMMEDIATE holds the write lock from the read on: two claims cannot both see none. */
    rc = sq_begin(c);
    if (!rc)
        rc = load_and_decide(c, cl, out);
    if (!rc && out->verdict == IDEM_RUN)
        rc = write_claim(c, cl);
    if (!rc)
        rc = sq_commit(c);
    else
        sq_rollback(c);
    sq_return(be, c);
    if (rc) {
        free(out->body);
        memset(out, 0, sizeof *out);
    }
    return rc;
}

/* Runs q (?1 account, ?2 key, ?3 owner, then ?4 status and ?5 body when body is not NULL) in
 * its own write transaction; *changed gets the rows it touched. */
static enum si_err owner_write(struct sq_store *st, const struct sq_sql *q,
                               const struct idem_claim *cl, unsigned status, const char *body,
                               size_t len, int *changed)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s;
    enum si_err rc = sq_borrow_writer(st, &c);
    if (rc)
        return rc;
    rc = sq_prep(c, q, &s);
    if (!rc) {
        int b = TEXT(s, 1, cl->account_id) | TEXT(s, 2, cl->key) | TEXT(s, 3, cl->owner);
        if (body)
            b |= sqlite3_bind_int(s, 4, (int)status) |
                 sqlite3_bind_blob64(s, 5, len ? body : "", len, SQLITE_STATIC);
        if (b) {
            sq_done(s);
            rc = sq_fail(c, "bind");
        } else {
            rc = sq_write_stmt(c, s, "record idempotency key");
        }
    }
    *changed = rc ? 0 : sqlite3_changes(c->db);
    sq_return(st, c);
    return rc;
}

enum si_err sq_idem_done(void *be, const struct idem_claim *cl, unsigned status, const char *body,
                         size_t len)
{
    int changed = 0;
    enum si_err rc = owner_write(be, &SQL_IDEM_DONE, cl, status, body ? body : "", len, &changed);
    return !rc && changed == 0 ? SI_ENOTFOUND : rc;
}

enum si_err sq_idem_release(void *be, const struct idem_claim *cl)
{
    int changed = 0;
    return owner_write(be, &SQL_IDEM_RELEASE, cl, 0, NULL, 0, &changed);
}

enum si_err sq_idem_sweep(void *be, si_ms now, int max, int64_t *n)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s;
    *n = 0;
    enum si_err rc = sq_borrow_writer(be, &c);
    if (rc)
        return rc;
    rc = sq_prep(c, &SQL_IDEM_SWEEP, &s);
    if (!rc) {
        if (sqlite3_bind_int64(s, 1, now) | sqlite3_bind_int(s, 2, max)) {
            sq_done(s);
            rc = sq_fail(c, "bind");
        } else {
            rc = sq_write_stmt(c, s, "sweep idempotency keys");
        }
    }
    if (!rc)
        *n = sqlite3_changes(c->db);
    sq_return(be, c);
    return rc;
}
