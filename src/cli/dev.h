/* serve --dev: demo account, site and a fresh API key, remembered in dev.json (IDs only), and
 * the block that tells a newcomer how to call the API right away. */
#ifndef SI_CLI_DEV_H
#define SI_CLI_DEV_H

#include "auth/auth.h"
#include "cli/config.h"
#include "common/ids.h"
#include "store/store.h"

#include <stdbool.h>

#define DEV_ACCOUNT_NAME       "Demo Agency"
#define DEV_ACCOUNT_EMAIL      "demo@example.com"
#define DEV_SITE_NAME          "Demo Site"
#define DEV_SITE_LIMIT         1000
#define DEV_SITE_LANGUAGE      "en"
#define DEV_KEY_NAME           "dev"
#define DEV_CONSOLE_LINK_TTL_S 3600 /* the console link --dev prints works for an hour */

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

/* Where the printed examples point; borrowed strings, NULL when absent. */
struct dev_where {
    const char *url;      /* "http://host:port" as bound: the curl example */
    const char *tls_host; /* "host:port" of the HTTPS listener: the SDK example, else none */
    const char *ca_file;  /* the CA the SDK's node must trust (NODE_EXTRA_CA_CERTS) */
    const char *maildir;
    const char *smtp_url; /* set: mail goes there instead of maildir */
    const char *console;  /* a one-time console sign-in link for the demo account, or NULL */
};

/* Prints the demo block to stdout: key, IDs, a predefined role, where mail goes, a curl example
 * and, with an HTTPS listener, a complete Wix SDK script between DEV_SNIPPET_MARK lines and the
 * command that runs it with NODE_EXTRA_CA_CERTS. */
void dev_print(const struct dev_info *d, const struct dev_where *w);

/* The line before and after the SDK script, so a reader (or a test) can cut it out. */
#define DEV_SNIPPET_MARK "  ---- 8< ----"

/* Wipes the key. */
void dev_info_cleanup(struct dev_info *d);

#endif
