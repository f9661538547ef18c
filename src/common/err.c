/* Names and messages of the error enum, generated from the one list in err.h. */
#include "err.h"

#include <stddef.h>

#define SI_ERR_MSG(name, msg)  [name] = msg,
#define SI_ERR_NAME(name, msg) [name] = #name,
static const char *const messages[] = {SI_ERRORS(SI_ERR_MSG)};
static const char *const names[] = {SI_ERRORS(SI_ERR_NAME)};

const char *si_err_str(enum si_err err)
{
    if ((size_t)err >= sizeof(messages) / sizeof(messages[0]))
        return "unknown error";
    return messages[err];
}

const char *si_err_name(enum si_err err)
{
    if ((size_t)err >= sizeof(names) / sizeof(names[0]))
        return "SI_EUNKNOWN";
    return names[err];
}
