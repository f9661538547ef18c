/* The strict reader behind mime_check: line scan, header fields, encoded words, boundaries and
 * quoted-printable decoding, each a short step that names what it found wrong. */
#include "mime_check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_RFC 998 /* RFC 5322 2.1.1 */
#define QP_LINE_MAX  76  /* RFC 2045 6.7 */
#define FIELDS_MAX   16

/* A growing byte string for decoded text. */
struct text {
    char *data;
    size_t len, cap;
};

static void text_add(struct text *t, const char *p, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1)
            cap *= 2;
        t->data = realloc(t->data, cap);
        if (!t->data)
            abort();
        t->cap = cap;
    }
    memcpy(t->data + t->len, p, n);
    t->len += n;
    t->data[t->len] = '\0';
}

/* One unfolded header field: name and value point into the message, value spans lines. */
struct field {
    const char *name;
    size_t name_len;
    struct text value; /* unfolded: the CRLF before each continuation dropped */
};

static const char *const allowed[] = {"Date",         "From",           "To",
                                      "Reply-To",     "Subject",        "Message-ID",
                                      "MIME-Version", "Auto-Submitted", "Content-Type"};
#define NALLOWED (sizeof allowed / sizeof allowed[0])

static const char *check_lines(const char *msg, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (msg[i] == '\0')
            return "lines: a NUL byte";
        if (msg[i] == '\r' && (i + 1 >= len || msg[i + 1] != '\n'))
            return "lines: a bare CR";
        if (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r'))
            return "lines: a bare LF";
        if (msg[i] == '\n') {
            if (i - 1 - start > LINE_MAX_RFC)
                return "lines: a line over 998 characters";
            start = i + 1;
        }
    }
    return start == len ? NULL : "lines: the message does not end with CRLF";
}

/* The next line of [*at, end): sets *line and *n (without CRLF), moves *at past it. */
static bool next_line(const char **at, const char *end, const char **line, size_t *n)
{
    if (*at >= end)
        return false;
    const char *lf = memchr(*at, '\n', (size_t)(end - *at));
    *line = *at;
    *n = (size_t)(lf - *at) - 1; /* check_lines proved the CR */
    *at = lf + 1;
    return true;
}

static int field_index(const char *name, size_t n)
{
    for (size_t i = 0; i < NALLOWED; i++)
        if (strlen(allowed[i]) == n && memcmp(allowed[i], name, n) == 0)
            return (int)i;
    return -1;
}

/* Reads the header block [msg, end) into fields by allowed index. */
static const char *read_fields(const char *msg, const char *end, struct field f[NALLOWED])
{
    const char *at = msg, *line;
    size_t n;
    struct field *cur = NULL;
    while (next_line(&at, end, &line, &n)) {
        if (n && (line[0] == ' ' || line[0] == '\t')) {
            if (!cur)
                return "headers: a continuation before any field";
            text_add(&cur->value, line, n);
            continue;
        }
        const char *colon = memchr(line, ':', n);
        if (!colon || colon == line)
            return "headers: a line that is not a field";
        for (const char *p = line; p < colon; p++)
            if (*p < 33 || *p > 126)
                return "headers: a field name with a blank or control";
        int k = field_index(line, (size_t)(colon - line));
        if (k < 0)
            return "headers: a field we never write (injected?)";
        if (f[k].name)
            return "headers: a field written twice (injected?)";
        cur = &f[k];
        cur->name = line;
        cur->name_len = (size_t)(colon - line);
        text_add(&cur->value, colon + 1, n - (size_t)(colon + 1 - line));
    }
    for (size_t i = 0; i < NALLOWED; i++)
        if (!f[i].name && strcmp(allowed[i], "Reply-To") != 0)
            return "headers: a required field is missing";
    return NULL;
}

static int b64_value(char c)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = c ? strchr(alphabet, c) : NULL;
    return p ? (int)(p - alphabet) : -1;
}

/* Appends the bytes of base64 text s[0..n) (padded, n a multiple of 4) to out. */
static bool b64_decode(const char *s, size_t n, struct text *out)
{
    if (n % 4)
        return false;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        size_t pad = 0;
        for (size_t k = 0; k < 4; k++) {
            if (s[i + k] == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
            } else if ((v[k] = b64_value(s[i + k])) < 0 || pad) {
                return false;
            }
        }
        uint32_t x =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        char bytes[3] = {(char)(x >> 16), (char)(x >> 8), (char)x};
        text_add(out, bytes, 3 - pad);
    }
    return true;
}

/* The Subject value: " =?UTF-8?B?...?=" words, one blank before each, decoded into out. */
static const char *decode_subject(const struct text *v, struct text *out)
{
    static const char open[] = " =?UTF-8?B?";
    size_t at = 0;
    text_add(out, "", 0);
    while (at < v->len) {
        if (v->len - at < sizeof open - 1 || memcmp(v->data + at, open, sizeof open - 1) != 0)
            return "values: Subject is not a run of encoded words";
        at += sizeof open - 1;
        const char *close = strstr(v->data + at, "?=");
        if (!close)
            return "values: an encoded word without its end";
        size_t n = (size_t)(close - (v->data + at));
        if (n + sizeof open + 1 > 75 + 1)
            return "values: an encoded word over 75 characters";
        if (!b64_decode(v->data + at, n, out))
            return "values: an encoded word that is not base64";
        at += n + 2;
    }
    return NULL;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decodes one quoted-printable body of lines [at, end) into out, hard breaks as LF. */
static const char *decode_qp(const char *at, const char *end, struct text *out)
{
    const char *line;
    size_t n;
    text_add(out, "", 0);
    bool first = true;
    while (next_line(&at, end, &line, &n)) {
        if (n > QP_LINE_MAX)
            return "body: a quoted-printable line over 76 characters";
        if (!first)
            text_add(out, "\n", 1); /* the previous line ended in a hard break */
        first = false;
        bool soft = n && line[n - 1] == '=';
        size_t stop = soft ? n - 1 : n;
        if (stop && (line[stop - 1] == ' ' || line[stop - 1] == '\t') && !soft)
            return "body: a blank at the end of a line (stripped in transit)";
        for (size_t i = 0; i < stop; i++) {
            char c = line[i];
            if (c == '=') {
                int hi = i + 2 < stop ? hex_value(line[i + 1]) : -1;
                int lo = i + 2 < stop ? hex_value(line[i + 2]) : -1;
                if (hi < 0 || lo < 0)
                    return "body: a bad =XX escape";
                char b = (char)(hi << 4 | lo);
                text_add(out, &b, 1);
                i += 2;
            } else if ((c >= 33 && c <= 126) || c == ' ' || c == '\t') {
                text_add(out, &c, 1);
            } else {
                return "body: a byte quoted-printable must escape";
            }
        }
        if (soft) {
            first = true; /* no break: the next line continues this one */
            if (at >= end)
                return "body: a soft break on the last line";
        }
    }
    return NULL;
}

/* s with every CRLF as LF (the decoded bodies have LF only), into out. */
static void lf_only(const char *s, struct text *out)
{
    text_add(out, "", 0);
    for (; *s; s++)
        if (!(s[0] == '\r' && s[1] == '\n'))
            text_add(out, s, 1);
}

/* One part: its two headers, a blank line, then QP lines up to end; compared with want. */
static const char *check_part(const char *at, const char *end, const char *type, const char *want)
{
    static const char cte[] = "Content-Transfer-Encoding: quoted-printable";
    const char *line;
    size_t n;
    if (!next_line(&at, end, &line, &n) || n != strlen(type) || memcmp(line, type, n) != 0)
        return "body: a part's Content-Type is not the one expected";
    if (!next_line(&at, end, &line, &n) || n != sizeof cte - 1 || memcmp(line, cte, n) != 0)
        return "body: a part is not quoted-printable";
    if (!next_line(&at, end, &line, &n) || n != 0)
        return "body: a part's headers do not end with a blank line";
    struct text got = {0}, expect = {0};
    const char *err = decode_qp(at, end, &got);
    lf_only(want, &expect);
    if (!err && (got.len != expect.len || memcmp(got.data, expect.data, got.len) != 0))
        err = "body: a part does not decode to its text";
    free(got.data);
    free(expect.data);
    return err;
}

static const char *check_body(const char *at, const char *end, const char *boundary,
                              const struct mime_expect *want)
{
    char open[128], close[128];
    size_t bl = strlen(boundary);
    if (bl + 5 > sizeof open)
        return "body: a boundary too long";
    memcpy(open, "--", 2);
    memcpy(open + 2, boundary, bl + 1);
    memcpy(close, open, bl + 2);
    memcpy(close + bl + 2, "--", 3);
    /* Cut the body at the boundary lines; nothing else may start with the boundary. */
    const char *marks[3], *line;
    size_t n, nmarks = 0;
    const char *p = at, *after_close = NULL;
    while (next_line(&p, end, &line, &n)) {
        if (n >= bl + 2 && memcmp(line, open, bl + 2) == 0) {
            if (n == bl + 2 && nmarks < 2)
                marks[nmarks++] = p;
            else if (n == bl + 4 && memcmp(line, close, bl + 4) == 0 && nmarks == 2 && !after_close)
                after_close = p;
            else
                return "body: a line starts with the boundary";
        }
    }
    if (nmarks != 2 || !after_close || after_close != end || marks[0] != at + bl + 4)
        return "body: not exactly two parts between the boundaries";
    /* A part runs up to the next boundary line; its last CRLF ends its last line and is no
     * line break of the text (compose writes one after every part). */
    const char *err = check_part(marks[0], marks[1] - (bl + 4),
                                 "Content-Type: text/plain; charset=UTF-8", want->text);
    if (!err)
        err = check_part(marks[1], end - (bl + 6), "Content-Type: text/html; charset=UTF-8",
                         want->html);
    return err;
}

/* " <addr>" exactly. */
static bool is_angle(const struct text *v, const char *addr)
{
    size_t n = strlen(addr);
    return v->len == n + 3 && memcmp(v->data, " <", 2) == 0 && memcmp(v->data + 2, addr, n) == 0 &&
           v->data[n + 2] == '>';
}

static const char *check_values(struct field f[NALLOWED], const struct mime_expect *want,
                                char *boundary, size_t cap)
{
    static const char ct[] = " multipart/alternative; boundary=\"";
    struct field *to = &f[field_index("To", 2)], *reply = &f[field_index("Reply-To", 8)];
    struct field *from = &f[field_index("From", 4)], *type = &f[field_index("Content-Type", 12)];
    if (!is_angle(&to->value, want->to))
        return "values: To is not <to>";
    if (!want->reply_to != !reply->name ||
        (reply->name && !is_angle(&reply->value, want->reply_to)))
        return "values: Reply-To is not <reply_to>";
    /* A bare address as it is, else the display name then <address>. */
    size_t al = strlen(want->from_address);
    const struct text *fv = &from->value;
    bool bare = fv->len == al + 1 && fv->data[0] == ' ' &&
                memcmp(fv->data + 1, want->from_address, al) == 0;
    bool named = fv->len >= al + 2 && fv->data[fv->len - al - 2] == '<' &&
                 memcmp(fv->data + fv->len - al - 1, want->from_address, al) == 0 &&
                 fv->data[fv->len - 1] == '>';
    if (!bare && !named)
        return "values: From is not the address, nor ends with <address>";
    const struct text *t = &type->value;
    if (t->len < sizeof ct || memcmp(t->data, ct, sizeof ct - 1) != 0 || t->data[t->len - 1] != '"')
        return "values: Content-Type is not multipart/alternative with a boundary";
    size_t bl = t->len - sizeof ct;
    if (bl == 0 || bl >= cap)
        return "values: an empty or long boundary";
    memcpy(boundary, t->data + sizeof ct - 1, bl);
    boundary[bl] = '\0';
    return NULL;
}

const char *mime_check(const char *msg, size_t len, const struct mime_expect *want)
{
    const char *err = check_lines(msg, len);
    if (err)
        return err;
    const char *end = msg + len;
    const char *blank = NULL;
    for (const char *p = msg; p + 4 <= end && !blank; p++)
        if (memcmp(p, "\r\n\r\n", 4) == 0)
            blank = p;
    if (!blank)
        return "headers: no blank line before the body";
    struct field f[NALLOWED];
    memset(f, 0, sizeof f);
    struct text subject = {0};
    char boundary[100];
    err = read_fields(msg, blank + 2, f);
    if (!err)
        err = check_values(f, want, boundary, sizeof boundary);
    if (!err)
        err = decode_subject(&f[field_index("Subject", 7)].value, &subject);
    if (!err && strcmp(subject.data, want->subject) != 0)
        err = "values: Subject does not decode to the subject";
    if (!err)
        err = check_body(blank + 4, end, boundary, want);
    for (size_t i = 0; i < NALLOWED; i++)
        free(f[i].value.data);
    free(subject.data);
    return err;
}
