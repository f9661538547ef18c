/* serve --dev's local HTTPS: a private CA and a certificate for 127.0.0.1, ::1 and localhost,
 * made once with the openssl command under DIR/tls and reused while they stay valid, so the Wix
 * SDK (which always speaks https) works against `make run` from the first minute. */
#ifndef SI_CLI_DEV_TLS_H
#define SI_CLI_DEV_TLS_H

#include "cli/config.h"
#include "common/err.h"

#define DEV_TLS_DIR     "tls"
#define DEV_TLS_CA      "ca.pem"
#define DEV_TLS_CA_KEY  "ca.key"
#define DEV_TLS_CERT    "cert.pem"
#define DEV_TLS_KEY     "key.pem"
#define DEV_TLS_CA_DAYS 3650
#define DEV_TLS_DAYS    825   /* the longest leaf life every TLS client accepts */
#define DEV_TLS_RENEW_S 86400 /* a certificate expiring within a day is made anew */

/* Absolute paths of the files in use (heap strings, freed by dev_tls_cleanup). */
struct dev_tls {
    char *ca;   /* the CA certificate a client trusts: NODE_EXTRA_CA_CERTS=<ca> */
    char *cert; /* the server certificate and its key, for the TLS listener */
    char *key;
};

/* Makes DIR/tls (mode 0700) and, unless a CA, certificate and key that stay valid for a day are
 * already there, a new CA and server certificate with openssl (private keys mode 0600; openssl's
 * output in DIR/tls/openssl.log). Fills out on success. SI_EIO with a message in err when the
 * folder cannot be made or openssl is missing or fails. Main thread, before threads start. */
enum si_err dev_tls_ensure(const char *dir, struct dev_tls *out, char err[CLI_ERR_MAX]) SI_MUST_USE;

/* Frees the paths; a zeroed or already cleaned struct is accepted. */
void dev_tls_cleanup(struct dev_tls *t);

#endif
