/* Address classes of IPv4 and IPv6 and the endpoint URL grammar (see webhook_addr.h). */
#include "webhook_addr.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const class_names[] = {
#define ADDR_NAME(e, name) name,
    ADDR_CLASSES(ADDR_NAME)
#undef ADDR_NAME
};

const char *addr_class_name(enum addr_class c)
{
    return class_names[c];
}

enum addr_class addr_class_v4(const uint8_t a[4])
{
    if (a[0] == 169 && a[1] == 254 && a[2] == 169 && a[3] == 254)
        return ADDR_METADATA; /* AWS, GCP, Azure, OpenStack instance metadata */
    if (a[0] == 0)
        return a[1] | a[2] | a[3] ? ADDR_RESERVED : ADDR_UNSPECIFIED; /* "this network" */
    if (a[0] == 127)
        return ADDR_LOOPBACK;
    if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xF0) == 16) || (a[0] == 192 && a[1] == 168))
        return ADDR_PRIVATE; /* RFC 1918 */
    if (a[0] == 169 && a[1] == 254)
        return ADDR_LINK_LOCAL;
    if (a[0] == 100 && (a[1] & 0xC0) == 64)
        return ADDR_CGNAT; /* 100.64.0.0/10, RFC 6598 */
    if (a[0] >= 224 && a[0] <= 239)
        return ADDR_MULTICAST;
    /* 240/4 (and the broadcast address in it), 192.0.0/24 (IETF protocol assignments),
     * 198.18/15 (benchmarking): nothing a public receiver lives on. */
    if (a[0] >= 240 || (a[0] == 192 && a[1] == 0 && a[2] == 0) ||
        (a[0] == 198 && (a[1] & 0xFE) == 18))
        return ADDR_RESERVED;
    return ADDR_PUBLIC;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

enum addr_class addr_class_v6(const uint8_t a[16])
{
    static const uint8_t metadata[16] = {0xfd, 0, 0x0e, 0xc2, 0, 0, 0,    0,
                                         0,    0, 0,    0,    0, 0, 0x02, 0x54};
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    if (memcmp(a, metadata, 16) == 0)
        return ADDR_METADATA; /* fd00:ec2::254, AWS over IPv6 */
    if (all_zero(a, 15))
        return a[15] == 1 ? ADDR_LOOPBACK : a[15] == 0 ? ADDR_UNSPECIFIED : ADDR_RESERVED;
    /* The IPv4 address inside a mapped (::ffff:0:0/96), compatible (::/96) or NAT64 form
     * reaches that IPv4 host: judge it as such, so ::ffff:127.0.0.1 is loopback. */
    if ((all_zero(a, 10) && a[10] == 0xff && a[11] == 0xff) || all_zero(a, 12) ||
        memcmp(a, nat64, 12) == 0)
        return addr_class_v4(a + 12);
    if (a[0] == 0xff)
        return ADDR_MULTICAST;
    if (a[0] == 0xfe && (a[1] & 0xC0) == 0x80)
        return ADDR_LINK_LOCAL; /* fe80::/10 */
    if ((a[0] & 0xFE) == 0xfc)
        return ADDR_PRIVATE; /* fc00::/7, unique local */
    /* Only global unicast (2000::/3) is public; the rest is unassigned or special. */
    if ((a[0] & 0xE0) != 0x20)
        return ADDR_RESERVED;
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8)
        return ADDR_RESERVED; /* 2001:db8::/32, documentation */
    return ADDR_PUBLIC;
}

bool addr_class_allowed(enum addr_class c, bool allow_local)
{
    return c == ADDR_PUBLIC || (allow_local && (c == ADDR_LOOPBACK || c == ADDR_PRIVATE));
}

bool webhook_addrs_allowed(const struct resolved_addr *a, size_t n, bool allow_local,
                           enum addr_class *refused, size_t *which)
{
    *refused = ADDR_UNSPECIFIED;
    *which = 0;
    /* ANY refused address refuses the name: a resolver may hand out the bad one next time. */
    for (size_t i = 0; i < n; i++) {
        enum addr_class c = a[i].v6 ? addr_class_v6(a[i].bytes) : addr_class_v4(a[i].bytes);
        if (!addr_class_allowed(c, allow_local)) {
            *refused = c;
            *which = i;
            return false;
        }
    }
    return n > 0;
}

/* The length of the scheme prefix url starts with and whether it is https; 0 when neither. */
static size_t scheme(const char *url, bool allow_http, bool *https)
{
    if (strncasecmp(url, "https://", 8) == 0) {
        *https = true;
        return 8;
    }
    *https = false;
    return allow_http && strncasecmp(url, "http://", 7) == 0 ? 7 : 0;
}

/* Reads ":port" at p (up to end); sets *port. false when malformed or out of range. */
static bool parse_port(const char *p, const char *end, int *port)
{
    if (p == end)
        return true;
    if (*p != ':' || end - p < 2 || end - p > 6)
        return false;
    long v = 0;
    for (const char *q = p + 1; q < end; q++) {
        if (!isdigit((unsigned char)*q))
            return false;
        v = v * 10 + (*q - '0');
    }
    if (v < 1 || v > 65535)
        return false;
    *port = (int)v;
    return true;
}

/* Copies the host of authority [p, end) lowercased into out; p moves past it. */
static bool parse_host(const char **p, const char *end, struct webhook_url *out)
{
    const char *s = *p, *e;
    if (*s == '[') {
        e = memchr(s, ']', (size_t)(end - s));
        if (!e)
            return false;
        s++;
        *p = e + 1;
    } else {
        e = memchr(s, ':', (size_t)(end - s));
        if (!e)
            e = end;
        *p = e;
    }
    size_t n = (size_t)(e - s);
    if (n == 0 || n >= sizeof out->host)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!isalnum(ch) && ch != '.' && ch != '-' && ch != ':' && ch != '_')
            return false;
        out->host[i] = (char)tolower(ch);
    }
    out->host[n] = '\0';
    return true;
}

enum si_err webhook_url_parse(const char *url, bool allow_http, struct webhook_url *out)
{
    memset(out, 0, sizeof *out);
    size_t len = strlen(url);
    if (len >= 2048)
        return SI_EINVAL;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f || url[i] == '#')
            return SI_EINVAL;
    size_t skip = scheme(url, allow_http, &out->https);
    if (!skip)
        return SI_EINVAL;
    const char *auth = url + skip;
    const char *end = auth + strcspn(auth, "/?");
    if (memchr(auth, '@', (size_t)(end - auth)))
        return SI_EINVAL; /* user info: "https://good.example@evil" misleads readers */
    const char *p = auth;
    out->port = out->https ? 443 : 80;
    if (!parse_host(&p, end, out) || !parse_port(p, end, &out->port))
        return SI_EINVAL;
    return SI_OK;
}
