/* serve --dev: demo account, site and a fresh API key, remembered in dev.json (IDs only), and
 * the block that tells a newcomer how to call the API right away. */
#ifndef SI_CLI_DEV_H
#define SI_CLI_DEV_H

#include "auth/auth.h"
#include "cli/config.h"
#include "common/ids.h"
#include "store/store.h"

#include <stdbool.h>

#define DEV_ACCOUNT_NAME  "Demo Agency"
#define DEV_ACCOUNT_EMAIL "demo@example.com"
#define DEV_SITE_NAME     "Demo Site"
#define DEV_SITE_LIMIT    1000
#define DEV_SITE_LANGUAGE "en"
#define DEV_KEY_NAME      "dev"

/* What --dev made; key is the only copy of the API key and is wiped by dev_info_cleanup. */
struct dev_info {
    bool ready; /* false: the store held data but no dev.json of ours, so no demo block */
    char account_id[SI_ID_LEN];
    char site_id[SI_ID_LEN];
    char key_id[SI_ID_LEN];
    char key[API_KEY_TEXT_LEN + 1];
};

/* On an empty store creates the demo account and site; on every call creates a new key with
 * every permission and revokes the previous dev key. Reads and rewrites DIR/dev.json. A store
 * that is not empty and has no usable dev.json leaves out->ready false (a warning is printed).
 * SI_EIO / SI_ESTORE with a message in err. Main thread, before the server starts. */
enum si_err dev_bootstrap(struct store *st, const char *dir, struct dev_info *out,
                          char err[CLI_ERR_MAX]) SI_MUST_USE;

/* Prints the demo block to stdout: key, IDs, a predefined role, where mail goes (smtp_url when
 * set, else maildir's new/) and a curl example against url ("http://host:port"). */
void dev_print(const struct dev_info *d, const char *url, const char *maildir,
               const char *smtp_url);

/* Wipes the key. */
void dev_info_cleanup(struct dev_info *d);

#endif
