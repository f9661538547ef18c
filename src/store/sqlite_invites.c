/* SQLite reads of invites: one row with its latest delivery, by ID or by accept link, and the
 * seats a site has in use. */
#include "sqlite_int.h"

#include "common/xalloc.h"

#include <string.h>

/* Every read of an invite is scoped by site: another site's invite is "not found". */
static const struct sq_sql SQL_GET = {SQ_INVITE_GET, "SELECT " SQ_INVITE_COLS SQ_INVITE_FROM
                                                     " WHERE i.id = ?1 AND i.site_id = ?2"};
static const struct sq_sql SQL_BY_SALT = {SQ_INVITE_BY_SALT, "SELECT " SQ_INVITE_COLS SQ_INVITE_FROM
                                                             " WHERE i.token_salt = ?1"};
/* A version 2 link names the ID; an invite with a salt is opened only by its version 1 link. */
static const struct sq_sql SQL_BY_LINK_ID = {SQ_INVITE_BY_LINK_ID,
                                             "SELECT " SQ_INVITE_COLS SQ_INVITE_FROM
                                             " WHERE i.id = ?1 AND i.token_salt IS NULL"};
/* Seats: the trigger-kept counters minus stored-Pending rows already expired (see the schema). */
static const struct sq_sql SQL_SEATS = {
    SQ_SEATS_USED, "SELECT s.seats_pending + s.seats_contributors, (SELECT count(*) FROM invites"
                   " INDEXED BY invites_status_expires_site WHERE site_id = ?1 AND status = "
                   "'Pending' AND expires_ms <= ?2) FROM sites s "
                   "WHERE s.id = ?1"};

#define TEXT(s, i, v) sqlite3_bind_text((s), (i), (v), -1, SQLITE_STATIC)

void sq_read_invite(sqlite3_stmt *s, struct invite *out)
{
    memset(out, 0, sizeof *out);
    sq_col_text(s, 0, out->id, sizeof out->id);
    sq_col_text(s, 1, out->site_id, sizeof out->site_id);
    sq_col_text(s, 2, out->email, sizeof out->email);
    sq_col_text(s, 3, out->email_key, sizeof out->email_key);
    policy_text_decode((const char *)sqlite3_column_text(s, 4), &out->policies);
    sq_col_text(s, 5, out->inviter_account_id, sizeof out->inviter_account_id);
    const char *status = (const char *)sqlite3_column_text(s, 6);
    if (!status || !invite_status_parse(status, &out->status))
        out->status = INVITE_DELETED; /* unreadable: show it as unusable, never as Pending */
    sq_col_text(s, 7, out->accepted_by_account_id, sizeof out->accepted_by_account_id);
    out->has_salt = sqlite3_column_bytes(s, 8) == SI_TOKEN_SALT_LEN; /* NULL since schema 16 */
    if (out->has_salt)
        memcpy(out->token_salt, sqlite3_column_blob(s, 8), SI_TOKEN_SALT_LEN);
    out->created = sqlite3_column_int64(s, 9);
    out->updated = sqlite3_column_int64(s, 10);
    out->expires = sqlite3_column_int64(s, 11);
    out->last_sent = sqlite3_column_int64(s, 12);
    sq_col_text(s, 13, out->staff_id, sizeof out->staff_id);
    if (sqlite3_column_type(s, 14) != SQLITE_NULL)
        out->purpose = xstrdup((const char *)sqlite3_column_text(s, 14));
    sq_col_text(s, 15, out->language, sizeof out->language);
    out->send_count = sqlite3_column_int(s, 16);
    out->delivery.status = delivery_status_parse((const char *)sqlite3_column_text(s, 17));
    out->delivery.attempts = sqlite3_column_int(s, 18);
    sq_col_text(s, 19, out->delivery.last_error, sizeof out->delivery.last_error);
    policy_text_decode((const char *)sqlite3_column_text(s, 20), &out->locations);
}

enum si_err sq_invite_load(struct sq_conn *c, const char *site_id, const char *id,
                           struct invite *out)
{
    sqlite3_stmt *s;
    enum si_err rc = sq_step_row(c, &SQL_GET, id, site_id, "read invite", &s);
    if (!rc)
        sq_read_invite(s, out);
    sq_done(s);
    return rc;
}

enum si_err sq_invite_load_by_link(struct sq_conn *c, const struct token_ref *ref,
                                   struct invite *out)
{
    sqlite3_stmt *s;
    bool by_id = ref->kind == TOKEN_BY_ID;
    char id[SI_ID_LEN];
    if (by_id)
        id_from_bytes(ref->key, id);
    enum si_err rc = sq_prep(c, by_id ? &SQL_BY_LINK_ID : &SQL_BY_SALT, &s);
    if (rc)
        return rc;
    int b = by_id ? sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC)
                  : sqlite3_bind_blob(s, 1, ref->key, TOKEN_KEY_LEN, SQLITE_STATIC);
    if (b != SQLITE_OK)
        rc = sq_fail(c, "bind");
    else {
        int step = sqlite3_step(s);
        if (step == SQLITE_ROW)
            sq_read_invite(s, out);
        else
            rc = step == SQLITE_DONE ? SI_ENOTFOUND : sq_fail(c, "read invite by link");
    }
    sq_done(s);
    return rc;
}

enum si_err sq_invite_get(void *be, const char *site_id, const char *invite_id, struct invite *out)
{
    struct sq_conn *c = NULL;
    enum si_err rc = sq_borrow(be, &c);
    if (rc)
        return rc;
    rc = sq_invite_load(c, site_id, invite_id, out);
    sq_return(be, c);
    return rc;
}

enum si_err sq_invite_by_link(void *be, const struct token_ref *ref, struct invite *out)
{
    struct sq_conn *c = NULL;
    enum si_err rc = sq_borrow(be, &c);
    if (rc)
        return rc;
    rc = sq_invite_load_by_link(c, ref, out);
    sq_return(be, c);
    return rc;
}

/* Reads the site's seat counters (stored-Pending invites plus contributors) and how many of
 * those Pending rows are already past expiry (lazy expiry: they hold no seat). */
enum si_err sq_seat_counts(struct sq_conn *c, const char *site_id, si_ms now, int64_t *counted,
                           int64_t *expired)
{
    sqlite3_stmt *s;
    *counted = *expired = 0; /* an unknown site has no seats in use */
    enum si_err rc = sq_prep(c, &SQL_SEATS, &s);
    if (rc)
        return rc;
    if (TEXT(s, 1, site_id) | sqlite3_bind_int64(s, 2, now))
        rc = sq_fail(c, "bind");
    else {
        int step = sqlite3_step(s);
        if (step == SQLITE_ROW) {
            *counted = sqlite3_column_int64(s, 0);
            *expired = sqlite3_column_int64(s, 1);
        } else if (step != SQLITE_DONE)
            rc = sq_fail(c, "count seats");
    }
    sq_done(s);
    return rc;
}

enum si_err sq_seats_used(void *be, const char *site_id, si_ms now, int64_t *used)
{
    struct sq_conn *c = NULL;
    int64_t counted = 0, expired = 0;
    enum si_err rc = sq_borrow(be, &c);
    if (rc)
        return rc;
    rc = sq_seat_counts(c, site_id, now, &counted, &expired);
    *used = counted - expired;
    sq_return(be, c);
    return rc;
}
