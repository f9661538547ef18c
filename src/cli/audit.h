/* `siteinvites audit export`: a site's audit log as JSON lines, for a SIEM. */
#ifndef SI_CLI_AUDIT_H
#define SI_CLI_AUDIT_H

#include "cli/cli.h"

/* Writes every entry of --site from --since (inclusive) to --until (exclusive; default: no end)
 * oldest first, one JSON object per line (the API's entry shape, docs/AUDIT.md), to --out
 * (created 0600, replaced) or standard output. Reads the database directly, so it needs the
 * database setting, not a key. Exit codes: 0, 1 for bad arguments or an unknown site, 2 for a
 * storage or file failure. Main thread only. */
int cli_audit_export(const struct cli_cmd *cmd, const struct settings *s, const struct cli_args *a);
/* Its options (static storage, NULL-flag terminated), for the command table. */
extern const struct cli_opt audit_export_options[];

#endif
