/* Fuzzes MIME composition (mail/compose.c): compose_invite with the real templates and hostile
 * From, To and Reply-To values, and template values (site name, inviter, roles, purpose, link,
 * expiry date, language) from the input, each ending at the unit separator. A refusal must be
 * one the contract allows (To or From not usable as they are); a composed message is parsed
 * back by mime_check (mime_check.h lists what is compared): no header injection, every header
 * parses, To/Reply-To/From carry the addresses given, the Subject decodes to the rendered
 * subject, and both bodies decode to their rendered text. */
#include "fuzz_support.h"

#include "common/log.h"
#include "mail/compose.h"
#include "mime_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INVITE_ID   "0f8fad5b-d9cb-469f-a165-70867728950e"
#define SMALL_INPUT 4096 /* bytes of input that can never make a message over the size cap */

static struct mail_template_set *set;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/templates", fuzz_source_dir());
    log_set_level(LOG_ERROR);
    fuzz_check(mail_template_load(dir, &set) == SI_OK, "the mail templates load");
    return 0;
}

/* Renders one part as compose_invite does, for the comparison. */
static char *render(const struct mail_templates *tpl, enum mail_part part,
                    const struct mail_values *v)
{
    struct buf b;
    buf_init(&b, COMPOSE_MESSAGE_MAX);
    fuzz_check(mail_template_render(tpl, part, v, &b) == SI_OK, "a part renders");
    char *s = buf_take(&b);
    return s ? s : calloc(1, 1);
}

static void check_message(const struct compose_input *in, const char *msg, size_t len)
{
    char from_addr[COMPOSE_FROM_MAX];
    fuzz_check(compose_from_address(in->from, from_addr, sizeof from_addr),
               "a usable From has an address");
    char *subject = render(in->tpl, MAIL_SUBJECT, in->values);
    char *text = render(in->tpl, MAIL_TEXT, in->values);
    char *html = render(in->tpl, MAIL_HTML, in->values);
    struct mime_expect want = {
        .to = in->to,
        .reply_to = in->reply_to && compose_address_ok(in->reply_to) ? in->reply_to : NULL,
        .from_address = from_addr,
        .subject = subject,
        .text = text,
        .html = html,
    };
    const char *err = mime_check(msg, len, &want);
    if (err)
        fprintf(stderr, "mime_check: %s\n", err);
    fuzz_check(err == NULL, "the composed message parses back to what was composed");
    free(subject);
    free(text);
    free(html);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_reader r = {data, size};
    char *from = fuzz_string(&r, NULL), *to = fuzz_string(&r, NULL);
    char *reply_to = fuzz_string(&r, NULL), *lang = fuzz_string(&r, NULL);
    struct mail_values v;
    char *owned[TV_COUNT];
    for (int i = 0; i < TV_COUNT; i++)
        v.v[i] = owned[i] = i == TV_PURPOSE_BLOCK ? NULL : fuzz_string(&r, NULL);
    struct compose_input in = {
        .outbox_id = 42,
        .invite_id = INVITE_ID,
        .date = 1795669542123,
        .from = from,
        .to = to,
        .reply_to = reply_to[0] ? reply_to : NULL,
        /* Both kinds of email (invitation, reminder), chosen by the input's length. */
        .tpl = mail_template_pick(set, (enum mail_kind)(size % MAIL_KINDS), lang, NULL),
        .values = &v,
    };
    struct buf out;
    buf_init(&out, 0);
    enum si_err rc = compose_invite(&in, &out);
    if (rc == SI_EINVAL)
        fuzz_check(!compose_address_ok(to) || !compose_from_ok(from),
                   "composition refuses only an unusable To or From");
    else if (rc == SI_OK)
        check_message(&in, out.data, out.len);
    else /* a small input cannot fill a message: each byte is written a few dozen times at most */
        fuzz_check(rc == SI_ETOOBIG && size >= SMALL_INPUT, "composition fails only on size");
    buf_cleanup(&out);
    for (int i = 0; i < TV_COUNT; i++)
        free(owned[i]);
    free(from);
    free(to);
    free(reply_to);
    free(lang);
    return 0;
}
