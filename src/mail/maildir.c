/* Maildir delivery: tmp/ then fsync then rename into new/, so no reader sees half a message. */
#include "maildir.h"

#include "common/log.h"
#include "common/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define MAILDIR_HOST_MAX   64  /* bytes of the sanitised host name in file names */
#define MAILDIR_UNIQUE_MAX 160 /* bytes of a unique file name, NUL included */

/* Messages written before a flush is forced, and the rows a mailer round claims (the transport's
 * batch): one syncfs, one fsync of new/ and the round's two commits are shared by all of them. */
#define MAILDIR_BATCH_MAX 500

struct maildir {
    char *root;
    /* tmp/ and new/, held open: each message's create, rename and unlink name a file relative
     * to them instead of walking the whole path twice. fresh_dir checks them once per batch. */
    int tmp_fd, new_fd;
    char host[MAILDIR_HOST_MAX];
    atomic_ulong counter; /* makes names unique within one process and microsecond */
    long pid;             /* in every name; read once (each getpid is a system call) */
    /* Written to tmp/ but not yet synced and renamed: the unique names, in send order. */
    char pending[MAILDIR_BATCH_MAX][MAILDIR_UNIQUE_MAX];
    int npending;
    /* A flush forced by a full batch failed inside send: the messages sent before it since the
     * caller's last flush were not delivered, so the caller's next flush must fail too. */
    bool lost;
};

/* Logs a system call failure once, with the path, and leaves a text without it in err for the
 * delivery record (an API caller reads lastError; the folder layout is the operator's). A full
 * file system is SI_EFULL: retried like any I/O failure, and said plainly. */
static enum si_err fail(char *err, const char *what, const char *path, int errnum)
{
    char msg[128];
    const char *why = strerror_r(errnum, msg, sizeof msg);
    bool full = errnum == ENOSPC || errnum == EDQUOT;
    log_error("maildir: %s %s: %s", what, path, why);
    if (err && full)
        snprintf(err, TRANSPORT_ERROR_MAX,
                 "maildir: the mail folder's disk is full (%s): will retry", what);
    else if (err)
        snprintf(err, TRANSPORT_ERROR_MAX, "maildir: %s: %.100s", what, why);
    return full ? SI_EFULL : SI_EIO;
}

/* mkdir -p: creates every missing component of path; an existing directory is fine. */
static enum si_err make_dirs(const char *path)
{
    char tmp[MAILDIR_PATH_MAX];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof tmp)
        return fail(NULL, "use folder", path, ENAMETOOLONG);
    memcpy(tmp, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (tmp[i] != '/' && tmp[i] != '\0')
            continue;
        char saved = tmp[i];
        tmp[i] = '\0';
        if (mkdir(tmp, MAILDIR_DIR_MODE) != 0 && errno != EEXIST)
            return fail(NULL, "mkdir", tmp, errno);
        tmp[i] = saved;
    }
    struct stat st;
    if (stat(path, &st) != 0)
        return fail(NULL, "stat", path, errno);
    if (!S_ISDIR(st.st_mode))
        return fail(NULL, "use folder", path, ENOTDIR);
    return SI_OK;
}

/* The host part of unique names, limited to characters that are safe in any file name. */
static void host_part(char out[MAILDIR_HOST_MAX])
{
    char name[MAILDIR_HOST_MAX];
    if (gethostname(name, sizeof name) != 0 || name[0] == '\0')
        snprintf(name, sizeof name, "localhost");
    name[sizeof name - 1] = '\0';
    size_t i = 0;
    for (; name[i] && i < MAILDIR_HOST_MAX - 1; i++) {
        char c = name[i];
        bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.';
        out[i] = safe ? c : '_';
    }
    out[i] = '\0';
}

/* The pid of a tmp/ name we wrote ("<s>.M<us>P<pid>Q<n>.<host>") when host is ours, else 0. */
static long own_tmp_pid(const char *name, const char *host)
{
    const char *dot = strrchr(name, '.');
    const char *p = strstr(name, "P");
    if (!dot || !p || p > dot || strcmp(dot + 1, host) != 0)
        return 0;
    char *end;
    long pid = strtol(p + 1, &end, 10);
    return end != p + 1 && *end == 'Q' && pid > 0 ? pid : 0;
}

/* Removes tmp/ files that a crashed process of this host left half-written: their writer's pid
 * no longer runs, so they can never be renamed into new/. Files of live processes, or of other
 * hosts sharing the folder, are left alone (the Maildir rule of 36 hours covers those). */
static void sweep_stale_tmp(const struct maildir *md)
{
    char dir[MAILDIR_PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s/tmp", md->root) >= (int)sizeof dir)
        return;
    DIR *d = opendir(dir);
    if (!d)
        return;
    int removed = 0;
    for (struct dirent *e; (e = readdir(d));) {
        long pid = own_tmp_pid(e->d_name, md->host);
        if (pid == 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) == 0)
            removed++;
    }
    closedir(d);
    if (removed)
        log_info("maildir: removed %d half-written file(s) left in tmp/ by a crash", removed);
}

/* Builds "<root>/<sub>/<unique><suffix>" into out; false when it does not fit. */
static bool build_path(char out[MAILDIR_PATH_MAX], const struct maildir *md, const char *sub,
                       const char *unique, const char *suffix)
{
    int n = snprintf(out, MAILDIR_PATH_MAX, "%s/%s/%s%s", md->root, sub, unique, suffix);
    return n > 0 && n < MAILDIR_PATH_MAX;
}

/* Opens root/sub for the *at calls (and fsync); -1 after logging why. */
static int open_sub(const struct maildir *md, const char *sub)
{
    char path[MAILDIR_PATH_MAX];
    if (!build_path(path, md, sub, "", "")) {
        fail(NULL, "use folder", md->root, ENAMETOOLONG);
        return -1;
    }
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        fail(NULL, "open", path, errno);
    return fd;
}

/* Reopens root/sub into *fd when the folder at that path is no longer the one held open (moved
 * or replaced while serve runs), so mail follows the path as a writer naming full paths would;
 * a path that is no longer a folder fails the batch. One stat per batch, not per message. */
static enum si_err fresh_dir(struct maildir *md, const char *sub, int *fd, char *err)
{
    char path[MAILDIR_PATH_MAX];
    struct stat now, held;
    if (!build_path(path, md, sub, "", ""))
        return fail(err, "build a file name under", md->root, ENAMETOOLONG);
    if (stat(path, &now) == 0 && S_ISDIR(now.st_mode) && fstat(*fd, &held) == 0 &&
        now.st_dev == held.st_dev && now.st_ino == held.st_ino)
        return SI_OK;
    int nfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (nfd < 0)
        return fail(err, "open", path, errno);
    close(*fd);
    *fd = nfd;
    return SI_OK;
}

/* Creates the three folders once, up front, so a bad --mail-dir fails start-up, not delivery. */
static enum si_err maildir_open(const char *target, const void *options, void **state)
{
    (void)options;
    static const char *const subdirs[] = {"tmp", "new", "cur"};
    if (!target || !*target) {
        log_error("maildir: no folder configured");
        return SI_ECONFIG;
    }
    enum si_err rc = make_dirs(target);
    for (size_t i = 0; !rc && i < sizeof subdirs / sizeof *subdirs; i++) {
        char path[MAILDIR_PATH_MAX];
        int n = snprintf(path, sizeof path, "%s/%s", target, subdirs[i]);
        rc = n < 0 || (size_t)n >= sizeof path
                 ? fail(NULL, "build a file name under", target, ENAMETOOLONG)
                 : make_dirs(path);
    }
    if (rc)
        return rc;
    struct maildir *md = xcalloc(1, sizeof *md);
    md->root = xstrdup(target);
    md->tmp_fd = open_sub(md, "tmp");
    md->new_fd = md->tmp_fd < 0 ? -1 : open_sub(md, "new");
    if (md->new_fd < 0) {
        if (md->tmp_fd >= 0)
            close(md->tmp_fd);
        free(md->root);
        free(md);
        return SI_EIO;
    }
    host_part(md->host);
    atomic_init(&md->counter, 0);
    md->pid = (long)getpid();
    sweep_stale_tmp(md);
    *state = md;
    return SI_OK;
}

/* Writes all of msg to fd, riding over short writes and signals. */
static int write_all(int fd, const char *msg, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, msg, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        msg += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Removes every pending tmp/ file: they were never delivered and will be sent again. A name
 * emptied by a rename was delivered and is skipped. */
static void drop_pending(struct maildir *md)
{
    for (int i = 0; i < md->npending; i++)
        if (md->pending[i][0])
            unlinkat(md->tmp_fd, md->pending[i], 0);
    md->npending = 0;
}

/* Logs and words a failed call on the file unique (in sub/, with suffix) by its full path. */
static enum si_err fail_at(char *err, const char *what, const struct maildir *md, const char *sub,
                           const char *unique, const char *suffix, int errnum)
{
    char path[MAILDIR_PATH_MAX];
    if (!build_path(path, md, sub, unique, suffix))
        snprintf(path, sizeof path, "%s/%s/...", md->root, sub);
    return fail(err, what, path, errnum);
}

/* The Maildir protocol, a batch at a time: every pending file's bytes are made durable with one
 * syncfs (one journal commit instead of one fsync per message), then each is renamed into new/
 * (atomic: a reader sees the whole message or nothing), then new/ itself is synced so the
 * renames survive a crash. Data is durable before any name appears in new/. */
static enum si_err maildir_flush(void *state, char err[TRANSPORT_ERROR_MAX])
{
    struct maildir *md = state;
    if (md->lost) {
        md->lost = false;
        drop_pending(md);
        if (err)
            snprintf(err, TRANSPORT_ERROR_MAX, "maildir: an earlier part of this batch failed");
        return SI_EIO;
    }
    if (md->npending == 0)
        return SI_OK;
    enum si_err rc = fresh_dir(md, "new", &md->new_fd, err);
    if (!rc && syncfs(md->tmp_fd) != 0)
        rc = fail_at(err, "syncfs", md, "tmp", "", "", errno);
    char dst[MAILDIR_UNIQUE_MAX + sizeof MAILDIR_SUFFIX];
    for (int i = 0; !rc && i < md->npending; i++) {
        snprintf(dst, sizeof dst, "%s%s", md->pending[i], MAILDIR_SUFFIX);
        if (renameat(md->tmp_fd, md->pending[i], md->new_fd, dst) != 0)
            rc = fail_at(err, "rename into new/", md, "tmp", md->pending[i], "", errno);
        else
            md->pending[i][0] = '\0'; /* delivered: nothing left to drop */
    }
    /* Makes the renames durable: the directory entries live in new/, not in the files. */
    if (!rc && fsync(md->new_fd) != 0)
        rc = fail_at(err, "fsync", md, "new", "", "", errno);
    drop_pending(md); /* on failure: the rest were never delivered (unique names are skipped) */
    return rc;
}

/* Writes one message under a unique name in tmp/ and leaves it pending until the next flush. */
static enum si_err maildir_send(void *state, const struct mail_envelope *env, const char *msg,
                                size_t len, char err[TRANSPORT_ERROR_MAX])
{
    (void)env;
    struct maildir *md = state;
    if (md->npending == MAILDIR_BATCH_MAX) {
        enum si_err frc = maildir_flush(md, err);
        if (frc) {
            md->lost = true; /* the caller believes the earlier sends succeeded */
            return frc;
        }
    }
    if (md->npending == 0) {
        enum si_err frc = fresh_dir(md, "tmp", &md->tmp_fd, err);
        if (frc)
            return frc;
    }
    char *unique = md->pending[md->npending];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    /* Seconds, microseconds, pid and a counter: unique across processes sharing the folder and
     * across messages within one microsecond; O_EXCL below turns any clash into an error. */
    unsigned long q = atomic_fetch_add(&md->counter, 1);
    snprintf(unique, MAILDIR_UNIQUE_MAX, "%lld.M%06ldP%ldQ%lu.%s", (long long)tv.tv_sec,
             (long)tv.tv_usec, md->pid, q, md->host);
    enum si_err rc = SI_OK;
    int fd = openat(md->tmp_fd, unique, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, MAILDIR_FILE_MODE);
    if (fd < 0)
        return fail_at(err, "create", md, "tmp", unique, "", errno);
    if (write_all(fd, msg, len) != 0)
        rc = fail_at(err, "write", md, "tmp", unique, "", errno);
    /* close can report a deferred write error (NFS); it counts as a failed delivery. */
    if (close(fd) != 0 && !rc)
        rc = fail_at(err, "close", md, "tmp", unique, "", errno);
    if (rc) {
        /* never leave half a message behind; it would look like a stale tmp file */
        unlinkat(md->tmp_fd, unique, 0);
        return rc;
    }
    md->npending++;
    return SI_OK;
}

/* Nothing is held open between messages; closing drops what was never flushed and frees. */
static void maildir_close(void *state)
{
    struct maildir *md = state;
    if (!md)
        return;
    drop_pending(md); /* not flushed = not delivered: the rows are sent again */
    close(md->tmp_fd);
    close(md->new_fd);
    free(md->root);
    free(md);
}

const struct transport_ops maildir_transport = {
    .name = "maildir",
    .open = maildir_open,
    .send = maildir_send,
    .flush = maildir_flush,
    .close = maildir_close,
    .batch = MAILDIR_BATCH_MAX,
};
