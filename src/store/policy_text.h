/* The stored form of a role list, shared by both backends: ",id1,id2," in one text column, so
 * a bulk insert stays one row per invite and "holds role X" is a substring test on ",X,".
 * Internal to src/store. */
#ifndef SI_STORE_POLICY_TEXT_H
#define SI_STORE_POLICY_TEXT_H

#include "common/err.h"
#include "core/invite.h"

/* Every policy ID with a comma after it and one in front, plus the NUL. */
#define POLICY_TEXT_MAX (SI_POLICIES_MAX * SI_POLICY_ID_MAX + 2)

/* Writes p as ",id1,id2,"; SI_EINVAL for an empty, too long or comma-holding ID. */
enum si_err policy_text_encode(const struct policy_list *p, char out[POLICY_TEXT_MAX]) SI_MUST_USE;
/* Reads ",id1,id2," (NULL = none) into p, keeping at most SI_POLICIES_MAX IDs. */
void policy_text_decode(const char *text, struct policy_list *p);

/* Runs a backend's rewrite of each retired role ID (core's roles_aliases): fn gets the stored
 * forms ",old," and ",new," to replace in role lists, and the old ID to drop from the roles
 * table. Stops at, and returns, the first error. For the "Wix's role IDs" migration. */
enum si_err policy_text_each_alias(enum si_err (*fn)(void *ctx, const char *from, const char *to,
                                                     const char *old_id),
                                   void *ctx) SI_MUST_USE;

#endif
