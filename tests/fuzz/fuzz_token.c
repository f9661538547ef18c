/* Fuzzes the accept-link tokens (core/token.c), the base64url codec under them
 * (common/secure.c) and the invitee form token check (api/invitee_flow.c). The first byte picks
 * the mode:
 *   0  any text as an accept token of either version: if it parses, formatting what it names
 *      gives the same text back (one text per token, so a link cannot be respelled);
 *   1  a real token, version 1 (a salt) or 2 (an invite ID) as one input byte says, made from
 *      16 input bytes, then edited by the rest (position, byte pairs): it parses, to the same
 *      version and bytes, exactly when the edits left it unchanged;
 *   2  any text as base64url: if it decodes, encoding gives the same text back (canonical);
 *   3  a form body: the check agrees with a plain re-reading of the body's fields, and always
 *      accepts once the right field is appended. */
#include "fuzz_support.h"

#include "api/invitee_flow.h"
#include "core/token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct app app; /* only the secret is read */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < SECURE_KEY_LEN; i++)
        app.secret[i] = (uint8_t)(i * 7 + 1);
    return 0;
}

static void any_token(struct fuzz_reader *r)
{
    char *text = fuzz_strndup(r->p, r->left);
    struct token_ref ref;
    if (token_parse_ref(app.secret, text, &ref) == SI_OK) {
        char again[TOKEN_TEXT_CAP];
        token_format_ref(app.secret, &ref, again);
        fuzz_check(strcmp(again, text) == 0, "a parsed token formats to its own text");
    }
    free(text);
}

/* A link's version from one byte, then its 16 bytes. */
static void ref_from(struct fuzz_reader *r, struct token_ref *ref)
{
    ref->kind = fuzz_byte(r) & 1 ? TOKEN_BY_ID : TOKEN_BY_SALT;
    for (size_t i = 0; i < TOKEN_KEY_LEN; i++)
        ref->key[i] = fuzz_byte(r);
}

static void edited_token(struct fuzz_reader *r)
{
    struct token_ref ref, back;
    char text[TOKEN_TEXT_CAP], edited[TOKEN_TEXT_CAP];
    ref_from(r, &ref);
    size_t len = token_format_ref(app.secret, &ref, text);
    memcpy(edited, text, sizeof text);
    while (r->left >= 2) {
        size_t at = fuzz_byte(r) % len;
        edited[at] = (char)fuzz_byte(r);
    }
    bool same = strlen(edited) == len && memcmp(edited, text, len) == 0;
    enum si_err rc = token_parse_ref(app.secret, edited, &back);
    fuzz_check((rc == SI_OK) == same, "a token parses exactly when unaltered");
    if (rc == SI_OK)
        fuzz_check(back.kind == ref.kind && memcmp(back.key, ref.key, TOKEN_KEY_LEN) == 0,
                   "a token gives back its version and bytes");
}

static void any_base64url(struct fuzz_reader *r)
{
    size_t len = r->left, n = 0;
    uint8_t *out = malloc(len + 1);
    char *again = malloc(len + 2);
    if (!out || !again)
        abort();
    if (b64url_decode((const char *)r->p, len, out, len + 1, &n) == SI_OK) {
        fuzz_check(b64url_len(n) == len, "decoded length matches the text");
        b64url_encode(again, out, n);
        fuzz_check(memcmp(again, r->p, len) == 0, "base64url decoding is canonical");
    }
    free(out);
    free(again);
}

/* The check, written the obvious way: some '&'-separated field is exactly form_token=<want>. */
static bool has_field(const char *body, size_t len, const char *want)
{
    char field[sizeof FORM_TOKEN_FIELD + FORM_TOKEN_LEN + 1];
    size_t flen = (size_t)snprintf(field, sizeof field, "%s=%s", FORM_TOKEN_FIELD, want);
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && body[i] != '&')
            continue;
        if (i - start == flen && memcmp(body + start, field, flen) == 0)
            return true;
        start = i + 1;
    }
    return false;
}

static void form_body(struct fuzz_reader *r)
{
    struct token_ref ref;
    char want[FORM_TOKEN_LEN + 1];
    ref_from(r, &ref);
    invitee_form_token(&app, &ref, want);
    size_t len = r->left;
    /* An exact-size copy, so ASan sees any read past the body. */
    char *body = malloc(len ? len : 1);
    if (!body)
        abort();
    if (len)
        memcpy(body, r->p, len);
    fuzz_check(invitee_form_token_check(&app, &ref, len ? body : NULL, len) ==
                   has_field(body, len, want),
               "the form token check reads the fields of the body");
    /* The same body with the right field appended is always accepted. */
    size_t extra = 1 + sizeof FORM_TOKEN_FIELD + FORM_TOKEN_LEN;
    char *more = malloc(len + extra + 1);
    if (!more)
        abort();
    if (len)
        memcpy(more, body, len);
    int m = snprintf(more + len, extra + 1, "&%s=%s", FORM_TOKEN_FIELD, want);
    fuzz_check(invitee_form_token_check(&app, &ref, more, len + (size_t)m),
               "a body with the right form token is accepted");
    free(more);
    free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_reader r = {data, size};
    switch (fuzz_byte(&r) % 4) {
    case 0:
        any_token(&r);
        break;
    case 1:
        edited_token(&r);
        break;
    case 2:
        any_base64url(&r);
        break;
    default:
        form_body(&r);
        break;
    }
    return 0;
}
