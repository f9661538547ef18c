/* Webhook rules: Standard Webhooks signatures against the spec's published vector (recomputed
 * with Python's hmac module by tests/api/test_webhooks.py's receiver too), secrets, events,
 * the retry schedule, auto-disable, and the address classes of server-side request forgery. */
#include "core/webhook.h"
#include "core/webhook_addr.h"

#include "common/seal.h"
#include "fakes.h"

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static int setup(void **state)
{
    (void)state;
    return secure_init() ? -1 : 0;
}

/* The vector of the Standard Webhooks reference libraries; the expected value was computed
 * independently: python3 -c 'hmac.new(b64decode(secret), b"msg_...", sha256)'. */
static void test_sign_vector(void **state)
{
    (void)state;
    const char *secret = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", *body = "{\"test\": 2432232314}";
    uint8_t key[64];
    size_t n = 0;
    assert_int_equal(b64_decode(secret, strlen(secret), key, sizeof key, &n), SI_OK);
    char sig[WEBHOOK_SIGNATURE_MAX] = "";
    assert_int_equal(webhook_sign(sig, sizeof sig, key, n, "msg_p5jXN8AQM9LWM0D4loKWxJek",
                                  1614265330, body, strlen(body)),
                     SI_OK);
    assert_string_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    /* A second key during a rotation: appended after a space. */
    assert_int_equal(webhook_sign(sig, sizeof sig, key, n, "msg_p5jXN8AQM9LWM0D4loKWxJek",
                                  1614265330, body, strlen(body)),
                     SI_OK);
    assert_string_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= "
                             "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    /* A third does not fit the buffer and leaves it as it was. */
    char small[60] = "";
    assert_int_equal(webhook_sign(small, sizeof small, key, n, "m", 1, "", 0), SI_OK);
    assert_int_equal(webhook_sign(small, sizeof small, key, n, "m", 1, "", 0), SI_ETOOBIG);
    assert_int_equal(strlen(small), 47);
}

static void test_secret_round_trip(void **state)
{
    (void)state;
    struct fake_random fr;
    fake_random_init(&fr, 7);
    uint8_t key[WEBHOOK_KEY_LEN], back[WEBHOOK_KEY_LEN];
    char text[WEBHOOK_SECRET_TEXT_MAX];
    webhook_secret_new(&fr.source, key, text);
    assert_memory_equal(text, "whsec_", 6);
    assert_int_equal(strlen(text), 6 + 44);
    assert_int_equal(webhook_secret_parse(text, back), SI_OK);
    assert_memory_equal(key, back, sizeof key);
    assert_int_equal(webhook_secret_parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", back),
                     SI_EINVAL); /* 24 bytes: not one of ours */
    assert_int_equal(webhook_secret_parse(text + 1, back), SI_EINVAL);
}

static void test_sealed_secret(void **state)
{
    (void)state;
    uint8_t server[32] = {1}, other[32] = {2}, plain[8] = "abcdefg", sealed[8 + SEAL_OVERHEAD];
    uint8_t out[8];
    seal_close(sealed, plain, sizeof plain, server);
    assert_int_equal(seal_open(out, sealed, sizeof sealed, server), SI_OK);
    assert_memory_equal(out, plain, sizeof plain);
    assert_int_equal(seal_open(out, sealed, sizeof sealed, other), SI_EINVAL);
    sealed[30] ^= 1;
    assert_int_equal(seal_open(out, sealed, sizeof sealed, server), SI_EINVAL);
}

static void test_events(void **state)
{
    (void)state;
    enum webhook_event e;
    for (unsigned i = 0; i < WH_EVENT_COUNT; i++) {
        assert_true(webhook_event_parse(webhook_event_name((enum webhook_event)i), &e));
        assert_int_equal(e, i);
    }
    assert_false(webhook_event_parse("invite.Created", &e));
    assert_false(WEBHOOK_SUBSCRIBABLE & WEBHOOK_EVENT_BIT(WH_TEST));
    assert_true(WEBHOOK_SUBSCRIBABLE & WEBHOOK_EVENT_BIT(WH_CONTRIBUTOR_ROLE_CHANGED));

    struct invite_change ch = {.outbox = OUTBOX_CANCEL, .write = true};
    ch.inv.status = INVITE_DELETED;
    assert_int_equal(webhook_change_event(&ch), WH_INVITE_REVOKED);
    ch.inv.status = INVITE_PENDING;
    ch.outbox = OUTBOX_ENQUEUE;
    assert_int_equal(webhook_change_event(&ch), WH_INVITE_RESENT);
    ch.outbox = OUTBOX_KEEP;
    assert_int_equal(webhook_change_event(&ch), WH_INVITE_UPDATED);

    /* Contributor changes: roles and removal have an event, locations none. */
    assert_true(webhook_contributor_event(AUDIT_CONTRIBUTOR_ROLE_CHANGED, &e));
    assert_int_equal(e, WH_CONTRIBUTOR_ROLE_CHANGED);
    assert_true(webhook_contributor_event(AUDIT_CONTRIBUTOR_REMOVED, &e));
    assert_int_equal(e, WH_CONTRIBUTOR_REMOVED);
    assert_false(webhook_contributor_event(AUDIT_CONTRIBUTOR_LOCATIONS_CHANGED, &e));
    assert_false(webhook_contributor_event(AUDIT_INVITE_CREATED, &e));
}

/* Waits grow by four from the base, stay within +-20 %, cap at six hours, and stop three days
 * after the event; the whole schedule spans about three days. */
static void test_backoff(void **state)
{
    (void)state;
    si_ms base = WEBHOOK_RETRY_BASE_MS;
    assert_int_equal(webhook_next_due(1000, 1000, 1, 0, 0, 0), 1000 + base * 8 / 10);
    assert_int_equal(webhook_next_due(1000, 1000, 2, 0, 0, UINT32_MAX / 2), 1000 + 4 * base - 1);
    assert_true(webhook_next_due(0, 0, 3, 0, 0, UINT32_MAX) < 16 * base * 12 / 10);
    si_ms cap = WEBHOOK_RETRY_CAP_MS;
    assert_int_equal(webhook_next_due(10, 0, 40, 0, 0, 0), 10 + cap * 8 / 10);
    si_ms now = 0;
    int tries = 0;
    for (si_ms due; (due = webhook_next_due(now, 0, ++tries, 0, 0, UINT32_MAX / 2)) != 0;)
        now = due;
    assert_true(now > 2 * SI_MS_PER_DAY && now <= WEBHOOK_GIVE_UP_MS);
    assert_true(tries > 10 && tries < 30);
    /* A test's short settings. */
    assert_int_equal(webhook_next_due(0, 0, 1, 100, 1000, 0), 80);
    assert_int_equal(webhook_next_due(900, 0, 3, 100, 1000, 0), 0);
}

static void test_disable(void **state)
{
    (void)state;
    assert_false(webhook_should_disable(0, SI_MS_PER_DAY * 10, 0));
    assert_false(webhook_should_disable(1, SI_MS_PER_DAY, 0));
    assert_true(webhook_should_disable(1, SI_MS_PER_DAY + 1, 0));
    assert_true(webhook_should_disable(100, 600, 500));
    assert_false(webhook_should_disable(100, 599, 500));
}

static enum addr_class v4(const char *text)
{
    uint8_t a[4];
    assert_int_equal(inet_pton(AF_INET, text, a), 1);
    return addr_class_v4(a);
}

static enum addr_class v6(const char *text)
{
    uint8_t a[16];
    assert_int_equal(inet_pton(AF_INET6, text, a), 1);
    return addr_class_v6(a);
}

static void test_addr_v4(void **state)
{
    (void)state;
    assert_int_equal(v4("93.184.216.34"), ADDR_PUBLIC);
    assert_int_equal(v4("8.8.8.8"), ADDR_PUBLIC);
    assert_int_equal(v4("127.0.0.1"), ADDR_LOOPBACK);
    assert_int_equal(v4("127.255.0.9"), ADDR_LOOPBACK);
    assert_int_equal(v4("10.1.2.3"), ADDR_PRIVATE);
    assert_int_equal(v4("172.16.0.1"), ADDR_PRIVATE);
    assert_int_equal(v4("172.31.255.255"), ADDR_PRIVATE);
    assert_int_equal(v4("172.32.0.1"), ADDR_PUBLIC);
    assert_int_equal(v4("192.168.1.1"), ADDR_PRIVATE);
    assert_int_equal(v4("169.254.1.1"), ADDR_LINK_LOCAL);
    assert_int_equal(v4("169.254.169.254"), ADDR_METADATA);
    assert_int_equal(v4("0.0.0.0"), ADDR_UNSPECIFIED);
    assert_int_equal(v4("0.1.2.3"), ADDR_RESERVED);
    assert_int_equal(v4("224.0.0.1"), ADDR_MULTICAST);
    assert_int_equal(v4("239.255.255.250"), ADDR_MULTICAST);
    assert_int_equal(v4("100.64.0.1"), ADDR_CGNAT);
    assert_int_equal(v4("100.127.255.255"), ADDR_CGNAT);
    assert_int_equal(v4("100.128.0.1"), ADDR_PUBLIC);
    assert_int_equal(v4("255.255.255.255"), ADDR_RESERVED);
    assert_int_equal(v4("198.18.0.1"), ADDR_RESERVED);
}

static void test_addr_v6(void **state)
{
    (void)state;
    assert_int_equal(v6("2606:4700::1111"), ADDR_PUBLIC);
    assert_int_equal(v6("::1"), ADDR_LOOPBACK);
    assert_int_equal(v6("::"), ADDR_UNSPECIFIED);
    assert_int_equal(v6("fc00::1"), ADDR_PRIVATE);
    assert_int_equal(v6("fd12:3456::1"), ADDR_PRIVATE);
    assert_int_equal(v6("fe80::1"), ADDR_LINK_LOCAL);
    assert_int_equal(v6("febf::1"), ADDR_LINK_LOCAL);
    assert_int_equal(v6("fd00:ec2::254"), ADDR_METADATA);
    assert_int_equal(v6("ff02::1"), ADDR_MULTICAST);
    assert_int_equal(v6("2001:db8::1"), ADDR_RESERVED);
    /* IPv4 inside IPv6: judged by the IPv4 address. */
    assert_int_equal(v6("::ffff:127.0.0.1"), ADDR_LOOPBACK);
    assert_int_equal(v6("::ffff:10.0.0.1"), ADDR_PRIVATE);
    assert_int_equal(v6("::ffff:169.254.169.254"), ADDR_METADATA);
    assert_int_equal(v6("::ffff:8.8.8.8"), ADDR_PUBLIC);
    assert_int_equal(v6("64:ff9b::192.168.0.1"), ADDR_PRIVATE);
    assert_int_equal(v6("::127.0.0.1"), ADDR_LOOPBACK);

    assert_true(addr_class_allowed(ADDR_PUBLIC, false));
    assert_false(addr_class_allowed(ADDR_LOOPBACK, false));
    assert_true(addr_class_allowed(ADDR_LOOPBACK, true));
    assert_true(addr_class_allowed(ADDR_PRIVATE, true));
    assert_false(addr_class_allowed(ADDR_METADATA, true));
    assert_false(addr_class_allowed(ADDR_LINK_LOCAL, true));
}

static void test_url(void **state)
{
    (void)state;
    struct webhook_url u;
    assert_int_equal(webhook_url_parse("https://Hooks.Example.com/x?y=1", false, &u), SI_OK);
    assert_string_equal(u.host, "hooks.example.com");
    assert_int_equal(u.port, 443);
    assert_int_equal(webhook_url_parse("https://[::1]:8443/", false, &u), SI_OK);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 8443);
    assert_int_equal(webhook_url_parse("http://127.0.0.1:9/h", false, &u), SI_EINVAL);
    assert_int_equal(webhook_url_parse("http://127.0.0.1:9/h", true, &u), SI_OK);
    assert_false(u.https);
    const char *bad[] = {"ftp://x.example",          "https://",
                         "https://a@b.example/",     "https://x.example:0/",
                         "https://x.example:70000/", "https://x.example/a b",
                         "https://x.example/#f",     "https://[::1/",
                         "https://x.example:12a/",   "//x.example/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(webhook_url_parse(bad[i], true, &u), SI_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_vector),   cmocka_unit_test(test_secret_round_trip),
        cmocka_unit_test(test_sealed_secret), cmocka_unit_test(test_events),
        cmocka_unit_test(test_backoff),       cmocka_unit_test(test_disable),
        cmocka_unit_test(test_addr_v4),       cmocka_unit_test(test_addr_v6),
        cmocka_unit_test(test_url),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
