/* Server-side request forgery rules of webhook URLs, pure: which URLs are accepted and which
 * resolved addresses a delivery may connect to. Resolving names is the caller's (the API at
 * registration, the delivery worker before each connection); this only judges. */
#ifndef SI_CORE_WEBHOOK_ADDR_H
#define SI_CORE_WEBHOOK_ADDR_H

#include "common/err.h"
#include "common/resolve.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WEBHOOK_HOST_MAX 256 /* bytes of a URL's host, plus NUL */

/* X(enum, name for error texts and logs). ADDR_PUBLIC is the only class a delivery may reach
 * unless local development allows loopback and private networks. */
#define ADDR_CLASSES(X)                                                                            \
    X(ADDR_PUBLIC, "public")                                                                       \
    X(ADDR_LOOPBACK, "loopback")                                                                   \
    X(ADDR_PRIVATE, "private")                                                                     \
    X(ADDR_LINK_LOCAL, "link-local")                                                               \
    X(ADDR_METADATA, "cloud metadata")                                                             \
    X(ADDR_UNSPECIFIED, "unspecified")                                                             \
    X(ADDR_MULTICAST, "multicast")                                                                 \
    X(ADDR_CGNAT, "shared (CGNAT)")                                                                \
    X(ADDR_RESERVED, "reserved")

enum addr_class {
#define ADDR_ENUM(e, name) e,
    ADDR_CLASSES(ADDR_ENUM)
#undef ADDR_ENUM
};

/* The class of an IPv4 address (4 bytes, network order). */
enum addr_class addr_class_v4(const uint8_t a[4]);
/* The class of an IPv6 address (16 bytes); IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible and
 * NAT64 (64:ff9b::/96) forms are judged by the IPv4 address inside. */
enum addr_class addr_class_v6(const uint8_t a[16]);
/* "loopback", "private", ... */
const char *addr_class_name(enum addr_class c);

/* Whether a delivery may connect to an address of class c: only ADDR_PUBLIC, or also loopback
 * and private networks with allow_local (serve --allow-http-webhooks). Link-local, metadata,
 * unspecified and multicast stay refused either way. */
bool addr_class_allowed(enum addr_class c, bool allow_local);

/* Judges every address a name resolved to: true when all may be connected to (see
 * addr_class_allowed); otherwise false with *refused the class of the first that may not and
 * *which its index. n == 0 is refused as ADDR_UNSPECIFIED. */
bool webhook_addrs_allowed(const struct resolved_addr *a, size_t n, bool allow_local,
                           enum addr_class *refused, size_t *which);

/* A parsed endpoint URL. */
struct webhook_url {
    bool https;
    char host[WEBHOOK_HOST_MAX]; /* lowercased; an IPv6 literal without its brackets */
    int port;                    /* explicit or the scheme's default */
};

/* Parses an endpoint URL: https:// (or http:// with allow_http), a host, an optional port,
 * any path and query; no user info, no fragment, no spaces or control characters. SI_EINVAL
 * otherwise. */
enum si_err webhook_url_parse(const char *url, bool allow_http,
                              struct webhook_url *out) SI_MUST_USE;

#endif
