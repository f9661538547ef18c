/* Settings of the command line: the table, precedence of the four sources, config-file
 * parsing, argv parsing, listen addresses, and the server secret file. */
#include "cli/cli.h"
#include "cli/config.h"
#include "cli/secret.h"
#include "fakes.h"

#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define PATH_MAX_TEST 256

/* A private temporary folder per test, removed with its files afterwards. */
static char tmpdir[PATH_MAX_TEST];

static int setup_tmp(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/si-cli-test-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
    (void)state;
    char cmd[PATH_MAX_TEST + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes text into tmpdir/name and returns the path (static storage, one at a time). */
static const char *write_file(const char *name, const char *text)
{
    static char path[PATH_MAX_TEST * 2];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    return path;
}

/* Runs config_load over a NULL-terminated word list. */
static enum si_err load(struct settings *s, unsigned scope, const struct cli_opt *opts, char **envp,
                        struct cli_args *a, char *err, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;
    va_start(ap, err);
    for (char *w; (w = va_arg(ap, char *)) != NULL && argc < 32;)
        argv[argc++] = w;
    va_end(ap);
    return config_load(s, scope, opts, argc, argv, envp, a, err);
}

static void test_table_is_consistent(void **state)
{
    (void)state;
    size_t n;
    const struct setting_def *t = config_table(&n);
    assert_int_equal(n, SETTINGS_COUNT);
    for (size_t i = 0; i < n; i++) {
        /* Rows are indexed by their id, and each env name is SITEINVITES_ + KEY_IN_CAPS. */
        assert_int_equal(t[i].id, i);
        char want[128] = "SITEINVITES_";
        size_t len = strlen(want);
        for (const char *k = t[i].key; *k && len < sizeof want - 1; k++)
            want[len++] = *k == '-' ? '_' : (char)toupper((unsigned char)*k);
        want[len] = '\0';
        assert_string_equal(t[i].env, want);
        assert_non_null(t[i].help);
    }
}

static void test_defaults(void **state)
{
    (void)state;
    struct settings s;
    settings_init(&s);
    assert_string_equal(s.listen, "127.0.0.1:8080");
    assert_string_equal(s.db, "sqlite:var/siteinvites.db");
    assert_string_equal(s.mail_dir, "var/mail");
    assert_string_equal(s.mail_from, "Site Invites <invites@localhost>");
    assert_null(s.base_url);
    assert_null(s.smtp_url);
    assert_true(s.access_log);
    assert_false(s.dev);
    assert_int_equal(s.threads, 0);
    assert_int_equal(s.body_limit, 1048576);
    assert_int_equal(s.source[SET_LISTEN], SRC_DEFAULT);
    settings_cleanup(&s);
}

static void test_precedence_flag_env_file_default(void **state)
{
    (void)state;
    const char *cfg = write_file("a.conf", "listen = 10.0.0.1:1\n"
                                           "threads = 3\n"
                                           "mail-dir = /from/file\n"
                                           "body-limit = 4096\n");
    char cfg_env[PATH_MAX_TEST * 3];
    snprintf(cfg_env, sizeof cfg_env, "SITEINVITES_CONFIG=%s", cfg);
    char *envp[] = {cfg_env,
                    "SITEINVITES_LISTEN=10.0.0.2:2",
                    "SITEINVITES_THREADS=5",
                    "SITEINVITES_BODY_LIMIT=8192",
                    "PATH=/bin",
                    NULL};
    struct settings s;
    struct cli_args a;
    char err[CLI_ERR_MAX] = "";
    settings_init(&s);
    assert_int_equal(load(&s, SCOPE_SERVE, NULL, envp, &a, err, "--listen", "10.0.0.3:3",
                          "--body-limit=16384", NULL),
                     SI_OK);
    assert_string_equal(s.listen, "10.0.0.3:3"); /* flag over env over file */
    assert_int_equal(s.source[SET_LISTEN], SRC_FLAG);
    assert_int_equal(s.body_limit, 16384);
    assert_int_equal(s.threads, 5); /* env over file */
    assert_int_equal(s.source[SET_THREADS], SRC_ENV);
    assert_string_equal(s.mail_dir, "/from/file"); /* file over default */
    assert_int_equal(s.source[SET_MAIL_DIR], SRC_FILE);
    assert_string_equal(s.db, "sqlite:var/siteinvites.db"); /* default */
    assert_int_equal(s.source[SET_DB], SRC_DEFAULT);
    settings_cleanup(&s);
}

static void test_config_flag_beats_config_env(void **state)
{
    (void)state;
    write_file("env.conf", "mail-dir = /env/file\n");
    const char *flag_cfg = write_file("flag.conf", "mail-dir = /flag/file\n");
    char flag_path[PATH_MAX_TEST * 3], cfg_env[PATH_MAX_TEST * 3];
    snprintf(flag_path, sizeof flag_path, "%s", flag_cfg);
    snprintf(cfg_env, sizeof cfg_env, "SITEINVITES_CONFIG=%s/env.conf", tmpdir);
    char *envp[] = {cfg_env, NULL};
    struct settings s;
    struct cli_args a;
    char err[CLI_ERR_MAX] = "";
    settings_init(&s);
    assert_int_equal(load(&s, SCOPE_SERVE, NULL, envp, &a, err, "--config", flag_path, NULL),
                     SI_OK);
    assert_string_equal(s.mail_dir, "/flag/file");
    settings_cleanup(&s);
}

static void test_file_syntax(void **state)
{
    (void)state;
    const char *cfg = write_file("ok.conf", "# a comment\n"
                                            "\n"
                                            "   # indented comment\n"
                                            "  mail_dir   =   \"/quoted dir\"  \n"
                                            "dev = on\n"
                                            "access-log=off\n"
                                            "base-url = http://x.test/a#b\n"
                                            "db = sqlite:/tmp/first.db\n"
                                            "db = sqlite:/tmp/last.db\n");
    struct settings s;
    char err[CLI_ERR_MAX] = "";
    settings_init(&s);
    assert_int_equal(config_apply_file(&s, cfg, SCOPE_SERVE, err), SI_OK);
    assert_string_equal(s.mail_dir, "/quoted dir");
    assert_true(s.dev);
    assert_false(s.access_log);
    assert_string_equal(s.base_url, "http://x.test/a#b"); /* only whole-line comments */
    assert_string_equal(s.db, "sqlite:/tmp/last.db");     /* the last line wins */
    settings_cleanup(&s);
}

/* Applies a one-file config and checks the error names file and line. */
static void expect_file_error(const char *text, enum si_err want, const char *needle)
{
    const char *cfg = write_file("bad.conf", text);
    struct settings s;
    char err[CLI_ERR_MAX] = "";
    settings_init(&s);
    assert_int_equal(config_apply_file(&s, cfg, SCOPE_SERVE, err), want);
    if (!strstr(err, needle))
        fail_msg("message '%s' lacks '%s'", err, needle);
    settings_cleanup(&s);
}

static void test_file_errors_name_the_line(void **state)
{
    (void)state;
    expect_file_error("# ok\nlisten = 1.2.3.4:5\njust words\n", SI_ECONFIG,
                      "bad.conf:3: expected 'key = value'");
    expect_file_error("\nlistne = x\n", SI_ECONFIG, "bad.conf:2: unknown setting 'listne'");
    expect_file_error("threads = lots\n", SI_ECONFIG,
                      "bad.conf:1: threads: expected a whole number from 0 to 1024");
    expect_file_error("dev = maybe\n", SI_ECONFIG, "bad.conf:1: dev: expected on or off");
    expect_file_error("config = other.conf\n", SI_ECONFIG, "bad.conf:1: a config file cannot");
    struct settings s;
    char err[CLI_ERR_MAX] = "";
    settings_init(&s);
    assert_int_equal(config_apply_file(&s, "/nonexistent/si.conf", SCOPE_SERVE, err), SI_EIO);
    assert_non_null(strstr(err, "/nonexistent/si.conf"));
    settings_cleanup(&s);
}

/* The line reader on memory (what the fuzz target drives): same rules, the given name in
 * messages, and no file mode check. */
static void test_lines_from_memory(void **state)
{
    (void)state;
    char text[] = "# memory\nthreads = 3\nlisten = \"127.0.0.1:9\"\nthreads = x\n";
    FILE *f = fmemopen(text, strlen(text), "r");
    assert_non_null(f);
    struct settings s;
    char err[CLI_ERR_MAX] = "";
    settings_init(&s);
    assert_int_equal(config_apply_lines(&s, f, "mem.conf", SCOPE_SERVE, err), SI_ECONFIG);
    assert_non_null(strstr(err, "mem.conf:4: threads"));
    assert_int_equal(s.threads, 3);
    assert_string_equal(s.listen, "127.0.0.1:9");
    settings_cleanup(&s);
    fclose(f);
}

static void test_env_errors_and_unknown_vars(void **state)
{
    (void)state;
    char *envp[] = {"SITEINVITES_NOT_A_SETTING=1", "SITEINVITES_THREADS=-1", NULL};
    struct settings s;
    char err[CLI_ERR_MAX] = "";
    settings_init(&s);
    assert_int_equal(config_apply_env(&s, envp, SCOPE_SERVE, err), SI_ECONFIG);
    assert_non_null(strstr(err, "SITEINVITES_THREADS: expected a whole number"));
    /* The same variable is ignored by a command it does not apply to. */
    assert_int_equal(config_apply_env(&s, envp, SCOPE_ADMIN, err), SI_OK);
    settings_cleanup(&s);
}

static void test_scope(void **state)
{
    (void)state;
    const char *cfg = write_file("shared.conf", "listen = 1.2.3.4:5\ndb = sqlite:/tmp/s.db\n");
    struct settings s;
    struct cli_args a;
    char err[CLI_ERR_MAX] = "";
    settings_init(&s);
    /* One file serves every command: admin commands skip serve-only keys. */
    assert_int_equal(config_apply_file(&s, cfg, SCOPE_ADMIN, err), SI_OK);
    assert_string_equal(s.db, "sqlite:/tmp/s.db");
    assert_string_equal(s.listen, "127.0.0.1:8080");
    /* As a flag, a serve-only setting is a usage error for an admin command. */
    assert_int_equal(load(&s, SCOPE_ADMIN, NULL, NULL, &a, err, "--listen", "x:1", NULL),
                     SI_EINVAL);
    assert_non_null(strstr(err, "--listen does not apply"));
    settings_cleanup(&s);
}

static void test_argv(void **state)
{
    (void)state;
    static const struct cli_opt opts[] = {
        {"--name", true, "N", "a name"},
        {"--json", false, NULL, "json"},
        {NULL, false, NULL, NULL},
    };
    struct settings s;
    struct cli_args a;
    char err[CLI_ERR_MAX] = "";
    settings_init(&s);
    assert_int_equal(load(&s, SCOPE_ALL, opts, NULL, &a, err, "ID1", "--name=a=b", "--json",
                          "--dev", "--db", "sqlite:/x.db", "--", "--not-an-option", NULL),
                     SI_OK);
    assert_string_equal(a.values[0], "a=b");
    assert_string_equal(a.values[1], "on");
    assert_true(s.dev);
    assert_string_equal(s.db, "sqlite:/x.db");
    assert_int_equal(a.npositional, 2);
    assert_string_equal(a.positional[0], "ID1");
    assert_string_equal(a.positional[1], "--not-an-option");
    assert_false(a.help);

    assert_int_equal(load(&s, SCOPE_ALL, opts, NULL, &a, err, "--dev=off", NULL), SI_OK);
    assert_false(s.dev);
    assert_int_equal(load(&s, SCOPE_ALL, opts, NULL, &a, err, "--name", NULL), SI_EINVAL);
    assert_non_null(strstr(err, "--name needs a value"));
    assert_int_equal(load(&s, SCOPE_ALL, opts, NULL, &a, err, "--nmae", "x", NULL), SI_EINVAL);
    assert_non_null(strstr(err, "unknown option --nmae"));
    assert_int_equal(load(&s, SCOPE_ALL, opts, NULL, &a, err, "-x", NULL), SI_EINVAL);
    assert_int_equal(load(&s, SCOPE_ALL, opts, NULL, &a, err, "--json=yes", NULL), SI_EINVAL);
    assert_int_equal(load(&s, SCOPE_ALL, opts, NULL, &a, err, "--threads", "2000", NULL),
                     SI_ECONFIG);
    assert_non_null(strstr(err, "--threads: expected a whole number from 0 to 1024"));
    assert_int_equal(load(&s, SCOPE_ALL, opts, NULL, &a, err, "--help", "--bad=value?", NULL),
                     SI_EINVAL); /* an unknown option is reported even beside --help */
    assert_int_equal(load(&s, SCOPE_ALL, opts, NULL, &a, err, "-h", NULL), SI_OK);
    assert_true(a.help);
    settings_cleanup(&s);
}

static void test_listen(void **state)
{
    (void)state;
    struct listen_addr l;
    char err[CLI_ERR_MAX];
    assert_int_equal(config_parse_listen("127.0.0.1:8080", &l, err), SI_OK);
    assert_string_equal(l.host, "127.0.0.1");
    assert_int_equal(l.port, 8080);
    assert_int_equal(config_parse_listen("[::1]:0", &l, err), SI_OK);
    assert_string_equal(l.host, "[::1]");
    assert_int_equal(l.port, 0);
    assert_int_equal(config_parse_listen("localhost:65535", &l, err), SI_OK);
    assert_int_equal(l.port, 65535);
    static const char *const bad[] = {"",       "8080",    ":80",      "host:",   "host:65536",
                                      "::1:80", "host:8a", "a b:80",   "[::1]80", "[]:80",
                                      "h:-1",   "h:+80",   "h:000080", "h/x:80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (config_parse_listen(bad[i], &l, err) != SI_ECONFIG)
            fail_msg("'%s' was accepted", bad[i]);
        assert_non_null(strstr(err, "expected HOST:PORT"));
    }
    assert_int_equal(config_parse_listen(NULL, &l, err), SI_ECONFIG);
}

static void test_secret_create_then_load(void **state)
{
    (void)state;
    struct fake_random fr;
    fake_random_init(&fr, 7);
    uint8_t a[SECURE_KEY_LEN], b[SECURE_KEY_LEN];
    char path[PATH_MAX_TEST * 2], err[CLI_ERR_MAX] = "";
    bool created = false;
    snprintf(path, sizeof path, "%s/deep/er/secret.key", tmpdir);
    assert_int_equal(secret_load_or_create(path, &fr.source, a, &created, err), SI_OK);
    assert_true(created);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_size, SECURE_KEY_LEN);
    /* The second start reads the same bytes and makes nothing. */
    assert_int_equal(secret_load_or_create(path, &fr.source, b, &created, err), SI_OK);
    assert_false(created);
    assert_memory_equal(a, b, SECURE_KEY_LEN);
    /* No temporary file is left behind. */
    char tmp[PATH_MAX_TEST * 3];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    assert_int_not_equal(access(tmp, F_OK), 0);
}

static void test_secret_refusals(void **state)
{
    (void)state;
    struct fake_random fr;
    fake_random_init(&fr, 1);
    uint8_t key[SECURE_KEY_LEN];
    char err[CLI_ERR_MAX] = "";
    const char *path = write_file("readable.key", "0123456789abcdef0123456789abcdef");
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(secret_load_or_create(path, &fr.source, key, NULL, err), SI_ECONFIG);
    assert_non_null(strstr(err, "mode 0640"));
    assert_non_null(strstr(err, "chmod 600"));
    assert_int_equal(chmod(path, 0604), 0);
    assert_int_equal(secret_load_or_create(path, &fr.source, key, NULL, err), SI_ECONFIG);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(secret_load_or_create(path, &fr.source, key, NULL, err), SI_OK);
    assert_memory_equal(key, "0123456789abcdef0123456789abcdef", SECURE_KEY_LEN);

    path = write_file("short.key", "too short");
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(secret_load_or_create(path, &fr.source, key, NULL, err), SI_ECONFIG);
    assert_non_null(strstr(err, "exactly 32 bytes"));
    assert_int_equal(fr.calls, 0); /* nothing was (re)created */

    char dir[PATH_MAX_TEST * 2];
    snprintf(dir, sizeof dir, "%s/adir", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(secret_load_or_create(dir, &fr.source, key, NULL, err), SI_ECONFIG);
    assert_non_null(strstr(err, "not a regular file"));
}

static void test_secret_paths(void **state)
{
    (void)state;
    struct settings s;
    char err[CLI_ERR_MAX] = "";
    settings_init(&s);
    char *p = secret_default_path(&s, err);
    assert_string_equal(p, "var/secret.key");
    free(p);
    assert_int_equal(
        config_set(&s, &config_table(&(size_t){0})[SET_DB], "sqlite:/a/b/c.db", SRC_FLAG, err),
        SI_OK);
    p = secret_default_path(&s, err);
    assert_string_equal(p, "/a/b/secret.key");
    free(p);
    assert_int_equal(config_set(&s, &config_table(&(size_t){0})[SET_DB], "plain.db", SRC_FLAG, err),
                     SI_OK);
    p = secret_default_path(&s, err);
    assert_string_equal(p, "./secret.key");
    free(p);
    assert_int_equal(
        config_set(&s, &config_table(&(size_t){0})[SET_DB], "postgres://u:pw@db/si", SRC_FLAG, err),
        SI_OK);
    assert_null(secret_default_path(&s, err));
    assert_non_null(strstr(err, "--secret-file is required"));
    assert_int_equal(
        config_set(&s, &config_table(&(size_t){0})[SET_SECRET_FILE], "/etc/si.key", SRC_FLAG, err),
        SI_OK);
    p = secret_default_path(&s, err);
    assert_string_equal(p, "/etc/si.key");
    free(p);
    settings_cleanup(&s);
    char *shown = cli_redact_url("postgres://u:pw@db/si");
    assert_string_equal(shown, "postgres://u:***@db/si");
    free(shown);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_is_consistent),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test_setup_teardown(test_precedence_flag_env_file_default, setup_tmp,
                                        teardown_tmp),
        cmocka_unit_test_setup_teardown(test_config_flag_beats_config_env, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_file_syntax, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_file_errors_name_the_line, setup_tmp, teardown_tmp),
        cmocka_unit_test(test_lines_from_memory),
        cmocka_unit_test(test_env_errors_and_unknown_vars),
        cmocka_unit_test_setup_teardown(test_scope, setup_tmp, teardown_tmp),
        cmocka_unit_test(test_argv),
        cmocka_unit_test(test_listen),
        cmocka_unit_test_setup_teardown(test_secret_create_then_load, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_secret_refusals, setup_tmp, teardown_tmp),
        cmocka_unit_test(test_secret_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
