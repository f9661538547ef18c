/* Reading answers into the public result structs (SiteInvite, Bulk, Query page) and releasing
 * them. Lenient where the Wix API and siteinvites differ (absent members are NULL), strict on
 * types (a member of the wrong type is a bad answer, not a silent NULL). */
#include "client_int.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* The string members of SiteInvite copied as they are, by wire name. */
static const struct {
    const char *name;
    size_t offset;
} invite_strings[] = {
    {"id", offsetof(struct si_invite, id)},
    {"siteId", offsetof(struct si_invite, site_id)},
    {"email", offsetof(struct si_invite, email)},
    {"status", offsetof(struct si_invite, status_text)},
    {"acceptLink", offsetof(struct si_invite, accept_link)},
    {"acceptedByAccountId", offsetof(struct si_invite, accepted_by_account_id)},
    {"dateCreated", offsetof(struct si_invite, date_created)},
    {"expirationDate", offsetof(struct si_invite, expiration_date)},
    {"dateUpdated", offsetof(struct si_invite, date_updated)},
    {"lastSentDate", offsetof(struct si_invite, last_sent_date)},
    {"staffId", offsetof(struct si_invite, staff_id)},
    {"invitePurpose", offsetof(struct si_invite, invite_purpose)},
    {"emailLanguage", offsetof(struct si_invite, email_language)},
};
#define INVITE_STRING_COUNT (sizeof invite_strings / sizeof invite_strings[0])

static const char *const status_names[] = {"Unknown", "Pending",  "Used",
                                           "Deleted", "Declined", "Expired"};
#define STATUS_NAME_COUNT (sizeof status_names / sizeof status_names[0])

const char *si_invite_status_name(enum si_invite_status s)
{
    return (size_t)s < STATUS_NAME_COUNT ? status_names[s] : status_names[0];
}

static enum si_invite_status status_from_text(const char *text)
{
    for (size_t i = 1; text && i < STATUS_NAME_COUNT; i++)
        if (strcmp(text, status_names[i]) == 0)
            return (enum si_invite_status)i;
    return SI_INVITE_STATUS_UNKNOWN;
}

/* Copies o[name] into *dst: absent or null leaves NULL; a non-string is a bad answer. */
static enum si_client_rc copy_member(const json_t *o, const char *name, char **dst)
{
    const json_t *v = json_object_get(o, name);
    if (!v || json_is_null(v))
        return SI_CLIENT_OK;
    if (!json_is_string(v))
        return SI_CLIENT_E_RESPONSE;
    *dst = strdup(json_string_value(v));
    return *dst ? SI_CLIENT_OK : SI_CLIENT_E_NOMEM;
}

static enum si_client_rc copy_string_array(const json_t *arr, char ***out, size_t *count)
{
    if (!arr || json_is_null(arr))
        return SI_CLIENT_OK;
    if (!json_is_array(arr))
        return SI_CLIENT_E_RESPONSE;
    size_t n = json_array_size(arr);
    if (n == 0)
        return SI_CLIENT_OK;
    char **v = calloc(n, sizeof *v);
    if (!v)
        return SI_CLIENT_E_NOMEM;
    *out = v;
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        if (!s)
            return SI_CLIENT_E_RESPONSE;
        if (!(v[i] = strdup(s)))
            return SI_CLIENT_E_NOMEM;
        *count = i + 1; /* what is filled so far is freed on failure */
    }
    return SI_CLIENT_OK;
}

/* delivery {status, attempts, lastError}: a siteinvites addition. */
static enum si_client_rc read_delivery(const json_t *d, struct si_invite *inv)
{
    if (!d || json_is_null(d))
        return SI_CLIENT_OK;
    if (!json_is_object(d))
        return SI_CLIENT_E_RESPONSE;
    enum si_client_rc rc = copy_member(d, "status", &inv->delivery_status);
    if (!rc)
        rc = copy_member(d, "lastError", &inv->delivery_last_error);
    const json_t *attempts = json_object_get(d, "attempts");
    if (json_is_integer(attempts))
        inv->delivery_attempts = (long)json_integer_value(attempts);
    return rc;
}

enum si_client_rc client_invite_parse(const json_t *o, struct si_invite *inv, bool need_id)
{
    enum si_client_rc rc = SI_CLIENT_OK;
    memset(inv, 0, sizeof *inv);
    inv->send_count = -1;
    if (!json_is_object(o)) {
        rc = SI_CLIENT_E_RESPONSE;
        goto out;
    }
    /* The table keeps one line per member: adding a field to the struct is one row here. */
    for (size_t i = 0; i < INVITE_STRING_COUNT && !rc; i++)
        rc = copy_member(o, invite_strings[i].name,
                         (char **)((char *)inv + invite_strings[i].offset));
    if (rc)
        goto out;
    /* inviterAccountId is the current name; inviterId the older one Wix still sends. */
    rc = copy_member(o, "inviterAccountId", &inv->inviter_account_id);
    if (!rc && !inv->inviter_account_id)
        rc = copy_member(o, "inviterId", &inv->inviter_account_id);
    if (!rc)
        rc = copy_string_array(json_object_get(o, "policyIds"), &inv->policy_ids,
                               &inv->policy_id_count);
    if (!rc)
        rc = read_delivery(json_object_get(o, "delivery"), inv);
    if (rc)
        goto out;
    /* Counters are read only as integers; absent (the Wix API) keeps the "unknown" -1. */
    const json_t *sc = json_object_get(o, "sendCount");
    if (json_is_integer(sc))
        inv->send_count = (long)json_integer_value(sc);
    inv->status = status_from_text(inv->status_text);
    /* An invite without an ID cannot be used for anything, but a dry run's has none. */
    if (!inv->id && need_id)
        rc = SI_CLIENT_E_RESPONSE;
out:
    if (rc)
        client_invite_cleanup(inv);
    return rc;
}

static void free_text(char *s, bool wipe)
{
    if (s && wipe)
        explicit_bzero(s, strlen(s));
    free(s);
}

void client_invite_cleanup(struct si_invite *inv)
{
    if (!inv)
        return;
    for (size_t i = 0; i < INVITE_STRING_COUNT; i++) {
        char **field = (char **)((char *)inv + invite_strings[i].offset);
        /* The accept link carries the invite token: a credential. */
        free_text(*field, field == &inv->accept_link);
    }
    for (size_t i = 0; i < inv->policy_id_count; i++)
        free(inv->policy_ids[i]);
    free(inv->policy_ids);
    free(inv->inviter_account_id);
    free(inv->delivery_status);
    free(inv->delivery_last_error);
    memset(inv, 0, sizeof *inv);
}

void si_invite_free(struct si_invite *inv)
{
    client_invite_cleanup(inv);
    free(inv);
}

static void invite_array_free(struct si_invite *invs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        client_invite_cleanup(&invs[i]);
    free(invs);
}

enum si_client_rc client_invite_parse_array(const json_t *arr, struct si_invite **out,
                                            size_t *count, bool need_id)
{
    *out = NULL;
    *count = 0;
    if (!arr || json_is_null(arr))
        return SI_CLIENT_OK;
    if (!json_is_array(arr))
        return SI_CLIENT_E_RESPONSE;
    size_t n = json_array_size(arr);
    if (n == 0)
        return SI_CLIENT_OK;
    /* One array of structs, not of pointers: one allocation, and callers index it directly. */
    struct si_invite *v = calloc(n, sizeof *v);
    if (!v)
        return SI_CLIENT_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        enum si_client_rc rc = client_invite_parse(json_array_get(arr, i), &v[i], need_id);
        if (rc) {
            invite_array_free(v, i);
            return rc;
        }
    }
    *out = v;
    *count = n;
    return SI_CLIENT_OK;
}

/* failures[] {email, code, description} when sent (siteinvites), else failedEmails[] (Wix). */
static enum si_client_rc read_failures(const json_t *o, struct si_bulk_invite_result *r)
{
    const json_t *detailed = json_object_get(o, "failures");
    const json_t *plain = json_object_get(o, "failedEmails");
    const json_t *arr = json_is_array(detailed) ? detailed : plain;
    if (!arr || json_is_null(arr))
        return SI_CLIENT_OK;
    if (!json_is_array(arr))
        return SI_CLIENT_E_RESPONSE;
    size_t n = json_array_size(arr);
    if (n == 0)
        return SI_CLIENT_OK;
    if (!(r->failures = calloc(n, sizeof *r->failures)))
        return SI_CLIENT_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        struct si_bulk_invite_failure *f = &r->failures[i];
        const json_t *e = json_array_get(arr, i);
        r->failure_count = i + 1; /* counted before filling: the free releases partial rows */
        if (arr == plain) {
            if (!json_is_string(e))
                return SI_CLIENT_E_RESPONSE;
            if (!(f->email = strdup(json_string_value(e))))
                return SI_CLIENT_E_NOMEM;
            continue;
        }
        enum si_client_rc rc =
            json_is_object(e) ? copy_member(e, "email", &f->email) : SI_CLIENT_E_RESPONSE;
        if (!rc)
            rc = copy_member(e, "code", &f->code);
        if (!rc)
            rc = copy_member(e, "description", &f->description);
        if (rc)
            return rc;
    }
    return SI_CLIENT_OK;
}

enum si_client_rc client_bulk_result_parse(const json_t *o, struct si_bulk_invite_result *r,
                                           bool dry_run)
{
    enum si_client_rc rc = client_invite_parse_array(json_object_get(o, "invites"), &r->invites,
                                                     &r->invite_count, !dry_run);
    if (!rc)
        rc = read_failures(o, r);
    return rc; /* on failure the caller frees r with si_bulk_invite_result_free */
}

void si_bulk_invite_result_free(struct si_bulk_invite_result *r)
{
    if (!r)
        return;
    invite_array_free(r->invites, r->invite_count);
    for (size_t i = 0; i < r->failure_count; i++) {
        free(r->failures[i].email);
        free(r->failures[i].code);
        free(r->failures[i].description);
    }
    free(r->failures);
    free(r);
}

enum si_client_rc client_invite_page_parse(const json_t *o, struct si_invite_page *p)
{
    enum si_client_rc rc = client_invite_parse_array(json_object_get(o, "invites"), &p->invites,
                                                     &p->invite_count, true);
    if (rc)
        return rc;
    /* pagingMetadata {hasNext, cursors {next}}; the Wix API may leave it out entirely. */
    const json_t *meta = json_object_get(o, "pagingMetadata");
    if (meta && !json_is_object(meta))
        return SI_CLIENT_E_RESPONSE;
    p->has_next = json_is_true(json_object_get(meta, "hasNext"));
    rc = copy_member(json_object_get(meta, "cursors"), "next", &p->next_cursor);
    if (!rc && p->next_cursor && !p->next_cursor[0]) {
        free(p->next_cursor); /* an empty cursor is no cursor */
        p->next_cursor = NULL;
    }
    return rc;
}

void si_invite_page_free(struct si_invite_page *p)
{
    if (!p)
        return;
    invite_array_free(p->invites, p->invite_count);
    free(p->next_cursor);
    free(p);
}
