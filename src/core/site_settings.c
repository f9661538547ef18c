/* The rules of a site's settings: URL and domain checks, the allow-list match, the reminder due
 * time and the composed redirect. */
#include "core/site_settings.h"

#include <stdio.h>
#include <string.h>

#define HTTPS        "https://"
#define LABEL_MAX    63
#define WILDCARD     "*."
#define HEX_DIGITS   "0123456789ABCDEF"
#define ID_PARAM_MAX 40 /* bytes of an ID appended (GUIDs: 36) */

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool prefix_nocase(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++)
        if (ascii_lower(*s) != *prefix)
            return false;
    return true;
}

/* Copies a checked setting's text into a fixed member, truncating (the checks bound them). */
static void copy_setting(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memmove(dst, src, n);
    dst[n] = '\0';
}

void site_settings_apply(struct site_settings *s, const struct site_settings_patch *p)
{
    if (p->accept_redirect_url)
        copy_setting(s->accept_redirect_url, sizeof s->accept_redirect_url, p->accept_redirect_url);
    if (p->reminder_days >= 0)
        s->reminder_days = p->reminder_days;
    if (p->allowed_domains)
        copy_setting(s->allowed_domains, sizeof s->allowed_domains, p->allowed_domains);
}

bool site_settings_url_ok(const char *url, const char **why)
{
    size_t n = strlen(url);
    if (n == 0)
        return true;
    if (n > SITE_REDIRECT_URL_MAX) {
        *why = "must be at most 2000 bytes";
        return false;
    }
    if (!prefix_nocase(url, HTTPS)) {
        *why = "must be an https:// URL";
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= ' ' || c >= 0x7f) {
            *why = "must be printable ASCII without spaces (percent-encode the rest)";
            return false;
        }
    }
    const char *host = url + strlen(HTTPS);
    if (*host == '\0' || strchr("/?#", *host)) {
        *why = "must name a host";
        return false;
    }
    return true;
}

/* One label of a domain: 1..63 bytes of letters, digits, hyphens (not at either end) or bytes
 * of 0x80 and above. */
static bool label_ok(const char *p, size_t n)
{
    if (n == 0 || n > LABEL_MAX || p[0] == '-' || p[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && c != '-' && c < 0x80)
            return false;
    }
    return true;
}

bool site_settings_domain_ok(const char *pattern, size_t len, char *out, const char **why)
{
    size_t skip = len > 2 && memcmp(pattern, WILDCARD, 2) == 0 ? 2 : 0;
    const char *d = pattern + skip;
    size_t n = len - skip, labels = 0, start = 0;
    *why = "must be a domain such as example.com or *.example.com";
    if (n == 0 || n > SITE_DOMAIN_MAX || memchr(d, '\0', n))
        return false;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && d[i] != '.')
            continue;
        if (!label_ok(d + start, i - start))
            return false;
        labels++;
        start = i + 1;
    }
    if (labels < 2)
        return false;
    for (size_t i = 0; i < len; i++)
        out[i] = ascii_lower(pattern[i]);
    out[len] = '\0';
    return true;
}

/* Calls fn for each pattern of a stored list; stops early when fn returns true. */
static bool each_pattern(const char *list, bool (*fn)(const char *p, size_t n, const void *ctx),
                         const void *ctx)
{
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n && fn(p, n, ctx))
            return true;
        p += n + (comma ? 1 : 0);
    }
    return false;
}

static bool same_pattern(const char *p, size_t n, const void *ctx)
{
    const char *want = ctx;
    return strlen(want) == n && memcmp(p, want, n) == 0;
}

static bool count_pattern(const char *p, size_t n, const void *ctx)
{
    (void)p;
    (void)n;
    (*(size_t *)ctx)++;
    return false;
}

bool site_settings_domains_add(char list[SITE_DOMAINS_TEXT_MAX + 1], const char *pattern)
{
    if (each_pattern(list, same_pattern, pattern))
        return true;
    size_t count = 0, have = strlen(list), add = strlen(pattern);
    each_pattern(list, count_pattern, &count);
    if (count >= SITE_DOMAINS_MAX || have + (have ? 1 : 0) + add > SITE_DOMAINS_TEXT_MAX)
        return false;
    if (have)
        list[have++] = ',';
    memcpy(list + have, pattern, add + 1);
    return true;
}

/* The domain of the address being matched. */
struct match {
    const char *domain;
    size_t len;
};

static bool equal_nocase(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ascii_lower(a[i]) != ascii_lower(b[i]))
            return false;
    return true;
}

static bool pattern_matches(const char *p, size_t n, const void *ctx)
{
    const struct match *m = ctx;
    if (n > 2 && memcmp(p, WILDCARD, 2) == 0) {
        /* "*.a.com": a proper subdomain, so the domain ends with ".a.com" and is longer. */
        size_t tail = n - 1; /* ".a.com" */
        return m->len > tail && equal_nocase(m->domain + m->len - tail, p + 1, tail);
    }
    return m->len == n && equal_nocase(m->domain, p, n);
}

bool site_settings_email_allowed(const struct site_settings *s, const char *email)
{
    if (!s->allowed_domains[0])
        return true;
    const char *at = strrchr(email, '@');
    if (!at)
        return false;
    struct match m = {.domain = at + 1, .len = strlen(at + 1)};
    return each_pattern(s->allowed_domains, pattern_matches, &m);
}

si_ms site_settings_reminder_at(si_ms expires, int days)
{
    return expires - (si_ms)days * SI_MS_PER_DAY;
}

bool site_settings_reminder_due(const struct reminder_facts *f, si_ms now)
{
    if (f->days <= 0 || !f->pending || f->reminded != 0 || now >= f->expires)
        return false;
    si_ms at = site_settings_reminder_at(f->expires, f->days);
    return now >= at && f->last_sent < at;
}

/* Appends "&name=value" (or "?" first), value percent-encoded except unreserved characters. */
static void append_param(char *out, size_t *len, char sep, const char *name, const char *value)
{
    size_t n = *len;
    out[n++] = sep;
    size_t k = strlen(name);
    memcpy(out + n, name, k);
    n += k;
    out[n++] = '=';
    for (const unsigned char *v = (const unsigned char *)value; *v; v++) {
        bool plain = (*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') ||
                     (*v >= '0' && *v <= '9') || strchr("-._~", *v);
        if (plain) {
            out[n++] = (char)*v;
        } else {
            out[n++] = '%';
            out[n++] = HEX_DIGITS[*v >> 4];
            out[n++] = HEX_DIGITS[*v & 15];
        }
    }
    *len = n;
}

bool site_settings_redirect_compose(const char *url, const char *invite_id, const char *site_id,
                                    char out[SITE_REDIRECT_COMPOSED_MAX])
{
    out[0] = '\0';
    size_t total = strnlen(url, SITE_REDIRECT_URL_MAX + 1);
    if (total == 0 || total > SITE_REDIRECT_URL_MAX || strlen(invite_id) > ID_PARAM_MAX ||
        strlen(site_id) > ID_PARAM_MAX)
        return false;
    const char *hash = memchr(url, '#', total);
    size_t base = hash ? (size_t)(hash - url) : total;
    memcpy(out, url, base);
    size_t len = base;
    /* A query already there gets "&"; one that ends open ("?" or "&") keeps its separator. */
    const char *q = memchr(url, '?', base);
    bool open = q && (url[base - 1] == '?' || url[base - 1] == '&');
    char sep = !q ? '?' : open ? url[base - 1] : '&';
    if (open)
        len--; /* append_param writes that separator again */
    append_param(out, &len, sep, "inviteId", invite_id);
    append_param(out, &len, '&', "siteId", site_id);
    size_t frag = total - base;
    memcpy(out + len, url + base, frag);
    out[len + frag] = '\0';
    return true;
}
