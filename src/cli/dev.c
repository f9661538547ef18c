/* serve --dev: demo data on an empty store, a fresh key per start, and the demo block. */
#include "cli/dev.h"

#include "cli/admin.h"
#include "cli/secret.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "core/roles.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reads the IDs remembered by the previous --dev start; false when absent or unusable. */
static bool read_state(const char *path, struct dev_info *d)
{
    json_t *root = json_load_file(path, 0, NULL);
    const char *acc = json_string_value(json_object_get(root, "accountId"));
    const char *site = json_string_value(json_object_get(root, "siteId"));
    const char *key = json_string_value(json_object_get(root, "keyId"));
    /* A hand-edited or truncated file counts as absent rather than failing the start. */
    bool ok = acc && site && id_normalize(acc, d->account_id) && id_normalize(site, d->site_id);
    if (ok && key && !id_normalize(key, d->key_id))
        d->key_id[0] = '\0';
    json_decref(root);
    return ok;
}

/* Replaces dev.json atomically (temporary file, then rename). */
static enum si_err write_state(const char *path, const struct dev_info *d, char err[CLI_ERR_MAX])
{
    json_t *root = json_pack("{s:s, s:s, s:s}", "accountId", d->account_id, "siteId", d->site_id,
                             "keyId", d->key_id);
    char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
    enum si_err rc = SI_OK;
    if (!root || json_dump_file(root, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
        rename(tmp, path) != 0) {
        snprintf(err, CLI_ERR_MAX, "cannot write %s", path);
        unlink(tmp);
        rc = SI_EIO;
    }
    json_decref(root);
    free(tmp);
    return rc;
}

/* Creates the demo account and its site into d. */
static enum si_err create_demo(struct store *st, struct dev_info *d, char err[CLI_ERR_MAX])
{
    struct account acc;
    struct site site;
    si_ms now = clock_now(&clock_system);
    memset(&acc, 0, sizeof acc);
    memset(&site, 0, sizeof site);
    id_new(&random_system, acc.id);
    snprintf(acc.name, sizeof acc.name, "%s", DEV_ACCOUNT_NAME);
    snprintf(acc.email, sizeof acc.email, "%s", DEV_ACCOUNT_EMAIL);
    acc.created = now;
    enum si_err rc = store_account_create(st, &acc);
    if (rc) {
        snprintf(err, CLI_ERR_MAX, "dev: cannot create the demo account (%s)", si_err_str(rc));
        return rc;
    }
    id_new(&random_system, site.id);
    memcpy(site.account_id, acc.id, SI_ID_LEN);
    snprintf(site.name, sizeof site.name, "%s", DEV_SITE_NAME);
    snprintf(site.language, sizeof site.language, "%s", DEV_SITE_LANGUAGE);
    site.contributor_limit = DEV_SITE_LIMIT;
    site.lifetime_days = SI_LIFETIME_DAYS_DEFAULT;
    site.created = now;
    rc = store_site_create(st, &site);
    if (rc) {
        snprintf(err, CLI_ERR_MAX, "dev: cannot create the demo site (%s)", si_err_str(rc));
        return rc;
    }
    memcpy(d->account_id, acc.id, SI_ID_LEN);
    memcpy(d->site_id, site.id, SI_ID_LEN);
    d->key_id[0] = '\0';
    return SI_OK;
}

/* True when the remembered site still exists and belongs to the remembered account. */
static bool state_matches_store(struct store *st, const struct dev_info *d)
{
    struct site site;
    bool same = store_site_get(st, d->site_id, &site) == SI_OK &&
                strcmp(site.account_id, d->account_id) == 0;
    site_cleanup(&site);
    return same;
}

enum si_err dev_bootstrap(struct store *st, const char *dir, struct dev_info *out,
                          char err[CLI_ERR_MAX])
{
    char *path = xasprintf("%s/%s", dir, DEV_FILE_NAME);
    char old_key[SI_ID_LEN];
    bool empty = false;
    memset(out, 0, sizeof *out);
    enum si_err rc = store_is_empty(st, &empty);
    if (rc) {
        snprintf(err, CLI_ERR_MAX, "dev: cannot read the store (%s)", si_err_str(rc));
        goto out;
    }
    /* Only an empty store gets demo data: never mix it into someone's real tenants. */
    if (empty) {
        rc = create_demo(st, out, err);
    } else if (!read_state(path, out) || !state_matches_store(st, out)) {
        log_warn("dev: the database already holds data not made by --dev (no usable %s); "
                 "serving without demo data",
                 path);
        memset(out, 0, sizeof *out);
        goto out;
    }
    if (rc)
        goto out;
    memcpy(old_key, out->key_id, SI_ID_LEN);
    rc = admin_key_make(st, out->account_id, DEV_KEY_NAME, PERM_ALL, out->key_id, out->key);
    if (rc) {
        snprintf(err, CLI_ERR_MAX, "dev: cannot create the demo API key (%s)", si_err_str(rc));
        goto out;
    }
    /* The previous start's key stops working: only the key printed below is live. */
    if (old_key[0] && store_key_revoke(st, old_key, clock_now(&clock_system)) == SI_ESTORE)
        log_warn("dev: could not revoke the previous dev key %s", old_key);
    rc = write_state(path, out, err);
    out->ready = rc == SI_OK;
out:
    if (rc)
        dev_info_cleanup(out);
    free(path);
    return rc;
}

/* The Wix SDK script for an HTTPS listener at host ("127.0.0.1:8443"): the SDK's own calls,
 * pointed at us with its custom-host setting (apiBaseUrl), as in tests/sdk. */
static void print_sdk(const struct dev_info *d, const struct dev_where *w, const char *role_id)
{
    printf("Or with the Wix SDK (it always speaks https): in a folder where you ran\n"
           "`npm i @wix/sdk @wix/identity_site-invite`, save this as invite.js:\n");
    printf("%s\n", DEV_SNIPPET_MARK);
    printf("const { createClient, ApiKeyStrategy } = require('@wix/sdk');\n"
           "const siteInvite = require('@wix/identity_site-invite');\n"
           "\n"
           "const client = createClient({\n"
           "  auth: ApiKeyStrategy({ apiKey: '%s', siteId: '%s' }),\n"
           "  modules: { siteInvite },\n"
           "  host: { apiBaseUrl: '%s' },\n"
           "});\n"
           "\n"
           "client.siteInvite.bulkInvite(['%s'], { emails: ['ada@example.com'] })\n"
           "  .then((res) => console.log(JSON.stringify(res, null, 2)))\n"
           "  .catch((err) => { console.error(err.message); process.exitCode = 1; });\n",
           d->key, d->site_id, w->tls_host, role_id);
    printf("%s\n", DEV_SNIPPET_MARK);
    printf("and run it with (node trusts the local CA only through this variable):\n");
    printf("  NODE_EXTRA_CA_CERTS=%s node invite.js\n", w->ca_file);
}

void dev_print(const struct dev_info *d, const struct dev_where *w)
{
    /* Admin (Co-Owner) exists on every install and a site may grant it (Owner, listed first,
     * may not), so the example always works. */
    const struct role *role = roles_find_predefined(ROLE_ID_ADMIN);
    printf("siteinvites --dev: demo data (the API key is shown only now; every --dev start "
           "makes a new one)\n");
    printf("  API key:     %s\n", d->key);
    printf("  account ID:  %s (%s)\n", d->account_id, DEV_ACCOUNT_NAME);
    printf("  site ID:     %s (%s)\n", d->site_id, DEV_SITE_NAME);
    printf("  role ID:     %s (%s)\n", role->id, role->title);
    if (w->smtp_url) /* the URL was checked to carry no password; logins never sit in it */
        printf("  mail goes to: %s\n", w->smtp_url);
    else
        printf("  mail lands:  %s/new/\n", w->maildir);
    printf("Invite someone:\n");
    printf("  curl -s -X POST %s/invites/site-invite/bulk -H 'Authorization: %s' "
           "-H 'wix-site-id: %s' -H 'Content-Type: application/json' "
           "-d '{\"policyIds\":[\"%s\"],\"emails\":[\"ada@example.com\"]}'\n",
           w->url, d->key, d->site_id, role->id);
    if (w->console) /* the owner's console (docs/CONSOLE.md): works once, for an hour */
        printf("Manage the invites in a browser (one-time link):\n  %s\n", w->console);
    if (w->tls_host && w->ca_file)
        print_sdk(d, w, role->id);
}

void dev_info_cleanup(struct dev_info *d)
{
    secure_wipe(d->key, sizeof d->key);
    d->ready = false;
}
