/* The server secret file (32 random bytes, mode 0600) and the paths derived from the database
 * URL: where the secret, dev.json and a sqlite file's folder live. */
#ifndef SI_CLI_SECRET_H
#define SI_CLI_SECRET_H

#include "cli/config.h"
#include "common/err.h"
#include "common/secure.h"

#include <stdint.h>
#include <sys/types.h>

#define SECRET_FILE_NAME "secret.key"
#define DEV_FILE_NAME    "dev.json"
#define SECRET_DIR_MODE  0700 /* a folder we create to hold the secret */
#define DATA_DIR_MODE    0755 /* a folder we create for a sqlite database or a maildir */

/* Loads the secret from path, or creates it (mode 0600, SECURE_KEY_LEN random bytes from rng,
 * parent folders made) when absent. Refuses a file that group or others may read or write, a
 * non-regular file, or one of the wrong size, with a message in err: SI_ECONFIG for those,
 * SI_EIO for a failed system call. *created tells whether the file was new (may be NULL).
 * The caller wipes out when done. */
enum si_err secret_load_or_create(const char *path, const struct random_source *rng,
                                  uint8_t out[SECURE_KEY_LEN], bool *created,
                                  char err[CLI_ERR_MAX]) SI_MUST_USE;

/* The file path of a sqlite URL ("sqlite:PATH" or a bare path), or NULL for a server URL
 * (postgres://, postgresql://). Borrowed from url. */
const char *secret_sqlite_path(const char *url);

/* The folder beside the database: dirname of a sqlite file; NULL for a server database.
 * Returns a heap string the caller frees. */
char *secret_db_dir(const char *url);

/* The secret's path: the --secret-file setting, else DIR/secret.key beside a sqlite file.
 * Heap string; NULL with a message in err for a server database without --secret-file. */
char *secret_default_path(const struct settings *s, char err[CLI_ERR_MAX]);

/* Creates path and its missing parents with mode (like mkdir -p). SI_EIO with err set. */
enum si_err secret_mkdirs(const char *path, mode_t mode, char err[CLI_ERR_MAX]) SI_MUST_USE;

#endif
