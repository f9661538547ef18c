/* A site's settings over the API (issue 10, docs/SITE-SETTINGS.md): GET and PATCH
 * /invites/site-settings. The rules are core's (core/site_settings.h); this file reads the body,
 * answers violations, writes through the store and renders the settings. */
#include "api/api.h"

#include "api/audit.h"
#include "api/validate.h"
#include "core/site_settings.h"

#include <string.h>

#define F_URL     "acceptRedirectUrl"
#define F_DAYS    "reminderDaysBeforeExpiry"
#define F_DOMAINS "allowedEmailDomains"

/* The settings as the API shows them: unset members omitted (§3), the list always present
 * ([] = every domain). */
static json_t *settings_json(const struct site_settings *s)
{
    json_t *o = json_object(), *list = json_array();
    if (s->accept_redirect_url[0])
        json_object_set_new(o, F_URL, json_string(s->accept_redirect_url));
    if (s->reminder_days > 0)
        json_object_set_new(o, F_DAYS, json_integer(s->reminder_days));
    for (const char *p = s->allowed_domains; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        json_array_append_new(list, json_stringn(p, n));
        p += n + (comma ? 1 : 0);
    }
    json_object_set_new(o, F_DOMAINS, list);
    return json_pack("{s:o}", "siteSettings", o);
}

void api_site_settings_get(struct request *req)
{
    request_reply_json(req, 200, settings_json(site_settings_of(&req->site)));
}

/* What a PATCH body asks for; the strings point into the request's JSON or into domains. */
struct settings_edit {
    struct site_settings_patch patch;
    char domains[SITE_DOMAINS_TEXT_MAX + 1];
};

static void read_url(const json_t *v, struct settings_edit *e, struct violations *vs)
{
    const char *why = NULL;
    if (json_is_null(v)) {
        e->patch.accept_redirect_url = "";
        return;
    }
    if (!json_is_string(v)) {
        validate_type_error(vs, F_URL, "a string");
        return;
    }
    const char *url = json_string_value(v);
    if (json_string_length(v) > SITE_REDIRECT_URL_MAX)
        violations_add_bound(vs, F_URL, RULE_MAX_SIZE, SITE_REDIRECT_URL_MAX, "at most %d bytes",
                             SITE_REDIRECT_URL_MAX);
    else if (strlen(url) != json_string_length(v) || !site_settings_url_ok(url, &why))
        violations_add(vs, F_URL, RULE_FORMAT, "%s", why ? why : "must not contain NUL");
    else
        e->patch.accept_redirect_url = url;
}

static void read_days(const json_t *v, struct settings_edit *e, struct violations *vs)
{
    if (json_is_null(v)) {
        e->patch.reminder_days = 0;
        return;
    }
    if (!json_is_integer(v)) {
        validate_type_error(vs, F_DAYS, "an integer (0 = off)");
        return;
    }
    json_int_t d = json_integer_value(v);
    if (d < 0)
        violations_add_bound(vs, F_DAYS, RULE_MIN, 0, "at least 0 (0 = off)");
    else if (d > SITE_REMINDER_DAYS_MAX)
        violations_add_bound(vs, F_DAYS, RULE_MAX, SITE_REMINDER_DAYS_MAX, "at most %d days",
                             SITE_REMINDER_DAYS_MAX);
    else
        e->patch.reminder_days = (int)d;
}

static void read_domains(const json_t *v, struct settings_edit *e, struct violations *vs)
{
    int before = vs->n;
    e->domains[0] = '\0';
    if (!json_is_null(v) && !json_is_array(v)) {
        validate_type_error(vs, F_DOMAINS, "an array of domains");
        return;
    }
    if (json_array_size(v) > SITE_DOMAINS_MAX) {
        violations_add_bound(vs, F_DOMAINS, RULE_MAX_SIZE, SITE_DOMAINS_MAX, "at most %d domains",
                             SITE_DOMAINS_MAX);
        return;
    }
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *d = json_array_get(v, i);
        char field[VIOLATION_FIELD_MAX], norm[SITE_DOMAIN_MAX + 3];
        const char *why = "must be a string";
        validate_field_name(field, F_DOMAINS "[%zu]", i);
        if (!json_is_string(d) ||
            !site_settings_domain_ok(json_string_value(d), json_string_length(d), norm, &why))
            violations_add(vs, field, RULE_FORMAT, "%s", why);
        else if (!site_settings_domains_add(e->domains, norm))
            violations_add_bound(vs, F_DOMAINS, RULE_MAX_SIZE, SITE_DOMAINS_TEXT_MAX,
                                 "at most %d bytes of domains in all", SITE_DOMAINS_TEXT_MAX);
    }
    if (vs->n == before)
        e->patch.allowed_domains = e->domains;
}

/* The body's settings: top-level members, or the same inside {"siteSettings": {...}}. */
static void read_edit(const json_t *body, struct settings_edit *e, struct violations *vs)
{
    const json_t *inner = body ? json_object_get(body, "siteSettings") : NULL;
    const json_t *src = json_is_object(inner) ? inner : body;
    const json_t *url = src ? json_object_get(src, F_URL) : NULL;
    const json_t *days = src ? json_object_get(src, F_DAYS) : NULL;
    const json_t *domains = src ? json_object_get(src, F_DOMAINS) : NULL;
    e->patch = (struct site_settings_patch){.reminder_days = -1};
    if (!url && !days && !domains) {
        violations_add(vs, F_URL, RULE_REQUIRED_FIELD,
                       "give at least one of " F_URL ", " F_DAYS " or " F_DOMAINS);
        return;
    }
    if (url)
        read_url(url, e, vs);
    if (days)
        read_days(days, e, vs);
    if (domains)
        read_domains(domains, e, vs);
}

void api_site_settings_update(struct request *req)
{
    struct violations vs = {.n = 0};
    struct settings_edit e;
    const json_t *body = validate_body_object(req->json, &vs);
    if (!vs.n)
        read_edit(body, &e, &vs);
    if (vs.n) {
        request_fail_validation(req, &vs);
        return;
    }
    struct site after = {.settings = NULL};
    struct audit_actor actor;
    enum si_err rc =
        store_site_settings_set(req->app->store, req->site.id, &e.patch, clock_now(req->app->clock),
                                api_audit_actor(req, &actor));
    /* Read back: the answer shows what is stored, with any concurrent PATCH of another setting. */
    if (!rc)
        rc = store_site_get(req->app->store, req->site.id, &after);
    if (rc == SI_ENOTFOUND)
        request_fail(req, P_PERMISSION_DENIED, NULL); /* the site went away under the key */
    else if (rc)
        request_fail_err(req, rc);
    else
        request_reply_json(req, 200, settings_json(site_settings_of(&after)));
    site_cleanup(&after);
}
