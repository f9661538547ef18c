/* Fuzzes the configuration readers (cli/config.c): the config file's lines (through
 * config_apply_lines, the file reader without fopen), SITEINVITES_* environment variables, one
 * setting's text as any source gives it, and listen addresses. The first byte picks which.
 * Whatever is accepted must be a value the table allows (an integer within its row's min..max,
 * a string set or unset), and an error message always ends within CLI_ERR_MAX. */
#include "fuzz_support.h"

#include "cli/config.h"

#include <stdlib.h>
#include <string.h>

#define ENV_MAX 16 /* variables of one input */

/* Every integer setting within its row's bounds. */
static void check_settings(const struct settings *s)
{
    size_t n = 0;
    const struct setting_def *t = config_table(&n);
    for (size_t i = 0; i < n; i++) {
        const char *field = (const char *)s + t[i].offset;
        if (t[i].type == TYPE_INT) {
            long long v;
            memcpy(&v, field, sizeof v);
            fuzz_check(v >= t[i].min && v <= t[i].max, "an integer setting within its bounds");
        } else if (t[i].type == TYPE_STRING) {
            char *v;
            memcpy(&v, field, sizeof v);
            fuzz_check(!v || strlen(v) < (size_t)1 << 20, "a string setting is a string");
        }
    }
}

static void check_err(const char err[CLI_ERR_MAX])
{
    fuzz_check(strnlen(err, CLI_ERR_MAX) < CLI_ERR_MAX, "an error message ends in NUL");
}

static void file_lines(struct fuzz_reader *r)
{
    struct settings s;
    char err[CLI_ERR_MAX] = "";
    char *copy = fuzz_strndup(r->p, r->left);
    FILE *f = fmemopen(copy, r->left ? r->left : 1, "r");
    fuzz_check(f != NULL, "fmemopen");
    if (!r->left)
        fgetc(f);
    settings_init(&s);
    if (config_apply_lines(&s, f, "fuzz.conf", SCOPE_ALL, err) == SI_OK)
        check_settings(&s);
    else
        check_err(err);
    settings_cleanup(&s);
    fclose(f);
    free(copy);
}

static void environment(struct fuzz_reader *r)
{
    char *env[ENV_MAX + 1];
    size_t n = 0;
    while (r->left && n < ENV_MAX)
        env[n++] = fuzz_string(r, NULL);
    env[n] = NULL;
    struct settings s;
    char err[CLI_ERR_MAX] = "";
    settings_init(&s);
    if (config_apply_env(&s, env, SCOPE_ALL, err) == SI_OK)
        check_settings(&s);
    else
        check_err(err);
    settings_cleanup(&s);
    for (size_t i = 0; i < n; i++)
        free(env[i]);
}

static void one_setting(struct fuzz_reader *r)
{
    size_t n = 0;
    const struct setting_def *t = config_table(&n);
    const struct setting_def *d = &t[fuzz_byte(r) % n];
    enum setting_source src = (enum setting_source)(fuzz_byte(r) % 4);
    char *value = fuzz_strndup(r->p, r->left);
    struct settings s;
    char err[CLI_ERR_MAX] = "";
    settings_init(&s);
    if (config_set(&s, d, value, src, err) == SI_OK)
        check_settings(&s);
    else
        check_err(err);
    settings_cleanup(&s);
    free(value);
}

static void listen_addr(struct fuzz_reader *r)
{
    char *text = fuzz_strndup(r->p, r->left);
    struct listen_addr a;
    char err[CLI_ERR_MAX] = "";
    if (config_parse_listen(text, &a, err) == SI_OK)
        fuzz_check(strnlen(a.host, sizeof a.host) < sizeof a.host, "the host ends in NUL");
    else
        check_err(err);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_reader r = {data, size};
    switch (fuzz_byte(&r) % 4) {
    case 0:
        file_lines(&r);
        break;
    case 1:
        environment(&r);
        break;
    case 2:
        one_setting(&r);
        break;
    default:
        listen_addr(&r);
        break;
    }
    return 0;
}
