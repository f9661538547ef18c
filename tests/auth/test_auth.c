/* API keys and permissions: names, key shape, hashing, and the checks made before the store. */
#include "auth/auth.h"

#include "common/ids.h"

#include "fakes.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static int setup(void **state)
{
    (void)state;
    return secure_init() == SI_OK ? 0 : -1;
}

static void test_perm_parse(void **state)
{
    (void)state;
    unsigned p = 0;
    assert_true(perm_parse_list("site-users.read", &p));
    assert_int_equal(p, PERM_READ);
    assert_true(perm_parse_list("site-users.send-invite,site-users.delete-invite", &p));
    assert_int_equal(p, PERM_SEND_INVITE | PERM_DELETE_INVITE);
    assert_true(perm_parse_list(" contributors.manage ,\tsite-users.read ", &p));
    assert_int_equal(p, PERM_CONTRIBUTORS | PERM_READ);
    assert_true(perm_parse_list("site-users.read,site-users.read", &p));
    assert_int_equal(p, PERM_READ);
    assert_true(perm_parse_list("site-users.send-invite,site-users.delete-invite,site-users.read,"
                                "contributors.manage",
                                &p));
    assert_int_equal(p, PERM_ALL);
    /* refusals leave *out untouched */
    const char *bad[] = {"",
                         " ",
                         ",",
                         "site-users.read,",
                         ",site-users.read",
                         "site-users.read,,contributors.manage",
                         "site-users.write",
                         "SITE-USERS.READ",
                         "site-users.read;contributors.manage",
                         "site-users.rea",
                         "site-users.readx"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned q = 12345;
        if (perm_parse_list(bad[i], &q) || q != 12345)
            fail_msg("\"%s\" was accepted", bad[i]);
    }
    unsigned q = 12345;
    assert_false(perm_parse_list(NULL, &q));
    assert_int_equal(q, 12345);
}

static void test_perm_format(void **state)
{
    (void)state;
    char out[128];
    perm_format_list(PERM_ALL, out, sizeof out);
    assert_string_equal(out, "site-users.send-invite,site-users.delete-invite,site-users.read,"
                             "contributors.manage");
    perm_format_list(PERM_READ | PERM_CONTRIBUTORS, out, sizeof out);
    assert_string_equal(out, "site-users.read,contributors.manage");
    perm_format_list(0, out, sizeof out);
    assert_string_equal(out, "");
    perm_format_list(1u << 20, out, sizeof out); /* unknown bits are not names */
    assert_string_equal(out, "");
    /* round trip through the parser */
    unsigned p = 0;
    perm_format_list(PERM_SEND_INVITE | PERM_READ, out, sizeof out);
    assert_true(perm_parse_list(out, &p));
    assert_int_equal(p, PERM_SEND_INVITE | PERM_READ);
    /* a short buffer gets whole names only, always terminated */
    char small[30];
    perm_format_list(PERM_ALL, small, sizeof small);
    assert_string_equal(small, "site-users.send-invite");
    char tiny[4] = "xyz";
    perm_format_list(PERM_ALL, tiny, sizeof tiny);
    assert_string_equal(tiny, "");
    perm_format_list(PERM_ALL, tiny, 0); /* nothing written at all */
    assert_string_equal(tiny, "");
}

static void test_key_shape(void **state)
{
    (void)state;
    struct fake_random fr;
    fake_random_init(&fr, 9);
    char k1[API_KEY_TEXT_LEN + 1], k2[API_KEY_TEXT_LEN + 1];
    auth_key_new(&fr.source, k1);
    auth_key_new(&fr.source, k2);
    assert_int_equal(strlen(k1), API_KEY_TEXT_LEN);
    assert_memory_equal(k1, API_KEY_PREFIX, 4);
    assert_int_equal(
        strspn(k1 + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
    assert_string_not_equal(k1, k2);
    assert_int_equal(fr.calls, 2); /* the key's entropy comes from the given source */
    /* the key is exactly the base64url of the source's 32 bytes */
    struct fake_constant_random zeros;
    fake_constant_random_init(&zeros, 0);
    auth_key_new(&zeros.source, k1);
    assert_string_equal(k1, "sik_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
}

static void test_key_hash(void **state)
{
    (void)state;
    const char *key = "sik_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    uint8_t h1[SECURE_HASH_LEN], h2[SECURE_HASH_LEN], plain[SECURE_HASH_LEN];
    auth_key_hash(key, strlen(key), h1);
    auth_key_hash(key, strlen(key), h2);
    assert_memory_equal(h1, h2, sizeof h1); /* stable: the store finds keys by it */
    /* unkeyed BLAKE2b-256 of the text, so a rotated server secret keeps keys working */
    secure_hash(plain, key, strlen(key), NULL, 0);
    assert_memory_equal(h1, plain, sizeof h1);
    auth_key_hash("sik_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", strlen(key), h2);
    assert_memory_not_equal(h1, h2, sizeof h1);
}

/* Everything here is refused before the store is touched, so a NULL store is safe. */
static void test_authenticate_refuses_malformed(void **state)
{
    (void)state;
    char longv[API_KEY_TEXT_MAX + 2];
    memset(longv, 'A', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    const char *bad[] = {
        "",
        "Bearer",
        "Bearer ",
        "Bearer  ",
        "sik_",
        "sik_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",   /* 42 after the prefix */
        "sik_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 44 */
        "SIK_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  /* the prefix is case-sensitive */
        "xyz_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "sik_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+", /* standard base64 */
        "sik_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "sik_AAAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAAA",
        "sik_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA ", /* trailing blank */
        " sik_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "Basic c2lrXzpwYXNzd29yZA==",
        "Bearersik_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "Token sik_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "sik_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\xc3\xa9",
        longv,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct principal p;
        memset(&p, 0x55, sizeof p);
        if (auth_authenticate(NULL, bad[i], &p) != SI_EUNAUTH)
            fail_msg("\"%s\" was not refused", bad[i]);
        /* a refusal never leaves a principal that could be mistaken for one */
        assert_int_equal(p.permissions, 0);
        assert_string_equal(p.account_id, "");
    }
    struct principal p;
    assert_int_equal(auth_authenticate(NULL, NULL, &p), SI_EUNAUTH);
}

/* A real SQLite store in a temporary directory, with one account and one active key. */
struct store_fixture {
    char dir[64];
    char path[96];
    struct store *store;
    char key[API_KEY_TEXT_LEN + 1];
    struct api_key_row row;
};

static int store_setup(void **state)
{
    static struct store_fixture f;
    char url[128];
    memcpy(f.dir, "/tmp/si-auth-XXXXXX", 20);
    if (!mkdtemp(f.dir))
        return -1;
    snprintf(f.path, sizeof f.path, "%s/t.db", f.dir);
    snprintf(url, sizeof url, "sqlite:%s", f.path);
    if (store_open(url, &f.store) || store_migrate(f.store, NULL))
        return -1;
    struct fake_random fr;
    fake_random_init(&fr, 77);
    struct account a = {.created = FAKE_NOW};
    id_new(&fr.source, a.id);
    memcpy(a.name, "Acme", 5);
    memcpy(a.email, "owner@acme.example", 19);
    memset(&f.row, 0, sizeof f.row);
    id_new(&fr.source, f.row.id);
    memcpy(f.row.account_id, a.id, SI_ID_LEN);
    memcpy(f.row.name, "ci", 3);
    f.row.permissions = PERM_READ | PERM_SEND_INVITE;
    f.row.created = FAKE_NOW;
    auth_key_new(&fr.source, f.key);
    uint8_t hash[SECURE_HASH_LEN];
    auth_key_hash(f.key, strlen(f.key), hash);
    if (store_account_create(f.store, &a) || store_key_create(f.store, &f.row, hash))
        return -1;
    *state = &f;
    return 0;
}

static int store_teardown(void **state)
{
    struct store_fixture *f = *state;
    char wal[128];
    store_close(f->store);
    unlink(f->path);
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", f->path);
    unlink(wal);
    rmdir(f->dir);
    return 0;
}

static void assert_principal(struct store_fixture *f, const char *authorization)
{
    struct principal p;
    assert_int_equal(auth_authenticate(f->store, authorization, &p), SI_OK);
    assert_string_equal(p.key_id, f->row.id);
    assert_string_equal(p.account_id, f->row.account_id);
    assert_int_equal(p.permissions, PERM_READ | PERM_SEND_INVITE);
}

static void test_authenticate_with_store(void **state)
{
    struct store_fixture *f = *state;
    char v[API_KEY_TEXT_MAX];
    assert_principal(f, f->key); /* the raw key, as Wix sends it */
    snprintf(v, sizeof v, "Bearer %s", f->key);
    assert_principal(f, v);
    snprintf(v, sizeof v, "bEaReR \t %s", f->key);
    assert_principal(f, v);
    /* a well-formed key that was never issued */
    struct principal p;
    memcpy(v, f->key, sizeof f->key);
    v[10] = v[10] == 'A' ? 'B' : 'A';
    assert_int_equal(auth_authenticate(f->store, v, &p), SI_EUNAUTH);
    /* revoked keys stop working at once */
    assert_int_equal(store_key_revoke(f->store, f->row.id, FAKE_NOW + 1), SI_OK);
    assert_int_equal(auth_authenticate(f->store, f->key, &p), SI_EUNAUTH);
    assert_int_equal(p.permissions, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_perm_parse),
        cmocka_unit_test(test_perm_format),
        cmocka_unit_test(test_key_shape),
        cmocka_unit_test(test_key_hash),
        cmocka_unit_test(test_authenticate_refuses_malformed),
        cmocka_unit_test_setup_teardown(test_authenticate_with_store, store_setup, store_teardown),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
