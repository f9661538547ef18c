/* The public C client of the Site Invites API: one header, usable against siteinvites and,
 * unchanged, against the Wix API (https://www.wixapis.com).
 *
 * Shape (mirrors the Wix SDK's createClient({auth: ApiKeyStrategy({...})})):
 *
 *     struct si_api_key_strategy auth = {.api_key = key, .site_id = site};
 *     struct si_client *c;
 *     struct si_client_error err;
 *     if (si_client_new(&auth, NULL, &c, &err) != SI_CLIENT_OK) ...
 *     si_client_bulk_invite(c, &req, &result, &err);
 *     si_bulk_invite_result_free(result);
 *     si_client_free(c);
 *
 * Conventions for every function below:
 * - Returns SI_CLIENT_OK (0) or another enum si_client_rc; on failure *err (when err is not
 *   NULL) is filled, and every out-pointer is set to NULL.
 * - Input strings are borrowed for the duration of the call only; nothing is kept.
 * - Every result is heap memory owned by the caller and released with its matching _free
 *   (each _free accepts NULL).
 * - A struct si_client is used by one thread at a time (it owns one libcurl easy handle, reused
 *   across calls for keep-alive). Different clients may be used on different threads at once.
 * - The library never logs, never prints, never aborts (out of memory is SI_CLIENT_E_NOMEM),
 *   and never puts the API key in any error text.
 * - libcurl's global state: call si_client_global_init() once at program start, before any
 *   thread starts (or call curl_global_init yourself); see the function's comment.
 */
#ifndef SITEINVITES_CLIENT_H
#define SITEINVITES_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The Wix API host: the default base URL. */
#define SI_CLIENT_WIX_BASE_URL "https://www.wixapis.com"

/* Defaults of struct si_client_options (0 in a field means "use the default"). */
#define SI_CLIENT_DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define SI_CLIENT_DEFAULT_TIMEOUT_MS         30000L
/* The largest answer accepted; a bigger body is a SI_CLIENT_E_RESPONSE error. */
#define SI_CLIENT_DEFAULT_MAX_RESPONSE_BYTES (16L * 1024 * 1024)

/* Sizes of the fixed text fields of struct si_client_error (including the NUL). Longer text is
 * cut at a UTF-8 character boundary. */
#define SI_CLIENT_CODE_MAX        64
#define SI_CLIENT_DESCRIPTION_MAX 512
#define SI_CLIENT_REQUEST_ID_MAX  128
#define SI_CLIENT_FIELD_MAX       128

/* Limits checked before any request (the server checks them too; docs/API.md §3.2). */
#define SI_CLIENT_BULK_EMAILS_MAX 1000
#define SI_CLIENT_POLICY_IDS_MAX  20
#define SI_CLIENT_INVITE_ID_MAX   64
#define SI_CLIENT_QUERY_LIMIT_MAX 100

/* What a call returned; the detail is in struct si_client_error. */
enum si_client_rc {
    SI_CLIENT_OK = 0,
    SI_CLIENT_E_ARG,       /* bad input, caught before any request (code INVALID_ARGUMENT) */
    SI_CLIENT_E_NOMEM,     /* out of memory (code NO_MEMORY) */
    SI_CLIENT_E_TRANSPORT, /* no HTTP answer: DNS, connect, TLS, timeout (code TRANSPORT) */
    SI_CLIENT_E_HTTP,      /* the server answered with a non-2xx status */
    SI_CLIENT_E_RESPONSE,  /* a 2xx answer that is not the expected JSON (code BAD_RESPONSE) */
};

/* Why a call failed. Filled on every failure; all text fields are NUL-terminated and empty
 * when unknown.
 * - http_status: the HTTP status, or 0 when there was no HTTP answer (E_ARG, E_NOMEM,
 *   E_TRANSPORT).
 * - code: the server's details.applicationError.code, one of Wix's standard codes (e.g.
 *   NOT_FOUND, FAILED_PRECONDITION, UNAUTHENTICATED);
 *   INVALID_ARGUMENT for a validation error (400 with details.validationError); the status
 *   name (NOT_FOUND, INTERNAL_SERVER_ERROR...) when the body names none; or the client's own
 *   INVALID_ARGUMENT, NO_MEMORY, TRANSPORT, BAD_RESPONSE.
 * - description: applicationError.description, else the body's message, else the status text;
 *   for TRANSPORT, libcurl's message.
 * - request_id: the X-Wix-Request-Id header (else requestId in the body): quote it to support.
 * - field: the first fieldViolations[].field of a validation error (e.g. "emails[2]").
 * - retry_after_s: the Retry-After seconds of a 429, else 0.
 * - reason: the server's finer cause, details.applicationError.data.reason (e.g.
 *   INVITE_NOT_FOUND, INVITE_NOT_RESENDABLE; docs/API.md §4); empty when the body has none
 *   (validation errors, other servers, client-side failures). Added after retry_after_s so
 *   the fields before it keep their offsets. For SI_CLIENT_E_TRANSPORT it is the client's own
 *   cause, so a caller can tell "retry later" from "fix the setup": TLS_CERTIFICATE (the
 *   server's certificate is not trusted: see ca_info), CA_FILE (the CA bundle cannot be
 *   read), TLS (the handshake failed), DNS, CONNECT (refused or unreachable), TIMEOUT,
 *   CONNECTION_LOST (closed or broken before a whole answer), or empty for anything else. */
struct si_client_error {
    int http_status;
    char code[SI_CLIENT_CODE_MAX];
    char description[SI_CLIENT_DESCRIPTION_MAX];
    char request_id[SI_CLIENT_REQUEST_ID_MAX];
    char field[SI_CLIENT_FIELD_MAX];
    long retry_after_s;
    char reason[SI_CLIENT_CODE_MAX];
};

/* The Wix API-key authentication strategy. api_key is required; site_id (sent as
 * wix-site-id) is required by every invite call; account_id (wix-account-id) is optional. */
struct si_api_key_strategy {
    const char *api_key;
    const char *site_id;
    const char *account_id;
};

/* Client settings; pass NULL for all defaults, or a zeroed struct with some fields set. */
struct si_client_options {
    const char *base_url;    /* scheme://host[:port][/prefix]; NULL: SI_CLIENT_WIX_BASE_URL */
    long connect_timeout_ms; /* 0: SI_CLIENT_DEFAULT_CONNECT_TIMEOUT_MS */
    long timeout_ms;         /* whole request; 0: SI_CLIENT_DEFAULT_TIMEOUT_MS */
    long max_response_bytes; /* 0: SI_CLIENT_DEFAULT_MAX_RESPONSE_BYTES */
    const char *user_agent;  /* NULL: "siteinvites-client/<version>" */
    /* The CA bundle (PEM file) that TLS server certificates are checked against, e.g. a
     * private CA. Precedence: this field; when NULL, the CURL_CA_BUNDLE environment variable
     * (read once, in si_client_new; empty counts as unset); else libcurl's default (the
     * system's bundle). Verification is never turned off. An unreadable file is found at the
     * first request: SI_CLIENT_E_TRANSPORT with reason CA_FILE. */
    const char *ca_info;
};

/* The opaque client: configuration plus one reusable libcurl handle. */
struct si_client;

/* An invite's status; UNKNOWN is a value this version does not know (status_text has it). */
enum si_invite_status {
    SI_INVITE_STATUS_UNKNOWN = 0,
    SI_INVITE_PENDING,
    SI_INVITE_USED,
    SI_INVITE_DELETED,
    SI_INVITE_DECLINED,
    SI_INVITE_EXPIRED,
};

/* The SiteInvite object (docs/API.md §3.1). Every string is owned by the invite; a member the
 * server did not send is NULL, except id, which is always set (but in a dry run's answer, which
 * has no id and no accept_link: nothing was stored). Timestamps are kept as the RFC 3339
 * text the server sent. accept_link is a credential: it is wiped when the invite is freed. */
struct si_invite {
    char *id;
    char *site_id;
    char *email;
    char **policy_ids;
    size_t policy_id_count;
    enum si_invite_status status;
    char *status_text;
    char *accept_link;
    char *inviter_account_id; /* inviterAccountId, else the older inviterId */
    char *accepted_by_account_id;
    char *date_created;
    char *expiration_date;
    char *date_updated;
    char *last_sent_date;
    char *staff_id;
    char *invite_purpose;
    char *email_language;
    long send_count;       /* -1 when absent (the Wix API does not send it) */
    char *delivery_status; /* siteinvites: Queued, Sent, Failed, Cancelled; NULL if none */
    long delivery_attempts;
    char *delivery_last_error;
};

/* Bulk Invite input. emails and policy_ids are required (1..SI_CLIENT_BULK_EMAILS_MAX and
 * 1..SI_CLIENT_POLICY_IDS_MAX non-NULL strings). The other members are optional: NULL / 0 /
 * false are not sent. expires_in_days and dry_run are siteinvites additions (docs/API.md §8); leave
 * them unset against the Wix API. */
struct si_bulk_invite_request {
    const char *const *emails;
    size_t email_count;
    const char *const *policy_ids;
    size_t policy_id_count;
    const char *invite_purpose;
    const char *default_email_language;
    int expires_in_days;
    bool dry_run;
};

/* One address that got no invite, with the reason. Read from failures[] when the server sends
 * it (siteinvites), else from failedEmails[] (the Wix API), where code and description are
 * NULL. email is the address exactly as it was sent. */
struct si_bulk_invite_failure {
    char *email;
    char *code;
    char *description;
};

/* Bulk Invite answer: the invites (new or already pending) and the addresses that failed. */
struct si_bulk_invite_result {
    struct si_invite *invites;
    size_t invite_count;
    struct si_bulk_invite_failure *failures;
    size_t failure_count;
};

/* Query input (docs/API.md §3.3). All members optional.
 * - filter_json: the query.filter object as JSON text, e.g. {"status": "Pending"}; it must
 *   parse as a JSON object (checked before the request).
 * - sort_field (dateCreated, email, status) and sort_desc; NULL: the server's order.
 * - limit: page size 1..SI_CLIENT_QUERY_LIMIT_MAX; 0: the server's default.
 * - cursor: the next_cursor of a previous page; the server then ignores filter and sort. */
struct si_invite_query {
    const char *filter_json;
    const char *sort_field;
    bool sort_desc;
    int limit;
    const char *cursor;
};

/* One page of Query. next_cursor is NULL when there is no next page. */
struct si_invite_page {
    struct si_invite *invites;
    size_t invite_count;
    bool has_next;
    char *next_cursor;
};

/* A site's settings (siteinvites only, docs/SITE-SETTINGS.md; the Wix API has no such call).
 * Strings are owned; accept_redirect_url is NULL when unset, reminder_days_before_expiry 0 when
 * off, and no allowed domains means every domain. */
struct si_site_settings {
    char *accept_redirect_url;
    int reminder_days_before_expiry;
    char **allowed_email_domains;
    size_t allowed_email_domain_count;
};

/* A change of a site's settings; a zeroed struct changes nothing (and is refused).
 * - accept_redirect_url: NULL keeps it, "" unsets it, else an https:// URL.
 * - set_reminder_days: when true, reminder_days_before_expiry (0 = off, 1..89) is sent.
 * - set_allowed_email_domains: when true, the list (0 entries = every domain) is sent. */
struct si_site_settings_update {
    const char *accept_redirect_url;
    bool set_reminder_days;
    int reminder_days_before_expiry;
    bool set_allowed_email_domains;
    const char *const *allowed_email_domains;
    size_t allowed_email_domain_count;
};

/* Audit log input (GET /invites/audit-log, a siteinvites addition: docs/AUDIT.md). All members
 * optional (NULL / 0: not sent). action ("invite.created" ...), actor_type ("apiKey", "invitee",
 * "system", "admin"), actor_id (a key's or account's ID), since and until (RFC 3339 text),
 * limit 1..SI_CLIENT_AUDIT_LIMIT_MAX, cursor: the next_cursor of a previous page, sent with the
 * same filters. */
struct si_audit_query {
    const char *action;
    const char *actor_type;
    const char *actor_id;
    const char *since;
    const char *until;
    int limit;
    const char *cursor;
};
#define SI_CLIENT_AUDIT_LIMIT_MAX 100

/* One audit entry. Every string is owned by the entry; a member the server did not send is
 * NULL (site_id on account-level entries, request_id outside a request, the actor members its
 * type does not have). actor_id is the key's ID (apiKey) or the account (invitee). changes_json
 * is the changes object as compact JSON text ({"field": {"from": x, "to": y}}). */
struct si_audit_entry {
    char *id;
    char *site_id;
    char *action;
    char *actor_type;
    char *actor_id;
    char *actor_name;
    char *actor_email;
    char *target_type;
    char *target_id;
    char *request_id;
    char *time;
    char *changes_json;
};

/* One page of the audit log, oldest first. next_cursor is NULL when there is no next page. */
struct si_audit_page {
    struct si_audit_entry *entries;
    size_t entry_count;
    bool has_next;
    char *next_cursor;
};

/* Initialises libcurl's global state (curl_global_init(CURL_GLOBAL_DEFAULT)). Call once at
 * program start while only one thread runs, before the first si_client_new, and pair it with
 * si_client_global_cleanup at exit. A program that already calls curl_global_init itself must
 * not call these. Returns SI_CLIENT_OK or SI_CLIENT_E_TRANSPORT. */
enum si_client_rc si_client_global_init(void);
void si_client_global_cleanup(void);

/* Creates a client. auth and its api_key are required; opts may be NULL. Strings are copied.
 * Checks the inputs (no control characters in key/IDs; base_url http:// or https://) but makes
 * no request. On success *out is the caller's, released with si_client_free. */
enum si_client_rc si_client_new(const struct si_api_key_strategy *auth,
                                const struct si_client_options *opts, struct si_client **out,
                                struct si_client_error *err);

/* Releases a client, its connection, and wipes its copy of the API key. NULL is a no-op. */
void si_client_free(struct si_client *c);

/* POST /invites/site-invite/bulk. On success *out is the caller's (si_bulk_invite_result_free).
 * A bad address is not a failure of the call: it is listed in (*out)->failures. */
enum si_client_rc si_client_bulk_invite(struct si_client *c,
                                        const struct si_bulk_invite_request *req,
                                        struct si_bulk_invite_result **out,
                                        struct si_client_error *err);

/* POST /invites/site-invite/{invite_id}/resend. default_email_language may be NULL. On
 * success *out is the renewed invite, the caller's (si_invite_free). */
enum si_client_rc si_client_resend_invite(struct si_client *c, const char *invite_id,
                                          const char *default_email_language,
                                          struct si_invite **out, struct si_client_error *err);

/* POST /invites/site-invite/{invite_id}/revoke. Revoking a revoked invite succeeds again. */
enum si_client_rc si_client_revoke_invite(struct si_client *c, const char *invite_id,
                                          struct si_client_error *err);

/* GET /invites/site-invite/{invite_id}. On success *out is the caller's (si_invite_free). An
 * unknown invite is SI_CLIENT_E_HTTP with http_status 404. */
enum si_client_rc si_client_get_invite(struct si_client *c, const char *invite_id,
                                       struct si_invite **out, struct si_client_error *err);

/* POST /invites/site-invite/query. q may be NULL (every invite, first page). On success *out
 * is the caller's (si_invite_page_free). */
enum si_client_rc si_client_query_invites(struct si_client *c, const struct si_invite_query *q,
                                          struct si_invite_page **out, struct si_client_error *err);

/* A webhook endpoint of the site (docs/WEBHOOKS.md). secret is set only in the answers of
 * si_client_create_webhook and si_client_rotate_webhook_secret, the only ones that show it;
 * description and disabled_reason are NULL when absent. */
struct si_webhook {
    char *id;
    char *url;
    char **events;
    size_t event_count;
    char *description;
    bool enabled;
    char *disabled_reason;
    char *secret;
    char *date_created;
};

/* POST /invites/webhooks: an endpoint for url subscribed to events[0..event_count) (names such
 * as "invite.accepted"); description may be NULL. On success *out is the caller's
 * (si_webhook_free) and (*out)->secret is the signing secret, shown this once. */
enum si_client_rc si_client_create_webhook(struct si_client *c, const char *url,
                                           const char *const *events, size_t event_count,
                                           const char *description, struct si_webhook **out,
                                           struct si_client_error *err);
/* What si_client_update_webhook changes: NULL members (events: NULL) are kept. */
struct si_webhook_update {
    const char *url;
    const char *const *events; /* the whole new list, event_count names */
    size_t event_count;
    const char *description;
};
/* PATCH /invites/webhooks/{id} with the members u sets (at least one). On success *out is the
 * endpoint as stored now (si_webhook_free; no secret). */
enum si_client_rc si_client_update_webhook(struct si_client *c, const char *webhook_id,
                                           const struct si_webhook_update *u,
                                           struct si_webhook **out, struct si_client_error *err);
/* GET /invites/webhooks/{id}: one endpoint (no secret); *out the caller's (si_webhook_free). */
enum si_client_rc si_client_get_webhook(struct si_client *c, const char *webhook_id,
                                        struct si_webhook **out, struct si_client_error *err);
/* GET /invites/webhooks: *out (si_webhooks_free with *count) holds every endpoint. */
enum si_client_rc si_client_list_webhooks(struct si_client *c, struct si_webhook **out,
                                          size_t *count, struct si_client_error *err);
/* PATCH /invites/webhooks/{id} {enabled}: true re-enables an endpoint the server disabled. */
enum si_client_rc si_client_set_webhook_enabled(struct si_client *c, const char *webhook_id,
                                                bool enabled, struct si_client_error *err);
/* PATCH /invites/webhooks/{id} {rotateSecret: true}: *out carries the new secret; the old one
 * keeps signing beside it for 24 hours. */
enum si_client_rc si_client_rotate_webhook_secret(struct si_client *c, const char *webhook_id,
                                                  struct si_webhook **out,
                                                  struct si_client_error *err);
/* POST /invites/webhooks/{id}/test: queues a webhook.test event for that endpoint. */
enum si_client_rc si_client_test_webhook(struct si_client *c, const char *webhook_id,
                                         struct si_client_error *err);
/* DELETE /invites/webhooks/{id}. */
enum si_client_rc si_client_delete_webhook(struct si_client *c, const char *webhook_id,
                                           struct si_client_error *err);
void si_webhook_free(struct si_webhook *w);
void si_webhooks_free(struct si_webhook *list, size_t count);

/* One delivery of an event to an endpoint, newest first. Strings are owned by the page;
 * status_code is 0 and error NULL when the last try got no answer or none was made yet. */
struct si_webhook_delivery {
    char *id;
    char *message_id; /* the webhook-id header of its POSTs: "msg_..." */
    char *event;      /* "invite.created", ... */
    char *status;     /* Queued, Delivered, Failed */
    long attempts;
    long status_code;
    char *error;
    char *date_created;
    char *date_updated;
};

/* One page of an endpoint's deliveries. next_cursor is NULL when there is no next page. */
struct si_webhook_delivery_page {
    struct si_webhook_delivery *deliveries;
    size_t delivery_count;
    bool has_next;
    char *next_cursor;
};

/* GET /invites/webhooks/{id}/deliveries: the newest deliveries (cursor NULL) or those after a
 * page's next_cursor; limit 1..100, 0 for the server's default (50). On success *out is the
 * caller's (si_webhook_delivery_page_free). */
enum si_client_rc si_client_webhook_deliveries(struct si_client *c, const char *webhook_id,
                                               const char *cursor, int limit,
                                               struct si_webhook_delivery_page **out,
                                               struct si_client_error *err);
void si_webhook_delivery_page_free(struct si_webhook_delivery_page *p);

/* Idempotency-Key (siteinvites, docs/IDEMPOTENCY.md): the next request c sends, and only that
 * one whatever its outcome, carries key (1..255 printable ASCII, copied) as its
 * Idempotency-Key header; NULL clears a key not sent yet. Retried with the same key and the
 * same input, a call that changes something is done once: the server answers the first
 * answer again (see si_client_last_replayed), a key reused for another input is
 * SI_CLIENT_E_HTTP 409 with reason IDEMPOTENCY_KEY_REUSED, and a retry while the first is
 * still running may get 409 IDEMPOTENCY_KEY_IN_USE (with retry_after_s). A call refused before
 * any request (SI_CLIENT_E_ARG) leaves the key for the next one. SI_CLIENT_E_ARG for a bad
 * key. Other servers (the Wix API) ignore the header. */
enum si_client_rc si_client_set_idempotency_key(struct si_client *c, const char *key,
                                                struct si_client_error *err);

/* Whether the answer of c's last request was a recorded answer replayed for its
 * Idempotency-Key (header Idempotent-Replayed: true): what it reports, success or error, was
 * decided once, earlier. false when no answer came, and for NULL. */
bool si_client_last_replayed(const struct si_client *c);

/* GET /invites/site-settings (siteinvites only). On success *out is the caller's
 * (si_site_settings_free). Needs site_id and a key with site-users.read. */
enum si_client_rc si_client_get_site_settings(struct si_client *c, struct si_site_settings **out,
                                              struct si_client_error *err);

/* PATCH /invites/site-settings (siteinvites only): changes what u names, keeps the rest. On
 * success *out (may be NULL: not returned) is the settings as stored, the caller's. A refused
 * value is SI_CLIENT_E_HTTP with http_status 400 and nothing is changed. Needs site_id and a key
 * with site-users.send-invite. */
enum si_client_rc si_client_update_site_settings(struct si_client *c,
                                                 const struct si_site_settings_update *u,
                                                 struct si_site_settings **out,
                                                 struct si_client_error *err);

/* GET /invites/audit-log (siteinvites only; the Wix API answers 404). q may be NULL (the first
 * page, no filter). On success *out is the caller's (si_audit_page_free). */
enum si_client_rc si_client_audit_log(struct si_client *c, const struct si_audit_query *q,
                                      struct si_audit_page **out, struct si_client_error *err);

/* Destructors of the results above; each accepts NULL. */
void si_site_settings_free(struct si_site_settings *s);
void si_invite_free(struct si_invite *inv);
void si_bulk_invite_result_free(struct si_bulk_invite_result *r);
void si_invite_page_free(struct si_invite_page *p);
void si_audit_page_free(struct si_audit_page *p);

/* The wire name of a status ("Pending"...), "Unknown" for SI_INVITE_STATUS_UNKNOWN. The string
 * is static. */
const char *si_invite_status_name(enum si_invite_status s);

/* A static English name of a return code ("ok", "invalid argument"...). */
const char *si_client_rc_name(enum si_client_rc rc);

#ifdef __cplusplus
}
#endif

#endif /* SITEINVITES_CLIENT_H */
