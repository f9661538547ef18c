/* A site's settings rules: redirect URL checks, domain patterns and the allow-list match, the
 * reminder due time at fixed times, and the composed redirect. */
#include "core/site_settings.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define DAY     SI_MS_PER_DAY
#define EXPIRES ((si_ms)1800000000000)
#define GUID_A  "0a1b2c3d-0000-4000-8000-000000000001"
#define GUID_B  "0a1b2c3d-0000-4000-8000-000000000002"

static void test_url_rules(void **state)
{
    (void)state;
    const char *why = NULL;
    assert_true(site_settings_url_ok("", &why));
    assert_true(site_settings_url_ok("https://app.example.com/welcome?x=1#top", &why));
    assert_true(site_settings_url_ok("HTTPS://Example.com", &why));
    assert_false(site_settings_url_ok("http://example.com/", &why));
    assert_string_equal(why, "must be an https:// URL");
    assert_false(site_settings_url_ok("javascript:alert(1)", &why));
    assert_false(site_settings_url_ok("https://", &why));
    assert_false(site_settings_url_ok("https:///path", &why));
    assert_false(site_settings_url_ok("https://a.com/x y", &why));
    assert_false(site_settings_url_ok("https://a.com/\n", &why));
    assert_false(site_settings_url_ok("https://caf\xc3\xa9.com/", &why));
    char longer[SITE_REDIRECT_URL_MAX + 2];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    memcpy(longer, "https://", 8);
    assert_false(site_settings_url_ok(longer, &why));
    longer[SITE_REDIRECT_URL_MAX] = '\0'; /* exactly the limit */
    assert_true(site_settings_url_ok(longer, &why));
}

static bool domain(const char *p, char *out)
{
    const char *why;
    return site_settings_domain_ok(p, strlen(p), out, &why);
}

static void test_domain_patterns(void **state)
{
    (void)state;
    char out[SITE_DOMAIN_MAX + 3];
    assert_true(domain("Example.COM", out));
    assert_string_equal(out, "example.com");
    assert_true(domain("*.Corp.example.com", out));
    assert_string_equal(out, "*.corp.example.com");
    assert_true(domain("b\xc3\xbc\x63her.de", out)); /* an IDN stays as written */
    assert_true(domain("xn--bcher-kva.de", out));
    assert_false(domain("", out));
    assert_false(domain("*", out));
    assert_false(domain("*.", out));
    assert_false(domain("com", out));
    assert_false(domain("*.com", out));
    assert_false(domain("a..com", out));
    assert_false(domain(".a.com", out));
    assert_false(domain("-a.com", out));
    assert_false(domain("a-.com", out));
    assert_false(domain("a_b.com", out));
    assert_false(domain("a.com.", out));
    assert_false(domain("**.a.com", out));
    assert_false(domain("a.*.com", out));
    assert_false(domain("user@a.com", out));
}

static void test_domains_list_add(void **state)
{
    (void)state;
    char list[SITE_DOMAINS_TEXT_MAX + 1] = "";
    assert_true(site_settings_domains_add(list, "a.com"));
    assert_true(site_settings_domains_add(list, "*.b.com"));
    assert_true(site_settings_domains_add(list, "a.com")); /* a repeat is kept once */
    assert_string_equal(list, "a.com,*.b.com");
    list[0] = '\0';
    char p[32];
    for (int i = 0; i < SITE_DOMAINS_MAX; i++) {
        snprintf(p, sizeof p, "d%d.com", i);
        assert_true(site_settings_domains_add(list, p));
    }
    assert_false(site_settings_domains_add(list, "one-too-many.com"));
    assert_null(strstr(list, "one-too-many"));
}

static void test_allow_list_matching(void **state)
{
    (void)state;
    struct site_settings s;
    memset(&s, 0, sizeof s);
    assert_true(site_settings_email_allowed(&s, "anyone@anywhere.org")); /* empty: everything */
    snprintf(s.allowed_domains, sizeof s.allowed_domains, "%s", "a.com,*.b.com");
    assert_true(site_settings_email_allowed(&s, "x@a.com"));
    assert_true(site_settings_email_allowed(&s, "x@A.Com"));
    assert_false(site_settings_email_allowed(&s, "x@sub.a.com")); /* exact means exact */
    assert_false(site_settings_email_allowed(&s, "x@b.com"));     /* subdomains only */
    assert_true(site_settings_email_allowed(&s, "x@eu.b.com"));
    assert_true(site_settings_email_allowed(&s, "x@deep.eu.B.COM"));
    assert_false(site_settings_email_allowed(&s, "x@notb.com"));
    assert_false(site_settings_email_allowed(&s, "x@a.com.evil.org"));
    assert_false(site_settings_email_allowed(&s, "x@eva.com"));
    /* The domain is what follows the last @ (a quoted local part may hold one). */
    assert_false(site_settings_email_allowed(&s, "\"x@a.com\"@evil.org"));
}

static struct reminder_facts facts(void)
{
    return (struct reminder_facts){.pending = true,
                                   .expires = EXPIRES,
                                   .last_sent = EXPIRES - 30 * DAY,
                                   .reminded = 0,
                                   .days = 3};
}

static void test_reminder_due_time(void **state)
{
    (void)state;
    struct reminder_facts f = facts();
    assert_int_equal(site_settings_reminder_at(EXPIRES, 3), EXPIRES - 3 * DAY);
    assert_false(site_settings_reminder_due(&f, EXPIRES - 3 * DAY - 1));
    assert_true(site_settings_reminder_due(&f, EXPIRES - 3 * DAY));
    assert_true(site_settings_reminder_due(&f, EXPIRES - 1));
    assert_false(site_settings_reminder_due(&f, EXPIRES)); /* expired: never */
    f.days = 0;
    assert_false(site_settings_reminder_due(&f, EXPIRES - DAY)); /* off */
}

static void test_reminder_once_and_only_pending(void **state)
{
    (void)state;
    struct reminder_facts f = facts();
    f.reminded = EXPIRES - 2 * DAY;
    assert_false(site_settings_reminder_due(&f, EXPIRES - DAY)); /* once */
    f = facts();
    f.pending = false; /* revoked, declined or accepted */
    assert_false(site_settings_reminder_due(&f, EXPIRES - DAY));
    f = facts();
    f.last_sent = EXPIRES - 2 * DAY; /* resent inside the window: already reminded */
    assert_false(site_settings_reminder_due(&f, EXPIRES - DAY));
    f.last_sent = EXPIRES - 3 * DAY - 1;
    assert_true(site_settings_reminder_due(&f, EXPIRES - DAY));
}

static void compose(const char *url, const char *want)
{
    char out[SITE_REDIRECT_COMPOSED_MAX];
    assert_true(site_settings_redirect_compose(url, GUID_A, GUID_B, out));
    assert_string_equal(out, want);
}

static void test_redirect_compose(void **state)
{
    (void)state;
    compose("https://a.com", "https://a.com?inviteId=" GUID_A "&siteId=" GUID_B);
    compose("https://a.com/w?x=1", "https://a.com/w?x=1&inviteId=" GUID_A "&siteId=" GUID_B);
    compose("https://a.com/w?", "https://a.com/w?inviteId=" GUID_A "&siteId=" GUID_B);
    compose("https://a.com/w?x=1&", "https://a.com/w?x=1&inviteId=" GUID_A "&siteId=" GUID_B);
    compose("https://a.com/w#done", "https://a.com/w?inviteId=" GUID_A "&siteId=" GUID_B "#done");
    compose("https://a.com/w?x=1#f?g",
            "https://a.com/w?x=1&inviteId=" GUID_A "&siteId=" GUID_B "#f?g");
    char out[SITE_REDIRECT_COMPOSED_MAX];
    assert_true(site_settings_redirect_compose("https://a.com", "a b&c", "s/1", out));
    assert_string_equal(out, "https://a.com?inviteId=a%20b%26c&siteId=s%2F1");
    assert_false(site_settings_redirect_compose("", GUID_A, GUID_B, out));
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_rules),
        cmocka_unit_test(test_domain_patterns),
        cmocka_unit_test(test_domains_list_add),
        cmocka_unit_test(test_allow_list_matching),
        cmocka_unit_test(test_reminder_due_time),
        cmocka_unit_test(test_reminder_once_and_only_pending),
        cmocka_unit_test(test_redirect_compose),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
