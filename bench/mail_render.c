/* mail_render: composes N invite emails from the shipped templates, for callgrind (instructions
 * per rendered email; see bench/README.md): the mail worker's hot path without the store. */
#include "mail/compose.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMAILS_DEFAULT 1000
#define EMAILS_MAX     10000000L
#define PATH_MAX_BENCH 4096

/* Loads the templates, composes argv[1] (default 1,000) emails in English with a purpose and
 * prints the bytes written, so the work cannot be optimised away. */
int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : EMAILS_DEFAULT;
    if (n < 0 || n > EMAILS_MAX) {
        fprintf(stderr, "usage: mail_render [emails (0..%ld)]\n", EMAILS_MAX);
        return 2;
    }
    char dir[PATH_MAX_BENCH];
    const char *src = getenv("SI_SOURCE_DIR");
    snprintf(dir, sizeof dir, "%s/templates", src && *src ? src : SI_SOURCE_DIR);
    struct mail_template_set *set = NULL;
    if (mail_template_load(dir, &set) != SI_OK)
        return 1;
    struct mail_values v = {.v = {[TV_SITE_NAME] = "Maple Bakery & Café",
                                  [TV_INVITER_NAME] = "Ann Lee",
                                  [TV_INVITER_EMAIL] = "ann@example.com",
                                  [TV_INVITEE_EMAIL] = "bob@example.com",
                                  [TV_ROLES] = "Website Designer, Blog Editor",
                                  [TV_PURPOSE] = "Help us with the <spring> menu,\nand the photos.",
                                  [TV_ACCEPT_LINK] = "https://invites.example.org/invite/"
                                                     "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-AbCdE",
                                  [TV_EXPIRES] = "26 December 2026",
                                  [TV_SITE_LANGUAGE] = "en"}};
    struct compose_input in = {.outbox_id = 42,
                               .invite_id = "0f8fad5b-d9cb-469f-a165-70867728950e",
                               .date = 1798261542000,
                               .from = "Site Invites <invites@mail.example.org>",
                               .to = "bob@example.com",
                               .tpl = mail_template_pick(set, MAIL_KIND_INVITE, "en", NULL),
                               .values = &v};
    size_t bytes = 0;
    int rc = 0;
    struct buf out;
    buf_init(&out, 0);
    for (long i = 0; i < n && !rc; i++) {
        buf_reset(&out);
        in.outbox_id = 42 + i;
        rc = compose_invite(&in, &out) != SI_OK;
        bytes += out.len;
    }
    buf_cleanup(&out);
    mail_template_free(set);
    printf("%ld emails, %zu bytes\n", n, bytes);
    return rc;
}
