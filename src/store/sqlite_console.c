/* SQLite operations of the site owner's console: sign-in links and sessions, stored as hashes. */
#include "sqlite_int.h"

#include <stdint.h>
#include <string.h>

#define HASH_LEN 32

static const struct sq_sql SQL_LINK_INSERT = {
    SQ_CONSOLE_LINK_INSERT, "INSERT INTO console_signin_tokens (token_hash, account_id,"
                            " created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4)"};
static const struct sq_sql SQL_LINK_GET = {
    SQ_CONSOLE_LINK_GET, "SELECT account_id, used_ms, expires_ms FROM console_signin_tokens"
                         " WHERE token_hash = ?1"};
/* used_ms = 0 again here: the transaction already holds the write lock, this only keeps the
 * statement honest on its own. */
static const struct sq_sql SQL_LINK_USE = {
    SQ_CONSOLE_LINK_USE,
    "UPDATE console_signin_tokens SET used_ms = ?2 WHERE token_hash = ?1 AND used_ms = 0"};
static const struct sq_sql SQL_SESSION_INSERT = {
    SQ_CONSOLE_SESSION_INSERT, "INSERT INTO console_sessions (session_hash, account_id,"
                               " created_ms, last_seen_ms, csrf_salt) VALUES (?1, ?2, ?3, ?3, ?4)"};
static const struct sq_sql SQL_SESSION_GET = {
    SQ_CONSOLE_SESSION_GET, "SELECT account_id, created_ms, last_seen_ms, csrf_salt"
                            " FROM console_sessions WHERE session_hash = ?1"};
static const struct sq_sql SQL_SESSION_TOUCH = {
    SQ_CONSOLE_SESSION_TOUCH,
    "UPDATE console_sessions SET last_seen_ms = max(last_seen_ms, ?2) WHERE session_hash = ?1"};
static const struct sq_sql SQL_SESSION_DELETE = {
    SQ_CONSOLE_SESSION_DELETE, "DELETE FROM console_sessions WHERE session_hash = ?1"};

/* Covered by indexes both: the site's rows per status in index order (invites_site_status_id, no
 * sort), then the Pending rows already past their expiry (readers see them Expired), one expiry
 * range of every site's overdue rows, which the sweep keeps few, filtered by site. */
static const struct sq_sql SQL_SITE_COUNTS = {
    SQ_SITE_COUNTS, "SELECT status, count(*) FROM invites WHERE site_id = ?1 GROUP BY status"};
static const struct sq_sql SQL_SITE_OVERDUE = {
    SQ_SITE_OVERDUE, "SELECT count(*) FROM invites INDEXED BY invites_status_expires_site"
                     " WHERE site_id = ?1 AND status = 'Pending' AND expires_ms <= ?2"};

#define HASH(s, i, h) sqlite3_bind_blob((s), (i), (h), HASH_LEN, SQLITE_STATIC)

/* Binds SQL_LINK_INSERT on c into *s; the caller runs it. */
static enum si_err link_insert_prep(struct sq_conn *c, const uint8_t hash[32],
                                    const char *account_id, si_ms created, si_ms expires,
                                    sqlite3_stmt **s)
{
    enum si_err rc = sq_prep(c, &SQL_LINK_INSERT, s);
    if (rc)
        return rc;
    int b = HASH(*s, 1, hash) | sqlite3_bind_text(*s, 2, account_id, -1, SQLITE_STATIC);
    b |= sqlite3_bind_int64(*s, 3, created) | sqlite3_bind_int64(*s, 4, expires);
    if (b != SQLITE_OK) {
        sq_done(*s);
        return sq_fail(c, "bind console link");
    }
    return SI_OK;
}

enum si_err sq_console_link_create(void *be, const uint8_t hash[32], const char *account_id,
                                   si_ms created, si_ms expires)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s;
    enum si_err rc = sq_borrow_writer(be, &c);
    if (rc)
        return rc;
    rc = link_insert_prep(c, hash, account_id, created, expires, &s);
    if (!rc)
        rc = sq_write_stmt(c, s, "create console link");
    sq_return(be, c);
    return rc;
}

enum si_err sq_console_link_insert(struct sq_conn *c, const uint8_t hash[32],
                                   const char *account_id, si_ms created, si_ms expires)
{
    sqlite3_stmt *s;
    enum si_err rc = link_insert_prep(c, hash, account_id, created, expires, &s);
    return rc ? rc : sq_write_in_txn(c, s, "create console link");
}

/* Steps SQL_LINK_GET on c: SI_ENOTFOUND when there is no such link. */
static enum si_err link_read(struct sq_conn *c, const uint8_t hash[32], char *account_id,
                             si_ms *used_ms, si_ms *expires_ms)
{
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, &SQL_LINK_GET, &s);
    if (rc)
        return rc;
    if (HASH(s, 1, hash) != SQLITE_OK) {
        rc = sq_fail(c, "bind console link");
    } else {
        int step = sqlite3_step(s);
        if (step == SQLITE_ROW) {
            if (account_id)
                sq_col_text(s, 0, account_id, SI_ID_LEN);
            *used_ms = sqlite3_column_int64(s, 1);
            *expires_ms = sqlite3_column_int64(s, 2);
        } else {
            rc = step == SQLITE_DONE ? SI_ENOTFOUND : sq_fail(c, "read console link");
        }
    }
    sq_done(s);
    return rc;
}

enum si_err sq_console_link_get(void *be, const uint8_t hash[32], si_ms *used_ms, si_ms *expires_ms)
{
    struct sq_conn *c = NULL;
    enum si_err rc = sq_borrow(be, &c);
    if (!rc)
        rc = link_read(c, hash, NULL, used_ms, expires_ms);
    sq_return(be, c);
    return rc;
}

/* Inside the signin transaction: marks the link used and stores the session. */
static enum si_err signin_write(struct sq_conn *c, const uint8_t link_hash[32], si_ms now,
                                const uint8_t session_hash[32], const struct console_session *sess)
{
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, &SQL_LINK_USE, &s);
    if (rc)
        return rc;
    if ((HASH(s, 1, link_hash) | sqlite3_bind_int64(s, 2, now)) != SQLITE_OK) {
        sq_done(s);
        return sq_fail(c, "bind console link");
    }
    rc = sq_write_in_txn(c, s, "use console link");
    if (rc || (rc = sq_prep(c, &SQL_SESSION_INSERT, &s)) != SI_OK)
        return rc;
    int b = HASH(s, 1, session_hash) |
            sqlite3_bind_text(s, 2, sess->account_id, -1, SQLITE_STATIC) |
            sqlite3_bind_int64(s, 3, now) |
            sqlite3_bind_blob(s, 4, sess->csrf_salt, CONSOLE_CSRF_SALT_LEN, SQLITE_STATIC);
    if (b != SQLITE_OK) {
        sq_done(s);
        return sq_fail(c, "bind console session");
    }
    return sq_write_in_txn(c, s, "create console session");
}

enum si_err sq_console_signin(void *be, const uint8_t link_hash[32], si_ms now,
                              const uint8_t session_hash[32], struct console_session *sess,
                              enum console_link_state *state)
{
    struct sq_conn *c = NULL;
    si_ms used = 0, expires = 0;
    *state = CONSOLE_LINK_UNKNOWN;
    enum si_err rc = sq_borrow_writer(be, &c);
    if (rc)
        return rc;
    /* BEGIN IMMEDIATE: of two posts of one link, the second reads it used. */
    rc = sq_begin(c);
    if (rc)
        goto out;
    rc = link_read(c, link_hash, sess->account_id, &used, &expires);
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
        rc = sq_commit(c);
out:
    sq_return(be, c); /* rolls back what a failed path left open */
    return rc;
}

enum si_err sq_console_session_get(void *be, const uint8_t hash[32], struct console_session *out)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    enum si_err rc = sq_borrow(be, &c);
    if (rc)
        return rc;
    rc = sq_prep(c, &SQL_SESSION_GET, &s);
    if (!rc && HASH(s, 1, hash) != SQLITE_OK)
        rc = sq_fail(c, "bind console session");
    if (!rc) {
        int step = sqlite3_step(s);
        if (step == SQLITE_ROW) {
            memset(out, 0, sizeof *out);
            sq_col_text(s, 0, out->account_id, sizeof out->account_id);
            out->created = sqlite3_column_int64(s, 1);
            out->last_seen = sqlite3_column_int64(s, 2);
            const void *salt = sqlite3_column_blob(s, 3);
            if (salt && sqlite3_column_bytes(s, 3) == CONSOLE_CSRF_SALT_LEN)
                memcpy(out->csrf_salt, salt, CONSOLE_CSRF_SALT_LEN);
        } else {
            rc = step == SQLITE_DONE ? SI_ENOTFOUND : sq_fail(c, "read console session");
        }
    }
    sq_done(s);
    sq_return(be, c);
    return rc;
}

/* Runs one statement keyed by a hash (and a time as ?2 when now >= 0) in its own write. */
static enum si_err write_by_hash(struct sq_store *st, const struct sq_sql *q,
                                 const uint8_t hash[32], si_ms now, const char *what)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s;
    enum si_err rc = sq_borrow_writer(st, &c);
    if (rc)
        return rc;
    rc = sq_prep(c, q, &s);
    if (!rc) {
        int b = HASH(s, 1, hash) | (now >= 0 ? sqlite3_bind_int64(s, 2, now) : SQLITE_OK);
        if (b != SQLITE_OK) {
            sq_done(s);
            rc = sq_fail(c, what);
        } else {
            rc = sq_write_stmt(c, s, what);
        }
    }
    sq_return(st, c);
    return rc;
}

enum si_err sq_console_session_touch(void *be, const uint8_t hash[32], si_ms now)
{
    return write_by_hash(be, &SQL_SESSION_TOUCH, hash, now, "touch console session");
}

enum si_err sq_console_session_end(void *be, const uint8_t hash[32])
{
    return write_by_hash(be, &SQL_SESSION_DELETE, hash, -1, "end console session");
}

/* Steps q (?1 = site_id, ?2 = now when q uses it) and adds its rows to counts: (status, n)
 * rows, or one count of overdue Pending rows when overdue. */
static enum si_err counts_read(struct sq_conn *c, const struct sq_sql *q, const char *site_id,
                               si_ms now, bool overdue, int64_t counts[SITE_COUNTS_LEN])
{
    sqlite3_stmt *s = NULL;
    enum si_err rc = sq_prep(c, q, &s);
    if (!rc && (sqlite3_bind_text(s, 1, site_id, -1, SQLITE_STATIC) |
                (overdue ? sqlite3_bind_int64(s, 2, now) : SQLITE_OK)) != SQLITE_OK)
        rc = sq_fail(c, "bind site counts");
    int step = SQLITE_DONE;
    while (!rc && (step = sqlite3_step(s)) == SQLITE_ROW) {
        if (overdue)
            store_counts_overdue(counts, sqlite3_column_int64(s, 0));
        else
            store_counts_add(counts, (const char *)sqlite3_column_text(s, 0), false,
                             sqlite3_column_int64(s, 1));
    }
    if (!rc && step != SQLITE_DONE)
        rc = sq_fail(c, "count site invites");
    sq_done(s);
    return rc;
}

enum si_err sq_site_counts(void *be, const char *site_id, si_ms now,
                           int64_t counts[SITE_COUNTS_LEN])
{
    struct sq_conn *c = NULL;
    enum si_err rc = sq_borrow(be, &c);
    if (rc)
        return rc;
    /* Two reads, not one snapshot: a write between them can leave one invite counted in the
     * wrong column for this one page view, which a dashboard may show. */
    rc = counts_read(c, &SQL_SITE_COUNTS, site_id, now, false, counts);
    if (!rc)
        rc = counts_read(c, &SQL_SITE_OVERDUE, site_id, now, true, counts);
    sq_return(be, c);
    return rc;
}

/* The chart's reads, in one deferred read transaction: WAL gives it one snapshot from its
 * first read on, so the counts and the days agree. Migration 12's index (site_id, status,
 * created_ms, expires_ms, updated_ms) covers both. A day is counted per stored status as a
 * plain index range (no sort: a GROUP BY on the day would sort every row of the window, ~5
 * times slower at 100,000 invites); ?5 is now, for the rows past their expiry. */
static const struct sq_sql SQL_STATS_BEGIN = {SQ_STATS_BEGIN, "BEGIN DEFERRED"};
static const struct sq_sql SQL_STATS_DAYS = {
    SQ_STATS_DAYS, "SELECT count(*), coalesce(sum(expires_ms <= ?5), 0) FROM invites"
                   " WHERE site_id = ?1 AND status = ?2 AND created_ms >= ?3 AND created_ms < ?4"};
/* The one or two middle durations of the window's accepted invites (?4 = how many, ?5 = where
 * they start). */
static const struct sq_sql SQL_STATS_MEDIAN = {
    SQ_STATS_MEDIAN, "SELECT updated_ms - created_ms FROM invites WHERE site_id = ?1"
                     " AND status = 'Used' AND created_ms >= ?2 AND created_ms < ?3"
                     " ORDER BY 1 LIMIT ?4 OFFSET ?5"};

/* Adds the invites stored with status and created in [from, to) to counts, under the status
 * readers see (store_counts_add). s is SQL_STATS_DAYS, prepared. */
static enum si_err stats_range(struct sq_conn *c, sqlite3_stmt *s, const char *site_id,
                               enum invite_status status, const si_ms range[2], si_ms now,
                               int64_t counts[SITE_COUNTS_LEN])
{
    const char *name = invite_status_name(status);
    enum si_err rc = SI_OK;
    if ((sqlite3_bind_text(s, 1, site_id, -1, SQLITE_STATIC) |
         sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC) | sqlite3_bind_int64(s, 3, range[0]) |
         sqlite3_bind_int64(s, 4, range[1]) | sqlite3_bind_int64(s, 5, now)) != SQLITE_OK)
        rc = sq_fail(c, "bind site stats");
    else if (sqlite3_step(s) != SQLITE_ROW)
        rc = sq_fail(c, "read site stats");
    if (!rc) {
        int64_t n = sqlite3_column_int64(s, 0), overdue = sqlite3_column_int64(s, 1);
        store_counts_add(counts, name, false, n - overdue);
        store_counts_add(counts, name, true, overdue);
    }
    sqlite3_reset(s);
    return rc;
}

/* Every day of the window per stored status, and the invites before and after it: together
 * one walk of the site's rows of migration 12's index, which gives the totals too (a second
 * walk for them cost as much again). */
static enum si_err stats_days(struct sq_conn *c, const char *site_id, si_ms now,
                              struct site_stats *out)
{
    sqlite3_stmt *s = NULL;
    si_ms end = out->first_day + SITE_STATS_DAYS * SI_MS_PER_DAY;
    const si_ms before[2] = {INT64_MIN, out->first_day}, after[2] = {end, INT64_MAX};
    enum si_err rc = sq_prep(c, &SQL_STATS_DAYS, &s);
    for (int st = INVITE_PENDING; !rc && st <= INVITE_EXPIRED; st++) {
        for (int d = 0; !rc && d < SITE_STATS_DAYS; d++) {
            si_ms day[2] = {out->first_day + (si_ms)d * SI_MS_PER_DAY,
                            out->first_day + (si_ms)(d + 1) * SI_MS_PER_DAY};
            rc = stats_range(c, s, site_id, (enum invite_status)st, day, now, out->days[d]);
        }
        if (!rc)
            rc = stats_range(c, s, site_id, (enum invite_status)st, before, now, out->counts);
        if (!rc)
            rc = stats_range(c, s, site_id, (enum invite_status)st, after, now, out->counts);
    }
    sq_done(s);
    for (int d = 0; !rc && d < SITE_STATS_DAYS; d++)
        for (int k = 0; k < SITE_COUNTS_LEN; k++)
            out->counts[k] += out->days[d][k];
    return rc;
}

/* The median of the window's accepted invites: the middle one or two durations. */
static enum si_err stats_median(struct sq_conn *c, const char *site_id, struct site_stats *out)
{
    sqlite3_stmt *s = NULL;
    si_ms mid[2];
    int got = 0, step = SQLITE_DONE;
    enum si_err rc = sq_prep(c, &SQL_STATS_MEDIAN, &s);
    if (!rc && (sqlite3_bind_text(s, 1, site_id, -1, SQLITE_STATIC) |
                sqlite3_bind_int64(s, 2, out->first_day) |
                sqlite3_bind_int64(s, 3, out->first_day + SITE_STATS_DAYS * SI_MS_PER_DAY) |
                sqlite3_bind_int64(s, 4, 2 - out->accepted % 2) |
                sqlite3_bind_int64(s, 5, (out->accepted - 1) / 2)) != SQLITE_OK)
        rc = sq_fail(c, "bind site stats");
    while (!rc && (step = sqlite3_step(s)) == SQLITE_ROW && got < 2)
        mid[got++] = sqlite3_column_int64(s, 0);
    if (!rc && step != SQLITE_DONE && step != SQLITE_ROW)
        rc = sq_fail(c, "read site stats");
    sq_done(s);
    if (!rc)
        out->median_accept_ms = store_stats_median(mid, got);
    return rc;
}

enum si_err sq_site_stats(void *be, const char *site_id, si_ms now, struct site_stats *out)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    enum si_err rc = sq_borrow(be, &c);
    if (rc)
        return rc;
    rc = sq_prep(c, &SQL_STATS_BEGIN, &s);
    if (!rc)
        rc = sq_exec_stmt(c, s, "begin site stats");
    if (!rc)
        rc = stats_days(c, site_id, now, out);
    for (int d = 0; !rc && d < SITE_STATS_DAYS; d++)
        out->accepted += out->days[d][INVITE_USED];
    /* The median's offset is known once the days are counted (same snapshot). */
    if (!rc && out->accepted)
        rc = stats_median(c, site_id, out);
    if (!rc)
        rc = sq_commit(c);
    sq_return(be, c); /* rolls back what a failed path left open */
    return rc;
}

static const struct sq_sql SQL_SWEEP_LINKS = {
    SQ_CONSOLE_SWEEP_LINKS,
    "DELETE FROM console_signin_tokens WHERE token_hash IN (SELECT"
    " token_hash FROM console_signin_tokens WHERE expires_ms < ?1 LIMIT ?2)"};
static const struct sq_sql SQL_SWEEP_SESSIONS = {
    SQ_CONSOLE_SWEEP_SESSIONS,
    "DELETE FROM console_sessions WHERE session_hash IN (SELECT session_hash FROM"
    " console_sessions WHERE last_seen_ms < ?1 OR created_ms < ?3 LIMIT ?2)"};

/* Sign-in mails go with their links: a day past the link's expiry, sent or not. */
static const struct sq_sql SQL_SWEEP_MAIL = {
    SQ_CONSOLE_SWEEP_MAIL, "DELETE FROM console_mail WHERE id IN (SELECT id FROM console_mail"
                           " WHERE expires_ms < ?1 LIMIT ?2)"};

/* Runs one sweep DELETE in the open transaction and adds the rows it removed to *n. */
static enum si_err sweep_one(struct sq_conn *c, const struct sq_sql *q, si_ms before,
                             si_ms created_before, int max, int64_t *n)
{
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, q, &s);
    if (rc)
        return rc;
    int b = sqlite3_bind_int64(s, 1, before) | sqlite3_bind_int(s, 2, max);
    if (created_before)
        b |= sqlite3_bind_int64(s, 3, created_before);
    if (b != SQLITE_OK) {
        sq_done(s);
        return sq_fail(c, "bind console sweep");
    }
    rc = sq_write_in_txn(c, s, "console sweep");
    if (!rc)
        *n += sqlite3_changes(c->db);
    return rc;
}

enum si_err sq_console_sweep(void *be, const struct console_sweep_bounds *b, int max, int64_t *n)
{
    struct sq_conn *c = NULL;
    enum si_err rc = sq_borrow_writer(be, &c);
    if (rc)
        return rc;
    rc = sq_begin(c);
    if (!rc)
        rc = sweep_one(c, &SQL_SWEEP_LINKS, b->link_expired_before, 0, max, n);
    if (!rc)
        rc = sweep_one(c, &SQL_SWEEP_SESSIONS, b->session_seen_before, b->session_created_before,
                       max, n);
    if (!rc)
        rc = sweep_one(c, &SQL_SWEEP_MAIL, b->link_expired_before, 0, max, n);
    if (!rc)
        rc = sq_commit(c);
    sq_return(be, c);
    return rc;
}
