/* MIME composition of invite emails: headers, encoded words, quoted-printable, boundaries. */
#include "compose.h"

#include "common/clock.h"
#include "common/ids.h"
#include "common/secure.h"
#include "common/template.h"
#include "core/invite.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define ENCODED_WORD_OVERHEAD 12 /* "=?UTF-8?B?" + "?=" */
#define ENCODED_WORD_BYTES    45 /* input bytes of a full 75-char word: 60 base64 chars */
#define BOUNDARY_MAX          48 /* bytes of a boundary, NUL included */
#define BOUNDARY_TRIES        16 /* fresh boundaries tried before giving up (never needed) */
#define SPECIALS              "<>()[],;:\"\\"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

bool compose_address_ok(const char *addr)
{
    size_t n = addr ? strlen(addr) : 0;
    const char *at = n ? strchr(addr, '@') : NULL;
    if (n < 3 || n > SI_EMAIL_MAX || !at || at == addr || at[1] == '\0' || strchr(at + 1, '@'))
        return false;
    for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
        if (*p <= ' ' || *p == 0x7F || strchr(SPECIALS, *p))
            return false;
    return true;
}

/* Splits "Name <addr>" into name (trimmed, may be empty) and addr; a bare address has no name.
 * Returns false for anything else, or a control byte anywhere. */
static bool split_from(const char *from, const char **name, size_t *name_len, const char **addr,
                       size_t *addr_len)
{
    if (!from)
        return false;
    for (const unsigned char *p = (const unsigned char *)from; *p; p++)
        if (*p < ' ' || *p == 0x7F)
            return false;
    const char *lt = strrchr(from, '<');
    if (!lt) {
        *name = from;
        *name_len = 0;
        *addr = from;
        *addr_len = strlen(from);
        return true;
    }
    const char *gt = strchr(lt, '>');
    if (!gt || gt[1] != '\0')
        return false;
    *name = from;
    *name_len = (size_t)(lt - from);
    while (*name_len && (*name)[*name_len - 1] == ' ')
        (*name_len)--;
    *addr = lt + 1;
    *addr_len = (size_t)(gt - lt - 1);
    return true;
}

bool compose_from_address(const char *from, char *out, size_t cap)
{
    const char *name, *addr;
    size_t nl, al;
    if (!split_from(from, &name, &nl, &addr, &al) || al + 1 > cap)
        return false;
    memcpy(out, addr, al);
    out[al] = '\0';
    return compose_address_ok(out);
}

bool compose_from_ok(const char *from)
{
    char addr[SI_EMAIL_MAX + 1];
    /* Invalid UTF-8 cannot be cut into encoded words of whole characters (encoded_words). */
    return from && strlen(from) <= COMPOSE_FROM_MAX && template_utf8_valid(from, strlen(from)) &&
           compose_from_address(from, addr, sizeof addr);
}

void compose_message_id_domain(const char *from, char out[COMPOSE_DOMAIN_MAX])
{
    char addr[SI_EMAIL_MAX + 1];
    snprintf(out, COMPOSE_DOMAIN_MAX, "%s", COMPOSE_DOMAIN_DEFAULT);
    if (!compose_from_address(from, addr, sizeof addr))
        return;
    const char *d = strrchr(addr, '@') + 1;
    for (const char *p = d; *p; p++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '.' || *p == '-';
        if (!ok)
            return;
    }
    snprintf(out, COMPOSE_DOMAIN_MAX, "%s", d);
}

enum si_err compose_date(struct buf *out, si_ms t)
{
    /* Written in place (common/clock.h): through printf it cost ~6,000 instructions. */
    char text[SI_MAIL_DATE_LEN];
    if (!time_format_mail(t, text))
        return SI_EINVAL; /* RFC 5322 years have four digits */
    return buf_append(out, text, SI_MAIL_DATE_LEN - 1);
}

static enum si_err base64(struct buf *out, const unsigned char *s, size_t n)
{
    enum si_err rc = SI_OK;
    for (size_t i = 0; i < n && !rc; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)s[i + 1] << 8;
        if (i + 2 < n)
            v |= s[i + 2];
        char q[4] = {b64_alphabet[(v >> 18) & 63], b64_alphabet[(v >> 12) & 63],
                     i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=',
                     i + 2 < n ? b64_alphabet[v & 63] : '='};
        rc = buf_append(out, q, 4);
    }
    return rc;
}

/* Appends text as encoded words after column *col, each preceded by a space, folding the line
 * before a word that would not fit. Each word holds whole UTF-8 characters. */
static enum si_err encoded_words(struct buf *out, const char *text, size_t *col)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t n = strlen(text), i = 0;
    enum si_err rc = SI_OK;
    while (!rc && i < n) {
        /* Input bytes that fit on this line: 4 base64 chars for every 3 bytes. */
        size_t used = *col + 1 + ENCODED_WORD_OVERHEAD;
        size_t take = used < COMPOSE_HEADER_LINE ? (COMPOSE_HEADER_LINE - used) / 4 * 3 : 0;
        if (take > ENCODED_WORD_BYTES)
            take = ENCODED_WORD_BYTES;
        if (take > n - i)
            take = n - i;
        while (take > 0 && i + take < n && (s[i + take] & 0xC0) == 0x80)
            take--;                 /* never cut a character in two */
        if (take == 0 && *col == 0) /* no whole character: not UTF-8, never fold forever */
            return SI_EINVAL;
        if (take == 0) { /* not one character fits here: fold */
            rc = buf_puts(out, "\r\n");
            *col = 0;
            continue;
        }
        size_t before = out->len;
        rc = buf_puts(out, " =?UTF-8?B?");
        if (!rc)
            rc = base64(out, s + i, take);
        if (!rc)
            rc = buf_puts(out, "?=");
        *col += out->len - before;
        i += take;
    }
    return rc;
}

enum si_err compose_encoded_header(struct buf *out, const char *name, const char *value)
{
    size_t col = strlen(name) + 1;
    enum si_err rc = buf_cat(out, name, ":", NULL);
    if (!rc)
        rc = encoded_words(out, value, &col);
    if (!rc)
        rc = buf_puts(out, "\r\n");
    return rc;
}

/* From: an ASCII display name is written as a quoted string, any other as encoded words; the
 * address follows on the same line when it fits. */
static enum si_err from_header(struct buf *out, const char *from)
{
    const char *name, *addr;
    size_t nl, al;
    if (!split_from(from, &name, &nl, &addr, &al))
        return SI_EINVAL;
    if (nl == 0)
        return buf_printf(out, "From: %.*s\r\n", (int)al, addr);
    bool ascii = true;
    for (size_t i = 0; i < nl; i++)
        ascii = ascii && (unsigned char)name[i] < 0x80;
    bool quoted = nl >= 2 && name[0] == '"' && name[nl - 1] == '"';
    size_t start = out->len;
    enum si_err rc = buf_puts(out, "From:");
    size_t col = strlen("From:");
    if (!rc && ascii && quoted) {
        rc = buf_printf(out, " %.*s", (int)nl, name);
    } else if (!rc && ascii) {
        rc = buf_puts(out, " \"");
        for (size_t i = 0; i < nl && !rc; i++)
            rc = name[i] == '"' || name[i] == '\\' ? buf_printf(out, "\\%c", name[i])
                                                   : buf_append(out, name + i, 1);
        if (!rc)
            rc = buf_puts(out, "\"");
    } else if (!rc) {
        char tmp[COMPOSE_FROM_MAX + 1];
        snprintf(tmp, sizeof tmp, "%.*s", (int)nl, name);
        rc = encoded_words(out, tmp, &col);
    }
    if (ascii) /* quoted strings are never folded here, so the column is the length so far */
        col = out->len - start;
    bool fits = col + 2 + al + 1 <= COMPOSE_HEADER_LINE;
    if (!rc)
        rc = buf_cat(out, fits ? " <" : "\r\n <", NULL);
    if (!rc)
        rc = buf_append(out, addr, al);
    return rc ? rc : buf_puts(out, ">\r\n");
}

/* Encoded bytes are staged here and appended in chunks: one buf_append per byte (and a printf
 * per escape) was two thirds of an email's composing cost. */
#define QP_STAGE 512
#define QP_STEP  6 /* the widest single step: a soft break "=\r\n" then an escape "=XX" */

/* What a byte is to quoted-printable: QP_PLAIN stands for itself anywhere but at a line's start,
 * QP_BLANK (space, tab) stands for itself unless it ends a line, QP_OTHER is escaped or breaks the
 * line. A table: the test runs once per byte of every email body. */
enum { QP_OTHER = 0, QP_PLAIN = 1, QP_BLANK = 2 };
#define QP_P16 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
/* clang-format off */
static const unsigned char qp_class[256] = { /* a row per 16 byte values */
    0, 0, 0, 0, 0, 0, 0, 0, 0, QP_BLANK, 0, 0, 0, 0, 0, 0, /* 0x00: only tab */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,        /* 0x10 */
    QP_BLANK, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x20: space, then ! to / */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1,        /* 0x30: all but '=' */
    QP_P16, QP_P16, QP_P16,                                /* 0x40 to 0x6F */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,        /* 0x70: all but DEL */
};                                                         /* 0x80 to 0xFF: escaped */
/* clang-format on */
#undef QP_P16

static inline bool qp_plain(unsigned char c)
{
    return qp_class[c] == QP_PLAIN;
}

/* Whether the blank at text[i] has more of its line after it (a blank ending a line is escaped;
 * a lone CR sends the caller the long way). */
static inline bool qp_blank_mid(const char *text, size_t len, size_t i)
{
    return i + 1 < len && text[i + 1] != '\n' && text[i + 1] != '\r';
}

/* Whether text[i] stands for itself when mid-line. */
static inline bool qp_literal_mid(const char *text, size_t len, size_t i)
{
    unsigned char k = qp_class[(unsigned char)text[i]];
    return k == QP_PLAIN || (k == QP_BLANK && qp_blank_mid(text, len, i));
}

/* The length (at least 1) of the run of mid-line literals at text[i], capped at max. */
static size_t qp_run(const char *text, size_t len, size_t i, size_t max)
{
    size_t run = 1;
    if (max > len - i)
        max = len - i;
    while (run < max) {
        unsigned char k = qp_class[(unsigned char)text[i + run]];
        if (k != QP_PLAIN && (k != QP_BLANK || !qp_blank_mid(text, len, i + run)))
            break;
        run++;
    }
    return run;
}

enum si_err compose_qp(struct buf *out, const char *text, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    char stage[QP_STAGE];
    size_t n = 0, col = 0;
    enum si_err rc = SI_OK;
    for (size_t i = 0; i < len && !rc; i++) {
        if (n + QP_STEP > QP_STAGE) {
            rc = buf_append(out, stage, n);
            n = 0;
            if (rc)
                break;
        }
        unsigned char c = (unsigned char)text[i];
        /* Most bytes: runs of plain bytes mid-line, where neither a break nor an escape is due. */
        if (col < COMPOSE_QP_LINE_MAX - 1 && (col || c != '.') && qp_literal_mid(text, len, i)) {
            size_t line_room = COMPOSE_QP_LINE_MAX - 1 - col, stage_room = QP_STAGE - QP_STEP - n;
            size_t run = qp_run(text, len, i, line_room < stage_room ? line_room : stage_room);
            memcpy(stage + n, text + i, run);
            n += run;
            col += run;
            i += run - 1;
            continue;
        }
        if (c == '\r' && i + 1 < len && text[i + 1] == '\n')
            continue; /* the LF that follows makes the break */
        if (c == '\n') {
            memcpy(stage + n, "\r\n", 2);
            n += 2;
            col = 0;
            continue;
        }
        bool line_end = i + 1 == len || text[i + 1] == '\n' ||
                        (text[i + 1] == '\r' && i + 2 < len && text[i + 2] == '\n');
        /* Trailing blanks would be stripped in transit; a leading '.' trips naive SMTP relays. */
        bool literal = qp_plain(c) || ((c == ' ' || c == '\t') && !line_end);
        size_t w = literal ? 1 : 3;
        if (col + w > COMPOSE_QP_LINE_MAX - 1 && !(line_end && col + w <= COMPOSE_QP_LINE_MAX)) {
            memcpy(stage + n, "=\r\n", 3);
            n += 3;
            col = 0;
        }
        if (col == 0 && c == '.') {
            literal = false;
            w = 3;
        }
        if (literal) {
            stage[n++] = (char)c;
        } else {
            stage[n++] = '=';
            stage[n++] = hex[c >> 4];
            stage[n++] = hex[c & 15];
        }
        col += w;
    }
    if (!rc)
        rc = buf_append(out, stage, n);
    secure_wipe(stage, sizeof stage); /* it held part of the accept link */
    return rc;
}

/* A boundary no encoded part can contain: "=_" never occurs in quoted-printable output, and the
 * rest comes from a mix of the row's identity so a re-sent message is byte-identical. */
static void make_boundary(const struct compose_input *in, unsigned attempt, char out[BOUNDARY_MAX])
{
    uint64_t h = 0x9E3779B97F4A7C15u ^ (uint64_t)in->outbox_id ^ ((uint64_t)attempt << 56);
    for (const char *p = in->invite_id; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 0x100000001B3u;
    }
    h ^= h >> 31; /* splitmix-style finish so nearby ids give unrelated text */
    h *= 0xBF58476D1CE4E5B9u;
    h ^= h >> 27;
    snprintf(out, BOUNDARY_MAX, "=_si_%016" PRIx64 "_%u", h, attempt);
}

/* Wipes a buffer's whole allocation: rendered bodies hold the accept link. */
static void wipe(struct buf *b)
{
    if (b->data)
        secure_wipe(b->data, b->cap);
}

static enum si_err render_qp(const struct compose_input *in, enum mail_part part, struct buf *out)
{
    struct buf plain;
    buf_init(&plain, COMPOSE_MESSAGE_MAX);
    enum si_err rc = mail_template_render(in->tpl, part, in->values, &plain);
    if (!rc)
        rc = compose_qp(out, plain.data, plain.len);
    wipe(&plain);
    buf_cleanup(&plain);
    return rc;
}

static enum si_err headers(const struct compose_input *in, const char *boundary, struct buf *m)
{
    char domain[COMPOSE_DOMAIN_MAX];
    struct buf subject;
    buf_init(&subject, COMPOSE_MESSAGE_MAX);
    compose_message_id_domain(in->from, domain);
    enum si_err rc = buf_puts(m, "Date: ");
    if (!rc)
        rc = compose_date(m, in->date);
    if (!rc)
        rc = buf_puts(m, "\r\n");
    if (!rc)
        rc = from_header(m, in->from);
    if (!rc)
        rc = buf_cat(m, "To: <", in->to, ">\r\n", NULL);
    /* Replies reach the person who invited; an address that is not plainly safe is left out
     * rather than refused, since the message is still worth sending. */
    if (!rc && in->reply_to && compose_address_ok(in->reply_to))
        rc = buf_cat(m, "Reply-To: <", in->reply_to, ">\r\n", NULL);
    if (!rc)
        rc = mail_template_render(in->tpl, MAIL_SUBJECT, in->values, &subject);
    if (!rc)
        rc = compose_encoded_header(m, "Subject", subject.data);
    char outbox_id[24];
    snprintf(outbox_id, sizeof outbox_id, "%" PRId64, in->outbox_id);
    if (!rc)
        rc = buf_cat(m, "Message-ID: <si.", outbox_id, ".", in->invite_id, "@", domain,
                     ">\r\nMIME-Version: 1.0\r\nAuto-Submitted: auto-generated\r\n"
                     "Content-Type: multipart/alternative;\r\n boundary=\"",
                     boundary, "\"\r\n\r\n", NULL);
    buf_cleanup(&subject);
    return rc;
}

static enum si_err part(struct buf *m, const char *boundary, const char *type,
                        const struct buf *body)
{
    /* The body is appended as bytes: through printf's %s it was scanned and copied twice. */
    enum si_err rc = buf_cat(m, "--", boundary, "\r\nContent-Type: ", type,
                             "; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable"
                             "\r\n\r\n",
                             NULL);
    if (!rc)
        rc = buf_append(m, body->data, body->len);
    return rc ? rc : buf_puts(m, "\r\n");
}

enum si_err compose_invite(const struct compose_input *in, struct buf *out)
{
    if (!compose_address_ok(in->to) || !compose_from_ok(in->from) || !id_valid(in->invite_id))
        return SI_EINVAL;
    struct buf text, html, m;
    buf_init(&text, COMPOSE_MESSAGE_MAX);
    buf_init(&html, COMPOSE_MESSAGE_MAX);
    buf_init(&m, COMPOSE_MESSAGE_MAX);
    char boundary[BOUNDARY_MAX];
    enum si_err rc = render_qp(in, MAIL_TEXT, &text);
    if (!rc)
        rc = render_qp(in, MAIL_HTML, &html);
    for (unsigned a = 0; !rc; a++) {
        if (a == BOUNDARY_TRIES) {
            rc = SI_EINVAL;
            break;
        }
        make_boundary(in, a, boundary);
        /* Belt and braces: the boundary must not occur in either encoded part. */
        if (!strstr(text.data ? text.data : "", boundary) &&
            !strstr(html.data ? html.data : "", boundary))
            break;
    }
    if (!rc)
        rc = headers(in, boundary, &m);
    if (!rc)
        rc = part(&m, boundary, "text/plain", &text);
    if (!rc)
        rc = part(&m, boundary, "text/html", &html);
    if (!rc)
        rc = buf_cat(&m, "--", boundary, "--\r\n", NULL);
    if (!rc)
        rc = buf_append(out, m.data, m.len);
    /* The bodies hold the accept link: wipe before the memory goes back. */
    wipe(&text);
    wipe(&html);
    wipe(&m);
    buf_cleanup(&text);
    buf_cleanup(&html);
    buf_cleanup(&m);
    return rc;
}
