/* `siteinvites invite import`: reads the CSV in chunks, sends each chunk as one Bulk Invite
 * call through the public client library, and writes one result line per data row. */
#include "cli/import.h"

#include "common/csv.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/secure.h"
#include "common/xalloc.h"

#include <siteinvites/client.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define IMPORT_DEFAULT_URL "http://127.0.0.1:8080"
#define IMPORT_KEY_ENV     "SITEINVITES_API_KEY"
#define IMPORT_URL_ENV     "SITEINVITES_API_URL"
#define IMPORT_KEY_MAX     1024 /* bytes of an API key read from --key-file */
#define IMPORT_CHUNK_ROWS  (4 * SI_CLIENT_BULK_EMAILS_MAX) /* rows held, sent or not */
#define IMPORT_BAR_WIDTH   30
#define IMPORT_OUT_SUFFIX  ".results.csv"
#define IMPORT_HEADER      "row,email,result,invite_id,code,description\n"
#define IMPORT_KEY_LEN     40               /* "import-" + 32 hex digits + NUL */
#define IMPORT_EXIT_ROWS   1                /* some row failed or a chunk errored */
#define IMPORT_CA_ENV      "CURL_CA_BUNDLE" /* read by the client when --ca-file is not given */
/* A chunk whose call got no answer or a 500/502/503/504 is tried IMPORT_TRIES times in all; the
 * waits between tries double from --retry-wait (default IMPORT_RETRY_WAIT_MS): 2, 4, 8, 16 s,
 * each cut by up to half at random (jitter, so many clients do not come back in step), and never
 * shorter than a Retry-After: at most 30 s of waiting before the import stops. */
#define IMPORT_TRIES             5
#define IMPORT_RETRY_WAIT_MS     2000L
#define IMPORT_RETRY_WAIT_MAX_MS 60000L /* the largest --retry-wait */
#define IMPORT_RETRY_AFTER_MAX_S 30L    /* a longer Retry-After is cut to this */

/* The command's settings once checked. Strings are borrowed from argv or the environment,
 * except key, which is owned and wiped. */
struct import_opts {
    const char *site;
    char *policy_text; /* owned copy split in place into policies[] */
    const char *policies[SI_CLIENT_POLICY_IDS_MAX];
    size_t npolicies;
    const char *csv;
    const char *url;
    char *key;
    long chunk;
    char *out; /* owned */
    const char *language;
    const char *ca_file;    /* NULL: CURL_CA_BUNDLE, else the system's bundle */
    unsigned long from_row; /* 0: from the start */
    long retry_wait_ms;
    bool dry_run, json;
};

/* One run: the input, the chunk in hand, the output and the counters. */
struct import {
    struct import_opts o;
    struct si_client *client;
    FILE *in;
    int out_fd;
    struct csv_reader csv;
    struct import_seen seen;
    long email_col; /* -1 until the first record decided it */
    struct import_row rows[IMPORT_CHUNK_ROWS];
    size_t nrows, nsend;
    unsigned long count[IMPORT_RESULTS];
    unsigned long done, total; /* data rows written; total 0 = unknown (stdin) */
    unsigned long calls;       /* Bulk Invite calls, retries included */
    unsigned long chunks;      /* chunks sent */
    unsigned long resume_row;  /* set when a chunk's call failed for good: resume there */
    bool tty, stop;
};

const struct cli_opt import_options[] = {
    {"--site", true, "ID", "site to invite people to (required)"},
    {"--policy", true, "ID[,ID]", "role IDs given to every invite (required, at most 20)"},
    {"--csv", true, "FILE", "the spreadsheet as CSV, - for stdin (required)"},
    {"--url", true, "URL", "API base URL (env " IMPORT_URL_ENV ", default " IMPORT_DEFAULT_URL ")"},
    {"--key-file", true, "FILE", "read the API key from FILE (else env " IMPORT_KEY_ENV ")"},
    {"--chunk", true, "N", "emails per Bulk Invite call, 1 to 1000 (default 1000)"},
    {"--out", true, "FILE", "result file (default <csv>" IMPORT_OUT_SUFFIX ")"},
    {"--language", true, "L", "email language, e.g. en, fr, pt-BR (default: the site's)"},
    {"--ca-file", true, "FILE",
     "CA bundle (PEM) to trust for https, e.g. a private CA (else env " IMPORT_CA_ENV ")"},
    {"--from-row", true, "N",
     "resume: skip the rows before spreadsheet row N, append to the result file"},
    {"--retry-wait", true, "MS",
     "first wait before retrying a chunk that got no answer or a 5xx "
     "(default 2000; doubles per try, 5 tries)"},
    {"--dry-run", false, NULL, "ask the server to judge every row without inviting anyone"},
    {"--json", false, NULL, "print the summary as one JSON object"},
    {NULL, false, NULL, NULL},
};

/* Splits "a,b" into o->policies; false when empty, blank or too many. */
static bool parse_policies(struct import_opts *o, const char *text)
{
    o->policy_text = xstrdup(text);
    for (char *p = o->policy_text, *next; p; p = next) {
        next = strchr(p, ',');
        if (next)
            *next++ = '\0';
        if (!*p || o->npolicies == SI_CLIENT_POLICY_IDS_MAX)
            return false;
        o->policies[o->npolicies++] = p;
    }
    return o->npolicies > 0;
}

/* Reads the key from a file: its first line, blanks trimmed. */
static bool read_key_file(struct import_opts *o, const char *path)
{
    char buf[IMPORT_KEY_MAX + 2];
    FILE *f = fopen(path, "r");
    if (!f) {
        cli_error("cannot read key file %s: %s", path, strerror(errno));
        return false;
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    bool ok = !ferror(f);
    fclose(f);
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    n = strlen(buf);
    while (n > 0 && isspace((unsigned char)buf[n - 1]))
        buf[--n] = '\0';
    if (ok && n > 0 && n <= IMPORT_KEY_MAX)
        o->key = xstrdup(buf);
    else
        cli_error("key file %s: expected one API key of 1 to %d bytes", path, IMPORT_KEY_MAX);
    secure_wipe(buf, sizeof buf);
    return o->key != NULL;
}

/* Reads a whole number of at least min from a flag's value; prints why and false if not. */
static bool parse_number(const char *flag, const char *text, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || !*text || *end || v < min || v > max) {
        cli_error("%s: expected a whole number from %ld to %ld, got '%s'", flag, min, max, text);
        return false;
    }
    *out = v;
    return true;
}

/* --ca-file, --from-row and --retry-wait. */
static bool load_resume_opts(struct import_opts *o, const struct cli_cmd *cmd,
                             const struct cli_args *a)
{
    o->ca_file = cli_opt(cmd, a, "--ca-file");
    if (o->ca_file && access(o->ca_file, R_OK) != 0) {
        cli_error("cannot read --ca-file %s: %s", o->ca_file, strerror(errno));
        return false;
    }
    const char *from = cli_opt(cmd, a, "--from-row");
    long v = 0;
    if (from && !parse_number("--from-row", from, 1, LONG_MAX, &v))
        return false;
    o->from_row = (unsigned long)v;
    const char *wait = cli_opt(cmd, a, "--retry-wait");
    o->retry_wait_ms = IMPORT_RETRY_WAIT_MS;
    if (wait && !parse_number("--retry-wait", wait, 0, IMPORT_RETRY_WAIT_MAX_MS, &o->retry_wait_ms))
        return false;
    return true;
}

/* Checks and resolves every setting; prints the reason and returns false on a bad one. */
static bool load_opts(struct import_opts *o, const struct cli_cmd *cmd, const struct cli_args *a)
{
    o->site = cli_opt(cmd, a, "--site");
    o->csv = cli_opt(cmd, a, "--csv");
    const char *policy = cli_opt(cmd, a, "--policy");
    if (!o->site || !*o->site || !policy || !o->csv || !*o->csv) {
        cli_error("usage: siteinvites invite import --site ID --policy ID[,ID] --csv FILE");
        return false;
    }
    if (!parse_policies(o, policy)) {
        cli_error("--policy: expected 1 to %d role IDs separated by commas",
                  SI_CLIENT_POLICY_IDS_MAX);
        return false;
    }
    const char *chunk = cli_opt(cmd, a, "--chunk");
    o->chunk = SI_CLIENT_BULK_EMAILS_MAX;
    if (chunk && !parse_number("--chunk", chunk, 1, SI_CLIENT_BULK_EMAILS_MAX, &o->chunk))
        return false;
    o->url = cli_opt(cmd, a, "--url");
    if (!o->url)
        o->url = getenv(IMPORT_URL_ENV);
    if (!o->url || !*o->url)
        o->url = IMPORT_DEFAULT_URL;
    const char *out = cli_opt(cmd, a, "--out");
    bool stdin_csv = strcmp(o->csv, "-") == 0;
    if (!out && stdin_csv) {
        cli_error("--out FILE is required when the CSV comes from stdin");
        return false;
    }
    o->out = out ? xstrdup(out) : xasprintf("%s%s", o->csv, IMPORT_OUT_SUFFIX);
    if (!stdin_csv && strcmp(o->out, o->csv) == 0) {
        cli_error("--out must not be the CSV file itself");
        return false;
    }
    o->language = cli_opt(cmd, a, "--language");
    if (!load_resume_opts(o, cmd, a))
        return false;
    o->dry_run = cli_opt(cmd, a, "--dry-run") != NULL;
    o->json = cli_opt(cmd, a, "--json") != NULL;
    /* The key last: the flag-free sources only, since argv shows in ps and shell history. */
    const char *key_file = cli_opt(cmd, a, "--key-file");
    if (key_file)
        return read_key_file(o, key_file);
    const char *env = getenv(IMPORT_KEY_ENV);
    if (!env || !*env || strlen(env) > IMPORT_KEY_MAX) {
        cli_error("no API key: set %s or pass --key-file FILE", IMPORT_KEY_ENV);
        return false;
    }
    o->key = xstrdup(env);
    return true;
}

static void opts_cleanup(struct import_opts *o)
{
    if (o->key) {
        secure_wipe(o->key, strlen(o->key));
        free(o->key);
    }
    free(o->policy_text);
    free(o->out);
}

/* Counts the data rows from spreadsheet row `from` on of a regular file beforehand, for the
 * progress bar; 0 if unknown. */
static unsigned long count_rows(const char *path, unsigned long from)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    struct csv_reader r;
    csv_init(&r, f);
    unsigned long n = 0;
    bool first = true;
    enum csv_status st;
    while ((st = csv_next(&r)) == CSV_RECORD || st == CSV_TOO_BIG) {
        if (st == CSV_RECORD && csv_blank(&r))
            continue;
        long col;
        bool header = first && st == CSV_RECORD && csv_email_column(&r, &col);
        if (!header && csv_record_no(&r) >= from)
            n++;
        first = false;
    }
    csv_cleanup(&r);
    fclose(f);
    return st == CSV_END ? n : 0;
}

/* The email cell without the blanks around it, as a new string. */
static char *trimmed(const char *email)
{
    /* strspn, not a pointer walk: gcc -O2 -Warray-bounds misreads the walk once this is inlined
     * where the cell may be the constant "" (the hardened Release build test). */
    const char *p = email + strspn(email, " \t\n\v\f\r");
    size_t n = strlen(p);
    while (n > 0 && isspace((unsigned char)p[n - 1]))
        n--;
    return xstrndup(p, n);
}

/* A row before --from-row: not sent and not written, only remembered, so a later repeat of its
 * address is still a `duplicate`. */
static void skip_record(struct import *im, enum csv_status st)
{
    if (st != CSV_RECORD)
        return;
    char *email = trimmed(csv_field(&im->csv, (size_t)im->email_col));
    if (*email)
        import_seen_add(&im->seen, email, csv_record_no(&im->csv));
    free(email);
}

/* Adds a row with a result decided here (no request). */
static struct import_row *add_row(struct import *im, const char *email, enum import_result res)
{
    struct import_row *row = &im->rows[im->nrows++];
    row->row = csv_record_no(&im->csv);
    row->email = trimmed(email);
    row->result = res;
    return row;
}

/* Takes one data record into the chunk: a row to send, or one already decided. */
static void take_record(struct import *im, enum csv_status st)
{
    if (st == CSV_TOO_BIG) {
        struct import_row *row = add_row(im, "", IMPORT_FAILED);
        row->code = xstrdup("ROW_TOO_LONG");
        row->description =
            xasprintf("row over %d bytes or %d fields; not read", CSV_RECORD_MAX, CSV_FIELDS_MAX);
        return;
    }
    struct import_row *row =
        add_row(im, csv_field(&im->csv, (size_t)im->email_col), IMPORT_PENDING);
    if (!*row->email) {
        row->result = IMPORT_FAILED;
        row->code = xstrdup("INVALID_EMAIL");
        row->description = xstrdup("the email cell is empty");
        return;
    }
    unsigned long first = import_seen_add(&im->seen, row->email, row->row);
    if (first) {
        row->result = IMPORT_DUPLICATE;
        row->description = xasprintf("same address as row %lu; not sent twice", first);
        return;
    }
    im->nsend++;
}

/* Finds the pending row sent as email (exact text: the server echoes failures as sent). */
static struct import_row *pending_row(struct import *im, const char *email)
{
    for (size_t i = 0; i < im->nrows; i++)
        if (im->rows[i].result == IMPORT_PENDING && strcmp(im->rows[i].email, email) == 0)
            return &im->rows[i];
    return NULL;
}

/* The invite answering row: the next one in order, else any with the same address (the server
 * keeps the local part and lowercases the domain, so compare case-insensitively). */
static const struct si_invite *match_invite(const struct si_bulk_invite_result *r, size_t *next,
                                            const char *email)
{
    if (*next < r->invite_count && r->invites[*next].email &&
        strcasecmp(r->invites[*next].email, email) == 0)
        return &r->invites[(*next)++];
    for (size_t i = 0; i < r->invite_count; i++)
        if (r->invites[i].email && strcasecmp(r->invites[i].email, email) == 0)
            return &r->invites[i];
    return NULL;
}

/* Gives every sent row its result from a Bulk Invite answer. The answer does not say which
 * invites are new: an invite created by this call is dated at or after sent_at (the moment
 * before the request; exact when client and server share a clock), an existing one before. */
static void apply_answer(struct import *im, const struct si_bulk_invite_result *r, si_ms sent_at)
{
    for (size_t i = 0; i < r->failure_count; i++) {
        const struct si_bulk_invite_failure *f = &r->failures[i];
        struct import_row *row = f->email ? pending_row(im, f->email) : NULL;
        if (!row)
            continue;
        row->result = IMPORT_FAILED;
        row->code = xstrdup(f->code ? f->code : "FAILED");
        row->description = xstrdup(f->description ? f->description : "");
    }
    size_t next = 0;
    for (size_t i = 0; i < im->nrows; i++) {
        struct import_row *row = &im->rows[i];
        if (row->result != IMPORT_PENDING)
            continue;
        const struct si_invite *inv = match_invite(r, &next, row->email);
        if (!inv) {
            row->result = IMPORT_ERROR;
            row->code = xstrdup("BAD_RESPONSE");
            row->description = xstrdup("the answer has neither an invite nor a failure for it");
            continue;
        }
        si_ms created = 0;
        bool dated = inv->date_created && time_parse(inv->date_created, &created) == SI_OK;
        row->result = !dated || created >= sent_at ? IMPORT_CREATED : IMPORT_EXISTING;
        row->invite_id = xstrdup(inv->id);
    }
}

/* Marks every sent row of a failed call; true when no later call can succeed either (the key
 * is refused, or the roles or language are). */
static bool apply_error(struct import *im, const struct si_client_error *err)
{
    for (size_t i = 0; i < im->nrows; i++) {
        struct import_row *row = &im->rows[i];
        if (row->result != IMPORT_PENDING)
            continue;
        row->result = IMPORT_ERROR;
        row->code = xstrdup(err->code);
        if (err->http_status)
            row->description =
                xasprintf("HTTP %d: %s%s%s%s", err->http_status, err->description,
                          err->field[0] ? " (" : "", err->field, err->field[0] ? ")" : "");
        else
            row->description = xstrdup(err->description);
    }
    return err->http_status == 401 || err->http_status == 403 ||
           (err->http_status == 400 && (strncmp(err->field, "policyIds", 9) == 0 ||
                                        strcmp(err->field, "defaultEmailLanguage") == 0));
}

/* Whether a failed call may succeed when tried again: no answer at all (refused, timed out,
 * cut off, name not resolved), a server or gateway that is down for now, or a twin of this
 * chunk's Idempotency-Key still running (409 IDEMPOTENCY_KEY_IN_USE, after its Retry-After). A
 * TLS or CA problem is not: it needs the operator. */
static bool retryable(const struct si_client_error *err)
{
    if (err->http_status == 409 && strcmp(err->reason, "IDEMPOTENCY_KEY_IN_USE") == 0)
        return true;
    static const char *const causes[] = {"CONNECT", "TIMEOUT", "CONNECTION_LOST", "DNS"};
    if (err->http_status == 0 && strcmp(err->code, "TRANSPORT") == 0) {
        for (size_t i = 0; i < sizeof causes / sizeof causes[0]; i++)
            if (strcmp(err->reason, causes[i]) == 0)
                return true;
        return false;
    }
    return err->http_status == 500 || err->http_status == 502 || err->http_status == 503 ||
           err->http_status == 504;
}

/* The wait after failed try number `tried` (1-based): the base doubled per try, less up to
 * half at random, and at least the server's Retry-After (capped). */
static long retry_wait_ms(const struct import *im, int tried, const struct si_client_error *err)
{
    long full = im->o.retry_wait_ms << (tried - 1);
    uint32_t r = 0;
    random_fill(&random_system, &r, sizeof r);
    long wait = full - (full > 1 ? (long)(r % (uint32_t)(full / 2 + 1)) : 0);
    long after_s = err->retry_after_s < IMPORT_RETRY_AFTER_MAX_S ? err->retry_after_s
                                                                 : IMPORT_RETRY_AFTER_MAX_S;
    return wait > after_s * 1000 ? wait : after_s * 1000;
}

static void sleep_ms(long ms)
{
    struct timespec left = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&left, &left) != 0 && errno == EINTR)
        ;
}

/* The one line of an import that stops at this chunk because the API could not be reached
 * (or kept failing): why, and the row to resume from. */
static void stop_line(struct import *im, const struct si_client_error *err, int tries,
                      long waited_ms)
{
    char after[64] = "";
    if (tries > 1)
        snprintf(after, sizeof after, " after %d tries over %.1f s", tries,
                 (double)waited_ms / 1000.0);
    char status[32] = "no answer";
    if (err->http_status)
        snprintf(status, sizeof status, "HTTP %d", err->http_status);
    const char *hint = "";
    if (strcmp(err->reason, "TLS_CERTIFICATE") == 0)
        hint = " (the server's certificate is not trusted: pass --ca-file FILE with the CA that "
               "signed it, or set " IMPORT_CA_ENV ")";
    else if (strcmp(err->reason, "CA_FILE") == 0)
        hint = " (the CA file cannot be read)";
    cli_error("stopped at row %lu%s: %s %s: %s%s%s%s; the rows before it are in %s; resume with "
              "--from-row %lu",
              im->rows[0].row, after, status, err->code, err->description, hint,
              err->request_id[0] ? "; request " : "", err->request_id, im->o.out, im->rows[0].row);
    im->resume_row = im->rows[0].row;
}

/* Appends to an uncapped buffer: only out of memory fails, and the CLI aborts then. */
__attribute__((format(printf, 2, 3))) static void add(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum si_err rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    if (rc)
        abort();
}

/* The chunk's Idempotency-Key: "import-" and the hex of BLAKE2b over its index, its options and
 * its rows (spreadsheet row and address). The same file imported again sends the same keys, so
 * a chunk already done is replayed by the server (its invites come back "existing"), never
 * invited twice; any other content makes another key. */
static void chunk_key(const struct import *im, const char *const *emails, size_t n,
                      char key[IMPORT_KEY_LEN])
{
    struct buf b;
    buf_init(&b, 0);
    add(&b, "siteinvites import v1\nchunk %lu\nlang %s\ndry %d\n", im->chunks,
        im->o.language ? im->o.language : "", im->o.dry_run ? 1 : 0);
    for (size_t i = 0; i < im->o.npolicies; i++)
        add(&b, "policy %s\n", im->o.policies[i]);
    for (size_t i = 0, j = 0; i < im->nrows && j < n; i++)
        if (im->rows[i].result == IMPORT_PENDING)
            add(&b, "row %lu %s\n", im->rows[i].row, emails[j++]);
    uint8_t h[SECURE_HASH_LEN];
    secure_hash(h, b.data, b.len, NULL, 0);
    buf_cleanup(&b);
    static const char hex[] = "0123456789abcdef";
    memcpy(key, "import-", 7);
    for (size_t i = 0; i < 16; i++) {
        key[7 + 2 * i] = hex[h[i] >> 4];
        key[8 + 2 * i] = hex[h[i] & 15];
    }
    key[7 + 32] = '\0';
}

/* Sends the rows to send of the chunk in one call; false when the import must stop. */
static bool send_chunk(struct import *im)
{
    const char **emails = xcalloc(im->nsend, sizeof *emails);
    size_t n = 0;
    for (size_t i = 0; i < im->nrows; i++)
        if (im->rows[i].result == IMPORT_PENDING)
            emails[n++] = im->rows[i].email;
    struct si_bulk_invite_request req = {
        .emails = emails,
        .email_count = n,
        .policy_ids = im->o.policies,
        .policy_id_count = im->o.npolicies,
        .default_email_language = im->o.language,
        .dry_run = im->o.dry_run,
    };
    struct si_bulk_invite_result *res = NULL;
    struct si_client_error err;
    /* The first try's moment: a try whose answer was lost may have created the invites, and
     * the retry that returns them must still call them created. */
    si_ms sent_at = clock_now(&clock_system);
    enum si_client_rc rc;
    int tried = 0;
    long waited = 0;
    im->chunks++;
    char key[IMPORT_KEY_LEN];
    chunk_key(im, emails, n, key);
    for (;;) {
        im->calls++;
        tried++;
        /* Every try carries the chunk's key: a try whose answer was lost is replayed. */
        rc = si_client_set_idempotency_key(im->client, key, &err);
        if (rc == SI_CLIENT_OK)
            rc = si_client_bulk_invite(im->client, &req, &res, &err);
        if (rc == SI_CLIENT_OK || !retryable(&err) || tried == IMPORT_TRIES)
            break;
        long wait = retry_wait_ms(im, tried, &err);
        cli_error("chunk %lu (rows %lu-%lu): %s %s: %s; try %d of %d in %.1f s", im->chunks,
                  im->rows[0].row, im->rows[im->nrows - 1].row,
                  err.http_status ? "HTTP error" : "no answer", err.code, err.description,
                  tried + 1, IMPORT_TRIES, (double)wait / 1000.0);
        sleep_ms(wait);
        waited += wait;
    }
    bool go_on = true;
    if (rc == SI_CLIENT_OK) {
        apply_answer(im, res, sent_at);
    } else if (retryable(&err) || (err.http_status == 0 && strcmp(err.code, "TRANSPORT") == 0)) {
        /* The API is out of reach (or kept failing), and no later chunk would get through
         * either: stop here, these rows unwritten, and say where to resume. */
        stop_line(im, &err, tried, waited);
        go_on = false;
    } else {
        go_on = !apply_error(im, &err);
        cli_error("chunk %lu (rows %lu-%lu): %s %d %s: %s%s%s", im->chunks, im->rows[0].row,
                  im->rows[im->nrows - 1].row, err.http_status ? "HTTP" : "no answer",
                  err.http_status, err.code, err.description, err.request_id[0] ? "; request " : "",
                  err.request_id);
        if (!go_on)
            cli_error("stopped: every later chunk would be refused the same way (check the key, "
                      "its permissions, --site and --policy)");
    }
    si_bulk_invite_result_free(res);
    free(emails);
    return go_on;
}

/* Writes all of buf to fd; false (errno set) on failure. */
static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* The progress line: a bar redrawn in place on a terminal, else one line per chunk. */
static void progress(struct import *im)
{
    unsigned long ok = im->count[IMPORT_CREATED] + im->count[IMPORT_EXISTING];
    unsigned long bad = im->count[IMPORT_FAILED] + im->count[IMPORT_ERROR];
    if (!im->tty) {
        char total[32] = "";
        if (im->total)
            snprintf(total, sizeof total, "/%lu", im->total);
        fprintf(stderr, "imported %lu%s rows: %lu invited, %lu failed\n", im->done, total, ok, bad);
        return;
    }
    char bar[IMPORT_BAR_WIDTH + 1];
    unsigned long filled = im->total ? im->done * IMPORT_BAR_WIDTH / im->total : 0;
    for (size_t i = 0; i < IMPORT_BAR_WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[IMPORT_BAR_WIDTH] = '\0';
    fprintf(stderr, "\r[%s] %lu/%lu rows: %lu invited, %lu failed", bar, im->done, im->total, ok,
            bad);
    fflush(stderr);
}

/* Sends the chunk, writes its rows in input order in one write, and empties it. Returns
 * false when the import must stop (the key was refused, the API could not be reached, or the
 * result file failed). A chunk whose call never got through is not written: the import is to
 * be resumed at its first row. */
static bool flush_chunk(struct import *im)
{
    bool go_on = im->nsend == 0 || send_chunk(im);
    if (im->resume_row) {
        for (size_t i = 0; i < im->nrows; i++)
            import_row_cleanup(&im->rows[i]);
        im->nrows = im->nsend = 0;
        return false;
    }
    struct buf b;
    buf_init(&b, 0);
    for (size_t i = 0; i < im->nrows; i++) {
        import_row_format(&b, &im->rows[i]);
        im->count[im->rows[i].result]++;
        import_row_cleanup(&im->rows[i]);
    }
    im->done += im->nrows;
    im->nrows = im->nsend = 0;
    if (b.len && !write_all(im->out_fd, b.data, b.len)) {
        cli_error("cannot write %s: %s", im->o.out, strerror(errno));
        go_on = false;
        im->stop = true;
    }
    buf_cleanup(&b);
    progress(im);
    return go_on;
}

/* Reads the whole input chunk by chunk. Returns the exit code for I/O trouble, else 0. */
static int run_rows(struct import *im)
{
    enum csv_status st;
    while ((st = csv_next(&im->csv)) == CSV_RECORD || st == CSV_TOO_BIG) {
        if (st == CSV_RECORD && csv_blank(&im->csv))
            continue;
        if (im->email_col < 0 && st == CSV_RECORD && csv_email_column(&im->csv, &im->email_col))
            continue;
        if (im->email_col < 0)
            im->email_col = 0;
        if (csv_record_no(&im->csv) < im->o.from_row) {
            skip_record(im, st);
            continue;
        }
        take_record(im, st);
        if ((long)im->nsend == im->o.chunk || im->nrows == IMPORT_CHUNK_ROWS) {
            if (!flush_chunk(im))
                return im->stop ? CLI_EXIT_CONFIG : IMPORT_EXIT_ROWS;
        }
    }
    if (im->nrows && !flush_chunk(im))
        return im->stop ? CLI_EXIT_CONFIG : IMPORT_EXIT_ROWS;
    if (st == CSV_IO_ERROR) {
        cli_error("cannot read %s: %s", im->o.csv, strerror(errno));
        return CLI_EXIT_CONFIG;
    }
    return 0;
}

/* The last line: counts on stdout, as text or one JSON object. */
static int summary(const struct import *im)
{
    const unsigned long *c = im->count;
    if (!im->o.json) {
        printf("imported %lu rows from %s%s: %lu created, %lu existing, %lu failed, "
               "%lu duplicate, %lu error; results in %s\n",
               im->done, im->o.csv, im->o.dry_run ? " (dry run)" : "", c[IMPORT_CREATED],
               c[IMPORT_EXISTING], c[IMPORT_FAILED], c[IMPORT_DUPLICATE], c[IMPORT_ERROR],
               im->o.out);
    } else {
        json_t *o = json_pack(
            "{sI sI sI sI sI sI sI sb ss so}", "rows", (json_int_t)im->done, "created",
            (json_int_t)c[IMPORT_CREATED], "existing", (json_int_t)c[IMPORT_EXISTING], "failed",
            (json_int_t)c[IMPORT_FAILED], "duplicate", (json_int_t)c[IMPORT_DUPLICATE], "error",
            (json_int_t)c[IMPORT_ERROR], "calls", (json_int_t)im->calls, "dryRun", im->o.dry_run,
            "results", im->o.out, "resumeFromRow",
            im->resume_row ? json_integer((json_int_t)im->resume_row) : json_null());
        char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (!text)
            abort(); /* out of memory: the CLI may abort */
        printf("%s\n", text);
        free(text);
        json_decref(o);
    }
    return fflush(stdout) == 0 && !ferror(stdout) ? 0 : CLI_EXIT_CONFIG;
}

/* Opens the input, the result file (with its header) and the client; exit code on failure. */
static int open_all(struct import *im)
{
    bool stdin_csv = strcmp(im->o.csv, "-") == 0;
    im->in = stdin_csv ? stdin : fopen(im->o.csv, "rb");
    if (!im->in) {
        cli_error("cannot read %s: %s", im->o.csv, strerror(errno));
        return CLI_EXIT_CONFIG;
    }
    im->total = stdin_csv ? 0 : count_rows(im->o.csv, im->o.from_row);
    /* A resumed import adds to the result file of the run it resumes: one file, every row
     * once. The header is written only into an empty file. */
    int mode = im->o.from_row ? O_APPEND : O_TRUNC;
    im->out_fd = open(im->o.out, O_WRONLY | O_CREAT | mode | O_CLOEXEC, 0644);
    off_t size = im->out_fd >= 0 ? lseek(im->out_fd, 0, SEEK_END) : -1;
    if (im->out_fd < 0 || size < 0 ||
        (size == 0 && !write_all(im->out_fd, IMPORT_HEADER, strlen(IMPORT_HEADER)))) {
        cli_error("cannot write %s: %s", im->o.out, strerror(errno));
        return CLI_EXIT_CONFIG;
    }
    struct si_api_key_strategy auth = {.api_key = im->o.key, .site_id = im->o.site};
    struct si_client_options copts = {.base_url = im->o.url, .ca_info = im->o.ca_file};
    struct si_client_error err;
    if (si_client_new(&auth, &copts, &im->client, &err) != SI_CLIENT_OK) {
        cli_error("cannot use --url/--site/key: %s", err.description);
        return CLI_EXIT_CONFIG;
    }
    /* The client keeps its own copy; ours is no longer needed. */
    secure_wipe(im->o.key, strlen(im->o.key));
    return 0;
}

int cli_invite_import(const struct cli_cmd *cmd, const struct settings *s, const struct cli_args *a)
{
    (void)s;
    struct import *im = xcalloc(1, sizeof *im);
    im->out_fd = -1;
    im->email_col = -1;
    im->tty = isatty(STDERR_FILENO) == 1;
    import_seen_init(&im->seen);
    int code = CLI_EXIT_CONFIG;
    if (!load_opts(&im->o, cmd, a))
        goto out;
    if (si_client_global_init() != SI_CLIENT_OK) {
        cli_error("cannot initialise libcurl");
        goto out;
    }
    code = open_all(im);
    if (code)
        goto cleanup;
    csv_init(&im->csv, im->in);
    code = run_rows(im);
    csv_cleanup(&im->csv);
    if (im->tty)
        fputc('\n', stderr);
    int printed = summary(im);
    if (!code)
        code = printed;
    if (!code && (im->count[IMPORT_FAILED] || im->count[IMPORT_ERROR]))
        code = IMPORT_EXIT_ROWS;
cleanup:
    si_client_free(im->client);
    si_client_global_cleanup();
out:
    if (im->in && im->in != stdin)
        fclose(im->in);
    if (im->out_fd >= 0 && close(im->out_fd) != 0 && !code) {
        cli_error("cannot write %s: %s", im->o.out, strerror(errno));
        code = CLI_EXIT_CONFIG;
    }
    for (size_t i = 0; i < im->nrows; i++)
        import_row_cleanup(&im->rows[i]);
    import_seen_cleanup(&im->seen);
    opts_cleanup(&im->o);
    free(im);
    return code;
}
