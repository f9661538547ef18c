/* What the PostgreSQL backend's files share: the connection pool, per-connection prepared
 * statements, parameter and column helpers, array literals and the invite row layout. Only
 * src/store/pg_*.c include this (and so libpq-fe.h). */
#ifndef SI_STORE_PG_INT_H
#define SI_STORE_PG_INT_H

#include "common/buf.h"
#include "store/policy_text.h"
#include "store/store_ops.h"
#include "store/txn.h"

#include <libpq-fe.h>
#include <pthread.h>

/* Connections per store; a borrower waits when all are out. Fewer than SQLite's 16: each one is
 * a server process, and several `serve` processes share the server's max_connections. */
#define PG_POOL_MAX   8
#define PG_PARAMS_MAX 20 /* parameters of a fixed statement */
#define PG_ARG_BUF    72 /* formatted number or "\x" + hex of a 32-byte hash, plus NUL */

/* ASCII-only case folding (what core's email key and SQLite's lower()/NOCASE do), independent
 * of the server's locale. The same expression backs the expression indexes. */
#define PG_ASCII_LOWER(x)                                                                          \
    "translate(" x ", 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"

/* Every fixed statement has a slot; it is prepared on a connection at first use as "s<slot>". */
enum pg_stmt_id {
    PG_PING,
    PG_IS_EMPTY,
    PG_ACCOUNT_INSERT,
    PG_ACCOUNT_GET,
    PG_SITE_INSERT,
    PG_SITE_GET,
    PG_ACCOUNT_SITES,
    PG_KEY_INSERT,
    PG_KEY_LOOKUP,
    PG_KEY_SITE_LOOKUP,
    PG_KEY_REVOKE,
    PG_KEY_USED,
    PG_ROLES_LIST,
    PG_ROLE_TITLE_TAKEN,
    PG_ROLE_INSERT,
    PG_ROLE_SEED,
    PG_CONTRIBUTOR_INSERT,
    PG_INVITE_GET,
    PG_INVITE_LOCK,
    PG_INVITE_BY_SALT,
    PG_INVITE_BY_LINK_ID,
    PG_SITE_LOCK,
    PG_TX_BEGIN,
    PG_SEATS_USED,
    PG_BULK_PENDING,
    PG_BULK_GENERIC_PLANS,
    PG_BULK_CONTRIBUTORS,
    PG_BULK_INSERT,
    PG_BULK_OUTBOX,
    PG_INVITE_UPDATE,
    PG_OUTBOX_INSERT,
    PG_OUTBOX_WINDOW,
    PG_OUTBOX_CANCEL,
    PG_OUTBOX_CLAIM,
    PG_ROLE_TITLES,
    PG_OUTBOX_SENT,
    PG_OUTBOX_FAILED,
    PG_OUTBOX_COUNTS,
    PG_OUTBOX_RETRY,
    PG_ANSWER_LOAD,
    PG_ANSWER_LOAD_BY_ID,
    PG_ANSWER_CAS,
    PG_ACCOUNT_BY_EMAIL,
    PG_CONTRIBUTORS_LIST,
    PG_CONTRIBUTOR_SET_ROLES,
    PG_CONTRIBUTOR_SET_LOCATIONS,
    PG_CONTRIBUTOR_REMOVE,
    PG_INVITES_EXPIRE,
    /* pg_settings.c */
    PG_SITE_SETTINGS_LOCK,
    PG_SITE_SETTINGS_SET,
    PG_REMINDERS_CANCEL,
    PG_REMINDERS_QUEUE,
    PG_KEY_BUCKET_LOCK,
    PG_KEY_BUCKET_SET,
    PG_IDEM_CLAIM,
    PG_IDEM_TAKE,
    PG_IDEM_GET,
    PG_IDEM_DONE,
    PG_IDEM_RELEASE,
    PG_IDEM_SWEEP,
    PG_AUDIT_INSERT, /* pg_audit.c */
    PG_AUDIT_BULK,
    PG_CONTRIBUTOR_LOCK,
    /* pg_console.c */
    PG_CONSOLE_LINK_INSERT,
    PG_CONSOLE_LINK_GET,
    PG_CONSOLE_LINK_LOCK,
    PG_CONSOLE_LINK_USE,
    PG_CONSOLE_SESSION_INSERT,
    PG_CONSOLE_SESSION_GET,
    PG_CONSOLE_SESSION_TOUCH,
    PG_CONSOLE_SESSION_DELETE,
    PG_SITE_DAYS,
    PG_STATS_MEDIAN,
    PG_ACCOUNT_KEYS,
    PG_CONSOLE_SWEEP_LINKS,
    PG_CONSOLE_SWEEP_SESSIONS,
    PG_READ_PROBE, /* pg_read.c */
    PG_CONSOLE_SWEEP_MAIL,
    /* pg_console_mail.c */
    PG_CONSOLE_MAIL_ACCOUNT,
    PG_CONSOLE_MAIL_INSERT,
    PG_CONSOLE_MAIL_CLAIM,
    PG_CONSOLE_MAIL_DONE,
    PG_WEBHOOKS_WANTED, /* pg_webhooks.c */
    PG_TX_COMMIT,       /* pg_store.c: pg_pipe_commit */
    PG_WAL_LSN,
    /* pg_tick.c */
    PG_FOLD_DAY_COUNTS,
    PG_YOUNG_STATS,
    PG_STMT_COUNT
};

/* A fixed statement: its slot and its text ($1, $2 ... parameters). */
struct pg_sql {
    enum pg_stmt_id id;
    const char *text;
};

struct pg_read;

/* One server connection and which statements are prepared on it; one thread at a time. */
struct pg_conn {
    PGconn *db;
    struct pg_store *st; /* the pool it belongs to */
    bool prepared[PG_STMT_COUNT];
    bool broken; /* lost its server or reached a read-only one: re-made at the next borrow */
    /* The site the open write transaction changes ("" when none): with --db-read its commit
     * records the commit's WAL position for that site (pg_read.c). */
    char site[SI_ID_LEN];
    /* A standby connection's last look at its server (pg_read.c): replay position, lag, when. */
    uint64_t replay_lsn;
    int64_t lag_ms;
    int64_t probed_ms; /* monotonic; 0 = never */
    /* Whether site hook_site has an enabled webhook for an event of hook_bits, as the open
     * transaction read it with a call's first pipe (pg_bulk.c), so the events' step asks no
     * round trip of its own ("" when nothing is known; cleared when the transaction ends). */
    char hook_site[SI_ID_LEN];
    unsigned hook_bits;
    bool hook_yes;
    struct pg_conn *next_idle;
};

/* A pool on one URL: the backend's (the primary, --db) and, with --db-read, the standbys'. */
struct pg_store {
    char *url;
    char *safe_url; /* the URL without password or query: for log lines */
    pthread_mutex_t mu;
    pthread_cond_t cv;    /* a connection was returned */
    struct pg_conn *idle; /* stack of connections not borrowed */
    int nopen;
    struct pg_conn *all[PG_POOL_MAX];
    /* The primary's pool: the read routing (NULL without --db-read). A standby pool: the routing
     * that admits its connections (pg_read_admit at every borrow). */
    struct pg_read *read;
    bool standby;             /* this pool is --db-read's */
    struct pg_group *group;   /* the primary's group commit of bulk calls (pg_group.c) */
    struct pg_listen *listen; /* the primary's change feed of keys and sites (pg_listen.c) */
};

/* The text parameters of one statement; NULL is SQL NULL. Numbers and byte strings are
 * formatted into buf; long values (arrays) are pointed to and must outlive the call. */
struct pg_args {
    int n;
    const char *v[PG_PARAMS_MAX];
    char buf[PG_PARAMS_MAX][PG_ARG_BUF];
};

/* ---- pool, statements, transactions (pg_store.c) ----------------------------------------- */

/* A pool on url with no connection yet (pg_borrow opens them); free with pg_pool_free. */
struct pg_store *pg_pool_new(const char *url);
/* Closes every connection of a pool and frees it; no connection may be borrowed. NULL is fine. */
void pg_pool_free(struct pg_store *st);
/* Takes a connection for the caller's exclusive use, opening one if the pool has room, else
 * waiting; a connection found broken (PQstatus, or marked by a failed statement) is re-made
 * first. SI_EBUSY (logged: the server is down, restarting or read-only) if none can be had. */
enum si_err pg_borrow(struct pg_store *st, struct pg_conn **out) SI_MUST_USE;
/* Gives a connection back, rolling back a transaction a failed path left open. NULL is fine. */
void pg_return(struct pg_store *st, struct pg_conn *c);

/* Appends one parameter: text (NULL = SQL NULL), a 64-bit integer, a double (exactly, as
 * "%.17g"), or bytes as bytea. */
void pg_arg(struct pg_args *a, const char *text);
void pg_arg_i64(struct pg_args *a, int64_t v);
void pg_arg_f64(struct pg_args *a, double v);
void pg_arg_bytes(struct pg_args *a, const uint8_t *p, size_t n);

/* pg_exec on a connection borrowed for this one statement (its own implicit transaction) and
 * given back: for reads and single writes that need no transaction of their own. */
enum si_err pg_run(struct pg_store *st, const struct pg_sql *q, const struct pg_args *a,
                   const char *what, PGresult **res) SI_MUST_USE;
/* Runs the fixed statement q (preparing it on c at first use) with a's parameters. On SI_OK
 * *res (may be NULL: then discarded) holds the result, which the caller PQclear()s. Unique
 * violations return SI_EEXIST and foreign-key violations SI_ENOTFOUND, unlogged; a lost
 * connection, a server shutting down or starting, or a read-only server (SQLSTATE classes 08,
 * 57P0x, 25006) returns SI_EBUSY (503: try again) and marks c broken; any other failure is
 * logged with what and returns SI_ESTORE. */
enum si_err pg_exec(struct pg_conn *c, const struct pg_sql *q, const struct pg_args *a,
                    const char *what, PGresult **res) SI_MUST_USE;
/* Same for generated text (queries), run unnamed; types are the parameters' type OIDs. */
enum si_err pg_exec_dyn(struct pg_conn *c, const char *sql, int n, const char *const *values,
                        const Oid *types, const char *what, PGresult **res) SI_MUST_USE;
/* Runs a fixed statement and tells how many rows it changed (PQcmdTuples). */
enum si_err pg_exec_count(struct pg_conn *c, const struct pg_sql *q, const struct pg_args *a,
                          const char *what, int64_t *changed) SI_MUST_USE;
/* Runs parameterless SQL text (transaction control, migration scripts); SI_ESTORE logged. */
enum si_err pg_script(struct pg_conn *c, const char *sql, const char *what) SI_MUST_USE;

/* A pipeline: fixed statements sent one after another without waiting, their results read
 * together, so they cost one round trip (libpq's pipeline mode). Inside a transaction the
 * server runs them in order, each seeing the ones before; the first failure aborts the rest.
 * pg_pipe_send copies each statement's parameters as it sends, so they need not outlive the
 * call. After pg_pipe_end succeeded, res[i] is the i-th statement's result (the pipe owns it
 * until pg_pipe_clear); on failure it returns the first statement's error as pg_exec would. */
#define PG_PIPE_MAX 8
struct pg_pipe {
    struct pg_conn *c;
    int n;
    const char *what[PG_PIPE_MAX];
    int prepare[PG_PIPE_MAX]; /* the statement ID prepared first in the pipe, or -1 */
    PGresult *res[PG_PIPE_MAX];
    enum si_err rc; /* the first failure to send */
    /* After pg_pipe_end failed: the first statement that failed or whose result never came
     * (the connection was lost), -1 when the failure was in sending. */
    int failed;
};
void pg_pipe_begin(struct pg_conn *c, struct pg_pipe *p);
/* Sends BEGIN as the pipe's next statement: the transaction starts with the pipe's first
 * round trip instead of one of its own (pg_begin). */
void pg_pipe_send_begin(struct pg_pipe *p);
void pg_pipe_send(struct pg_pipe *p, const struct pg_sql *q, const struct pg_args *a,
                  const char *what);
/* Hands the statements sent so far to the server, which starts on them while the caller builds
 * the rest of the pipe (libpq otherwise keeps up to 64 KB until pg_pipe_end). */
void pg_pipe_flush(struct pg_pipe *p);
enum si_err pg_pipe_end(struct pg_pipe *p) SI_MUST_USE;
/* Sends COMMIT after the statements already in p (begun by the caller, in a transaction), and
 * with --db-read the commit's WAL position: the transaction's last round trip. Ends the pipe,
 * drops its results, and on failure rolls back. *committing tells whether COMMIT may have run
 * (true also when its outcome is unknown), that is whether the failure came from the commit
 * rather than from a statement before it. */
enum si_err pg_pipe_commit(struct pg_pipe *p, bool *committing) SI_MUST_USE;
void pg_pipe_clear(struct pg_pipe *p);

/* BEGIN (READ COMMITTED: each statement sees what committed before it; the row locks taken
 * by the operations make their decisions safe), COMMIT, ROLLBACK. A commit on a connection
 * marked with pg_conn_site while --db-read is on also reads the commit's WAL position in the
 * same round trip and records it for the site (read-your-writes, pg_read.c). */
enum si_err pg_begin(struct pg_conn *c) SI_MUST_USE;
enum si_err pg_commit(struct pg_conn *c) SI_MUST_USE;
void pg_rollback(struct pg_conn *c);

/* ---- reads from standbys (pg_read.c, docs/SCALING.md) ----------------------------------- */

/* Marks the write transaction open on c as changing site_id (its commit is then recorded for
 * the site's reads). A no-op without --db-read. */
void pg_conn_site(struct pg_conn *c, const char *site_id);
/* Whether a commit on c must read its WAL position (c is marked and --db-read is on). */
bool pg_conn_tracked(const struct pg_conn *c);
/* Records lsn, the WAL position at or after c's commit, for c's site; clears the mark. */
void pg_read_committed(struct pg_conn *c, uint64_t lsn);
/* Parses a pg_lsn text ("16/B374D848"); false if malformed. */
bool pg_lsn_parse(const char *text, uint64_t *out);
/* The gate of a standby pool's borrow: SI_OK when c's server has replayed what the calling read
 * needs and lags at most the bound (probing the server when its cached look is stale or not
 * enough); SI_ESTATE (a fallback to the primary, counted) otherwise; SI_EBUSY when the probe
 * failed (c marked broken). */
enum si_err pg_read_admit(struct pg_store *pool, struct pg_conn *c) SI_MUST_USE;
/* Frees the routing state and its standby pool (pg_close). NULL is fine. */
void pg_read_free(struct pg_read *r);
/* The operations table's read_open and read_stats (store_read_replicas, store_read_stats). */
enum si_err pg_read_open(void *be, const char *url, int64_t max_lag_ms);
bool pg_read_stats(void *be, struct store_read_stats *out);
/* The routed reads: the same contracts as pg_invite_get ... pg_audit_list, served by a
 * standby when one is fresh enough for the site, else (and on any standby failure) by the
 * primary. */
enum si_err pg_read_invite_get(void *be, const char *site_id, const char *invite_id,
                               struct invite *out);
enum si_err pg_read_invites_query(void *be, const char *site_id, const struct invite_query *q,
                                  si_ms now, struct invite_page *out);
enum si_err pg_read_seats_used(void *be, const char *site_id, si_ms now, int64_t *used);
enum si_err pg_read_contributors_list(void *be, const char *site_id, size_t max,
                                      struct contributor_row **out, size_t *n);
enum si_err pg_read_audit_list(void *be, const struct audit_query *q, struct audit_page *out);

/* ---- columns and values (pg_store.c) ------------------------------------------------------ */

/* Copies a text column into dst (cap bytes), truncating; NULL reads as "". */
void pg_col_text(const PGresult *r, int row, int col, char *dst, size_t cap);
/* A bigint column; NULL or garbage reads as 0. */
int64_t pg_col_i64(const PGresult *r, int row, int col);
/* A bytea column (hex output) into exactly n bytes; false (dst zeroed) if its length differs. */
bool pg_col_bytes(const PGresult *r, int row, int col, uint8_t *dst, size_t n);

/* A text[] literal being built ("{...}"): start with pg_array_init, add elements, then
 * pg_array_end; data is NUL-terminated. Free with buf_cleanup. */
void pg_array_init(struct buf *b);
/* Appends one element, quoted and escaped; NULL appends SQL NULL. */
void pg_array_add(struct buf *b, const char *s);
/* Appends one element as bytes in hex (for decode(x, 'hex') on the server). */
void pg_array_add_hex(struct buf *b, const uint8_t *p, size_t n);
void pg_array_add_i64(struct buf *b, int64_t v);
void pg_array_end(struct buf *b);

/* ---- the invite row (pg_invites.c) -------------------------------------------------------- */

/* Columns of an invite with its latest delivery, read by pg_read_invite from column base on.
 * Use with PG_INVITE_FROM (the invite is "i", its latest outbox row "o"). */
#define PG_INVITE_COLS PG_INVITE_LEAD_COLS "o.status, o.attempts, o.last_error, i.location_ids"
/* The invites columns PG_INVITE_COLS starts with, each followed by ", ". The outbox claim's pick
 * reads them with i.location_ids; its lease then reads them back as PG_INVITE_COLS, with the
 * leased row as the delivery (pg_outbox.c). */
#define PG_INVITE_LEAD_COLS                                                                        \
    "i.id, i.site_id, i.email, i.email_key, i.policy_ids, i.inviter_account_id, i.status, "        \
    "i.accepted_by, i.token_salt, i.created_ms, i.updated_ms, i.expires_ms, i.last_sent_ms, "      \
    "i.staff_id, i.purpose, i.language, i.send_count, "
#define PG_INVITE_NCOLS 21
/* The latest outbox row: one backward step of the index outbox_invite(invite_id, id) per invite
 * the plan keeps (LATERAL ... LIMIT 1). Both columns are COLLATE "C" (schema version 19): were
 * they not, the comparison would have no collation and could not use the index, and every invite
 * would scan the outbox (docs/SCALING.md, "PostgreSQL write path today"). */
#define PG_INVITE_OUTBOX                                                                           \
    " LEFT JOIN LATERAL (SELECT x.status, x.attempts, x.last_error FROM outbox x"                  \
    " WHERE x.invite_id = i.id ORDER BY x.id DESC LIMIT 1) o ON TRUE"
#define PG_INVITE_FROM " FROM invites i" PG_INVITE_OUTBOX

/* Fills out (which must own nothing) from row of r; out->purpose is heap. */
void pg_read_invite(const PGresult *r, int row, struct invite *out);

/* Runs a one-invite read q with a's parameters on c: SI_OK with out filled, or SI_ENOTFOUND. */
enum si_err pg_invite_read(struct pg_conn *c, const struct pg_sql *q, const struct pg_args *a,
                           struct invite *out) SI_MUST_USE;
/* One invite of a site on c, unlocked; SI_ENOTFOUND when absent. */
enum si_err pg_invite_load(struct pg_conn *c, const char *site_id, const char *id,
                           struct invite *out) SI_MUST_USE;

/* Statements more than one file runs: account and contributor inserts (pg_principals.c), with
 * their parameters appended to a in the statements' order (t: the caller's buffer for
 * the contributor's role and location texts, which must outlive the call; SI_EINVAL if they
 * do not fit). */
extern const struct pg_sql pg_sql_account_insert;
extern const struct pg_sql pg_sql_contributor_insert;
void pg_args_account(struct pg_args *a, const struct account *acct);
/* Adds what an accept link names: the ID's text (version 2) or the salt's bytes (version 1). */
void pg_args_link(struct pg_args *a, const struct token_ref *ref);
enum si_err pg_args_contributor(struct pg_args *a, const struct contributor_row *row,
                                struct contributor_text *t) SI_MUST_USE;

/* ---- operations, by file ------------------------------------------------------------------ */

/* pg_schema.c */
enum si_err pg_migrate(void *be, int *applied);
enum si_err pg_schema_version(void *be, int *found, int *known);

/* pg_principals.c */
enum si_err pg_account_create(void *be, const struct account *a);
enum si_err pg_account_get(void *be, const char *id, struct account *out);
enum si_err pg_site_create(void *be, const struct site *site);
enum si_err pg_site_get(void *be, const char *id, struct site *out);
enum si_err pg_account_sites(void *be, const char *account_id, size_t max, struct site **out,
                             size_t *n);
enum si_err pg_keys_used(void *be, const struct key_use *uses, size_t n);
enum si_err pg_key_create(void *be, const struct api_key_row *k, const uint8_t hash[32]);
enum si_err pg_key_lookup(void *be, const uint8_t hash[32], struct api_key_row *out);
enum si_err pg_key_site_lookup(void *be, const uint8_t hash[32], const char *site_id,
                               struct api_key_row *key, struct site *site, bool *site_found);
enum si_err pg_key_revoke(void *be, const char *id, si_ms now, const struct audit_actor *actor);
enum si_err pg_account_keys(void *be, const char *account_id, size_t max, struct api_key_row **out,
                            size_t *n);

/* pg_console.c */
enum si_err pg_console_link_create(void *be, const uint8_t hash[32], const char *account_id,
                                   si_ms created, si_ms expires);
enum si_err pg_console_link_get(void *be, const uint8_t hash[32], si_ms *used_ms,
                                si_ms *expires_ms);
enum si_err pg_console_signin(void *be, const uint8_t link_hash[32], si_ms now,
                              const uint8_t session_hash[32], struct console_session *sess,
                              enum console_link_state *state);
enum si_err pg_console_session_get(void *be, const uint8_t hash[32], struct console_session *out);
enum si_err pg_console_session_touch(void *be, const uint8_t hash[32], si_ms now);
enum si_err pg_console_session_end(void *be, const uint8_t hash[32]);
enum si_err pg_console_sweep(void *be, const struct console_sweep_bounds *b, int max, int64_t *n);
/* pg_tick.c: the sweeper's one-second tick */
enum si_err pg_counts_fold(void *be, int max, int64_t *n);
enum si_err pg_stats_refresh(void *be, bool *analyzed);
enum si_err pg_site_stats(void *be, const char *site_id, si_ms now, struct site_stats *out);
/* Stores a sign-in link's hash inside the caller's transaction on c. */
enum si_err pg_console_link_insert(struct pg_conn *c, const uint8_t hash[32],
                                   const char *account_id, si_ms created, si_ms expires);
/* pg_console_mail.c */
enum si_err pg_console_mail_queue(void *be, const char *email_key, const uint8_t hash[32],
                                  struct console_mail *m, si_ms now, bool *queued);
enum si_err pg_console_mail_claim(void *be, si_ms now, si_ms lease_ms, struct console_mail *out,
                                  bool *found);
enum si_err pg_console_mail_done(void *be, int64_t id, si_ms now, si_ms due, const char *error);
enum si_err pg_site_counts(void *be, const char *site_id, si_ms now,
                           int64_t counts[SITE_COUNTS_LEN]);
enum si_err pg_key_take(void *be, const char *key_id, double rate, double burst, si_ms now,
                        bool *allowed, long *retry_after_s);
enum si_err pg_roles_list(void *be, const char *account_id, struct role **out, size_t *n);
enum si_err pg_role_create(void *be, const char *account_id, const struct role *r, si_ms now,
                           const struct audit_actor *actor);
enum si_err pg_contributor_add(void *be, const struct contributor_row *c);

/* pg_invites.c */
enum si_err pg_invite_get(void *be, const char *site_id, const char *invite_id, struct invite *out);
enum si_err pg_invite_by_link(void *be, const struct token_ref *ref, struct invite *out);
enum si_err pg_seats_used(void *be, const char *site_id, si_ms now, int64_t *used);
/* Seats in use on c (one statement, so one snapshot). */
enum si_err pg_seats(struct pg_conn *c, const char *site_id, si_ms now, int64_t *used) SI_MUST_USE;
/* The same count sent in a pipeline, and read from its result. */
void pg_seats_send(struct pg_pipe *p, const char *site_id, si_ms now);
int64_t pg_seats_of(const PGresult *r);

/* pg_bulk.c */
enum si_err pg_invites_bulk(void *be, struct bulk_request *req);
/* One whole call in its own transaction on c (committed, or rolled back on error or dry run). */
enum si_err pg_bulk_run(struct pg_conn *c, struct bulk_request *req) SI_MUST_USE;
/* The halves of a call inside the caller's transaction: the site lock, seats, lookups and
 * decisions (pg_bulk_decide), with the writes of invites and emails (pg_bulk_decide_write); then
 * the webhook events and audit entries of n calls of one site (one statement each for all of
 * them; each row its own call's actor and time). */
enum si_err pg_bulk_decide(struct pg_conn *c, struct bulk_request *req, bool begin) SI_MUST_USE;
enum si_err pg_bulk_decide_write(struct pg_conn *c, struct bulk_request *req,
                                 bool begin) SI_MUST_USE;
enum si_err pg_bulk_record(struct pg_conn *c, const struct bulk_request *const *reqs,
                           size_t n) SI_MUST_USE;
/* After pg_bulk_decide of n calls of one site (their items decided, nothing written): the
 * webhook events first, then the created invites and emails, the audit entries and COMMIT in
 * one round trip (pg_pipe_commit, whose *committing it sets); rolls back on any failure. */
enum si_err pg_bulk_write_commit(struct pg_conn *c, const struct bulk_request *const *reqs,
                                 size_t n, bool *committing) SI_MUST_USE;

/* pg_group.c: group commit of bulk calls (Create One is a call of one item), docs/SCALING.md */
struct pg_group *pg_group_new(struct pg_store *st);
/* Runs every queued call, then stops the threads and frees g; NULL is fine. */
void pg_group_free(struct pg_group *g);

/* ---- the change feed of keys and sites (pg_listen.c) ----------------------------------- */

/* A feed for st's primary; its thread starts at the first pg_auth_epoch. */
struct pg_listen *pg_listen_new(struct pg_store *st);
/* Stops the thread and frees the feed. NULL is fine. */
void pg_listen_free(struct pg_listen *l);
/* store_auth_epoch and store_auth_changed (store.h). */
uint64_t pg_auth_epoch(void *be);
void pg_auth_changed(void *be);
void pg_invites_bulk_async(void *be, struct bulk_request *req, store_done_fn done, void *ctx);

/* pg_query.c */
enum si_err pg_invites_query(void *be, const char *site_id, const struct invite_query *q, si_ms now,
                             struct invite_page *out);

/* pg_outbox.c */
enum si_err pg_outbox_claim(void *be, si_ms now, si_ms lease_ms, int max, struct outbox_msg **out,
                            size_t *n);
enum si_err pg_outbox_sent(void *be, const int64_t *ids, size_t n, si_ms now);
enum si_err pg_outbox_failed(void *be, int64_t id, si_ms due, const char *error,
                             const struct invite *gave_up, si_ms now);
enum si_err pg_outbox_counts(void *be, struct outbox_counts *out);
enum si_err pg_outbox_retry(void *be, si_ms now, int64_t *n);

/* pg_changes.c: the SQL steps of the shared change and answer transactions (store/txn.h) */
extern const struct txn_steps pg_txn_steps;

/* pg_contributors.c */
enum si_err pg_contributors_list(void *be, const char *site_id, size_t max,
                                 struct contributor_row **out, size_t *n);
enum si_err pg_contributor_change(void *be, const struct contributor_change *ch);
enum si_err pg_invites_expire(void *be, si_ms now, int max, int64_t *n);

/* pg_idem.c */
enum si_err pg_idem_claim(void *be, const struct idem_claim *c, bool write,
                          struct idem_outcome *out);
enum si_err pg_idem_done(void *be, const struct idem_claim *c, unsigned status, const char *body,
                         size_t len);
enum si_err pg_idem_release(void *be, const struct idem_claim *c);
enum si_err pg_idem_sweep(void *be, si_ms now, int max, int64_t *n);
/* pg_settings.c */
enum si_err pg_reminders_queue(void *be, si_ms now, int max, int64_t *n);
/* The settings transaction's steps (struct txn_steps, pg_settings.c). */
enum si_err pg_step_settings_load(void *conn, const char *site_id, struct site_settings *out);
enum si_err pg_step_settings_write(void *conn, const char *site_id,
                                   const struct site_settings *set);
/* pg_webhooks.c: does a site have an enabled webhook for an event of bits ($1 site, $2 bits;
 * a row when it does). pg_hooks_known keeps such a result on c for the open transaction. */
extern const struct pg_sql pg_sql_webhooks_wanted;
void pg_hooks_known(struct pg_conn *c, const char *site_id, unsigned bits, const PGresult *r);
/* pg_audit.c: the audit log */
/* Writes one entry inside the caller's transaction on c. */
enum si_err pg_audit_add(struct pg_conn *c, const struct audit_entry *e) SI_MUST_USE;
/* The same as a txn step (conn is a struct pg_conn). */
enum si_err pg_audit_add_step(void *conn, const struct audit_entry *e);
/* The invite.created entries of every created item of n bulk calls of one site (one call, or a
 * group commit's), in one statement; each row has its own call's actor and time. */
enum si_err pg_audit_created_calls(struct pg_conn *c, const struct bulk_request *const *reqs,
                                   size_t n) SI_MUST_USE;
/* The same statement sent into the caller's pipe (nothing when no item was created), for the
 * group's last round trip with its COMMIT (pg_pipe_commit). */
void pg_audit_created_send(struct pg_pipe *p, const struct bulk_request *const *reqs, size_t n);
/* Runs q with a's parameters and writes e, in one transaction on a connection of st:
 * SI_ENOTFOUND (nothing written) when q changed no row; a row q returns gives e its account
 * (first column) when e has none. For the admin commands' writes (site, key). */
enum si_err pg_audit_admin_run(struct pg_store *st, const struct pg_sql *q, const struct pg_args *a,
                               const char *what, struct audit_entry *e) SI_MUST_USE;
enum si_err pg_audit_list(void *be, const struct audit_query *q, struct audit_page *out);

#endif
