/* getaddrinfo into plain address records (see resolve.h). */
#include "resolve.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define TEST_NAME_MAX 254

struct test_host {
    char name[TEST_NAME_MAX];
    struct resolved_addr addr;
};

/* The test host map: written once at start-up (resolve_test_hosts_set), then only read. */
static struct test_host test_hosts[RESOLVE_TEST_MAX];
static size_t test_hosts_n;

/* Copies one result into a; false for a family we do not connect to. */
static bool take(const struct addrinfo *ai, struct resolved_addr *a)
{
    memset(a, 0, sizeof *a);
    a->v6 = ai->ai_family == AF_INET6;
    if (ai->ai_family == AF_INET)
        memcpy(a->bytes, &((const struct sockaddr_in *)ai->ai_addr)->sin_addr, 4);
    else if (ai->ai_family == AF_INET6)
        memcpy(a->bytes, &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, 16);
    else
        return false;
    return inet_ntop(ai->ai_family, a->bytes, a->text, sizeof a->text) != NULL;
}

static bool seen(const struct resolved_addr *out, size_t n, const struct resolved_addr *a)
{
    for (size_t i = 0; i < n; i++)
        if (out[i].v6 == a->v6 && memcmp(out[i].bytes, a->bytes, 16) == 0)
            return true;
    return false;
}

/* An IPv4 or IPv6 literal into a; false for anything else. */
static bool literal(const char *text, struct resolved_addr *a)
{
    memset(a, 0, sizeof *a);
    if (inet_pton(AF_INET, text, a->bytes) != 1) {
        if (inet_pton(AF_INET6, text, a->bytes) != 1)
            return false;
        a->v6 = true;
    }
    return inet_ntop(a->v6 ? AF_INET6 : AF_INET, a->bytes, a->text, sizeof a->text) != NULL;
}

/* One "name=addr" of length len into h. */
static bool parse_entry(const char *p, size_t len, struct test_host *h)
{
    const char *eq = memchr(p, '=', len);
    char addr[RESOLVE_TEXT_MAX];
    size_t name_len = eq ? (size_t)(eq - p) : 0, addr_len = eq ? len - name_len - 1 : 0;
    if (!name_len || name_len >= sizeof h->name || !addr_len || addr_len >= sizeof addr)
        return false;
    memcpy(h->name, p, name_len);
    h->name[name_len] = '\0';
    memcpy(addr, eq + 1, addr_len);
    addr[addr_len] = '\0';
    return literal(addr, &h->addr);
}

enum si_err resolve_test_hosts_set(const char *map)
{
    struct test_host parsed[RESOLVE_TEST_MAX];
    size_t n = 0;
    for (const char *p = map; p && *p;) {
        size_t len = strcspn(p, ",");
        if (n == RESOLVE_TEST_MAX || !parse_entry(p, len, &parsed[n]))
            return SI_EINVAL;
        n++;
        p += len + (p[len] == ',');
    }
    memcpy(test_hosts, parsed, n * sizeof parsed[0]);
    test_hosts_n = n;
    return SI_OK;
}

enum si_err resolve_host(const char *host, struct resolved_addr *out, size_t cap, size_t *n)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    *n = 0;
    for (size_t i = 0; i < test_hosts_n; i++) {
        if (cap && strcasecmp(test_hosts[i].name, host) == 0) {
            out[0] = test_hosts[i].addr;
            *n = 1;
            return SI_OK;
        }
    }
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return SI_ENOTFOUND;
    for (const struct addrinfo *ai = res; ai && *n < cap; ai = ai->ai_next) {
        struct resolved_addr a;
        if (take(ai, &a) && !seen(out, *n, &a))
            out[(*n)++] = a;
    }
    freeaddrinfo(res);
    return *n ? SI_OK : SI_ENOTFOUND;
}
