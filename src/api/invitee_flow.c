/* The invitee's shared steps: token to invite, accept or decline, form tokens, contributor JSON. */
#include "api/invitee_flow.h"

#include "api/audit.h"
#include "common/ids.h"
#include "core/token.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Keeps form-token hashes apart from every other use of the server secret. */
#define FORM_TOKEN_LABEL "siteinvites invitee-form v1"

enum si_err invitee_find(const struct app *app, const char *token, struct invite *out,
                         struct token_ref *ref)
{
    struct token_ref own;
    struct token_ref *r = ref ? ref : &own;
    memset(out, 0, sizeof *out);
    if (!token || token_parse_ref(app->secret, token, r) != SI_OK)
        return SI_ENOTFOUND;
    enum si_err rc = store_invite_by_link(app->store, r, out);
    secure_wipe(&own, sizeof own);
    return rc;
}

enum si_err invitee_answer(const struct request *req, const char *token, enum invitee_choice choice,
                           const char *email, const char *email_key, struct invitee_answer *a)
{
    const struct app *app = req->app;
    struct audit_actor actor;
    api_audit_actor(req, &actor);
    struct token_ref ref;
    memset(a, 0, sizeof *a);
    if (!token || token_parse_ref(app->secret, token, &ref) != SI_OK)
        return SI_ENOTFOUND;
    a->choice = choice;
    a->now = clock_now(app->clock);
    a->email = email;
    a->email_key = email_key;
    /* IDs are made up front; the store uses them only if it creates the rows. The new account
     * is named by its address: an invitee has told us nothing else. */
    id_new(app->rng, a->new_account.id);
    if (email)
        snprintf(a->new_account.email, sizeof a->new_account.email, "%s", email);
    snprintf(a->new_account.name, sizeof a->new_account.name, "%s", a->new_account.email);
    a->new_account.created = a->now;
    id_new(app->rng, a->contributor_id);
    a->actor = &actor; /* for its request ID: the entry's actor is the invitee */
    enum si_err rc = store_invite_answer(app->store, &ref, a);
    secure_wipe(&ref, sizeof ref);
    return rc;
}

void invitee_form_token(const struct app *app, const struct token_ref *ref,
                        char out[FORM_TOKEN_LEN + 1])
{
    uint8_t msg[sizeof FORM_TOKEN_LABEL + TOKEN_KEY_LEN + 1], mac[SECURE_HASH_LEN];
    size_t n = sizeof FORM_TOKEN_LABEL + TOKEN_KEY_LEN;
    memcpy(msg, FORM_TOKEN_LABEL, sizeof FORM_TOKEN_LABEL); /* the NUL separates the parts */
    memcpy(msg + sizeof FORM_TOKEN_LABEL, ref->key, TOKEN_KEY_LEN);
    /* A version 2 link (an ID) adds its version byte: a salt and an ID never share a form token,
     * and a version 1 page opened before the upgrade posts the token it was given. */
    if (ref->kind == TOKEN_BY_ID)
        msg[n++] = TOKEN_BY_ID;
    secure_hash(mac, msg, n, app->secret, SECURE_KEY_LEN);
    b64url_encode(out, mac, FORM_TOKEN_BYTES);
    secure_wipe(mac, sizeof mac);
    secure_wipe(msg, sizeof msg);
}

bool invitee_form_token_check(const struct app *app, const struct token_ref *ref, const char *body,
                              size_t len)
{
    static const char field[] = FORM_TOKEN_FIELD "=";
    char want[FORM_TOKEN_LEN + 1];
    bool ok = false;
    if (!body)
        len = 0;
    invitee_form_token(app, ref, want);
    for (size_t at = 0; at < len && !ok;) {
        const char *amp = memchr(body + at, '&', len - at);
        size_t end = amp ? (size_t)(amp - body) : len, n = end - at;
        if (n == sizeof field - 1 + FORM_TOKEN_LEN &&
            memcmp(body + at, field, sizeof field - 1) == 0)
            ok = secure_equal(body + at + sizeof field - 1, want, FORM_TOKEN_LEN);
        at = end + 1;
    }
    secure_wipe(want, sizeof want);
    return ok;
}

json_t *contributor_json(const struct contributor_row *c)
{
    char joined[SI_TIME_TEXT_LEN];
    time_format(c->joined, joined);
    json_t *pols = json_array();
    for (int i = 0; i < c->policies.n; i++)
        json_array_append_new(pols, json_string(c->policies.ids[i]));
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(c->id));
    json_object_set_new(o, "accountId", json_string(c->account_id));
    json_object_set_new(o, "email", json_string(c->email));
    json_object_set_new(o, "policyIds", pols);
    json_object_set_new(o, "joinedAt", json_string(joined));
    if (c->invite_id[0])
        json_object_set_new(o, "inviteId", json_string(c->invite_id));
    return o;
}

const char *page_base_path(const char *base_url)
{
    const char *p = strstr(base_url, "://");
    p = p ? strchr(p + 3, '/') : NULL;
    return p ? p : "";
}

/* The origin (scheme://host[:port]) part of the base URL, as browsers send it in Origin. */
static size_t origin_len(const char *base_url)
{
    const char *p = strstr(base_url, "://");
    const char *slash = p ? strchr(p + 3, '/') : NULL;
    return slash ? (size_t)(slash - base_url) : strlen(base_url);
}

bool page_same_origin(const struct request *req)
{
    if (req->sec_fetch_site)
        return strcasecmp(req->sec_fetch_site, "same-origin") == 0;
    if (req->origin) {
        size_t n = origin_len(req->app->base_url);
        return strlen(req->origin) == n && strncasecmp(req->origin, req->app->base_url, n) == 0;
    }
    return true;
}
