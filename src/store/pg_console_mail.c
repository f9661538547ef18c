/* PostgreSQL operations of the console's "Email me a link": the link and its mail queued in one
 * transaction, claimed one at a time under a lease (SKIP LOCKED: servers on one database never
 * take the same mail), and each try's outcome. */
#include "pg_int.h"

#include <string.h>

#define SEALED_HEX (2 * CONSOLE_MAIL_SEALED_LEN + 1)

/* ASCII folding like core's email key; the expression index accounts_email backs it. The oldest
 * account wins, as at accept (pg_changes.c). */
static const struct pg_sql SQL_ACCOUNT = {
    PG_CONSOLE_MAIL_ACCOUNT, "SELECT id, name, email FROM accounts WHERE " PG_ASCII_LOWER(
                                 "email") " = $1 ORDER BY created_ms, id LIMIT 1"};
/* The sealed token travels as hex text: longer than a fixed argument buffer. */
static const struct pg_sql SQL_INSERT = {
    PG_CONSOLE_MAIL_INSERT,
    "INSERT INTO console_mail (account_id, account_name, email, lang, sealed, status, due_ms,"
    " created_ms, expires_ms) VALUES ($1, $2, $3, $4, decode($5, 'hex'), 'Queued', $6, $6, $7)"};
static const struct pg_sql SQL_CLAIM = {
    PG_CONSOLE_MAIL_CLAIM,
    "UPDATE console_mail SET lease_until_ms = $2 WHERE id = (SELECT id FROM console_mail"
    " WHERE status = 'Queued' AND due_ms <= $1 AND lease_until_ms <= $1 ORDER BY due_ms, id"
    " LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id, attempts, created_ms, expires_ms,"
    " account_id, account_name, email, lang, sealed"};
/* $3 < 0 sent, 0 failed, else queued again; only a Queued row keeps its token. */
static const struct pg_sql SQL_DONE = {
    PG_CONSOLE_MAIL_DONE,
    "UPDATE console_mail SET attempts = attempts + 1, lease_until_ms = 0, last_error = $4,"
    " status = CASE WHEN $3::bigint < 0 THEN 'Sent' WHEN $3::bigint = 0 THEN 'Failed'"
    " ELSE 'Queued' END, sent_ms = CASE WHEN $3::bigint < 0 THEN $2::bigint ELSE sent_ms END,"
    " due_ms = CASE WHEN $3::bigint > 0 THEN $3::bigint ELSE due_ms END,"
    " sealed = CASE WHEN $3::bigint > 0 THEN sealed ELSE NULL END WHERE id = $1"};

/* Inside the queue transaction: the link's hash, then its mail. */
static enum si_err queue_write(struct pg_conn *c, const uint8_t hash[32],
                               const struct console_mail *m, si_ms now)
{
    static const char hex[] = "0123456789abcdef";
    char sealed[SEALED_HEX];
    struct pg_args b = {0};
    enum si_err rc = pg_console_link_insert(c, hash, m->account_id, now, m->expires);
    if (rc)
        return rc;
    for (size_t i = 0; i < CONSOLE_MAIL_SEALED_LEN; i++) {
        sealed[2 * i] = hex[m->sealed[i] >> 4];
        sealed[2 * i + 1] = hex[m->sealed[i] & 15];
    }
    sealed[SEALED_HEX - 1] = '\0';
    pg_arg(&b, m->account_id);
    pg_arg(&b, m->account_name);
    pg_arg(&b, m->email);
    pg_arg(&b, m->lang);
    pg_arg(&b, sealed);
    pg_arg_i64(&b, now);
    pg_arg_i64(&b, m->expires);
    return pg_exec(c, &SQL_INSERT, &b, "queue console mail", NULL);
}

enum si_err pg_console_mail_queue(void *be, const char *email_key, const uint8_t hash[32],
                                  struct console_mail *m, si_ms now, bool *queued)
{
    struct pg_conn *c = NULL;
    struct pg_args a = {0};
    PGresult *r = NULL;
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    rc = pg_begin(c);
    pg_arg(&a, email_key);
    if (!rc)
        rc = pg_exec(c, &SQL_ACCOUNT, &a, "find account by email", &r);
    if (!rc && PQntuples(r) == 0) {
        rc = pg_commit(c); /* an unknown address: the same round trips, nothing written */
        goto out;
    }
    if (!rc) {
        pg_col_text(r, 0, 0, m->account_id, sizeof m->account_id);
        pg_col_text(r, 0, 1, m->account_name, sizeof m->account_name);
        pg_col_text(r, 0, 2, m->email, sizeof m->email);
        rc = queue_write(c, hash, m, now);
    }
    if (!rc)
        rc = pg_commit(c);
    if (!rc)
        *queued = true;
out:
    PQclear(r);
    pg_return(be, c); /* rolls back what a failed path left open */
    return rc;
}

enum si_err pg_console_mail_claim(void *be, si_ms now, si_ms lease_ms, struct console_mail *out,
                                  bool *found)
{
    struct pg_args a = {0};
    PGresult *r = NULL;
    pg_arg_i64(&a, now);
    pg_arg_i64(&a, now + lease_ms);
    enum si_err rc = pg_run(be, &SQL_CLAIM, &a, "claim console mail", &r);
    if (!rc && PQntuples(r) == 1) {
        memset(out, 0, sizeof *out);
        out->id = pg_col_i64(r, 0, 0);
        out->attempts = (int)pg_col_i64(r, 0, 1);
        out->created = pg_col_i64(r, 0, 2);
        out->expires = pg_col_i64(r, 0, 3);
        pg_col_text(r, 0, 4, out->account_id, sizeof out->account_id);
        pg_col_text(r, 0, 5, out->account_name, sizeof out->account_name);
        pg_col_text(r, 0, 6, out->email, sizeof out->email);
        pg_col_text(r, 0, 7, out->lang, sizeof out->lang);
        (void)pg_col_bytes(r, 0, 8, out->sealed, CONSOLE_MAIL_SEALED_LEN);
        *found = true;
    }
    PQclear(r);
    return rc;
}

enum si_err pg_console_mail_done(void *be, int64_t id, si_ms now, si_ms due, const char *error)
{
    struct pg_args a = {0};
    pg_arg_i64(&a, id);
    pg_arg_i64(&a, now);
    pg_arg_i64(&a, due);
    pg_arg(&a, error);
    return pg_run(be, &SQL_DONE, &a, "record console mail", NULL);
}
