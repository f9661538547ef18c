/* Contributor rules: the Query Site Contributors filter and assignment IDs (contributor.h). */
#include "core/contributor.h"

#include "core/roles.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define FNV64_OFFSET   UINT64_C(14695981039346656037)
#define FNV64_PRIME    UINT64_C(1099511628211)
#define NUMERAL_FLOOR  UINT64_C(1000000000000000000) /* 10^18: the smallest 19-digit numeral */
#define NUMERAL_SPREAD UINT64_C(9000000000000000000) /* 10^19 - 10^18 numerals of 19 digits */

bool contributor_same_role(const char *a, const char *b)
{
    /* The old Admin ID is an alias of Wix's: a filter with either finds both. */
    return strcmp(roles_canonical_id(a), roles_canonical_id(b)) == 0;
}

/* At least one of want[0..n) is in have (policy IDs compared as roles when roles is set). */
static bool holds_any(const struct policy_list *have, const char *const *want, size_t n, bool roles)
{
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < have->n; j++)
            if (roles ? contributor_same_role(have->ids[j], want[i])
                      : strcmp(have->ids[j], want[i]) == 0)
                return true;
    return false;
}

bool contributor_filter_match(const struct contributor_row *c, const struct contributor_filter *f)
{
    if (f->npolicies && !holds_any(&c->policies, f->policy_ids, f->npolicies, true))
        return false;
    if (f->nlocations && !holds_any(&c->locations, f->location_ids, f->nlocations, false))
        return false;
    return true;
}

static uint64_t fnv_add(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= FNV64_PRIME;
    }
    return h;
}

void contributor_assignment_id(const char *site_id, const char *account_id, const char *role_id,
                               char out[SI_ASSIGNMENT_ID_LEN])
{
    /* The separators keep ("ab","c") and ("a","bc") apart; GUIDs and role IDs have no '|'. */
    uint64_t h = fnv_add(FNV64_OFFSET, site_id);
    h = fnv_add(h, "|");
    h = fnv_add(h, account_id);
    h = fnv_add(h, "|");
    h = fnv_add(h, role_id);
    snprintf(out, SI_ASSIGNMENT_ID_LEN, "%" PRIu64, NUMERAL_FLOOR + h % NUMERAL_SPREAD);
}
