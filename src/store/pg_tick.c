/* PostgreSQL's share of the sweeper's one-second tick (api/expiry.c): the per-day counts' deltas
 * folded, and a young invites table's statistics kept current. Both keep the group's seat check
 * and pending lookup as cheap as on a settled table (docs/STORAGE.md, "Per-day counts";
 * docs/SCALING.md, "A young table's statistics"). */
#include "pg_int.h"

/* Folds the deltas of up to $1 (site, day, status) keys of invite_day_counts into one compacted
 * row each (migration 17) and answers how many keys. Deleting and inserting in one statement
 * keeps a reader's snapshot whole; a concurrent fold waits for the rows this one deletes, then
 * finds them gone. A key whose sum is 0 keeps no row. */
static const struct pg_sql SQL_FOLD_DAY_COUNTS = {
    PG_FOLD_DAY_COUNTS,
    "WITH k AS (SELECT DISTINCT site_id, day, status FROM invite_day_counts WHERE NOT compacted"
    " LIMIT $1::bigint),"
    " d AS (DELETE FROM invite_day_counts c USING k WHERE c.site_id = k.site_id"
    " AND c.day = k.day AND c.status = k.status RETURNING c.site_id, c.day, c.status, c.n),"
    " i AS (INSERT INTO invite_day_counts (site_id, day, status, n, compacted)"
    " SELECT site_id, day, status, sum(n)::bigint, true FROM d GROUP BY 1, 2, 3"
    " HAVING sum(n) <> 0 RETURNING 1)"
    " SELECT count(*) FROM k"};

/* Whether invites has at least doubled in pages since its last analysis (relpages: 0 before the
 * first), and holds at least 64 pages (512 KiB, ~1,700 invites): the plans made from its
 * statistics may be walking the wrong index. The file's size is exact at once, unlike the
 * cumulative statistics' change counters, which an idle connection reports up to 10 s late. */
static const struct pg_sql SQL_YOUNG_STATS = {
    PG_YOUNG_STATS, "SELECT pg_relation_size(c.oid) / current_setting('block_size')::bigint"
                    " >= greatest(2 * c.relpages::bigint, 64)"
                    " FROM pg_class c WHERE c.oid = 'invites'::regclass"};

enum si_err pg_stats_refresh(void *be, bool *analyzed)
{
    struct pg_conn *c = NULL;
    PGresult *r;
    enum si_err rc = pg_borrow(be, &c);
    if (rc)
        return rc;
    rc = pg_exec(c, &SQL_YOUNG_STATS, NULL, "read table statistics", &r);
    if (!rc) {
        *analyzed = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
        PQclear(r);
    }
    /* ANALYZE takes a lock only another ANALYZE or schema change waits for: writers go on. Two
     * instances may both run it; the second finds little changed the next time. */
    if (!rc && *analyzed)
        rc = pg_script(c, "ANALYZE invites", "analyze invites");
    pg_return(be, c);
    return rc;
}

enum si_err pg_counts_fold(void *be, int max, int64_t *n)
{
    struct pg_args fold = {0};
    pg_arg_i64(&fold, max);
    PGresult *r;
    enum si_err rc = pg_run(be, &SQL_FOLD_DAY_COUNTS, &fold, "fold invite day counts", &r);
    if (!rc) {
        *n = PQntuples(r) == 1 ? pg_col_i64(r, 0, 0) : 0;
        PQclear(r);
    }
    return rc;
}
