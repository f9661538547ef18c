/* Translator-edited text tables: one JSON file per language folder (<dir>/<lang>/<file>), each
 * an object of keys holding objects of named texts, loaded once and read with the one language
 * fallback of template_dir_pick. The role titles of templates/roles/ are the first such table. */
#ifndef SI_COMMON_TEXT_TABLE_H
#define SI_COMMON_TEXT_TABLE_H

#include "err.h"

#include <stddef.h>

#define TEXT_TABLE_TEXT_MAX 1024 /* bytes of one text, NUL excluded */

struct text_table;

/* An empty table (no languages yet); never NULL, aborts on out-of-memory. */
struct text_table *text_table_new(void);

/* Frees a table; NULL is accepted. */
void text_table_free(struct text_table *t);

/* Adds language lang (a language-tag name) from json, len bytes of text: an object whose members
 * are objects whose members are strings of at most TEXT_TABLE_TEXT_MAX bytes without control
 * characters. origin names the text in the error log (a file path). SI_EINVAL for text of
 * another shape or a language added twice, SI_ETOOBIG past TEMPLATE_LANGS_MAX languages; errors
 * are logged. No I/O: tests build tables from strings. Not thread-safe against readers. */
enum si_err text_table_add(struct text_table *t, const char *lang, const char *json, size_t len,
                           const char *origin) SI_MUST_USE;

/* Checks a whole table after loading (for instance that it holds every key the caller needs);
 * returns SI_OK, or an error with the reason written to why (cap bytes). */
typedef enum si_err (*text_table_check_fn)(const struct text_table *t, char *why, size_t cap);

/* Loads <templates_dir>/<family>/<lang>/<file> for every folder of the family whose name is a
 * language tag (a folder without the file is an error), then runs check (may be NULL). *out is
 * NULL, with SI_OK, when the family folder does not exist: the caller keeps its built-in texts.
 * Errors are logged with the path or check's reason: SI_ECONFIG (unreadable, or no "en"),
 * SI_EINVAL (bad content or refused by check), SI_ETOOBIG. *out is freed with text_table_free. */
enum si_err text_table_load(const char *templates_dir, const char *family, const char *file,
                            text_table_check_fn check, struct text_table **out) SI_MUST_USE;

/* The language of t that serves locale: the whole tag, else its primary subtag ("pt-BR" -> "pt"),
 * else "en" (template_dir_pick); NULL when t is NULL or has no "en". Borrowed until
 * text_table_free. Thread-safe. */
const char *text_table_pick(const struct text_table *t, const char *locale);

/* The text field of key in language lang (a name text_table_pick returned), or NULL when t,
 * the language, the key or the field is missing. Borrowed until text_table_free. Thread-safe. */
const char *text_table_get(const struct text_table *t, const char *lang, const char *key,
                           const char *field);

/* Calls fn(ctx, lang, key) for every key of every language, in language then file order; stops
 * and returns the first non-zero result of fn (0 when none). For checks at load time. */
int text_table_each(const struct text_table *t,
                    int (*fn)(void *ctx, const char *lang, const char *key), void *ctx);

#endif
