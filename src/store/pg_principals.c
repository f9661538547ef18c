/* PostgreSQL operations on the tenants and their furniture: accounts, sites, API keys, roles and
 * contributors added directly. */
#include "pg_int.h"

#include "common/xalloc.h"
#include "core/ratelimit.h"

#include <stdlib.h>
#include <string.h>

/* Unique violations come back as SI_EEXIST and missing parents as SI_ENOTFOUND (pg_exec). */
const struct pg_sql pg_sql_account_insert = {
    PG_ACCOUNT_INSERT,
    "INSERT INTO accounts (id, name, email, created_ms) VALUES ($1, $2, $3, $4::bigint)"};
static const struct pg_sql SQL_ACCOUNT_GET = {
    PG_ACCOUNT_GET, "SELECT id, name, email, created_ms FROM accounts WHERE id = $1"};
static const struct pg_sql SQL_SITE_INSERT = {
    PG_SITE_INSERT, "INSERT INTO sites (id, account_id, name, contributor_limit, language,"
                    " lifetime_days, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)"};
#define SITE_COLS                                                                                  \
    "id, account_id, name, contributor_limit, language, lifetime_days, created_ms,"                \
    " accept_redirect_url, reminder_days, allowed_email_domains"
static const struct pg_sql SQL_SITE_GET = {PG_SITE_GET,
                                           "SELECT " SITE_COLS " FROM sites WHERE id = $1"};
/* Walks the sites_account index; Query Sites orders them in core. */
static const struct pg_sql SQL_ACCOUNT_SITES = {
    PG_ACCOUNT_SITES, "SELECT " SITE_COLS " FROM sites WHERE account_id = $1 LIMIT $2::bigint"};
static const struct pg_sql SQL_KEY_INSERT = {
    PG_KEY_INSERT, "INSERT INTO api_keys (id, account_id, name, key_hash, permissions,"
                   " created_ms, revoked_ms, key_prefix) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"};
/* The columns read_key reads, in its order. */
#define KEY_COLS                                                                                   \
    "id, account_id, name, permissions, created_ms, revoked_ms, key_prefix, last_used_ms"
static const struct pg_sql SQL_KEY_LOOKUP = {PG_KEY_LOOKUP, "SELECT " KEY_COLS
                                                            " FROM api_keys WHERE key_hash = $1"};
/* The key and the site a request names, in one round trip (store_key_site_lookup): KEY_COLS
 * then SITE_COLS, the site's NULL when there is no such site. */
static const struct pg_sql SQL_KEY_SITE_LOOKUP = {
    PG_KEY_SITE_LOOKUP,
    "SELECT k.id, k.account_id, k.name, k.permissions, k.created_ms, k.revoked_ms, k.key_prefix,"
    " k.last_used_ms, s.id, s.account_id, s.name, s.contributor_limit, s.language,"
    " s.lifetime_days, s.created_ms, s.accept_redirect_url, s.reminder_days,"
    " s.allowed_email_domains FROM api_keys k LEFT JOIN sites s ON s.id = $2"
    " WHERE k.key_hash = $1"};
#define KEY_NCOLS 8 /* the site's columns follow the key's */
/* GREATEST: a use recorded late, or by another server, never moves the time back. */
static const struct pg_sql SQL_KEY_USED = {
    PG_KEY_USED, "UPDATE api_keys SET last_used_ms = GREATEST(last_used_ms, $2::bigint)"
                 " WHERE id = $1"};
/* Matches an already revoked key too, so 0 rows changed means "no such key" only. */
static const struct pg_sql SQL_KEY_REVOKE = {
    PG_KEY_REVOKE, "UPDATE api_keys SET revoked_ms = CASE WHEN revoked_ms = 0 THEN $2::bigint"
                   " ELSE revoked_ms END WHERE id = $1 RETURNING account_id"};
/* A key's shared bucket, made full ($2 = burst, $3 = now) when new, and locked until the
 * transaction ends: the do-nothing update takes the row lock an ON CONFLICT DO NOTHING would not,
 * so servers taking from one key queue here and each sees the previous one's tokens. */
static const struct pg_sql SQL_KEY_BUCKET_LOCK = {
    PG_KEY_BUCKET_LOCK,
    "INSERT INTO key_buckets (key_id, tokens, refill_ms) VALUES ($1, $2::double precision,"
    " $3::bigint) ON CONFLICT (key_id) DO UPDATE SET key_id = excluded.key_id"
    " RETURNING tokens, refill_ms"};
static const struct pg_sql SQL_KEY_BUCKET_SET = {
    PG_KEY_BUCKET_SET, "UPDATE key_buckets SET tokens = $2::double precision,"
                       " refill_ms = $3::bigint WHERE key_id = $1"};
static const struct pg_sql SQL_ROLES_LIST = {
    PG_ROLES_LIST, "SELECT id, title, description, account_id IS NULL FROM roles"
                   " WHERE account_id IS NULL OR account_id = $1"
                   " ORDER BY account_id IS NOT NULL, position, seq"};
/* ASCII folding only, like SQLite's NOCASE: "Éditeur" and "éditeur" are different titles. */
static const struct pg_sql SQL_ROLE_TITLE_TAKEN = {
    PG_ROLE_TITLE_TAKEN,
    "SELECT 1 FROM roles WHERE (account_id IS NULL OR account_id = $1)"
    " AND " PG_ASCII_LOWER("title") " = " PG_ASCII_LOWER("$2::text") " LIMIT 1"};
static const struct pg_sql SQL_ROLE_INSERT = {
    PG_ROLE_INSERT,
    "INSERT INTO roles (id, account_id, title, description) VALUES ($1, $2, $3, $4)"};
const struct pg_sql pg_sql_contributor_insert = {
    PG_CONTRIBUTOR_INSERT,
    "INSERT INTO contributors (id, site_id, account_id, email, email_key, policy_ids, joined_ms,"
    " invite_id, location_ids, invited_email)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7::bigint, $8, $9, $10)"};

#define ROLES_LIST_INITIAL 16 /* array slots before the first growth */

/* Runs one statement on a borrowed connection, in its own implicit transaction. */
static enum si_err run_one(struct pg_store *st, const struct pg_sql *q, const struct pg_args *a,
                           const char *what, int64_t *changed)
{
    struct pg_conn *c = NULL;
    int64_t dummy;
    enum si_err rc = pg_borrow(st, &c);
    if (rc)
        return rc;
    rc = pg_exec_count(c, q, a, what, changed ? changed : &dummy);
    pg_return(st, c);
    return rc;
}

/* Runs a single-row read: SI_OK with *r holding one row, SI_ENOTFOUND when there is none. The
 * caller PQclear()s *r in every case. */
static enum si_err read_row(struct pg_store *st, const struct pg_sql *q, const struct pg_args *a,
                            const char *what, PGresult **r)
{
    *r = NULL;
    enum si_err rc = pg_run(st, q, a, what, r);
    if (!rc && PQntuples(*r) == 0)
        rc = SI_ENOTFOUND;
    return rc;
}

enum si_err pg_account_create(void *be, const struct account *acct)
{
    struct pg_args a = {0};
    pg_args_account(&a, acct);
    return run_one(be, &pg_sql_account_insert, &a, "create account", NULL);
}

enum si_err pg_account_get(void *be, const char *id, struct account *out)
{
    struct pg_args a = {0};
    PGresult *r;
    pg_arg(&a, id);
    enum si_err rc = read_row(be, &SQL_ACCOUNT_GET, &a, "read account", &r);
    if (!rc) {
        memset(out, 0, sizeof *out);
        pg_col_text(r, 0, 0, out->id, sizeof out->id);
        pg_col_text(r, 0, 1, out->name, sizeof out->name);
        pg_col_text(r, 0, 2, out->email, sizeof out->email);
        out->created = pg_col_i64(r, 0, 3);
    }
    PQclear(r);
    return rc;
}

enum si_err pg_site_create(void *be, const struct site *site)
{
    struct pg_args a = {0};
    pg_arg(&a, site->id);
    pg_arg(&a, site->account_id);
    pg_arg(&a, site->name);
    pg_arg_i64(&a, site->contributor_limit);
    pg_arg(&a, site->language);
    pg_arg_i64(&a, site->lifetime_days);
    pg_arg_i64(&a, site->created);
    struct audit_entry e; /* only the admin command line creates sites */
    audit_admin_entry(AUDIT_SITE_CREATED, site->id, site->account_id, AUDIT_TARGET_SITE, site->id,
                      site->created, &e);
    enum si_err rc = pg_audit_admin_run(be, &SQL_SITE_INSERT, &a, "create site", &e);
    audit_entry_cleanup(&e);
    return rc;
}

/* Fills out from the SITE_COLS that start at column at of row. */
static void read_site_at(const PGresult *r, int row, int at, struct site *out)
{
    memset(out, 0, sizeof *out);
    pg_col_text(r, row, at, out->id, sizeof out->id);
    pg_col_text(r, row, at + 1, out->account_id, sizeof out->account_id);
    pg_col_text(r, row, at + 2, out->name, sizeof out->name);
    out->contributor_limit = (int)pg_col_i64(r, row, at + 3);
    pg_col_text(r, row, at + 4, out->language, sizeof out->language);
    out->lifetime_days = (int)pg_col_i64(r, row, at + 5);
    out->created = pg_col_i64(r, row, at + 6);
    struct site_settings set;
    pg_col_text(r, row, at + 7, set.accept_redirect_url, sizeof set.accept_redirect_url);
    set.reminder_days = (int)pg_col_i64(r, row, at + 8);
    pg_col_text(r, row, at + 9, set.allowed_domains, sizeof set.allowed_domains);
    site_settings_put(out, &set); /* heap only when one is set */
}

/* Fills out from row of a SITE_COLS result. */
static void read_site(const PGresult *r, int row, struct site *out)
{
    read_site_at(r, row, 0, out);
}

enum si_err pg_site_get(void *be, const char *id, struct site *out)
{
    struct pg_args a = {0};
    PGresult *r;
    pg_arg(&a, id);
    enum si_err rc = read_row(be, &SQL_SITE_GET, &a, "read site", &r);
    if (!rc)
        read_site(r, 0, out);
    PQclear(r);
    return rc;
}

enum si_err pg_account_sites(void *be, const char *account_id, size_t max, struct site **out,
                             size_t *n)
{
    struct pg_args a = {0};
    PGresult *r = NULL;
    *out = NULL;
    *n = 0;
    pg_arg(&a, account_id);
    pg_arg_i64(&a, (int64_t)max);
    enum si_err rc = pg_run(be, &SQL_ACCOUNT_SITES, &a, "list sites", &r);
    if (rc)
        return rc;
    int rows = PQntuples(r);
    *out = xcalloc(rows ? (size_t)rows : 1, sizeof **out);
    for (int i = 0; i < rows; i++)
        read_site(r, i, &(*out)[i]);
    *n = (size_t)rows;
    PQclear(r);
    return SI_OK;
}

enum si_err pg_key_create(void *be, const struct api_key_row *k, const uint8_t hash[32])
{
    struct pg_args a = {0};
    pg_arg(&a, k->id);
    pg_arg(&a, k->account_id);
    pg_arg(&a, k->name);
    pg_arg_bytes(&a, hash, 32);
    pg_arg_i64(&a, k->permissions);
    pg_arg_i64(&a, k->created);
    pg_arg_i64(&a, k->revoked);
    pg_arg(&a, k->prefix);
    struct audit_entry e; /* only the admin command line creates keys */
    audit_admin_entry(AUDIT_KEY_CREATED, "", k->account_id, AUDIT_TARGET_KEY, k->id, k->created,
                      &e);
    if (k->actor) /* the console's owner */
        e.actor = *k->actor;
    enum si_err rc = pg_audit_admin_run(be, &SQL_KEY_INSERT, &a, "create key", &e);
    audit_entry_cleanup(&e);
    return rc;
}

static const struct pg_sql SQL_ACCOUNT_KEYS = {
    PG_ACCOUNT_KEYS, "SELECT " KEY_COLS " FROM api_keys WHERE account_id = $1"
                     " ORDER BY created_ms, id LIMIT $2::bigint"};

/* Row i of a KEY_COLS result. */
static void read_key(const PGresult *r, int i, struct api_key_row *k)
{
    memset(k, 0, sizeof *k);
    pg_col_text(r, i, 0, k->id, sizeof k->id);
    pg_col_text(r, i, 1, k->account_id, sizeof k->account_id);
    pg_col_text(r, i, 2, k->name, sizeof k->name);
    k->permissions = (unsigned)pg_col_i64(r, i, 3);
    k->created = pg_col_i64(r, i, 4);
    k->revoked = pg_col_i64(r, i, 5);
    pg_col_text(r, i, 6, k->prefix, sizeof k->prefix);
    k->last_used = pg_col_i64(r, i, 7);
}

enum si_err pg_account_keys(void *be, const char *account_id, size_t max, struct api_key_row **out,
                            size_t *n)
{
    struct pg_args a = {0};
    PGresult *r = NULL;
    pg_arg(&a, account_id);
    pg_arg_i64(&a, (int64_t)max);
    enum si_err rc = pg_run(be, &SQL_ACCOUNT_KEYS, &a, "list keys", &r);
    if (rc)
        return rc;
    int rows = PQntuples(r);
    *out = xcalloc(rows ? (size_t)rows : 1, sizeof **out);
    for (int i = 0; i < rows; i++)
        read_key(r, i, &(*out)[i]);
    *n = (size_t)rows;
    PQclear(r);
    return SI_OK;
}

enum si_err pg_key_lookup(void *be, const uint8_t hash[32], struct api_key_row *out)
{
    struct pg_args a = {0};
    PGresult *r;
    /* Found whether revoked or not: auth tells "revoked" from "unknown" itself. */
    pg_arg_bytes(&a, hash, 32);
    enum si_err rc = read_row(be, &SQL_KEY_LOOKUP, &a, "look up key", &r);
    if (!rc)
        read_key(r, 0, out);
    PQclear(r);
    return rc;
}

enum si_err pg_key_site_lookup(void *be, const uint8_t hash[32], const char *site_id,
                               struct api_key_row *key, struct site *site, bool *site_found)
{
    struct pg_args a = {0};
    PGresult *r;
    pg_arg_bytes(&a, hash, 32);
    pg_arg(&a, site_id);
    enum si_err rc = read_row(be, &SQL_KEY_SITE_LOOKUP, &a, "look up key and site", &r);
    if (!rc) {
        read_key(r, 0, key);
        *site_found = !PQgetisnull(r, 0, KEY_NCOLS);
        if (*site_found)
            read_site_at(r, 0, KEY_NCOLS, site);
    }
    PQclear(r);
    return rc;
}

enum si_err pg_key_revoke(void *be, const char *id, si_ms now, const struct audit_actor *actor)
{
    struct pg_args a = {0};
    pg_arg(&a, id);
    pg_arg_i64(&a, now);
    struct audit_entry e; /* the account comes from the key's row */
    audit_admin_entry(AUDIT_KEY_REVOKED, "", "", AUDIT_TARGET_KEY, id, now, &e);
    if (actor) /* the console's owner */
        e.actor = *actor;
    enum si_err rc = pg_audit_admin_run(be, &SQL_KEY_REVOKE, &a, "revoke key", &e);
    audit_entry_cleanup(&e);
    return rc;
}

/* One transaction for the batch, one UPDATE per key. The caller hands the keys sorted by ID, so
 * two servers' batches lock their rows in one order and never deadlock. */
enum si_err pg_keys_used(void *be, const struct key_use *uses, size_t n)
{
    struct pg_conn *c = NULL;
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    rc = pg_begin(c);
    for (size_t i = 0; !rc && i < n; i++) {
        struct pg_args a = {0};
        pg_arg(&a, uses[i].key_id);
        pg_arg_i64(&a, uses[i].at);
        rc = pg_exec(c, &SQL_KEY_USED, &a, "record key use", NULL);
    }
    if (!rc)
        rc = pg_commit(c);
    if (rc)
        pg_rollback(c);
    pg_return(be, c);
    return rc;
}

/* One short transaction: lock (or create full) the key's row, apply core's rule, write it back.
 * The row is held for two statements, not for the request. */
enum si_err pg_key_take(void *be, const char *key_id, double rate, double burst, si_ms now,
                        bool *allowed, long *retry_after_s)
{
    struct pg_conn *c = NULL;
    PGresult *r = NULL;
    struct pg_args a = {0};
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    rc = pg_begin(c);
    if (rc)
        goto out;
    pg_arg(&a, key_id);
    pg_arg_f64(&a, burst < 1 ? 1 : burst);
    pg_arg_i64(&a, now);
    rc = pg_exec(c, &SQL_KEY_BUCKET_LOCK, &a, "lock key bucket", &r);
    if (rc)
        goto out;
    struct rate_bucket b = {strtod(PQgetvalue(r, 0, 0), NULL), pg_col_i64(r, 0, 1)};
    *allowed = rate_take(&b, rate, burst, now, retry_after_s);
    a = (struct pg_args){0};
    pg_arg(&a, key_id);
    pg_arg_f64(&a, b.tokens);
    pg_arg_i64(&a, b.refill_ms);
    rc = pg_exec(c, &SQL_KEY_BUCKET_SET, &a, "update key bucket", NULL);
    if (!rc)
        rc = pg_commit(c);
out:
    if (rc)
        pg_rollback(c);
    PQclear(r);
    pg_return(be, c);
    return rc;
}

enum si_err pg_roles_list(void *be, const char *account_id, struct role **out, size_t *n)
{
    PGresult *r = NULL;
    struct pg_args a = {0};
    *out = NULL;
    *n = 0;
    pg_arg(&a, account_id);
    enum si_err rc = pg_run(be, &SQL_ROLES_LIST, &a, "list roles", &r);
    if (rc)
        return rc;
    int rows = PQntuples(r);
    struct role *roles = xcalloc(rows ? (size_t)rows : 1, sizeof *roles);
    for (int i = 0; i < rows; i++) {
        pg_col_text(r, i, 0, roles[i].id, sizeof roles[i].id);
        pg_col_text(r, i, 1, roles[i].title, sizeof roles[i].title);
        pg_col_text(r, i, 2, roles[i].description, sizeof roles[i].description);
        roles[i].predefined = PQgetvalue(r, i, 3)[0] == 't';
    }
    PQclear(r);
    *out = roles;
    *n = (size_t)rows;
    return SI_OK;
}

enum si_err pg_role_create(void *be, const char *account_id, const struct role *role, si_ms now,
                           const struct audit_actor *actor)
{
    struct pg_conn *c = NULL;
    PGresult *r = NULL;
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    /* Check then insert in one transaction; two processes racing on one title are settled by
     * the unique index (the loser gets SI_EEXIST from the insert). Predefined titles have a NULL
     * account and so only the check covers them; they never change. */
    rc = pg_begin(c);
    if (rc)
        goto out;
    struct pg_args a = {0};
    pg_arg(&a, account_id);
    pg_arg(&a, role->title);
    rc = pg_exec(c, &SQL_ROLE_TITLE_TAKEN, &a, "check role title", &r);
    if (!rc && PQntuples(r) > 0)
        rc = SI_EEXIST;
    PQclear(r);
    if (!rc) {
        a = (struct pg_args){0};
        pg_arg(&a, role->id);
        pg_arg(&a, account_id);
        pg_arg(&a, role->title);
        pg_arg(&a, role->description);
        rc = pg_exec(c, &SQL_ROLE_INSERT, &a, "create role", NULL);
    }
    if (!rc) {
        struct audit_entry e;
        audit_role_created(account_id, role, actor, now, &e);
        rc = pg_audit_add(c, &e);
        audit_entry_cleanup(&e);
    }
    if (!rc)
        rc = pg_commit(c);
    else
        pg_rollback(c);
out:
    pg_return(be, c);
    return rc;
}

enum si_err pg_contributor_add(void *be, const struct contributor_row *row)
{
    struct contributor_text t;
    struct pg_args a = {0};
    enum si_err rc = pg_args_contributor(&a, row, &t);
    if (rc)
        return rc;
    /* The foreign-key check locks the site row (FOR KEY SHARE), which waits for a bulk call
     * holding it FOR UPDATE: a contributor is never added in the middle of a seat count. */
    return run_one(be, &pg_sql_contributor_insert, &a, "add contributor", NULL);
}

void pg_args_account(struct pg_args *a, const struct account *acct)
{
    pg_arg(a, acct->id);
    pg_arg(a, acct->name);
    pg_arg(a, acct->email);
    pg_arg_i64(a, acct->created);
}

enum si_err pg_args_contributor(struct pg_args *a, const struct contributor_row *row,
                                struct contributor_text *t)
{
    enum si_err rc = contributor_text_encode(row, t);
    if (rc)
        return rc;
    pg_arg(a, row->id);
    pg_arg(a, row->site_id);
    pg_arg(a, row->account_id);
    pg_arg(a, row->email);
    pg_arg(a, row->email_key);
    pg_arg(a, t->policies);
    pg_arg_i64(a, row->joined);
    pg_arg(a, row->invite_id);
    pg_arg(a, t->locations);
    pg_arg(a, row->invited_email);
    return SI_OK;
}
