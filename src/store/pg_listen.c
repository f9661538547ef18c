/* The change feed behind the API-key cache (auth/key_cache.h, docs/SECURITY.md "The key
 * cache"). Every statement that changes an API key or a site notifies channel si_auth (schema
 * version 21's triggers, pg_schema.c), whichever process runs it: a serve, the admin command
 * line, a person with psql. One thread per serve (si-pg-listen) holds a connection of its own
 * that LISTENs on it and, for each notification, moves the store's epoch on: every cache entry
 * filled under the old epoch is stale from then on.
 *
 * The epoch is 0 while nothing listens (before the first LISTEN, and from a lost connection until
 * the next LISTEN has run): a change made meanwhile would go unseen, so the cache is off then,
 * and each LISTEN that succeeds starts a new epoch (what was cached before it is dropped).
 * Epochs are drawn from one counter of the process, so two stores never share one. */
#include "pg_int.h"

#include "common/log.h"
#include "common/xalloc.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LISTEN_SQL "LISTEN si_auth"
/* Between two connection attempts while the server is away (a restart, a failover). */
#define RETRY_MS 500

struct pg_listen {
    struct pg_store *st;
    pthread_mutex_t mu; /* taken to start the thread */
    atomic_bool started;
    pthread_t thread;
    int wake[2];            /* a byte on wake[1] stops the thread */
    _Atomic uint64_t epoch; /* 0: not listening */
};

static _Atomic uint64_t epoch_counter;

static uint64_t next_epoch(void)
{
    return atomic_fetch_add(&epoch_counter, 1) + 1;
}

/* Waits for fd to be readable or the stop byte, at most ms (-1: no limit). False: stop. */
static bool wait_readable(struct pg_listen *l, int fd, int ms)
{
    struct pollfd p[2] = {{.fd = l->wake[0], .events = POLLIN}, {.fd = fd, .events = POLLIN}};
    int n;
    do
        n = poll(p, fd >= 0 ? 2 : 1, ms);
    while (n < 0 && errno == EINTR);
    return !(p[0].revents & POLLIN);
}

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* A connection of its own that LISTENs, or NULL (logged once per outage by the caller). The
 * whole URL is used, so a multi-host list with target_session_attrs finds the primary: a
 * standby takes no LISTEN. */
static PGconn *listen_connect(const struct pg_listen *l, char *why, size_t cap)
{
    /* The URL's own connect_timeout, if any, wins: keywords after dbname override it, before
     * it are defaults. A bound keeps store_close from waiting on a host that does not answer. */
    const char *keys[] = {"connect_timeout", "dbname", "application_name", NULL};
    const char *values[] = {"5", l->st->url, "siteinvites-listen", NULL};
    PGconn *db = PQconnectdbParams(keys, values, 1);
    if (!db || PQstatus(db) != CONNECTION_OK) {
        /* Copied before PQfinish frees it; the first line is enough for the log. */
        const char *m = db ? PQerrorMessage(db) : "out of memory";
        snprintf(why, cap, "%.*s", (int)strcspn(m, "\n"), m);
        PQfinish(db);
        return NULL;
    }
    /* The server's goodbye on a lost connection is logged by the caller, not printed. */
    PQsetNoticeProcessor(db, quiet, NULL);
    PGresult *r = PQexec(db, LISTEN_SQL);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        snprintf(why, cap, "LISTEN failed");
        PQfinish(db);
        return NULL;
    }
    return db;
}

/* Reads what the server sent; false when the connection is gone. */
static bool drain(struct pg_listen *l, PGconn *db)
{
    if (!PQconsumeInput(db))
        return false;
    bool changed = false;
    PGnotify *n;
    while ((n = PQnotifies(db)) != NULL) {
        changed = true;
        PQfreemem(n);
    }
    if (changed)
        atomic_store(&l->epoch, next_epoch());
    return PQstatus(db) == CONNECTION_OK;
}

/* Listens until the connection is lost (true) or the store closes (false). */
static bool listen_session(struct pg_listen *l, PGconn *db)
{
    atomic_store(&l->epoch, next_epoch());
    bool go_on = true;
    while (go_on && drain(l, db))
        go_on = wait_readable(l, PQsocket(db), -1);
    atomic_store(&l->epoch, 0);
    return go_on;
}

static void *listen_main(void *arg)
{
    struct pg_listen *l = arg;
    pthread_setname_np(pthread_self(), "si-pg-listen");
    bool lost = false;
    for (;;) {
        char why[256];
        PGconn *db = listen_connect(l, why, sizeof why);
        if (db) {
            if (lost)
                log_warn("store: the key cache listens again at %s", l->st->safe_url);
            lost = false;
            bool go_on = listen_session(l, db);
            PQfinish(db);
            if (!go_on)
                break;
            log_warn("store: the key cache lost its connection to %s; keys are read from the"
                     " database until it is back",
                     l->st->safe_url);
            lost = true;
        } else if (!lost) {
            log_warn("store: the key cache cannot listen at %s (%s); keys are read from the"
                     " database until it can",
                     l->st->safe_url, why);
            lost = true;
        }
        if (!wait_readable(l, -1, RETRY_MS))
            break;
    }
    return NULL;
}

struct pg_listen *pg_listen_new(struct pg_store *st)
{
    struct pg_listen *l = xcalloc(1, sizeof *l);
    l->st = st;
    pthread_mutex_init(&l->mu, NULL);
    l->wake[0] = l->wake[1] = -1;
    return l;
}

/* Starts the thread on first use: the command line opens the store but never authenticates. */
static void start_once(struct pg_listen *l)
{
    pthread_mutex_lock(&l->mu);
    if (!atomic_load(&l->started) && pipe(l->wake) == 0) {
        if (pthread_create(&l->thread, NULL, listen_main, l) == 0) {
            atomic_store(&l->started, true);
        } else {
            close(l->wake[0]);
            close(l->wake[1]);
            l->wake[0] = l->wake[1] = -1;
        }
    }
    pthread_mutex_unlock(&l->mu);
}

uint64_t pg_auth_epoch(void *be)
{
    struct pg_store *st = be;
    struct pg_listen *l = st->listen;
    if (!l)
        return 0;
    uint64_t e = atomic_load(&l->epoch);
    if (!e && !atomic_load(&l->started))
        start_once(l);
    return e;
}

void pg_auth_changed(void *be)
{
    struct pg_store *st = be;
    struct pg_listen *l = st->listen;
    if (!l)
        return;
    /* A change of this process is seen at once, not when its notification comes back. The
     * exchange never turns a 0 (not listening) into an epoch; if it fails, the epoch moved
     * after this change's commit anyway, which is all that is needed. */
    uint64_t e = atomic_load(&l->epoch);
    if (e)
        atomic_compare_exchange_strong(&l->epoch, &e, next_epoch());
}

void pg_listen_free(struct pg_listen *l)
{
    if (!l)
        return;
    if (atomic_load(&l->started)) {
        ssize_t w;
        do
            w = write(l->wake[1], "x", 1);
        while (w < 0 && errno == EINTR);
        pthread_join(l->thread, NULL);
        close(l->wake[0]);
        close(l->wake[1]);
    }
    pthread_mutex_destroy(&l->mu);
    free(l);
}
