/* The site settings transaction of both backends: load the site's settings locked, let core
 * apply the patch and decide the audit entry, write both or nothing. */
#include "txn.h"

#include "core/audit.h"

/* The body inside the caller's transaction; SI_OK without a write when nothing changes. */
static enum si_err settings_body(const struct txn_steps *s, void *conn,
                                 const struct txn_settings *a)
{
    struct site_settings before, after;
    enum si_err rc = s->site_settings_load(conn, a->site_id, &before);
    if (rc)
        return rc;
    after = before;
    site_settings_apply(&after, a->patch);
    struct audit_entry e;
    if (!audit_site_settings_changed(a->site_id, &before, &after, a->actor, a->now, &e))
        return SI_OK; /* a no-op PATCH: no write, no entry */
    rc = s->site_settings_write(conn, a->site_id, &after);
    if (!rc)
        rc = s->audit_add(conn, &e);
    audit_entry_cleanup(&e);
    return rc;
}

enum si_err txn_settings_run(const struct txn_steps *s, void *conn, const struct txn_settings *a)
{
    enum si_err rc = s->begin(conn);
    if (rc)
        return rc;
    rc = settings_body(s, conn, a);
    if (!rc)
        return s->commit(conn);
    s->rollback(conn);
    return rc;
}
