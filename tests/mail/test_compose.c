/* Invite email composition, checked by parsing the message back: headers, line ends and
 * lengths, boundaries, encoded Subject, quoted-printable bodies, and injection attempts. */
#include "mail/compose.h"

#include "fakes.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define INVITE_ID       "0f8fad5b-d9cb-469f-a165-70867728950e"
#define FROM            "Site Invites <invites@mail.example.org>"
#define TO              "bob@example.com"
#define LINK            "https://invites.example.org/invite/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-AbCdE"
#define HEADER_LINE_MAX 998 /* RFC 5322 hard limit */

static struct mail_template_set *set;

static const char *source_dir(void)
{
    const char *d = getenv("SI_SOURCE_DIR");
    return d && *d ? d : SI_SOURCE_DIR;
}

static int load_templates(void **state)
{
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/templates", source_dir());
    return mail_template_load(dir, &set) == SI_OK ? 0 : -1;
}

static int free_templates(void **state)
{
    (void)state;
    mail_template_free(set);
    return 0;
}

/* The values of a typical invite; tests change single fields. */
static struct mail_values values(void)
{
    return (struct mail_values){.v = {[TV_SITE_NAME] = "Maple Bakery",
                                      [TV_INVITER_NAME] = "Ann Lee",
                                      [TV_INVITER_EMAIL] = "ann@example.com",
                                      [TV_INVITEE_EMAIL] = TO,
                                      [TV_ROLES] = "Website Designer, Blog Editor",
                                      [TV_ACCEPT_LINK] = LINK,
                                      [TV_EXPIRES] = "26 December 2026",
                                      [TV_SITE_LANGUAGE] = "en"}};
}

static struct compose_input input(const struct mail_values *v)
{
    return (struct compose_input){.outbox_id = 42,
                                  .invite_id = INVITE_ID,
                                  .date = FAKE_NOW,
                                  .from = FROM,
                                  .to = TO,
                                  .tpl = mail_template_pick(set, MAIL_KIND_INVITE, "en", NULL),
                                  .values = v};
}

/* Composes and returns the message as a heap string. */
static char *compose(const struct compose_input *in)
{
    struct buf out;
    buf_init(&out, 0);
    assert_int_equal(compose_invite(in, &out), SI_OK);
    return buf_take(&out);
}

/* ---- a minimal MIME reader for the checks ----------------------------------------------- */

/* CRLF everywhere: no bare CR, no bare LF; and no line longer than max (QP bodies: 76). */
static void check_lines(const char *msg, size_t header_max, size_t body_max)
{
    const char *body = strstr(msg, "\r\n\r\n");
    assert_non_null(body);
    size_t col = 0;
    for (const char *p = msg; *p; p++) {
        if (*p == '\r') {
            assert_int_equal(p[1], '\n');
            col = 0;
            p++;
            continue;
        }
        assert_int_not_equal(*p, '\n');
        col++;
        assert_true(col <= (p < body ? header_max : body_max));
    }
}

/* The value of header name (unfolded, heap), or NULL; *count receives how often it appears. */
static char *header(const char *msg, const char *name, int *count)
{
    const char *end = strstr(msg, "\r\n\r\n");
    size_t nlen = strlen(name);
    char *found = NULL;
    *count = 0;
    for (const char *line = msg; line < end; line = strstr(line, "\r\n") + 2) {
        if (strncasecmp(line, name, nlen) != 0 || line[nlen] != ':')
            continue;
        (*count)++;
        free(found);
        found = calloc(1, (size_t)(end - line) + 1);
        size_t n = 0;
        for (const char *p = line + nlen + 1; p < end; p++) {
            if (p[0] == '\r' && p[1] == '\n' && p[2] != ' ' && p[2] != '\t')
                break;
            if (p[0] == '\r' && p[1] == '\n') {
                p++; /* unfold: drop CRLF, keep the whitespace that follows */
                continue;
            }
            found[n++] = *p;
        }
        memmove(found, found + strspn(found, " "), strlen(found + strspn(found, " ")) + 1);
    }
    return found;
}

static char *the_header(const char *msg, const char *name)
{
    int count = 0;
    char *v = header(msg, name, &count);
    assert_int_equal(count, 1);
    return v;
}

static int b64val(char c)
{
    const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = strchr(a, c);
    return c && p ? (int)(p - a) : -1;
}

/* Decodes a header of RFC 2047 B words separated by whitespace (all our Subject has). */
static char *decode_words(const char *v)
{
    char *out = calloc(1, strlen(v) + 1);
    size_t n = 0;
    const char *p = v;
    while (*p) {
        p += strspn(p, " \t");
        if (!*p)
            break;
        assert_memory_equal(p, "=?UTF-8?B?", 10);
        const char *end = strstr(p + 10, "?=");
        assert_non_null(end);
        assert_true(end + 2 - p <= COMPOSE_WORD_MAX);
        uint32_t acc = 0;
        int bits = 0;
        for (const char *q = p + 10; q < end && *q != '='; q++) {
            int v6 = b64val(*q);
            assert_true(v6 >= 0);
            acc = (acc << 6) | (uint32_t)v6;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                out[n++] = (char)((acc >> bits) & 0xFF);
            }
        }
        p = end + 2;
    }
    return out;
}

/* The boundary from Content-Type's boundary="..." parameter (heap). */
static char *boundary_of(const char *msg)
{
    char *ct = the_header(msg, "Content-Type");
    assert_non_null(strstr(ct, "multipart/alternative;"));
    const char *b = strstr(ct, "boundary=\"");
    assert_non_null(b);
    b += strlen("boundary=\"");
    char *out = strndup(b, strcspn(b, "\""));
    free(ct);
    return out;
}

static int hexv(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static char *qp_decode(const char *s, size_t len)
{
    char *out = calloc(1, len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '=' && i + 2 < len && s[i + 1] == '\r' && s[i + 2] == '\n') {
            i += 2; /* soft line break */
        } else if (s[i] == '=') {
            assert_true(i + 2 < len && hexv(s[i + 1]) >= 0 && hexv(s[i + 2]) >= 0);
            out[n++] = (char)(hexv(s[i + 1]) * 16 + hexv(s[i + 2]));
            i += 2;
        } else {
            out[n++] = s[i];
        }
    }
    return out;
}

struct parts {
    char *text, *html; /* decoded bodies */
    int delimiters;    /* lines that are "--boundary" or "--boundary--" */
};

/* Splits the body on the boundary, checking that it only ever appears as a delimiter line and
 * that there are exactly two parts, text then HTML, each UTF-8 quoted-printable. */
static struct parts split(const char *msg)
{
    struct parts r = {0};
    char *b = boundary_of(msg);
    char delim[128], close[128];
    snprintf(delim, sizeof delim, "\r\n--%s\r\n", b);
    snprintf(close, sizeof close, "\r\n--%s--\r\n", b);
    const char *body = strstr(msg, "\r\n\r\n") + 2; /* keep the CRLF before the first delimiter */
    int seen = 0;
    for (const char *p = strstr(body, b); p; p = strstr(p + 1, b))
        seen++;
    const char *p1 = strstr(body, delim);
    assert_non_null(p1);
    const char *p2 = strstr(p1 + 1, delim);
    assert_non_null(p2);
    const char *end = strstr(p2 + 1, close);
    assert_non_null(end);
    assert_string_equal(end + strlen(close), "");
    assert_null(strstr(p2 + 1, delim));
    r.delimiters = 3;
    assert_int_equal(seen, r.delimiters); /* nowhere but the delimiter lines */
    const char *parts[2][2] = {{p1 + strlen(delim), p2}, {p2 + strlen(delim), end}};
    const char *types[2] = {"text/plain; charset=UTF-8", "text/html; charset=UTF-8"};
    for (int i = 0; i < 2; i++) {
        const char *h = parts[i][0], *hend = strstr(h, "\r\n\r\n");
        assert_true(hend && hend < parts[i][1]);
        char head[512];
        snprintf(head, sizeof head, "%.*s", (int)(hend - h), h);
        char want[256];
        snprintf(want, sizeof want,
                 "Content-Type: %s\r\nContent-Transfer-Encoding: quoted-printable", types[i]);
        assert_string_equal(head, want);
        char *dec = qp_decode(hend + 4, (size_t)(parts[i][1] - hend - 4));
        *(i ? &r.html : &r.text) = dec;
    }
    free(b);
    return r;
}

static void parts_free(struct parts *p)
{
    free(p->text);
    free(p->html);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_headers_once_and_lines(void **state)
{
    (void)state;
    struct mail_values v = values();
    struct compose_input in = input(&v);
    char *msg = compose(&in);
    check_lines(msg, COMPOSE_HEADER_LINE, COMPOSE_QP_LINE_MAX);
    static const char *const once[] = {"Date",         "From",          "To",
                                       "Subject",      "Message-ID",    "MIME-Version",
                                       "Content-Type", "Auto-Submitted"};
    for (size_t i = 0; i < sizeof once / sizeof *once; i++)
        free(the_header(msg, once[i]));
    char *h = the_header(msg, "Date");
    assert_string_equal(h, "Thu, 26 Nov 2026 05:05:42 +0000");
    free(h);
    h = the_header(msg, "Message-ID");
    assert_string_equal(h, "<si.42." INVITE_ID "@mail.example.org>");
    free(h);
    h = the_header(msg, "To");
    assert_string_equal(h, "<" TO ">");
    free(h);
    h = the_header(msg, "From");
    assert_string_equal(h, "\"Site Invites\" <invites@mail.example.org>");
    free(h);
    h = the_header(msg, "MIME-Version");
    assert_string_equal(h, "1.0");
    free(h);
    h = the_header(msg, "Subject");
    char *subject = decode_words(h);
    assert_string_equal(subject, "Ann Lee invited you to join Maple Bakery");
    free(subject);
    free(h);
    free(msg);
}

static void test_parts_and_link(void **state)
{
    (void)state;
    struct mail_values v = values();
    v.v[TV_PURPOSE] = "Help with the <script>alert(1)</script> & \"menus\"";
    struct compose_input in = input(&v);
    char *msg = compose(&in);
    struct parts p = split(msg);
    assert_int_equal(p.delimiters, 3);
    /* The link is long: quoted-printable soft breaks must not break it once decoded. */
    assert_non_null(strstr(p.text, LINK));
    assert_non_null(strstr(p.html, "href=\"" LINK "\""));
    assert_non_null(strstr(p.text, "Maple Bakery"));
    assert_non_null(strstr(p.text, "26 December 2026"));
    assert_non_null(strstr(p.text, "Website Designer, Blog Editor"));
    assert_non_null(strstr(p.text, "> Help with the <script>alert(1)</script> & \"menus\""));
    assert_null(strstr(p.html, "<script>"));
    assert_non_null(
        strstr(p.html, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;menus&quot;"));
    parts_free(&p);
    free(msg);
}

static void test_purpose_cannot_add_parts_or_headers(void **state)
{
    (void)state;
    struct mail_values v = values();
    struct compose_input in = input(&v);
    char *plain = compose(&in);
    char *b = boundary_of(plain);
    /* Knowing the real boundary (it is derived from the row) does not help: '=' is encoded. */
    char evil[512];
    snprintf(evil, sizeof evil,
             "hi\r\n--%s\r\nContent-Type: text/html\r\n\r\n<b>x</b>\r\n--%s--\r\n"
             "\r\nBcc: victim@example.net\r\n.\r\nFrom: evil",
             b, b);
    v.v[TV_PURPOSE] = evil;
    char *msg = compose(&in);
    check_lines(msg, COMPOSE_HEADER_LINE, COMPOSE_QP_LINE_MAX);
    struct parts p = split(msg); /* still exactly two parts, with their own part headers */
    assert_int_equal(p.delimiters, 3);
    /* The would-be part header stayed body text of the real parts. */
    assert_non_null(strstr(p.text, "> Content-Type: text/html"));
    assert_non_null(strstr(p.html, "<br>\r\nContent-Type: text/html<br>"));
    /* The message head (part heads were compared whole by split) has no trace of it. */
    size_t head = (size_t)(strstr(msg, "\r\n\r\n") - msg);
    assert_null(memmem(msg, head, "Bcc", 3));
    assert_null(memmem(msg, head, "evil", 4));
    assert_null(memmem(msg, head, "victim", 6));
    int count = 0;
    free(header(msg, "Bcc", &count));
    assert_int_equal(count, 0);
    assert_non_null(strstr(p.text, "> Bcc: victim@example.net"));
    parts_free(&p);
    free(b);
    free(plain);
    free(msg);
}

static void test_bad_address_is_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {"bob@example.com\r\nBcc: x@y.z",
                                      "bob@example.com\n",
                                      "bob\r@example.com",
                                      "bob @example.com",
                                      "bob@exa\tmple.com",
                                      "Bob <bob@example.com>",
                                      "",
                                      "bob",
                                      "@example.com",
                                      "bob@",
                                      "a@b@c",
                                      "bob@example.com\x7f"};
    struct mail_values v = values();
    struct compose_input in = input(&v);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct buf out;
        buf_init(&out, 0);
        in.to = bad[i];
        assert_false(compose_address_ok(bad[i]));
        assert_int_equal(compose_invite(&in, &out), SI_EINVAL);
        assert_int_equal(out.len, 0); /* nothing written, not even a partial header */
        buf_cleanup(&out);
    }
    assert_true(compose_address_ok("jos\xc3\xa9@example.com"));
    in.to = TO;
    in.from = "Evil\r\nBcc: x@y <a@b.c>";
    struct buf out;
    buf_init(&out, 0);
    assert_int_equal(compose_invite(&in, &out), SI_EINVAL);
    assert_int_equal(out.len, 0);
    buf_cleanup(&out);
}

/* Regression (found by fuzz_mime, tests/fuzz/README.md): a From display name of invalid UTF-8
 * with a run of 45 continuation bytes was accepted, then encoded_words could fit no whole
 * character even at column 0 and folded line after empty line until the 1 MiB cap (a slow
 * SI_ETOOBIG for every email). Such a From is now refused up front, and the encoder gives up
 * instead of folding forever. */
static void test_from_not_utf8_is_refused(void **state)
{
    (void)state;
    char from[128];
    memset(from, '\xbe', 50);
    snprintf(from + 50, sizeof from - 50, " <invites@example.org>");
    assert_false(compose_from_ok(from));
    struct mail_values v = values();
    struct compose_input in = input(&v);
    in.from = from;
    struct buf out;
    buf_init(&out, 0);
    assert_int_equal(compose_invite(&in, &out), SI_EINVAL);
    assert_int_equal(out.len, 0);
    assert_int_equal(compose_encoded_header(&out, "Subject", from), SI_EINVAL);
    assert_true(out.len < 1024); /* no run of empty folded lines */
    buf_cleanup(&out);
    assert_true(compose_from_ok("Jos\xc3\xa9 <invites@example.org>")); /* UTF-8 is fine */
}

static void test_message_id_is_stable(void **state)
{
    (void)state;
    struct mail_values v = values();
    struct compose_input in = input(&v);
    char *a = compose(&in);
    in.date = FAKE_NOW + 3600 * 1000;
    char *b = compose(&in);
    char *ida = the_header(a, "Message-ID"), *idb = the_header(b, "Message-ID");
    assert_string_equal(ida, idb);
    /* Only the Date line differs between the two tries. */
    const char *ea = strstr(a, "\r\n"), *eb = strstr(b, "\r\n");
    assert_string_equal(ea, eb);
    in.outbox_id = 43;
    char *c = compose(&in);
    char *idc = the_header(c, "Message-ID");
    assert_string_equal(idc, "<si.43." INVITE_ID "@mail.example.org>");
    free(ida);
    free(idb);
    free(idc);
    free(a);
    free(b);
    free(c);

    char dom[COMPOSE_DOMAIN_MAX];
    compose_message_id_domain("x@Example.ORG", dom);
    assert_string_equal(dom, "Example.ORG");
    compose_message_id_domain("Name <x@b\xc3\xa9.org>", dom);
    assert_string_equal(dom, COMPOSE_DOMAIN_DEFAULT);
    compose_message_id_domain("nonsense", dom);
    assert_string_equal(dom, COMPOSE_DOMAIN_DEFAULT);
}

static void test_long_utf8_subject_folds(void **state)
{
    (void)state;
    struct mail_values v = values();
    char site[600] = "";
    for (int i = 0; i < 40; i++)
        strncat(site, "日本é", sizeof site - strlen(site) - 1);
    v.v[TV_SITE_NAME] = site;
    v.v[TV_INVITER_NAME] = "Zoë\r\nBcc: x@y.z";
    struct compose_input in = input(&v);
    in.from = "Équipe Café <invites@cafe.example>";
    char *msg = compose(&in);
    check_lines(msg, COMPOSE_HEADER_LINE, COMPOSE_QP_LINE_MAX);
    char *h = the_header(msg, "Subject");
    char *subject = decode_words(h);
    char want[1024];
    snprintf(want, sizeof want, "Zoë Bcc: x@y.z invited you to join %s", site);
    assert_string_equal(subject, want); /* each word held whole characters: it round-trips */
    free(subject);
    free(h);
    h = the_header(msg, "From");
    const char *lt = strstr(h, " <invites@cafe.example>");
    assert_non_null(lt);
    char *name = strndup(h, (size_t)(lt - h));
    char *decoded = decode_words(name);
    assert_string_equal(decoded, "Équipe Café");
    free(decoded);
    free(name);
    free(h);
    int count = 0;
    free(header(msg, "Bcc", &count));
    assert_int_equal(count, 0);
    free(msg);
}

/* No encoded line is longer than quoted-printable allows, and out decodes back to want. */
static void assert_qp_lines_decode_to(const struct buf *out, const char *want)
{
    size_t col = 0;
    for (const char *p = out->data; *p; p++) {
        col = *p == '\n' ? 0 : col + 1;
        assert_true(col <= COMPOSE_QP_LINE_MAX + 1); /* +1: the CR before LF */
    }
    char *back = qp_decode(out->data, out->len);
    assert_string_equal(back, want);
    free(back);
}

static void test_quoted_printable(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 0);
    char line[300];
    memset(line, 'x', sizeof line - 1);
    line[sizeof line - 1] = '\0';
    const char *text = "a=b \nend  \n.dot\n日本\tz";
    assert_int_equal(compose_qp(&out, text, strlen(text)), SI_OK);
    assert_string_equal(out.data, "a=3Db=20\r\nend =20\r\n=2Edot\r\n=E6=97=A5=E6=9C=AC\tz");
    buf_reset(&out);
    assert_int_equal(compose_qp(&out, line, strlen(line)), SI_OK);
    assert_qp_lines_decode_to(&out, line);
    buf_cleanup(&out);
}

/* Each byte value mid-line, between two letters: printable ASCII but '=' and the blanks stand
 * for themselves (RFC 2045 6.7 rules 2 and 3), LF ends the line as CRLF, anything else is "=XX".
 * Then all 256 values in a row, several times over, decode back to themselves within the
 * line length. */
static void test_qp_every_byte(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 0);
    for (int c = 0; c < 256; c++) {
        char text[3] = {'a', (char)c, 'b'}, want[16];
        if (c == '\n')
            snprintf(want, sizeof want, "a\r\nb");
        else if ((c >= 33 && c <= 126 && c != '=') || c == ' ' || c == '\t')
            snprintf(want, sizeof want, "a%cb", c);
        else
            snprintf(want, sizeof want, "a=%02Xb", (unsigned)c);
        buf_reset(&out);
        assert_int_equal(compose_qp(&out, text, sizeof text), SI_OK);
        assert_string_equal(out.data, want);
    }
    char all[256 * 4 + 1];
    for (size_t i = 0; i < sizeof all - 1; i++)
        all[i] = (char)(i % 256 == 0 || i % 256 == '\r' || i % 256 == '\n' ? 'x' : i % 256);
    all[sizeof all - 1] = '\0';
    buf_reset(&out);
    assert_int_equal(compose_qp(&out, all, sizeof all - 1), SI_OK);
    assert_qp_lines_decode_to(&out, all);
    buf_cleanup(&out);
}

/* The Date header's text (RFC 5322), written without printf: zero-padded fields, English
 * names, the epoch and a date of this century. */
static void test_date(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(compose_date(&b, 1795669542123), SI_OK);
    assert_string_equal(b.data, "Thu, 26 Nov 2026 05:05:42 +0000");
    buf_reset(&b);
    assert_int_equal(compose_date(&b, 0), SI_OK);
    assert_string_equal(b.data, "Thu, 01 Jan 1970 00:00:00 +0000");
    buf_reset(&b);
    assert_int_equal(compose_date(&b, 951782400000), SI_OK); /* a leap day, a Tuesday */
    assert_string_equal(b.data, "Tue, 29 Feb 2000 00:00:00 +0000");
    buf_reset(&b);
    assert_int_equal(compose_date(&b, -1000), SI_OK); /* before the epoch: days count back */
    assert_string_equal(b.data, "Wed, 31 Dec 1969 23:59:59 +0000");
    buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_date),
        cmocka_unit_test(test_headers_once_and_lines),
        cmocka_unit_test(test_parts_and_link),
        cmocka_unit_test(test_purpose_cannot_add_parts_or_headers),
        cmocka_unit_test(test_bad_address_is_refused),
        cmocka_unit_test(test_from_not_utf8_is_refused),
        cmocka_unit_test(test_message_id_is_stable),
        cmocka_unit_test(test_long_utf8_subject_folds),
        cmocka_unit_test(test_quoted_printable),
        cmocka_unit_test(test_qp_every_byte),
    };
    return cmocka_run_group_tests(tests, load_templates, free_templates);
}
