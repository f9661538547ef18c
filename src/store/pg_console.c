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

/* The site's invites per UTC creation day and status as readers see them at $2: the sums of
 * migration 17's summary rows, with the stored Pending rows past their expiry (few: the expiry
 * sweep stores them Expired) moved from Pending to Pending-past-expiry, which readers see
 * Expired. Columns: status, past expiry, day (ms / 86400000), count. */
static const struct pg_sql SQL_SITE_DAYS = {
    PG_SITE_DAYS,
    "WITH od AS (SELECT created_ms / 86400000 AS day, count(*) AS n FROM invites"
    " WHERE site_id = $1 AND status = 'Pending' AND expires_ms <= $2 GROUP BY 1),"
    " c AS (SELECT status, day, sum(n)::bigint AS n FROM invite_day_counts WHERE site_id = $1"
    " GROUP BY 1, 2)"
    " SELECT c.status, false, c.day,"
    " c.n - CASE WHEN c.status = 'Pending' THEN coalesce(od.n, 0) ELSE 0 END"
    " FROM c LEFT JOIN od ON od.day = c.day WHERE c.n <> 0"
    " UNION ALL SELECT 'Pending', true, day, n FROM od"};

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

/* Adds the rows of SQL_SITE_DAYS to counts and, when stats is not NULL, to its days. */
static void days_add_rows(PGresult *r, int64_t counts[SITE_COUNTS_LEN], struct site_stats *stats)
{
    for (int i = 0; i < PQntuples(r); i++) {
        const char *status = PQgetvalue(r, i, 0);
        bool overdue = PQgetvalue(r, i, 1)[0] == 't';
        int64_t day = pg_col_i64(r, i, 2), n = pg_col_i64(r, i, 3);
        store_counts_add(counts, status, overdue, n);
        if (stats)
            store_stats_add(stats, day - stats->first_day / SI_MS_PER_DAY, status, overdue, n);
    }
}

static enum si_err site_days(struct pg_conn *c, const char *site_id, si_ms now,
                             int64_t counts[SITE_COUNTS_LEN], struct site_stats *stats)
{
    struct pg_args a = {0};
    PGresult *r = NULL;
    pg_arg(&a, site_id);
    pg_arg_i64(&a, now);
    enum si_err rc = pg_exec(c, &SQL_SITE_DAYS, &a, "count site invites", &r);
    if (!rc)
        days_add_rows(r, counts, stats);
    PQclear(r);
    return rc;
}

enum si_err pg_site_counts(void *be, const char *site_id, si_ms now,
                           int64_t counts[SITE_COUNTS_LEN])
{
    struct pg_conn *c = NULL;
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    rc = site_days(c, site_id, now, counts, NULL);
    pg_return(be, c);
    return rc;
}

/* floor(): the mean of the two middle durations rounded down, as store_stats_median. */
static const struct pg_sql SQL_STATS_MEDIAN = {
    PG_STATS_MEDIAN, "SELECT floor(percentile_cont(0.5) WITHIN GROUP"
                     " (ORDER BY updated_ms - created_ms))::bigint FROM invites"
                     " WHERE site_id = $1 AND created_ms >= $2 AND created_ms < $3"
                     " AND status = 'Used'"};

/* The two reads of pg_site_stats on c, inside its transaction. */
static enum si_err stats_reads(struct pg_conn *c, const char *site_id, si_ms now,
                               struct site_stats *out)
{
    enum si_err rc = site_days(c, site_id, now, out->counts, out);
    for (int d = 0; !rc && d < SITE_STATS_DAYS; d++)
        out->accepted += out->days[d][INVITE_USED];
    if (rc || !out->accepted)
        return rc;
    struct pg_args win = {0};
    PGresult *r = NULL;
    pg_arg(&win, site_id);
    pg_arg_i64(&win, out->first_day);
    pg_arg_i64(&win, out->first_day + SITE_STATS_DAYS * SI_MS_PER_DAY);
    rc = pg_exec(c, &SQL_STATS_MEDIAN, &win, "read site stats", &r);
    if (!rc && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
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
    /* One snapshot for the two reads: the counts and the days agree. */
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
    /* Autocommitted statements: each deletes rows nothing can use any more, or folds rows. */
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
