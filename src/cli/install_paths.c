/* Paths of an installed siteinvites, found from the running binary's own location. */
#include "cli/install_paths.h"

#include "common/xalloc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TEMPLATES_LOCAL "templates"
#define SELF_EXE        "/proc/self/exe"

/* From CMake: the data dir relative to the bin dir ("../share/siteinvites"), and the source
 * tree. Defaults keep the file compiling on its own (tests, tools). */
#ifndef SI_DATADIR_FROM_BINDIR
#define SI_DATADIR_FROM_BINDIR "../share/siteinvites"
#endif

/* True when path names an existing folder. */
static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *install_data_dir(void)
{
    char exe[INSTALL_PATH_MAX];
    ssize_t n = readlink(SELF_EXE, exe, sizeof exe - 1);
    if (n <= 0 || (size_t)n >= sizeof exe - 1)
        return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    return xasprintf("%s/%s", exe, SI_DATADIR_FROM_BINDIR);
}

char *install_templates_dir(void)
{
    if (is_dir(TEMPLATES_LOCAL))
        return xstrdup(TEMPLATES_LOCAL);
    char *data = install_data_dir();
    char *installed = data ? xasprintf("%s/" TEMPLATES_LOCAL, data) : NULL;
    free(data);
    if (installed && is_dir(installed))
        return installed;
    /* A binary in its build tree: the checkout's templates, edited in place. */
    if (is_dir(SI_SOURCE_DIR "/" TEMPLATES_LOCAL) || !installed) {
        free(installed);
        return xstrdup(SI_SOURCE_DIR "/" TEMPLATES_LOCAL);
    }
    return installed;
}
