/* Unit tests of the invitee form token (api/invitee_flow.c): the token of a link, and the check
 * of a posted form body, which is not NUL-terminated and may hold any fields around it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api/invitee_flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct app app;
static struct token_ref link = {.kind = TOKEN_BY_SALT};

/* Checks text as a body of exactly its length (a heap copy without NUL, so ASan sees any read
 * past it). */
static bool check(const char *text)
{
    size_t len = strlen(text);
    char *body = malloc(len ? len : 1);
    memcpy(body, text, len);
    bool ok = invitee_form_token_check(&app, &link, len ? body : NULL, len);
    free(body);
    return ok;
}

static void test_form_token_check(void **state)
{
    (void)state;
    memset(app.secret, 0x5a, sizeof app.secret);
    for (size_t i = 0; i < sizeof link.key; i++)
        link.key[i] = (uint8_t)(i * 13 + 1);
    char t[FORM_TOKEN_LEN + 1], body[256];
    invitee_form_token(&app, &link, t);
    assert_int_equal(strlen(t), FORM_TOKEN_LEN);
    snprintf(body, sizeof body, "form_token=%s", t);
    assert_true(check(body));
    snprintf(body, sizeof body, "choice=accept&form_token=%s&x=1", t);
    assert_true(check(body));
    snprintf(body, sizeof body, "&&form_token=&form_token=%s", t);
    assert_true(check(body));
    /* Not the field: a longer or shorter value, a prefixed name, a changed character. */
    snprintf(body, sizeof body, "form_token=%sA", t);
    assert_false(check(body));
    snprintf(body, sizeof body, "form_token=%.*s", FORM_TOKEN_LEN - 1, t);
    assert_false(check(body));
    snprintf(body, sizeof body, "xform_token=%s", t);
    assert_false(check(body));
    snprintf(body, sizeof body, "form_token=%s", t);
    body[sizeof FORM_TOKEN_FIELD] ^= 1;
    assert_false(check(body));
    assert_false(check(""));
    /* Another link's salt has another token, and so has an ID of the same bytes (version 2). */
    struct token_ref other = link;
    other.key[0] ^= 1;
    char t2[FORM_TOKEN_LEN + 1];
    invitee_form_token(&app, &other, t2);
    assert_string_not_equal(t, t2);
    other = link;
    other.kind = TOKEN_BY_ID;
    invitee_form_token(&app, &other, t2);
    assert_string_not_equal(t, t2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_form_token_check)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
