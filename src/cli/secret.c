/* The server secret file and the paths derived from the database URL. */
#include "cli/secret.h"

#include "common/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_MODE   0600
#define SQLITE_PREFIX "sqlite:"
#define LOAD_ATTEMPTS 2 /* a lost creation race is followed by one more load */

const char *secret_sqlite_path(const char *url)
{
    if (!url)
        return NULL;
    if (strncmp(url, SQLITE_PREFIX, strlen(SQLITE_PREFIX)) == 0)
        return url + strlen(SQLITE_PREFIX);
    /* Anything with a scheme other than sqlite is a server (postgres://, or an unknown one
     * that store_open will refuse); a bare path is a sqlite file. */
    return strstr(url, "://") ? NULL : url;
}

char *secret_db_dir(const char *url)
{
    const char *path = secret_sqlite_path(url);
    if (!path || !*path)
        return NULL;
    char *copy = xstrdup(path);
    char *dir = xstrdup(dirname(copy)); /* dirname may modify and point into copy */
    free(copy);
    return dir;
}

char *secret_default_path(const struct settings *s, char err[CLI_ERR_MAX])
{
    if (s->secret_file)
        return xstrdup(s->secret_file);
    char *dir = secret_db_dir(s->db);
    if (!dir) {
        snprintf(err, CLI_ERR_MAX,
                 "--secret-file is required with a server database (several processes must "
                 "share one secret)");
        return NULL;
    }
    char *path = xasprintf("%s/%s", dir, SECRET_FILE_NAME);
    free(dir);
    return path;
}

enum si_err secret_mkdirs(const char *path, mode_t mode, char err[CLI_ERR_MAX])
{
    char *p = xstrdup(path);
    enum si_err rc = SI_OK;
    size_t n = strlen(p);
    /* Each prefix ending before a '/' is a parent; then the path itself. */
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char saved = p[i];
        p[i] = '\0';
        struct stat st;
        if (mkdir(p, mode) != 0 && (errno != EEXIST || stat(p, &st) != 0 || !S_ISDIR(st.st_mode))) {
            snprintf(err, CLI_ERR_MAX, "cannot create folder %s: %s", p,
                     errno == EEXIST ? "a file of that name exists" : strerror(errno));
            rc = SI_EIO;
            goto out;
        }
        p[i] = saved;
    }
out:
    free(p);
    return rc;
}

/* Reads an existing secret. SI_ENOTFOUND (no message) when the file does not exist. */
static enum si_err load(const char *path, uint8_t out[SECURE_KEY_LEN], char err[CLI_ERR_MAX])
{
    enum si_err rc = SI_OK;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return SI_ENOTFOUND;
        snprintf(err, CLI_ERR_MAX, "cannot open secret file %s: %s", path, strerror(errno));
        return errno == ELOOP ? SI_ECONFIG : SI_EIO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, CLI_ERR_MAX, "cannot stat secret file %s: %s", path, strerror(errno));
        rc = SI_EIO;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, CLI_ERR_MAX, "secret file %s is not a regular file", path);
        rc = SI_ECONFIG;
        goto out;
    }
    /* Anyone who can read the secret can forge accept links: refuse rather than warn. */
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(err, CLI_ERR_MAX,
                 "secret file %s has mode %04o: group and others must have no access "
                 "(run: chmod 600 %s)",
                 path, (unsigned)(st.st_mode & 07777), path);
        rc = SI_ECONFIG;
        goto out;
    }
    if (st.st_size != SECURE_KEY_LEN) {
        snprintf(err, CLI_ERR_MAX, "secret file %s must hold exactly %d bytes, it has %lld", path,
                 SECURE_KEY_LEN, (long long)st.st_size);
        rc = SI_ECONFIG;
        goto out;
    }
    ssize_t got = read(fd, out, SECURE_KEY_LEN);
    if (got != SECURE_KEY_LEN) {
        snprintf(err, CLI_ERR_MAX, "cannot read secret file %s: %s", path,
                 got < 0 ? strerror(errno) : "short read");
        rc = SI_EIO;
    }
out:
    close(fd);
    return rc;
}

/* Writes a new secret under a temporary name, then links it into place, so no reader ever
 * sees a partial file and two processes starting at once agree on one secret (the loser of
 * link() reads the winner's). SI_EEXIST when another process won. */
static enum si_err create(const char *path, const struct random_source *rng, char err[CLI_ERR_MAX])
{
    enum si_err rc = SI_OK;
    uint8_t key[SECURE_KEY_LEN];
    char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, SECRET_MODE);
    if (fd < 0) {
        snprintf(err, CLI_ERR_MAX, "cannot create secret file %s: %s", tmp, strerror(errno));
        rc = SI_EIO;
        goto out;
    }
    random_fill(rng, key, sizeof key);
    bool ok = write(fd, key, sizeof key) == (ssize_t)sizeof key && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok) {
        snprintf(err, CLI_ERR_MAX, "cannot write secret file %s: %s", tmp, strerror(errno));
        rc = SI_EIO;
    } else if (link(tmp, path) != 0) {
        if (errno == EEXIST) {
            rc = SI_EEXIST;
        } else {
            snprintf(err, CLI_ERR_MAX, "cannot create secret file %s: %s", path, strerror(errno));
            rc = SI_EIO;
        }
    }
    unlink(tmp);
out:
    secure_wipe(key, sizeof key);
    free(tmp);
    return rc;
}

enum si_err secret_load_or_create(const char *path, const struct random_source *rng,
                                  uint8_t out[SECURE_KEY_LEN], bool *created, char err[CLI_ERR_MAX])
{
    if (created)
        *created = false;
    for (int attempt = 0; attempt < LOAD_ATTEMPTS; attempt++) {
        enum si_err rc = load(path, out, err);
        if (rc != SI_ENOTFOUND)
            return rc;
        char *copy = xstrdup(path);
        rc = secret_mkdirs(dirname(copy), SECRET_DIR_MODE, err);
        free(copy);
        if (!rc)
            rc = create(path, rng, err);
        if (rc == SI_EEXIST)
            continue;
        if (rc)
            return rc;
        if (created)
            *created = true;
        /* Read back what is on disk, so the caller's bytes are the file's bytes. */
        return load(path, out, err);
    }
    snprintf(err, CLI_ERR_MAX, "secret file %s keeps changing; is another process removing it?",
             path);
    return SI_EIO;
}
