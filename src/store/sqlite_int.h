/* What the SQLite backend's files share: the connection pool, the per-connection statement
 * cache, error and column helpers, the invite row layout, and what the sqlite_*.c files call in
 * each other. Only src/store/sqlite_*.c include this (and so sqlite3.h). Files, lowest first:
 * sqlite_store.c (the frame), then invites, outbox, principals, contributors, schema, query,
 * bulk, changes, group (group commit), and sqlite_backend.c (the operations table). */
#ifndef SI_STORE_SQLITE_INT_H
#define SI_STORE_SQLITE_INT_H

#include "store/policy_text.h"
#include "store/store_ops.h"
#include "store/txn.h"

#include <pthread.h>
#include <sqlite3.h>

#define SQ_POOL_MAX          16   /* connections per store; a borrower waits when all are out */
#define SQ_BUSY_TIMEOUT_MS   5000 /* how long a writer waits for another's write lock */
#define SQ_BUSY_SHORT_TRIES  200  /* tries with short sleeps before 1 ms ones */
#define SQ_BUSY_SHORT_US     50   /* the short sleep (microseconds) */
#define SQ_STR_(x)           #x
#define SQ_STR(x)            SQ_STR_(x)
#define SQ_CACHE_KIB         4096    /* page cache of a reader connection (KiB) */
#define SQ_PAGE_SIZE         8192    /* bytes per page of a new database file */
#define SQ_WRITER_CACHE_KIB  16384   /* the writer's: random index pages of bulk inserts stay hot */
#define SQ_CKPT_BYTES        4194304 /* WAL bytes that wake the checkpointer early */
#define SQ_CKPT_IDLE_MS      1000    /* the checkpointer also runs this often when the WAL grew */
#define SQ_WAL_RESTART_BYTES 33554432 /* WAL bytes past which the log is started over */
#define SQ_WAL_LIMIT_BYTES   67108864 /* WAL file size kept after the log starts over */
#define SQ_DYN_CACHE         32       /* generated query statements kept prepared per connection */

/* Every fixed statement of the backend has a slot in each connection's cache. */
enum sq_stmt_id {
    SQ_BEGIN,
    SQ_COMMIT,
    SQ_ROLLBACK,
    SQ_PING,
    SQ_IS_EMPTY,
    SQ_ACCOUNT_INSERT,
    SQ_ACCOUNT_GET,
    SQ_SITE_INSERT,
    SQ_SITE_GET,
    SQ_ACCOUNT_SITES,
    SQ_KEY_INSERT,
    SQ_KEY_LOOKUP,
    SQ_KEY_REVOKE,
    SQ_KEY_USED,
    SQ_AUTH_EPOCH,
    SQ_ROLES_LIST,
    SQ_ROLE_TITLE_TAKEN,
    SQ_ROLE_INSERT,
    SQ_ROLE_SEED,
    SQ_ROLE_TITLE,
    SQ_CONTRIBUTOR_INSERT,
    SQ_INVITE_GET,
    SQ_INVITE_BY_SALT,
    SQ_INVITE_BY_LINK_ID,
    SQ_INVITE_PENDING_BY_EMAIL,
    SQ_CONTRIBUTOR_BY_EMAIL,
    SQ_BULK_KNOWN_KEYS,
    SQ_INVITE_INSERT,
    SQ_INVITE_INSERT_8,
    SQ_INVITE_INSERT_32,
    SQ_INVITE_INSERT_128,
    SQ_INVITE_UPDATE,
    SQ_SEATS_USED,
    SQ_INVITES_SWEEP,
    SQ_SEATS_ADD,
    SQ_BULK_OUTBOX,
    SQ_OUTBOX_INSERT,
    SQ_OUTBOX_WINDOW,
    SQ_OUTBOX_CANCEL,
    SQ_OUTBOX_DUE,
    SQ_OUTBOX_LEASE,
    SQ_OUTBOX_MSG,
    SQ_OUTBOX_SENT,
    SQ_OUTBOX_FAILED,
    SQ_OUTBOX_COUNTS,
    SQ_OUTBOX_OLDEST,
    SQ_OUTBOX_RETRY,
    /* sqlite_changes.c, sqlite_contributors.c */
    SQ_ANSWER_CAS,
    SQ_ACCOUNT_BY_EMAIL,
    SQ_CONTRIBUTORS_LIST,
    SQ_CONTRIBUTOR_GET,
    SQ_CONTRIBUTOR_SET_ROLES,
    SQ_CONTRIBUTOR_SET_LOCATIONS,
    SQ_CONTRIBUTOR_REMOVE,
    SQ_INVITES_EXPIRE,
    /* sqlite_idem.c */
    SQ_IDEM_GET,
    SQ_IDEM_PUT,
    SQ_IDEM_DONE,
    SQ_IDEM_RELEASE,
    SQ_IDEM_SWEEP,
    /* sqlite_settings.c */
    SQ_SITE_SETTINGS_LOAD,
    SQ_SITE_SETTINGS_SET,
    SQ_REMINDERS_CANCEL,
    SQ_REMINDERS_DUE,
    SQ_AUDIT_INSERT, /* sqlite_audit.c */
    SQ_AUDIT_INSERT_BATCH,
    /* sqlite_console.c */
    SQ_CONSOLE_LINK_INSERT,
    SQ_CONSOLE_LINK_GET,
    SQ_CONSOLE_LINK_USE,
    SQ_CONSOLE_SESSION_INSERT,
    SQ_CONSOLE_SESSION_GET,
    SQ_CONSOLE_SESSION_TOUCH,
    SQ_CONSOLE_SESSION_DELETE,
    SQ_SITE_COUNTS,
    SQ_SITE_OVERDUE,
    SQ_STATS_BEGIN,
    SQ_STATS_DAYS,
    SQ_STATS_MEDIAN,
    SQ_ACCOUNT_KEYS,
    SQ_CONSOLE_SWEEP_LINKS,
    SQ_CONSOLE_SWEEP_SESSIONS,
    SQ_CONSOLE_SWEEP_MAIL,
    /* sqlite_console_mail.c */
    SQ_CONSOLE_MAIL_ACCOUNT,
    SQ_CONSOLE_MAIL_INSERT,
    SQ_CONSOLE_MAIL_CLAIM,
    SQ_CONSOLE_MAIL_DONE,
    SQ_STMT_COUNT
};

/* A fixed statement: its slot and its text. Each file defines its own as static constants. */
struct sq_sql {
    enum sq_stmt_id id;
    const char *text;
};

/* A generated statement (queries) kept prepared under its text. */
struct sq_dyn {
    char *sql;
    sqlite3_stmt *st;
};

/* One connection and the statements prepared on it; used by one thread at a time. */
struct sq_conn {
    sqlite3 *db;
    sqlite3_stmt *stmts[SQ_STMT_COUNT];
    struct sq_dyn dyn[SQ_DYN_CACHE];
    unsigned dyn_next; /* round-robin victim when the cache is full */
    struct sq_conn *next_idle;
};

/* The backend state: the file, one writer connection and a pool of readers. Every write goes
 * through the one writer: SQLite runs one write at a time anyway, and a single writer keeps its
 * page cache warm (a connection's cache is dropped whenever another connection commits). */
struct sq_store {
    char *path;
    pthread_mutex_t mu;
    pthread_cond_t cv;    /* a reader was returned */
    struct sq_conn *idle; /* stack of readers not borrowed */
    int nopen;
    struct sq_conn *all[SQ_POOL_MAX];
    struct sq_conn *writer;
    pthread_cond_t write_cv; /* the writer was returned */
    uint64_t write_next, write_serving;
    /* The checkpointer thread: it copies the WAL into the database off the request path. */
    pthread_t ckpt_thread;
    bool ckpt_started, ckpt_stop;
    int wal_frames; /* frames in the WAL after the latest commit (under mu) */
    int ckpt_base;  /* frames the WAL held when the last checkpoint ran (under mu) */
    /* SQ_CKPT_BYTES and SQ_WAL_RESTART_BYTES in frames of this file's page size (a file keeps
     * the page size it was made with), set with the writer (under mu). */
    int ckpt_frames, restart_frames;
    pthread_cond_t ckpt_cv; /* wakes the checkpointer */
    /* Group commit (sqlite_group.c): calls queue here, and the group thread runs every queued
     * call in one transaction. */
    struct sq_job *jobs;       /* queued, not yet taken (under mu) */
    struct sq_job **jobs_tail; /* where the next call is queued (under mu) */
    pthread_t group_thread;
    bool group_started, group_stop; /* under mu */
    pthread_cond_t group_cv;        /* a call was queued, or stop was asked */
    /* This open store's number in the process (from 1): the high bits of its auth epochs
     * (sq_auth_epoch), so two stores of one process never return the same epoch. */
    uint64_t auth_tag;
};

/* ---- the state, pool, statements, transactions (sqlite_store.c) -------------------------- */

/* Opens the database file path (one writer connection at once, so a bad path fails here) and
 * starts the checkpointer. SI_ESTORE (logged) on failure. */
enum si_err sq_store_open(const char *path, struct sq_store **out) SI_MUST_USE;
/* Stops the checkpointer and closes every connection; NULL is accepted. The group thread must
 * be stopped first (sq_group_stop). */
void sq_store_close(struct sq_store *st);

/* Takes a connection for the caller's exclusive use, opening one if the pool has room, else
 * waiting for one. SI_ESTORE (logged) if a new connection cannot be opened. */
enum si_err sq_borrow(struct sq_store *st, struct sq_conn **out) SI_MUST_USE;
/* Takes the writer connection, after every writer of this process that asked before (FIFO);
 * writers in other processes are waited for by BEGIN IMMEDIATE's busy timeout. Write
 * operations use it and give it back with sq_return. SI_ESTORE if it cannot be opened. */
enum si_err sq_borrow_writer(struct sq_store *st, struct sq_conn **out) SI_MUST_USE;
/* Gives a connection (reader or writer) back; rolls back a transaction a failed path left open.
 * NULL is accepted. */
void sq_return(struct sq_store *st, struct sq_conn *c);

/* The prepared statement of q on c (prepared on first use, then reused). Use it, then call
 * sq_done. SI_ESTORE (logged) if it does not prepare. */
enum si_err sq_prep(struct sq_conn *c, const struct sq_sql *q, sqlite3_stmt **out) SI_MUST_USE;
/* Same for generated text, cached by its exact text. */
enum si_err sq_prep_dyn(struct sq_conn *c, const char *sql, sqlite3_stmt **out) SI_MUST_USE;
/* Resets a statement and clears its bindings for the next user; NULL is accepted. */
void sq_done(sqlite3_stmt *s);

/* The error of a failed SQLite call on db (NULL: rc alone): SI_EFULL for a full disk (SQLITE_FULL,
 * or an I/O error whose errno is ENOSPC or EDQUOT: a WAL append, a checkpoint, the -shm file),
 * SI_ESTORE for anything else. Logs nothing. */
enum si_err sq_err(sqlite3 *db, int rc);
/* Logs what failed with sqlite3_errmsg and returns sq_err's code (SI_EFULL or SI_ESTORE). */
enum si_err sq_fail(struct sq_conn *c, const char *what);
/* Maps a failed step: unique/primary-key violations to SI_EEXIST, foreign-key violations to
 * SI_ENOTFOUND (both unlogged), anything else to sq_fail. */
enum si_err sq_constraint(struct sq_conn *c, int rc, const char *what);
/* Runs a statement that returns no rows; SI_ESTORE (logged) on failure. */
enum si_err sq_exec_stmt(struct sq_conn *c, sqlite3_stmt *s, const char *what) SI_MUST_USE;

/* On the writer: BEGIN IMMEDIATE (waits up to SQ_BUSY_TIMEOUT_MS for another process's write
 * lock), COMMIT, ROLLBACK. */
enum si_err sq_begin(struct sq_conn *c) SI_MUST_USE;
enum si_err sq_commit(struct sq_conn *c) SI_MUST_USE;
void sq_rollback(struct sq_conn *c);
/* Runs one bound writing statement in its own write transaction and resets it; constraint
 * failures map as in sq_constraint. */
enum si_err sq_write_stmt(struct sq_conn *c, sqlite3_stmt *s, const char *what) SI_MUST_USE;
/* Runs one bound writing statement inside the caller's transaction and resets it; constraint
 * failures map as in sq_constraint. */
enum si_err sq_write_in_txn(struct sq_conn *c, sqlite3_stmt *s, const char *what) SI_MUST_USE;

/* A list read: q binds ?1 = key and ?2 = max; each row becomes one element of size bytes. */
struct sq_list {
    const struct sq_sql *q;
    const char *key;
    size_t max;
    size_t size;
    void (*read)(sqlite3_stmt *s, void *elem); /* fills one element from the current row */
    const char *what;                          /* for the log line on failure */
};
#define SQ_LIST_INITIAL 16 /* array slots before the first growth */

/* Runs l on a borrowed reader: *out (malloc'ed, caller frees; NULL when empty) gets the rows
 * and *n their count. SI_ESTORE (logged) on failure, with nothing handed over. */
enum si_err sq_list_rows(struct sq_store *st, const struct sq_list *l, void **out,
                         size_t *n) SI_MUST_USE;

/* Copies a text column into dst (cap bytes), truncating; NULL reads as "". */
void sq_col_text(sqlite3_stmt *s, int col, char *dst, size_t cap);

/* ---- the invite row and seats (sqlite_invites.c) ---------------------------------------- */

/* Columns of an invite with its latest delivery, read by sq_read_invite from column 0 on.
 * Use with SQ_INVITE_FROM (which names the invite "i" and its latest outbox row "o"). */
#define SQ_INVITE_COLS                                                                             \
    "i.id, i.site_id, i.email, i.email_key, i.policy_ids, i.inviter_account_id, i.status, "        \
    "i.accepted_by, i.token_salt, i.created_ms, i.updated_ms, i.expires_ms, i.last_sent_ms, "      \
    "i.staff_id, i.purpose, i.language, i.send_count, o.status, o.attempts, o.last_error, "        \
    "i.location_ids"
#define SQ_INVITE_NCOLS 21
#define SQ_INVITE_FROM  " FROM invites i" SQ_INVITE_LATEST_EMAIL
/* The join of SQ_INVITE_FROM after "invites i" (and any INDEXED BY). */
#define SQ_INVITE_LATEST_EMAIL                                                                     \
    " LEFT JOIN outbox o ON o.id = (SELECT max(x.id) FROM outbox x WHERE x.invite_id = i.id)"

/* Fills out (which must own nothing) from the current row; out->purpose is heap. */
void sq_read_invite(sqlite3_stmt *s, struct invite *out);
/* One invite of a site on c, with its latest delivery; SI_ENOTFOUND when absent. Release out
 * with invite_cleanup. */
enum si_err sq_invite_load(struct sq_conn *c, const char *site_id, const char *id,
                           struct invite *out) SI_MUST_USE;
/* The invite of an accept link's salt on c; SI_ENOTFOUND when none. */
enum si_err sq_invite_load_by_link(struct sq_conn *c, const struct token_ref *ref,
                                   struct invite *out) SI_MUST_USE;
/* The site's seat counters (stored-Pending invites plus contributors) and how many of those
 * Pending rows are already past expiry at now (lazy expiry: they hold no seat); 0 and 0 for an
 * unknown site. */
enum si_err sq_seat_counts(struct sq_conn *c, const char *site_id, si_ms now, int64_t *counted,
                           int64_t *expired) SI_MUST_USE;

/* ---- rows other files write (sqlite_outbox.c, sqlite_principals.c) ------------------------- */

/* Queues one email of kind for the invite, due now, inside the caller's transaction. */
enum si_err sq_outbox_add(struct sq_conn *c, const char *invite_id, enum outbox_kind kind,
                          si_ms now) SI_MUST_USE;
/* Cancels the invite's Queued emails (Sent and Failed ones are history), inside the caller's
 * transaction. */
enum si_err sq_outbox_cancel(struct sq_conn *c, const char *invite_id) SI_MUST_USE;
/* Prepare the insert of an account or a contributor on c and bind the row (t is the caller's
 * buffer for the contributor's role and location texts, bound until the statement runs); the
 * caller then runs *s with sq_write_stmt or sq_write_in_txn. SI_ESTORE (logged) on failure. */
enum si_err sq_bind_account_insert(struct sq_conn *c, const struct account *a,
                                   sqlite3_stmt **s) SI_MUST_USE;
enum si_err sq_bind_contributor_insert(struct sq_conn *c, const struct contributor_row *r,
                                       struct contributor_text *t, sqlite3_stmt **s) SI_MUST_USE;

/* ---- bulk (sqlite_bulk.c) and group commit (sqlite_group.c) -------------------------------- */

/* The seats of one site while a run of bulk calls for it is decided. The transaction holds the
 * write lock, so nobody else can take a seat meanwhile: seats are counted once per run, then
 * tracked in memory, and the counter is written once at the end of the run. */
struct sq_site_run {
    const char *site_id; /* NULL before the first call */
    int64_t used, before;
};

/* Starts a run for the site of req inside the caller's write transaction: counts its seats,
 * storing Expired on lazily expired invites first when there are any. */
enum si_err sq_site_run_begin(struct sq_conn *c, struct sq_site_run *run,
                              const struct bulk_request *req) SI_MUST_USE;
/* Ends a run: adds the seats it took to the site's counter. A run never begun is fine. */
enum si_err sq_site_run_end(struct sq_conn *c, const struct sq_site_run *run) SI_MUST_USE;
/* Decides (core/bulk_plan.h) and writes every item of req in order, inside the caller's write
 * transaction, taking seats from run. On error the caller rolls back. */
enum si_err sq_bulk_call(struct sq_conn *c, struct bulk_request *req,
                         struct sq_site_run *run) SI_MUST_USE;

/* Prepares the group commit queue of a new store (before any call). */
void sq_group_init(struct sq_store *st);
/* Stops the group thread after it ran every queued call (store close). */
void sq_group_stop(struct sq_store *st);

/* The SQL steps of the shared change and answer transactions (sqlite_changes.c, store/txn.h). */
extern const struct txn_steps sq_txn_steps;

/* ---- migrations (sqlite_schema.c) -------------------------------------------------------- */

enum si_err sq_migrate(void *be, int *applied);
enum si_err sq_schema_version(void *be, int *found, int *known);

/* ---- backup (sqlite_backup.c) -------------------------------------------------------------- */

enum si_err sq_backup(void *be, const char *path, int *pages);

/* ---- operations, by file ------------------------------------------------------------------ */

enum si_err sq_account_create(void *be, const struct account *a);
enum si_err sq_account_get(void *be, const char *id, struct account *out);
enum si_err sq_site_create(void *be, const struct site *site);
enum si_err sq_site_get(void *be, const char *id, struct site *out);
enum si_err sq_account_sites(void *be, const char *account_id, size_t max, struct site **out,
                             size_t *n);
enum si_err sq_key_create(void *be, const struct api_key_row *k, const uint8_t hash[32]);
enum si_err sq_key_lookup(void *be, const uint8_t hash[32], struct api_key_row *out);
/* store_auth_epoch: schema 19's counter of changes to what a key's and a site's lookup read. */
uint64_t sq_auth_epoch(void *be);
enum si_err sq_key_revoke(void *be, const char *id, si_ms now, const struct audit_actor *actor);
enum si_err sq_keys_used(void *be, const struct key_use *uses, size_t n);
enum si_err sq_account_keys(void *be, const char *account_id, size_t max, struct api_key_row **out,
                            size_t *n);

/* sqlite_console.c */
enum si_err sq_console_link_create(void *be, const uint8_t hash[32], const char *account_id,
                                   si_ms created, si_ms expires);
enum si_err sq_console_link_get(void *be, const uint8_t hash[32], si_ms *used_ms,
                                si_ms *expires_ms);
enum si_err sq_console_signin(void *be, const uint8_t link_hash[32], si_ms now,
                              const uint8_t session_hash[32], struct console_session *sess,
                              enum console_link_state *state);
enum si_err sq_console_session_get(void *be, const uint8_t hash[32], struct console_session *out);
enum si_err sq_console_session_touch(void *be, const uint8_t hash[32], si_ms now);
enum si_err sq_console_session_end(void *be, const uint8_t hash[32]);
enum si_err sq_console_sweep(void *be, const struct console_sweep_bounds *b, int max, int64_t *n);
enum si_err sq_site_stats(void *be, const char *site_id, si_ms now, struct site_stats *out);
/* Stores a sign-in link's hash inside the caller's write transaction on c. */
enum si_err sq_console_link_insert(struct sq_conn *c, const uint8_t hash[32],
                                   const char *account_id, si_ms created, si_ms expires);
/* sqlite_console_mail.c */
enum si_err sq_console_mail_queue(void *be, const char *email_key, const uint8_t hash[32],
                                  struct console_mail *m, si_ms now, bool *queued);
enum si_err sq_console_mail_claim(void *be, si_ms now, si_ms lease_ms, struct console_mail *out,
                                  bool *found);
enum si_err sq_console_mail_done(void *be, int64_t id, si_ms now, si_ms due, const char *error);
enum si_err sq_site_counts(void *be, const char *site_id, si_ms now,
                           int64_t counts[SITE_COUNTS_LEN]);
enum si_err sq_roles_list(void *be, const char *account_id, struct role **out, size_t *n);
enum si_err sq_role_create(void *be, const char *account_id, const struct role *r, si_ms now,
                           const struct audit_actor *actor);
enum si_err sq_contributor_add(void *be, const struct contributor_row *c);

enum si_err sq_invites_bulk(void *be, struct bulk_request *req);
void sq_invites_bulk_async(void *be, struct bulk_request *req, store_done_fn done, void *ctx);
void sq_invite_change_async(void *be, const char *site_id, const char *invite_id, si_ms now,
                            const struct audit_actor *actor, invite_change_fn fn, void *ctx,
                            struct invite *out, store_done_fn done, void *done_ctx);
enum si_err sq_invite_get(void *be, const char *site_id, const char *invite_id, struct invite *out);
enum si_err sq_invite_by_link(void *be, const struct token_ref *ref, struct invite *out);
enum si_err sq_seats_used(void *be, const char *site_id, si_ms now, int64_t *used);

enum si_err sq_invites_query(void *be, const char *site_id, const struct invite_query *q, si_ms now,
                             struct invite_page *out);

enum si_err sq_outbox_claim(void *be, si_ms now, si_ms lease_ms, int max, struct outbox_msg **out,
                            size_t *n);
enum si_err sq_outbox_sent(void *be, const int64_t *ids, size_t n, si_ms now);
enum si_err sq_outbox_failed(void *be, int64_t id, si_ms due, const char *error,
                             const struct invite *gave_up, si_ms now);
enum si_err sq_outbox_counts(void *be, struct outbox_counts *out);
enum si_err sq_outbox_retry(void *be, si_ms now, int64_t *n);

/* Prepares q on c, binds one or two text keys as ?1 and ?2 (k2 may be NULL) and steps once:
 * SI_OK with *s on the row, SI_ENOTFOUND when there is none, SI_ESTORE (logged with what)
 * otherwise. The caller reads the row, then calls sq_done(*s) in every case. */
enum si_err sq_step_row(struct sq_conn *c, const struct sq_sql *q, const char *k1, const char *k2,
                        const char *what, sqlite3_stmt **s) SI_MUST_USE;

/* sqlite_contributors.c */
enum si_err sq_contributors_list(void *be, const char *site_id, size_t max,
                                 struct contributor_row **out, size_t *n);
enum si_err sq_contributor_change(void *be, const struct contributor_change *ch);
enum si_err sq_invites_expire(void *be, si_ms now, int max, int64_t *n);

/* sqlite_idem.c */
enum si_err sq_idem_claim(void *be, const struct idem_claim *c, bool write,
                          struct idem_outcome *out);
enum si_err sq_idem_done(void *be, const struct idem_claim *c, unsigned status, const char *body,
                         size_t len);
enum si_err sq_idem_release(void *be, const struct idem_claim *c);
enum si_err sq_idem_sweep(void *be, si_ms now, int max, int64_t *n);
/* sqlite_settings.c */
enum si_err sq_reminders_queue(void *be, si_ms now, int max, int64_t *n);
/* The settings transaction's steps (struct txn_steps, sqlite_settings.c). */
enum si_err sq_step_settings_load(void *conn, const char *site_id, struct site_settings *out);
enum si_err sq_step_settings_write(void *conn, const char *site_id,
                                   const struct site_settings *set);
/* ---- the audit log (sqlite_audit.c) -------------------------------------------------------- */

/* Writes one entry inside the caller's write transaction on c. */
enum si_err sq_audit_add(struct sq_conn *c, const struct audit_entry *e) SI_MUST_USE;
/* The same as a txn step (conn is a struct sq_conn). */
enum si_err sq_audit_add_step(void *conn, const struct audit_entry *e);
/* The invite.created entries of a bulk call's new invites (outcome BULK_CREATED), with the
 * call's actor, in item order: one batch row (store/audit_sql.h). None when it created none. */
enum si_err sq_audit_created(struct sq_conn *c, const struct bulk_request *req) SI_MUST_USE;
/* Runs s, a bound UPDATE that stores Expired and returns (id, site_id) of each row it changed,
 * then writes an invite.expired entry of the system at now for each; *n gets how many. Resets
 * s. Inside the caller's write transaction. */
enum si_err sq_audit_expired(struct sq_conn *c, sqlite3_stmt *s, si_ms now, int64_t *n) SI_MUST_USE;
/* Runs the bound writing statement s (bind_rc: its binds' result) and writes e, in one write
 * transaction on c: SI_ENOTFOUND (nothing written) when s changed no row; constraint failures
 * map as in sq_constraint. When s returns a row and e has no account, the row's first column
 * is its account. Resets s. For the admin commands' writes (site, key). */
enum si_err sq_audit_admin_run(struct sq_conn *c, sqlite3_stmt *s, int bind_rc, const char *what,
                               struct audit_entry *e) SI_MUST_USE;
enum si_err sq_audit_list(void *be, const struct audit_query *q, struct audit_page *out);

#endif
