/* The HTTP server: the only user of libmicrohttpd. Serves the API, the invitee pages and the
 * health and metrics endpoints. */
#ifndef SI_HTTP_SERVER_H
#define SI_HTTP_SERVER_H

#include "common/err.h"
#include "request/app.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_config {
    const char *listen;   /* "host:port"; port 0 picks a free one */
    int threads;          /* worker threads; 0 = two per core */
    size_t body_limit;    /* bytes; 0 = REQUEST_BODY_LIMIT_DEFAULT */
    const char *tls_cert; /* PEM file paths, both or neither: both serve HTTPS (http/tls.h) */
    const char *tls_key;
    bool no_access_log; /* true: no per-request log line (benchmarks); errors are still logged */
    /* Connection limits (slowloris): 0 = the default below. Above max_connections new
     * connections wait in the listen backlog; above max_per_ip (0 = no limit) one address's
     * new connections are closed at once. read_timeout_s closes a connection that sent or
     * took no byte for that long (an idle timeout: a byte resets it). */
    unsigned max_connections;
    unsigned max_per_ip;
    unsigned read_timeout_s;
    enum http_role {
        HTTP_ROLE_ALL,         /* everything, /metrics included */
        HTTP_ROLE_NO_METRICS,  /* the API when --metrics-listen moved /metrics elsewhere */
        HTTP_ROLE_METRICS_ONLY /* --metrics-listen: /metrics, /healthz and /readyz only */
    } role;
};

#define HTTP_MAX_CONNECTIONS_DEFAULT 1000
#define HTTP_READ_TIMEOUT_DEFAULT_S  30

struct http_server;

/* Starts listening and serving on background threads. app must outlive the server.
 * SI_ECONFIG for a bad listen address or TLS files that cannot be used, SI_EIO if the port
 * cannot be bound or MHD refuses the TLS certificate and key (all logged). */
enum si_err http_server_start(const struct http_config *cfg, struct app *app,
                              struct http_server **out) SI_MUST_USE;

/* Re-reads the certificate and key files (SIGHUP) and gives them to every new handshake;
 * connections in flight keep theirs. On failure the ones in use stay and the reason is logged
 * (SI_ECONFIG). SI_OK and nothing done on a plain HTTP server. Thread-safe. */
enum si_err http_server_reload_tls(struct http_server *srv, const char *cert,
                                   const char *key) SI_MUST_USE;

/* The port actually bound (useful with port 0). */
uint16_t http_server_port(const struct http_server *srv);

/* Stops accepting, lets requests in flight finish, frees the server. NULL is accepted. */
void http_server_stop(struct http_server *srv);

#endif
