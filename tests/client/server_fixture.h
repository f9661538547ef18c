/* A real `siteinvites serve` for the client tests: a temp dir with its SQLite file, Maildir and
 * secret, the server on 127.0.0.1:0, and the admin CLI run against the same database. */
#ifndef SI_TESTS_CLIENT_SERVER_FIXTURE_H
#define SI_TESTS_CLIENT_SERVER_FIXTURE_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#define FIXTURE_PATH_MAX (PATH_MAX / 4)

struct server_fixture {
    char bin[FIXTURE_PATH_MAX];     /* $SI_BIN */
    char dir[FIXTURE_PATH_MAX];     /* the temp dir, removed by fixture_cleanup */
    char db[FIXTURE_PATH_MAX + 16]; /* sqlite:<dir>/si.db */
    char base_url[64];              /* http://127.0.0.1:PORT once started */
    char ca[FIXTURE_PATH_MAX + 16]; /* <dir>/ca.pem once fixture_make_tls made it */
    bool tls;                       /* serve with <dir>/cert.pem and key.pem, speak https */
    pid_t pid;                      /* 0 when not running */
    int out_fd;                     /* serve's stdout, read for the port line */
};

/* Makes the temp dir and reads $SI_BIN. Returns 0, or -1 with a message on stderr. */
int fixture_init(struct server_fixture *f);

/* Makes a throwaway CA (<dir>/ca.pem, filled into ca) and a certificate for IP 127.0.0.1
 * signed by it (<dir>/cert.pem, key.pem) with the openssl command, and sets tls so that
 * fixture_start serves https. Returns 0, or -1 with a message on stderr. */
int fixture_make_tls(struct server_fixture *f);

/* Starts serve and waits (bounded) for its `listening http[s]://127.0.0.1:PORT` line; fills
 * base_url (https when tls is set). Returns 0, or -1 (the server is killed and reaped). */
int fixture_start(struct server_fixture *f);

/* SIGTERM, then waits (bounded) for the exit. Returns the exit status (0 is a clean stop), or
 * -1 if it did not exit in time (then it is killed) or was not running. */
int fixture_stop(struct server_fixture *f);

/* Runs `siteinvites <args...> --json --db <db>` (args NULL-terminated) and parses its stdout
 * as one JSON object; returns the member `member` as a new string (caller frees), or NULL if
 * the command failed or printed something else. */
char *fixture_cli_member(struct server_fixture *f, const char *member, const char *const *args);

/* Stops the server if running and removes the temp dir. */
void fixture_cleanup(struct server_fixture *f);

#endif
