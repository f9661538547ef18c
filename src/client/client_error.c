/* struct si_client_error: filling it from the client's own failures and from the error body of
 * docs/API.md §4, the way the Wix SDK reads the same answers, with the API key kept out of it. */
#include "client_int.h"

#include <stdio.h>
#include <string.h>

/* Status names for answers whose body names no code (the SDK's constantCase(statusText)). */
static const struct {
    int status;
    const char *code;
    const char *text;
} status_names[] = {
    {400, "BAD_REQUEST", "Bad Request"},
    {401, "UNAUTHORIZED", "Unauthorized"},
    {403, "FORBIDDEN", "Forbidden"},
    {404, "NOT_FOUND", "Not Found"},
    {405, "METHOD_NOT_ALLOWED", "Method Not Allowed"},
    {409, "CONFLICT", "Conflict"},
    {413, "PAYLOAD_TOO_LARGE", "Payload Too Large"},
    {415, "UNSUPPORTED_MEDIA_TYPE", "Unsupported Media Type"},
    {428, "PRECONDITION_REQUIRED", "Precondition Required"},
    {429, "TOO_MANY_REQUESTS", "Too Many Requests"},
    {500, "INTERNAL_SERVER_ERROR", "Internal Server Error"},
    {502, "BAD_GATEWAY", "Bad Gateway"},
    {503, "SERVICE_UNAVAILABLE", "Service Unavailable"},
    {504, "GATEWAY_TIMEOUT", "Gateway Timeout"},
};
#define STATUS_NAME_COUNT (sizeof status_names / sizeof status_names[0])

void client_copy_text(char *dst, size_t cap, const char *src)
{
    if (cap == 0)
        return;
    size_t n = src ? strlen(src) : 0;
    if (n >= cap) {
        n = cap - 1;
        /* Do not end inside a UTF-8 sequence: back off over continuation bytes. */
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

bool client_text_ok(const char *s, bool multiline)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned char b = *p;
        if (b < 0x80) {
            if ((b < 0x20 && !(multiline && (b == '\t' || b == '\r' || b == '\n'))) || b == 0x7f)
                return false;
            p++;
            continue;
        }
        /* Length from the lead byte; overlongs, surrogates and > U+10FFFF are refused. */
        int len = b >= 0xF0 && b <= 0xF4 ? 4 : b >= 0xE0 ? 3 : b >= 0xC2 && b <= 0xDF ? 2 : 0;
        if (len == 0 || (len == 3 && b > 0xEF))
            return false;
        for (int i = 1; i < len; i++)
            if ((p[i] & 0xC0) != 0x80)
                return false;
        if ((b == 0xE0 && p[1] < 0xA0) || (b == 0xED && p[1] > 0x9F) ||
            (b == 0xF0 && p[1] < 0x90) || (b == 0xF4 && p[1] > 0x8F))
            return false;
        p += len;
    }
    return true;
}

void client_error_clear(struct si_client_error *err)
{
    if (err)
        memset(err, 0, sizeof *err);
}

static const char *rc_code(enum si_client_rc rc)
{
    switch (rc) {
    case SI_CLIENT_E_ARG:
        return "INVALID_ARGUMENT";
    case SI_CLIENT_E_NOMEM:
        return "NO_MEMORY";
    case SI_CLIENT_E_TRANSPORT:
        return "TRANSPORT";
    case SI_CLIENT_E_RESPONSE:
        return "BAD_RESPONSE";
    case SI_CLIENT_OK:
    case SI_CLIENT_E_HTTP:
        break;
    }
    return "UNKNOWN";
}

enum si_client_rc client_fail(struct si_client_error *err, enum si_client_rc rc, const char *fmt,
                              ...)
{
    /* err is optional everywhere: a caller that only checks rc passes NULL. */
    if (!err)
        return rc;
    client_error_clear(err);
    client_copy_text(err->code, sizeof err->code, rc_code(rc));
    char text[SI_CLIENT_DESCRIPTION_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    client_copy_text(err->description, sizeof err->description, n >= 0 ? text : "");
    return rc;
}

/* A string member of o, or NULL. */
static const char *member_text(const json_t *o, const char *name)
{
    return json_string_value(json_object_get(o, name));
}

/* Reads the §4 body: applicationError {code, description, data.reason}, or validationError
 * (code INVALID_ARGUMENT, the first violation's field), as the Wix SDK's transformError does. */
static void read_error_body(const json_t *body, struct si_client_error *err)
{
    const json_t *details = json_object_get(body, "details");
    const json_t *app = json_object_get(details, "applicationError");
    const json_t *val = json_object_get(details, "validationError");
    const char *message = member_text(body, "message");
    if (json_is_object(app)) {
        client_copy_text(err->code, sizeof err->code, member_text(app, "code"));
        const char *d = member_text(app, "description");
        client_copy_text(err->description, sizeof err->description, d && d[0] ? d : message);
        client_copy_text(err->reason, sizeof err->reason,
                         member_text(json_object_get(app, "data"), "reason"));
    } else if (json_is_object(val)) {
        client_copy_text(err->code, sizeof err->code, "INVALID_ARGUMENT");
        client_copy_text(err->description, sizeof err->description, message);
        const json_t *first = json_array_get(json_object_get(val, "fieldViolations"), 0);
        client_copy_text(err->field, sizeof err->field, member_text(first, "field"));
    } else {
        client_copy_text(err->description, sizeof err->description, message);
    }
    /* Some gateways put the request ID in the body rather than the header. */
    if (!err->request_id[0]) {
        const char *rid = member_text(body, "requestId");
        client_copy_text(err->request_id, sizeof err->request_id,
                         rid ? rid : member_text(details, "requestId"));
    }
}

void client_error_from_answer(const struct si_client *c, int status, struct si_client_error *err)
{
    if (!err)
        return;
    client_error_clear(err);
    err->http_status = status;
    err->retry_after_s = c->answer.retry_after_s;
    client_copy_text(err->request_id, sizeof err->request_id, c->answer.request_id);
    /* The body is read only to describe the error: a body that is not JSON (a proxy's HTML
     * page) is not an error of its own, the status still says what happened. */
    json_t *body = c->answer.len ? json_loadb(c->answer.data, c->answer.len, 0, NULL) : NULL;
    if (json_is_object(body))
        read_error_body(body, err);
    json_decref(body);
    /* No code or description in the body (5xx answers, proxies): name the status. */
    for (size_t i = 0; i < STATUS_NAME_COUNT; i++) {
        if (status_names[i].status != status)
            continue;
        if (!err->code[0])
            client_copy_text(err->code, sizeof err->code, status_names[i].code);
        if (!err->description[0])
            client_copy_text(err->description, sizeof err->description, status_names[i].text);
    }
    if (!err->code[0])
        snprintf(err->code, sizeof err->code, "HTTP_%d", status);
    if (!err->description[0])
        snprintf(err->description, sizeof err->description, "HTTP status %d", status);
    client_error_scrub(c, err);
}

/* Stars out every occurrence of key in text. */
static void scrub_text(char *text, const char *key, size_t klen)
{
    char *hit;
    /* Starring in place keeps the length, so the rest of the text stays readable. */
    while ((hit = strstr(text, key)) != NULL)
        memset(hit, '*', klen);
}

void client_error_scrub(const struct si_client *c, struct si_client_error *err)
{
    if (!c || !c->api_key || !c->api_key[0] || !err)
        return;
    /* The key never goes into error text on our side, but a server or proxy could echo it. */
    size_t klen = strlen(c->api_key);
    scrub_text(err->code, c->api_key, klen);
    scrub_text(err->description, c->api_key, klen);
    scrub_text(err->request_id, c->api_key, klen);
    scrub_text(err->field, c->api_key, klen);
}
