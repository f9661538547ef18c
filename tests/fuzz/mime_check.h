/* A small, strict reader of the messages compose_invite writes, for the MIME fuzz target: it
 * parses a message back and says which invariant it breaks, if any. Not a general MIME parser:
 * it accepts exactly the shape docs/MAIL.md promises and nothing looser. */
#ifndef SI_FUZZ_MIME_CHECK_H
#define SI_FUZZ_MIME_CHECK_H

#include <stdbool.h>
#include <stddef.h>

/* What the message must say: the addresses as given to compose_invite, and the subject and the
 * two bodies as mail_template_render wrote them (before any encoding). */
struct mime_expect {
    const char *to;
    const char *reply_to; /* NULL: no Reply-To header may be present */
    const char *from_address;
    const char *subject;
    const char *text; /* the text/plain body, LF or CRLF line ends */
    const char *html; /* the text/html body */
};

/* Checks msg[0..len) and returns NULL when it holds, else a static text naming the first
 * broken invariant:
 *   lines:   every line ends in CRLF (no bare CR or LF, no NUL), none over 998 chars, and the
 *            body's encoded lines at most 76;
 *   headers: each line "Name: value" (name of printable ASCII without ':') or a continuation
 *            starting with a blank; only Date, From, To, Reply-To, Subject, Message-ID,
 *            MIME-Version, Auto-Submitted, Content-Type, each at most once, all but Reply-To
 *            present (an extra or repeated header is an injection);
 *   values:  To is <to>, Reply-To <reply_to>, From is from_address or ends with
 *            <from_address>, Subject is RFC 2047
 *            B words of UTF-8 that decode to subject exactly;
 *   body:    multipart/alternative with the boundary of Content-Type, which no content line
 *            starts with; exactly a text/plain and a text/html part, UTF-8, quoted-printable, in
 *            that order, then the closing boundary; each part decodes (strict QP: =XX in
 *            uppercase hex, soft breaks "=" at line end, no trailing blank) to its text with line
 *            ends as LF. */
const char *mime_check(const char *msg, size_t len, const struct mime_expect *want);

#endif
