/* The audit log at the API: the actor of a request (carried down to the store, which writes the
 * entry in the change's transaction) and the site's log, GET /invites/audit-log. */
#ifndef SI_API_AUDIT_H
#define SI_API_AUDIT_H

#include "core/audit.h"
#include "request/request.h"

/* Fills out with req's actor: its API key (ID and name, never the key) when the request has
 * one, else an actor without a type (the store records the system), and req's request ID.
 * Returns out, so a call can be an argument. */
const struct audit_actor *api_audit_actor(const struct request *req, struct audit_actor *out);

/* Reads the audit log's query arguments of req (action, actorType, actorId, since, until,
 * limit, cursor) into q, whose site_id and account_id the caller sets; violations go to vs.
 * q->actor_id borrows req's argument. The API and the console's audit page both read them. */
struct audit_query;
struct violations;
void api_audit_query_parse(const struct request *req, struct audit_query *q, struct violations *vs);
/* GET /invites/audit-log (site-scoped, site-users.read): one page of the site's entries, oldest
 * first; query arguments action, actorType, actorId, since, until (RFC 3339), limit, cursor.
 * Answers {entries: [...], pagingMetadata: {count, cursors: {next?}, hasNext}}. */
void api_audit_log(struct request *req);

#endif
