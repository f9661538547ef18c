/* The route table and the dispatch of one request: method and path matching, body checks,
 * authentication, tenancy and permission, then the handler. No libmicrohttpd types here, so
 * the whole pipeline is testable without a socket. */
#ifndef SI_HTTP_ROUTES_H
#define SI_HTTP_ROUTES_H

#include "request/request.h"

#include <stdbool.h>
#include <stddef.h>

#define JSON_DEPTH_MAX 32  /* nesting of arrays and objects a body may have */
#define LOG_PATH_MAX   256 /* bytes of a path written to the access log */

/* How a route is guarded. */
enum route_access {
    ROUTE_PUBLIC,  /* no key: health, metrics, the invitee page */
    ROUTE_ACCOUNT, /* a key of any account; no site */
    ROUTE_SITE,    /* a key, and a wix-site-id naming a site of the key's account */
};

#define ROUTE_INVITES_PREFIX (1u << 0) /* also served under "/invites" (docs/API.md §3) */

struct route {
    enum http_method method; /* HEAD is served by GET rows */
    const char *pattern;     /* "/site-invite/{}/resend": {} matches one non-empty segment */
    void (*handler)(struct request *req);
    unsigned flags; /* ROUTE_* bits */
    enum route_access access;
    unsigned permission; /* enum permission bits the key needs; 0 = none */
    const char *name;    /* static label for logs and metrics */
};

enum route_result { ROUTE_FOUND, ROUTE_NO_PATH, ROUTE_BAD_METHOD };

struct route_match {
    const struct route *route; /* FOUND: the row; BAD_METHOD: a row of the same path */
    const char *param;         /* the {} segment inside the path (not NUL-terminated), or NULL */
    size_t param_len;
    const char *allow; /* BAD_METHOD: static value of the Allow header, e.g. "GET, HEAD" */
};

/* Matches a URL-decoded path (no query string) against the table. A single trailing slash is
 * tolerated; literal segments win over {} (contributor-limit is not an invite ID). out points
 * into path and the static table. Pure; thread-safe. */
enum route_result routes_match(enum http_method method, const char *path, struct route_match *out);

/* Runs the dispatch of a request whose body is complete, in this order: 404/405, 413, 415,
 * JSON (400 INVALID_ARGUMENT, reason INVALID_JSON), authentication (401), wix-account-id (403),
 * site (403), permission (403), handler. Always leaves an answer in req (500 if the handler gave
 * none). Sets req->route_name, req->param (owned by req), req->json, req->principal and req->site.
 * Runs on a server thread; may block on the store. */
void routes_dispatch(struct request *req);

/* The route table itself, in match order, for tools that print it (the docs check compares
 * it with docs/API.md). *n receives the row count. Static storage; thread-safe. */
const struct route *routes_table(size_t *n);

/* The method enum for an HTTP method name; HTTP_OTHER for anything else. */
enum http_method routes_method(const char *name);

/* Static name of a method for logs. */
const char *routes_method_name(enum http_method m);

/* True when text nests arrays and objects at most max_depth deep (strings are skipped). jansson
 * has no depth limit, so bodies are scanned with this before parsing. */
bool routes_json_depth_ok(const char *text, size_t len, int max_depth);

/* Writes the form of path the access log may show into out (cap bytes, NUL-terminated):
 * everything after "/invite/" becomes "[redacted]" (it is a credential), bytes outside printable
 * ASCII are %-escaped so a path cannot forge log lines, and long paths are cut. */
void routes_log_path(const char *path, char *out, size_t cap);

#endif
