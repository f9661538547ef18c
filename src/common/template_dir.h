/* Template folders on disk: reading one file with its checks, listing a family's language
 * folders (<templates_dir>/mail/<lang>/, .../pages/<lang>/) and the one language fallback. */
#ifndef SI_COMMON_TEMPLATE_DIR_H
#define SI_COMMON_TEMPLATE_DIR_H

#include "err.h"

#include <stddef.h>

#define TEMPLATE_FILE_MAX      (64 * 1024) /* bytes of one template file */
#define TEMPLATE_LANGS_MAX     32          /* language folders of one family */
#define TEMPLATE_LANG_MAX      36          /* bytes of a language folder name, NUL included */
#define TEMPLATE_PATH_MAX      4096        /* bytes of a template file's path */
#define TEMPLATE_LANG_FALLBACK "en"

/* The language folders found, in directory order; one of them is TEMPLATE_LANG_FALLBACK. */
struct template_langs {
    char name[TEMPLATE_LANGS_MAX][TEMPLATE_LANG_MAX];
    int n;
};

/* Reads the file at path into a NUL-terminated heap string (*text, freed by the caller) of
 * *len bytes, with CR LF and lone CR made LF (a translator's editor may save CRLF). Errors are
 * logged with the path: SI_ECONFIG when it cannot be read, SI_ETOOBIG past TEMPLATE_FILE_MAX,
 * SI_EINVAL when it holds a NUL or is not valid UTF-8. */
enum si_err template_dir_read(const char *path, char **text, size_t *len) SI_MUST_USE;

/* Lists the folders of dir whose names are language tags (2-3 letters, then alphanumeric
 * subtags after '-' or '_'); every other entry is ignored. Errors are logged: SI_ECONFIG when
 * dir cannot be opened or has no TEMPLATE_LANG_FALLBACK folder, SI_ETOOBIG past
 * TEMPLATE_LANGS_MAX folders. */
enum si_err template_dir_langs(const char *dir, struct template_langs *out) SI_MUST_USE;

/* The index in l of the folder named tag (NULL or "" finds nothing), ignoring case, else of
 * the one named its primary subtag ("pt-BR" finds "pt"); -1 when neither exists. */
int template_dir_find(const struct template_langs *l, const char *tag);

/* The one language fallback: the index in l of the first of want1, want2 (NULL or "" skip)
 * that template_dir_find finds, else of TEMPLATE_LANG_FALLBACK; -1 only when l lacks that too.
 * Thread-safe. */
int template_dir_pick(const struct template_langs *l, const char *want1, const char *want2);

#endif
