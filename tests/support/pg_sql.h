/* One-shot SQL on a PostgreSQL test database, for tests that look or reach behind the store
 * (a held lock, a trigger, a killed session, the catalog). Each call with a URL opens its own
 * connection, so what it runs is outside the store's pool. Every failure fails the running
 * cmocka test with the statement and the server's message. */
#ifndef SI_TESTS_PG_SQL_H
#define SI_TESTS_PG_SQL_H

#include <libpq-fe.h>

/* A new connection to url with text (one or more statements; NULL for none) run on it; the
 * caller uses it and PQfinishes it. */
PGconn *pg_sql_open(const char *url, const char *text);

/* Runs text on db; returns its last statement's result, which the caller PQclears. */
PGresult *pg_sql_query_on(PGconn *db, const char *text);

/* Runs text on a connection of its own, closed before returning; the result outlives it. */
PGresult *pg_sql_query(const char *url, const char *text);

/* Runs text on a connection of its own; its result is not needed. */
void pg_sql_run(const char *url, const char *text);

/* The first value of text's result read as an integer (a count); fails the test if the result
 * has no row or the value is not one. */
long pg_sql_long_on(PGconn *db, const char *text);
long pg_sql_long(const char *url, const char *text);

#endif
