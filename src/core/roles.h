/* The predefined roles: stable IDs that never change across installs. */
#ifndef SI_CORE_ROLES_H
#define SI_CORE_ROLES_H

#include "core/invite.h"

#include <stddef.h>

/* The predefined roles, in display order; *n receives the count. Static storage. */
const struct role *roles_predefined(size_t *n);

/* The predefined role with this ID, or NULL. */
const struct role *roles_find_predefined(const char *id);

#endif
