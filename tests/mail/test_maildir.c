/* The Maildir transport on a real file system: folders created, messages land whole in new/,
 * nothing is left in tmp/, and failures are reported as retryable errors. */
#include "mail/maildir.h"

#include <dirent.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#define TEST_PATH_MAX 4096
#define NAMES_MAX     8

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup_dir(void **state)
{
    char *dir = strdup("/tmp/si-maildir-XXXXXX");
    assert_non_null(mkdtemp(dir));
    *state = dir;
    return 0;
}

static int teardown_dir(void **state)
{
    nftw(*state, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(*state);
    return 0;
}

/* Lists the regular entries of dir/sub (not . and ..) into names; returns how many. */
static int list(const char *dir, const char *sub, char names[NAMES_MAX][256])
{
    char path[TEST_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    DIR *d = opendir(path);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        assert_true(n < NAMES_MAX);
        snprintf(names[n++], 256, "%s", e->d_name);
    }
    closedir(d);
    return n;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *data = calloc(1, 1 << 16);
    *len = fread(data, 1, (1 << 16) - 1, f);
    fclose(f);
    return data;
}

static void test_open_creates_folders(void **state)
{
    char root[TEST_PATH_MAX];
    snprintf(root, sizeof root, "%s/var/mail", (const char *)*state); /* parents too */
    struct transport t;
    assert_int_equal(transport_open(&maildir_transport, root, &t), SI_OK);
    static const char *const subs[] = {"tmp", "new", "cur"};
    for (int i = 0; i < 3; i++) {
        char path[TEST_PATH_MAX + 8];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", root, subs[i]);
        assert_int_equal(stat(path, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
    }
    transport_close(&t);
    /* Opening an existing Maildir again is fine. */
    assert_int_equal(transport_open(&maildir_transport, root, &t), SI_OK);
    transport_close(&t);
    transport_close(&t); /* closing twice is harmless */
}

static void test_message_lands_whole_in_new(void **state)
{
    const char *dir = *state;
    struct transport t;
    assert_int_equal(transport_open(&maildir_transport, dir, &t), SI_OK);
    const char msg[] = "Subject: hi\r\n\r\nbody with a NUL \0 inside\r\n";
    struct mail_envelope env = {.from = "a@b.c", .to = "d@e.f"};
    char err[TRANSPORT_ERROR_MAX] = "";
    assert_int_equal(transport_send(&t, &env, msg, sizeof msg - 1, err), SI_OK);
    assert_int_equal(transport_send(&t, &env, "second", 6, err), SI_OK);
    char names[NAMES_MAX][256];
    /* Sent but not flushed: written to tmp/, invisible to a reader of new/. */
    assert_int_equal(list(dir, "tmp", names), 2);
    assert_int_equal(list(dir, "new", names), 0);
    assert_int_equal(transport_flush(&t, err), SI_OK);
    assert_int_equal(transport_flush(&t, err), SI_OK); /* nothing pending: a no-op */
    transport_close(&t);

    assert_int_equal(list(dir, "tmp", names), 0);
    assert_int_equal(list(dir, "cur", names), 0);
    assert_int_equal(list(dir, "new", names), 2);
    assert_string_not_equal(names[0], names[1]);
    int matched = 0;
    for (int i = 0; i < 2; i++) {
        size_t n = strlen(names[i]);
        assert_true(n > strlen(MAILDIR_SUFFIX));
        assert_string_equal(names[i] + n - strlen(MAILDIR_SUFFIX), MAILDIR_SUFFIX);
        assert_int_equal(strspn(names[i], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789._-"),
                         n);
        char path[TEST_PATH_MAX];
        size_t len;
        snprintf(path, sizeof path, "%s/new/%s", dir, names[i]);
        char *got = slurp(path, &len);
        if (len == sizeof msg - 1 && memcmp(got, msg, len) == 0)
            matched |= 1;
        if (len == 6 && memcmp(got, "second", 6) == 0)
            matched |= 2;
        free(got);
    }
    assert_int_equal(matched, 3); /* exactly the bytes given, each in its own file */
}

/* Closing without a flush delivers nothing and leaves nothing behind: the rows are retried. */
static void test_close_drops_unflushed(void **state)
{
    const char *dir = *state;
    struct transport t;
    assert_int_equal(transport_open(&maildir_transport, dir, &t), SI_OK);
    struct mail_envelope env = {.from = "a@b.c", .to = "d@e.f"};
    char err[TRANSPORT_ERROR_MAX] = "";
    assert_int_equal(transport_send(&t, &env, "lost", 4, err), SI_OK);
    transport_close(&t);
    char names[NAMES_MAX][256];
    assert_int_equal(list(dir, "tmp", names), 0);
    assert_int_equal(list(dir, "new", names), 0);
}

/* A full batch flushes inside send; if that flush fails, the caller's own flush must fail too,
 * or the messages sent before it would be marked sent without having arrived. */
static void test_forced_flush_failure_is_reported(void **state)
{
    const char *dir = *state;
    struct transport t;
    assert_int_equal(transport_open(&maildir_transport, dir, &t), SI_OK);
    char path[TEST_PATH_MAX];
    snprintf(path, sizeof path, "%s/new", dir);
    assert_int_equal(rmdir(path), 0); /* every rename into new/ fails */
    struct mail_envelope env = {.from = "a@b.c", .to = "d@e.f"};
    char err[TRANSPORT_ERROR_MAX] = "";
    enum si_err rc = SI_OK;
    int sent = 0;
    while (rc == SI_OK && sent < 1000) {
        rc = transport_send(&t, &env, "x", 1, err);
        sent += rc == SI_OK;
    }
    assert_int_equal(rc, SI_EIO); /* the forced flush */
    assert_true(sent > 1);
    assert_int_equal(transport_flush(&t, err), SI_EIO);
    assert_non_null(strstr(err, "earlier part of this batch"));
    char names[NAMES_MAX][256];
    assert_int_equal(list(dir, "tmp", names), 0);
    assert_int_equal(transport_flush(&t, err), SI_OK); /* reported once */
    transport_close(&t);
}

static void test_open_fails_on_a_file(void **state)
{
    char path[TEST_PATH_MAX];
    snprintf(path, sizeof path, "%s/plain-file", (const char *)*state);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    struct transport t;
    assert_int_equal(transport_open(&maildir_transport, path, &t), SI_EIO);
    assert_null(t.ops);
    char below[TEST_PATH_MAX + 16];
    snprintf(below, sizeof below, "%s/mail", path);
    assert_int_equal(transport_open(&maildir_transport, below, &t), SI_EIO);
    assert_int_equal(transport_open(&maildir_transport, "", &t), SI_ECONFIG);
}

static void test_send_failure_is_retryable_and_clean(void **state)
{
    const char *dir = *state;
    struct transport t;
    assert_int_equal(transport_open(&maildir_transport, dir, &t), SI_OK);
    char path[TEST_PATH_MAX];
    snprintf(path, sizeof path, "%s/new", dir);
    assert_int_equal(rmdir(path), 0); /* new/ is gone: the flush cannot reopen it */
    struct mail_envelope env = {.from = "a@b.c", .to = "d@e.f"};
    char err[TRANSPORT_ERROR_MAX] = "";
    assert_int_equal(transport_send(&t, &env, "x", 1, err), SI_OK); /* pending in tmp/ */
    assert_int_equal(transport_flush(&t, err), SI_EIO);
    assert_non_null(strstr(err, "maildir: open"));
    assert_null(strstr(err, dir)); /* lastError never shows the folder; the log does */
    char names[NAMES_MAX][256];
    assert_int_equal(list(dir, "tmp", names), 0); /* the undelivered file was removed */

    snprintf(path, sizeof path, "%s/tmp", dir);
    assert_int_equal(rmdir(path), 0); /* now the batch's first send cannot reopen tmp/ */
    err[0] = '\0';
    assert_int_equal(transport_send(&t, &env, "x", 1, err), SI_EIO);
    assert_non_null(strstr(err, "maildir: open"));
    assert_null(strstr(err, dir));
    transport_close(&t);
}

/* A folder moved away while the transport is open: the next batch follows the path, as a writer
 * naming full paths would, and the moved folder gets nothing more. */
static void test_replaced_folders_are_followed(void **state)
{
    const char *dir = *state;
    struct transport t;
    assert_int_equal(transport_open(&maildir_transport, dir, &t), SI_OK);
    char path[TEST_PATH_MAX], away[TEST_PATH_MAX + 8];
    snprintf(path, sizeof path, "%s/new", dir);
    snprintf(away, sizeof away, "%s/new.away", dir);
    assert_int_equal(rename(path, away), 0);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/tmp", dir);
    snprintf(away, sizeof away, "%s/tmp.away", dir);
    assert_int_equal(rename(path, away), 0);
    assert_int_equal(mkdir(path, 0700), 0);
    struct mail_envelope env = {.from = "a@b.c", .to = "d@e.f"};
    char err[TRANSPORT_ERROR_MAX] = "";
    assert_int_equal(transport_send(&t, &env, "x", 1, err), SI_OK);
    assert_int_equal(transport_flush(&t, err), SI_OK);
    transport_close(&t);
    char names[NAMES_MAX][256];
    assert_int_equal(list(dir, "new", names), 1);
    assert_int_equal(list(dir, "new.away", names), 0);
    assert_int_equal(list(dir, "tmp.away", names), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_folders, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_message_lands_whole_in_new, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_replaced_folders_are_followed, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_close_drops_unflushed, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_forced_flush_failure_is_reported, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_open_fails_on_a_file, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_send_failure_is_retryable_and_clean, setup_dir,
                                        teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
