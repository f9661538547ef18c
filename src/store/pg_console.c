/* PostgreSQL operations of the site owner's console: sign-in links and sessions, stored as
 * hashes. A link is used under its row lock, so of two servers only one signs in with it. */
#include "pg_int.h"

#include <string.h>

#define HASH_LEN 32

static const struct pg_sql SQL_LINK_INSERT = {
    PG_CONSOLE_LINK_INSERT, "INSERT INTO console_signin_tokens (token_hash, account_id,"
                            " created_ms, expires_ms) VALUES ($1, $2, $3, $4)"};
static const struct pg_sql SQL_LINK_GET = {
    PG_CONSOLE_LINK_GET, "SELECT account_id, used_ms, expires_ms FROM console_signin_tokens"
                         " WHERE token_hash = $1"};
static const struct pg_sql SQL_LINK_LOCK = {
    PG_CONSOLE_LINK_LOCK, "SELECT account_id, used_ms, expires_ms FROM console_signin_tokens"
                          " WHERE token_hash = $1 FOR UPDATE"};
static const struct pg_sql SQL_LINK_USE = {
    PG_CONSOLE_LINK_USE,
    "UPDATE console_signin_tokens SET used_ms = $2 WHERE token_hash = $1 AND used_ms = 0"};
static const struct pg_sql SQL_SESSION_INSERT = {
    PG_CONSOLE_SESSION_INSERT, "INSERT INTO console_sessions (session_hash, account_id,"
                               " created_ms, last_seen_ms, csrf_salt) VALUES ($1, $2, $3, $3, $4)"};
static const struct pg_sql SQL_SESSION_GET = {
    PG_CONSOLE_SESSION_GET, "SELECT account_id, created_ms, last_seen_ms, csrf_salt"
                            " FROM console_sessions WHERE session_hash = $1"};
static const struct pg_sql SQL_SESSION_TOUCH = {
    PG_CONSOLE_SESSION_TOUCH, "UPDATE console_sessions SET last_seen_ms ="
                              " greatest(last_seen_ms, $2) WHERE session_hash = $1"};
static const struct pg_sql SQL_SESSION_DELETE = {
    PG_CONSOLE_SESSION_DELETE, "DELETE FROM console_sessions WHERE session_hash = $1"};

/* One statement: per stored status, and how many of the rows are past their expiry (only
 * Pending ones matter: readers see them Expired). */
static const struct pg_sql SQL_SITE_COUNTS = {
    PG_SITE_COUNTS, "SELECT status, count(*), count(*) FILTER (WHERE expires_ms <= $2)"
                    " FROM invites WHERE site_id = $1 GROUP BY status"};

static void link_args(struct pg_args *a, const uint8_t hash[32], const char *account_id,
                      si_ms created, si_ms expires)
{
    pg_arg_bytes(a, hash, HASH_LEN);
    pg_arg(a, account_id);
    pg_arg_i64(a, created);
    pg_arg_i64(a, expires);
}

enum si_err pg_console_link_create(void *be, const uint8_t hash[32], const char *account_id,
                                   si_ms created, si_ms expires)
{
    struct pg_args a = {0};
    link_args(&a, hash, account_id, created, expires);
    return pg_run(be, &SQL_LINK_INSERT, &a, "create console link", NULL);
}

enum si_err pg_console_link_insert(struct pg_conn *c, const uint8_t hash[32],
                                   const char *account_id, si_ms created, si_ms expires)
{
    struct pg_args a = {0};
    link_args(&a, hash, account_id, created, expires);
    return pg_exec(c, &SQL_LINK_INSERT, &a, "create console link", NULL);
}

/* Reads the link's row from r: SI_ENOTFOUND when there is none. */
static enum si_err link_row(const PGresult *r, char *account_id, si_ms *used_ms, si_ms *expires_ms)
{
    if (PQntuples(r) == 0)
        return SI_ENOTFOUND;
    if (account_id)
        pg_col_text(r, 0, 0, account_id, SI_ID_LEN);
    *used_ms = pg_col_i64(r, 0, 1);
    *expires_ms = pg_col_i64(r, 0, 2);
    return SI_OK;
}

enum si_err pg_console_link_get(void *be, const uint8_t hash[32], si_ms *used_ms, si_ms *expires_ms)
{
    struct pg_args a = {0};
    PGresult *r = NULL;
    pg_arg_bytes(&a, hash, HASH_LEN);
    enum si_err rc = pg_run(be, &SQL_LINK_GET, &a, "read console link", &r);
    if (!rc)
        rc = link_row(r, NULL, used_ms, expires_ms);
    PQclear(r);
    return rc;
}

/* Inside the signin transaction: marks the link used and stores the session. */
static enum si_err signin_write(struct pg_conn *c, const uint8_t link_hash[32], si_ms now,
                                const uint8_t session_hash[32], const struct console_session *sess)
{
    struct pg_args a = {0}, b = {0};
    int64_t changed = 0;
    pg_arg_bytes(&a, link_hash, HASH_LEN);
    pg_arg_i64(&a, now);
    enum si_err rc = pg_exec_count(c, &SQL_LINK_USE, &a, "use console link", &changed);
    if (rc)
        return rc;
    pg_arg_bytes(&b, session_hash, HASH_LEN);
    pg_arg(&b, sess->account_id);
    pg_arg_i64(&b, now);
    pg_arg_bytes(&b, sess->csrf_salt, CONSOLE_CSRF_SALT_LEN);
    return pg_exec(c, &SQL_SESSION_INSERT, &b, "create console session", NULL);
}

enum si_err pg_console_signin(void *be, const uint8_t link_hash[32], si_ms now,
                              const uint8_t session_hash[32], struct console_session *sess,
                              enum console_link_state *state)
{
    struct pg_conn *c = NULL;
    struct pg_args a = {0};
    PGresult *r = NULL;
    si_ms used = 0, expires = 0;
    *state = CONSOLE_LINK_UNKNOWN;
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    rc = pg_begin(c);
    if (rc)
        goto out;
    /* The row lock: a second post of the link waits here, then reads it used. */
    pg_arg_bytes(&a, link_hash, HASH_LEN);
    rc = pg_exec(c, &SQL_LINK_LOCK, &a, "lock console link", &r);
    if (!rc)
        rc = link_row(r, sess->account_id, &used, &expires);
    if (rc == SI_ENOTFOUND) {
        rc = SI_OK;
        goto out;
    }
    if (!rc)
        *state = console_link_state(used, expires, now);
    if (!rc && *state == CONSOLE_LINK_OK) {
        sess->created = sess->last_seen = now;
        rc = signin_write(c, link_hash, now, session_hash, sess);
    }
    if (!rc)
        rc = pg_commit(c);
out:
    PQclear(r);
    pg_return(be, c); /* rolls back what a failed path left open */
    return rc;
}

enum si_err pg_console_session_get(void *be, const uint8_t hash[32], struct console_session *out)
{
    struct pg_args a = {0};
    PGresult *r = NULL;
    pg_arg_bytes(&a, hash, HASH_LEN);
    enum si_err rc = pg_run(be, &SQL_SESSION_GET, &a, "read console session", &r);
    if (!rc && PQntuples(r) == 0)
        rc = SI_ENOTFOUND;
    if (!rc) {
        memset(out, 0, sizeof *out);
        pg_col_text(r, 0, 0, out->account_id, sizeof out->account_id);
        out->created = pg_col_i64(r, 0, 1);
        out->last_seen = pg_col_i64(r, 0, 2);
        (void)pg_col_bytes(r, 0, 3, out->csrf_salt, CONSOLE_CSRF_SALT_LEN);
    }
    PQclear(r);
    return rc;
}

enum si_err pg_console_session_touch(void *be, const uint8_t hash[32], si_ms now)
{
    struct pg_args a = {0};
    pg_arg_bytes(&a, hash, HASH_LEN);
    pg_arg_i64(&a, now);
    return pg_run(be, &SQL_SESSION_TOUCH, &a, "touch console session", NULL);
}

enum si_err pg_console_session_end(void *be, const uint8_t hash[32])
{
    struct pg_args a = {0};
    pg_arg_bytes(&a, hash, HASH_LEN);
    return pg_run(be, &SQL_SESSION_DELETE, &a, "end console session", NULL);
}

/* Adds the rows of SQL_SITE_COUNTS to counts. */
static void counts_add_rows(PGresult *r, int64_t counts[SITE_COUNTS_LEN])
{
    for (int i = 0; i < PQntuples(r); i++) {
        int64_t n = pg_col_i64(r, i, 1), overdue = pg_col_i64(r, i, 2);
        store_counts_add(counts, PQgetvalue(r, i, 0), false, n - overdue);
        store_counts_add(counts, PQgetvalue(r, i, 0), true, overdue);
    }
}

enum si_err pg_site_counts(void *be, const char *site_id, si_ms now,
                           int64_t counts[SITE_COUNTS_LEN])
{
    struct pg_args a = {0};
    PGresult *r = NULL;
    pg_arg(&a, site_id);
    pg_arg_i64(&a, now);
    enum si_err rc = pg_run(be, &SQL_SITE_COUNTS, &a, "count site invites", &r);
    if (!rc)
        counts_add_rows(r, counts);
    PQclear(r);
    return rc;
}

/* The chart's window: whole UTC days from $2 (the first midnight) to $3; $4 is now. Migration
 * 12's index covers both reads. */
static const struct pg_sql SQL_STATS_DAYS = {
    PG_STATS_DAYS, "SELECT status, expires_ms <= $4, (created_ms - $2) / 86400000, count(*)"
                   " FROM invites WHERE site_id = $1 AND created_ms >= $2 AND created_ms < $3"
                   " GROUP BY 1, 2, 3"};
/* floor(): the mean of the two middle durations rounded down, as store_stats_median. */
static const struct pg_sql SQL_STATS_MEDIAN = {
    PG_STATS_MEDIAN, "SELECT floor(percentile_cont(0.5) WITHIN GROUP"
                     " (ORDER BY updated_ms - created_ms))::bigint FROM invites"
                     " WHERE site_id = $1 AND created_ms >= $2 AND created_ms < $3"
                     " AND status = 'Used'"};

/* The three reads of pg_site_stats on c, inside its transaction. */
static enum si_err stats_reads(struct pg_conn *c, const char *site_id, si_ms now,
                               struct site_stats *out)
{
    struct pg_args counts = {0}, win = {0};
    PGresult *r = NULL;
    pg_arg(&counts, site_id);
    pg_arg_i64(&counts, now);
    pg_arg(&win, site_id);
    pg_arg_i64(&win, out->first_day);
    pg_arg_i64(&win, out->first_day + SITE_STATS_DAYS * SI_MS_PER_DAY);
    enum si_err rc = pg_exec(c, &SQL_SITE_COUNTS, &counts, "count site invites", &r);
    if (!rc)
        counts_add_rows(r, out->counts);
    PQclear(r);
    r = NULL;
    pg_arg_i64(&win, now);
    if (!rc)
        rc = pg_exec(c, &SQL_STATS_DAYS, &win, "read site stats", &r);
    for (int i = 0; !rc && i < PQntuples(r); i++)
        store_stats_add(out, pg_col_i64(r, i, 2), PQgetvalue(r, i, 0),
                        PQgetvalue(r, i, 1)[0] == 't', pg_col_i64(r, i, 3));
    PQclear(r);
    r = NULL;
    for (int d = 0; !rc && d < SITE_STATS_DAYS; d++)
        out->accepted += out->days[d][INVITE_USED];
    win.n = 3; /* the median reads the window only */
    if (!rc && out->accepted)
        rc = pg_exec(c, &SQL_STATS_MEDIAN, &win, "read site stats", &r);
    if (!rc && out->accepted && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
        out->median_accept_ms = pg_col_i64(r, 0, 0);
    PQclear(r);
    return rc;
}

enum si_err pg_site_stats(void *be, const char *site_id, si_ms now, struct site_stats *out)
{
    struct pg_conn *c = NULL;
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    /* One snapshot for the three reads: the counts and the days agree. */
    rc = pg_script(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "begin site stats");
    if (!rc)
        rc = stats_reads(c, site_id, now, out);
    if (!rc)
        rc = pg_commit(c);
    pg_return(be, c); /* rolls back what a failed path left open */
    return rc;
}

static const struct pg_sql SQL_SWEEP_LINKS = {
    PG_CONSOLE_SWEEP_LINKS, "DELETE FROM console_signin_tokens WHERE token_hash IN (SELECT"
                            " token_hash FROM console_signin_tokens WHERE expires_ms < $1"
                            " LIMIT $2::bigint)"};
static const struct pg_sql SQL_SWEEP_SESSIONS = {
    PG_CONSOLE_SWEEP_SESSIONS,
    "DELETE FROM console_sessions WHERE session_hash IN (SELECT session_hash FROM"
    " console_sessions WHERE last_seen_ms < $1 OR created_ms < $3 LIMIT $2::bigint)"};

/* Sign-in mails go with their links: a day past the link's expiry, sent or not. */
static const struct pg_sql SQL_SWEEP_MAIL = {
    PG_CONSOLE_SWEEP_MAIL, "DELETE FROM console_mail WHERE id IN (SELECT id FROM console_mail"
                           " WHERE expires_ms < $1 LIMIT $2::bigint)"};

enum si_err pg_console_sweep(void *be, const struct console_sweep_bounds *b, int max, int64_t *n)
{
    struct pg_conn *c = NULL;
    struct pg_args links = {0}, sessions = {0};
    int64_t gone = 0;
    pg_arg_i64(&links, b->link_expired_before);
    pg_arg_i64(&links, max);
    pg_arg_i64(&sessions, b->session_seen_before);
    pg_arg_i64(&sessions, max);
    pg_arg_i64(&sessions, b->session_created_before);
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    /* Two autocommitted statements: each deletes rows nothing can use any more. */
    rc = pg_exec_count(c, &SQL_SWEEP_LINKS, &links, "console sweep", &gone);
    *n += gone;
    if (!rc)
        rc = pg_exec_count(c, &SQL_SWEEP_SESSIONS, &sessions, "console sweep", &gone);
    if (!rc)
        *n += gone;
    if (!rc)
        rc = pg_exec_count(c, &SQL_SWEEP_MAIL, &links, "console sweep", &gone);
    if (!rc)
        *n += gone;
    pg_return(be, c);
    return rc;
}
