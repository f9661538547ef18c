/* The audit log's API: a request's actor, and the site's log read a page at a time. */
#include "api/audit.h"

#include "common/jsonw.h"
#include "store/store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CURSOR_TEXT_MAX 48 /* "<time ms>.<id>": two 64-bit decimals and a dot, with room */

const struct audit_actor *api_audit_actor(const struct request *req, struct audit_actor *out)
{
    memset(out, 0, sizeof *out);
    if (req->principal.key_id[0]) {
        out->type = AUDIT_ACTOR_API_KEY;
        memcpy(out->id, req->principal.key_id, sizeof out->id);
        memcpy(out->name, req->principal.key_name, sizeof out->name);
    }
    memcpy(out->request_id, req->request_id, sizeof out->request_id);
    return out;
}

/* A non-negative decimal without sign, spaces or trailing text; false otherwise. */
static bool parse_i64(const char *s, const char *end_at, int64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return false;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || (end_at ? end != end_at : *end != '\0'))
        return false;
    *out = v;
    return true;
}

/* The cursor of the next page: the last entry's time and ID. The filters are not in it: a
 * client sends the same ones again (docs/AUDIT.md), and every page is the site's anyway. */
static bool parse_cursor(const char *text, struct audit_query *q)
{
    const char *dot = strchr(text, '.');
    int64_t t, id;
    if (!dot || !parse_i64(text, dot, &t) || !parse_i64(dot + 1, NULL, &id))
        return false;
    q->has_after = true;
    q->after_time = t;
    q->after_id = id;
    return true;
}

static void parse_time(const char *text, const char *field, si_ms *out, struct violations *vs)
{
    if (text && time_parse(text, out) != SI_OK)
        violations_add(vs, field, RULE_FORMAT, "must be an RFC 3339 date-time");
}

void api_audit_query_parse(const struct request *req, struct audit_query *q, struct violations *vs)
{
    const char *v = request_arg(req, "limit");
    int64_t limit = AUDIT_LIMIT_DEFAULT;
    if (v && !parse_i64(v, NULL, &limit))
        violations_add(vs, "limit", RULE_FORMAT, "must be a whole number");
    else if (limit < 1)
        violations_add_bound(vs, "limit", RULE_MIN, 1, "must be at least 1");
    else if (limit > AUDIT_LIMIT_MAX)
        violations_add_bound(vs, "limit", RULE_MAX, AUDIT_LIMIT_MAX, "must be at most %d",
                             AUDIT_LIMIT_MAX);
    q->limit = (int)limit;
    if ((v = request_arg(req, "action")) && !(q->has_action = audit_action_parse(v, &q->action)))
        violations_add(vs, "action", RULE_INVALID_ENUM_VALUE, "is not an audit action");
    v = request_arg(req, "actorType");
    if (v && !(q->has_actor_type = audit_actor_type_parse(v, &q->actor_type)))
        violations_add(vs, "actorType", RULE_INVALID_ENUM_VALUE,
                       "must be apiKey, invitee, system or admin");
    if ((v = request_arg(req, "actorId")) && (!*v || strlen(v) >= SI_ID_LEN))
        violations_add(vs, "actorId", RULE_FORMAT, "must be a key or account ID");
    else
        q->actor_id = v;
    parse_time(request_arg(req, "since"), "since", &q->since, vs);
    parse_time(request_arg(req, "until"), "until", &q->until, vs);
    if ((v = request_arg(req, "cursor")) && !parse_cursor(v, q))
        violations_add(vs, "cursor", RULE_FORMAT, "is not a cursor of this log");
}

/* {"entries":[...],"pagingMetadata":{...}} written straight as text. */
static char *page_json(const struct audit_page *page, size_t *len)
{
    struct buf b;
    buf_init(&b, 0);
    buf_xputs(&b, "{\"entries\":[");
    for (size_t i = 0; i < page->n; i++) {
        if (i)
            buf_xputs(&b, ",");
        audit_entry_json(&page->items[i], &b);
    }
    buf_xputs(&b, "],\"pagingMetadata\":{");
    jw_member_int(&b, "count", (int64_t)page->n);
    buf_xputs(&b, ",\"cursors\":{");
    if (page->has_next && page->n > 0) {
        const struct audit_entry *last = &page->items[page->n - 1];
        char next[CURSOR_TEXT_MAX];
        snprintf(next, sizeof next, "%" PRId64 ".%" PRId64, last->time, last->id);
        jw_member_str(&b, "next", next);
    }
    buf_xputs(&b, page->has_next ? "},\"hasNext\":true}}" : "},\"hasNext\":false}}");
    *len = b.len;
    return buf_take(&b);
}

void api_audit_log(struct request *req)
{
    struct violations vs = {.n = 0};
    struct audit_query q = {.site_id = req->site.id, .account_id = req->site.account_id};
    api_audit_query_parse(req, &q, &vs);
    if (vs.n) {
        request_fail_validation(req, &vs);
        return;
    }
    struct audit_page page;
    enum si_err rc = store_audit_list(req->app->store, &q, &page);
    if (rc) {
        request_fail_err(req, rc);
        return;
    }
    size_t len = 0;
    char *text = page_json(&page, &len);
    audit_page_cleanup(&page);
    request_reply_json_text(req, 200, text, len);
}
