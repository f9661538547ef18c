/* Text tables edited by translators: per language, key -> {field: text}, read from JSON files. */
#include "text_table.h"

#include "log.h"
#include "template_dir.h"
#include "xalloc.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define TEXT_TABLE_WHY_MAX 256 /* bytes of a check's reason */

struct text_table {
    struct template_langs langs;       /* names, so lookups share template_dir_pick's fallback */
    json_t *texts[TEMPLATE_LANGS_MAX]; /* owned; read-only once added, so readers share them */
};

struct text_table *text_table_new(void)
{
    return xcalloc(1, sizeof(struct text_table));
}

void text_table_free(struct text_table *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->langs.n; i++)
        json_decref(t->texts[i]);
    free(t);
}

/* A text a translator may write: bounded, and no control characters (it lands in headers and
 * HTML; a stray TAB or newline is a typo, not a layout). jansson already checked the UTF-8. */
static bool text_ok(const json_t *v)
{
    if (!json_is_string(v) || json_string_length(v) > TEXT_TABLE_TEXT_MAX)
        return false;
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* True when root is {key: {field: text}}; names the first offender in the log. */
static bool shape_ok(const json_t *root, const char *origin)
{
    const char *key, *field;
    const json_t *entry, *v;
    if (!json_is_object(root)) {
        log_error("texts: %s: must be a JSON object of keys", origin);
        return false;
    }
    json_object_foreach((json_t *)root, key, entry)
    {
        if (!json_is_object(entry)) {
            log_error("texts: %s: \"%s\" must be an object of texts", origin, key);
            return false;
        }
        json_object_foreach((json_t *)entry, field, v) if (!text_ok(v))
        {
            log_error("texts: %s: \"%s\".\"%s\" must be a string of at most %d bytes without "
                      "control characters",
                      origin, key, field, TEXT_TABLE_TEXT_MAX);
            return false;
        }
    }
    return true;
}

enum si_err text_table_add(struct text_table *t, const char *lang, const char *json, size_t len,
                           const char *origin)
{
    bool twice = false;
    for (int i = 0; i < t->langs.n; i++)
        twice |= strcasecmp(t->langs.name[i], lang) == 0;
    if (twice || strlen(lang) >= TEMPLATE_LANG_MAX) {
        log_error("texts: %s: language '%s' given twice or too long", origin, lang);
        return SI_EINVAL;
    }
    if (t->langs.n == TEMPLATE_LANGS_MAX) {
        log_error("texts: %s: more than %d languages", origin, TEMPLATE_LANGS_MAX);
        return SI_ETOOBIG;
    }
    json_error_t jerr;
    /* Repeated keys are refused: the second of two translations would win silently. */
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        log_error("texts: %s:%d: %s", origin, jerr.line, jerr.text);
        return SI_EINVAL;
    }
    if (!shape_ok(root, origin)) {
        json_decref(root);
        return SI_EINVAL;
    }
    memcpy(t->langs.name[t->langs.n], lang, strlen(lang) + 1);
    t->texts[t->langs.n++] = root;
    return SI_OK;
}

/* Reads dir/lang/file into t. */
static enum si_err load_one(struct text_table *t, const char *dir, const char *lang,
                            const char *file)
{
    char path[TEMPLATE_PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s/%s", dir, lang, file);
    if (n < 0 || (size_t)n >= sizeof path) {
        log_error("texts: path too long under %s", dir);
        return SI_ECONFIG;
    }
    char *text = NULL;
    size_t len = 0;
    enum si_err rc = template_dir_read(path, &text, &len);
    if (!rc)
        rc = text_table_add(t, lang, text, len, path);
    free(text);
    return rc;
}

enum si_err text_table_load(const char *templates_dir, const char *family, const char *file,
                            text_table_check_fn check, struct text_table **out)
{
    char dir[TEMPLATE_PATH_MAX], why[TEXT_TABLE_WHY_MAX];
    struct stat st;
    *out = NULL;
    int n = snprintf(dir, sizeof dir, "%s/%s", templates_dir, family);
    if (n < 0 || (size_t)n >= sizeof dir) {
        log_error("texts: path too long: %s/%s", templates_dir, family);
        return SI_ECONFIG;
    }
    if (stat(dir, &st) != 0 && errno == ENOENT)
        return SI_OK; /* no table: the caller's built-in texts stand */
    struct template_langs found;
    enum si_err rc = template_dir_langs(dir, &found);
    if (rc)
        return rc;
    struct text_table *t = text_table_new();
    for (int i = 0; !rc && i < found.n; i++)
        rc = load_one(t, dir, found.name[i], file);
    if (!rc && check && (rc = check(t, why, sizeof why)) != SI_OK)
        log_error("texts: %s/*/%s: %s", dir, file, why);
    if (rc) {
        text_table_free(t);
        return rc;
    }
    *out = t;
    return SI_OK;
}

const char *text_table_pick(const struct text_table *t, const char *locale)
{
    int i = t ? template_dir_pick(&t->langs, locale, NULL) : -1;
    return i < 0 ? NULL : t->langs.name[i];
}

const char *text_table_get(const struct text_table *t, const char *lang, const char *key,
                           const char *field)
{
    if (!t || !lang)
        return NULL;
    for (int i = 0; i < t->langs.n; i++) {
        if (strcmp(t->langs.name[i], lang) != 0)
            continue;
        const json_t *v = json_object_get(json_object_get(t->texts[i], key), field);
        return json_is_string(v) ? json_string_value(v) : NULL;
    }
    return NULL;
}

int text_table_each(const struct text_table *t,
                    int (*fn)(void *ctx, const char *lang, const char *key), void *ctx)
{
    const char *key;
    const json_t *entry;
    for (int i = 0; t && i < t->langs.n; i++) {
        json_object_foreach(t->texts[i], key, entry)
        {
            int r = fn(ctx, t->langs.name[i], key);
            if (r)
                return r;
        }
    }
    return 0;
}
