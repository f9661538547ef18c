/* The SQLite schema as an ordered list of migration steps, recorded in schema_migrations, and
 * the runner that applies the missing ones in one write transaction. docs/STORAGE.md explains
 * each table and index. Steps are append-only: never edit one that has shipped. */
#include "sqlite_int.h"

#include "common/log.h"
#include "core/roles.h"

#include <string.h>

/* Version 1: every table of the service. Times are INTEGER milliseconds since the epoch. */
static const char *const schema_v1 =
    "CREATE TABLE accounts ("
    "  id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL);"

    "CREATE TABLE sites ("
    "  id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id),"
    "  name TEXT NOT NULL, contributor_limit INTEGER NOT NULL, language TEXT NOT NULL,"
    "  lifetime_days INTEGER NOT NULL, created_ms INTEGER NOT NULL,"
    "  seats_pending INTEGER NOT NULL DEFAULT 0, seats_contributors INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX sites_account ON sites(account_id);"

    "CREATE TABLE api_keys ("
    "  id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id),"
    "  name TEXT NOT NULL, key_hash BLOB NOT NULL UNIQUE, permissions INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL, revoked_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX api_keys_account ON api_keys(account_id);"

    /* account_id NULL = predefined. position orders the predefined ones; custom roles list in
     * insertion (rowid) order. Titles are unique per account ignoring ASCII case; the check
     * against predefined titles is done in role_create inside its write transaction. */
    "CREATE TABLE roles ("
    "  id TEXT PRIMARY KEY, account_id TEXT REFERENCES accounts(id),"
    "  title TEXT NOT NULL, description TEXT NOT NULL, position INTEGER NOT NULL DEFAULT 0);"
    "CREATE UNIQUE INDEX roles_account_title ON roles(account_id, title COLLATE NOCASE);"

    /* policy_ids is ",id1,id2,": one text column keeps bulk inserts to one row per invite and
     * makes "contains id" an instr() on a delimited string. Status is the wire name. */
    "CREATE TABLE invites ("
    "  id TEXT PRIMARY KEY, site_id TEXT NOT NULL REFERENCES sites(id),"
    "  email TEXT NOT NULL, email_key TEXT NOT NULL, policy_ids TEXT NOT NULL,"
    "  inviter_account_id TEXT NOT NULL, status TEXT NOT NULL,"
    "  accepted_by TEXT NOT NULL DEFAULT '', token_salt BLOB NOT NULL UNIQUE,"
    "  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL,"
    "  last_sent_ms INTEGER NOT NULL DEFAULT 0, staff_id TEXT NOT NULL DEFAULT '',"
    "  purpose TEXT, language TEXT NOT NULL DEFAULT '', send_count INTEGER NOT NULL DEFAULT 0);"
    /* Default order and dateCreated keyset paging. */
    "CREATE INDEX invites_site_created ON invites(site_id, created_ms, id);"
    /* Pending lookups in bulk, email filters and email keyset paging. */
    "CREATE INDEX invites_site_email ON invites(site_id, email_key, id);"
    /* Seat counting touches only unexpired Pending rows. */
    "CREATE INDEX invites_site_status ON invites(site_id, status, expires_ms);"

    "CREATE TABLE contributors ("
    "  id TEXT PRIMARY KEY, site_id TEXT NOT NULL REFERENCES sites(id),"
    "  account_id TEXT NOT NULL REFERENCES accounts(id), email TEXT NOT NULL,"
    "  email_key TEXT NOT NULL, policy_ids TEXT NOT NULL, joined_ms INTEGER NOT NULL,"
    "  invite_id TEXT NOT NULL DEFAULT '', UNIQUE (site_id, account_id));"
    "CREATE INDEX contributors_site_email ON contributors(site_id, email_key);"

    /* The mail queue. status: Queued, Sent, Failed, Cancelled. kind: 0 invite, 1 resend. */
    "CREATE TABLE outbox ("
    "  id INTEGER PRIMARY KEY, invite_id TEXT NOT NULL REFERENCES invites(id),"
    "  kind INTEGER NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    "  due_ms INTEGER NOT NULL, lease_until_ms INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT NOT NULL DEFAULT '', created_ms INTEGER NOT NULL,"
    "  sent_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX outbox_status_due ON outbox(status, due_ms);"
    "CREATE INDEX outbox_invite ON outbox(invite_id, id);"

    /* Seat counters per site: stored-Pending invites and contributors. Triggers keep them on
     * every update and delete; invites are inserted only by bulk, which adds its count once per
     * call (a per-row trigger made a 1,000-invite call ~1.5 times slower). Seats = these minus the
     * stored-Pending rows already past expiry, which the bulk sweep keeps few; so a seat check
     * costs O(1) + O(recently expired), not O(invites). */
    "CREATE TRIGGER invites_seats_update AFTER UPDATE OF status ON invites"
    " WHEN (OLD.status = 'Pending') <> (NEW.status = 'Pending')"
    " BEGIN UPDATE sites SET seats_pending = seats_pending"
    "   + CASE WHEN NEW.status = 'Pending' THEN 1 ELSE -1 END WHERE id = NEW.site_id; END;"
    "CREATE TRIGGER invites_seats_delete AFTER DELETE ON invites WHEN OLD.status = 'Pending'"
    " BEGIN UPDATE sites SET seats_pending = seats_pending - 1 WHERE id = OLD.site_id; END;"
    "CREATE TRIGGER contributors_seats_insert AFTER INSERT ON contributors"
    " BEGIN UPDATE sites SET seats_contributors = seats_contributors + 1"
    "   WHERE id = NEW.site_id; END;"
    "CREATE TRIGGER contributors_seats_delete AFTER DELETE ON contributors"
    " BEGIN UPDATE sites SET seats_contributors = seats_contributors - 1"
    "   WHERE id = OLD.site_id; END;";

/* An upsert, so version 4 can bring existing rows to core's texts; on version 2's empty table it
 * is the plain insert that shipped. */
static const struct sq_sql SQL_SEED_ROLE = {
    SQ_ROLE_SEED, "INSERT INTO roles (id, account_id, title, description, position)"
                  " VALUES (?1, NULL, ?2, ?3, ?4) ON CONFLICT (id) DO UPDATE SET"
                  " title = excluded.title, description = excluded.description,"
                  " position = excluded.position"};

/* Version 2: the predefined roles of core/roles.h (version 4 reruns it). */
static enum si_err seed_roles(struct sq_conn *c)
{
    size_t n;
    const struct role *r = roles_predefined(&n);
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, &SQL_SEED_ROLE, &s);
    for (size_t i = 0; !rc && i < n; i++) {
        int b = sqlite3_bind_text(s, 1, r[i].id, -1, SQLITE_STATIC);
        b |= sqlite3_bind_text(s, 2, r[i].title, -1, SQLITE_STATIC);
        b |= sqlite3_bind_text(s, 3, r[i].description, -1, SQLITE_STATIC);
        b |= sqlite3_bind_int(s, 4, (int)i);
        rc = b ? sq_fail(c, "bind role") : sq_exec_stmt(c, s, "seed role");
    }
    return rc;
}

/* Version 3: the invitee's side. Accepting finds the account by its address (ASCII case-folded,
 * which is what lower() does without ICU and what core's email key is); the periodic expiry
 * sweep walks Pending invites of every site by expiry. */
static const char *const schema_v3 =
    "CREATE INDEX accounts_email ON accounts(lower(email));"
    "CREATE INDEX invites_status_expires ON invites(status, expires_ms);";

/* Version 5: business locations (Wix's locationIds) on invites and contributors, in the
 * ",id1,id2," form of policy_ids ('' is none), and the invited address of contributors. Independent
 * of version 4 (role IDs): each step is applied when it is not recorded, whatever the others. */
static const char *const schema_v5 =
    "ALTER TABLE invites ADD COLUMN location_ids TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE contributors ADD COLUMN location_ids TEXT NOT NULL DEFAULT '';"
    /* Wix's invitedEmail: the invite's address, which the joining account's may differ from. */
    "ALTER TABLE contributors ADD COLUMN invited_email TEXT NOT NULL DEFAULT '';"
    "UPDATE contributors SET invited_email = coalesce((SELECT i.email FROM invites i"
    " WHERE i.id = contributors.invite_id), '') WHERE invite_id <> '';";
/* Version 6 (issue #10): webhook endpoints, their events (written in the transaction of the
 * change) and one delivery per event and endpoint, claimed by the delivery worker like the
 * outbox. secret: the signing key sealed with the server secret (docs/WEBHOOKS.md). order_key:
 * the invite or contributor an event is about; a delivery waits for the earlier ones of its
 * key and endpoint. AUTOINCREMENT: an event's ID is its message ID and is never reused. */
static const char *const schema_v6 =
    "CREATE TABLE webhooks ("
    "  id TEXT PRIMARY KEY, site_id TEXT NOT NULL REFERENCES sites(id), url TEXT NOT NULL,"
    "  events INTEGER NOT NULL, description TEXT NOT NULL DEFAULT '',"
    "  enabled INTEGER NOT NULL DEFAULT 1, disabled_reason TEXT NOT NULL DEFAULT '',"
    "  secret TEXT NOT NULL, old_secret TEXT NOT NULL DEFAULT '',"
    "  old_secret_until_ms INTEGER NOT NULL DEFAULT 0,"
    "  failing_since_ms INTEGER NOT NULL DEFAULT 0, created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL);"
    "CREATE INDEX webhooks_site ON webhooks(site_id, created_ms, id);"
    "CREATE TABLE webhook_events ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, site_id TEXT NOT NULL, type INTEGER NOT NULL,"
    "  order_key TEXT NOT NULL, payload TEXT NOT NULL, created_ms INTEGER NOT NULL);"
    "CREATE TABLE webhook_deliveries ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  event_id INTEGER NOT NULL REFERENCES webhook_events(id), webhook_id TEXT NOT NULL,"
    "  order_key TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    "  due_ms INTEGER NOT NULL, lease_until_ms INTEGER NOT NULL DEFAULT 0,"
    "  last_status INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '',"
    "  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);"
    "CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, due_ms);"
    "CREATE INDEX webhook_deliveries_order ON webhook_deliveries(webhook_id, order_key, id);"
    "CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(webhook_id, id);";

/* Version 7 (issue #10): the audit log, written in the transaction of each change
 * (core/audit.h). No foreign keys: an entry outlives what it names. id orders entries of one
 * millisecond; (site_id, time_ms, id) serves a site's pages, (account_id, time_ms, id) its
 * account's own entries (keys, roles: site_id ''), partial so that the site entries (nearly
 * all, a bulk call writes 1,000) do not maintain it. Kept for ever: no retention
 * (docs/AUDIT.md). */
static const char *const schema_v7 =
    "CREATE TABLE audit_log ("
    "  id INTEGER PRIMARY KEY, site_id TEXT NOT NULL DEFAULT '',"
    "  account_id TEXT NOT NULL DEFAULT '', action TEXT NOT NULL, actor_type TEXT NOT NULL,"
    "  actor_id TEXT NOT NULL DEFAULT '', actor_name TEXT NOT NULL DEFAULT '',"
    "  actor_email TEXT NOT NULL DEFAULT '', target_type TEXT NOT NULL, target_id TEXT NOT NULL,"
    "  request_id TEXT NOT NULL DEFAULT '', time_ms INTEGER NOT NULL,"
    "  changes TEXT NOT NULL DEFAULT '{}');"
    "CREATE INDEX audit_log_site_time ON audit_log(site_id, time_ms, id);"
    "CREATE INDEX audit_log_account_time ON audit_log(account_id, time_ms, id)"
    " WHERE site_id = ''";
/* Version 8 (issue #10): Idempotency-Key records, one per (account, key): a claim while its
 * request runs, then the answer to replay (sealed: accept-link tags taken out, core/idempotency.h)
 * until expires_ms, when the expiry sweep deletes it. */
static const char *const schema_v8 =
    "CREATE TABLE idempotency_keys ("
    "  account_id TEXT NOT NULL, key TEXT NOT NULL, fingerprint BLOB NOT NULL,"
    "  owner TEXT NOT NULL, state INTEGER NOT NULL, lease_until_ms INTEGER NOT NULL,"
    "  expires_ms INTEGER NOT NULL, status INTEGER NOT NULL, body BLOB,"
    "  PRIMARY KEY (account_id, key));"
    "CREATE INDEX idempotency_keys_expires ON idempotency_keys(expires_ms);";

/* Version 9 (issue 10): a site's settings (docs/SITE-SETTINGS.md; '' and 0 are "not set") and
 * when an invite's one reminder was queued (0 = never; core/site_settings.h has the rule). The
 * reminder sweep walks Pending invites by expiry (the status and expiry index) joined to sites. */
static const char *const schema_v9 =
    "ALTER TABLE sites ADD COLUMN accept_redirect_url TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE sites ADD COLUMN reminder_days INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE sites ADD COLUMN allowed_email_domains TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE invites ADD COLUMN reminded_ms INTEGER NOT NULL DEFAULT 0;";

/* Version 10 (issue 13): the site owner's console. Only BLAKE2b hashes of the sign-in links and
 * session cookies are stored (a copy of the database signs nobody in); used_ms 0 = unused. The
 * CSRF salt keys each session's form token with the server secret (docs/CONSOLE.md). */
static const char *const schema_v10 =
    "CREATE TABLE console_signin_tokens ("
    "  token_hash BLOB PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id),"
    "  created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL,"
    "  used_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE console_sessions ("
    "  session_hash BLOB PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id),"
    "  created_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL, csrf_salt BLOB NOT NULL);"
    "CREATE INDEX console_sessions_account ON console_sessions(account_id);";

/* Version 11 (issue 10): the webhook retention sweep (store_webhook_sweep). It finds finished
 * deliveries by their last try (a partial index: the Queued ones, which it never deletes, stay
 * out of it), then events by age, each checked for a delivery left (the event index). */
static const char *const schema_v11 =
    "CREATE INDEX webhook_deliveries_done ON webhook_deliveries(updated_ms)"
    " WHERE status <> 'Queued';"
    "CREATE INDEX webhook_deliveries_event ON webhook_deliveries(event_id);"
    "CREATE INDEX webhook_events_created ON webhook_events(created_ms);";

/* Version 12 (issue 13): the console's chart (store_site_stats) counts a site's invites of the
 * last 30 days per stored status and day, with their expiry and answer time: this index holds
 * all of it, so each count is one index range that never visits the table. */
static const char *const schema_v12 =
    "CREATE INDEX invites_site_status_created"
    " ON invites(site_id, status, created_ms, expires_ms, updated_ms);";

/* Version 13 (issue 13): "Email me a link" of the console. Its own queue, not the outbox: a
 * sign-in mail is no invite's email and must not show in invites' delivery, counts or webhooks.
 * sealed holds the link's token sealed with the server secret (common/seal.h) until the mail
 * is sent or given up; the database alone never holds a usable link. */
static const char *const schema_v13 =
    "CREATE TABLE console_mail ("
    "  id INTEGER PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id),"
    "  account_name TEXT NOT NULL, email TEXT NOT NULL, lang TEXT NOT NULL, sealed BLOB,"
    "  status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, due_ms INTEGER NOT NULL,"
    "  lease_until_ms INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '',"
    "  created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL,"
    "  sent_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX console_mail_due ON console_mail(status, due_ms);";

/* Version 14 (issue 13): what the console and `key list` show of a key. key_prefix is the key's
 * fixed prefix and the first 6 characters of its random part (about 36 of its 256 bits: enough
 * to tell keys apart, useless for guessing one); last_used_ms is when a request last used it,
 * written at most once a minute per key and server (auth/key_usage.c). Keys made before this
 * step keep '' and 0: the pages show "-" for both. */
static const char *const schema_v14 =
    "ALTER TABLE api_keys ADD COLUMN key_prefix TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE api_keys ADD COLUMN last_used_ms INTEGER NOT NULL DEFAULT 0;";
/* Version 15 (issue 13): sorting by status reads the site's invites one status at a time in ID
 * order (query_sql.c, status_ranges), stopping when the page is full; expires_ms lets the
 * Pending walk skip overdue rows without reading them. */
static const char *const schema_v15 =
    "CREATE INDEX invites_site_status_id ON invites(site_id, status, id, expires_ms);";

/* Version 17 (issue 14): a bulk call's invite.created entries in one batch row
 * (store/audit_sql.h): one row and one index entry per call instead of per invite. Rows before
 * it hold one entry each (n 1). */
static const char *const schema_v17 =
    "ALTER TABLE audit_log ADD COLUMN n INTEGER NOT NULL DEFAULT 1;";

/* Version 18 (issue 14): one B-tree fewer per invite. invites_site_status (site_id, status,
 * expires_ms) served one read: a site's Pending rows already past their expiry (the seat count's
 * correction, the bulk call's sweep, the console's overdue count, the status sort's overdue
 * arm). Those rows are few across all sites, since the sweep stores them Expired, so the
 * sweep's own index with the site appended answers it as one expiry range, covering, and
 * invites_site_status_id (site_id, status, id, expires_ms) covers the per-status counts. The
 * per-site statements name the index (INDEXED BY): with statistics the planner would prefer
 * walking the site's Pending rows. docs/STORAGE.md, "Indexes of invites". */
static const char *const schema_v18 =
    "CREATE INDEX invites_status_expires_site ON invites(status, expires_ms, site_id);"
    "DROP INDEX invites_status_expires;"
    "DROP INDEX invites_site_status;";

/* Version 19 (issue 14): a counter the key cache (auth/key_cache.h) trusts, as PostgreSQL's
 * change feed since its version 21. Every change to what a request's key and site lookup read
 * (SQL_KEY_LOOKUP, SQL_SITE_GET) moves it in its own transaction, whoever writes: serve, the
 * command line, the sqlite3 shell. Not the columns written on the request path (the key's
 * last use, a site's seat counts), which would empty the cache at every write. It starts at a
 * random 48-bit value, so another database's file put in this one's place (a restore of
 * another deployment) does not start where this one's cached entries were read. A later step
 * that adds a column those lookups read must add it to these column lists. */
static const char *const schema_v19 =
    "CREATE TABLE auth_epoch (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);"
    "INSERT INTO auth_epoch (id, n) VALUES (1, (random() & 0xFFFFFFFFFFFF) + 1);"
    "CREATE TRIGGER api_keys_auth_update AFTER UPDATE OF id, account_id, name, key_hash,"
    " permissions, created_ms, revoked_ms, key_prefix ON api_keys"
    " BEGIN UPDATE auth_epoch SET n = n + 1 WHERE id = 1; END;"
    "CREATE TRIGGER api_keys_auth_delete AFTER DELETE ON api_keys"
    " BEGIN UPDATE auth_epoch SET n = n + 1 WHERE id = 1; END;"
    "CREATE TRIGGER sites_auth_update AFTER UPDATE OF id, account_id, name, contributor_limit,"
    " language, lifetime_days, created_ms, accept_redirect_url, reminder_days,"
    " allowed_email_domains ON sites BEGIN UPDATE auth_epoch SET n = n + 1 WHERE id = 1; END;"
    "CREATE TRIGGER sites_auth_delete AFTER DELETE ON sites"
    " BEGIN UPDATE auth_epoch SET n = n + 1 WHERE id = 1; END;";

/* Runs sql with ?1 = a, ?2 = b (b may be NULL: not bound). */
static enum si_err exec_pair(struct sq_conn *c, const char *sql, const char *a, const char *b)
{
    sqlite3_stmt *s = NULL;
    enum si_err rc = SI_OK;
    if (sqlite3_prepare_v2(c->db, sql, -1, &s, NULL) != SQLITE_OK ||
        sqlite3_bind_text(s, 1, a, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        (b && sqlite3_bind_text(s, 2, b, -1, SQLITE_TRANSIENT) != SQLITE_OK) ||
        sqlite3_step(s) != SQLITE_DONE)
        rc = sq_fail(c, "rewrite role IDs");
    sqlite3_finalize(s);
    return rc;
}

/* One retired ID: its stored form replaced in every role list, its seed row dropped. */
static enum si_err rewrite_alias(void *ctx, const char *from, const char *to, const char *old_id)
{
    struct sq_conn *c = ctx;
    enum si_err rc = exec_pair(c,
                               "UPDATE invites SET policy_ids = replace(policy_ids, ?1, ?2)"
                               " WHERE instr(policy_ids, ?1) > 0",
                               from, to);
    if (!rc)
        rc = exec_pair(c,
                       "UPDATE contributors SET policy_ids = replace(policy_ids, ?1, ?2)"
                       " WHERE instr(policy_ids, ?1) > 0",
                       from, to);
    if (!rc)
        rc = exec_pair(c, "DELETE FROM roles WHERE id = ?1 AND account_id IS NULL", old_id, NULL);
    return rc;
}

/* Version 4 (issue #15): Wix's own role IDs. Each retired ID (core's roles_aliases) is replaced
 * in every stored role list (",id1,id2," text) and leaves the roles table; then the predefined
 * rows are brought to core's list: new roles (Owner, Account Admin), Wix's titles and order. */
static enum si_err wix_role_ids(struct sq_conn *c)
{
    enum si_err rc = policy_text_each_alias(rewrite_alias, c);
    return rc ? rc : seed_roles(c);
}

/* Version 16 (issue 14): accept links name the invite's ID (core/token.h), found by the primary
 * key, so new invites store no salt and the unique salt index, one random B-tree insert per
 * invite, goes. Invites made before keep their salts and their version 1 links, found through a
 * partial index that new rows (NULL) never enter. SQLite cannot drop a column's UNIQUE: the
 * table is rebuilt from its own stored text with that one clause changed (so columns another
 * step added survive), its rows copied in order, its indexes and triggers made again. */
#define V16_SALT_OLD "token_salt BLOB NOT NULL UNIQUE"
#define V16_SALT_NEW "token_salt BLOB"

static enum si_err exec_script(struct sq_conn *c, const char *sql);

/* Appends to out, NUL after each, the text of every row of sql (one text column). */
static enum si_err collect_texts(struct sq_conn *c, const char *sql, struct buf *out, size_t *n)
{
    sqlite3_stmt *s = NULL;
    int step = SQLITE_ERROR;
    *n = 0;
    if (sqlite3_prepare_v2(c->db, sql, -1, &s, NULL) == SQLITE_OK) {
        while ((step = sqlite3_step(s)) == SQLITE_ROW) {
            const char *t = (const char *)sqlite3_column_text(s, 0);
            buf_xappend(out, t ? t : "", (t ? strlen(t) : 0) + 1);
            (*n)++;
        }
    }
    sqlite3_finalize(s);
    return step == SQLITE_DONE ? SI_OK : sq_fail(c, "read the schema");
}

/* The CREATE TABLE of invites with the salt's UNIQUE and NOT NULL taken out, into out. */
static enum si_err v16_table_text(struct sq_conn *c, struct buf *out)
{
    struct buf old;
    size_t n = 0;
    buf_init(&old, 0);
    enum si_err rc = collect_texts(
        c, "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'invites'", &old, &n);
    const char *at = !rc && n == 1 ? strstr(old.data, V16_SALT_OLD) : NULL;
    if (!rc && (!at || strstr(at + 1, V16_SALT_OLD))) {
        log_error("store: migration 16: invites has no single \"%s\"", V16_SALT_OLD);
        rc = SI_ESTORE;
    }
    if (!rc) {
        buf_xappend(out, old.data, (size_t)(at - old.data));
        buf_xputs(out, V16_SALT_NEW);
        buf_xputs(out, at + strlen(V16_SALT_OLD));
        buf_xappend(out, "", 1);
    }
    buf_cleanup(&old);
    return rc;
}

static enum si_err salt_off_the_write_path(struct sq_conn *c)
{
    struct buf table, extras;
    size_t nextras = 0;
    buf_init(&table, 0);
    buf_init(&extras, 0);
    enum si_err rc = v16_table_text(c, &table);
    /* Indexes before triggers, each in the order it was made. */
    if (!rc)
        rc = collect_texts(c,
                           "SELECT sql FROM sqlite_schema WHERE tbl_name = 'invites' AND sql IS NOT"
                           " NULL AND type IN ('index', 'trigger') ORDER BY type, rowid",
                           &extras, &nextras);
    /* With foreign keys on, dropping invites counts every outbox row as a violation; deferred,
     * the count drops again as the same IDs go back in, and the commit checks it is zero. The
     * drop removes the triggers before its implicit delete, so no seat counter moves. */
    if (!rc)
        rc = exec_script(c, "PRAGMA defer_foreign_keys = ON;"
                            "CREATE TEMP TABLE invites_v16 AS SELECT * FROM invites ORDER BY rowid;"
                            "DROP TABLE invites;");
    if (!rc)
        rc = exec_script(c, table.data);
    if (!rc)
        rc = exec_script(c, "INSERT INTO invites SELECT * FROM temp.invites_v16;"
                            "DROP TABLE temp.invites_v16;");
    const char *next = extras.data;
    for (size_t i = 0; !rc && i < nextras; i++, next += strlen(next) + 1)
        rc = exec_script(c, next);
    if (!rc)
        rc = exec_script(c, "CREATE UNIQUE INDEX invites_salt ON invites(token_salt)"
                            " WHERE token_salt IS NOT NULL;");
    buf_cleanup(&extras);
    buf_cleanup(&table);
    return rc;
}

struct migration {
    int version;
    const char *sql;                       /* may be NULL */
    enum si_err (*run)(struct sq_conn *c); /* may be NULL; runs after sql */
};

static const struct migration migrations[] = {
    {1, schema_v1, NULL},   {2, NULL, seed_roles},
    {3, schema_v3, NULL},   {4, NULL, wix_role_ids},
    {5, schema_v5, NULL},   {6, schema_v6, NULL},
    {7, schema_v7, NULL},   {8, schema_v8, NULL},
    {9, schema_v9, NULL},   {10, schema_v10, NULL},
    {11, schema_v11, NULL}, {12, schema_v12, NULL},
    {13, schema_v13, NULL}, {14, schema_v14, NULL},
    {15, schema_v15, NULL}, {16, NULL, salt_off_the_write_path},
    {17, schema_v17, NULL}, {18, schema_v18, NULL},
    {19, schema_v19, NULL},
};

static enum si_err exec_script(struct sq_conn *c, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(c->db, sql, NULL, NULL, &err) == SQLITE_OK)
        return SI_OK;
    log_error("store: migration failed: %s", err ? err : sqlite3_errmsg(c->db));
    sqlite3_free(err);
    return sq_err(c->db, sqlite3_extended_errcode(c->db));
}

/* Whether step version is recorded. A step is looked up by its own number, not compared with
 * the newest one: steps written on parallel branches (4 and 5) merge in any order. */
static enum si_err is_recorded(struct sq_conn *c, int version, bool *yes)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(c->db, "SELECT 1 FROM schema_migrations WHERE version = ?1", -1, &s,
                                NULL);
    if (rc == SQLITE_OK && sqlite3_bind_int(s, 1, version) == SQLITE_OK) {
        int step = sqlite3_step(s);
        if (step == SQLITE_ROW || step == SQLITE_DONE) {
            *yes = step == SQLITE_ROW;
            sqlite3_finalize(s);
            return SI_OK;
        }
    }
    enum si_err err = sq_fail(c, "read schema version");
    sqlite3_finalize(s);
    return err;
}

static enum si_err record_version(struct sq_conn *c, int version)
{
    sqlite3_stmt *s = NULL;
    enum si_err rc = SI_OK;
    /* Application time is bookkeeping only, so here the database's clock is fine. */
    if (sqlite3_prepare_v2(
            c->db,
            "INSERT INTO schema_migrations (version, applied_ms)"
            " VALUES (?1, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))",
            -1, &s, NULL) != SQLITE_OK ||
        sqlite3_bind_int(s, 1, version) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE)
        rc = sq_fail(c, "record schema version");
    sqlite3_finalize(s);
    return rc;
}

/* Refuses a database newer than this binary, then applies every step not recorded yet, inside
 * the caller's transaction. */
/* The newest version recorded, 0 for a new database. */
static enum si_err current_version(struct sq_conn *c, int *version)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(c->db, "SELECT coalesce(max(version), 0) FROM schema_migrations",
                                -1, &s, NULL);
    if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
        *version = sqlite3_column_int(s, 0);
        sqlite3_finalize(s);
        return SI_OK;
    }
    enum si_err err = sq_fail(c, "read schema version");
    sqlite3_finalize(s);
    return err;
}

static enum si_err apply_missing(struct sq_conn *c, int *applied)
{
    int version = 0; /* the newest recorded: a database newer than this binary is refused */
    enum si_err rc = exec_script(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                    "  version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)");
    if (!rc)
        rc = current_version(c, &version);
    if (!rc)
        rc = store_schema_check(version,
                                migrations[sizeof migrations / sizeof migrations[0] - 1].version);
    for (size_t i = 0; !rc && i < sizeof migrations / sizeof migrations[0]; i++) {
        const struct migration *m = &migrations[i];
        bool done = false;
        rc = is_recorded(c, m->version, &done);
        if (rc || done)
            continue;
        if (m->sql)
            rc = exec_script(c, m->sql);
        if (!rc && m->run)
            rc = m->run(c);
        if (!rc)
            rc = record_version(c, m->version);
        if (!rc) {
            (*applied)++;
            log_info("store: applied schema migration %d", m->version);
        }
    }
    return rc;
}

enum si_err sq_migrate(void *be, int *applied)
{
    struct sq_conn *c = NULL;
    *applied = 0;
    enum si_err rc = sq_borrow_writer(be, &c);
    if (rc)
        return rc;
    /* One write transaction around the whole run: a second process migrating at the same time
     * waits on BEGIN IMMEDIATE, then finds nothing left to do. */
    rc = sq_begin(c);
    if (rc)
        goto out;
    rc = apply_missing(c, applied);
    if (!rc)
        rc = sq_commit(c);
    if (rc) {
        sq_rollback(c);
        *applied = 0;
    }
    /* A new file's migrations leave ~470 KB of schema pages in the writer's cache that no
     * request reads again soon; the writer fills its cache with what requests read instead. */
    if (*applied > 0)
        sqlite3_db_release_memory(c->db);
out:
    sq_return(be, c);
    return rc;
}

enum si_err sq_schema_version(void *be, int *found, int *known)
{
    struct sq_conn *c = NULL;
    *known = migrations[sizeof migrations / sizeof migrations[0] - 1].version;
    *found = 0;
    enum si_err rc = sq_borrow(be, &c);
    if (rc)
        return rc;
    rc = current_version(c, found); /* no schema_migrations table: SI_ESTORE, logged */
    sq_return(be, c);
    return rc;
}
