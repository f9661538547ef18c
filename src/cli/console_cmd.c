/* `siteinvites console link`: a one-time sign-in link to the site owner's console for an
 * account (docs/CONSOLE.md), printed once; only its hash is stored. */
#include "cli/admin.h"
#include "cli/cli.h"
#include "cli/output.h"

#include "common/secure.h"
#include "console/console.h"
#include "core/console.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASE_URL_DEFAULT "http://127.0.0.1:8080" /* serve's default listen address */

/* "15m", "1h", "2d", "900s" or "900" (seconds) into seconds; false when it is none of these or
 * outside 60 s .. CONSOLE_LINK_TTL_MAX_S. */
static bool ttl_parse(const char *text, int64_t *out)
{
    char *end = NULL;
    if (!text || *text < '0' || *text > '9')
        return false;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    long long unit = 1;
    if (errno || end == text)
        return false;
    if (*end == 'm')
        unit = 60;
    else if (*end == 'h')
        unit = 3600;
    else if (*end == 'd')
        unit = 86400;
    else if (*end != 's' && *end != '\0')
        return false;
    if (*end && end[1] != '\0')
        return false;
    if (v > CONSOLE_LINK_TTL_MAX_S)
        return false;
    *out = v * unit;
    return *out >= 60 && *out <= CONSOLE_LINK_TTL_MAX_S;
}

/* base-url without trailing slashes, or serve's default address. */
static bool base_url(const struct settings *s, char out[SI_BASE_URL_MAX])
{
    const char *b = s->base_url ? s->base_url : BASE_URL_DEFAULT;
    size_t n = strlen(b);
    while (n > 0 && b[n - 1] == '/')
        n--;
    if (n >= SI_BASE_URL_MAX || (strncmp(b, "http://", 7) != 0 && strncmp(b, "https://", 8) != 0)) {
        cli_error("base-url must be an http:// or https:// URL under %d bytes", SI_BASE_URL_MAX);
        return false;
    }
    memcpy(out, b, n);
    out[n] = '\0';
    return true;
}

int admin_console_link(const struct cli_cmd *cmd, const struct settings *s,
                       const struct cli_args *a)
{
    char account[SI_ID_LEN], base[SI_BASE_URL_MAX], url[CONSOLE_URL_MAX];
    const char *acc = cli_opt(cmd, a, "--account"), *ttl_text = cli_opt(cmd, a, "--ttl");
    int64_t ttl = CONSOLE_LINK_TTL_DEFAULT_S;
    if (!acc || !*acc) {
        cli_error("--account is required (usage: siteinvites %s %s %s)", cmd->group, cmd->verb,
                  cmd->synopsis);
        return CLI_EXIT_USAGE;
    }
    if (!admin_parse_id("--account", acc, account) || !base_url(s, base))
        return CLI_EXIT_USAGE;
    if (ttl_text && !ttl_parse(ttl_text, &ttl)) {
        cli_error("--ttl: '%s' is not a duration from 60s to 7d (e.g. 15m, 1h, 900)", ttl_text);
        return CLI_EXIT_USAGE;
    }
    struct store *st = NULL;
    enum si_err rc = cli_open_store(s->db, &st, NULL);
    if (rc)
        return cli_exit_for(rc);
    rc = admin_account_exists(st, account);
    si_ms now = clock_now(&clock_system);
    if (!rc && (rc = console_link_new(st, &random_system, account, now, ttl, base, url,
                                      sizeof url)) != SI_OK)
        cli_error("cannot make the sign-in link (%s)", si_err_str(rc));
    int code = cli_exit_for(rc);
    if (!rc) {
        char expires[SI_TIME_TEXT_LEN];
        struct output o;
        time_format(now + ttl * 1000, expires);
        output_init(&o, cli_opt(cmd, a, "--json") != NULL);
        output_secret(&o, "url", url);
        output_str(&o, "expiresAt", expires);
        code = output_finish(&o);
        fprintf(stderr, "siteinvites: this link signs in once; it is stored only as a hash\n");
    }
    secure_wipe(url, sizeof url);
    store_close(st);
    return code;
}
