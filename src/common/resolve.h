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

#endif
