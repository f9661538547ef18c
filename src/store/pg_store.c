/* The PostgreSQL backend's frame: connecting, the connection pool, prepared statements, error
 * mapping, column and array helpers and the operations table. Domain operations live in pg_*.c. */
#include "pg_int.h"
#include "webhook_ops.h"

#include "common/log.h"
#include "common/xalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SQLSTATE_UNIQUE      "23505"
#define SQLSTATE_FOREIGN_KEY "23503"
#define SQLSTATE_READ_ONLY   "25006" /* read_only_sql_transaction: a standby, or demoted */
#define SQLSTATE_DISK_FULL   "53100" /* disk_full: the server could not extend a file */
#define STMT_NAME_MAX        16      /* "s" + slot number */

static const struct pg_sql SQL_PING = {PG_PING, "SELECT 1"};
static const struct pg_sql SQL_IS_EMPTY = {PG_IS_EMPTY,
                                           "SELECT NOT EXISTS (SELECT 1 FROM accounts)"};

/* The first line of a libpq message: log lines are one line each. */
static int msg_len(const char *m)
{
    return (int)strcspn(m, "\r\n");
}

/* Appends the query string q ("?a=b&c=d", may be empty) with the value of every password
 * parameter replaced by "***". */
static void safe_query(struct buf *b, const char *q)
{
    while (*q) {
        size_t n = strcspn(q + 1, "&") + 1; /* one separator and its parameter */
        if (strncasecmp(q + 1, "password=", 9) == 0) {
            buf_xappend(b, q, 10);
            buf_xputs(b, "***");
        } else {
            buf_xappend(b, q, n);
        }
        q += n;
    }
}

/* The URL as it may be logged: "scheme://user@host:port,host2/db?params" with the password
 * (after the user, or a password= parameter) replaced by "***". */
static char *safe_url(const char *url)
{
    struct buf b;
    buf_init(&b, 0);
    const char *rest = strstr(url, "://");
    const char *end = url + strcspn(url, "?");
    if (!rest) {
        buf_xputs(&b, "(unparsed URL)");
        return buf_take(&b);
    }
    rest += 3;
    buf_xappend(&b, url, (size_t)(rest - url));
    const char *at = memchr(rest, '@', (size_t)(end - rest));
    if (at) {
        const char *colon = memchr(rest, ':', (size_t)(at - rest));
        buf_xappend(&b, rest, (size_t)((colon ? colon : at) - rest));
        buf_xputs(&b, colon ? ":***@" : "@");
        rest = at + 1;
    }
    buf_xappend(&b, rest, (size_t)(end - rest));
    safe_query(&b, end);
    return buf_take(&b);
}

/* ---- connections -------------------------------------------------------------------------- */

static void conn_close(struct pg_conn *c)
{
    if (!c)
        return;
    PQfinish(c->db);
    free(c);
}

static enum si_err conn_open(struct pg_store *st, struct pg_conn **out)
{
    struct pg_conn *c = xcalloc(1, sizeof *c);
    c->st = st;
    c->db = PQconnectdb(st->url);
    if (!c->db || PQstatus(c->db) != CONNECTION_OK) {
        const char *m = c->db ? PQerrorMessage(c->db) : "out of memory";
        /* A standby down is not an error of the service: its reads go to the primary. */
        log_msg(st->standby ? LOG_WARN : LOG_ERROR,
                "store: cannot connect to PostgreSQL at %s: %.*s", st->safe_url, msg_len(m), m);
        conn_close(c);
        return SI_EBUSY;
    }
    *out = c;
    return SI_OK;
}

/* A connection that lost its server, or that a statement found on a server shutting down or
 * read-only, is re-made with the whole URL (so libpq's multi-host list and
 * target_session_attrs pick the server again); its prepared statements went with the session. */
static enum si_err conn_check(struct pg_store *st, struct pg_conn *c)
{
    if (PQstatus(c->db) == CONNECTION_OK && !c->broken)
        return SI_OK;
    memset(c->prepared, 0, sizeof c->prepared);
    c->probed_ms = 0; /* libpq may have picked another server of the list */
    PQreset(c->db);
    if (PQstatus(c->db) == CONNECTION_OK) {
        c->broken = false;
        log_warn("store: reconnected to PostgreSQL at %s", st->safe_url);
        return SI_OK;
    }
    c->broken = true;
    const char *m = PQerrorMessage(c->db);
    log_msg(st->standby ? LOG_WARN : LOG_ERROR, "store: cannot reconnect to PostgreSQL at %s: %.*s",
            st->safe_url, msg_len(m), m);
    return SI_EBUSY;
}

enum si_err pg_borrow(struct pg_store *st, struct pg_conn **out)
{
    enum si_err rc = SI_OK;
    *out = NULL;
    pthread_mutex_lock(&st->mu);
    while (!st->idle && st->nopen >= PG_POOL_MAX)
        pthread_cond_wait(&st->cv, &st->mu);
    if (st->idle) {
        *out = st->idle;
        st->idle = (*out)->next_idle;
    } else {
        /* Opened under the lock: at most PG_POOL_MAX times in a store's life. */
        rc = conn_open(st, out);
        if (!rc)
            st->all[st->nopen++] = *out;
    }
    pthread_mutex_unlock(&st->mu);
    if (rc)
        return rc;
    rc = conn_check(st, *out);
    if (!rc && st->standby)
        rc = pg_read_admit(st, *out);
    if (rc) {
        pg_return(st, *out); /* stays in the pool: the next borrower tries to reset it again */
        *out = NULL;
    }
    return rc;
}

void pg_return(struct pg_store *st, struct pg_conn *c)
{
    if (!c)
        return;
    c->site[0] = '\0';
    c->hook_site[0] = '\0';
    if (!c->broken && PQstatus(c->db) == CONNECTION_OK &&
        PQtransactionStatus(c->db) != PQTRANS_IDLE) {
        /* Every path ends its transaction; this is the safety net for one that did not. */
        log_warn("store: connection returned inside a transaction; rolling back");
        PQclear(PQexec(c->db, "ROLLBACK"));
    }
    webhook_doorbell_returned(c); /* after the commit: the worker sees the rows */
    pthread_mutex_lock(&st->mu);
    c->next_idle = st->idle;
    st->idle = c;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

/* ---- parameters and statements ---------------------------------------------------------- */

static char *next_buf(struct pg_args *a)
{
    if (a->n >= PG_PARAMS_MAX)
        fatal("store: more than %d parameters", PG_PARAMS_MAX); /* a programming error */
    return a->buf[a->n];
}

void pg_arg(struct pg_args *a, const char *text)
{
    next_buf(a);
    a->v[a->n++] = text;
}

void pg_arg_i64(struct pg_args *a, int64_t v)
{
    char *b = next_buf(a);
    snprintf(b, PG_ARG_BUF, "%" PRId64, v);
    a->v[a->n++] = b;
}

void pg_arg_f64(struct pg_args *a, double v)
{
    char *b = next_buf(a);
    snprintf(b, PG_ARG_BUF, "%.17g", v);
    a->v[a->n++] = b;
}

void pg_arg_bytes(struct pg_args *a, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char *b = next_buf(a);
    if (2 + 2 * n + 1 > PG_ARG_BUF)
        fatal("store: byte parameter of %zu bytes too long", n);
    b[0] = '\\';
    b[1] = 'x';
    for (size_t i = 0; i < n; i++) {
        b[2 + 2 * i] = hex[p[i] >> 4];
        b[3 + 2 * i] = hex[p[i] & 15];
    }
    b[2 + 2 * n] = '\0';
    a->v[a->n++] = b;
}

/* Whether a failure means "this server, through this connection, cannot do it now": the
 * connection is gone (libpq reports no SQLSTATE, or class 08), the server is shutting down or
 * starting (57P01..57P03), or it is read-only (a standby, or a primary demoted). */
static bool unavailable(const struct pg_conn *c, const char *state)
{
    if (PQstatus(c->db) != CONNECTION_OK || !state)
        return true;
    return strncmp(state, "08", 2) == 0 || strncmp(state, "57P0", 4) == 0 ||
           strcmp(state, SQLSTATE_READ_ONLY) == 0;
}

/* Maps a finished command: OK, a constraint result, unavailable (SI_EBUSY, the connection
 * marked broken), a full disk (SI_EFULL, 53100) or a logged failure. Clears r on error. */
static enum si_err check(struct pg_conn *c, PGresult *r, const char *what)
{
    ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
        return SI_OK;
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    enum si_err rc = SI_ESTORE;
    const char *m = r ? PQresultErrorMessage(r) : PQerrorMessage(c->db);
    if (!m || !*m)
        m = PQerrorMessage(c->db);
    if (state && strcmp(state, SQLSTATE_UNIQUE) == 0)
        rc = SI_EEXIST;
    else if (state && strcmp(state, SQLSTATE_FOREIGN_KEY) == 0)
        rc = SI_ENOTFOUND;
    else if (state && strcmp(state, SQLSTATE_DISK_FULL) == 0) {
        /* The connection stays good: the statement was undone and the next may fit. */
        log_error("store: %s: PostgreSQL's disk is full: %.*s", what, msg_len(m), m);
        rc = SI_EFULL;
    } else if (unavailable(c, state)) {
        c->broken = true;
        log_warn("store: %s: PostgreSQL unavailable (%s): %.*s", what, state ? state : "no state",
                 msg_len(m), m);
        rc = SI_EBUSY;
    } else
        log_error("store: %s: %.*s", what, msg_len(m), m);
    PQclear(r);
    return rc;
}

/* The server-side name of fixed statement q: "s" and its slot number. */
static void stmt_name(const struct pg_sql *q, char name[STMT_NAME_MAX])
{
    snprintf(name, STMT_NAME_MAX, "s%d", (int)q->id);
}

/* Prepares q on c unless it already is. */
static enum si_err prepare(struct pg_conn *c, const struct pg_sql *q, const char *name)
{
    if (c->prepared[q->id])
        return SI_OK;
    /* Types are inferred from the text; statements cast where the context does not say. */
    PGresult *r = PQprepare(c->db, name, q->text, 0, NULL);
    enum si_err rc = check(c, r, "prepare statement");
    if (rc) {
        if (rc != SI_EBUSY)
            log_error("store: the statement was \"%.80s\"", q->text);
        return rc == SI_EBUSY || rc == SI_EFULL ? rc : SI_ESTORE; /* check cleared r */
    }
    PQclear(r);
    c->prepared[q->id] = true;
    return SI_OK;
}

static void finish(PGresult *r, PGresult **res)
{
    if (res)
        *res = r;
    else
        PQclear(r);
}

enum si_err pg_exec(struct pg_conn *c, const struct pg_sql *q, const struct pg_args *a,
                    const char *what, PGresult **res)
{
    char name[STMT_NAME_MAX];
    if (res)
        *res = NULL;
    stmt_name(q, name);
    enum si_err rc = prepare(c, q, name);
    if (rc)
        return rc;
    PGresult *r = PQexecPrepared(c->db, name, a ? a->n : 0, a ? a->v : NULL, NULL, NULL, 0);
    rc = check(c, r, what);
    if (!rc)
        finish(r, res);
    return rc;
}

/* ---- pipelines ------------------------------------------------------------------------- */

void pg_pipe_begin(struct pg_conn *c, struct pg_pipe *p)
{
    memset(p, 0, sizeof *p);
    p->c = c;
    if (PQenterPipelineMode(c->db) != 1)
        p->rc = check(c, NULL, "start a pipeline");
}

void pg_pipe_send(struct pg_pipe *p, const struct pg_sql *q, const struct pg_args *a,
                  const char *what)
{
    struct pg_conn *c = p->c;
    if (p->rc)
        return;
    if (p->n == PG_PIPE_MAX)
        fatal("store: more than %d statements in one pipeline", PG_PIPE_MAX);
    int i = p->n;
    char name[STMT_NAME_MAX];
    stmt_name(q, name);
    p->what[i] = what;
    p->prepare[i] = -1;
    /* Prepared in the pipe the first time on this connection, marked once that succeeded. */
    if (!c->prepared[q->id]) {
        if (PQsendPrepare(c->db, name, q->text, 0, NULL) != 1) {
            p->rc = check(c, NULL, "prepare statement");
            return;
        }
        p->prepare[i] = (int)q->id;
    }
    if (PQsendQueryPrepared(c->db, name, a ? a->n : 0, a ? a->v : NULL, NULL, NULL, 0) != 1) {
        p->rc = check(c, NULL, what);
        return;
    }
    p->n++;
}

void pg_pipe_flush(struct pg_pipe *p)
{
    if (!p->rc && PQflush(p->c->db) != 0)
        p->rc = check(p->c, NULL, "send a pipeline");
}

static const struct pg_sql SQL_TX_BEGIN = {PG_TX_BEGIN, "BEGIN"};

void pg_pipe_send_begin(struct pg_pipe *p)
{
    pg_pipe_send(p, &SQL_TX_BEGIN, NULL, "begin transaction");
}

/* The next result of the pipe and the NULL that ends it; NULL when the connection failed. */
static PGresult *pipe_result(struct pg_conn *c)
{
    PGresult *r = PQgetResult(c->db);
    if (r && PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
        PGresult *end = PQgetResult(c->db);
        if (end) { /* cannot happen for one statement's results: keep the error visible */
            PQclear(end);
            c->broken = true;
        }
    }
    return r;
}

/* Reads one result of the pipe into *res (kept) or maps its error into *rc (the first one);
 * an aborted statement after a failure is dropped. True only for a statement that ran. */
static bool pipe_collect(struct pg_conn *c, const char *what, PGresult **res, enum si_err *rc)
{
    PGresult *r = pipe_result(c);
    ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (s == PGRES_PIPELINE_ABORTED) {
        PQclear(r);
        return false;
    }
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
        if (res)
            *res = r;
        else
            PQclear(r);
        return true;
    }
    enum si_err e = check(c, r, what); /* clears r */
    *rc = *rc ? *rc : e;
    return false;
}

enum si_err pg_pipe_end(struct pg_pipe *p)
{
    struct pg_conn *c = p->c;
    enum si_err rc = p->rc;
    p->failed = -1;
    if (!rc && p->n == 0) { /* nothing sent: no round trip */
        if (PQexitPipelineMode(c->db) != 1)
            rc = check(c, NULL, "end a pipeline");
        return rc;
    }
    if (!rc && PQpipelineSync(c->db) != 1)
        rc = check(c, NULL, "send a pipeline");
    if (rc) {
        /* Results may be half sent: the connection cannot be trusted to line up again. */
        c->broken = true;
        return rc;
    }
    int i = 0;
    for (; i < p->n && !c->broken; i++) {
        /* Marked prepared only if it ran: after a failure the rest of the pipe is skipped,
         * its prepares too, and the next use must prepare again. */
        if (p->prepare[i] >= 0 && pipe_collect(c, "prepare statement", NULL, &rc))
            c->prepared[p->prepare[i]] = true;
        if (!pipe_collect(c, p->what[i], &p->res[i], &rc) && p->failed < 0)
            p->failed = i;
    }
    if (i < p->n && p->failed < 0)
        p->failed = i; /* the connection went before this one's result */
    PGresult *sync = c->broken ? NULL : PQgetResult(c->db);
    if (!sync || PQresultStatus(sync) != PGRES_PIPELINE_SYNC || PQexitPipelineMode(c->db) != 1)
        c->broken = true;
    PQclear(sync);
    if (c->broken && !rc)
        rc = check(c, NULL, "read a pipeline's results");
    if (rc)
        pg_pipe_clear(p);
    return rc;
}

void pg_pipe_clear(struct pg_pipe *p)
{
    for (int i = 0; i < p->n; i++) {
        PQclear(p->res[i]);
        p->res[i] = NULL;
    }
}

enum si_err pg_run(struct pg_store *st, const struct pg_sql *q, const struct pg_args *a,
                   const char *what, PGresult **res)
{
    struct pg_conn *c = NULL;
    enum si_err rc = pg_borrow(st, &c);
    if (!rc)
        rc = pg_exec(c, q, a, what, res);
    pg_return(st, c);
    return rc;
}

enum si_err pg_exec_dyn(struct pg_conn *c, const char *sql, int n, const char *const *values,
                        const Oid *types, const char *what, PGresult **res)
{
    if (res)
        *res = NULL;
    PGresult *r = PQexecParams(c->db, sql, n, types, values, NULL, NULL, 0);
    enum si_err rc = check(c, r, what);
    if (!rc)
        finish(r, res);
    return rc;
}

enum si_err pg_exec_count(struct pg_conn *c, const struct pg_sql *q, const struct pg_args *a,
                          const char *what, int64_t *changed)
{
    PGresult *r;
    *changed = 0;
    enum si_err rc = pg_exec(c, q, a, what, &r);
    if (rc)
        return rc;
    *changed = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return SI_OK;
}

enum si_err pg_script(struct pg_conn *c, const char *sql, const char *what)
{
    PGresult *r = PQexec(c->db, sql);
    enum si_err rc = check(c, r, what);
    if (rc)
        return rc == SI_EBUSY || rc == SI_EFULL ? rc : SI_ESTORE; /* check cleared r */
    PQclear(r);
    return SI_OK;
}

enum si_err pg_begin(struct pg_conn *c)
{
    return pg_script(c, "BEGIN", "begin transaction");
}

static const struct pg_sql SQL_TX_COMMIT = {PG_TX_COMMIT, "COMMIT"};
static const struct pg_sql SQL_WAL_LSN = {PG_WAL_LSN, "SELECT pg_current_wal_insert_lsn()"};

/* The commit's WAL position, read after it in the same pipe (res NULL: not read). The insert
 * position is at or past the end of our commit record, so a standby that replayed up to it
 * shows the commit; without it only the record is lost (logged), not the commit. */
static void commit_position(struct pg_conn *c, const PGresult *res)
{
    uint64_t lsn = 0;
    if (res && PQntuples(res) == 1 && pg_lsn_parse(PQgetvalue(res, 0, 0), &lsn))
        pg_read_committed(c, lsn);
    else
        log_warn("store: committed, but could not read the WAL position: reads of site %s may "
                 "be served by a standby before it has the write",
                 c->site);
}

enum si_err pg_pipe_commit(struct pg_pipe *p, bool *committing)
{
    struct pg_conn *c = p->c;
    const int at = p->n; /* COMMIT's place */
    const bool tracked = pg_conn_tracked(c);
    pg_pipe_send(p, &SQL_TX_COMMIT, NULL, "commit");
    if (tracked)
        pg_pipe_send(p, &SQL_WAL_LSN, NULL, "read the WAL position");
    /* Once COMMIT is handed to libpq it may run, whatever is heard of it later. */
    *committing = p->n > at;
    enum si_err rc = pg_pipe_end(p);
    if (rc && p->failed >= 0 && p->failed < at)
        *committing = false; /* a statement before it failed: the server skipped COMMIT */
    if (rc && tracked && p->failed == at + 1) {
        commit_position(c, NULL); /* COMMIT ran; only its position was lost */
        rc = SI_OK;
    } else if (!rc) {
        /* COMMIT of a failed transaction answers ROLLBACK without an error. */
        if (strcmp(PQcmdStatus(p->res[at]), "COMMIT") != 0)
            rc = SI_ESTORE;
        else if (tracked)
            commit_position(c, p->res[at + 1]);
    }
    pg_pipe_clear(p);
    c->site[0] = '\0';
    c->hook_site[0] = '\0';
    if (rc)
        pg_rollback(c);
    return rc;
}

/* Every transaction ends here or in pg_pipe_commit: COMMIT alone in a pipe. */
enum si_err pg_commit(struct pg_conn *c)
{
    struct pg_pipe p;
    bool committing;
    pg_pipe_begin(c, &p);
    return pg_pipe_commit(&p, &committing);
}

void pg_rollback(struct pg_conn *c)
{
    c->site[0] = '\0';
    c->hook_site[0] = '\0';
    /* A failed ROLLBACK is logged by pg_script; pg_return tries again before reuse. */
    if (!c->broken && PQstatus(c->db) == CONNECTION_OK &&
        PQtransactionStatus(c->db) != PQTRANS_IDLE && pg_script(c, "ROLLBACK", "rollback"))
        return;
}

/* ---- columns ------------------------------------------------------------------------------ */

void pg_col_text(const PGresult *r, int row, int col, char *dst, size_t cap)
{
    size_t n = 0;
    if (!PQgetisnull(r, row, col)) {
        n = (size_t)PQgetlength(r, row, col);
        if (n >= cap)
            n = cap - 1;
        memcpy(dst, PQgetvalue(r, row, col), n);
    }
    dst[n] = '\0';
}

int64_t pg_col_i64(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool pg_col_bytes(const PGresult *r, int row, int col, uint8_t *dst, size_t n)
{
    memset(dst, 0, n);
    const char *v = PQgetvalue(r, row, col);
    /* bytea_output is "hex" by default since 9.0: "\x" then two digits a byte. */
    if (PQgetisnull(r, row, col) || (size_t)PQgetlength(r, row, col) != 2 + 2 * n || v[0] != '\\' ||
        v[1] != 'x')
        return false;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_val(v[2 + 2 * i]), lo = hex_val(v[3 + 2 * i]);
        if (hi < 0 || lo < 0) {
            memset(dst, 0, n);
            return false;
        }
        dst[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

/* ---- array literals ----------------------------------------------------------------------- */

void pg_array_init(struct buf *b)
{
    buf_init(b, 0);
    buf_xputs(b, "{");
}

/* A comma unless this is the first element. */
static void array_sep(struct buf *b)
{
    if (b->len > 1)
        buf_xputs(b, ",");
}

void pg_array_add(struct buf *b, const char *s)
{
    array_sep(b);
    if (!s) {
        buf_xputs(b, "NULL");
        return;
    }
    /* Quoted, with " and \ escaped by a backslash: any text survives, "NULL" included. */
    buf_xputs(b, "\"");
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\')
            buf_xappend(b, "\\", 1);
        buf_xappend(b, p, 1);
    }
    buf_xputs(b, "\"");
}

void pg_array_add_hex(struct buf *b, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    array_sep(b);
    for (size_t i = 0; i < n; i++) {
        char two[2] = {hex[p[i] >> 4], hex[p[i] & 15]};
        buf_xappend(b, two, 2);
    }
}

void pg_array_add_i64(struct buf *b, int64_t v)
{
    char num[24];
    array_sep(b);
    snprintf(num, sizeof num, "%" PRId64, v);
    buf_xputs(b, num);
}

void pg_array_end(struct buf *b)
{
    buf_xputs(b, "}");
}

/* ---- small operations --------------------------------------------------------------------- */

static enum si_err pg_ping(void *be)
{
    struct pg_conn *c = NULL;
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    rc = pg_exec(c, &SQL_PING, NULL, "ping", NULL);
    pg_return(be, c);
    return rc;
}

static enum si_err pg_is_empty(void *be, bool *empty)
{
    struct pg_conn *c = NULL;
    PGresult *r = NULL;
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    rc = pg_exec(c, &SQL_IS_EMPTY, NULL, "is empty", &r);
    if (!rc)
        *empty = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    pg_return(be, c);
    return rc;
}

struct pg_store *pg_pool_new(const char *url)
{
    struct pg_store *st = xcalloc(1, sizeof *st);
    st->url = xstrdup(url);
    st->safe_url = safe_url(url);
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    return st;
}

void pg_pool_free(struct pg_store *st)
{
    if (!st)
        return;
    for (int i = 0; i < st->nopen; i++)
        conn_close(st->all[i]);
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->cv);
    free(st->url);
    free(st->safe_url);
    free(st);
}

/* store_close: the standbys' pool, every connection, then the state. No operation may be
 * running. */
static void pg_close(void *be)
{
    struct pg_store *st = be;
    if (!st)
        return;
    pg_group_free(st->group); /* runs what is queued first: it needs the pool */
    pg_listen_free(st->listen);
    pg_read_free(st->read);
    pg_pool_free(st);
}

static const struct store_ops pg_ops = {
    .name = "postgres",
    .close = pg_close,
    .migrate = pg_migrate,
    .schema_version = pg_schema_version,
    .ping = pg_ping,
    .is_empty = pg_is_empty,
    .account_create = pg_account_create,
    .account_get = pg_account_get,
    .site_create = pg_site_create,
    .site_get = pg_site_get,
    .account_sites = pg_account_sites,
    .key_create = pg_key_create,
    .key_lookup = pg_key_lookup,
    .key_site_lookup = pg_key_site_lookup,
    .key_revoke = pg_key_revoke,
    .account_keys = pg_account_keys,
    .keys_used = pg_keys_used,
    .console_link_create = pg_console_link_create,
    .console_link_get = pg_console_link_get,
    .console_signin = pg_console_signin,
    .console_session_get = pg_console_session_get,
    .console_session_touch = pg_console_session_touch,
    .console_session_end = pg_console_session_end,
    .console_sweep = pg_console_sweep,
    .counts_fold = pg_counts_fold,
    .stats_refresh = pg_stats_refresh,
    .console_mail_queue = pg_console_mail_queue,
    .console_mail_claim = pg_console_mail_claim,
    .console_mail_done = pg_console_mail_done,
    .site_counts = pg_site_counts,
    .site_stats = pg_site_stats,
    .key_take = pg_key_take,
    .roles_list = pg_roles_list,
    .role_create = pg_role_create,
    .contributor_add = pg_contributor_add,
    .invites_bulk = pg_invites_bulk,
    .invites_bulk_async = pg_invites_bulk_async,
    .invite_get = pg_read_invite_get,
    .invite_by_link = pg_invite_by_link,
    .invites_query = pg_read_invites_query,
    .seats_used = pg_read_seats_used,
    .outbox_claim = pg_outbox_claim,
    .outbox_sent = pg_outbox_sent,
    .outbox_failed = pg_outbox_failed,
    .outbox_counts = pg_outbox_counts,
    .outbox_retry = pg_outbox_retry,
    .contributors_list = pg_read_contributors_list,
    .contributor_change = pg_contributor_change,
    .invites_expire = pg_invites_expire,
    .idem_claim = pg_idem_claim,
    .idem_done = pg_idem_done,
    .idem_release = pg_idem_release,
    .idem_sweep = pg_idem_sweep,
    .reminders_queue = pg_reminders_queue,
    .audit_list = pg_read_audit_list,
    .read_open = pg_read_open,
    .read_stats = pg_read_stats,
    .auth_epoch = pg_auth_epoch,
    .auth_changed = pg_auth_changed,
    .txn = &pg_txn_steps,
    .webhooks = &pg_webhook_ops,
};

enum si_err store_pg_open(const char *url, const struct store_ops **ops, void **be)
{
    struct pg_store *st = pg_pool_new(url);
    /* One connection now, so a bad URL or a server that is down fails at start-up. */
    struct pg_conn *c = NULL;
    enum si_err rc = pg_borrow(st, &c);
    if (rc) {
        pg_close(st);
        return rc; /* SI_EBUSY when no server is reachable (tests/store test_open_bad_urls) */
    }
    pg_return(st, c);
    st->group = pg_group_new(st);
    st->listen = pg_listen_new(st);
    *ops = &pg_ops;
    *be = st;
    return SI_OK;
}
