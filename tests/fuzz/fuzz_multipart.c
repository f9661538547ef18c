/* Fuzzes the multipart/form-data reader (http/multipart.c) that turns a form with a file input
 * into the urlencoded body the console reads. The input is a boundary, FUZZ_SEP, then the body.
 * An accepted body must give a well-formed urlencoded form (name=value pairs joined by '&',
 * only unreserved characters and %XX escapes, every name non-empty), and the same fields
 * written again as a multipart body must read back to exactly the same form. */
#include "fuzz_support.h"

#include "common/buf.h"
#include "http/multipart.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORM_CAP (1u << 22)

static int unhex(char c)
{
    return isdigit((unsigned char)c) ? c - '0' : c - 'A' + 10;
}

/* Decodes one %XX-escaped run into out (bytes); checks every character on the way. */
static void decode(const char *p, size_t n, struct buf *out)
{
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '%') {
            fuzz_check(i + 2 < n && isxdigit((unsigned char)p[i + 1]) &&
                           isxdigit((unsigned char)p[i + 2]) && !islower((unsigned char)p[i + 1]) &&
                           !islower((unsigned char)p[i + 2]),
                       "an escape is % and two uppercase hex digits");
            char b = (char)(unhex(p[i + 1]) * 16 + unhex(p[i + 2]));
            buf_xappend(out, &b, 1);
            i += 2;
        } else {
            fuzz_check(isalnum((unsigned char)c) || strchr("-._~", c) != NULL,
                       "only unreserved characters go unescaped");
            buf_xappend(out, &c, 1);
        }
    }
}

/* Writes the fields of form again as a multipart body with boundary b into out. */
static void rewrite(const char *form, size_t len, const char *b, struct buf *out)
{
    for (size_t at = 0; at < len;) {
        const char *amp = memchr(form + at, '&', len - at);
        size_t end = amp ? (size_t)(amp - form) : len;
        const char *eq = memchr(form + at, '=', end - at);
        fuzz_check(eq != NULL, "every pair has '='");
        size_t nlen = (size_t)(eq - (form + at));
        fuzz_check(nlen > 0, "every name is non-empty");
        struct buf name, value;
        buf_init(&name, 0);
        buf_init(&value, 0);
        decode(form + at, nlen, &name);
        decode(eq + 1, end - nlen - 1 - at, &value);
        buf_xputs(out, "--");
        buf_xputs(out, b);
        buf_xputs(out, "\r\nContent-Disposition: form-data; name=\"");
        buf_xappend(out, name.data, name.len);
        buf_xputs(out, "\"\r\n\r\n");
        if (value.len)
            buf_xappend(out, value.data, value.len);
        buf_xputs(out, "\r\n");
        buf_cleanup(&name);
        buf_cleanup(&value);
        at = end + 1;
    }
    buf_xputs(out, "--");
    buf_xputs(out, b);
    buf_xputs(out, "--\r\n");
}

/* Whether b reads back whole as an unquoted boundary parameter: RFC 2046's characters without
 * the space (which would end it). Others are still fuzzed, without the round trip. */
static bool plain_boundary(const char *b)
{
    for (const char *p = b; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("'()+_,-./:=?", *p))
            return false;
    return *b != '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_reader r = {.p = data, .left = size};
    char *boundary = fuzz_string(&r, NULL);
    char ct[256];
    snprintf(ct, sizeof ct, "multipart/form-data; boundary=%s", boundary);
    struct buf form, again, form2;
    buf_init(&form, FORM_CAP);
    buf_init(&again, 0);
    buf_init(&form2, FORM_CAP);
    enum si_err rc = multipart_to_form(ct, (const char *)r.p, r.left, &form);
    if (!rc && form.len) {
        struct buf check;
        buf_init(&check, 0);
        rewrite(form.data, form.len, "-", &check); /* checks the form's shape */
        buf_cleanup(&check);
    }
    if (!rc && form.len && plain_boundary(boundary)) {
        fuzz_check(strlen(boundary) <= MULTIPART_BOUNDARY_MAX, "the boundary is within RFC 2046");
        rewrite(form.data, form.len, boundary, &again);
        rc = multipart_to_form(ct, again.data, again.len, &form2);
        fuzz_check(rc == SI_OK, "the same fields written again read back");
        fuzz_check(form2.len == form.len && memcmp(form2.data, form.data, form.len) == 0,
                   "the same fields give the same form");
    }
    buf_cleanup(&form);
    buf_cleanup(&again);
    buf_cleanup(&form2);
    free(boundary);
    return 0;
}
