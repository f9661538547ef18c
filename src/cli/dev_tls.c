/* serve --dev's local CA and server certificate, made with the openssl command on first start. */
#include "cli/dev_tls.h"

#include "common/log.h"
#include "common/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define OPENSSL     "openssl"
#define LOG_NAME    "openssl.log"
#define EXT_NAME    "leaf.ext"
#define CSR_NAME    "leaf.csr"
#define SERIAL_NAME "ca.srl"
#define ARGS_MAX    24
#define EC_CURVE    "ec_paramgen_curve:prime256v1"
#define DAYS_TEXT   16

/* The names a local client may use for the server: `make run` prints 127.0.0.1. */
static const char leaf_ext[] = "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n"
                               "basicConstraints=CA:FALSE\n"
                               "keyUsage=critical,digitalSignature\n"
                               "extendedKeyUsage=serverAuth\n";

extern char **environ;

/* The folder and a file in it, as one heap path. */
static char *in_dir(const char *dir, const char *name)
{
    return xasprintf("%s/%s", dir, name);
}

/* Runs openssl with argv (argv[0] is OPENSSL, NULL-terminated), stdin from /dev/null and both
 * outputs appended to log. The child gets default signals: serve blocks SIGTERM and SIGINT and
 * ignores SIGPIPE, and a spawned process inherits both. True when it exited 0. */
static bool run_openssl(char *const argv[], const char *log)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, defaults;
    pid_t pid;
    int status = 0;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    int rc = posix_spawnp(&pid, OPENSSL, &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0)
        return false;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* True when openssl says the certificate file is still valid DEV_TLS_RENEW_S from now. */
static bool cert_fresh(const char *cert, const char *log)
{
    char secs[DAYS_TEXT];
    snprintf(secs, sizeof secs, "%d", DEV_TLS_RENEW_S);
    char *argv[] = {OPENSSL, "x509", "-checkend", secs, "-noout", "-in", (char *)cert, NULL};
    return access(cert, R_OK) == 0 && run_openssl(argv, log);
}

/* The openssl steps of a new CA and a server certificate it signs, in order. */
static bool make_pki(const struct dev_tls *t, const char *dir, const char *log)
{
    char *ca_key = in_dir(dir, DEV_TLS_CA_KEY), *csr = in_dir(dir, CSR_NAME);
    char *ext = in_dir(dir, EXT_NAME), *srl = in_dir(dir, SERIAL_NAME);
    char ca_days[DAYS_TEXT], days[DAYS_TEXT];
    snprintf(ca_days, sizeof ca_days, "%d", DEV_TLS_CA_DAYS);
    snprintf(days, sizeof days, "%d", DEV_TLS_DAYS);
    char *steps[][ARGS_MAX] = {
        {OPENSSL, "genpkey", "-algorithm", "EC", "-pkeyopt", EC_CURVE, "-out", ca_key, NULL},
        {OPENSSL, "req", "-x509", "-new", "-key", ca_key, "-out", t->ca, "-days", ca_days, "-subj",
         "/CN=siteinvites local dev CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
         "keyUsage=critical,keyCertSign", NULL},
        {OPENSSL, "genpkey", "-algorithm", "EC", "-pkeyopt", EC_CURVE, "-out", t->key, NULL},
        {OPENSSL, "req", "-new", "-key", t->key, "-out", csr, "-subj", "/CN=localhost", NULL},
        {OPENSSL, "x509", "-req", "-in", csr, "-CA", t->ca, "-CAkey", ca_key, "-CAserial", srl,
         "-CAcreateserial", "-out", t->cert, "-days", days, "-extfile", ext, NULL},
    };
    /* The certificate is written last: a start that dies half-way leaves no cert.pem, so the
     * next start makes the whole set again instead of using half of it. */
    unlink(t->cert);
    FILE *f = fopen(ext, "w");
    bool ok = f && fputs(leaf_ext, f) >= 0;
    if (f && fclose(f) != 0)
        ok = false;
    for (size_t i = 0; ok && i < sizeof steps / sizeof steps[0]; i++) {
        ok = run_openssl(steps[i], log);
        /* Keys are private from the moment they exist; the folder is 0700 meanwhile. */
        if (ok && (i == 0 || i == 2))
            ok = chmod(steps[i][7], 0600) == 0;
    }
    unlink(csr);
    unlink(ext);
    unlink(srl);
    free(ca_key);
    free(csr);
    free(ext);
    free(srl);
    return ok;
}

enum si_err dev_tls_ensure(const char *dir, struct dev_tls *out, char err[CLI_ERR_MAX])
{
    enum si_err rc = SI_OK;
    char abs[PATH_MAX];
    char *tls_dir = in_dir(dir, DEV_TLS_DIR);
    char *log = NULL;
    memset(out, 0, sizeof *out);
    if ((mkdir(tls_dir, 0700) != 0 && errno != EEXIST) || !realpath(tls_dir, abs)) {
        snprintf(err, CLI_ERR_MAX, "dev: cannot make the folder %s (%s)", tls_dir, strerror(errno));
        rc = SI_EIO;
        goto out;
    }
    out->ca = in_dir(abs, DEV_TLS_CA);
    out->cert = in_dir(abs, DEV_TLS_CERT);
    out->key = in_dir(abs, DEV_TLS_KEY);
    log = in_dir(abs, LOG_NAME);
    if (access(out->ca, R_OK) == 0 && access(out->key, R_OK) == 0 && cert_fresh(out->cert, log))
        goto out;
    log_info("dev: making a local CA and a certificate for 127.0.0.1 and localhost in %s", abs);
    if (!make_pki(out, abs, log)) {
        snprintf(err, CLI_ERR_MAX,
                 "dev: cannot make the local TLS certificate with %s (is it installed? see %s), "
                 "or give --tls-cert and --tls-key",
                 OPENSSL, log);
        rc = SI_EIO;
    }
out:
    if (rc)
        dev_tls_cleanup(out);
    free(log);
    free(tls_dir);
    return rc;
}

void dev_tls_cleanup(struct dev_tls *t)
{
    if (!t)
        return;
    free(t->ca);
    free(t->cert);
    free(t->key);
    t->ca = t->cert = t->key = NULL;
}
