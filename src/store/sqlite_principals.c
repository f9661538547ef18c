/* SQLite operations on the tenants and their furniture: accounts, sites, API keys, roles and
 * contributors. */
#include "sqlite_int.h"

#include "common/xalloc.h"

#include <stdlib.h>
#include <string.h>

#define ROLES_LIST_INITIAL 16 /* array slots before the first growth */

/* Primary-key and unique violations come back as SI_EEXIST, missing parents as SI_ENOTFOUND
 * (sq_constraint), so callers never parse SQLite messages. */
static const struct sq_sql SQL_ACCOUNT_INSERT = {
    SQ_ACCOUNT_INSERT,
    "INSERT INTO accounts (id, name, email, created_ms) VALUES (?1, ?2, ?3, ?4)"};
static const struct sq_sql SQL_ACCOUNT_GET = {
    SQ_ACCOUNT_GET, "SELECT id, name, email, created_ms FROM accounts WHERE id = ?1"};
static const struct sq_sql SQL_SITE_INSERT = {
    SQ_SITE_INSERT, "INSERT INTO sites (id, account_id, name, contributor_limit, language,"
                    " lifetime_days, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"};
#define SITE_COLS                                                                                  \
    "id, account_id, name, contributor_limit, language, lifetime_days, created_ms,"                \
    " accept_redirect_url, reminder_days, allowed_email_domains"
static const struct sq_sql SQL_SITE_GET = {SQ_SITE_GET,
                                           "SELECT " SITE_COLS " FROM sites WHERE id = ?1"};
/* Walks the sites_account index; Query Sites orders them in core. */
static const struct sq_sql SQL_ACCOUNT_SITES = {
    SQ_ACCOUNT_SITES, "SELECT " SITE_COLS " FROM sites WHERE account_id = ?1 LIMIT ?2"};
static const struct sq_sql SQL_KEY_INSERT = {
    SQ_KEY_INSERT, "INSERT INTO api_keys (id, account_id, name, key_hash, permissions,"
                   " created_ms, revoked_ms, key_prefix) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"};
/* The columns read_key reads, in its order. */
#define KEY_COLS                                                                                   \
    "id, account_id, name, permissions, created_ms, revoked_ms, key_prefix, last_used_ms"
static const struct sq_sql SQL_KEY_LOOKUP = {SQ_KEY_LOOKUP, "SELECT " KEY_COLS
                                                            " FROM api_keys WHERE key_hash = ?1"};
/* Moved by schema 19's triggers in the transaction of every change to a key or a site that
 * SQL_KEY_LOOKUP or SQL_SITE_GET would read, whoever makes it (this process, the command line,
 * the sqlite3 shell). */
static const struct sq_sql SQL_AUTH_EPOCH = {SQ_AUTH_EPOCH,
                                             "SELECT n FROM auth_epoch WHERE id = 1"};
#define AUTH_COUNTER_BITS 48
#define AUTH_COUNTER_MASK ((UINT64_C(1) << AUTH_COUNTER_BITS) - 1)
/* max(): a use recorded late (or by another process) never moves the time back. */
static const struct sq_sql SQL_KEY_USED = {
    SQ_KEY_USED, "UPDATE api_keys SET last_used_ms = max(last_used_ms, ?2) WHERE id = ?1"};
/* Matches an already revoked key too, so changes() == 0 means "no such key" only. */
static const struct sq_sql SQL_KEY_REVOKE = {
    SQ_KEY_REVOKE, "UPDATE api_keys SET revoked_ms = CASE WHEN revoked_ms = 0 THEN ?2"
                   " ELSE revoked_ms END WHERE id = ?1 RETURNING account_id"};
static const struct sq_sql SQL_ROLES_LIST = {
    SQ_ROLES_LIST, "SELECT id, title, description, account_id IS NULL FROM roles"
                   " WHERE account_id IS NULL OR account_id = ?1"
                   " ORDER BY account_id IS NOT NULL, position, rowid"};
/* NOCASE folds ASCII only: "Éditeur" and "éditeur" count as different titles. */
static const struct sq_sql SQL_ROLE_TITLE_TAKEN = {
    SQ_ROLE_TITLE_TAKEN, "SELECT 1 FROM roles WHERE (account_id IS NULL OR account_id = ?1)"
                         " AND title = ?2 COLLATE NOCASE LIMIT 1"};
static const struct sq_sql SQL_ROLE_INSERT = {
    SQ_ROLE_INSERT,
    "INSERT INTO roles (id, account_id, title, description) VALUES (?1, ?2, ?3, ?4)"};
static const struct sq_sql SQL_CONTRIBUTOR_INSERT = {
    SQ_CONTRIBUTOR_INSERT,
    "INSERT INTO contributors (id, site_id, account_id, email, email_key, policy_ids, joined_ms,"
    " invite_id, location_ids, invited_email) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"};

#define TEXT(s, i, v) sqlite3_bind_text((s), (i), (v), -1, SQLITE_STATIC)

/* The common shape of a single-row read: borrow, prepare, bind one text key, step. On SI_OK
 * the caller reads the row from *s, then calls finish_row. */
static enum si_err start_row(struct sq_store *st, const struct sq_sql *q, const char *key,
                             struct sq_conn **c, sqlite3_stmt **s)
{
    *s = NULL;
    enum si_err rc = sq_borrow(st, c);
    if (rc)
        return rc;
    return sq_step_row(*c, q, key, NULL, "read row", s);
}

static void finish_row(struct sq_store *st, struct sq_conn *c, sqlite3_stmt *s)
{
    sq_done(s);
    sq_return(st, c);
}

enum si_err sq_account_create(void *be, const struct account *a)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s;
    enum si_err rc = sq_borrow_writer(be, &c);
    if (rc)
        return rc;
    rc = sq_bind_account_insert(c, a, &s);
    if (!rc)
        rc = sq_write_stmt(c, s, "create account");
    sq_return(be, c);
    return rc;
}

enum si_err sq_account_get(void *be, const char *id, struct account *out)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    enum si_err rc = start_row(be, &SQL_ACCOUNT_GET, id, &c, &s);
    if (!rc) {
        memset(out, 0, sizeof *out);
        sq_col_text(s, 0, out->id, sizeof out->id);
        sq_col_text(s, 1, out->name, sizeof out->name);
        sq_col_text(s, 2, out->email, sizeof out->email);
        out->created = sqlite3_column_int64(s, 3);
    }
    finish_row(be, c, s);
    return rc;
}

enum si_err sq_site_create(void *be, const struct site *site)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s;
    enum si_err rc = sq_borrow_writer(be, &c);
    if (rc)
        return rc;
    rc = sq_prep(c, &SQL_SITE_INSERT, &s);
    if (!rc) {
        int b = TEXT(s, 1, site->id) | TEXT(s, 2, site->account_id) | TEXT(s, 3, site->name);
        b |= sqlite3_bind_int(s, 4, site->contributor_limit);
        b |= TEXT(s, 5, site->language);
        b |= sqlite3_bind_int(s, 6, site->lifetime_days);
        b |= sqlite3_bind_int64(s, 7, site->created);
        struct audit_entry e; /* only the admin command line creates sites */
        audit_admin_entry(AUDIT_SITE_CREATED, site->id, site->account_id, AUDIT_TARGET_SITE,
                          site->id, site->created, &e);
        rc = sq_audit_admin_run(c, s, b, "create site", &e);
        audit_entry_cleanup(&e);
    }
    sq_return(be, c);
    return rc;
}

/* Fills out from a row of SITE_COLS. */
static void read_site(sqlite3_stmt *s, struct site *out)
{
    memset(out, 0, sizeof *out);
    sq_col_text(s, 0, out->id, sizeof out->id);
    sq_col_text(s, 1, out->account_id, sizeof out->account_id);
    sq_col_text(s, 2, out->name, sizeof out->name);
    out->contributor_limit = sqlite3_column_int(s, 3);
    sq_col_text(s, 4, out->language, sizeof out->language);
    out->lifetime_days = sqlite3_column_int(s, 5);
    out->created = sqlite3_column_int64(s, 6);
    struct site_settings set;
    sq_col_text(s, 7, set.accept_redirect_url, sizeof set.accept_redirect_url);
    set.reminder_days = sqlite3_column_int(s, 8);
    sq_col_text(s, 9, set.allowed_domains, sizeof set.allowed_domains);
    site_settings_put(out, &set); /* heap only when one is set */
}

enum si_err sq_site_get(void *be, const char *id, struct site *out)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    enum si_err rc = start_row(be, &SQL_SITE_GET, id, &c, &s);
    if (!rc)
        read_site(s, out);
    finish_row(be, c, s);
    return rc;
}

static void read_site_elem(sqlite3_stmt *s, void *elem)
{
    read_site(s, elem);
}

enum si_err sq_account_sites(void *be, const char *account_id, size_t max, struct site **out,
                             size_t *n)
{
    const struct sq_list l = {&SQL_ACCOUNT_SITES, account_id,     max,
                              sizeof **out,       read_site_elem, "list sites"};
    void *rows = NULL;
    enum si_err rc = sq_list_rows(be, &l, &rows, n);
    *out = rows;
    return rc;
}

/* A row of KEY_COLS. */
static void read_key(sqlite3_stmt *s, struct api_key_row *k)
{
    memset(k, 0, sizeof *k);
    sq_col_text(s, 0, k->id, sizeof k->id);
    sq_col_text(s, 1, k->account_id, sizeof k->account_id);
    sq_col_text(s, 2, k->name, sizeof k->name);
    k->permissions = (unsigned)sqlite3_column_int64(s, 3);
    k->created = sqlite3_column_int64(s, 4);
    k->revoked = sqlite3_column_int64(s, 5);
    sq_col_text(s, 6, k->prefix, sizeof k->prefix);
    k->last_used = sqlite3_column_int64(s, 7);
}

enum si_err sq_key_create(void *be, const struct api_key_row *k, const uint8_t hash[32])
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s;
    enum si_err rc = sq_borrow_writer(be, &c);
    if (rc)
        return rc;
    rc = sq_prep(c, &SQL_KEY_INSERT, &s);
    if (!rc) {
        int b = TEXT(s, 1, k->id) | TEXT(s, 2, k->account_id) | TEXT(s, 3, k->name);
        b |= sqlite3_bind_blob(s, 4, hash, 32, SQLITE_STATIC);
        b |= sqlite3_bind_int64(s, 5, k->permissions);
        b |= sqlite3_bind_int64(s, 6, k->created);
        b |= sqlite3_bind_int64(s, 7, k->revoked) | TEXT(s, 8, k->prefix);
        struct audit_entry e; /* only the admin command line creates keys */
        audit_admin_entry(AUDIT_KEY_CREATED, "", k->account_id, AUDIT_TARGET_KEY, k->id, k->created,
                          &e);
        if (k->actor) /* the console's owner */
            e.actor = *k->actor;
        rc = sq_audit_admin_run(c, s, b, "create key", &e);
        audit_entry_cleanup(&e);
    }
    sq_return(be, c);
    return rc;
}

enum si_err sq_key_lookup(void *be, const uint8_t hash[32], struct api_key_row *out)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    enum si_err rc = sq_borrow(be, &c);
    if (rc)
        return rc;
    /* Found whether revoked or not: auth tells "revoked" from "unknown" itself. */
    rc = sq_prep(c, &SQL_KEY_LOOKUP, &s);
    if (rc)
        goto out;
    if (sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC) != SQLITE_OK) {
        rc = sq_fail(c, "bind key hash");
        goto out;
    }
    int step = sqlite3_step(s);
    if (step != SQLITE_ROW) {
        rc = step == SQLITE_DONE ? SI_ENOTFOUND : sq_fail(c, "look up key");
        goto out;
    }
    read_key(s, out);
out:
    finish_row(be, c, s);
    return rc;
}

uint64_t sq_auth_epoch(void *be)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    uint64_t epoch = 0; /* 0 turns the key cache off: any failure here costs speed, not safety */
    if (sq_borrow(be, &c))
        return 0;
    if (!sq_prep(c, &SQL_AUTH_EPOCH, &s) && sqlite3_step(s) == SQLITE_ROW) {
        /* The counter's low 48 bits under this store's tag: never 0, never another store's. */
        uint64_t n = (uint64_t)sqlite3_column_int64(s, 0) & AUTH_COUNTER_MASK;
        epoch = ((struct sq_store *)be)->auth_tag << AUTH_COUNTER_BITS | n;
    }
    finish_row(be, c, s);
    return epoch;
}

enum si_err sq_key_revoke(void *be, const char *id, si_ms now, const struct audit_actor *actor)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s;
    enum si_err rc = sq_borrow_writer(be, &c);
    if (rc)
        return rc;
    rc = sq_prep(c, &SQL_KEY_REVOKE, &s);
    if (!rc) {
        int b = TEXT(s, 1, id) | sqlite3_bind_int64(s, 2, now);
        struct audit_entry e; /* the account comes from the key's row */
        audit_admin_entry(AUDIT_KEY_REVOKED, "", "", AUDIT_TARGET_KEY, id, now, &e);
        if (actor) /* the console's owner */
            e.actor = *actor;
        rc = sq_audit_admin_run(c, s, b, "revoke key", &e);
        audit_entry_cleanup(&e);
    }
    sq_return(be, c);
    return rc;
}

static const struct sq_sql SQL_ACCOUNT_KEYS = {
    SQ_ACCOUNT_KEYS, "SELECT " KEY_COLS " FROM api_keys WHERE account_id = ?1"
                     " ORDER BY created_ms, id LIMIT ?2"};

static void read_key_elem(sqlite3_stmt *s, void *elem)
{
    read_key(s, elem);
}

enum si_err sq_account_keys(void *be, const char *account_id, size_t max, struct api_key_row **out,
                            size_t *n)
{
    const struct sq_list l = {&SQL_ACCOUNT_KEYS, account_id,    max,
                              sizeof **out,      read_key_elem, "list keys"};
    void *rows = NULL;
    enum si_err rc = sq_list_rows(be, &l, &rows, n);
    *out = rows;
    return rc;
}

/* One row of SQL_ROLES_LIST. */
static void read_role(sqlite3_stmt *s, struct role *r)
{
    memset(r, 0, sizeof *r);
    sq_col_text(s, 0, r->id, sizeof r->id);
    sq_col_text(s, 1, r->title, sizeof r->title);
    sq_col_text(s, 2, r->description, sizeof r->description);
    r->predefined = sqlite3_column_int(s, 3) != 0;
}

enum si_err sq_roles_list(void *be, const char *account_id, struct role **out, size_t *n)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    struct role *roles = NULL;
    size_t len = 0, cap = 0;
    *out = NULL;
    *n = 0;
    enum si_err rc = sq_borrow(be, &c);
    if (rc)
        return rc;
    rc = sq_prep(c, &SQL_ROLES_LIST, &s);
    if (!rc && TEXT(s, 1, account_id) != SQLITE_OK)
        rc = sq_fail(c, "bind");
    int step;
    while (!rc && (step = sqlite3_step(s)) == SQLITE_ROW) {
        if (len == cap) {
            cap = cap ? cap * 2 : ROLES_LIST_INITIAL;
            roles = xrealloc(roles, cap * sizeof *roles);
        }
        read_role(s, &roles[len++]);
    }
    if (!rc && step != SQLITE_DONE)
        rc = sq_fail(c, "list roles");
    finish_row(be, c, s);
    if (rc) {
        free(roles);
        return rc;
    }
    *out = roles;
    *n = len;
    return SI_OK;
}

/* Inside role_create's transaction: is the title used by a predefined or the account's role? */
static enum si_err title_taken(struct sq_conn *c, const char *account_id, const char *title)
{
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, &SQL_ROLE_TITLE_TAKEN, &s);
    if (rc)
        return rc;
    if (TEXT(s, 1, account_id) | TEXT(s, 2, title))
        rc = sq_fail(c, "bind");
    else {
        int step = sqlite3_step(s);
        if (step == SQLITE_ROW)
            rc = SI_EEXIST;
        else if (step != SQLITE_DONE)
            rc = sq_fail(c, "check role title");
    }
    sq_done(s);
    return rc;
}

enum si_err sq_role_create(void *be, const char *account_id, const struct role *r, si_ms now,
                           const struct audit_actor *actor)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s;
    enum si_err rc = sq_borrow_writer(be, &c);
    if (rc)
        return rc;
    /* A write transaction makes check-then-insert atomic; the unique index backs it up. */
    rc = sq_begin(c);
    if (rc)
        goto out;
    rc = title_taken(c, account_id, r->title);
    if (!rc)
        rc = sq_prep(c, &SQL_ROLE_INSERT, &s);
    if (!rc) {
        int b = TEXT(s, 1, r->id) | TEXT(s, 2, account_id) | TEXT(s, 3, r->title);
        b |= TEXT(s, 4, r->description);
        rc = b ? sq_fail(c, "bind") : sq_write_in_txn(c, s, "create role");
    }
    if (!rc) {
        struct audit_entry e;
        audit_role_created(account_id, r, actor, now, &e);
        rc = sq_audit_add(c, &e);
        audit_entry_cleanup(&e);
    }
    if (!rc)
        rc = sq_commit(c);
    else
        sq_rollback(c);
out:
    sq_return(be, c);
    return rc;
}

enum si_err sq_contributor_add(void *be, const struct contributor_row *r)
{
    struct contributor_text t;
    struct sq_conn *c = NULL;
    sqlite3_stmt *s;
    enum si_err rc = sq_borrow_writer(be, &c);
    if (rc)
        return rc;
    rc = sq_bind_contributor_insert(c, r, &t, &s);
    if (!rc)
        rc = sq_write_stmt(c, s, "add contributor");
    sq_return(be, c);
    return rc;
}

enum si_err sq_bind_account_insert(struct sq_conn *c, const struct account *a, sqlite3_stmt **s)
{
    enum si_err rc = sq_prep(c, &SQL_ACCOUNT_INSERT, s);
    if (rc)
        return rc;
    int b = TEXT(*s, 1, a->id) | TEXT(*s, 2, a->name) | TEXT(*s, 3, a->email);
    b |= sqlite3_bind_int64(*s, 4, a->created);
    if (b) {
        sq_done(*s);
        return sq_fail(c, "bind account");
    }
    return SI_OK;
}

enum si_err sq_bind_contributor_insert(struct sq_conn *c, const struct contributor_row *r,
                                       struct contributor_text *t, sqlite3_stmt **s)
{
    enum si_err rc = contributor_text_encode(r, t);
    if (!rc)
        rc = sq_prep(c, &SQL_CONTRIBUTOR_INSERT, s);
    if (rc)
        return rc;
    int b = TEXT(*s, 1, r->id) | TEXT(*s, 2, r->site_id) | TEXT(*s, 3, r->account_id);
    b |= TEXT(*s, 4, r->email) | TEXT(*s, 5, r->email_key) | TEXT(*s, 6, t->policies);
    b |= sqlite3_bind_int64(*s, 7, r->joined) | TEXT(*s, 8, r->invite_id);
    b |= TEXT(*s, 9, t->locations) | TEXT(*s, 10, r->invited_email);
    if (b) {
        sq_done(*s);
        return sq_fail(c, "bind contributor");
    }
    return SI_OK;
}

enum si_err sq_keys_used(void *be, const struct key_use *uses, size_t n)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s;
    enum si_err rc = sq_borrow_writer(be, &c);
    if (rc)
        return rc;
    /* One transaction for the batch: one commit (one fsync) however many keys were used. */
    rc = sq_prep(c, &SQL_KEY_USED, &s);
    if (!rc)
        rc = sq_begin(c);
    for (size_t i = 0; !rc && i < n; i++) {
        if ((TEXT(s, 1, uses[i].key_id) | sqlite3_bind_int64(s, 2, uses[i].at)) != SQLITE_OK)
            rc = sq_fail(c, "bind key use");
        else
            rc = sq_write_in_txn(c, s, "record key use");
    }
    if (!rc)
        rc = sq_commit(c);
    else
        sq_rollback(c); /* a no-op when BEGIN itself failed */
    sq_return(be, c);
    return rc;
}
