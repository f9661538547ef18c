/* Mail templates: files under <templates_dir>/mail/<lang>/ (subject.txt, body.txt, body.html)
 * with {{name}} placeholders, loaded and checked once at start-up and rendered by the common
 * template engine (common/template.h) with the escaping each part needs. */
#ifndef SI_MAIL_MAIL_TEMPLATE_H
#define SI_MAIL_MAIL_TEMPLATE_H

#include "common/buf.h"
#include "common/err.h"

/* X(enum, placeholder name). purpose_block is not a value of its own: it is made from purpose
 * (see mail_template_render) so an empty purpose leaves no dangling words in any language. */
#define MAIL_VARS(X)                                                                               \
    X(TV_SITE_NAME, "site_name")                                                                   \
    X(TV_INVITER_NAME, "inviter_name")                                                             \
    X(TV_INVITER_EMAIL, "inviter_email")                                                           \
    X(TV_INVITEE_EMAIL, "invitee_email")                                                           \
    X(TV_ROLES, "roles")                                                                           \
    X(TV_PURPOSE, "purpose")                                                                       \
    X(TV_PURPOSE_BLOCK, "purpose_block")                                                           \
    X(TV_ACCEPT_LINK, "accept_link")                                                               \
    X(TV_EXPIRES, "expires")                                                                       \
    X(TV_SITE_LANGUAGE, "site_language")                                                           \
    X(TV_ACCOUNT_NAME, "account_name") /* the console's sign-in mail: the account */               \
    X(TV_SIGNIN_LINK, "signin_link")   /* and its one-time link */

enum mail_var {
#define MAIL_VAR_ENUM(e, name) e,
    MAIL_VARS(MAIL_VAR_ENUM)
#undef MAIL_VAR_ENUM
        TV_COUNT
};

/* The values of one message, UTF-8 text as stored (unescaped). NULL reads as "". Borrowed. */
struct mail_values {
    const char *v[TV_COUNT];
};

/* The files of one language, in this order: subject.txt, body.txt, body.html. Their values are
 * escaped as a header, as plain text and as HTML (line breaks as <br>). */
enum mail_part { MAIL_SUBJECT, MAIL_TEXT, MAIL_HTML, MAIL_PARTS };

/* The emails a language has templates for: the invitation (subject.txt, body.txt, body.html,
 * also used for a resend), the reminder before expiry (issue 10: reminder_subject.txt,
 * reminder_body.txt, reminder_body.html), with the same placeholders, and the console's
 * sign-in link (issue 13: signin_subject.txt, signin_body.txt, signin_body.html). */
enum mail_kind { MAIL_KIND_INVITE, MAIL_KIND_REMINDER, MAIL_KIND_SIGNIN, MAIL_KINDS };

struct mail_templates;    /* the three parts of one language */
struct mail_template_set; /* every language found */

/* Loads every <templates_dir>/mail/<lang>/ folder whose name is a language tag. Each must hold
 * the three files of every kind, valid UTF-8, at most TEMPLATE_FILE_MAX bytes, subject on one
 * non-empty line, and only known placeholders; the fallback language "en" must exist. Errors are
 * logged with the file name (and placeholder, line): SI_ECONFIG for a missing folder or file,
 * SI_EINVAL for bad content, SI_ETOOBIG for a file too large. *out is freed with
 * mail_template_free. */
enum si_err mail_template_load(const char *templates_dir,
                               struct mail_template_set **out) SI_MUST_USE;

/* Frees a set; NULL is accepted. */
void mail_template_free(struct mail_template_set *s);

/* The templates of one kind of email in the first of want1 (the invite's language), want2 (the
 * site's) that exists, by whole tag, else primary subtag ("pt-BR" -> "pt"), else of "en"
 * (template_dir_pick). Either may be NULL or "". Never NULL; borrowed until mail_template_free.
 * Thread-safe. */
const struct mail_templates *mail_template_pick(const struct mail_template_set *s,
                                                enum mail_kind kind, const char *want1,
                                                const char *want2);

/* The folder name the templates came from ("en"); borrowed like the templates. */
const char *mail_templates_lang(const struct mail_templates *t);

/* Appends part rendered with v to out, escaping values as the part needs (subject: header,
 * text: plain text, html: HTML with <br> line breaks). purpose_block renders as nothing when
 * purpose is empty, else as the purpose quoted ("> " lines in text, a <blockquote> in HTML).
 * Invalid UTF-8 in a value becomes U+FFFD. SI_ETOOBIG when out's limit is reached.
 * Thread-safe. */
enum si_err mail_template_render(const struct mail_templates *t, enum mail_part part,
                                 const struct mail_values *v, struct buf *out) SI_MUST_USE;

#endif
