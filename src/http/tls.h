/* Native TLS for the HTTP server: reads the PEM certificate and key named by --tls-cert and
 * --tls-key and hands them to libmicrohttpd's GnuTLS support. */
#ifndef SI_HTTP_TLS_H
#define SI_HTTP_TLS_H

#include "common/err.h"

#include <microhttpd.h>
#include <stddef.h>

#define TLS_PEM_MAX     (1024 * 1024) /* bytes per file; a long chain is a few KiB */
#define TLS_MHD_OPTIONS 4             /* entries tls_mhd_options fills: key, cert, callback, end */
#define TLS_CHAIN_MAX   16            /* certificates in one chain */
#define TLS_WHY_MAX     256           /* bytes of a reload failure's reason, NUL included */

/* The certificate chain and private key as NUL-terminated PEM text, as MHD wants them. */
struct tls_files {
    char *cert;
    size_t cert_len;
    char *key; /* wiped before it is freed */
    size_t key_len;
};

/* Reads cert_path and key_path (both NULL: *out = NULL and SI_OK, plain HTTP). Checks that
 * both are given, are readable regular files under TLS_PEM_MAX, that the certificate file holds
 * a PEM certificate and the key file an unencrypted PEM private key, and that this
 * libmicrohttpd was built with TLS. On failure logs one error naming the flag, the path and the
 * problem (never file contents) and returns SI_ECONFIG; SI_OK hands *out to the caller, who
 * frees it with tls_files_free. Call at start-up; no shared state. */
enum si_err tls_files_load(const char *cert_path, const char *key_path,
                           struct tls_files **out) SI_MUST_USE;

/* Makes t (already checked by tls_files_load) the certificate and key every new handshake gets:
 * parsed by GnuTLS and checked to belong together, then swapped in under a lock, so
 * connections in flight keep theirs and none is dropped. The credentials are process-wide
 * (GnuTLS's retrieve callback carries no context): one TLS server per process. The ones
 * replaced stay allocated until tls_creds_clear, as a handshake may still use them.
 * SI_ECONFIG with the reason in why (the current ones are kept); thread-safe. */
enum si_err tls_creds_install(const struct tls_files *t, char why[TLS_WHY_MAX]) SI_MUST_USE;

/* When the first certificate of t stops being valid (seconds since the epoch). SI_ECONFIG if
 * GnuTLS cannot read it. For `siteinvites doctor`. */
enum si_err tls_cert_expiry(const struct tls_files *t, long long *not_after) SI_MUST_USE;

/* Frees every installed credential; after the daemon has stopped. */
void tls_creds_clear(void);

/* Fills opts with the entries for MHD_OPTION_ARRAY: the key and the certificate, or only
 * MHD_OPTION_END when tls is NULL. The pointers are borrowed from tls, which must outlive the
 * daemon they are given to. */
void tls_mhd_options(const struct tls_files *tls, struct MHD_OptionItem opts[TLS_MHD_OPTIONS]);

/* The daemon flags TLS needs: MHD_USE_TLS when tls is not NULL, else 0. */
unsigned tls_mhd_flags(const struct tls_files *tls);

/* Wipes the key and frees everything. NULL is accepted. */
void tls_files_free(struct tls_files *tls);

#endif
