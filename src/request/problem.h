/* The error catalogue of the API: each problem's HTTP status, wire code and default message.
 * request/request.c is the one place that renders these into the error body of docs/API.md §4. */
#ifndef SI_REQUEST_PROBLEM_H
#define SI_REQUEST_PROBLEM_H

/* X(enum, status, code, default description) */
#define PROBLEMS(X)                                                                                \
    X(P_INVALID_JSON, 400, "INVALID_JSON", "The request body is not valid JSON.")                  \
    X(P_UNAUTHENTICATED, 401, "UNAUTHENTICATED", "A valid API key is required.")                   \
    X(P_PERMISSION_DENIED, 403, "PERMISSION_DENIED", "The API key may not do this on this site.")  \
    X(P_INVITE_NOT_FOUND, 404, "INVITE_NOT_FOUND", "No such invite in this site.")                 \
    X(P_NOT_FOUND, 404, "NOT_FOUND", "No such resource.")                                          \
    X(P_METHOD_NOT_ALLOWED, 405, "METHOD_NOT_ALLOWED", "This method is not allowed here.")         \
    X(P_ALREADY_EXISTS, 409, "ALREADY_EXISTS", "It already exists.")                               \
    X(P_ALREADY_CONTRIBUTOR, 409, "ALREADY_CONTRIBUTOR", "The email is already a contributor.")    \
    X(P_PAYLOAD_TOO_LARGE, 413, "PAYLOAD_TOO_LARGE", "The request body is too large.")             \
    X(P_UNSUPPORTED_MEDIA_TYPE, 415, "UNSUPPORTED_MEDIA_TYPE", "The body must be JSON.")           \
    X(P_INVITE_NOT_RESENDABLE, 428, "INVITE_NOT_RESENDABLE", "This invite cannot be resent.")      \
    X(P_INVITE_NOT_REVOCABLE, 428, "INVITE_NOT_REVOCABLE", "This invite cannot be revoked.")       \
    X(P_INVITE_NOT_PENDING, 428, "INVITE_NOT_PENDING", "This invite is not pending.")              \
    X(P_CONTRIBUTOR_LIMIT_REACHED, 428, "CONTRIBUTOR_LIMIT_REACHED",                               \
      "The site has no contributor seat left.")                                                    \
    X(P_RESOURCE_EXHAUSTED, 429, "RESOURCE_EXHAUSTED", "Too many requests; retry later.")          \
    X(P_INTERNAL, 500, "", "")                                                                     \
    X(P_UNAVAILABLE, 503, "", "")

enum problem {
#define PROBLEM_ENUM(e, status, code, msg) e,
    PROBLEMS(PROBLEM_ENUM)
#undef PROBLEM_ENUM
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

struct violation {
    char field[VIOLATION_FIELD_MAX];
    char description[VIOLATION_TEXT_MAX];
    enum violation_rule rule;
};

struct violations {
    int n; /* entries past VIOLATIONS_MAX are counted but not kept */
    struct violation v[VIOLATIONS_MAX];
};

/* Records one violation; the description is printf-formatted. */
void violations_add(struct violations *vs, const char *field, enum violation_rule rule,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* HTTP status, wire code and default message of a problem. */
unsigned problem_status(enum problem p);
const char *problem_code(enum problem p);
const char *problem_message(enum problem p);

#endif
