/* The site settings calls of the C client (issue 10): GET and PATCH /invites/site-settings, a
 * siteinvites addition the Wix API does not have. The server judges the values; the client only
 * refuses what cannot be sent. */
#include "client_int.h"

#include <stdlib.h>
#include <string.h>

#define SETTINGS_PATH "/invites/site-settings"

static enum si_client_rc check_site(struct si_client *c, struct si_client_error *err)
{
    client_error_clear(err);
    if (!c)
        return client_fail(err, SI_CLIENT_E_ARG, "client is NULL");
    if (!c->has_site)
        return client_fail(err, SI_CLIENT_E_ARG, "site_id is required for site settings");
    return SI_CLIENT_OK;
}

void si_site_settings_free(struct si_site_settings *s)
{
    if (!s)
        return;
    free(s->accept_redirect_url);
    for (size_t i = 0; i < s->allowed_email_domain_count; i++)
        free(s->allowed_email_domains[i]);
    free(s->allowed_email_domains);
    free(s);
}

/* A copy of an optional string member; false when it has the wrong type or memory ran out. */
static bool take_text(const json_t *o, const char *key, char **out)
{
    const json_t *v = json_object_get(o, key);
    if (!v)
        return true;
    if (!json_is_string(v))
        return false;
    *out = strdup(json_string_value(v));
    return *out != NULL;
}

static bool take_domains(const json_t *o, struct si_site_settings *s)
{
    const json_t *list = json_object_get(o, "allowedEmailDomains");
    if (!list)
        return true;
    if (!json_is_array(list))
        return false;
    size_t n = json_array_size(list);
    s->allowed_email_domains = calloc(n ? n : 1, sizeof *s->allowed_email_domains);
    if (!s->allowed_email_domains)
        return false;
    for (size_t i = 0; i < n; i++) {
        const json_t *d = json_array_get(list, i);
        if (!json_is_string(d))
            return false;
        s->allowed_email_domains[i] = strdup(json_string_value(d));
        if (!s->allowed_email_domains[i])
            return false;
        s->allowed_email_domain_count = i + 1;
    }
    return true;
}

/* {"siteSettings": {...}} into a new struct handed to *out. */
static enum si_client_rc parse_settings(struct si_client *c, const json_t *answer,
                                        struct si_site_settings **out, struct si_client_error *err)
{
    const json_t *o = json_object_get(answer, "siteSettings");
    if (!json_is_object(o))
        return client_bad_answer(c, SI_CLIENT_E_RESPONSE, "the answer has no siteSettings", err);
    struct si_site_settings *s = calloc(1, sizeof *s);
    if (!s)
        return client_bad_answer(c, SI_CLIENT_E_NOMEM, "", err);
    const json_t *days = json_object_get(o, "reminderDaysBeforeExpiry");
    bool ok = take_text(o, "acceptRedirectUrl", &s->accept_redirect_url) && take_domains(o, s) &&
              (!days || json_is_integer(days));
    if (!ok) {
        si_site_settings_free(s);
        return client_bad_answer(c, SI_CLIENT_E_RESPONSE, "siteSettings has a bad member", err);
    }
    s->reminder_days_before_expiry = days ? (int)json_integer_value(days) : 0;
    *out = s;
    return SI_CLIENT_OK;
}

enum si_client_rc si_client_get_site_settings(struct si_client *c, struct si_site_settings **out,
                                              struct si_client_error *err)
{
    json_t *answer = NULL;
    if (out)
        *out = NULL;
    enum si_client_rc rc = check_site(c, err);
    if (!rc && !out)
        rc = client_fail(err, SI_CLIENT_E_ARG, "out is NULL");
    if (!rc)
        rc = client_call(c, "GET", SETTINGS_PATH, NULL, &answer, err);
    if (!rc)
        rc = parse_settings(c, answer, out, err);
    json_decref(answer);
    return rc;
}

/* The PATCH body of u; NULL when out of memory. Checked before: the strings are text. */
static json_t *update_body(const struct si_site_settings_update *u)
{
    json_t *o = json_object();
    bool ok = o != NULL;
    if (ok && u->accept_redirect_url)
        ok = json_object_set_new(o, "acceptRedirectUrl", json_string(u->accept_redirect_url)) == 0;
    if (ok && u->set_reminder_days)
        ok = json_object_set_new(o, "reminderDaysBeforeExpiry",
                                 json_integer(u->reminder_days_before_expiry)) == 0;
    if (ok && u->set_allowed_email_domains) {
        json_t *list = json_array();
        ok = json_object_set_new(o, "allowedEmailDomains", list) == 0 && list;
        for (size_t i = 0; ok && i < u->allowed_email_domain_count; i++)
            ok = json_array_append_new(list, json_string(u->allowed_email_domains[i])) == 0;
    }
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static enum si_client_rc check_update(const struct si_site_settings_update *u,
                                      struct si_client_error *err)
{
    if (!u)
        return client_fail(err, SI_CLIENT_E_ARG, "update is NULL");
    if (!u->accept_redirect_url && !u->set_reminder_days && !u->set_allowed_email_domains)
        return client_fail(err, SI_CLIENT_E_ARG, "the update names no setting");
    if (u->accept_redirect_url && !client_text_ok(u->accept_redirect_url, false))
        return client_fail(err, SI_CLIENT_E_ARG, "accept_redirect_url is not text");
    if (u->set_allowed_email_domains && u->allowed_email_domain_count && !u->allowed_email_domains)
        return client_fail(err, SI_CLIENT_E_ARG, "allowed_email_domains is NULL");
    for (size_t i = 0; u->set_allowed_email_domains && i < u->allowed_email_domain_count; i++)
        if (!u->allowed_email_domains[i] || !client_text_ok(u->allowed_email_domains[i], false))
            return client_fail(err, SI_CLIENT_E_ARG, "a domain is NULL or not text");
    return SI_CLIENT_OK;
}

enum si_client_rc si_client_update_site_settings(struct si_client *c,
                                                 const struct si_site_settings_update *u,
                                                 struct si_site_settings **out,
                                                 struct si_client_error *err)
{
    json_t *body = NULL, *answer = NULL;
    if (out)
        *out = NULL;
    enum si_client_rc rc = check_site(c, err);
    if (!rc)
        rc = check_update(u, err);
    if (!rc && !(body = update_body(u)))
        rc = client_fail(err, SI_CLIENT_E_NOMEM, "out of memory encoding the request");
    if (!rc)
        rc = client_call(c, "PATCH", SETTINGS_PATH, body, &answer, err);
    if (!rc && out)
        rc = parse_settings(c, answer, out, err);
    json_decref(body);
    json_decref(answer);
    return rc;
}
