/* Fresh database URLs for store tests (see store_fixture.h). */
#include "store_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIXTURE_PREFIX   "sqlite:/tmp/si-store-"
#define FIXTURE_DB       "/db.sqlite"
#define FIXTURE_PATH_MAX 512

char *store_fixture_url(void)
{
    const char *env = getenv(STORE_FIXTURE_ENV);
    if (env && *env)
        return strdup(env);
    char dir[] = "/tmp/si-store-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("store_fixture: mkdtemp");
        abort();
    }
    size_t n = strlen("sqlite:") + strlen(dir) + strlen(FIXTURE_DB) + 1;
    char *url = malloc(n);
    if (!url)
        abort();
    snprintf(url, n, "sqlite:%s%s", dir, FIXTURE_DB);
    return url;
}

bool store_fixture_is_private(const char *url)
{
    return url && strncmp(url, FIXTURE_PREFIX, strlen(FIXTURE_PREFIX)) == 0;
}

void store_fixture_remove(const char *url)
{
    if (!store_fixture_is_private(url))
        return;
    const char *path = url + strlen("sqlite:");
    char p[FIXTURE_PATH_MAX];
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s", path);
    char *slash = strrchr(p, '/');
    if (slash) {
        *slash = '\0';
        rmdir(p);
    }
}
