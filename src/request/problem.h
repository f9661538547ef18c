/* The error catalogue of the API: each problem's HTTP status, wire code and default message.
 * request/request.c is the one place that renders these into the error body of docs/API.md §4. */
#ifndef SI_REQUEST_PROBLEM_H
#define SI_REQUEST_PROBLEM_H

#include <stdbool.h>

/* X(enum, status, wire code, reason, default description). The wire code is always one of
 * Wix's standard codes (Wix documents no custom errors for these methods, docs/API.md §4); the
 * reason is our finer cause, sent as details.applicationError.data.reason. A 5xx problem with an
 * empty code answers the empty 5xx body; one with a code (a full disk) tells the client why,
 * since the cause is the operator's to fix and holds nothing internal. */
#define PROBLEMS(X)                                                                                \
    X(P_INVALID_JSON, 400, "INVALID_ARGUMENT", "INVALID_JSON",                                     \
      "The request body is not valid JSON.")                                                       \
    X(P_EMAIL_DOMAIN_NOT_ALLOWED, 400, "INVALID_ARGUMENT", "EMAIL_DOMAIN_NOT_ALLOWED",             \
      "The site does not invite addresses of this domain.")                                        \
    X(P_UNAUTHENTICATED, 401, "UNAUTHENTICATED", "UNAUTHENTICATED",                                \
      "A valid API key is required.")                                                              \
    X(P_PERMISSION_DENIED, 403, "PERMISSION_DENIED", "PERMISSION_DENIED",                          \
      "The API key may not do this on this site.")                                                 \
    X(P_INVITE_NOT_FOUND, 404, "NOT_FOUND", "INVITE_NOT_FOUND", "No such invite in this site.")    \
    X(P_NOT_FOUND, 404, "NOT_FOUND", "NOT_FOUND", "No such resource.")                             \
    X(P_METHOD_NOT_ALLOWED, 405, "METHOD_NOT_ALLOWED", "METHOD_NOT_ALLOWED",                       \
      "This method is not allowed here.")                                                          \
    X(P_ALREADY_EXISTS, 409, "ALREADY_EXISTS", "ALREADY_EXISTS", "It already exists.")             \
    X(P_ALREADY_CONTRIBUTOR, 409, "ALREADY_EXISTS", "ALREADY_CONTRIBUTOR",                         \
      "The email is already a contributor.")                                                       \
    X(P_PAYLOAD_TOO_LARGE, 413, "PAYLOAD_TOO_LARGE", "PAYLOAD_TOO_LARGE",                          \
      "The request body is too large.")                                                            \
    X(P_UNSUPPORTED_MEDIA_TYPE, 415, "UNSUPPORTED_MEDIA_TYPE", "UNSUPPORTED_MEDIA_TYPE",           \
      "The body must be JSON.")                                                                    \
    X(P_INVITE_NOT_RESENDABLE, 428, "FAILED_PRECONDITION", "INVITE_NOT_RESENDABLE",                \
      "This invite cannot be resent.")                                                             \
    X(P_INVITE_NOT_REVOCABLE, 428, "FAILED_PRECONDITION", "INVITE_NOT_REVOCABLE",                  \
      "This invite cannot be revoked.")                                                            \
    X(P_INVITE_NOT_PENDING, 428, "FAILED_PRECONDITION", "INVITE_NOT_PENDING",                      \
      "This invite is not pending.")                                                               \
    X(P_CONTRIBUTOR_LIMIT_REACHED, 428, "FAILED_PRECONDITION", "CONTRIBUTOR_LIMIT_REACHED",        \
      "The site has no contributor seat left.")                                                    \
    X(P_IDEMPOTENCY_KEY_REUSED, 409, "ALREADY_EXISTS", "IDEMPOTENCY_KEY_REUSED",                   \
      "This Idempotency-Key was used for another request.")                                        \
    X(P_IDEMPOTENCY_KEY_IN_USE, 409, "ALREADY_EXISTS", "IDEMPOTENCY_KEY_IN_USE",                   \
      "A request with this Idempotency-Key is still running; retry later.")                        \
    X(P_RESOURCE_EXHAUSTED, 429, "RESOURCE_EXHAUSTED", "RESOURCE_EXHAUSTED",                       \
      "Too many requests; retry later.")                                                           \
    X(P_INTERNAL, 500, "", "", "")                                                                 \
    X(P_UNAVAILABLE, 503, "", "", "")                                                              \
    X(P_STORAGE_FULL, 503, "UNAVAILABLE", "STORAGE_FULL",                                          \
      "The storage is full: nothing was written; retry later.")

enum problem {
#define PROBLEM_ENUM(e, status, code, reason, msg) e,
    PROBLEMS(PROBLEM_ENUM)
#undef PROBLEM_ENUM
        PROBLEMS_N /* how many problems there are; not a problem */
};

/* Field-level validation failures, answered as 400 validationError. */
#define VIOLATIONS_MAX      32
#define VIOLATION_FIELD_MAX 64
#define VIOLATION_TEXT_MAX  256

/* X(enum, wire rule) */
#define VIOLATION_RULES(X)                                                                         \
    X(RULE_REQUIRED_FIELD, "REQUIRED_FIELD")                                                       \
    X(RULE_FORMAT, "FORMAT")                                                                       \
    X(RULE_MAX, "MAX")                                                                             \
    X(RULE_MIN, "MIN")                                                                             \
    X(RULE_MAX_SIZE, "MAX_SIZE")                                                                   \
    X(RULE_INVALID_ENUM_VALUE, "INVALID_ENUM_VALUE")                                               \
    X(RULE_OTHER, "OTHER")

enum violation_rule {
#define RULE_ENUM(e, name) e,
    VIOLATION_RULES(RULE_ENUM)
#undef RULE_ENUM
};

/* One fieldViolations[] entry. A bound (the limit a MIN, MAX or MAX_SIZE rule broke) is sent
 * in its data object as {"min": n} or {"max": n}, so a client need not parse the description. */
struct violation {
    char field[VIOLATION_FIELD_MAX];
    char description[VIOLATION_TEXT_MAX];
    enum violation_rule rule;
    bool has_bound;
    long long bound;
};

struct violations {
    int n; /* entries past VIOLATIONS_MAX are counted but not kept */
    struct violation v[VIOLATIONS_MAX];
};

/* Records one violation; the description is printf-formatted. */
void violations_add(struct violations *vs, const char *field, enum violation_rule rule,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* violations_add for a broken limit: bound is the limit (RULE_MIN: the least value allowed;
 * RULE_MAX, RULE_MAX_SIZE: the most), rendered into the violation's data. */
void violations_add_bound(struct violations *vs, const char *field, enum violation_rule rule,
                          long long bound, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* HTTP status, standard wire code, reason (data.reason) and default message of a problem. */
unsigned problem_status(enum problem p);
const char *problem_code(enum problem p);
const char *problem_reason(enum problem p);
const char *problem_message(enum problem p);

#endif
