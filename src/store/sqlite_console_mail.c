/* SQLite operations of the console's "Email me a link": the link and its mail queued in one
 * write, claimed one at a time under a lease, and each try's outcome. */
#include "sqlite_int.h"

#include <string.h>

#define HASH_LEN 32

/* lower() folds ASCII only, like core's email key (sqlite_changes.c's accept does the same);
 * the expression index accounts_email backs it. The oldest account wins. */
static const struct sq_sql SQL_ACCOUNT = {
    SQ_CONSOLE_MAIL_ACCOUNT, "SELECT id, name, email FROM accounts WHERE lower(email) = ?1"
                             " ORDER BY created_ms, id LIMIT 1"};
static const struct sq_sql SQL_INSERT = {
    SQ_CONSOLE_MAIL_INSERT,
    "INSERT INTO console_mail (account_id, account_name, email, lang, sealed, status, due_ms,"
    " created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5, 'Queued', ?6, ?6, ?7)"};
/* One row per claim: a sign-in mail is rare, and one statement both picks and leases it. */
static const struct sq_sql SQL_CLAIM = {
    SQ_CONSOLE_MAIL_CLAIM,
    "UPDATE console_mail SET lease_until_ms = ?2 WHERE id = (SELECT id FROM console_mail"
    " WHERE status = 'Queued' AND due_ms <= ?1 AND lease_until_ms <= ?1 ORDER BY due_ms, id"
    " LIMIT 1) RETURNING id, attempts, created_ms, expires_ms, account_id, account_name, email,"
    " lang, sealed"};
/* ?3 < 0 sent, 0 failed, else queued again; only a Queued row has a token to forget. */
static const struct sq_sql SQL_DONE = {
    SQ_CONSOLE_MAIL_DONE,
    "UPDATE console_mail SET attempts = attempts + 1, lease_until_ms = 0, last_error = ?4,"
    " status = CASE WHEN ?3 < 0 THEN 'Sent' WHEN ?3 = 0 THEN 'Failed' ELSE 'Queued' END,"
    " sent_ms = CASE WHEN ?3 < 0 THEN ?2 ELSE sent_ms END,"
    " due_ms = CASE WHEN ?3 > 0 THEN ?3 ELSE due_ms END,"
    " sealed = CASE WHEN ?3 > 0 THEN sealed ELSE NULL END WHERE id = ?1"};

#define TEXT(s, i, v) sqlite3_bind_text((s), (i), (v), -1, SQLITE_STATIC)

/* Reads the account of email_key into m: SI_ENOTFOUND when there is none. */
static enum si_err account_read(struct sq_conn *c, const char *email_key, struct console_mail *m)
{
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, &SQL_ACCOUNT, &s);
    if (rc)
        return rc;
    if (TEXT(s, 1, email_key) != SQLITE_OK) {
        rc = sq_fail(c, "bind console mail");
    } else {
        int step = sqlite3_step(s);
        if (step == SQLITE_ROW) {
            sq_col_text(s, 0, m->account_id, sizeof m->account_id);
            sq_col_text(s, 1, m->account_name, sizeof m->account_name);
            sq_col_text(s, 2, m->email, sizeof m->email);
        } else {
            rc = step == SQLITE_DONE ? SI_ENOTFOUND : sq_fail(c, "find account by email");
        }
    }
    sq_done(s);
    return rc;
}

/* Inside the queue transaction: the link's hash, then its mail. */
static enum si_err queue_write(struct sq_conn *c, const uint8_t hash[32],
                               const struct console_mail *m, si_ms now)
{
    sqlite3_stmt *s;
    enum si_err rc = sq_console_link_insert(c, hash, m->account_id, now, m->expires);
    if (rc || (rc = sq_prep(c, &SQL_INSERT, &s)) != SI_OK)
        return rc;
    int b = TEXT(s, 1, m->account_id) | TEXT(s, 2, m->account_name) | TEXT(s, 3, m->email) |
            TEXT(s, 4, m->lang) |
            sqlite3_bind_blob(s, 5, m->sealed, CONSOLE_MAIL_SEALED_LEN, SQLITE_STATIC) |
            sqlite3_bind_int64(s, 6, now) | sqlite3_bind_int64(s, 7, m->expires);
    if (b != SQLITE_OK) {
        sq_done(s);
        return sq_fail(c, "bind console mail");
    }
    return sq_write_in_txn(c, s, "queue console mail");
}

enum si_err sq_console_mail_queue(void *be, const char *email_key, const uint8_t hash[32],
                                  struct console_mail *m, si_ms now, bool *queued)
{
    struct sq_conn *c = NULL;
    enum si_err rc = sq_borrow_writer(be, &c);
    if (rc)
        return rc;
    /* The lookup runs in the write transaction whether or not the address is known, so both
     * answers cost about the same (docs/CONSOLE.md: no timing oracle). */
    rc = sq_begin(c);
    if (!rc)
        rc = account_read(c, email_key, m);
    if (rc == SI_ENOTFOUND) {
        rc = sq_commit(c);
        goto out;
    }
    if (!rc)
        rc = queue_write(c, hash, m, now);
    if (!rc)
        rc = sq_commit(c);
    if (!rc)
        *queued = true;
out:
    sq_return(be, c); /* rolls back what a failed path left open */
    return rc;
}

enum si_err sq_console_mail_claim(void *be, si_ms now, si_ms lease_ms, struct console_mail *out,
                                  bool *found)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s;
    enum si_err rc = sq_borrow_writer(be, &c);
    if (rc)
        return rc;
    rc = sq_begin(c);
    if (!rc)
        rc = sq_prep(c, &SQL_CLAIM, &s);
    if (rc)
        goto out;
    int step = SQLITE_MISUSE;
    if ((sqlite3_bind_int64(s, 1, now) | sqlite3_bind_int64(s, 2, now + lease_ms)) == SQLITE_OK)
        step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        out->id = sqlite3_column_int64(s, 0);
        out->attempts = sqlite3_column_int(s, 1);
        out->created = sqlite3_column_int64(s, 2);
        out->expires = sqlite3_column_int64(s, 3);
        sq_col_text(s, 4, out->account_id, sizeof out->account_id);
        sq_col_text(s, 5, out->account_name, sizeof out->account_name);
        sq_col_text(s, 6, out->email, sizeof out->email);
        sq_col_text(s, 7, out->lang, sizeof out->lang);
        const void *sealed = sqlite3_column_blob(s, 8);
        if (sealed && sqlite3_column_bytes(s, 8) == CONSOLE_MAIL_SEALED_LEN)
            memcpy(out->sealed, sealed, CONSOLE_MAIL_SEALED_LEN);
        *found = true;
        step = sqlite3_step(s); /* RETURNING finishes its update on the last step */
    }
    if (step != SQLITE_DONE)
        rc = sq_fail(c, "claim console mail");
    sq_done(s);
    if (!rc)
        rc = sq_commit(c);
out:
    if (rc)
        *found = false;
    sq_return(be, c);
    return rc;
}

enum si_err sq_console_mail_done(void *be, int64_t id, si_ms now, si_ms due, const char *error)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s;
    enum si_err rc = sq_borrow_writer(be, &c);
    if (rc)
        return rc;
    rc = sq_prep(c, &SQL_DONE, &s);
    if (!rc) {
        int b = sqlite3_bind_int64(s, 1, id) | sqlite3_bind_int64(s, 2, now) |
                sqlite3_bind_int64(s, 3, due) | TEXT(s, 4, error);
        if (b != SQLITE_OK) {
            sq_done(s);
            rc = sq_fail(c, "bind console mail");
        } else {
            rc = sq_write_stmt(c, s, "record console mail");
        }
    }
    sq_return(be, c);
    return rc;
}
