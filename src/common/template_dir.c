/* Reading template files and language folders, and choosing a language among them. */
#include "template_dir.h"

#include "log.h"
#include "template.h"
#include "xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* CR LF and lone CR become LF, in place; returns the new length. */
static size_t normalise_line_ends(char *text, size_t len)
{
    size_t w = 0;
    for (size_t r = 0; r < len; r++) {
        if (text[r] == '\r' && r + 1 < len && text[r + 1] == '\n')
            continue;
        text[w++] = text[r] == '\r' ? '\n' : text[r];
    }
    text[w] = '\0';
    return w;
}

enum si_err template_dir_read(const char *path, char **text, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        log_error("templates: cannot open %s: %s", path, strerror(errno));
        return SI_ECONFIG;
    }
    char *data = xmalloc(TEMPLATE_FILE_MAX + 2);
    size_t n = fread(data, 1, TEMPLATE_FILE_MAX + 1, f);
    enum si_err rc = ferror(f) ? SI_ECONFIG : n > TEMPLATE_FILE_MAX ? SI_ETOOBIG : SI_OK;
    fclose(f);
    if (rc) {
        log_error("templates: cannot read %s: %s", path,
                  rc == SI_ETOOBIG ? "larger than 64 KiB" : "read error");
        goto out;
    }
    n = normalise_line_ends(data, n);
    if (memchr(data, '\0', n) != NULL || !template_utf8_valid(data, n)) {
        log_error("templates: %s is not UTF-8 text (invalid UTF-8 or a NUL byte)", path);
        rc = SI_EINVAL;
        goto out;
    }
    *text = data;
    *len = n;
    data = NULL;
out:
    free(data);
    return rc;
}

/* A folder name that looks like a language tag: 2-3 letters, then [-_] alphanumeric subtags. */
static bool lang_name_ok(const char *s)
{
    size_t n = strlen(s), letters = 0;
    while (letters < n &&
           ((s[letters] >= 'a' && s[letters] <= 'z') || (s[letters] >= 'A' && s[letters] <= 'Z')))
        letters++;
    if (letters < 2 || letters > 3 || n >= TEMPLATE_LANG_MAX)
        return false;
    for (size_t i = letters; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  ((c == '-' || c == '_') && i + 1 < n && s[i - 1] != '-' && s[i - 1] != '_');
        if (!ok)
            return false;
    }
    return true;
}

/* True when dir/name is a folder. */
static bool is_dir(const char *dir, const char *name)
{
    char path[TEMPLATE_PATH_MAX];
    struct stat st;
    int len = snprintf(path, sizeof path, "%s/%s", dir, name);
    return len >= 0 && (size_t)len < sizeof path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

enum si_err template_dir_langs(const char *dir, struct template_langs *out)
{
    DIR *d = opendir(dir);
    if (!d) {
        log_error("templates: cannot open folder %s: %s", dir, strerror(errno));
        return SI_ECONFIG;
    }
    enum si_err rc = SI_OK;
    struct dirent *e;
    out->n = 0;
    while (!rc && (e = readdir(d)) != NULL) {
        if (!lang_name_ok(e->d_name) || !is_dir(dir, e->d_name))
            continue;
        if (out->n == TEMPLATE_LANGS_MAX) {
            log_error("templates: more than %d languages in %s", TEMPLATE_LANGS_MAX, dir);
            rc = SI_ETOOBIG;
            break;
        }
        /* lang_name_ok refused names of TEMPLATE_LANG_MAX bytes or more. */
        memcpy(out->name[out->n++], e->d_name, strlen(e->d_name) + 1);
    }
    closedir(d);
    /* Every lookup ends at the fallback, so a set without it must not start. */
    if (!rc && template_dir_pick(out, NULL, NULL) < 0) {
        log_error("templates: %s has no '%s' folder (the fallback language)", dir,
                  TEMPLATE_LANG_FALLBACK);
        rc = SI_ECONFIG;
    }
    return rc;
}

int template_dir_find(const struct template_langs *l, const char *tag)
{
    if (!tag || !*tag)
        return -1;
    for (int i = 0; i < l->n; i++)
        if (strcasecmp(l->name[i], tag) == 0)
            return i;
    /* Templates exist per language more often than per region. */
    size_t primary = strcspn(tag, "-_");
    for (int i = 0; i < l->n; i++)
        if (strlen(l->name[i]) == primary && strncasecmp(l->name[i], tag, primary) == 0)
            return i;
    return -1;
}

int template_dir_pick(const struct template_langs *l, const char *want1, const char *want2)
{
    int i = template_dir_find(l, want1);
    if (i < 0)
        i = template_dir_find(l, want2);
    if (i < 0)
        i = template_dir_find(l, TEMPLATE_LANG_FALLBACK);
    return i;
}
