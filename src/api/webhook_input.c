/* The body of the webhook endpoint calls and their JSON (see webhook_input.h). */
#include "webhook_input.h"

#include "api/validate.h"
#include "common/resolve.h"
#include "core/webhook_addr.h"

#include <string.h>

/* Refuses url into vs unless it parses and its host resolves to allowed addresses only. */
static bool check_url(const char *url, bool allow_http, struct violations *vs)
{
    struct webhook_url u;
    if (webhook_url_parse(url, allow_http, &u)) {
        violations_add(vs, "url", RULE_FORMAT, "Must be an %s URL without user info.",
                       allow_http ? "http:// or https://" : "https://");
        return false;
    }
    struct resolved_addr addrs[RESOLVE_MAX];
    size_t n = 0, which = 0;
    enum addr_class refused;
    if (resolve_host(u.host, addrs, RESOLVE_MAX, &n)) {
        violations_add(vs, "url", RULE_OTHER, "The host name does not resolve.");
        return false;
    }
    if (!webhook_addrs_allowed(addrs, n, allow_http, &refused, &which)) {
        violations_add(vs, "url", RULE_OTHER,
                       "The host resolves to a %s address (%s); only public addresses are "
                       "allowed.",
                       addr_class_name(refused), addrs[which].text);
        return false;
    }
    return true;
}

/* Reads events[] into *mask: known, subscribable names, at least one. */
static bool read_events(const json_t *v, unsigned *mask, struct violations *vs)
{
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 64) {
        violations_add(vs, "events", RULE_FORMAT, "Must be a non-empty array of event names.");
        return false;
    }
    size_t i;
    const json_t *e;
    *mask = 0;
    json_array_foreach(v, i, e)
    {
        enum webhook_event ev;
        if (!json_is_string(e) || !webhook_event_parse(json_string_value(e), &ev) ||
            !(WEBHOOK_SUBSCRIBABLE & WEBHOOK_EVENT_BIT(ev))) {
            char field[VIOLATION_FIELD_MAX];
            validate_field_name(field, "events[%zu]", i);
            violations_add(vs, field, RULE_INVALID_ENUM_VALUE, "Unknown event name.");
            return false;
        }
        *mask |= WEBHOOK_EVENT_BIT(ev);
    }
    return true;
}

static bool read_text(const json_t *v, const char *field, char *out, size_t cap,
                      struct violations *vs)
{
    size_t len = json_is_string(v) ? json_string_length(v) : 0;
    if (!json_is_string(v)) {
        validate_type_error(vs, field, "string");
        return false;
    }
    if (len >= cap || validate_has_control(json_string_value(v), len, NULL)) {
        violations_add(vs, field, len >= cap ? RULE_MAX_SIZE : RULE_FORMAT,
                       "Too long, or holds control characters.");
        return false;
    }
    memcpy(out, json_string_value(v), len + 1);
    return true;
}

bool webhook_input_read(const json_t *body, bool required, bool allow_http, struct webhook_row *w,
                        struct violations *vs)
{
    const json_t *url = json_object_get(body, "url"), *events = json_object_get(body, "events");
    const json_t *desc = json_object_get(body, "description");
    bool ok = true;
    if (required && !url)
        violations_add(vs, "url", RULE_REQUIRED_FIELD, "url is required.");
    if (required && !events)
        violations_add(vs, "events", RULE_REQUIRED_FIELD, "events is required.");
    ok = vs->n == 0;
    if (events)
        ok = read_events(events, &w->events, vs) && ok;
    if (desc)
        ok = read_text(desc, "description", w->description, sizeof w->description, vs) && ok;
    /* Last: it resolves a name, which costs a round trip; skip it when the body is wrong. */
    if (url && ok)
        ok = read_text(url, "url", w->url, sizeof w->url, vs) && check_url(w->url, allow_http, vs);
    return ok;
}

json_t *webhook_json(const struct webhook_row *w, const char *secret)
{
    char created[SI_TIME_TEXT_LEN], updated[SI_TIME_TEXT_LEN];
    json_t *o = json_object(), *events = json_array();
    for (unsigned e = 0; e < WH_EVENT_COUNT; e++)
        if (w->events & WEBHOOK_EVENT_BIT(e))
            json_array_append_new(events, json_string(webhook_event_name((enum webhook_event)e)));
    time_format(w->created, created);
    time_format(w->updated, updated);
    json_object_set_new(o, "id", json_string(w->id));
    json_object_set_new(o, "url", json_string(w->url));
    json_object_set_new(o, "events", events);
    if (w->description[0])
        json_object_set_new(o, "description", json_string(w->description));
    json_object_set_new(o, "enabled", json_boolean(w->enabled));
    if (w->disabled_reason[0])
        json_object_set_new(o, "disabledReason", json_string(w->disabled_reason));
    if (secret)
        json_object_set_new(o, "secret", json_string(secret));
    json_object_set_new(o, "dateCreated", json_string(created));
    json_object_set_new(o, "dateUpdated", json_string(updated));
    return o;
}
