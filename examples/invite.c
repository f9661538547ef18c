/* Example: invite addresses to a site with the siteinvites C client, then list the site's
 * pending invites. Works against siteinvites and against the Wix API.
 *
 *     SI_API_KEY=... SI_SITE_ID=... [SI_BASE_URL=http://127.0.0.1:8080] \
 *         ./client_example_invite ROLE_ID ada@example.com bob@example.com
 */
#include <siteinvites/client.h>

#include <stdio.h>
#include <stdlib.h>

static int report(const char *what, enum si_client_rc rc, const struct si_client_error *err)
{
    /* Quote the request ID when asking for support: it names the request in the server log. */
    fprintf(stderr, "%s: %s (HTTP %d) %s: %s%s%s [request %s]\n", what, si_client_rc_name(rc),
            err->http_status, err->code, err->description, err->field[0] ? " field " : "",
            err->field, err->request_id[0] ? err->request_id : "-");
    return 1;
}

int main(int argc, char **argv)
{
    const char *key = getenv("SI_API_KEY"), *site = getenv("SI_SITE_ID");
    if (argc < 3 || !key || !site) {
        fprintf(stderr, "usage: SI_API_KEY=.. SI_SITE_ID=.. [SI_BASE_URL=..] %s ROLE EMAIL...\n",
                argv[0]);
        return 2;
    }
    if (si_client_global_init() != SI_CLIENT_OK)
        return 1;
    struct si_api_key_strategy auth = {.api_key = key, .site_id = site};
    struct si_client_options opts = {.base_url = getenv("SI_BASE_URL")}; /* NULL: Wix */
    struct si_client *c = NULL;
    struct si_client_error err;
    enum si_client_rc rc = si_client_new(&auth, &opts, &c, &err);
    if (rc) {
        si_client_global_cleanup();
        return report("client", rc, &err);
    }

    const char *roles[] = {argv[1]};
    struct si_bulk_invite_request req = {.emails = (const char *const *)argv + 2,
                                         .email_count = (size_t)argc - 2,
                                         .policy_ids = roles,
                                         .policy_id_count = 1};
    struct si_bulk_invite_result *bulk = NULL;
    rc = si_client_bulk_invite(c, &req, &bulk, &err);
    int status = 0;
    if (rc) {
        status = report("bulk invite", rc, &err);
        goto out;
    }
    for (size_t i = 0; i < bulk->invite_count; i++)
        printf("invited %s: %s (%s)\n", bulk->invites[i].email, bulk->invites[i].id,
               si_invite_status_name(bulk->invites[i].status));
    for (size_t i = 0; i < bulk->failure_count; i++)
        printf("failed  %s: %s\n", bulk->failures[i].email,
               bulk->failures[i].code ? bulk->failures[i].code : "(no reason given)");

    /* Every pending invite of the site, page by page. */
    struct si_invite_query q = {.filter_json = "{\"status\": \"Pending\"}", .limit = 50};
    char *cursor = NULL;
    size_t pending = 0;
    for (;;) {
        struct si_invite_page *page = NULL;
        q.cursor = cursor;
        rc = si_client_query_invites(c, &q, &page, &err);
        free(cursor);
        cursor = NULL;
        if (rc) {
            status = report("query", rc, &err);
            break;
        }
        pending += page->invite_count;
        cursor = page->next_cursor; /* take the cursor before freeing the page */
        page->next_cursor = NULL;
        si_invite_page_free(page);
        if (!cursor)
            break;
    }
    if (!rc)
        printf("%zu pending invites\n", pending);
out:
    si_bulk_invite_result_free(bulk);
    si_client_free(c);
    si_client_global_cleanup();
    return status;
}
