/* Unit tests of http/tls.c: reading the --tls-cert/--tls-key files, the PEM checks and their
 * messages (captured from stderr), and the libmicrohttpd options and flags they produce. The
 * PEM bodies here are fake: GnuTLS parsing is tested end to end in tests/api/test_tls.py. */
#include "http/tls.h"

#include <setjmp.h> /* cmocka needs these first */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_MAX_TEST  64 /* the mkdtemp folder; paths inside it fit PATH_MAX_TEST */
#define PATH_MAX_TEST 128
#define LOG_MAX_TEST  4096

static const char cert_pem[] = "-----BEGIN CERTIFICATE-----\nQ0VSVEJPRFk=\n"
                               "-----END CERTIFICATE-----\n";
/* A marker that stands for key material: no message may ever contain it. */
#define KEY_SECRET "S2V5TWF0ZXJpYWxNdXN0TmV2ZXJMZWFr"
static const char key_pem[] = "-----BEGIN PRIVATE KEY-----\n" KEY_SECRET "\n"
                              "-----END PRIVATE KEY-----\n";
static const char ec_key_pem[] = "-----BEGIN EC PRIVATE KEY-----\n" KEY_SECRET "\n"
                                 "-----END EC PRIVATE KEY-----\n";
static const char enc_key_pem[] = "-----BEGIN ENCRYPTED PRIVATE KEY-----\n" KEY_SECRET "\n"
                                  "-----END ENCRYPTED PRIVATE KEY-----\n";
static const char legacy_enc_pem[] = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
                                     "DEK-Info: AES-128-CBC,00\n\n" KEY_SECRET "\n"
                                     "-----END RSA PRIVATE KEY-----\n";

struct fixture {
    char dir[DIR_MAX_TEST];
    char cert[PATH_MAX_TEST];
    char key[PATH_MAX_TEST];
    char log[LOG_MAX_TEST]; /* what the last load() wrote to stderr */
};

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/si-tls-XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    snprintf(fx->cert, sizeof fx->cert, "%s/cert.pem", fx->dir);
    snprintf(fx->key, sizeof fx->key, "%s/key.pem", fx->dir);
    write_file(fx->cert, cert_pem, strlen(cert_pem));
    write_file(fx->key, key_pem, strlen(key_pem));
    chmod(fx->key, 0600);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    char path[PATH_MAX_TEST];
    static const char *const names[] = {"cert.pem", "key.pem", "other.pem"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", fx->dir, names[i]);
        unlink(path);
    }
    rmdir(fx->dir);
    free(fx);
    return 0;
}

/* tls_files_load with stderr captured into fx->log. */
static enum si_err load(struct fixture *fx, const char *cert, const char *key,
                        struct tls_files **out)
{
    fflush(stderr);
    int saved = dup(2);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    dup2(fileno(tmp), 2);
    enum si_err rc = tls_files_load(cert, key, out);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t n = fread(fx->log, 1, sizeof fx->log - 1, tmp);
    fx->log[n] = '\0';
    fclose(tmp);
    return rc;
}

/* Loading fails with SI_ECONFIG, one message that holds want and no key material. */
static void assert_refused(struct fixture *fx, const char *cert, const char *key, const char *want)
{
    struct tls_files *t = (struct tls_files *)1;
    assert_int_equal(load(fx, cert, key, &t), SI_ECONFIG);
    assert_null(t);
    assert_non_null(strstr(fx->log, want));
    assert_null(strstr(fx->log, KEY_SECRET));
}

static void test_neither_is_plain_http(void **state)
{
    struct fixture *fx = *state;
    struct tls_files *t = (struct tls_files *)1;
    assert_int_equal(load(fx, NULL, NULL, &t), SI_OK);
    assert_null(t);
    assert_int_equal(tls_mhd_flags(NULL), 0);
    struct MHD_OptionItem opts[TLS_MHD_OPTIONS];
    tls_mhd_options(NULL, opts);
    assert_int_equal(opts[0].option, MHD_OPTION_END);
}

static void test_loads_both_files(void **state)
{
    struct fixture *fx = *state;
    struct tls_files *t = NULL;
    assert_int_equal(load(fx, fx->cert, fx->key, &t), SI_OK);
    assert_non_null(t);
    assert_int_equal(t->cert_len, strlen(cert_pem));
    assert_string_equal(t->cert, cert_pem);
    assert_int_equal(t->key_len, strlen(key_pem));
    assert_string_equal(t->key, key_pem);
    assert_null(strstr(fx->log, "readable by every user")); /* mode 600 */

    assert_int_equal(tls_mhd_flags(t), MHD_USE_TLS);
    struct MHD_OptionItem opts[TLS_MHD_OPTIONS];
    tls_mhd_options(t, opts);
    assert_int_equal(opts[0].option, MHD_OPTION_HTTPS_MEM_KEY);
    assert_ptr_equal(opts[0].ptr_value, t->key);
    assert_int_equal(opts[1].option, MHD_OPTION_HTTPS_MEM_CERT);
    assert_ptr_equal(opts[1].ptr_value, t->cert);
    assert_int_equal(opts[2].option, MHD_OPTION_HTTPS_CERT_CALLBACK); /* SIGHUP's swap */
    assert_non_null(opts[2].ptr_value);
    assert_int_equal(opts[3].option, MHD_OPTION_END);
    /* These PEM bodies pass our sanity checks but are no certificate: GnuTLS refuses them
     * with a reason that names the part and holds no key material (a real pair is swapped in
     * by tests/api/test_tls.py's SIGHUP tests). */
    char why[TLS_WHY_MAX] = "";
    assert_int_equal(tls_creds_install(t, why), SI_ECONFIG);
    assert_non_null(strstr(why, "certificate"));
    assert_null(strstr(why, KEY_SECRET));
    long long not_after = 0;
    assert_int_equal(tls_cert_expiry(t, &not_after), SI_ECONFIG);
    tls_creds_clear();
    tls_files_free(t);
    tls_files_free(NULL);
}

static void test_other_key_labels(void **state)
{
    struct fixture *fx = *state;
    struct tls_files *t = NULL;
    write_file(fx->key, ec_key_pem, strlen(ec_key_pem));
    assert_int_equal(load(fx, fx->cert, fx->key, &t), SI_OK);
    tls_files_free(t);
    /* One file holding both, as some tools write them, serves as both flags. */
    char both[sizeof cert_pem + sizeof key_pem];
    snprintf(both, sizeof both, "%s%s", cert_pem, key_pem);
    write_file(fx->cert, both, strlen(both));
    assert_int_equal(load(fx, fx->cert, fx->cert, &t), SI_OK);
    tls_files_free(t);
}

static void test_one_without_the_other(void **state)
{
    struct fixture *fx = *state;
    assert_refused(fx, fx->cert, NULL, "go together");
    assert_refused(fx, NULL, fx->key, "go together");
}

static void test_unusable_files(void **state)
{
    struct fixture *fx = *state;
    char missing[PATH_MAX_TEST];
    snprintf(missing, sizeof missing, "%s/missing.pem", fx->dir);
    assert_refused(fx, missing, fx->key, "--tls-cert");
    assert_non_null(strstr(fx->log, missing));
    assert_non_null(strstr(fx->log, "cannot open"));
    assert_refused(fx, fx->cert, missing, "--tls-key");
    assert_refused(fx, fx->cert, fx->dir, "not a regular file");
    assert_refused(fx, fx->cert, "/dev/null", "not a regular file");
}

static void test_too_big(void **state)
{
    struct fixture *fx = *state;
    size_t n = (size_t)TLS_PEM_MAX + 1;
    char *big = calloc(1, n);
    memset(big, 'A', n);
    write_file(fx->cert, big, n);
    free(big);
    assert_refused(fx, fx->cert, fx->key, "larger than");
}

static void test_wrong_contents(void **state)
{
    struct fixture *fx = *state;
    /* Swapped: the message says so. */
    assert_refused(fx, fx->key, fx->cert, "swapped");
    /* A certificate and no key in the key file. */
    write_file(fx->key, cert_pem, strlen(cert_pem));
    assert_refused(fx, fx->cert, fx->key, "no PEM private key");
    /* Pass-phrase keys, in the PKCS#8 and the legacy form. */
    write_file(fx->key, enc_key_pem, strlen(enc_key_pem));
    assert_refused(fx, fx->cert, fx->key, "encrypted");
    write_file(fx->key, legacy_enc_pem, strlen(legacy_enc_pem));
    assert_refused(fx, fx->cert, fx->key, "encrypted");
    /* DER (binary) instead of PEM. */
    static const char der[] = {0x30, (char)0x82, 0x01, 0x00, 0x00, 0x02};
    write_file(fx->key, der, sizeof der);
    assert_refused(fx, fx->cert, fx->key, "PEM text");
    /* A label that only looks like a key header. */
    static const char fake[] = "-----BEGIN PRIVATE KEY\n-----\n";
    write_file(fx->key, fake, strlen(fake));
    assert_refused(fx, fx->cert, fx->key, "no PEM private key");
}

static void test_world_readable_key_warns(void **state)
{
    struct fixture *fx = *state;
    struct tls_files *t = NULL;
    chmod(fx->key, 0644);
    assert_int_equal(load(fx, fx->cert, fx->key, &t), SI_OK);
    assert_non_null(strstr(fx->log, "readable by every user"));
    assert_null(strstr(fx->log, KEY_SECRET));
    tls_files_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_neither_is_plain_http, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loads_both_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_key_labels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_without_the_other, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unusable_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_big, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_contents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_world_readable_key_warns, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
