/* The PostgreSQL schema as an ordered list of migration steps, recorded in schema_migrations, and
 * the runner that applies the missing ones in one transaction under an advisory lock.
 * docs/STORAGE.md explains each table and index. Steps are append-only: never edit a shipped one.
 * Same tables, columns and meanings as the SQLite schema, with two differences: seats are counted
 * over a partial index instead of trigger-kept counters (see pg_bulk.c), and identifiers and
 * compared texts use the "C" collation so orderings are bytewise like SQLite's. */
#include "pg_int.h"
#include "store/audit_sql.h"

#include "common/log.h"
#include "core/roles.h"

#include <stdlib.h>

/* Any fixed number, the same in every process: migrate's cross-process mutex. */
#define MIGRATE_LOCK_KEY 0x5349544553544f52LL /* "SITESTOR" */

/* Version 1: every table. Times are bigint milliseconds since the epoch. */
static const char *const schema_v1 =
    "CREATE TABLE accounts ("
    "  id text COLLATE \"C\" PRIMARY KEY, name text NOT NULL, email text NOT NULL,"
    "  created_ms bigint NOT NULL);"
    "CREATE INDEX accounts_email ON accounts(" PG_ASCII_LOWER(
        "email") ");"

                 /* No seat counters (SQLite keeps two here): seats are counted over
                  * invites_site_pending and contributors, so no accept, revoke or expiry has to
                  * lock and update the site row. */
                 "CREATE TABLE sites ("
                 "  id text COLLATE \"C\" PRIMARY KEY, account_id text NOT NULL REFERENCES "
                 "accounts(id),"
                 "  name text NOT NULL, contributor_limit integer NOT NULL, language text NOT NULL,"
                 "  lifetime_days integer NOT NULL, created_ms bigint NOT NULL);"
                 "CREATE INDEX sites_account ON sites(account_id);"

                 "CREATE TABLE api_keys ("
                 "  id text COLLATE \"C\" PRIMARY KEY, account_id text NOT NULL REFERENCES "
                 "accounts(id),"
                 "  name text NOT NULL, key_hash bytea NOT NULL UNIQUE, permissions bigint NOT "
                 "NULL,"
                 "  created_ms bigint NOT NULL, revoked_ms bigint NOT NULL DEFAULT 0);"
                 "CREATE INDEX api_keys_account ON api_keys(account_id);"

                 /* account_id NULL = predefined; position orders those, seq the custom ones
                    (insertion). */
                 "CREATE TABLE roles ("
                 "  id text COLLATE \"C\" PRIMARY KEY, account_id text REFERENCES accounts(id),"
                 "  title text NOT NULL, description text NOT NULL, position integer NOT NULL "
                 "DEFAULT 0,"
                 "  seq bigint GENERATED ALWAYS AS IDENTITY);"
                 "CREATE UNIQUE INDEX roles_account_title ON roles(account_id, " PG_ASCII_LOWER(
                     "title") ");"

                              "CREATE TABLE invites ("
                              "  id text COLLATE \"C\" PRIMARY KEY, site_id text COLLATE \"C\" NOT "
                              "NULL REFERENCES sites(id),"
                              "  email text NOT NULL, email_key text COLLATE \"C\" NOT NULL, "
                              "policy_ids text NOT NULL,"
                              "  inviter_account_id text NOT NULL, status text COLLATE \"C\" NOT "
                              "NULL,"
                              "  accepted_by text COLLATE \"C\" NOT NULL DEFAULT '', token_salt "
                              "bytea NOT NULL UNIQUE,"
                              "  created_ms bigint NOT NULL, updated_ms bigint NOT NULL, "
                              "expires_ms bigint NOT NULL,"
                              "  last_sent_ms bigint NOT NULL DEFAULT 0, staff_id text NOT NULL "
                              "DEFAULT '',"
                              "  purpose text, language text NOT NULL DEFAULT '', send_count "
                              "integer NOT NULL DEFAULT 0);"
                              "CREATE INDEX invites_site_created ON invites(site_id, created_ms, "
                              "id);"
                              "CREATE INDEX invites_site_email ON invites(site_id, email_key, id);"
                              /* Seat counting and the bulk pending lookup read only stored-Pending
                                 rows. */
                              "CREATE INDEX invites_site_pending ON invites(site_id, expires_ms) "
                              "WHERE status = 'Pending';"
                              "CREATE INDEX invites_pending_expires ON invites(expires_ms) WHERE "
                              "status = 'Pending';"

                              "CREATE TABLE contributors ("
                              "  id text COLLATE \"C\" PRIMARY KEY, site_id text NOT NULL "
                              "REFERENCES sites(id),"
                              "  account_id text NOT NULL REFERENCES accounts(id), email text NOT "
                              "NULL,"
                              "  email_key text COLLATE \"C\" NOT NULL, policy_ids text NOT NULL, "
                              "joined_ms bigint NOT NULL,"
                              "  invite_id text NOT NULL DEFAULT '', UNIQUE (site_id, account_id));"
                              "CREATE INDEX contributors_site_email ON contributors(site_id, "
                              "email_key);"

                              /* The mail queue. status: Queued, Sent, Failed, Cancelled. kind: 0
                                 invite, 1 resend. */
                              "CREATE TABLE outbox ("
                              "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
                              "  invite_id text NOT NULL REFERENCES invites(id),"
                              "  kind integer NOT NULL, status text NOT NULL, attempts integer NOT "
                              "NULL DEFAULT 0,"
                              "  due_ms bigint NOT NULL, lease_until_ms bigint NOT NULL DEFAULT 0,"
                              "  last_error text NOT NULL DEFAULT '', created_ms bigint NOT NULL,"
                              "  sent_ms bigint NOT NULL DEFAULT 0);"
                              /* Claiming walks only Queued rows, oldest due first. */
                              "CREATE INDEX outbox_queued_due ON outbox(due_ms, id) WHERE status = "
                              "'Queued';"
                              "CREATE INDEX outbox_invite ON outbox(invite_id, id);";

/* An upsert, so version 3 can bring existing rows to core's texts; on version 2's empty table it
 * is the plain insert that shipped. */
static const struct pg_sql SQL_SEED_ROLE = {
    PG_ROLE_SEED, "INSERT INTO roles (id, account_id, title, description, position)"
                  " VALUES ($1, NULL, $2, $3, $4::integer) ON CONFLICT (id) DO UPDATE SET"
                  " title = excluded.title, description = excluded.description,"
                  " position = excluded.position"};

/* Version 2: the predefined roles of core/roles.h, with their fixed IDs (version 3 reruns it). */
static enum si_err seed_roles(struct pg_conn *c)
{
    size_t n;
    const struct role *r = roles_predefined(&n);
    enum si_err rc = SI_OK;
    for (size_t i = 0; !rc && i < n; i++) {
        struct pg_args a = {0};
        pg_arg(&a, r[i].id);
        pg_arg(&a, r[i].title);
        pg_arg(&a, r[i].description);
        pg_arg_i64(&a, (int64_t)i);
        rc = pg_exec(c, &SQL_SEED_ROLE, &a, "seed role", NULL);
    }
    return rc;
}

/* Version 4: business locations (Wix's locationIds) on invites and contributors, in the
 * ",id1,id2," form of policy_ids ('' is none), and the invited address of contributors. Independent
 * of version 3 (role IDs): each step is applied when it is not recorded, whatever the others. */
static const char *const schema_v4 =
    "ALTER TABLE invites ADD COLUMN location_ids text NOT NULL DEFAULT '';"
    "ALTER TABLE contributors ADD COLUMN location_ids text NOT NULL DEFAULT '';"
    /* Wix's invitedEmail: the invite's address, which the joining account's may differ from. */
    "ALTER TABLE contributors ADD COLUMN invited_email text NOT NULL DEFAULT '';"
    "UPDATE contributors SET invited_email = coalesce((SELECT i.email FROM invites i"
    " WHERE i.id = contributors.invite_id), '') WHERE invite_id <> '';";
/* Version 5 (issue #11): the per-key rate buckets every server on this database shares
 * (store_key_take; core/ratelimit.h holds the rule). SQLite has no such table: one process keeps
 * its buckets in memory. A key's row goes with it. */
static const char *const schema_v5 =
    "CREATE TABLE key_buckets ("
    "  key_id text COLLATE \"C\" PRIMARY KEY REFERENCES api_keys(id) ON DELETE CASCADE,"
    "  tokens double precision NOT NULL, refill_ms bigint NOT NULL);";
/* Version 6 (issue #10): webhooks, as SQLite's version 6 (its comment explains the columns).
 * Deliveries are claimed with FOR UPDATE SKIP LOCKED like the outbox. */
static const char *const schema_v6 =
    "CREATE TABLE webhooks ("
    "  id text COLLATE \"C\" PRIMARY KEY, site_id text COLLATE \"C\" NOT NULL REFERENCES sites(id),"
    "  url text NOT NULL, events bigint NOT NULL, description text NOT NULL DEFAULT '',"
    "  enabled boolean NOT NULL DEFAULT true, disabled_reason text NOT NULL DEFAULT '',"
    "  secret text NOT NULL, old_secret text NOT NULL DEFAULT '',"
    "  old_secret_until_ms bigint NOT NULL DEFAULT 0, failing_since_ms bigint NOT NULL DEFAULT 0,"
    "  created_ms bigint NOT NULL, updated_ms bigint NOT NULL);"
    "CREATE INDEX webhooks_site ON webhooks(site_id, created_ms, id);"
    "CREATE TABLE webhook_events ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, site_id text NOT NULL,"
    "  type integer NOT NULL, order_key text COLLATE \"C\" NOT NULL, payload text NOT NULL,"
    "  created_ms bigint NOT NULL);"
    "CREATE TABLE webhook_deliveries ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  event_id bigint NOT NULL REFERENCES webhook_events(id), webhook_id text COLLATE \"C\" NOT "
    "NULL,"
    "  order_key text COLLATE \"C\" NOT NULL, status text NOT NULL, attempts integer NOT NULL "
    "DEFAULT 0,"
    "  due_ms bigint NOT NULL, lease_until_ms bigint NOT NULL DEFAULT 0,"
    "  last_status integer NOT NULL DEFAULT 0, last_error text NOT NULL DEFAULT '',"
    "  created_ms bigint NOT NULL, updated_ms bigint NOT NULL);"
    "CREATE INDEX webhook_deliveries_queued ON webhook_deliveries(due_ms, id) WHERE status = "
    "'Queued';"
    "CREATE INDEX webhook_deliveries_order ON webhook_deliveries(webhook_id, order_key, id)"
    " WHERE status = 'Queued';"
    "CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(webhook_id, id);";

/* Version 7 (issue #10): the audit log, as SQLite's version 7. */
static const char *const schema_v7 =
    "CREATE TABLE audit_log ("
    "  id bigserial PRIMARY KEY, site_id text COLLATE \"C\" NOT NULL DEFAULT '',"
    "  account_id text COLLATE \"C\" NOT NULL DEFAULT '', action text NOT NULL,"
    "  actor_type text NOT NULL, actor_id text NOT NULL DEFAULT '',"
    "  actor_name text NOT NULL DEFAULT '', actor_email text NOT NULL DEFAULT '',"
    "  target_type text NOT NULL, target_id text NOT NULL, request_id text NOT NULL DEFAULT '',"
    "  time_ms bigint NOT NULL, changes text NOT NULL DEFAULT '{}');"
    "CREATE INDEX audit_log_site_time ON audit_log(site_id, time_ms, id);"
    "CREATE INDEX audit_log_account_time ON audit_log(account_id, time_ms, id)"
    " WHERE site_id = ''";
/* Version 8 (issue #10): Idempotency-Key records, as SQLite's version 8: one per (account,
 * key), a claim while its request runs, then the sealed answer until expires_ms. */
static const char *const schema_v8 =
    "CREATE TABLE idempotency_keys ("
    "  account_id text COLLATE \"C\" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  key text COLLATE \"C\" NOT NULL, fingerprint bytea NOT NULL, owner text NOT NULL,"
    "  state integer NOT NULL, lease_until_ms bigint NOT NULL, expires_ms bigint NOT NULL,"
    "  status integer NOT NULL, body text, PRIMARY KEY (account_id, key));"
    "CREATE INDEX idempotency_keys_expires ON idempotency_keys(expires_ms);";
/* Runs sql with $1 = a, $2 = b (b may be NULL: one parameter). */
static enum si_err exec_pair(struct pg_conn *c, const char *sql, const char *a, const char *b)
{
    const char *values[2] = {a, b};
    return pg_exec_dyn(c, sql, b ? 2 : 1, values, NULL, "rewrite role IDs", NULL);
}

/* One retired ID: its stored form replaced in every role list, its seed row dropped. */
static enum si_err rewrite_alias(void *ctx, const char *from, const char *to, const char *old_id)
{
    struct pg_conn *c = ctx;
    enum si_err rc = exec_pair(c,
                               "UPDATE invites SET policy_ids = replace(policy_ids, $1, $2)"
                               " WHERE strpos(policy_ids, $1) > 0",
                               from, to);
    if (!rc)
        rc = exec_pair(c,
                       "UPDATE contributors SET policy_ids = replace(policy_ids, $1, $2)"
                       " WHERE strpos(policy_ids, $1) > 0",
                       from, to);
    if (!rc)
        rc = exec_pair(c, "DELETE FROM roles WHERE id = $1 AND account_id IS NULL", old_id, NULL);
    return rc;
}

/* Version 3 (issue #15): Wix's own role IDs, as SQLite's version 4. Each retired ID (core's
 * roles_aliases) is replaced in every stored role list (",id1,id2," text) and leaves the roles
 * table; then the predefined rows are brought to core's list (Owner and Account Admin are new). */
static enum si_err wix_role_ids(struct pg_conn *c)
{
    enum si_err rc = policy_text_each_alias(rewrite_alias, c);
    return rc ? rc : seed_roles(c);
}

struct migration {
    int version;
    const char *sql;                       /* may be NULL */
    enum si_err (*run)(struct pg_conn *c); /* may be NULL; runs after sql */
};

/* Version 9 (issue 10): a site's settings (docs/SITE-SETTINGS.md; '' and 0 are "not set") and
 * when an invite's one reminder was queued (0 = never; core/site_settings.h has the rule). The
 * reminder sweep walks Pending invites by expiry (the status and expiry index) joined to sites. */
static const char *const schema_v9 =
    "ALTER TABLE sites ADD COLUMN accept_redirect_url text NOT NULL DEFAULT '';"
    "ALTER TABLE sites ADD COLUMN reminder_days integer NOT NULL DEFAULT 0;"
    "ALTER TABLE sites ADD COLUMN allowed_email_domains text NOT NULL DEFAULT '';"
    "ALTER TABLE invites ADD COLUMN reminded_ms bigint NOT NULL DEFAULT 0;";

/* Version 10 (issue 13): the site owner's console; hashes only, as in SQLite's version 10. */
static const char *const schema_v10 =
    "CREATE TABLE console_signin_tokens ("
    "  token_hash bytea PRIMARY KEY,"
    "  account_id text COLLATE \"C\" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  created_ms bigint NOT NULL, expires_ms bigint NOT NULL, used_ms bigint NOT NULL DEFAULT 0);"
    "CREATE TABLE console_sessions ("
    "  session_hash bytea PRIMARY KEY,"
    "  account_id text COLLATE \"C\" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  created_ms bigint NOT NULL, last_seen_ms bigint NOT NULL, csrf_salt bytea NOT NULL);"
    "CREATE INDEX console_sessions_account ON console_sessions(account_id);";

/* Version 11 (issue 10): the webhook retention sweep's indexes, as SQLite's version 11. The
 * event index also serves the foreign key check when an event is deleted. */
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

/* Version 13 (issue 13): "Email me a link" of the console, its own queue (sqlite_schema.c says
 * why); sealed is the link's token sealed with the server secret until sent or given up. */
static const char *const schema_v13 =
    "CREATE TABLE console_mail ("
    "  id bigserial PRIMARY KEY,"
    "  account_id text COLLATE \"C\" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  account_name text NOT NULL, email text NOT NULL, lang text NOT NULL, sealed bytea,"
    "  status text NOT NULL, attempts integer NOT NULL DEFAULT 0, due_ms bigint NOT NULL,"
    "  lease_until_ms bigint NOT NULL DEFAULT 0, last_error text NOT NULL DEFAULT '',"
    "  created_ms bigint NOT NULL, expires_ms bigint NOT NULL, sent_ms bigint NOT NULL DEFAULT 0);"
    "CREATE INDEX console_mail_due ON console_mail(status, due_ms);";

/* Version 14 (issue 13): a key's display prefix and when it was last used, as SQLite's version
 * 14 (sqlite_schema.c says what each holds). */
static const char *const schema_v14 =
    "ALTER TABLE api_keys ADD COLUMN key_prefix text NOT NULL DEFAULT '';"
    "ALTER TABLE api_keys ADD COLUMN last_used_ms bigint NOT NULL DEFAULT 0;";
/* Version 15 (issue 13): sorting by status reads the site's invites one status at a time in ID
 * order (query_sql.c, status_ranges), stopping when the page is full; expires_ms lets the
 * Pending walk skip overdue rows without reading them. */
static const char *const schema_v15 =
    "CREATE INDEX invites_site_status_id ON invites(site_id, status, id, expires_ms);";
/* Version 16 (issue 14): accept links name the invite's ID (core/token.h), so new invites store
 * no salt (NULL) and the unique salt index, one random B-tree insert per invite, is replaced by
 * a partial one over the old invites' salts, which new rows never enter. */
static const char *const schema_v16 =
    "ALTER TABLE invites DROP CONSTRAINT invites_token_salt_key;"
    "ALTER TABLE invites ALTER COLUMN token_salt DROP NOT NULL;"
    "CREATE UNIQUE INDEX invites_salt ON invites(token_salt) WHERE token_salt IS NOT NULL;";

/* Version 17 (issue 13): invites per site, UTC creation day and stored status, so the console's
 * counts and chart, and every seat check (pg_invites.c), read a few summary rows instead of
 * counting the invites of the site (PostgreSQL spends 0.15-0.5 us a row there: ~50 ms for the
 * console's aggregate at 100,000 invites, 13 ms for the seats of 99,000 pending). SQLite keeps
 * aggregating: it reads the same covering index in process at a fraction of that, and its bulk
 * path stays free of a second write per row.
 * Triggers append signed deltas in the writer's transaction; they never update a shared row, so
 * no writer waits for another here and no lock order can deadlock (an upserted counter would:
 * an accept holding the day's counter waits for the site row a bulk holds, which waits for the
 * counter). A site's count is the sum of its rows; the console sweep (pg_console_sweep) folds
 * the deltas into one compacted row per site, day and status, so the rows stay few.
 * - Inserts and deletes: one statement trigger over the statement's rows (a bulk is one delta
 *   per day and status).
 * - Updates: a row trigger only when status, site or creation day change (WHEN is checked before
 *   any call), so resends, mail and role changes cost nothing here.
 * Stored Pending rows past their expiry (readers see them Expired) are few, since the expiry
 * sweep stores them Expired; the read finds them through invites_site_pending.
 * The triggers are created before the backfill: they lock invites against other writers until
 * the migration commits, so no row is counted twice or missed. */
static const char *const schema_v17 =
    "CREATE TABLE invite_day_counts ("
    "  site_id text COLLATE \"C\" NOT NULL, day bigint NOT NULL,"
    "  status text COLLATE \"C\" NOT NULL, n bigint NOT NULL,"
    "  compacted boolean NOT NULL DEFAULT false);"
    "CREATE INDEX invite_day_counts_site ON invite_day_counts(site_id, day, status) INCLUDE (n);"
    "CREATE INDEX invite_day_counts_deltas ON invite_day_counts(site_id, day, status)"
    "  WHERE NOT compacted;"
    "CREATE FUNCTION invite_day_counts_add() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN"
    "  INSERT INTO invite_day_counts (site_id, day, status, n)"
    "    SELECT site_id, created_ms / 86400000, status, count(*) FROM counts_new GROUP BY 1, 2, 3;"
    "  RETURN NULL; END $f$;"
    "CREATE FUNCTION invite_day_counts_remove() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN"
    "  INSERT INTO invite_day_counts (site_id, day, status, n)"
    "    SELECT site_id, created_ms / 86400000, status, -count(*) FROM counts_old GROUP BY 1, 2, 3;"
    "  RETURN NULL; END $f$;"
    "CREATE FUNCTION invite_day_counts_move() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN"
    "  INSERT INTO invite_day_counts (site_id, day, status, n)"
    "    VALUES (OLD.site_id, OLD.created_ms / 86400000, OLD.status, -1),"
    "    (NEW.site_id, NEW.created_ms / 86400000, NEW.status, 1);"
    "  RETURN NULL; END $f$;"
    "CREATE TRIGGER invites_day_counts_insert AFTER INSERT ON invites"
    "  REFERENCING NEW TABLE AS counts_new FOR EACH STATEMENT"
    "  EXECUTE FUNCTION invite_day_counts_add();"
    "CREATE TRIGGER invites_day_counts_update AFTER UPDATE OF status, created_ms, site_id"
    "  ON invites FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status"
    "  OR OLD.created_ms / 86400000 <> NEW.created_ms / 86400000"
    "  OR OLD.site_id IS DISTINCT FROM NEW.site_id)"
    "  EXECUTE FUNCTION invite_day_counts_move();"
    "CREATE TRIGGER invites_day_counts_delete AFTER DELETE ON invites"
    "  REFERENCING OLD TABLE AS counts_old FOR EACH STATEMENT"
    "  EXECUTE FUNCTION invite_day_counts_remove();"
    "INSERT INTO invite_day_counts (site_id, day, status, n, compacted)"
    "  SELECT site_id, created_ms / 86400000, status, count(*), true FROM invites"
    "  GROUP BY 1, 2, 3;";

/* Version 18 (issue 14), SQLite's 17: a bulk call's invite.created entries in one batch row
 * (store/audit_sql.h). A row's id is its last entry's; the sequence steps by AUDIT_ID_STEP so
 * that the n - 1 ids before it are free for its entries, whatever other servers take at the
 * same time. The entries written before keep their ids, all below the next value. */
static const char *const schema_v18 =
    "ALTER TABLE audit_log ADD COLUMN n integer NOT NULL DEFAULT 1;"
    "DO $d$ BEGIN EXECUTE format('ALTER SEQUENCE %s INCREMENT BY 1024',"
    "  pg_get_serial_sequence('audit_log', 'id')); END $d$;";
_Static_assert(AUDIT_ID_STEP == 1024, "schema_v18 spells the step");
_Static_assert(AUDIT_BATCH_MAX <= AUDIT_ID_STEP, "a batch row's ids fit in one step");

/* Version 19 (issue 14): the text keys that version 1 left in the cluster's default collation
 * become COLLATE "C", as every other key is. A comparison of a C key with a default one has no
 * collation and can use neither index (PG_INVITE_OUTBOX needed an explicit COLLATE for it), and
 * on a cluster made with en_US.UTF-8 every comparison in their indexes went through strcoll
 * (~50 ns more each: docs/SCALING.md, "Collation of the text keys"). Equality is bytewise under
 * both (the collations are deterministic), so no answer changes; no query orders by these
 * columns. A collation change keeps the rows where they are and rebuilds the indexes on the
 * columns, holding each table's exclusive lock while it does. */
static const char *const schema_v19 =
    "ALTER TABLE outbox ALTER COLUMN invite_id TYPE text COLLATE \"C\";"
    "ALTER TABLE contributors ALTER COLUMN site_id TYPE text COLLATE \"C\","
    "  ALTER COLUMN account_id TYPE text COLLATE \"C\";"
    "ALTER TABLE sites ALTER COLUMN account_id TYPE text COLLATE \"C\";"
    "ALTER TABLE api_keys ALTER COLUMN account_id TYPE text COLLATE \"C\";"
    "ALTER TABLE console_mail ALTER COLUMN status TYPE text COLLATE \"C\";"
    /* Indexed through PG_ASCII_LOWER, which is translate(): the same text under any collation. */
    "ALTER TABLE accounts ALTER COLUMN email TYPE text COLLATE \"C\";"
    "ALTER TABLE roles ALTER COLUMN account_id TYPE text COLLATE \"C\","
    "  ALTER COLUMN title TYPE text COLLATE \"C\";";

/* Version 20 (issue 14): version 12's chart index, narrowed to the rows that are not stored
 * Pending. Since version 17 the chart and the counts read invite_day_counts; what still reads
 * this index asks for another status: the median answer time (Used) and Query Invites filtered
 * on Used, Declined, Expired or Deleted, for which PostgreSQL proves the predicate. A
 * new invite is Pending, so a bulk of 1,000 no longer writes 1,000 entries here: 2,000 fewer
 * buffers and 1,060 fewer WAL records per call (bench/pgwrite.py, docs/SCALING.md "Indexes of
 * invites"). Pending pages walk invites_site_created or invites_site_pending, as they did. The
 * build reads the table once under a lock that holds writers off (measure on a copy first). */
static const char *const schema_v20 =
    "DROP INDEX invites_site_status_created;"
    "CREATE INDEX invites_site_status_created ON invites(site_id, status, created_ms, updated_ms)"
    " WHERE status <> 'Pending';";

/* Version 21 (issue 14): the change feed of the API-key cache (pg_listen.c, docs/SECURITY.md
 * "The key cache"). Any statement that changes what a request's key and site lookup reads
 * notifies si_auth at its commit, whoever runs it (a serve, the command line, psql). A
 * statement trigger costs one notification per statement, and only these rare writes pay it.
 * api_keys lists its columns so that recording a key's last use (once a minute per key and
 * server) does not empty every cache; a column added to api_keys must be added here
 * (tests/pg/test_auth_cache_shared.py checks the list against the table). */
static const char *const schema_v21 =
    "CREATE FUNCTION si_auth_changed() RETURNS trigger LANGUAGE plpgsql AS"
    " $$BEGIN PERFORM pg_notify('si_auth', ''); RETURN NULL; END$$;"
    "CREATE TRIGGER api_keys_auth_changed AFTER UPDATE OF id, account_id, name, key_hash,"
    " permissions, created_ms, revoked_ms, key_prefix OR DELETE OR TRUNCATE ON api_keys"
    " FOR EACH STATEMENT EXECUTE FUNCTION si_auth_changed();"
    "CREATE TRIGGER sites_auth_changed AFTER UPDATE OR DELETE OR TRUNCATE ON sites"
    " FOR EACH STATEMENT EXECUTE FUNCTION si_auth_changed();";

/* Version 22 (issue 14): half of each new outbox page kept free. The mail worker's claim
 * leases a run of consecutive rows (up to 1,000) in one statement, which writes a new version of
 * each; on a full page that version goes to another page, with an entry in each of the three
 * indexes. With the room, the lease is a heap-only update on the row's own page, no index
 * entry, and the dead versions are pruned in place. `bench/pgmail.py`, 20,000 queued emails
 * drained: PostgreSQL CPU 30 -> 21 us per email, and the table 395 -> 273 bytes per row after
 * the drain, not more (docs/SCALING.md, "The mail worker's claim on PostgreSQL"). Pages written
 * before keep their fill; nothing is rewritten. */
static const char *const schema_v22 = "ALTER TABLE outbox SET (fillfactor = 50);";

/* Version 23 (issue 14): no foreign keys on the two tables every invite writes. Their checks
 * ran per row inside the server, a trigger and a row lock each (the outbox's on an invite
 * inserted a moment before, the invites' on the site the call holds locked): in a bulk of 1,000
 * the invites insert took 20.0 -> 14.7 ms and the outbox's 10.2 -> 4.7 (bench/pgwrite.py;
 * 14.2 -> 11.9 and 7.5 -> 3.8 in a second pair; docs/SCALING.md "Foreign keys on the write
 * path"). What they
 * guaranteed still holds by construction: an invite is inserted only by a transaction that holds
 * its site's row FOR UPDATE (pg_bulk.c answers SI_ENOTFOUND when that finds no row), an email only
 * for an invite inserted or locked in the same transaction, and no code deletes a site or an
 * invite. tests/pg/test_orphans.py checks that no row is orphaned after every kind of write. */
static const char *const schema_v23 =
    "ALTER TABLE invites DROP CONSTRAINT IF EXISTS invites_site_id_fkey;"
    "ALTER TABLE outbox DROP CONSTRAINT IF EXISTS outbox_invite_id_fkey;";

/* Version 3 of SQLite (accounts_email, the expiry index) is folded into version 1 here: the
 * PostgreSQL schema started after it. */
/* clang-format off */
static const struct migration migrations[] = {
    {1, schema_v1, NULL},
    {2, NULL, seed_roles},
    {3, NULL, wix_role_ids},
    {4, schema_v4, NULL},
    {5, schema_v5, NULL},
    {6, schema_v6, NULL},
    {7, schema_v7, NULL},
    {8, schema_v8, NULL},
    {9, schema_v9, NULL},
    {10, schema_v10, NULL},
    {11, schema_v11, NULL},
    {12, schema_v12, NULL},
    {13, schema_v13, NULL},
    {14, schema_v14, NULL},
    {15, schema_v15, NULL},
    {16, schema_v16, NULL},
    {17, schema_v17, NULL},
    {18, schema_v18, NULL},
    {19, schema_v19, NULL},
    {20, schema_v20, NULL},
    {21, schema_v21, NULL},
    {22, schema_v22, NULL},
    {23, schema_v23, NULL},
};
/* clang-format on */

/* Whether step version is recorded. A step is looked up by its own number, not compared with
 * the newest one: steps written on parallel branches (3 and 4) merge in any order. */
static enum si_err is_recorded(struct pg_conn *c, int version, bool *yes)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT 1 FROM schema_migrations WHERE version = %d", version);
    PGresult *r = PQexec(c->db, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        log_error("store: read schema version: %s", PQresultErrorMessage(r));
        PQclear(r);
        return SI_ESTORE;
    }
    *yes = PQntuples(r) > 0;
    PQclear(r);
    return SI_OK;
}

static enum si_err record_version(struct pg_conn *c, int version)
{
    char sql[160];
    /* Application time is bookkeeping only, so here the database's clock is fine. */
    snprintf(sql, sizeof sql,
             "INSERT INTO schema_migrations (version, applied_ms) VALUES"
             " (%d, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)",
             version);
    return pg_script(c, sql, "record schema version");
}

/* Refuses a database newer than this binary, then applies every step not recorded yet, inside
 * the caller's transaction. */
/* The newest version recorded, 0 for a new database. */
static enum si_err current_version(struct pg_conn *c, int *version)
{
    PGresult *r = PQexec(c->db, "SELECT coalesce(max(version), 0) FROM schema_migrations");
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        log_error("store: read schema version: %s", PQresultErrorMessage(r));
        PQclear(r);
        return SI_ESTORE;
    }
    *version = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return SI_OK;
}

static enum si_err apply_missing(struct pg_conn *c, int *applied)
{
    int version = 0; /* the newest recorded: a database newer than this binary is refused */
    char lock[96];
    /* Taken before anything is read: a concurrent migrate (another process) waits here until
     * this transaction ends, then finds the steps recorded. Released by COMMIT or ROLLBACK. */
    snprintf(lock, sizeof lock, "SELECT pg_advisory_xact_lock(%lld)", (long long)MIGRATE_LOCK_KEY);
    enum si_err rc = pg_script(c, lock, "take the migration lock");
    if (!rc)
        rc = pg_script(c,
                       "SET LOCAL client_min_messages = warning;"
                       "CREATE TABLE IF NOT EXISTS schema_migrations ("
                       "  version integer PRIMARY KEY, applied_ms bigint NOT NULL)",
                       "create schema_migrations");
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
            rc = pg_script(c, m->sql, "migrate");
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

enum si_err pg_migrate(void *be, int *applied)
{
    struct pg_conn *c = NULL;
    *applied = 0;
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    /* PostgreSQL DDL is transactional: a failed step leaves nothing half-made. */
    rc = pg_begin(c);
    if (rc)
        goto out;
    rc = apply_missing(c, applied);
    if (!rc)
        rc = pg_commit(c);
    if (rc) {
        pg_rollback(c);
        *applied = 0;
    }
out:
    pg_return(be, c);
    return rc;
}

enum si_err pg_schema_version(void *be, int *found, int *known)
{
    struct pg_conn *c = NULL;
    *known = migrations[sizeof migrations / sizeof migrations[0] - 1].version;
    *found = 0;
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    rc = current_version(c, found); /* no schema_migrations table: SI_ESTORE, logged */
    pg_return(be, c);
    return rc;
}
