/* PostgreSQL side of Idempotency-Key records: claim (lock or create the row, ask core, write),
 * record, release and sweep. Several servers on one database meet at the row: the unique
 * (account_id, key) and its row lock make exactly one claim win. The rule is core's. */
#include "pg_int.h"

#include "common/xalloc.h"

#include <stdlib.h>
#include <string.h>

#define IDEM_COLS "state, fingerprint, lease_until_ms, expires_ms, status, body"

/* Creates the claim, or locks the existing row until the transaction ends (the do-nothing
 * update takes the lock an ON CONFLICT DO NOTHING would not): a concurrent claim of the same
 * key waits here and then sees this one's outcome. xmax = 0 only on a row this statement
 * inserted. */
static const struct pg_sql SQL_IDEM_CLAIM = {
    PG_IDEM_CLAIM,
    "INSERT INTO idempotency_keys (account_id, key, fingerprint, owner, state, lease_until_ms,"
    " expires_ms, status) VALUES ($1, $2, $3, $4, 0, $5::bigint, $6::bigint, 0)"
    " ON CONFLICT (account_id, key) DO UPDATE SET account_id = excluded.account_id"
    " RETURNING (xmax = 0), " IDEM_COLS};
/* Takes over an expired or abandoned record (core decided it may), inside the claim's lock. */
static const struct pg_sql SQL_IDEM_TAKE = {
    PG_IDEM_TAKE, "UPDATE idempotency_keys SET fingerprint = $3, owner = $4, state = 0,"
                  " lease_until_ms = $5::bigint, expires_ms = $6::bigint, status = 0, body = NULL"
                  " WHERE account_id = $1 AND key = $2"};
static const struct pg_sql SQL_IDEM_GET = {PG_IDEM_GET,
                                           "SELECT false, " IDEM_COLS " FROM idempotency_keys"
                                           " WHERE account_id = $1 AND key = $2"};
static const struct pg_sql SQL_IDEM_DONE = {
    PG_IDEM_DONE, "UPDATE idempotency_keys SET state = 1, status = $4::integer, body = $5"
                  " WHERE account_id = $1 AND key = $2 AND owner = $3 AND state = 0"};
static const struct pg_sql SQL_IDEM_RELEASE = {
    PG_IDEM_RELEASE, "DELETE FROM idempotency_keys"
                     " WHERE account_id = $1 AND key = $2 AND owner = $3 AND state = 0"};
static const struct pg_sql SQL_IDEM_SWEEP = {
    PG_IDEM_SWEEP, "DELETE FROM idempotency_keys WHERE ctid IN (SELECT ctid FROM"
                   " idempotency_keys WHERE expires_ms <= $1::bigint LIMIT $2::integer"
                   " FOR UPDATE SKIP LOCKED)"};

/* The claim's parameters, in the statements' order ($1..$6). */
static void claim_args(struct pg_args *a, const struct idem_claim *cl)
{
    pg_arg(a, cl->account_id);
    pg_arg(a, cl->key);
    pg_arg_bytes(a, cl->fingerprint, IDEM_FP_LEN);
    pg_arg(a, cl->owner);
    pg_arg_i64(a, cl->lease_until);
    pg_arg_i64(a, cl->expires);
}

/* Decides from row 0 of r (columns: inserted, IDEM_COLS), or from no record when r is empty or
 * the row was just inserted; a replay copies the recorded answer. */
static void decide(const PGresult *r, const struct idem_claim *cl, struct idem_outcome *out)
{
    if (PQntuples(r) == 0 || PQgetvalue(r, 0, 0)[0] == 't') {
        out->verdict = idem_decide(NULL, cl->fingerprint, cl->now);
        return;
    }
    struct idem_row row = {.state = (int)pg_col_i64(r, 0, 1),
                           .lease_until = pg_col_i64(r, 0, 3),
                           .expires = pg_col_i64(r, 0, 4)};
    pg_col_bytes(r, 0, 2, row.fingerprint, IDEM_FP_LEN);
    out->verdict = idem_decide(&row, cl->fingerprint, cl->now);
    if (out->verdict != IDEM_REPLAY)
        return;
    out->status = (unsigned)pg_col_i64(r, 0, 5);
    out->len = (size_t)PQgetlength(r, 0, 6);
    out->body = xmalloc(out->len + 1);
    memcpy(out->body, PQgetvalue(r, 0, 6), out->len);
    out->body[out->len] = '\0';
}

enum si_err pg_idem_claim(void *be, const struct idem_claim *cl, bool write,
                          struct idem_outcome *out)
{
    struct pg_conn *c = NULL;
    PGresult *r = NULL;
    struct pg_args a = {0};
    memset(out, 0, sizeof *out);
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    if (!write) { /* a look: one statement, no lock */
        pg_arg(&a, cl->account_id);
        pg_arg(&a, cl->key);
        rc = pg_exec(c, &SQL_IDEM_GET, &a, "read idempotency key", &r);
        if (!rc)
            decide(r, cl, out);
        goto out;
    }
    rc = pg_begin(c);
    if (rc)
        goto out;
    claim_args(&a, cl);
    rc = pg_exec(c, &SQL_IDEM_CLAIM, &a, "claim idempotency key", &r);
    if (!rc) {
        decide(r, cl, out);
        /* Not inserted but free to run: the expired or abandoned record becomes this claim. */
        if (out->verdict == IDEM_RUN && PQgetvalue(r, 0, 0)[0] != 't')
            rc = pg_exec(c, &SQL_IDEM_TAKE, &a, "take over idempotency key", NULL);
    }
    if (!rc)
        rc = pg_commit(c);
    else
        pg_rollback(c);
out:
    PQclear(r);
    pg_return(be, c);
    if (rc) {
        free(out->body);
        memset(out, 0, sizeof *out);
    }
    return rc;
}

/* Runs q on the claim c->owner holds ($1 account, $2 key, $3 owner, then $4 status and $5 body
 * when body is not NULL); *changed gets the rows it touched. */
static enum si_err owner_exec(struct pg_store *st, const struct pg_sql *q,
                              const struct idem_claim *cl, unsigned status, const char *body,
                              const char *what, int64_t *changed)
{
    struct pg_conn *c = NULL;
    struct pg_args a = {0};
    pg_arg(&a, cl->account_id);
    pg_arg(&a, cl->key);
    pg_arg(&a, cl->owner);
    if (body) {
        pg_arg_i64(&a, status);
        pg_arg(&a, body);
    }
    enum si_err rc = pg_borrow(st, &c);
    if (rc)
        return rc;
    rc = pg_exec_count(c, q, &a, what, changed);
    pg_return(st, c);
    return rc;
}

enum si_err pg_idem_done(void *be, const struct idem_claim *cl, unsigned status, const char *body,
                         size_t len)
{
    (void)len; /* body is NUL-terminated JSON text: sent as a text parameter */
    int64_t changed = 0;
    enum si_err rc = owner_exec(be, &SQL_IDEM_DONE, cl, status, body ? body : "",
                                "record idempotency key", &changed);
    return !rc && changed == 0 ? SI_ENOTFOUND : rc;
}

enum si_err pg_idem_release(void *be, const struct idem_claim *cl)
{
    int64_t changed = 0;
    return owner_exec(be, &SQL_IDEM_RELEASE, cl, 0, NULL, "release idempotency key", &changed);
}

enum si_err pg_idem_sweep(void *be, si_ms now, int max, int64_t *n)
{
    struct pg_conn *c = NULL;
    struct pg_args a = {0};
    *n = 0;
    pg_arg_i64(&a, now);
    pg_arg_i64(&a, max);
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    rc = pg_exec_count(c, &SQL_IDEM_SWEEP, &a, "sweep idempotency keys", n);
    pg_return(be, c);
    return rc;
}
