/* The one error enum of the server, written once as an X-macro list. */
#ifndef SI_COMMON_ERR_H
#define SI_COMMON_ERR_H

/* X(name, message). Domain outcomes the API must tell apart have their own code; backend
 * failures collapse into SI_ESTORE / SI_EIO after being logged where they happened, except a full
 * disk (SQLITE_FULL, ENOSPC, PostgreSQL's 53100), which is SI_EFULL: it passes once space is
 * freed, so callers answer 503 and retry rather than treat it as a bug. */
#define SI_ERRORS(X)                                                                               \
    X(SI_OK, "success")                                                                            \
    X(SI_ENOMEM, "out of memory")                                                                  \
    X(SI_EINVAL, "invalid argument")                                                               \
    X(SI_ENOTFOUND, "not found")                                                                   \
    X(SI_EEXIST, "already exists")                                                                 \
    X(SI_ESTATE, "the current state forbids this")                                                 \
    X(SI_ELIMIT, "limit reached")                                                                  \
    X(SI_ETOOBIG, "too large")                                                                     \
    X(SI_EBUSY, "busy, try again")                                                                 \
    X(SI_EIO, "input/output error")                                                                \
    X(SI_ESTORE, "storage error")                                                                  \
    X(SI_ECONFIG, "bad configuration")                                                             \
    X(SI_ECRYPTO, "cryptography failure")                                                          \
    X(SI_EMAIL, "mail delivery failure")                                                           \
    X(SI_EUNAUTH, "not authenticated")                                                             \
    X(SI_EPERM, "permission denied")                                                               \
    X(SI_EFULL, "storage is full")

enum si_err {
#define SI_ERR_ENUM(name, msg) name,
    SI_ERRORS(SI_ERR_ENUM)
#undef SI_ERR_ENUM
};

#define SI_MUST_USE __attribute__((warn_unused_result))

/* Returns a static, human-readable message for an error code; never NULL. */
const char *si_err_str(enum si_err err);

/* Returns the enum's own name ("SI_ENOTFOUND"); never NULL. */
const char *si_err_name(enum si_err err);

#endif
