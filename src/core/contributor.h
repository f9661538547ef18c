/* The rules of a site's contributors that Wix's Contributors API exposes: which contributors a
 * Query Site Contributors filter keeps, and the stable ID of each role assignment. */
#ifndef SI_CORE_CONTRIBUTOR_H
#define SI_CORE_CONTRIBUTOR_H

#include "core/invite.h"

#include <stdbool.h>
#include <stddef.h>

#define SI_ASSIGNMENT_ID_LEN 20 /* a 19-digit numeral, like Wix's example IDs, plus NUL */

/* Query Site Contributors' filter (docs/API.md §3.3.8). Arrays are borrowed; n = 0 means the
 * part is absent and keeps everyone. */
struct contributor_filter {
    const char *const *policy_ids; /* filter.policyIds: role IDs */
    size_t npolicies;
    const char *const *location_ids; /* filter.locationIds: lowercase GUIDs */
    size_t nlocations;
};

/* True when c passes f: it holds at least one of f's roles (when given) and is assigned to at
 * least one of f's locations (when given), as Wix's page says of each filter. Role IDs compare
 * through contributor_same_role. Pure; thread-safe. */
bool contributor_filter_match(const struct contributor_row *c, const struct contributor_filter *f);

/* True when two role IDs name the same role. The one place contributors compare role IDs, so
 * a role known under two IDs (an alias) is settled here for every caller. */
bool contributor_same_role(const char *a, const char *b);

/* The assignment ID of role_id held by account_id on site_id: a 19-digit decimal numeral derived
 * only from the three IDs (FNV-1a 64 of "site|account|role", mapped onto 10^18..10^19-1), so
 * the same assignment always has the same ID, on every server and store, without storing it.
 * Writes it with its NUL into out. Pure; thread-safe. */
void contributor_assignment_id(const char *site_id, const char *account_id, const char *role_id,
                               char out[SI_ASSIGNMENT_ID_LEN]);

#endif
