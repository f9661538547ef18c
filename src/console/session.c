/* The console's sign-in and sessions: one-time links (only their hash stored), the session
 * cookie (HttpOnly, SameSite=Lax; Secure and __Host- on https), the idle and absolute limits
 * (core/console.h), the CSRF token bound to the session, and sign-out. */
#include "console/console_int.h"

#include "api/invitee_flow.h"
#include "common/log.h"
#include "common/secure.h"
#include "common/xalloc.h"
#include "core/console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define COOKIE_PLAIN  "si_console"
#define COOKIE_SECURE "__Host-si_console" /* https: Secure, Path=/, no Domain */
#define CSRF_LABEL    "siteinvites console-csrf v1"
#define COOKIE_MAX    256

/* The session cookie's name: __Host- whenever the base URL is https. */
static bool base_is_https(const struct app *app)
{
    return strncasecmp(app->base_url, "https://", 8) == 0;
}

static const char *cookie_name(const struct app *app)
{
    return base_is_https(app) ? COOKIE_SECURE : COOKIE_PLAIN;
}

/* BLAKE2b-256 of a token's bytes: what the store keeps. */
static void token_hash(const uint8_t token[CONSOLE_TOKEN_BYTES], uint8_t out[32])
{
    secure_hash(out, token, CONSOLE_TOKEN_BYTES, NULL, 0);
}

/* Decodes a token's text (43 base64url characters) and hashes it; false for anything else. */
static bool token_text_hash(const char *text, size_t len, uint8_t out[32])
{
    uint8_t raw[CONSOLE_TOKEN_BYTES];
    size_t n = 0;
    if (len != CONSOLE_TOKEN_TEXT || b64url_decode(text, len, raw, sizeof raw, &n) != SI_OK ||
        n != sizeof raw)
        return false;
    token_hash(raw, out);
    secure_wipe(raw, sizeof raw);
    return true;
}

void console_token_new(const struct random_source *rng, char text[CONSOLE_TOKEN_TEXT + 1],
                       uint8_t hash[32])
{
    uint8_t raw[CONSOLE_TOKEN_BYTES];
    random_fill(rng, raw, sizeof raw);
    b64url_encode(text, raw, sizeof raw);
    token_hash(raw, hash);
    secure_wipe(raw, sizeof raw);
}

enum si_err console_link_new(struct store *s, const struct random_source *rng,
                             const char *account_id, si_ms now, int64_t ttl_s, const char *base_url,
                             char *url, size_t cap)
{
    char text[CONSOLE_TOKEN_TEXT + 1];
    uint8_t hash[32];
    console_token_new(rng, text, hash);
    enum si_err rc = store_console_link_create(s, hash, account_id, now, now + ttl_s * 1000);
    if (!rc)
        snprintf(url, cap, "%s/console/signin/%s", base_url, text);
    secure_wipe(text, sizeof text);
    return rc;
}

/* The session's CSRF token: base64url(BLAKE2b(server secret; label NUL csrf_salt)[0..16)). */
static void csrf_token(const struct app *app, const struct console_session *sess,
                       char out[CONSOLE_CSRF_LEN + 1])
{
    uint8_t msg[sizeof CSRF_LABEL + CONSOLE_CSRF_SALT_LEN], mac[SECURE_HASH_LEN];
    memcpy(msg, CSRF_LABEL, sizeof CSRF_LABEL); /* the NUL separates the parts */
    memcpy(msg + sizeof CSRF_LABEL, sess->csrf_salt, CONSOLE_CSRF_SALT_LEN);
    secure_hash(mac, msg, sizeof msg, app->secret, SECURE_KEY_LEN);
    b64url_encode(out, mac, CONSOLE_CSRF_BYTES);
    secure_wipe(mac, sizeof mac);
}

/* The value of our cookie in the Cookie header ("a=1; si_console=..."), or false. */
static bool cookie_value(const struct request *req, const char **val, size_t *len)
{
    const char *name = cookie_name(req->app), *p = req->cookie;
    size_t nlen = strlen(name);
    while (p && *p) {
        while (*p == ' ' || *p == ';')
            p++;
        size_t n = strcspn(p, ";");
        if (n > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            *val = p + nlen + 1;
            *len = n - nlen - 1;
            while (*len && (*val)[*len - 1] == ' ')
                (*len)--;
            return true;
        }
        p += n;
    }
    return false;
}

/* Sets (value non-NULL) or clears the session cookie on the answer. No Max-Age on a new
 * session: the server decides when it ends, and a closed browser forgets it. */
static void cookie_set(struct request *req, const char *value)
{
    char c[COOKIE_MAX];
    bool https = base_is_https(req->app);
    snprintf(c, sizeof c, "%s=%s; Path=/; HttpOnly; SameSite=Lax%s%s", cookie_name(req->app),
             value ? value : "", https ? "; Secure" : "", value ? "" : "; Max-Age=0");
    free(req->set_cookie);
    req->set_cookie = xstrdup(c);
    secure_wipe(c, sizeof c);
}

static int64_t idle_s(const struct app *app)
{
    return app->console_idle_s > 0 ? app->console_idle_s : CONSOLE_IDLE_DEFAULT_S;
}

static int64_t life_s(const struct app *app)
{
    return app->console_life_s > 0 ? app->console_life_s : CONSOLE_LIFE_DEFAULT_S;
}

/* The header bar: the account and the Sign out form. */
static void nav_render(const struct request *req, struct console_ctx *cx)
{
    char action[CONSOLE_PATH_MAX];
    snprintf(action, sizeof action, "%s/console/signout", page_base_path(req->app->base_url));
    struct console_values v = {.v = {NULL}};
    v.v[CV_ACTION] = action;
    v.v[CV_CSRF] = cx->csrf;
    v.v[CV_ACCOUNT_NAME] = cx->account.name;
    v.v[CV_ACCOUNT_EMAIL] = cx->account.email;
    char home[CONSOLE_PATH_MAX];
    snprintf(home, sizeof home, "%s/console", page_base_path(req->app->base_url));
    v.v[CV_HREF] = home;
    console_fragment_text(cx->lang, CP_NAV, &v, cx->nav, sizeof cx->nav);
}

bool console_session_load(struct request *req, struct console_ctx *cx)
{
    const char *val = NULL;
    size_t len = 0;
    memset(cx, 0, sizeof *cx);
    cx->lang = console_lang(req);
    if (!cookie_value(req, &val, &len) || !token_text_hash(val, len, cx->hash)) {
        console_redirect(req, "/console/signin");
        return false;
    }
    si_ms now = clock_now(req->app->clock);
    enum si_err rc = store_console_session_get(req->app->store, cx->hash, &cx->sess);
    if (rc == SI_OK && !console_session_alive(cx->sess.created, cx->sess.last_seen, now,
                                              idle_s(req->app), life_s(req->app))) {
        /* Over: forget it here too, so the cookie is worth nothing from now on. */
        if (store_console_session_end(req->app->store, cx->hash) != SI_OK)
            log_warn("request %s: console: a dead session was not deleted", req->request_id);
        rc = SI_ENOTFOUND;
    }
    if (rc == SI_OK && console_session_needs_touch(cx->sess.last_seen, now))
        rc = store_console_session_touch(req->app->store, cx->hash, now);
    if (rc == SI_OK)
        rc = store_account_get(req->app->store, cx->sess.account_id, &cx->account);
    if (rc == SI_ENOTFOUND) {
        cookie_set(req, NULL);
        console_redirect(req, "/console/signin");
        return false;
    }
    if (rc) {
        console_fail(req, cx->lang, "session", rc);
        return false;
    }
    csrf_token(req->app, &cx->sess, cx->csrf);
    nav_render(req, cx);
    return true;
}

void console_ctx_cleanup(struct console_ctx *cx)
{
    secure_wipe(cx->csrf, sizeof cx->csrf);
    secure_wipe(cx->hash, sizeof cx->hash);
}

/* Percent-decodes src[0..n) into out (cap bytes); false on a bad escape, a NUL, or no room. */
static bool form_decode(const char *src, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)src[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            char hex[3] = {0};
            char *end = NULL;
            if (i + 2 >= n)
                return false;
            hex[0] = src[i + 1];
            hex[1] = src[i + 2];
            c = (int)strtol(hex, &end, 16);
            if (end != hex + 2)
                return false;
            i += 2;
        }
        if (c == 0 || o + 1 >= cap)
            return false;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return true;
}

bool console_form_next(const struct request *req, const char *name, size_t *pos, char *out,
                       size_t cap)
{
    const char *body = req->body.data;
    size_t len = body ? req->body.len : 0, nlen = strlen(name);
    for (size_t at = *pos; at < len;) {
        const char *amp = memchr(body + at, '&', len - at);
        size_t end = amp ? (size_t)(amp - body) : len, n = end - at;
        *pos = end + 1;
        if (n > nlen && memcmp(body + at, name, nlen) == 0 && body[at + nlen] == '=')
            return form_decode(body + at + nlen + 1, n - nlen - 1, out, cap);
        at = end + 1;
    }
    *pos = len;
    return false;
}

bool console_form_field(const struct request *req, const char *name, char *out, size_t cap)
{
    size_t pos = 0;
    return console_form_next(req, name, &pos, out, cap);
}

/* The 403 page of a refused post. */
static void refuse(struct request *req, const char *lang, const char *why)
{
    struct console_values v = {.v = {NULL}};
    log_warn("request %s: console form refused: %s", req->request_id, why);
    console_reply(req, 403, lang, CP_FORBIDDEN, &v);
}

bool console_form_ok(struct request *req, const struct console_ctx *cx)
{
    char got[CONSOLE_CSRF_LEN + 2];
    if (!page_same_origin(req)) {
        refuse(req, cx->lang, "cross-site");
        return false;
    }
    bool ok = console_form_field(req, "csrf", got, sizeof got) && strlen(got) == CONSOLE_CSRF_LEN &&
              secure_equal(got, cx->csrf, CONSOLE_CSRF_LEN);
    secure_wipe(got, sizeof got);
    if (!ok)
        refuse(req, cx->lang, "without the session's CSRF token");
    return ok;
}

void console_signin_page(struct request *req)
{
    char action[CONSOLE_PATH_MAX];
    snprintf(action, sizeof action, "%s/console/signin", page_base_path(req->app->base_url));
    struct console_values v = {.v = {NULL}};
    v.v[CV_ACTION] = action;
    console_reply(req, 200, console_lang(req), CP_SIGNIN, &v);
}

/* The page for a link that cannot sign in, by why. */
static void reply_link_state(struct request *req, const char *lang, enum console_link_state st)
{
    struct console_values v = {.v = {NULL}};
    if (st == CONSOLE_LINK_USED)
        console_reply(req, 410, lang, CP_SIGNIN_USED, &v);
    else if (st == CONSOLE_LINK_EXPIRED)
        console_reply(req, 410, lang, CP_SIGNIN_EXPIRED, &v);
    else
        console_reply(req, 404, lang, CP_SIGNIN_INVALID, &v);
}

void console_signin_confirm(struct request *req)
{
    const char *lang = console_lang(req);
    uint8_t hash[32];
    enum console_link_state st = CONSOLE_LINK_UNKNOWN;
    /* A GET changes nothing: mail scanners that follow links must not burn them. */
    if (token_text_hash(req->param, strlen(req->param), hash)) {
        enum si_err rc =
            store_console_link_state(req->app->store, hash, clock_now(req->app->clock), &st);
        if (rc) {
            console_fail(req, lang, "sign-in link", rc);
            return;
        }
    }
    if (st != CONSOLE_LINK_OK) {
        reply_link_state(req, lang, st);
        return;
    }
    char action[CONSOLE_PATH_MAX];
    snprintf(action, sizeof action, "%s/console/signin/%s", page_base_path(req->app->base_url),
             req->param);
    struct console_values v = {.v = {NULL}};
    v.v[CV_ACTION] = action;
    console_reply(req, 200, lang, CP_SIGNIN_CONFIRM, &v);
    secure_wipe(action, sizeof action);
}

void console_signin_post(struct request *req)
{
    const char *lang = console_lang(req);
    uint8_t link_hash[32], session_hash[32];
    char cookie[CONSOLE_TOKEN_TEXT + 1];
    enum console_link_state st = CONSOLE_LINK_UNKNOWN;
    struct console_session sess;
    memset(&sess, 0, sizeof sess);
    /* The link is the credential; a cross-site post could sign a victim in as someone else. */
    if (!page_same_origin(req)) {
        refuse(req, lang, "cross-site sign-in");
        return;
    }
    if (!token_text_hash(req->param, strlen(req->param), link_hash)) {
        reply_link_state(req, lang, CONSOLE_LINK_UNKNOWN);
        return;
    }
    console_token_new(req->app->rng, cookie, session_hash);
    random_fill(req->app->rng, sess.csrf_salt, sizeof sess.csrf_salt);
    enum si_err rc = store_console_signin(req->app->store, link_hash, clock_now(req->app->clock),
                                          session_hash, &sess, &st);
    if (rc)
        console_fail(req, lang, "sign-in", rc);
    else if (st != CONSOLE_LINK_OK)
        reply_link_state(req, lang, st);
    else {
        log_info("request %s: console: account %s signed in", req->request_id, sess.account_id);
        cookie_set(req, cookie);
        console_redirect(req, "/console");
    }
    secure_wipe(cookie, sizeof cookie);
    secure_wipe(&sess, sizeof sess);
}

void console_signout(struct request *req)
{
    struct console_ctx cx;
    if (!console_session_load(req, &cx))
        return;
    if (console_form_ok(req, &cx)) {
        enum si_err rc = store_console_session_end(req->app->store, cx.hash);
        if (rc) {
            console_fail(req, cx.lang, "sign-out", rc);
        } else {
            struct console_values v = {.v = {NULL}};
            cookie_set(req, NULL);
            console_reply(req, 200, cx.lang, CP_SIGNED_OUT, &v);
        }
    }
    console_ctx_cleanup(&cx);
}
