/* One-shot SQL on a PostgreSQL test database (see pg_sql.h). */
#include "pg_sql.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

PGconn *pg_sql_open(const char *url, const char *text)
{
    PGconn *db = PQconnectdb(url);
    if (PQstatus(db) != CONNECTION_OK)
        fail_msg("cannot connect: %s", PQerrorMessage(db));
    if (text)
        PQclear(pg_sql_query_on(db, text));
    return db;
}

PGresult *pg_sql_query_on(PGconn *db, const char *text)
{
    PGresult *r = PQexec(db, text);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("%s: %s", text, PQerrorMessage(db));
    return r;
}

PGresult *pg_sql_query(const char *url, const char *text)
{
    PGconn *db = pg_sql_open(url, NULL);
    PGresult *r = pg_sql_query_on(db, text);
    PQfinish(db);
    return r;
}

void pg_sql_run(const char *url, const char *text)
{
    PQclear(pg_sql_query(url, text));
}

static long first_long(PGresult *r, const char *text)
{
    if (PQntuples(r) < 1 || PQnfields(r) < 1 || PQgetisnull(r, 0, 0))
        fail_msg("%s: no value", text);
    const char *v = PQgetvalue(r, 0, 0);
    char *end = NULL;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end)
        fail_msg("%s: '%s' is not an integer", text, v);
    PQclear(r);
    return n;
}

long pg_sql_long_on(PGconn *db, const char *text)
{
    return first_long(pg_sql_query_on(db, text), text);
}

long pg_sql_long(const char *url, const char *text)
{
    return first_long(pg_sql_query(url, text), text);
}
