/* The one template engine of mail and pages: {{name}} placeholders and no logic, parsed once at
 * load and rendered many times with the escaping of the place the text lands. */
#ifndef SI_COMMON_TEMPLATE_H
#define SI_COMMON_TEMPLATE_H

#include "buf.h"
#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TEMPLATE_VARS_MAX 64 /* placeholders one list may name (sets of them are bit masks) */
#define TEMPLATE_NAME_MAX 32 /* bytes of a placeholder name quoted in an error message */

/* How a value is made safe for where it lands. Invalid UTF-8 never passes (each stray byte
 * becomes U+FFFD), and control characters are folded into spaces, not dropped, so the words
 * either side stay apart; CR LF and a lone CR count as one line break. */
enum template_escape {
    TEMPLATE_RAW,     /* as is: text the caller already made safe (or escapes later) */
    TEMPLATE_TEXT,    /* plain text: line breaks become LF, TAB stays */
    TEMPLATE_HTML,    /* & < > " ' as entities; line breaks stay LF (a stylesheet shows them) */
    TEMPLATE_HTML_BR, /* as TEMPLATE_HTML, line breaks become "<br>\n" (mail: no stylesheet) */
    TEMPLATE_HEADER,  /* every control, CR and LF included, becomes a space: one header line */
};

/* The placeholders a family of templates may use; a placeholder's number is its index. */
struct template_vars {
    const char *const *names;
    int n; /* at most TEMPLATE_VARS_MAX */
};

/* One text to parse: UTF-8 with LF line ends (template_read's output), borrowed. */
struct template_src {
    const char *path; /* the file, named in error messages */
    const char *text;
    size_t len;
    int line; /* the file's line text starts on, for error messages (1 for a whole file) */
};

struct template; /* a parsed text: literal slices and placeholders */

/* Writes placeholder var with mode to out, for the values that are more than escaped text (a
 * quotation that vanishes when empty). ctx is template_values.ctx. */
typedef enum si_err (*template_hook_fn)(const void *ctx, int var, enum template_escape mode,
                                        struct buf *out);

/* The values of one rendering, borrowed for the call. */
struct template_values {
    const char *const *v;  /* indexed by placeholder, unescaped UTF-8; NULL reads as "" */
    uint64_t raw;          /* bit i: placeholder i is written as is whatever the mode */
    uint64_t hooked;       /* bit i: placeholder i is written by hook */
    template_hook_fn hook; /* may be NULL when hooked is 0 */
    const void *ctx;       /* passed to hook */
};

/* Parses src; every {{name}} (spaces inside the braces allowed) must be one of vars and close
 * on its own line. The text is copied. SI_EINVAL, logged with the file, line and name, for an
 * unknown or unclosed placeholder. *out is freed with template_free. */
enum si_err template_parse(const struct template_src *src, const struct template_vars *vars,
                           struct template **out) SI_MUST_USE;

/* Frees a parsed text; NULL is accepted. */
void template_free(struct template *t);

/* Appends t to out: literal text as it is, each placeholder's value escaped by mode (or raw, or
 * by the hook). out->data is a string afterwards, even when nothing was written. SI_ETOOBIG
 * when out's limit is reached, or the hook's error. Thread-safe: t is only read. */
enum si_err template_render(const struct template *t, const struct template_values *v,
                            enum template_escape mode, struct buf *out) SI_MUST_USE;

/* True when s[0..n) is valid UTF-8 (RFC 3629: no overlongs, no surrogates, at most U+10FFFF). */
bool template_utf8_valid(const char *s, size_t n);

/* Appends text (NULL reads as "") escaped by mode. SI_ETOOBIG when out's limit is reached. */
enum si_err template_escape(struct buf *out, const char *text,
                            enum template_escape mode) SI_MUST_USE;

#endif
