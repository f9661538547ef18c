/* getaddrinfo into plain address records (see resolve.h). */
#include "resolve.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

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

enum si_err resolve_host(const char *host, struct resolved_addr *out, size_t cap, size_t *n)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    *n = 0;
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
