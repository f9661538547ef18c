/* Fresh database URLs for store tests (see store_fixture.h): SQLite files under /tmp, or
 * databases created and dropped with libpq on the PostgreSQL server SI_TEST_STORE_URL names. */
#include "store_fixture.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define FIXTURE_PREFIX   "sqlite:/tmp/si-store-"
#define FIXTURE_DB       "/db.sqlite"
#define FIXTURE_PATH_MAX 512
#define PG_DB_PREFIX     "si_t_"
#define PG_DB_RANDOM     8   /* random bytes in a database name (16 hex digits) */
#define PG_NAME_MAX      64  /* PostgreSQL identifiers are at most 63 bytes */
#define PG_SQL_MAX       160 /* CREATE/DROP DATABASE statements */

static bool is_postgres(const char *url)
{
    return url && (strncasecmp(url, "postgres://", strlen("postgres://")) == 0 ||
                   strncasecmp(url, "postgresql://", strlen("postgresql://")) == 0);
}

/* The offsets of the database name in a postgres URL: [*start, *end). With no path, both are
 * where the name would go (before any '?'). */
static void db_span(const char *url, size_t *start, size_t *end)
{
    const char *auth = strstr(url, "://") + 3;
    size_t q = strcspn(url, "?");
    const char *slash = memchr(auth, '/', (size_t)(url + q - auth));
    *start = slash ? (size_t)(slash - url) + 1 : q;
    *end = q;
}

/* url with its database replaced by name (heap). */
static char *with_db(const char *url, const char *name)
{
    size_t start, end;
    db_span(url, &start, &end);
    bool had_slash = start != end || (start > 0 && url[start - 1] == '/');
    size_t n = strlen(url) + strlen(name) + 2;
    char *out = malloc(n);
    if (!out)
        abort();
    snprintf(out, n, "%.*s%s%s%s", (int)start, url, had_slash ? "" : "/", name, url + end);
    return out;
}

/* Runs one statement on the maintenance database; aborts the test run when it fails. */
static void admin_exec(const char *sql)
{
    const char *admin = getenv(STORE_FIXTURE_ENV);
    PGconn *c = PQconnectdb(admin);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "store_fixture: cannot connect to %s: %s", STORE_FIXTURE_ENV,
                PQerrorMessage(c));
        abort();
    }
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "store_fixture: %s: %s", sql, PQresultErrorMessage(r));
        abort();
    }
    PQclear(r);
    PQfinish(c);
}

/* A new database on the server SI_TEST_STORE_URL names; returns its URL. */
static char *pg_fresh(const char *admin)
{
    unsigned char rnd[PG_DB_RANDOM];
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0 || read(fd, rnd, sizeof rnd) != (ssize_t)sizeof rnd) {
        perror("store_fixture: /dev/urandom");
        abort();
    }
    close(fd);
    char name[PG_NAME_MAX], sql[PG_SQL_MAX];
    int len = snprintf(name, sizeof name, "%s", PG_DB_PREFIX);
    for (size_t i = 0; i < sizeof rnd; i++)
        len += snprintf(name + len, sizeof name - (size_t)len, "%02x", rnd[i]);
    /* template0: nobody is ever connected to it, so concurrent test runs can copy it. */
    snprintf(sql, sizeof sql, "CREATE DATABASE %s TEMPLATE template0", name);
    admin_exec(sql);
    return with_db(admin, name);
}

char *store_fixture_url(void)
{
    const char *env = getenv(STORE_FIXTURE_ENV);
    if (env && *env)
        return is_postgres(env) ? pg_fresh(env) : strdup(env);
    char dir[] = "/tmp/si-store-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("store_fixture: mkdtemp");
        abort();
    }
    size_t n = strlen("sqlite:") + strlen(dir) + strlen(FIXTURE_DB) + 1;
    char *url = malloc(n);
    if (!url)
        abort();
    snprintf(url, n, "sqlite:%s%s", dir, FIXTURE_DB);
    return url;
}

/* The database name of a fixture-made postgres URL into name; false for any other URL. */
static bool pg_private_name(const char *url, char name[PG_NAME_MAX])
{
    if (!is_postgres(url))
        return false;
    size_t start, end;
    db_span(url, &start, &end);
    size_t n = end - start;
    if (n != strlen(PG_DB_PREFIX) + 2 * PG_DB_RANDOM ||
        strncmp(url + start, PG_DB_PREFIX, strlen(PG_DB_PREFIX)) != 0)
        return false;
    /* Only [0-9a-f] after the prefix: the name goes into SQL text unquoted. */
    for (size_t i = start + strlen(PG_DB_PREFIX); i < end; i++)
        if (!strchr("0123456789abcdef", url[i]))
            return false;
    memcpy(name, url + start, n);
    name[n] = '\0';
    return true;
}

bool store_fixture_is_private(const char *url)
{
    char name[PG_NAME_MAX];
    if (pg_private_name(url, name))
        return true;
    return url && strncmp(url, FIXTURE_PREFIX, strlen(FIXTURE_PREFIX)) == 0;
}

void store_fixture_remove(const char *url)
{
    char name[PG_NAME_MAX], sql[PG_SQL_MAX];
    if (pg_private_name(url, name)) {
        /* FORCE: a test that failed half-way may have left a connection open. */
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
        admin_exec(sql);
        return;
    }
    if (!store_fixture_is_private(url))
        return;
    const char *path = url + strlen("sqlite:");
    char p[FIXTURE_PATH_MAX];
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s", path);
    char *slash = strrchr(p, '/');
    if (slash) {
        *slash = '\0';
        rmdir(p);
    }
}
