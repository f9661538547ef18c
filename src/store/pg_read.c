/* Reads from PostgreSQL standbys (--db-read): the standbys' pool, the WAL position of this
 * process's last commit per site, the freshness gate a standby connection passes before a read,
 * and the routed reads with their fallback to the primary. docs/SCALING.md says what this
 * guarantees and what it costs. */
#include "pg_int.h"

#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Slots of the per-site positions. Two sites in one slot share the larger position: a read of
 * the other site may then go to the primary for nothing, never to a standby too early. 32 KiB. */
#define READ_SLOTS  4096
#define PROBE_MS    100  /* a standby connection's cached look at its server is reused this long */
#define REPROBE_MS  2    /* a look too old for the read is taken again at most this often */
#define DOWN_MS     1000 /* after a standby failed, reads skip the standbys this long */
#define LAG_UNKNOWN INT64_MAX
#define LSN_TEXT    32 /* "FFFFFFFF/FFFFFFFF" and more */

/* Where a routed read went, and why not to a standby (struct store_read_stats). */
enum read_count { RC_STANDBY, RC_PRIMARY, RC_BEHIND, RC_LAGGING, RC_UNAVAILABLE, RC_NONE };

struct pg_read {
    struct pg_store *pool; /* the standbys' (store->read points back here) */
    int64_t max_lag_ms;
    _Atomic int64_t down_until_ms; /* monotonic */
    _Atomic int64_t counts[RC_NONE];
    _Atomic uint64_t site_lsn[READ_SLOTS];
};

/* What the routed read running on this thread needs of a standby (the site's position), and
 * why the gate refused the connection: set by route_begin, read by pg_read_admit in the
 * standby pool's borrow on the same thread. */
static _Thread_local uint64_t want_lsn;
static _Thread_local enum read_count refused = RC_NONE;

/* One statement: is it a standby, how far it replayed, is it streaming, how far behind. The lag
 * is the age of the last replayed commit while WAL received is still waiting to be replayed,
 * else 0 (caught up with what it has); -1 when it cannot say. */
static const struct pg_sql SQL_PROBE = {
    PG_READ_PROBE,
    "SELECT pg_is_in_recovery(), coalesce(pg_last_wal_replay_lsn()::text, ''),"
    " EXISTS (SELECT 1 FROM pg_stat_wal_receiver),"
    " CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn()"
    " THEN 0 ELSE coalesce((1000 * extract(epoch FROM clock_timestamp() -"
    " pg_last_xact_replay_timestamp()))::bigint, -1) END"};

/* Monotonic milliseconds: for probe ages and back-off only, never for domain time. */
static int64_t mono_ms(void)
{
    return clock_mono_us() / 1000;
}

static void count(struct pg_read *rd, enum read_count what)
{
    atomic_fetch_add_explicit(&rd->counts[what], 1, memory_order_relaxed);
}

/* FNV-1a of the site ID. */
static size_t slot_of(const char *site_id)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)site_id; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % READ_SLOTS;
}

bool pg_lsn_parse(const char *text, uint64_t *out)
{
    uint64_t part[2] = {0, 0};
    const char *p = text;
    for (int i = 0; i < 2; i++) {
        int digits = 0;
        for (; *p && *p != '/'; p++, digits++) {
            int v = *p >= '0' && *p <= '9'   ? *p - '0'
                    : *p >= 'A' && *p <= 'F' ? *p - 'A' + 10
                    : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
                                             : -1;
            if (v < 0 || digits >= 8)
                return false;
            part[i] = part[i] << 4 | (uint64_t)v;
        }
        if (digits == 0 || (i == 0 && *p++ != '/'))
            return false;
    }
    if (*p)
        return false;
    *out = part[0] << 32 | part[1];
    return true;
}

void pg_conn_site(struct pg_conn *c, const char *site_id)
{
    if (!c->st || !c->st->read || !site_id)
        return;
    size_t n = strnlen(site_id, sizeof c->site - 1);
    memcpy(c->site, site_id, n);
    c->site[n] = '\0';
}

bool pg_conn_tracked(const struct pg_conn *c)
{
    return c->st && c->st->read && c->site[0];
}

void pg_read_committed(struct pg_conn *c, uint64_t lsn)
{
    _Atomic uint64_t *slot = &c->st->read->site_lsn[slot_of(c->site)];
    uint64_t seen = atomic_load(slot);
    while (seen < lsn && !atomic_compare_exchange_weak(slot, &seen, lsn))
        ; /* another commit of a site of this slot raced: keep the larger */
    c->site[0] = '\0';
}

/* Looks at c's server now: fills c's replay position and lag. A primary (not in recovery: the
 * read URL names one, or a standby was promoted) has everything. */
static enum si_err probe(struct pg_conn *c, int64_t now)
{
    PGresult *r = NULL;
    enum si_err rc = pg_exec(c, &SQL_PROBE, NULL, "look at a standby", &r);
    if (rc)
        return rc == SI_EBUSY ? rc : SI_EBUSY; /* any failure: this standby is not usable now */
    char lsn[LSN_TEXT];
    pg_col_text(r, 0, 1, lsn, sizeof lsn);
    bool recovering = PQgetvalue(r, 0, 0)[0] == 't';
    bool streaming = PQgetvalue(r, 0, 2)[0] == 't';
    int64_t lag = pg_col_i64(r, 0, 3);
    PQclear(r);
    if (!recovering) {
        c->replay_lsn = UINT64_MAX;
        c->lag_ms = 0;
    } else {
        if (!pg_lsn_parse(lsn, &c->replay_lsn))
            c->replay_lsn = 0;
        /* Not streaming: the standby cannot know what the primary wrote since. */
        c->lag_ms = !streaming || lag < 0 ? LAG_UNKNOWN : lag;
    }
    c->probed_ms = now;
    return SI_OK;
}

enum si_err pg_read_admit(struct pg_store *pool, struct pg_conn *c)
{
    struct pg_read *rd = pool->read;
    int64_t now = mono_ms();
    int64_t age = now - c->probed_ms;
    if (!c->probed_ms || age >= PROBE_MS || (c->replay_lsn < want_lsn && age >= REPROBE_MS)) {
        enum si_err rc = probe(c, now);
        if (rc) {
            refused = RC_UNAVAILABLE;
            return rc;
        }
    }
    if (c->lag_ms > rd->max_lag_ms) {
        refused = RC_LAGGING;
        return SI_ESTATE;
    }
    if (c->replay_lsn < want_lsn) {
        refused = RC_BEHIND;
        return SI_ESTATE;
    }
    return SI_OK;
}

/* The standbys' pool when a routed read of site_id may try it (the gate decides per
 * connection); NULL when reads go to the primary (no --db-read, or the standbys failed within
 * the last DOWN_MS). */
static struct pg_store *route_begin(struct pg_store *st, const char *site_id)
{
    struct pg_read *rd = st->read;
    if (!rd)
        return NULL;
    if (mono_ms() < atomic_load_explicit(&rd->down_until_ms, memory_order_relaxed)) {
        count(rd, RC_UNAVAILABLE);
        return NULL;
    }
    want_lsn = site_id ? atomic_load(&rd->site_lsn[slot_of(site_id)]) : 0;
    refused = RC_NONE;
    return rd->pool;
}

/* Whether the standby's answer rc stands (counted); false when the read must run on the
 * primary: the gate refused (counted by its reason), the standby failed (counted; the
 * standbys are skipped for DOWN_MS), or again says "not found" (retry_missing). */
static bool standby_answered(struct pg_store *st, enum si_err rc, bool retry_missing)
{
    struct pg_read *rd = st->read;
    if (!rc || (rc == SI_ENOTFOUND && !retry_missing)) {
        count(rd, RC_STANDBY);
        return true;
    }
    if (rc == SI_ENOTFOUND) {
        count(rd, RC_BEHIND); /* perhaps written through another instance: ask the primary */
        return false;
    }
    if (refused == RC_BEHIND || refused == RC_LAGGING) {
        count(rd, refused);
        return false;
    }
    count(rd, RC_UNAVAILABLE);
    if (rc == SI_EBUSY)
        atomic_store(&rd->down_until_ms, mono_ms() + DOWN_MS);
    return false;
}

/* Counts a routed read the primary serves. */
static void on_primary(struct pg_store *st)
{
    if (st->read)
        count(st->read, RC_PRIMARY);
}

enum si_err pg_read_invite_get(void *be, const char *site_id, const char *invite_id,
                               struct invite *out)
{
    struct pg_store *sb = route_begin(be, site_id);
    if (sb) {
        enum si_err rc = pg_invite_get(sb, site_id, invite_id, out);
        /* A 404 from a standby is asked again of the primary: the invite may have been made
         * through another instance a moment ago, which this one's positions do not know. */
        if (standby_answered(be, rc, true))
            return rc;
    }
    on_primary(be);
    return pg_invite_get(be, site_id, invite_id, out);
}

enum si_err pg_read_invites_query(void *be, const char *site_id, const struct invite_query *q,
                                  si_ms now, struct invite_page *out)
{
    struct pg_store *sb = route_begin(be, site_id);
    if (sb) {
        enum si_err rc = pg_invites_query(sb, site_id, q, now, out);
        if (standby_answered(be, rc, false))
            return rc;
    }
    on_primary(be);
    return pg_invites_query(be, site_id, q, now, out);
}

enum si_err pg_read_seats_used(void *be, const char *site_id, si_ms now, int64_t *used)
{
    struct pg_store *sb = route_begin(be, site_id);
    if (sb) {
        enum si_err rc = pg_seats_used(sb, site_id, now, used);
        if (standby_answered(be, rc, false))
            return rc;
    }
    on_primary(be);
    return pg_seats_used(be, site_id, now, used);
}

enum si_err pg_read_contributors_list(void *be, const char *site_id, size_t max,
                                      struct contributor_row **out, size_t *n)
{
    struct pg_store *sb = route_begin(be, site_id);
    if (sb) {
        enum si_err rc = pg_contributors_list(sb, site_id, max, out, n);
        if (standby_answered(be, rc, false))
            return rc;
    }
    on_primary(be);
    return pg_contributors_list(be, site_id, max, out, n);
}

enum si_err pg_read_audit_list(void *be, const struct audit_query *q, struct audit_page *out)
{
    struct pg_store *sb = route_begin(be, q->site_id);
    if (sb) {
        enum si_err rc = pg_audit_list(sb, q, out);
        if (standby_answered(be, rc, false))
            return rc;
    }
    on_primary(be);
    return pg_audit_list(be, q, out);
}

enum si_err pg_read_open(void *be, const char *url, int64_t max_lag_ms)
{
    struct pg_store *st = be;
    if (st->read) {
        log_error("store: standbys are already configured");
        return SI_ECONFIG;
    }
    struct pg_read *rd = xcalloc(1, sizeof *rd);
    rd->pool = pg_pool_new(url);
    rd->pool->standby = true;
    rd->pool->read = rd;
    rd->max_lag_ms = max_lag_ms;
    st->read = rd;
    /* One connection now, to say in the log whether the standbys answer; reads fall back to
     * the primary whatever this finds. */
    struct pg_conn *c = NULL;
    want_lsn = 0;
    enum si_err rc = pg_borrow(rd->pool, &c);
    if (rc == SI_EBUSY)
        atomic_store(&rd->down_until_ms, mono_ms() + DOWN_MS);
    pg_return(rd->pool, c);
    log_info("store: site reads go to the standbys at %s when they have the site's last write "
             "and lag at most %lld ms (%s now)",
             rd->pool->safe_url, (long long)max_lag_ms,
             rc == SI_OK      ? "ready"
             : rc == SI_EBUSY ? "unreachable: reading from the primary"
                              : "lagging: reading from the primary");
    return SI_OK;
}

void pg_read_free(struct pg_read *rd)
{
    if (!rd)
        return;
    pg_pool_free(rd->pool);
    free(rd);
}

bool pg_read_stats(void *be, struct store_read_stats *out)
{
    struct pg_read *rd = ((struct pg_store *)be)->read;
    if (!rd)
        return false;
    out->standby = atomic_load(&rd->counts[RC_STANDBY]);
    out->primary = atomic_load(&rd->counts[RC_PRIMARY]);
    out->behind = atomic_load(&rd->counts[RC_BEHIND]);
    out->lagging = atomic_load(&rd->counts[RC_LAGGING]);
    out->unavailable = atomic_load(&rd->counts[RC_UNAVAILABLE]);
    return true;
}
