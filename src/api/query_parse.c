/* Query Invites parsing: Wix filter/sort/paging JSON to struct invite_query, and the signed
 * cursors that carry a query from page to page. */
#include "query_parse.h"

#include "api/validate.h"
#include "common/ids.h"
#include "common/xalloc.h"
#include "core/email.h"
#include "core/invite.h"
#include "core/roles.h"

#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <strings.h>

/* Total bytes of filter values, so a query always fits in a cursor (QUERY_CURSOR_MAX). */
#define QUERY_FILTER_BYTES_MAX (32 * 1024)

enum value_kind { VK_STATUS, VK_EMAIL, VK_GUID, VK_POLICY, VK_TIME };

#define OPS(...) (0u __VA_ARGS__)
#define OP(o)    | (1u << (o))

/* The filterable fields: wire name, which operators apply, and how values are read. */
static const struct field_def {
    const char *name;
    enum query_field field;
    unsigned ops;
    enum value_kind kind;
} fields[] = {
    {"status", QF_STATUS, OPS(OP(QOP_EQ) OP(QOP_NE) OP(QOP_IN)), VK_STATUS},
    {"email", QF_EMAIL, OPS(OP(QOP_EQ) OP(QOP_NE) OP(QOP_IN)), VK_EMAIL},
    {"acceptedByAccountId", QF_ACCEPTED_BY, OPS(OP(QOP_EQ) OP(QOP_NE) OP(QOP_IN)), VK_GUID},
    /* The array field: $hasSome/$in = any of; $eq/$ne = exactly this set (or not). */
    {"policyIds", QF_POLICY_IDS, OPS(OP(QOP_EQ) OP(QOP_NE) OP(QOP_HAS_SOME) OP(QOP_IN)), VK_POLICY},
    {"dateCreated", QF_DATE_CREATED,
     OPS(OP(QOP_EQ) OP(QOP_NE) OP(QOP_GT) OP(QOP_GTE) OP(QOP_LT) OP(QOP_LTE)), VK_TIME},
};

static const char *const op_names[] = {
    [QOP_EQ] = "$eq",   [QOP_NE] = "$ne", [QOP_IN] = "$in",   [QOP_GT] = "$gt",
    [QOP_GTE] = "$gte", [QOP_LT] = "$lt", [QOP_LTE] = "$lte", [QOP_HAS_SOME] = "$hasSome",
};

static const char *const sort_names[] = {
    [SORT_DATE_CREATED] = "dateCreated", [SORT_EMAIL] = "email", [SORT_STATUS] = "status"};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* State of one parse: where results and problems go, and the wire prefix of field names. */
struct qp {
    struct invite_query *q;
    struct violations *vs;
    const char *prefix; /* "query." or "" */
    size_t value_bytes;
};

/* out = base + "." + key, with control characters of the client's key shown as '?': field
 * names are echoed in error bodies and log lines. */
static void path_join(char out[VIOLATION_FIELD_MAX], const char *base, const char *key)
{
    validate_field_name(out, "%s.%s", base, key);
    for (char *c = out + strlen(base); *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
}

static const struct field_def *field_find(const char *name)
{
    for (size_t i = 0; i < NELEM(fields); i++)
        if (strcmp(fields[i].name, name) == 0)
            return &fields[i];
    return NULL;
}

static int op_find(const char *name)
{
    for (size_t i = 0; i < NELEM(op_names); i++)
        if (strcmp(op_names[i], name) == 0)
            return (int)i;
    return -1;
}

/* Reads one operand value into slot i of c; records a violation on path when it is bad. */
static bool read_value(struct qp *p, const struct field_def *fd, const json_t *v,
                       struct query_cond *c, const char *path)
{
    char buf[SI_EMAIL_MAX + 1], key[SI_EMAIL_MAX + 1];
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    size_t len = s ? json_string_length(v) : 0;
    if (!s || strlen(s) != len) {
        validate_type_error(p->vs, path,
                            fd->kind == VK_TIME ? "an RFC 3339 timestamp string" : "a string");
        return false;
    }
    enum invite_status st;
    switch (fd->kind) {
    case VK_STATUS:
        if (!invite_status_parse(s, &st)) {
            violations_add(p->vs, path, RULE_INVALID_ENUM_VALUE,
                           "must be one of Pending, Used, Deleted, Declined, Expired");
            return false;
        }
        s = invite_status_name(st);
        break;
    case VK_EMAIL:
        if (email_check(s, len, buf, key) != EMAIL_OK) {
            violations_add(p->vs, path, RULE_FORMAT, "must be an email address");
            return false;
        }
        s = key; /* the store compares case-folded keys */
        break;
    case VK_GUID:
        if (!id_normalize(s, buf)) {
            violations_add(p->vs, path, RULE_FORMAT, "must be a GUID");
            return false;
        }
        s = buf;
        break;
    case VK_POLICY:
        if (len == 0 || len >= SI_POLICY_ID_MAX || validate_has_control(s, len, NULL)) {
            violations_add(p->vs, path, RULE_FORMAT, "must be a policy ID");
            return false;
        }
        s = roles_canonical_id(s); /* stored IDs are canonical: an old alias finds them */
        break;
    case VK_TIME:
        if (time_parse(s, &c->times[c->n]) != SI_OK) {
            violations_add(p->vs, path, RULE_FORMAT, "must be an RFC 3339 timestamp");
            return false;
        }
        break;
    }
    p->value_bytes += strlen(s);
    c->values[c->n++] = xstrdup(s);
    return true;
}

/* Adds the condition "field op operand"; operand is a scalar or, for $in/$hasSome, an array. */
static void add_cond(struct qp *p, const struct field_def *fd, enum query_op op,
                     const json_t *operand, const char *path)
{
    struct invite_query *q = p->q;
    if (!(fd->ops & (1u << op))) {
        violations_add(p->vs, path, RULE_OTHER, "operator not supported for this field");
        return;
    }
    if (q->ncond >= QUERY_CONDS_MAX) {
        violations_add(p->vs, path, RULE_MAX_SIZE, "at most %d conditions", QUERY_CONDS_MAX);
        return;
    }
    struct query_cond *c = &q->conds[q->ncond];
    memset(c, 0, sizeof *c);
    c->field = fd->field;
    /* $in on policyIds means "has any of", as $hasSome: one form for the store. */
    c->op = (fd->field == QF_POLICY_IDS && op == QOP_IN) ? QOP_HAS_SOME : op;
    bool ok = true;
    /* Set operators take arrays; $eq/$ne on the array field take a set or a single ID. */
    bool list = op == QOP_IN || op == QOP_HAS_SOME ||
                (fd->field == QF_POLICY_IDS && json_is_array(operand));
    if (list) {
        size_t n = json_is_array(operand) ? json_array_size(operand) : 0;
        if (!json_is_array(operand)) {
            validate_type_error(p->vs, path, "an array");
            ok = false;
        } else if (n == 0 || n > QUERY_VALUES_MAX) {
            violations_add(p->vs, path, n ? RULE_MAX_SIZE : RULE_MIN, "1 to %d values",
                           QUERY_VALUES_MAX);
            ok = false;
        }
        for (size_t i = 0; ok && i < n; i++) {
            char item[VIOLATION_FIELD_MAX];
            validate_field_name(item, "%s[%zu]", path, i);
            ok = read_value(p, fd, json_array_get(operand, i), c, item) && ok;
        }
    } else {
        ok = read_value(p, fd, operand, c, path);
    }
    q->ncond++; /* kept even when bad, so invite_query_cleanup frees its values */
    if (!ok)
        return;
    if (p->value_bytes > QUERY_FILTER_BYTES_MAX)
        violations_add(p->vs, path, RULE_MAX_SIZE, "the filter is too large");
}

static void parse_filter(struct qp *p, const json_t *f, const char *path, int depth);

static void parse_and(struct qp *p, const json_t *v, const char *path, int depth)
{
    if (!json_is_array(v)) {
        validate_type_error(p->vs, path, "an array of filter objects");
        return;
    }
    if (depth >= QUERY_AND_DEPTH_MAX) {
        violations_add(p->vs, path, RULE_MAX, "nested too deeply");
        return;
    }
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e)
    {
        char sub[VIOLATION_FIELD_MAX];
        validate_field_name(sub, "%s[%zu]", path, i);
        parse_filter(p, e, sub, depth + 1);
    }
}

/* One field's value: a bare value means $eq, except that a bare ID on policyIds means "has
 * this role" ($hasSome); an object holds operators. */
static void parse_field(struct qp *p, const struct field_def *fd, const json_t *v, const char *path)
{
    if (!json_is_object(v)) {
        if (fd->field == QF_POLICY_IDS && json_is_string(v)) {
            json_t *one = json_pack("[O]", v); /* $hasSome wants an array */
            add_cond(p, fd, QOP_HAS_SOME, one, path);
            json_decref(one);
        } else {
            add_cond(p, fd, QOP_EQ, v, path);
        }
        return;
    }
    if (json_object_size(v) == 0)
        violations_add(p->vs, path, RULE_FORMAT, "an operator such as $eq is required");
    const char *opname;
    const json_t *operand;
    json_object_foreach((json_t *)v, opname, operand)
    {
        char sub[VIOLATION_FIELD_MAX];
        path_join(sub, path, opname);
        int op = op_find(opname);
        if (op < 0)
            violations_add(p->vs, sub, RULE_OTHER, "unknown operator");
        else
            add_cond(p, fd, (enum query_op)op, operand, sub);
    }
}

static void parse_filter(struct qp *p, const json_t *f, const char *path, int depth)
{
    if (!f || json_is_null(f))
        return;
    if (!json_is_object(f)) {
        validate_type_error(p->vs, path, "an object");
        return;
    }
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)f, key, v)
    {
        char sub[VIOLATION_FIELD_MAX];
        path_join(sub, path, key);
        const struct field_def *fd = field_find(key);
        if (strcmp(key, "$and") == 0)
            parse_and(p, v, sub, depth);
        else if (strcmp(key, "$or") == 0 || strcmp(key, "$not") == 0 || strcmp(key, "$nor") == 0)
            violations_add(p->vs, sub, RULE_OTHER, "not supported");
        else if (fd)
            parse_field(p, fd, v, sub);
        else
            violations_add(p->vs, sub, RULE_OTHER,
                           "unknown field; filter on status, email, acceptedByAccountId, "
                           "policyIds or dateCreated");
    }
}

/* One sort entry {fieldName, order}. */
static void parse_sort_entry(struct qp *p, const json_t *e, const char *path)
{
    char sub[VIOLATION_FIELD_MAX];
    if (!json_is_object(e)) {
        validate_type_error(p->vs, path, "an object {fieldName, order}");
        return;
    }
    const json_t *name = json_object_get(e, "fieldName");
    const json_t *order = json_object_get(e, "order");
    validate_field_name(sub, "%s.fieldName", path);
    bool found = false;
    for (size_t i = 0; json_is_string(name) && i < NELEM(sort_names); i++) {
        if (strcmp(sort_names[i], json_string_value(name)) == 0) {
            p->q->sort = (enum sort_field)i;
            found = true;
        }
    }
    if (!found)
        violations_add(p->vs, sub, RULE_INVALID_ENUM_VALUE,
                       "must be one of dateCreated, email, status");
    p->q->desc = false; /* Wix: ASC unless told otherwise */
    if (!order || json_is_null(order))
        return;
    validate_field_name(sub, "%s.order", path);
    if (json_is_string(order) && strcasecmp(json_string_value(order), "DESC") == 0)
        p->q->desc = true;
    else if (!json_is_string(order) || strcasecmp(json_string_value(order), "ASC") != 0)
        violations_add(p->vs, sub, RULE_INVALID_ENUM_VALUE, "must be ASC or DESC");
}

static void parse_sort(struct qp *p, const json_t *s, const char *path)
{
    if (!s || json_is_null(s))
        return;
    if (json_is_object(s)) {
        parse_sort_entry(p, s, path);
        return;
    }
    if (!json_is_array(s)) {
        validate_type_error(p->vs, path, "an array of {fieldName, order}");
        return;
    }
    if (json_array_size(s) > 1) {
        violations_add(p->vs, path, RULE_MAX_SIZE, "one sort field is supported");
        return;
    }
    if (json_array_size(s) == 1) {
        char sub[VIOLATION_FIELD_MAX];
        validate_field_name(sub, "%s[0]", path);
        parse_sort_entry(p, json_array_get(s, 0), sub);
    }
}

/* An optional integer member within lo..hi; *out untouched when absent. */
static void parse_int(struct qp *p, const json_t *v, const char *path, int lo, int hi, int *out)
{
    if (!v || json_is_null(v))
        return;
    if (!json_is_integer(v)) {
        validate_type_error(p->vs, path, "an integer");
        return;
    }
    json_int_t n = json_integer_value(v);
    if (n < lo)
        violations_add(p->vs, path, RULE_MIN, "at least %d", lo);
    else if (n > hi)
        violations_add(p->vs, path, RULE_MAX, "at most %d", hi);
    else
        *out = (int)n;
}

/* cursorPaging {limit, cursor} or paging {limit, offset}; returns the cursor text if any. */
static const char *parse_paging(struct qp *p, const json_t *qo)
{
    char path[VIOLATION_FIELD_MAX];
    const json_t *cp = json_object_get(qo, "cursorPaging");
    const json_t *op = json_object_get(qo, "paging");
    if (cp && op && !json_is_null(cp) && !json_is_null(op)) {
        validate_field_name(path, "%spaging", p->prefix);
        violations_add(p->vs, path, RULE_OTHER, "use cursorPaging or paging, not both");
        return NULL;
    }
    const json_t *pg = (cp && !json_is_null(cp)) ? cp : op;
    const char *name = pg == cp ? "cursorPaging" : "paging";
    if (!pg || json_is_null(pg))
        return NULL;
    validate_field_name(path, "%s%s", p->prefix, name);
    if (!json_is_object(pg)) {
        validate_type_error(p->vs, path, "an object");
        return NULL;
    }
    validate_field_name(path, "%s%s.limit", p->prefix, name);
    parse_int(p, json_object_get(pg, "limit"), path, 1, QUERY_LIMIT_MAX, &p->q->limit);
    if (pg == op) {
        validate_field_name(path, "%spaging.offset", p->prefix);
        parse_int(p, json_object_get(pg, "offset"), path, 0, QUERY_OFFSET_MAX, &p->q->offset);
        return NULL;
    }
    const json_t *cur = json_object_get(pg, "cursor");
    if (!cur || json_is_null(cur))
        return NULL;
    if (!json_is_string(cur)) {
        validate_field_name(path, "%scursorPaging.cursor", p->prefix);
        validate_type_error(p->vs, path, "a string");
        return NULL;
    }
    return json_string_value(cur);
}

/* ---- cursors ------------------------------------------------------------------------------ */

#define CURSOR_VERSION 1
#define CURSOR_TAG_LEN 16
#define CURSOR_DOMAIN  "siteinvites cursor v1\n" /* keeps cursor tags apart from link tags */
#define CURSOR_KEY_MAX (SI_EMAIL_MAX + 1)

void query_sort_key(enum sort_field sort, const struct invite *inv, si_ms now, char *out,
                    size_t cap)
{
    switch (sort) {
    case SORT_EMAIL:
        snprintf(out, cap, "%s", inv->email_key);
        return;
    case SORT_STATUS: /* the store sorts by the status a reader sees */
        snprintf(out, cap, "%s", invite_status_name(invite_status_at(inv, now)));
        return;
    case SORT_DATE_CREATED:
        break;
    }
    snprintf(out, cap, "%lld", (long long)inv->created);
}

/* tag = first CURSOR_TAG_LEN bytes of BLAKE2b(secret, CURSOR_DOMAIN || text). */
static void cursor_tag(const uint8_t *secret, const char *text, size_t len,
                       uint8_t tag[CURSOR_TAG_LEN])
{
    size_t dlen = sizeof CURSOR_DOMAIN - 1;
    char *msg = xmalloc(dlen + len);
    memcpy(msg, CURSOR_DOMAIN, dlen);
    memcpy(msg + dlen, text, len);
    uint8_t full[SECURE_HASH_LEN];
    secure_hash(full, msg, dlen + len, secret, SECURE_KEY_LEN);
    memcpy(tag, full, CURSOR_TAG_LEN);
    free(msg);
}

static json_t *conds_json(const struct invite_query *q)
{
    json_t *a = json_array();
    for (int i = 0; i < q->ncond; i++) {
        const struct query_cond *c = &q->conds[i];
        json_t *vals = json_array();
        for (int j = 0; j < c->n; j++)
            json_array_append_new(vals, c->field == QF_DATE_CREATED ? json_integer(c->times[j])
                                                                    : json_string(c->values[j]));
        json_array_append_new(a, json_pack("[iio]", (int)c->field, (int)c->op, vals));
    }
    return a;
}

char *query_cursor_next(const struct invite_query *q, const struct invite *last, si_ms now,
                        const struct query_scope *scope)
{
    char key[CURSOR_KEY_MAX];
    query_sort_key(q->sort, last, now, key, sizeof key);
    json_t *o = json_pack("{si ss so si sb si ss ss}", "v", CURSOR_VERSION, "s", scope->site_id,
                          "f", conds_json(q), "o", (int)q->sort, "d", (int)q->desc, "l", q->limit,
                          "k", key, "i", last->id);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    char *out = query_cursor_seal(text, strlen(text), scope);
    free(text);
    return out;
}

char *query_cursor_seal(const char *text, size_t len, const struct query_scope *scope)
{
    uint8_t *raw = xmalloc(CURSOR_TAG_LEN + len);
    cursor_tag(scope->secret, text, len, raw);
    memcpy(raw + CURSOR_TAG_LEN, text, len);
    char *out = xmalloc(b64url_len(CURSOR_TAG_LEN + len) + 1);
    b64url_encode(out, raw, CURSOR_TAG_LEN + len);
    free(raw);
    return out;
}

/* Reads the cursor's conditions back; the tag already proved we wrote them, so these checks
 * only keep a cursor from an older or differently built server from overrunning arrays. */
static enum si_err conds_from_json(const json_t *f, struct invite_query *q)
{
    size_t i;
    const json_t *e;
    if (!json_is_array(f) || json_array_size(f) > QUERY_CONDS_MAX)
        return SI_EINVAL;
    json_array_foreach(f, i, e)
    {
        json_int_t field, op;
        json_t *vals;
        if (json_unpack((json_t *)e, "[IIo!]", &field, &op, &vals) != 0 || field < QF_STATUS ||
            field > QF_DATE_CREATED || op < QOP_EQ || op > QOP_HAS_SOME || !json_is_array(vals) ||
            json_array_size(vals) > QUERY_VALUES_MAX)
            return SI_EINVAL;
        struct query_cond *c = &q->conds[q->ncond++];
        c->field = (enum query_field)field;
        c->op = (enum query_op)op;
        for (size_t j = 0; j < json_array_size(vals); j++) {
            const json_t *v = json_array_get(vals, j);
            if (c->field == QF_DATE_CREATED && json_is_integer(v)) {
                char t[SI_TIME_TEXT_LEN];
                c->times[c->n] = json_integer_value(v);
                time_format(c->times[c->n], t);
                c->values[c->n++] = xstrdup(t);
            } else if (c->field != QF_DATE_CREATED && json_is_string(v)) {
                c->values[c->n++] = xstrdup(json_string_value(v));
            } else {
                return SI_EINVAL;
            }
        }
    }
    return SI_OK;
}

static enum si_err cursor_from_json(const json_t *o, const struct query_scope *scope,
                                    struct invite_query *q)
{
    json_int_t v, sort, limit;
    int desc;
    const char *site, *key, *id;
    json_t *f;
    if (json_unpack((json_t *)o, "{sI ss so sI sb sI ss ss !}", "v", &v, "s", &site, "f", &f, "o",
                    &sort, "d", &desc, "l", &limit, "k", &key, "i", &id) != 0)
        return SI_EINVAL;
    /* A cursor minted for another site is refused even though the tag is ours. */
    if (v != CURSOR_VERSION || strcmp(site, scope->site_id) != 0 || sort < SORT_DATE_CREATED ||
        sort > SORT_STATUS || limit < 1 || limit > QUERY_LIMIT_MAX || !id_valid(id) ||
        strlen(key) >= CURSOR_KEY_MAX)
        return SI_EINVAL;
    q->sort = (enum sort_field)sort;
    q->desc = desc != 0;
    q->limit = (int)limit;
    q->has_after = true;
    q->after_key = xstrdup(key);
    memcpy(q->after_id, id, SI_ID_LEN);
    return conds_from_json(f, q);
}

/* Checks and decodes a cursor into a zeroed q. SI_EINVAL for anything not minted by us for
 * this site; q may then hold partial state for invite_query_cleanup. */
static enum si_err query_cursor_decode(const char *text, const struct query_scope *scope,
                                       struct invite_query *q)
{
    size_t len = strnlen(text, QUERY_CURSOR_MAX + 1), n = 0;
    if (len == 0 || len > QUERY_CURSOR_MAX)
        return SI_EINVAL;
    uint8_t *raw = xmalloc(len); /* decoded bytes are fewer than the characters */
    json_t *o = NULL;
    enum si_err rc = b64url_decode(text, len, raw, len, &n);
    if (rc)
        goto out;
    uint8_t tag[CURSOR_TAG_LEN];
    rc = SI_EINVAL;
    if (n <= CURSOR_TAG_LEN)
        goto out;
    cursor_tag(scope->secret, (const char *)raw + CURSOR_TAG_LEN, n - CURSOR_TAG_LEN, tag);
    if (!secure_equal(tag, raw, CURSOR_TAG_LEN))
        goto out;
    o = json_loadb((const char *)raw + CURSOR_TAG_LEN, n - CURSOR_TAG_LEN, 0, NULL);
    if (!o)
        goto out;
    rc = cursor_from_json(o, scope, q);
out:
    json_decref(o);
    free(raw);
    return rc;
}

/* Replaces filter and sort with the cursor's; a limit given next to the cursor wins. */
static void apply_cursor(struct qp *p, const char *text, int limit_given,
                         const struct query_scope *scope, const char *path)
{
    invite_query_cleanup(p->q);
    memset(p->q, 0, sizeof *p->q);
    if (query_cursor_decode(text, scope, p->q) != SI_OK) {
        invite_query_cleanup(p->q);
        memset(p->q, 0, sizeof *p->q);
        violations_add(p->vs, path, RULE_FORMAT, "not a valid cursor for this site");
        return;
    }
    if (limit_given)
        p->q->limit = limit_given;
}

enum si_err query_parse(const json_t *body, const struct query_scope *scope, struct invite_query *q,
                        bool *offset_paging, struct violations *vs)
{
    struct qp p = {.q = q, .vs = vs, .prefix = ""};
    *offset_paging = false;
    int before = vs->n;
    q->sort = SORT_DATE_CREATED;
    q->desc = true; /* newest first when no sort is given */
    q->limit = 0;
    const json_t *qo = body;
    if (body && !json_is_object(body)) {
        validate_type_error(vs, "body", "a JSON object");
        return SI_EINVAL;
    }
    const json_t *inner = body ? json_object_get(body, "query") : NULL;
    if (inner && !json_is_null(inner)) {
        if (!json_is_object(inner)) {
            validate_type_error(vs, "query", "an object");
            return SI_EINVAL;
        }
        qo = inner;
        p.prefix = "query.";
    }
    char path[VIOLATION_FIELD_MAX];
    const char *cursor = NULL;
    if (qo) {
        validate_field_name(path, "%sfilter", p.prefix);
        parse_filter(&p, json_object_get(qo, "filter"), path, 0);
        validate_field_name(path, "%ssort", p.prefix);
        parse_sort(&p, json_object_get(qo, "sort"), path);
        cursor = parse_paging(&p, qo);
        const json_t *pg = json_object_get(qo, "paging");
        *offset_paging = pg && !json_is_null(pg);
    }
    if (cursor && vs->n == before) {
        validate_field_name(path, "%scursorPaging.cursor", p.prefix);
        apply_cursor(&p, cursor, q->limit, scope, path);
    }
    if (q->limit == 0)
        q->limit = QUERY_LIMIT_DEFAULT;
    return vs->n == before ? SI_OK : SI_EINVAL;
}

enum si_err query_parse_args(const char *limit, const char *cursor, const struct query_scope *scope,
                             struct invite_query *q, struct violations *vs)
{
    struct qp p = {.q = q, .vs = vs, .prefix = ""};
    int before = vs->n;
    q->sort = SORT_DATE_CREATED;
    q->desc = true;
    q->limit = 0;
    if (limit) {
        char *end = NULL;
        long n = strtol(limit, &end, 10);
        if (!*limit || *end || n < 1 || n > QUERY_LIMIT_MAX)
            violations_add(vs, "limit", RULE_FORMAT, "must be an integer from 1 to %d",
                           QUERY_LIMIT_MAX);
        else
            q->limit = (int)n;
    }
    if (cursor && vs->n == before)
        apply_cursor(&p, cursor, q->limit, scope, "cursor");
    if (q->limit == 0)
        q->limit = QUERY_LIMIT_DEFAULT;
    return vs->n == before ? SI_OK : SI_EINVAL;
}
