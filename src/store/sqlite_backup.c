/* store_backup for SQLite: the online backup API copies the database from one read snapshot of a
 * pooled reader (WAL: writers go on meanwhile) into a temporary file beside the target, which is
 * checked, synced and renamed into place, so the target is either absent or a whole copy. */
#include "sqlite_int.h"

#include "common/log.h"
#include "common/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BACKUP_TMP_SUFFIX ".partial"

/* Runs PRAGMA integrity_check on the copy: "ok" or SI_ESTORE with SQLite's first complaint. */
static enum si_err check_copy(sqlite3 *db, const char *path)
{
    sqlite3_stmt *s = NULL;
    enum si_err rc = SI_ESTORE;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
        const char *r = (const char *)sqlite3_column_text(s, 0);
        if (r && strcmp(r, "ok") == 0)
            rc = SI_OK;
        else
            log_error("store: backup %s fails its integrity check: %s", path, r ? r : "?");
    } else {
        log_error("store: backup %s: cannot run the integrity check: %s", path, sqlite3_errmsg(db));
    }
    sqlite3_finalize(s);
    return rc;
}

/* Copies the reader's database into the open destination db in one step (one snapshot). */
static enum si_err copy_all(struct sq_conn *c, sqlite3 *dst, const char *path, int *pages)
{
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", c->db, "main");
    if (!b) {
        log_error("store: backup to %s: %s", path, sqlite3_errmsg(dst));
        return SI_ESTORE;
    }
    /* -1: every page at once, under one read transaction, so the copy is one snapshot even
     * while the writer commits (a stepwise copy would restart on every write). */
    int r = sqlite3_backup_step(b, -1);
    *pages = sqlite3_backup_pagecount(b);
    sqlite3_backup_finish(b);
    if (r != SQLITE_DONE) {
        log_error("store: backup to %s: %s", path, sqlite3_errstr(r));
        return SI_ESTORE;
    }
    return SI_OK;
}

/* fsync of a file by path, so the rename below publishes durable bytes. */
static enum si_err sync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        log_error("store: backup %s: cannot sync: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return SI_EIO;
    }
    close(fd);
    return SI_OK;
}

enum si_err sq_backup(void *be, const char *path, int *pages)
{
    struct sq_store *st = be;
    struct sq_conn *c = NULL;
    sqlite3 *dst = NULL;
    size_t n = strlen(path) + sizeof BACKUP_TMP_SUFFIX;
    char *tmp = xmalloc(n);
    snprintf(tmp, n, "%s%s", path, BACKUP_TMP_SUFFIX);
    *pages = 0;
    /* The copy holds every invitee's address and the key hashes: 0600 like the database. */
    unlink(tmp);
    int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        log_error("store: backup: cannot create %s: %s", tmp, strerror(errno));
        free(tmp);
        return SI_EIO;
    }
    close(fd);
    enum si_err rc = sq_borrow(st, &c);
    if (!rc && sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        log_error("store: backup: cannot open %s: %s", tmp,
                  dst ? sqlite3_errmsg(dst) : "out of memory");
        rc = SI_ESTORE;
    }
    if (!rc)
        rc = copy_all(c, dst, path, pages);
    if (c)
        sq_return(st, c);
    /* The copy is a standalone file: back to a rollback journal, so no -wal is needed. */
    if (!rc && sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) != SQLITE_OK)
        rc = SI_ESTORE;
    if (!rc)
        rc = check_copy(dst, path);
    sqlite3_close(dst);
    if (!rc)
        rc = sync_path(tmp);
    if (!rc && rename(tmp, path) != 0) {
        log_error("store: backup: cannot rename %s to %s: %s", tmp, path, strerror(errno));
        rc = SI_EIO;
    }
    if (rc)
        unlink(tmp);
    free(tmp);
    return rc;
}
