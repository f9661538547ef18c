/* The SQLite backend's frame: opening the file, the connection pool, the checkpointer, the
 * statement caches and the shared helpers. Every other sqlite_*.c builds on it; it calls none of
 * them (the operations table is sqlite_backend.c). */
#include "sqlite_int.h"
#include "webhook_ops.h"

#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const struct sq_sql SQL_BEGIN = {SQ_BEGIN, "BEGIN IMMEDIATE"};
static const struct sq_sql SQL_COMMIT = {SQ_COMMIT, "COMMIT"};
static const struct sq_sql SQL_ROLLBACK = {SQ_ROLLBACK, "ROLLBACK"};
/* Set on every new connection. page_size applies only to a new, empty file, and must come
 * before WAL mode is set; a file made before keeps its pages (docs/STORAGE.md, "Page size":
 * 8 KiB pages write a bulk call's rows in about half the WAL frames of 4 KiB ones, and 16 KiB
 * ones cost small commits more than they save). WAL lets readers run beside the one writer;
 * synchronous=NORMAL makes a commit durable once it is in the OS page cache (safe against kill -9
 * of the process, not against power loss: that needs FULL, see docs/STORAGE.md). */
#define PAGE_SIZE_PRAGMA "PRAGMA page_size=" SQ_STR(SQ_PAGE_SIZE) ";"
static const char *const conn_pragmas = PAGE_SIZE_PRAGMA "PRAGMA journal_mode=WAL;"
                                                         "PRAGMA synchronous=NORMAL;"
                                                         "PRAGMA foreign_keys=ON;"
                                                         "PRAGMA temp_store=MEMORY;";

/* Set on the writer only: no automatic checkpoint inside a committing request; the
 * checkpointer thread does that work (see checkpoint_main). A log that a burst grew past the
 * limit is cut back to it when it starts over. */
static const char *const writer_pragmas = "PRAGMA wal_autocheckpoint=0;PRAGMA cache_size=-" SQ_STR(
    SQ_WRITER_CACHE_KIB) ";"
                         "PRAGMA journal_size_limit=" SQ_STR(SQ_WAL_LIMIT_BYTES) ";";

/* The system's word for an I/O error on db ("No space left on device"), or "" when there is
 * none: SQLite's own message only says "disk I/O error". */
static const char *io_cause(sqlite3 *db, int rc, char *buf, size_t cap)
{
    int sys = db && (rc & 0xff) == SQLITE_IOERR ? sqlite3_system_errno(db) : 0;
    return sys ? strerror_r(sys, buf, cap) : "";
}

/* ---- connections -------------------------------------------------------------------------- */

/* Finalizes a connection's statements and closes it; NULL is accepted. */
static void conn_close(struct sq_conn *c)
{
    if (!c)
        return;
    for (int i = 0; i < SQ_STMT_COUNT; i++)
        sqlite3_finalize(c->stmts[i]);
    for (int i = 0; i < SQ_DYN_CACHE; i++) {
        sqlite3_finalize(c->dyn[i].st);
        free(c->dyn[i].sql);
    }
    sqlite3_close(c->db);
    free(c);
}

/* Waits for a lock another connection holds. SQLite's own busy timeout sleeps 1, 2, 5, 10 ...
 * ms between tries, so a writer that meets the checkpointer's brief hold (well under a
 * millisecond) would sleep for milliseconds after the lock is free. Short sleeps first, then
 * 1 ms ones, SQ_BUSY_TIMEOUT_MS in all. Returns nonzero to try again. */
static int on_busy(void *ctx, int tries)
{
    (void)ctx;
    bool short_wait = tries < SQ_BUSY_SHORT_TRIES;
    long waited_us = short_wait ? (long)tries * SQ_BUSY_SHORT_US
                                : (long)SQ_BUSY_SHORT_TRIES * SQ_BUSY_SHORT_US +
                                      (long)(tries - SQ_BUSY_SHORT_TRIES) * 1000;
    if (waited_us >= (long)SQ_BUSY_TIMEOUT_MS * 1000)
        return 0;
    struct timespec pause = {.tv_sec = 0,
                             .tv_nsec = short_wait ? SQ_BUSY_SHORT_US * 1000 : 1000000};
    nanosleep(&pause, NULL);
    return 1;
}

/* Opens and configures one connection on path. */
static enum si_err conn_open(const char *path, struct sq_conn **out)
{
    struct sq_conn *c = xcalloc(1, sizeof *c);
    /* NOMUTEX: the pool guarantees one thread per connection, so SQLite's own locks are waste. */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    /* SQLite would create the file with the umask's mode (0644): it holds every invitee's
     * address and the key hashes, so a new database is made 0600 first (an empty file is an
     * empty database). SQLite gives the -wal and -shm files the database file's mode. */
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0)
        close(fd);
    int rc = sqlite3_open_v2(path, &c->db, flags, NULL);
    if (rc != SQLITE_OK) {
        log_error("store: cannot open SQLite database '%s': %s", path,
                  c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        enum si_err err = sq_err(c->db, rc);
        conn_close(c);
        return err;
    }
    sqlite3_extended_result_codes(c->db, 1);
    /* The busy handler first: switching to WAL takes a lock another process may hold. */
    sqlite3_busy_handler(c->db, on_busy, NULL);
    char *err = NULL;
    rc = sqlite3_exec(c->db, conn_pragmas, NULL, NULL, &err);
    if (rc != SQLITE_OK) {
        /* A full disk fails here: switching a new file to WAL writes its header, and opening
         * an existing one sizes its -shm file. */
        rc = sqlite3_extended_errcode(c->db);
        char buf[128];
        const char *cause = io_cause(c->db, rc, buf, sizeof buf);
        log_error("store: cannot configure SQLite database '%s': %s%s%s", path,
                  err ? err : sqlite3_errstr(rc), *cause ? ": " : "", cause);
        sqlite3_free(err);
        enum si_err full = sq_err(c->db, rc);
        conn_close(c);
        return full;
    }
    /* The default 2 MiB cache is too small for a site with 10^5 invites: index pages would be
     * read back through a system call on every lookup. The writer gets more (writer_setup). */
    sqlite3_exec(c->db, "PRAGMA cache_size=-" SQ_STR(SQ_CACHE_KIB), NULL, NULL, NULL);
    *out = c;
    return SI_OK;
}

/* ---- checkpoints -------------------------------------------------------------------------- */

/* Frames committed since the last checkpoint. The WAL hook reports the WAL's total size, which
 * does not shrink after a checkpoint (only when a later writer restarts the log), so the count
 * is taken against the size at that checkpoint; a smaller total means the log restarted.
 * Called with mu held. */
static int frames_since_checkpoint(const struct sq_store *st)
{
    return st->wal_frames < st->ckpt_base ? st->wal_frames : st->wal_frames - st->ckpt_base;
}

/* The writer's WAL hook: records the WAL's size and wakes the checkpointer once enough new
 * frames piled up. Runs on the committing thread right after COMMIT, so it only signals. */
static int on_wal_commit(void *ctx, sqlite3 *db, const char *name, int pages)
{
    (void)db;
    (void)name;
    struct sq_store *st = ctx;
    pthread_mutex_lock(&st->mu);
    st->wal_frames = pages;
    if (frames_since_checkpoint(st) >= st->ckpt_frames)
        pthread_cond_signal(&st->ckpt_cv);
    pthread_mutex_unlock(&st->mu);
    return SQLITE_OK;
}

/* Waits until enough new frames piled up, or some did and the idle period passed, or stop was
 * asked. Returns false to stop. Called with mu held. */
static bool checkpoint_wait(struct sq_store *st)
{
    while (!st->ckpt_stop) {
        struct timespec until = clock_deadline_after(SQ_CKPT_IDLE_MS);
        int w = clock_cond_wait(&st->ckpt_cv, &st->mu, &until);
        int fresh = frames_since_checkpoint(st);
        if (fresh >= st->ckpt_frames || (w == ETIMEDOUT && fresh > 0))
            return !st->ckpt_stop;
    }
    return false;
}

/* The checkpointer: checkpoints on a connection of its own, so commits never pay for copying the
 * WAL back and for its fsync. PASSIVE never blocks readers or the writer, but under steady load
 * some reader always holds a snapshot inside the WAL, so the log is never started over and the
 * file grows without end (gigabytes within seconds of creates), every new frame allocating disk
 * blocks and adding dirty pages that the kernel throttles. Past SQ_WAL_RESTART_BYTES a RESTART
 * checkpoint waits (busy timeout) for readers to move to the database file and holds writers
 * for that moment, so the next commit writes the log from its start again. */
static void *checkpoint_main(void *arg)
{
    pthread_setname_np(pthread_self(), "si-checkpoint");
    struct sq_store *st = arg;
    struct sq_conn *c = NULL;
    pthread_mutex_lock(&st->mu);
    while (checkpoint_wait(st)) {
        /* Counted from now even if this round fails: the next one comes after as many frames
         * again, not after every commit (each round walks and sorts the new part of the WAL). */
        st->ckpt_base = st->wal_frames;
        int mode = st->wal_frames >= st->restart_frames ? SQLITE_CHECKPOINT_RESTART
                                                        : SQLITE_CHECKPOINT_PASSIVE;
        pthread_mutex_unlock(&st->mu);
        if (!c && conn_open(st->path, &c))
            c = NULL; /* logged; the next round tries again */
        int log = 0, done = 0;
        /* RESTART holds the writer while it copies what is left and syncs the database file:
         * a PASSIVE pass first copies nearly all of it with writers running, so the writer waits
         * only for the frames committed in between (a bulk of 1,000 waited ~15 ms before). */
        int rc =
            c && mode == SQLITE_CHECKPOINT_RESTART
                ? sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done)
                : SQLITE_OK;
        if (c && (rc == SQLITE_OK || rc == SQLITE_BUSY))
            rc = sqlite3_wal_checkpoint_v2(c->db, NULL, mode, &log, &done);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY) /* BUSY: readers outlasted the wait; next round */
            log_warn("store: checkpoint: %s", sqlite3_errmsg(c->db));
        pthread_mutex_lock(&st->mu);
    }
    pthread_mutex_unlock(&st->mu);
    conn_close(c);
    return NULL;
}

/* The page size of c's database file (SQLite's default when it cannot be read). */
static int page_size(struct sq_conn *c)
{
    sqlite3_stmt *s = NULL;
    int size = 0;
    if (sqlite3_prepare_v2(c->db, "PRAGMA page_size", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        size = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return size > 0 ? size : 4096;
}

/* Makes a new writer connection hand its checkpoints to the checkpointer thread. Called with
 * mu held. */
static void writer_setup(struct sq_store *st, struct sq_conn *w)
{
    sqlite3_exec(w->db, writer_pragmas, NULL, NULL, NULL);
    int page = page_size(w);
    st->ckpt_frames = SQ_CKPT_BYTES / page;
    st->restart_frames = SQ_WAL_RESTART_BYTES / page;
    sqlite3_wal_hook(w->db, on_wal_commit, st);
}

enum si_err sq_borrow(struct sq_store *st, struct sq_conn **out)
{
    enum si_err rc = SI_OK;
    pthread_mutex_lock(&st->mu);
    while (!st->idle && st->nopen >= SQ_POOL_MAX)
        pthread_cond_wait(&st->cv, &st->mu);
    if (st->idle) {
        *out = st->idle;
        st->idle = (*out)->next_idle;
    } else {
        /* Opened under the lock: it happens at most SQ_POOL_MAX times in a process's life. */
        rc = conn_open(st->path, out);
        if (!rc)
            st->all[st->nopen++] = *out;
    }
    pthread_mutex_unlock(&st->mu);
    return rc;
}

enum si_err sq_borrow_writer(struct sq_store *st, struct sq_conn **out)
{
    enum si_err rc = SI_OK;
    pthread_mutex_lock(&st->mu);
    /* A ticket lock: writers of this process take the writer in arrival order. SQLite's own
     * busy handler polls, so under a steady stream of writes a waiter could starve past the
     * busy timeout; here it cannot. */
    uint64_t ticket = st->write_next++;
    while (st->write_serving != ticket)
        pthread_cond_wait(&st->write_cv, &st->mu);
    if (!st->writer) {
        rc = conn_open(st->path, &st->writer);
        if (!rc)
            writer_setup(st, st->writer);
    }
    if (rc) {
        st->write_serving++;
        pthread_cond_broadcast(&st->write_cv);
    } else
        *out = st->writer;
    pthread_mutex_unlock(&st->mu);
    return rc;
}

void sq_return(struct sq_store *st, struct sq_conn *c)
{
    if (!c)
        return;
    if (!sqlite3_get_autocommit(c->db)) {
        /* Every path ends its transaction; this is the safety net for one that did not. */
        log_warn("store: connection returned inside a transaction; rolling back");
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    }
    webhook_doorbell_returned(c); /* after the commit: the worker sees the rows */
    pthread_mutex_lock(&st->mu);
    if (c == st->writer) {
        st->write_serving++;
        pthread_cond_broadcast(&st->write_cv);
    } else {
        c->next_idle = st->idle;
        st->idle = c;
        pthread_cond_signal(&st->cv);
    }
    pthread_mutex_unlock(&st->mu);
}

/* ---- statements ----------------------------------------------------------------------------- */

enum si_err sq_prep(struct sq_conn *c, const struct sq_sql *q, sqlite3_stmt **out)
{
    /* PERSISTENT: these live as long as the connection, so SQLite keeps them out of its
     * short-lived lookaside memory. */
    if (!c->stmts[q->id]) {
        int rc = sqlite3_prepare_v3(c->db, q->text, -1, SQLITE_PREPARE_PERSISTENT, &c->stmts[q->id],
                                    NULL);
        if (rc != SQLITE_OK) {
            log_error("store: cannot prepare \"%.60s\": %s", q->text, sqlite3_errmsg(c->db));
            return SI_ESTORE;
        }
    }
    *out = c->stmts[q->id];
    return SI_OK;
}

enum si_err sq_prep_dyn(struct sq_conn *c, const char *sql, sqlite3_stmt **out)
{
    for (int i = 0; i < SQ_DYN_CACHE; i++) {
        if (c->dyn[i].sql && strcmp(c->dyn[i].sql, sql) == 0) {
            *out = c->dyn[i].st;
            return SI_OK;
        }
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK) {
        log_error("store: cannot prepare query: %s", sqlite3_errmsg(c->db));
        return SI_ESTORE;
    }
    /* Round robin is enough: an API client repeats a handful of query shapes. */
    struct sq_dyn *d = &c->dyn[c->dyn_next++ % SQ_DYN_CACHE];
    sqlite3_finalize(d->st);
    free(d->sql);
    d->sql = xstrdup(sql);
    d->st = st;
    *out = st;
    return SI_OK;
}

void sq_done(sqlite3_stmt *s)
{
    if (!s)
        return;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

enum si_err sq_err(sqlite3 *db, int rc)
{
    if ((rc & 0xff) == SQLITE_FULL)
        return SI_EFULL;
    /* A write that the file system refused for space surfaces as SQLITE_IOERR_WRITE (or _FSYNC,
     * _SHMSIZE, ...); the errno tells it from a failing device. */
    int sys = db && (rc & 0xff) == SQLITE_IOERR ? sqlite3_system_errno(db) : 0;
    return sys == ENOSPC || sys == EDQUOT ? SI_EFULL : SI_ESTORE;
}

enum si_err sq_fail(struct sq_conn *c, const char *what)
{
    int rc = sqlite3_extended_errcode(c->db);
    char buf[128];
    const char *cause = io_cause(c->db, rc, buf, sizeof buf);
    log_error("store: %s: %s (%d)%s%s", what, sqlite3_errmsg(c->db), rc, *cause ? ": " : "", cause);
    return sq_err(c->db, rc);
}

enum si_err sq_constraint(struct sq_conn *c, int rc, const char *what)
{
    switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return SI_EEXIST;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return SI_ENOTFOUND;
    default:
        return sq_fail(c, what);
    }
}

enum si_err sq_exec_stmt(struct sq_conn *c, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    enum si_err err = rc == SQLITE_DONE ? SI_OK : sq_fail(c, what);
    sq_done(s);
    return err;
}

/* Runs a fixed statement without rows (transaction control). */
static enum si_err exec_fixed(struct sq_conn *c, const struct sq_sql *q, const char *what)
{
    sqlite3_stmt *s;
    enum si_err rc = sq_prep(c, q, &s);
    if (rc)
        return rc;
    return sq_exec_stmt(c, s, what);
}

enum si_err sq_begin(struct sq_conn *c)
{
    return exec_fixed(c, &SQL_BEGIN, "begin transaction");
}

enum si_err sq_commit(struct sq_conn *c)
{
    enum si_err rc = exec_fixed(c, &SQL_COMMIT, "commit");
    if (rc)
        sq_rollback(c); /* a failed COMMIT may leave the transaction open */
    return rc;
}

void sq_rollback(struct sq_conn *c)
{
    /* Already in autocommit when SQLite rolled back by itself (e.g. after SQLITE_FULL). A failed
     * ROLLBACK is logged; sq_return tries again before the connection is reused. */
    if (!sqlite3_get_autocommit(c->db))
        (void)exec_fixed(c, &SQL_ROLLBACK, "rollback");
}

enum si_err sq_write_stmt(struct sq_conn *c, sqlite3_stmt *s, const char *what)
{
    enum si_err rc = sq_begin(c);
    if (rc) {
        sq_done(s);
        return rc;
    }
    int step = sqlite3_step(s);
    if (step != SQLITE_DONE)
        rc = sq_constraint(c, sqlite3_extended_errcode(c->db), what);
    sq_done(s);
    if (!rc)
        rc = sq_commit(c);
    else
        sq_rollback(c);
    return rc;
}

enum si_err sq_write_in_txn(struct sq_conn *c, sqlite3_stmt *s, const char *what)
{
    enum si_err rc = SI_OK;
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = sq_constraint(c, sqlite3_extended_errcode(c->db), what);
    sq_done(s);
    return rc;
}

enum si_err sq_step_row(struct sq_conn *c, const struct sq_sql *q, const char *k1, const char *k2,
                        const char *what, sqlite3_stmt **s)
{
    *s = NULL;
    enum si_err rc = sq_prep(c, q, s);
    if (rc)
        return rc;
    if (sqlite3_bind_text(*s, 1, k1, -1, SQLITE_STATIC) != SQLITE_OK ||
        (k2 && sqlite3_bind_text(*s, 2, k2, -1, SQLITE_STATIC) != SQLITE_OK))
        return sq_fail(c, "bind");
    int step = sqlite3_step(*s);
    if (step == SQLITE_ROW)
        return SI_OK;
    return step == SQLITE_DONE ? SI_ENOTFOUND : sq_fail(c, what);
}

enum si_err sq_list_rows(struct sq_store *st, const struct sq_list *l, void **out, size_t *n)
{
    struct sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    size_t cap = 0;
    char *rows = NULL;
    *out = NULL;
    *n = 0;
    enum si_err rc = sq_borrow(st, &c);
    if (rc)
        return rc;
    rc = sq_prep(c, l->q, &s);
    if (!rc && (sqlite3_bind_text(s, 1, l->key, -1, SQLITE_STATIC) |
                sqlite3_bind_int64(s, 2, (sqlite3_int64)l->max)))
        rc = sq_fail(c, "bind");
    int step = SQLITE_DONE;
    while (!rc && (step = sqlite3_step(s)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : SQ_LIST_INITIAL;
            rows = xrealloc(rows, cap * l->size);
        }
        l->read(s, rows + (*n)++ * l->size);
    }
    if (!rc && step != SQLITE_DONE)
        rc = sq_fail(c, l->what);
    if (rc) {
        free(rows);
        rows = NULL;
        *n = 0;
    }
    *out = rows;
    sq_done(s);
    sq_return(st, c);
    return rc;
}

/* ---- column helpers ----------------------------------------------------------------------- */

void sq_col_text(sqlite3_stmt *s, int col, char *dst, size_t cap)
{
    const char *t = (const char *)sqlite3_column_text(s, col);
    size_t n = t ? (size_t)sqlite3_column_bytes(s, col) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, t, n);
    dst[n] = '\0';
}

/* ---- the state ----------------------------------------------------------------------------- */

void sq_store_close(struct sq_store *st)
{
    if (!st)
        return;
    if (st->ckpt_started) {
        pthread_mutex_lock(&st->mu);
        st->ckpt_stop = true;
        pthread_cond_signal(&st->ckpt_cv);
        pthread_mutex_unlock(&st->mu);
        pthread_join(st->ckpt_thread, NULL);
    }
    /* The last close of a WAL database checkpoints what is left, so nothing is owed here. */
    for (int i = 0; i < st->nopen; i++)
        conn_close(st->all[i]);
    conn_close(st->writer);
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->cv);
    pthread_cond_destroy(&st->write_cv);
    pthread_cond_destroy(&st->ckpt_cv);
    free(st->path);
    free(st);
}

/* No up-front page-cache block per connection: SQLite would malloc 20 pages' worth (169 KB
 * with 8 KiB pages) at each open and write a header into every slot, about half of it resident
 * at once, whether the connection ever reads that much or not. Pages are allocated as the
 * cache fills instead. Must precede SQLite's initialization (the first open); later it is a
 * harmless SQLITE_MISUSE. */
static void page_cache_on_demand(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
}

enum si_err sq_store_open(const char *path, struct sq_store **out)
{
    static atomic_uint_fast64_t stores_opened;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, page_cache_on_demand);
    struct sq_store *st = xcalloc(1, sizeof *st);
    st->path = xstrdup(path);
    st->auth_tag = atomic_fetch_add(&stores_opened, 1) + 1;
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    pthread_cond_init(&st->write_cv, NULL);
    pthread_cond_init(&st->ckpt_cv, NULL);
    /* Open one connection now so a bad path fails at start-up, not on the first request. */
    struct sq_conn *c = NULL;
    enum si_err rc = sq_borrow_writer(st, &c);
    if (rc) {
        sq_store_close(st);
        return rc;
    }
    sq_return(st, c);
    if (pthread_create(&st->ckpt_thread, NULL, checkpoint_main, st) != 0) {
        log_error("store: cannot start the checkpoint thread");
        sq_store_close(st);
        return SI_ESTORE;
    }
    st->ckpt_started = true;
    *out = st;
    return SI_OK;
}
