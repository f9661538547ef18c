/* What the client library's files share: the client object, the one request function, error
 * filling, and the JSON-to-struct readers. Not installed; users see only client.h. */
#ifndef SI_CLIENT_INT_H
#define SI_CLIENT_INT_H

#include "siteinvites/client.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdarg.h>

#define CLIENT_VERSION "0.1.0"
#define CLIENT_URL_MAX 2048                   /* base URL plus the longest path we build */
#define CLIENT_INVITES "/invites/site-invite" /* the Wix path form (www.wixapis.com) */

/* The answer of the request in flight: body (capped), and the headers we read. */
struct client_answer {
    char *data;
    size_t len;
    size_t cap;
    size_t max; /* the client's max_response_bytes */
    bool too_big;
    char request_id[SI_CLIENT_REQUEST_ID_MAX];
    long retry_after_s;
    bool replayed; /* Idempotent-Replayed: true */
};

struct si_client {
    CURL *curl;
    struct curl_slist *headers; /* Authorization and tenancy headers: wiped at free */
    char *api_key;              /* kept only to scrub it from error text */
    char *base_url;             /* without a trailing '/' */
    bool has_site;
    struct client_answer answer;
    char curl_error[CURL_ERROR_SIZE];
    char *idempotency_key; /* sent with the next request only (si_client_set_idempotency_key) */
    bool last_replayed;    /* the last request's answer was a replay */
};

/* libcurl's write callback (user is the struct client_answer): collects the body up to the
 * cap, the answer being a string afterwards; returning less than given aborts the transfer
 * (too_big says whether the cap or memory was the cause). */
size_t client_answer_body(char *data, size_t size, size_t nmemb, void *user);

/* libcurl's header callback (user is the struct client_answer): keeps x-wix-request-id (cut
 * to fit), Retry-After in delta-seconds (capped) and Idempotent-Replayed; every other header is
 * ignored. */
size_t client_answer_header(char *data, size_t size, size_t nmemb, void *user);

/* Sends one request: method "GET", "POST", "PATCH" or "DELETE", path appended to the base URL,
 * body (borrowed, may be NULL: for POST and PATCH an empty body is sent). On success *out is the
 * answer's JSON object (the caller's reference). On failure err is filled (transport, HTTP or bad
 * answer). */
enum si_client_rc client_call(struct si_client *c, const char *method, const char *path,
                              json_t *body, json_t **out, struct si_client_error *err);

/* The checks every site-level call starts with (invites.c): a client with a site ID, and an ID
 * that goes into a path ([A-Za-z0-9_-], at most SI_CLIENT_INVITE_ID_MAX). err filled on failure. */
enum si_client_rc client_check_site(struct si_client *c, struct si_client_error *err);
enum si_client_rc client_check_id(const char *id, struct si_client_error *err);

/* Resets *err to "no error" (err may be NULL). */
void client_error_clear(struct si_client_error *err);

/* Fills err (may be NULL) with rc's client-side code, http_status 0 and a formatted
 * description; returns rc so callers can `return client_fail(...)`. */
enum si_client_rc client_fail(struct si_client_error *err, enum si_client_rc rc, const char *fmt,
                              ...) __attribute__((format(printf, 3, 4)));

/* Fills err for an answer of the last request that could not be read (rc E_RESPONSE: what
 * says what was wrong) or ran out of memory (E_NOMEM), keeping its status and request ID. */
enum si_client_rc client_bad_answer(const struct si_client *c, enum si_client_rc rc,
                                    const char *what, struct si_client_error *err);

/* Fills err from a non-2xx answer: status, the code/description of the body (if it is the
 * error body of docs/API.md §4), the request ID and Retry-After. The API key of c is scrubbed from
 * every text field. */
void client_error_from_answer(const struct si_client *c, int status, struct si_client_error *err);

/* Overwrites every occurrence of the client's API key in err's text fields with '*'. */
void client_error_scrub(const struct si_client *c, struct si_client_error *err);

/* Copies src into dst[cap], cut at a UTF-8 boundary if it does not fit; NULL src gives "". */
void client_copy_text(char *dst, size_t cap, const char *src);

/* Whether s is valid UTF-8 without control characters below 0x20 (allowing TAB, CR, LF only
 * when multiline). Used to check inputs before they go into JSON or headers. */
bool client_text_ok(const char *s, bool multiline);

/* Copies the string member name of o (may be NULL) into *dst (the caller's); absent or null
 * leaves *dst alone. SI_CLIENT_E_RESPONSE when it is not a string, SI_CLIENT_E_NOMEM. */
enum si_client_rc client_copy_member(const json_t *o, const char *name, char **dst);

/* Readers of answers: fill the caller's zeroed struct from a JSON object. Return SI_CLIENT_OK,
 * SI_CLIENT_E_NOMEM, or SI_CLIENT_E_RESPONSE (a member of the wrong type, or no id when
 * need_id: every invite but a dry run's has one). On failure what was filled is released. */
enum si_client_rc client_invite_parse(const json_t *o, struct si_invite *inv, bool need_id);
enum si_client_rc client_invite_parse_array(const json_t *arr, struct si_invite **out,
                                            size_t *count, bool need_id);
enum si_client_rc client_bulk_result_parse(const json_t *o, struct si_bulk_invite_result *r,
                                           bool dry_run);
enum si_client_rc client_invite_page_parse(const json_t *o, struct si_invite_page *p);

/* Frees the members of inv (wiping accept_link), not inv itself. */
void client_invite_cleanup(struct si_invite *inv);

#endif /* SI_CLIENT_INT_H */
