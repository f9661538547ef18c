/* Name resolution for outgoing connections that must be checked before they are made (webhook
 * deliveries): every address a name resolves to, as bytes and as text. */
#ifndef SI_COMMON_RESOLVE_H
#define SI_COMMON_RESOLVE_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RESOLVE_MAX      16 /* addresses kept per name */
#define RESOLVE_TEXT_MAX 46 /* INET6_ADDRSTRLEN */
#define RESOLVE_TEST_MAX 16 /* names in the test host map */
#define RESOLVE_TEST_ENV "SITEINVITES_TEST_HOSTS"

struct resolved_addr {
    bool v6;           /* IPv6, else IPv4 */
    uint8_t bytes[16]; /* 4 or 16 bytes in network order */
    char text[RESOLVE_TEXT_MAX];
};

/* Resolves host (a name or an IPv4/IPv6 literal) with getaddrinfo into out (at most cap,
 * duplicates dropped); *n gets how many. SI_ENOTFOUND when the name does not resolve. Blocks
 * on DNS; thread-safe. */
enum si_err resolve_host(const char *host, struct resolved_addr *out, size_t cap,
                         size_t *n) SI_MUST_USE;

/* TESTS ONLY: "name=addr,name=addr" (addr an IPv4 or IPv6 literal) answers resolve_host for
 * those names (case-insensitive) instead of DNS, so a test can make a name resolve to a public
 * address at registration and to loopback at delivery. serve installs it from
 * SITEINVITES_TEST_HOSTS only with --dev or SITEINVITES_TESTS=1 (docs/WEBHOOKS.md). Call once,
 * before any thread resolves; NULL or "" clears it. SI_EINVAL for a malformed map (nothing is
 * installed). */
enum si_err resolve_test_hosts_set(const char *map) SI_MUST_USE;

#endif
