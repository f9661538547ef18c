/* A multipart/form-data body (RFC 7578) turned into the urlencoded body of the same fields, so a
 * form with a file input reaches the console's one form reader. Pure: bytes in, bytes out. */
#include "http/multipart.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#define CRLF_LEN 2

/* The boundary parameter of content_type into out (NUL-terminated); false when there is none
 * or it breaks RFC 2046's rules (1..70 characters, no control characters). */
static bool boundary_of(const char *content_type, char out[MULTIPART_BOUNDARY_MAX + 1])
{
    const char *p = content_type;
    while ((p = strchr(p, ';')) != NULL) {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, "boundary=", 9) != 0)
            continue;
        p += 9;
        bool quoted = *p == '"';
        p += quoted;
        size_t n = quoted ? strcspn(p, "\"") : strcspn(p, "; \t");
        if (n == 0 || n > MULTIPART_BOUNDARY_MAX || (quoted && p[n] != '"'))
            return false;
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] >= 0x7F)
                return false;
        memcpy(out, p, n);
        out[n] = '\0';
        return true;
    }
    return false;
}

/* Appends text[0..n) percent-encoded (all but unreserved characters). */
static enum si_err put_encoded(struct buf *out, const char *text, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    enum si_err rc = SI_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        unsigned char c = (unsigned char)text[i];
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            rc = buf_append(out, &text[i], 1);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = buf_append(out, esc, sizeof esc);
        }
    }
    return rc;
}

/* The name="..." of a part's headers (head[0..n)), from its Content-Disposition line; false
 * when the part has none or it is not form-data. */
static bool part_name(const char *head, size_t n, const char **name, size_t *name_len)
{
    static const char cd[] = "content-disposition:";
    for (size_t at = 0; at < n;) {
        const char *line = head + at, *eol = memchr(line, '\r', n - at);
        size_t len = eol ? (size_t)(eol - line) : n - at;
        at += len + CRLF_LEN;
        if (len < sizeof cd - 1 || strncasecmp(line, cd, sizeof cd - 1) != 0)
            continue;
        /* Looked up within this line only: a name must not come from the next header. */
        for (size_t i = sizeof cd - 1; i + 6 <= len; i++) {
            if (strncasecmp(line + i, "name=\"", 6) != 0 ||
                (line[i - 1] != ' ' && line[i - 1] != ';'))
                continue;
            const char *v = line + i + 6, *q = memchr(v, '"', len - (i + 6));
            if (!q)
                return false;
            *name = v;
            *name_len = (size_t)(q - v);
            return *name_len > 0;
        }
        return false;
    }
    return false;
}

/* Reads one part starting at body[*at] (just past a delimiter line's CRLF) up to the next
 * delimiter, appends it to out, and moves *at past that delimiter. *last says it was the
 * closing one ("--boundary--"). */
static enum si_err one_part(const char *body, size_t len, const char *delim, size_t dlen,
                            size_t *at, struct buf *out, bool *last)
{
    const char *part = body + *at, *end = body + len;
    const char *head_end = memmem(part, (size_t)(end - part), "\r\n\r\n", 4);
    if (!head_end)
        return SI_EINVAL;
    const char *name = NULL, *value = head_end + 4;
    size_t name_len = 0;
    if (!part_name(part, (size_t)(head_end - part) + CRLF_LEN, &name, &name_len))
        return SI_EINVAL;
    /* The value runs to CRLF and the delimiter. */
    const char *stop = memmem(value, (size_t)(end - value), delim, dlen);
    if (!stop)
        return SI_EINVAL;
    const char *after = stop + dlen;
    if (end - after >= 2 && after[0] == '-' && after[1] == '-') {
        *last = true;
    } else if (end - after >= 2 && after[0] == '\r' && after[1] == '\n') {
        after += CRLF_LEN;
    } else {
        return SI_EINVAL;
    }
    enum si_err rc = out->len ? buf_append(out, "&", 1) : SI_OK;
    if (!rc)
        rc = put_encoded(out, name, name_len);
    if (!rc)
        rc = buf_append(out, "=", 1);
    if (!rc)
        rc = put_encoded(out, value, (size_t)(stop - value));
    *at = (size_t)(after - body);
    return rc;
}

enum si_err multipart_to_form(const char *content_type, const char *body, size_t len,
                              struct buf *out)
{
    char boundary[MULTIPART_BOUNDARY_MAX + 1];
    /* "\r\n--" boundary: the first one may start the body without its CRLF. */
    char delim[MULTIPART_BOUNDARY_MAX + 5] = "\r\n--";
    if (!content_type || !boundary_of(content_type, boundary))
        return SI_EINVAL;
    size_t blen = strlen(boundary), dlen = blen + 4;
    memcpy(delim + 4, boundary, blen + 1);
    if (!body)
        return SI_EINVAL;
    size_t at;
    if (len >= dlen - CRLF_LEN && memcmp(body, delim + CRLF_LEN, dlen - CRLF_LEN) == 0) {
        at = dlen - CRLF_LEN;
    } else {
        const char *first = memmem(body, len, delim, dlen); /* after a preamble */
        if (!first)
            return SI_EINVAL;
        at = (size_t)(first - body) + dlen;
    }
    if (len - at < CRLF_LEN || body[at] != '\r' || body[at + 1] != '\n')
        return SI_EINVAL; /* "--boundary--" at once (no field) or garbage */
    at += CRLF_LEN;
    bool last = false;
    for (int parts = 0; !last; parts++) {
        if (parts == MULTIPART_PARTS_MAX)
            return SI_ETOOBIG;
        enum si_err rc = one_part(body, len, delim, dlen, &at, out, &last);
        if (rc)
            return rc;
    }
    return buf_append(out, "", 0); /* an empty form still has a buffer */
}
