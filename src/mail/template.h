/* Mail templates: files under <templates_dir>/mail/<lang>/ with {{name}} placeholders and no
 * logic, loaded and checked once at start-up, rendered with the escaping each part needs. */
#ifndef SI_MAIL_TEMPLATE_H
#define SI_MAIL_TEMPLATE_H

#include "common/buf.h"
#include "common/err.h"

#include <stddef.h>

#define TEMPLATE_FILE_MAX      (64 * 1024) /* bytes of one template file */
#define TEMPLATE_LANGS_MAX     32          /* language folders loaded */
#define TEMPLATE_LANG_MAX      36          /* bytes of a language folder name, NUL included */
#define TEMPLATE_LANG_FALLBACK "en"

/* X(enum, placeholder name). purpose_block is not a value of its own: it is made from purpose
 * (see template_render) so an empty purpose leaves no dangling words in any language. */
#define TEMPLATE_VARS(X)                                                                           \
    X(TV_SITE_NAME, "site_name")                                                                   \
    X(TV_INVITER_NAME, "inviter_name")                                                             \
    X(TV_INVITER_EMAIL, "inviter_email")                                                           \
    X(TV_INVITEE_EMAIL, "invitee_email")                                                           \
    X(TV_ROLES, "roles")                                                                           \
    X(TV_PURPOSE, "purpose")                                                                       \
    X(TV_PURPOSE_BLOCK, "purpose_block")                                                           \
    X(TV_ACCEPT_LINK, "accept_link")                                                               \
    X(TV_EXPIRES, "expires")                                                                       \
    X(TV_SITE_LANGUAGE, "site_language")

enum template_var {
#define TEMPLATE_VAR_ENUM(e, name) e,
    TEMPLATE_VARS(TEMPLATE_VAR_ENUM)
#undef TEMPLATE_VAR_ENUM
        TV_COUNT
};

/* The values of one message, UTF-8 text as stored (unescaped). NULL reads as "". Borrowed. */
struct template_values {
    const char *v[TV_COUNT];
};

/* The files of one language, in this order: subject.txt, body.txt, body.html. */
enum template_part { TEMPLATE_SUBJECT, TEMPLATE_TEXT, TEMPLATE_HTML, TEMPLATE_PARTS };

/* How values are made safe for where they land. */
enum template_escape {
    ESCAPE_NONE,   /* plain text: CR LF and CR become LF; other controls become spaces */
    ESCAPE_HTML,   /* & < > " ' as entities; line breaks become <br>; controls become spaces */
    ESCAPE_HEADER, /* every control byte (CR, LF, TAB, ...) becomes a space: one line */
};

struct mail_templates; /* the three parts of one language */
struct template_set;   /* every language found */

/* Loads every <templates_dir>/mail/<lang>/ folder whose name is a language tag. Each must hold
 * the three files, valid UTF-8, at most TEMPLATE_FILE_MAX bytes, subject on one non-empty line,
 * and only known placeholders; the fallback language "en" must exist. Errors are logged with the
 * file name (and placeholder, line): SI_ECONFIG for a missing folder or file, SI_EINVAL for bad
 * content, SI_ETOOBIG for a file too large. *out is freed with template_set_free. */
enum si_err template_set_load(const char *templates_dir, struct template_set **out) SI_MUST_USE;

/* Frees a set; NULL is accepted. */
void template_set_free(struct template_set *s);

/* The templates for lang: exact folder, else its primary subtag ("pt-BR" -> "pt"), else "en".
 * lang may be NULL or "". Never NULL; borrowed until template_set_free. Thread-safe. */
const struct mail_templates *template_set_pick(const struct template_set *s, const char *lang);

/* The folder name the templates came from ("en"); borrowed like the templates. */
const char *mail_templates_lang(const struct mail_templates *t);

/* Appends part rendered with v to out, escaping values as the part needs (subject: header,
 * text: none, html: html). purpose_block renders as nothing when purpose is empty, else as the
 * purpose quoted ("> " lines in text, a <blockquote> in HTML). Invalid UTF-8 in a value becomes
 * U+FFFD. SI_ETOOBIG when out's limit is reached. Thread-safe. */
enum si_err template_render(const struct mail_templates *t, enum template_part part,
                            const struct template_values *v, struct buf *out) SI_MUST_USE;

/* Appends text escaped by mode (the building block of template_render, exposed for tests). */
enum si_err template_escape(struct buf *out, const char *text,
                            enum template_escape mode) SI_MUST_USE;

#endif
