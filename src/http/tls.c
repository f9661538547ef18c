/* Loading the TLS certificate and key for libmicrohttpd: file reading with a cap, PEM sanity
 * checks that give a clear message before GnuTLS does, and the MHD options and flags. */
#include "http/tls.h"

#include "common/log.h"
#include "common/secure.h"
#include "common/xalloc.h"

#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PEM_BEGIN     "-----BEGIN "
#define PEM_DASHES    "-----"
#define PEM_LABEL_MAX 64 /* longest label we look at ("ENCRYPTED PRIVATE KEY" is 21) */

/* What a PEM file holds, from its BEGIN lines. */
struct pem_scan {
    bool certificate;   /* a CERTIFICATE block */
    bool private_key;   /* a PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY... block */
    bool encrypted_key; /* ENCRYPTED PRIVATE KEY, or a legacy "Proc-Type: 4,ENCRYPTED" header */
};

/* Reads the whole regular file at path into a NUL-terminated heap buffer of at most
 * TLS_PEM_MAX bytes. Reads with read(2), not stdio, so no library buffer keeps a copy of a key.
 * On failure logs "FLAG PATH: problem" and returns SI_ECONFIG. */
static enum si_err read_pem(const char *flag, const char *path, char **out, size_t *out_len)
{
    enum si_err rc = SI_ECONFIG;
    char *buf = NULL;
    size_t len = 0;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        log_error("%s %s: cannot open (%s)", flag, path, strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        log_error("%s %s: not a regular file", flag, path);
        goto out;
    }
    if (st.st_size > TLS_PEM_MAX) {
        log_error("%s %s: larger than %d bytes, not a PEM file", flag, path, TLS_PEM_MAX);
        goto out;
    }
    /* Room for one byte more than fstat saw, so a file that grows meanwhile is caught. */
    size_t cap = (size_t)st.st_size + 1;
    buf = xmalloc(cap + 1);
    for (;;) {
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            log_error("%s %s: cannot read (%s)", flag, path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == cap) {
            log_error("%s %s: changed while being read; try again", flag, path);
            goto out;
        }
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    buf = NULL;
    rc = SI_OK;
out:
    if (buf) {
        secure_wipe(buf, len);
        free(buf);
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Sorts the BEGIN labels of text. Labels are matched whole: "PRIVATE KEY" with any prefix
 * (RSA, EC, DSA) is a key, except "ENCRYPTED PRIVATE KEY", which GnuTLS cannot use without a
 * password we do not take. */
static struct pem_scan scan_pem(const char *text)
{
    struct pem_scan s = {0};
    static const char key_suffix[] = "PRIVATE KEY";
    const size_t suffix_len = sizeof key_suffix - 1;
    for (const char *p = strstr(text, PEM_BEGIN); p; p = strstr(p, PEM_BEGIN)) {
        p += strlen(PEM_BEGIN);
        const char *end = strstr(p, PEM_DASHES);
        if (!end || end - p > PEM_LABEL_MAX || memchr(p, '\n', (size_t)(end - p)))
            continue;
        size_t n = (size_t)(end - p);
        if (n == strlen("CERTIFICATE") && memcmp(p, "CERTIFICATE", n) == 0)
            s.certificate = true;
        else if (n == strlen("ENCRYPTED PRIVATE KEY") && memcmp(p, "ENCRYPTED PRIVATE KEY", n) == 0)
            s.encrypted_key = true;
        else if (n >= suffix_len && memcmp(end - suffix_len, key_suffix, suffix_len) == 0)
            s.private_key = true;
    }
    if (strstr(text, "Proc-Type: 4,ENCRYPTED"))
        s.encrypted_key = true;
    return s;
}

/* Checks that the certificate file holds a certificate and the key file a usable key, with a
 * hint for the usual mistakes (files swapped, a key with a pass phrase, DER instead of PEM). */
static enum si_err check_pem(const char *cert_path, const struct tls_files *t, const char *key_path)
{
    if (memchr(t->cert, '\0', t->cert_len) || memchr(t->key, '\0', t->key_len)) {
        log_error("--tls-cert %s / --tls-key %s: binary data; both must be PEM text (convert DER "
                  "with openssl x509/pkey -inform der)",
                  cert_path, key_path);
        return SI_ECONFIG;
    }
    struct pem_scan c = scan_pem(t->cert), k = scan_pem(t->key);
    if (!c.certificate) {
        log_error("--tls-cert %s: no PEM certificate (-----BEGIN CERTIFICATE-----)%s", cert_path,
                  c.private_key ? "; it holds a private key: are the two files swapped?" : "");
        return SI_ECONFIG;
    }
    if (k.encrypted_key) {
        log_error("--tls-key %s: the private key is encrypted; give an unencrypted key (file "
                  "mode 600), e.g. from openssl pkey -in KEY -out PLAIN",
                  key_path);
        return SI_ECONFIG;
    }
    if (!k.private_key) {
        log_error("--tls-key %s: no PEM private key (-----BEGIN PRIVATE KEY-----)%s", key_path,
                  k.certificate ? "; it holds a certificate: are the two files swapped?" : "");
        return SI_ECONFIG;
    }
    return SI_OK;
}

enum si_err tls_files_load(const char *cert_path, const char *key_path, struct tls_files **out)
{
    *out = NULL;
    if (!cert_path && !key_path)
        return SI_OK;
    if (!cert_path || !key_path) {
        log_error("--tls-cert and --tls-key go together: give both or neither");
        return SI_ECONFIG;
    }
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        log_error("--tls-cert: this libmicrohttpd was built without TLS; serve plain HTTP "
                  "behind a TLS proxy instead");
        return SI_ECONFIG;
    }
    struct tls_files *t = xcalloc(1, sizeof *t);
    enum si_err rc = read_pem("--tls-cert", cert_path, &t->cert, &t->cert_len);
    if (!rc)
        rc = read_pem("--tls-key", key_path, &t->key, &t->key_len);
    if (!rc)
        rc = check_pem(cert_path, t, key_path);
    if (rc) {
        tls_files_free(t);
        return rc;
    }
    /* A key every local user can read is a key every local user has; say so, but serve. */
    struct stat st;
    if (stat(key_path, &st) == 0 && (st.st_mode & S_IROTH))
        log_warn("--tls-key %s is readable by every user; chmod 600 it", key_path);
    *out = t;
    return SI_OK;
}

/* ---- credentials swapped at run time ---------------------------------------------------- */

/* One parsed certificate chain and key. */
struct tls_creds {
    gnutls_pcert_st pcerts[TLS_CHAIN_MAX];
    unsigned npcerts;
    gnutls_privkey_t key;
    struct tls_creds *older; /* replaced ones, freed by tls_creds_clear */
};

static pthread_mutex_t creds_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tls_creds *creds_current; /* under creds_lock */

static void creds_free(struct tls_creds *c)
{
    for (unsigned i = 0; i < c->npcerts; i++)
        gnutls_pcert_deinit(&c->pcerts[i]);
    if (c->key)
        gnutls_privkey_deinit(c->key);
    free(c);
}

/* GnuTLS asks for the server's certificate at each handshake. */
static int cert_cb(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                   const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                   gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
    (void)session, (void)req_ca_dn, (void)nreqs, (void)pk_algos, (void)pk_algos_length;
    pthread_mutex_lock(&creds_lock);
    struct tls_creds *c = creds_current;
    if (c) {
        *pcert = c->pcerts;
        *pcert_length = c->npcerts;
        *pkey = c->key;
    }
    pthread_mutex_unlock(&creds_lock);
    return c ? 0 : -1;
}

/* Parses t into c; GnuTLS's reason in why on failure. */
static enum si_err creds_parse(const struct tls_files *t, struct tls_creds *c, char *why)
{
    gnutls_datum_t cert = {(unsigned char *)t->cert, (unsigned)t->cert_len};
    gnutls_datum_t key = {(unsigned char *)t->key, (unsigned)t->key_len};
    gnutls_certificate_credentials_t check = NULL;
    const char *what = "certificate";
    c->npcerts = TLS_CHAIN_MAX;
    int r =
        gnutls_pcert_list_import_x509_raw(c->pcerts, &c->npcerts, &cert, GNUTLS_X509_FMT_PEM, 0);
    if (r < 0)
        c->npcerts = 0;
    if (r >= 0 && (what = "private key", (r = gnutls_privkey_init(&c->key))) >= 0)
        r = gnutls_privkey_import_x509_raw(c->key, &key, GNUTLS_X509_FMT_PEM, NULL, 0);
    /* The same pair through GnuTLS's own check, which refuses a key of another certificate. */
    if (r >= 0 &&
        (what = "certificate and key", (r = gnutls_certificate_allocate_credentials(&check))) >= 0)
        r = gnutls_certificate_set_x509_key_mem2(check, &cert, &key, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (check)
        gnutls_certificate_free_credentials(check);
    if (r < 0) {
        snprintf(why, TLS_WHY_MAX, "%s: %s", what, gnutls_strerror(r));
        return SI_ECONFIG;
    }
    return SI_OK;
}

enum si_err tls_creds_install(const struct tls_files *t, char why[TLS_WHY_MAX])
{
    struct tls_creds *c = xcalloc(1, sizeof *c);
    enum si_err rc = creds_parse(t, c, why);
    if (rc) {
        creds_free(c);
        return rc;
    }
    pthread_mutex_lock(&creds_lock);
    c->older = creds_current;
    creds_current = c;
    pthread_mutex_unlock(&creds_lock);
    return SI_OK;
}

enum si_err tls_cert_expiry(const struct tls_files *t, long long *not_after)
{
    gnutls_x509_crt_t crt = NULL;
    gnutls_datum_t cert = {(unsigned char *)t->cert, (unsigned)t->cert_len};
    int r = gnutls_x509_crt_init(&crt);
    if (r >= 0)
        r = gnutls_x509_crt_import(crt, &cert, GNUTLS_X509_FMT_PEM);
    if (r >= 0)
        *not_after = (long long)gnutls_x509_crt_get_expiration_time(crt);
    if (crt)
        gnutls_x509_crt_deinit(crt);
    return r < 0 ? SI_ECONFIG : SI_OK;
}

void tls_creds_clear(void)
{
    pthread_mutex_lock(&creds_lock);
    struct tls_creds *c = creds_current;
    creds_current = NULL;
    pthread_mutex_unlock(&creds_lock);
    while (c) {
        struct tls_creds *older = c->older;
        creds_free(c);
        c = older;
    }
}

void tls_mhd_options(const struct tls_files *tls, struct MHD_OptionItem opts[TLS_MHD_OPTIONS])
{
    size_t i = 0;
    if (tls) {
        opts[i++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, tls->key};
        opts[i++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, tls->cert};
        /* The callback wins over the pair above once installed (tls_creds_install): it is what
         * lets SIGHUP swap the certificate without restarting the daemon. */
        opts[i++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_CERT_CALLBACK, 0, (void *)cert_cb};
    }
    opts[i] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
}

unsigned tls_mhd_flags(const struct tls_files *tls)
{
    return tls ? MHD_USE_TLS : 0;
}

void tls_files_free(struct tls_files *tls)
{
    if (!tls)
        return;
    if (tls->key) {
        secure_wipe(tls->key, tls->key_len);
        free(tls->key);
    }
    free(tls->cert);
    free(tls);
}
