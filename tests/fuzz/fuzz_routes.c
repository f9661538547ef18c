/* Fuzzes the router's reading of what a client sends before any handler runs (http/routes.c):
 * the URL path matched against the route table (routes_match), the method name (routes_method)
 * and the JSON depth scan that guards jansson (routes_json_depth_ok). The first byte picks:
 *   0  a path with a method: a match is a row of that method (HEAD served by GET) whose pattern
 *      the path spells, its {} segment a non-empty piece of the path without '/'; a 405 names
 *      the allowed methods; the answer does not depend on one trailing slash;
 *   1  a path built from a row's pattern with the input as its {} segment: it finds that row,
 *      or a literal row that wins over {} by design (then with that row's methods);
 *   2  a method name: the enum it gives names it back (case as written by routes_method_name);
 *   3  a body: one the depth scan lets through parses into a value nested within the cap. */
#include "fuzz_support.h"

#include "http/routes.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_FUZZ 4096

/* Whether path spells pattern, {} standing for one non-empty segment; *param gets it. */
static bool spells(const char *pattern, const char *path, size_t len, const char **param,
                   size_t *plen)
{
    const char *p = path, *end = path + len;
    *param = NULL;
    *plen = 0;
    for (const char *q = pattern; *q;) {
        if (q[0] == '{' && q[1] == '}') {
            const char *slash = memchr(p, '/', (size_t)(end - p));
            const char *stop = slash ? slash : end;
            if (stop == p)
                return false;
            *param = p;
            *plen = (size_t)(stop - p);
            p = stop;
            q += 2;
        } else if (p < end && *p == *q) {
            p++;
            q++;
        } else {
            return false;
        }
    }
    return p == end;
}

/* The path without its prefix ("/invites", "/roles-management") when the row is served there. */
static bool matches_row(const struct route *r, const char *path, const struct route_match *m)
{
    size_t len = strlen(path);
    if (len > 1 && path[len - 1] == '/')
        len--;
    const char *param;
    size_t plen;
    if (spells(r->pattern, path, len, &param, &plen))
        return !param || (param == m->param && plen == m->param_len);
    const struct route_prefix *pre = routes_prefixes();
    for (int i = 0; i < ROUTE_PREFIX_COUNT; i++) {
        size_t n = strlen(pre[i].text);
        if ((r->flags & pre[i].flag) && len > n && strncmp(path, pre[i].text, n) == 0 &&
            spells(r->pattern, path + n, len - n, &param, &plen))
            return !param || (param == m->param && plen == m->param_len);
    }
    return false;
}

static void one_path(enum http_method method, const char *path)
{
    struct route_match m;
    enum route_result rc = routes_match(method, path, &m);
    if (rc == ROUTE_FOUND) {
        enum http_method want = method == HTTP_HEAD ? HTTP_GET : method;
        fuzz_check(m.route && m.route->method == want, "a match has the request's method");
        fuzz_check(matches_row(m.route, path, &m), "a match is a row the path spells");
        fuzz_check(!m.param || (m.param_len && !memchr(m.param, '/', m.param_len)),
                   "a {} segment is one non-empty segment");
    } else if (rc == ROUTE_BAD_METHOD) {
        fuzz_check(m.route && m.allow && m.allow[0], "a 405 names the allowed methods");
    }
    /* One trailing slash more or less changes nothing (unless the path is "/" itself). */
    size_t len = strlen(path);
    if (len && len + 2 < PATH_MAX_FUZZ && path[len - 1] != '/') {
        char with[PATH_MAX_FUZZ];
        memcpy(with, path, len);
        memcpy(with + len, "/", 2);
        struct route_match m2;
        enum route_result rc2 = routes_match(method, with, &m2);
        fuzz_check(rc2 == rc && m2.route == m.route, "one trailing slash changes nothing");
    }
}

static void from_pattern(struct fuzz_reader *r)
{
    size_t n = 0;
    const struct route *table = routes_table(&n);
    const struct route *row = &table[fuzz_byte(r) % n];
    char *seg = fuzz_strndup(r->p, r->left);
    const char *hole = strstr(row->pattern, "{}");
    if (!hole || !seg[0] || strchr(seg, '/') || strlen(seg) > 1000) {
        free(seg);
        return;
    }
    char path[PATH_MAX_FUZZ];
    snprintf(path, sizeof path, "%.*s%s%s", (int)(hole - row->pattern), row->pattern, seg,
             hole + 2);
    struct route_match m;
    enum route_result rc = routes_match(row->method, path, &m);
    /* A literal row wins over {} ("contributor-limit" is not an invite ID), with its own
     * methods: GET /site-invite/query is a 405, not the invite "query". */
    bool literal = m.route && !strstr(m.route->pattern, "{}");
    fuzz_check(rc != ROUTE_NO_PATH, "a path spelled from a row is found");
    fuzz_check(literal || (rc == ROUTE_FOUND && strcmp(m.route->pattern, row->pattern) == 0),
               "a spelled path finds its row, or a literal one");
    one_path(row->method, path);
    free(seg);
}

/* The nesting of a parsed value: 1 for an empty array or object. */
static int depth_of(const json_t *v)
{
    int deepest = 0;
    if (json_is_array(v)) {
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e)
        {
            int d = depth_of(e);
            deepest = d > deepest ? d : deepest;
        }
        return deepest + 1;
    }
    if (json_is_object(v)) {
        const char *k;
        const json_t *e;
        json_object_foreach((json_t *)v, k, e)
        {
            int d = depth_of(e);
            deepest = d > deepest ? d : deepest;
        }
        return deepest + 1;
    }
    return 0;
}

/* A body the scan lets through parses (or not) into a value nested no deeper than the cap:
 * the scan is what keeps jansson's recursion bounded. */
static void body_depth(const char *text, size_t len)
{
    if (!routes_json_depth_ok(text, len, JSON_DEPTH_MAX))
        return;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
    if (j)
        fuzz_check(depth_of(j) <= JSON_DEPTH_MAX,
                   "a body that passed the scan nests within the cap");
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_reader r = {data, size};
    unsigned mode = fuzz_byte(&r) % 4;
    if (mode == 0) {
        enum http_method method = (enum http_method)(fuzz_byte(&r) % (HTTP_OTHER + 1));
        char *path = fuzz_strndup(r.p, r.left < PATH_MAX_FUZZ - 2 ? r.left : PATH_MAX_FUZZ - 2);
        one_path(method, path);
        free(path);
    } else if (mode == 1) {
        from_pattern(&r);
    } else if (mode == 2) {
        char *name = fuzz_strndup(r.p, r.left);
        enum http_method m = routes_method(name);
        if (m != HTTP_OTHER)
            fuzz_check(strcmp(routes_method_name(m), name) == 0, "a method names itself back");
        free(name);
    } else {
        body_depth((const char *)r.p, r.left);
    }
    return 0;
}
