/* Fuzzes the C client's reading of answers (src/client): a whole HTTP answer as a server or a
 * proxy could send it, fed through the same libcurl callbacks (client_answer_header,
 * client_answer_body, the body in two chunks) and then read the way the public calls read it:
 * a non-2xx status through client_error_from_answer, a 2xx one parsed as the answer of Get
 * (take the "invite" member), Bulk Invite (a dry run when the call byte's top bit is set) or
 * Query. Input: a status byte, a call byte, header
 * lines each ending at the unit separator (0x1f) up to an empty one, a split byte, the body.
 * Checked: the body is kept whole, as a string; every error text ends in NUL within its array,
 * never holds the API key (the client scrubs what a server echoes), and names the status; a
 * parsed answer has the members the contract promises; nothing leaks on any path. */
#include "fuzz_support.h"

#include "client/client_int.h"

#include <stdlib.h>
#include <string.h>

#define API_KEY  "sik_fuzzKEYfuzzKEYfuzzKEYfuzzKEYfuzzKEYfuzzKEY"
#define BODY_MAX (64 * 1024)

static const int statuses[] = {200, 201, 204, 299, 301, 400, 401, 403, 404, 409,
                               413, 428, 429, 500, 502, 503, 504, 0,   99,  600};

static bool ends(const char *s, size_t cap)
{
    return strnlen(s, cap) < cap;
}

static void check_error(const struct si_client_error *e, int status)
{
    fuzz_check(e->http_status == status, "the error names the status");
    fuzz_check(ends(e->code, sizeof e->code) && ends(e->description, sizeof e->description) &&
                   ends(e->request_id, sizeof e->request_id) && ends(e->field, sizeof e->field) &&
                   ends(e->reason, sizeof e->reason),
               "error texts end in NUL");
    fuzz_check(e->code[0] && e->description[0], "an error always has a code and a description");
    fuzz_check(!strstr(e->code, API_KEY) && !strstr(e->description, API_KEY) &&
                   !strstr(e->request_id, API_KEY) && !strstr(e->field, API_KEY),
               "the API key never shows in an error");
    fuzz_check(e->retry_after_s >= 0, "Retry-After is never negative");
}

static void check_invite(const struct si_invite *inv)
{
    fuzz_check(inv->id != NULL, "a parsed invite has an id");
    for (size_t i = 0; i < inv->policy_id_count; i++)
        fuzz_check(inv->policy_ids[i] != NULL, "every counted policy ID is there");
}

/* The answer of a 2xx status, read as the public call `call` reads it. */
static void read_success(const struct client_answer *a, unsigned call)
{
    json_t *j = json_loadb(a->data ? a->data : "", a->len, 0, NULL);
    if (!json_is_object(j)) { /* finish(): "the answer is not a JSON object" */
        json_decref(j);
        return;
    }
    if (call % 3 == 0) { /* get and resend: take_invite */
        struct si_invite *inv = calloc(1, sizeof *inv);
        if (client_invite_parse(json_object_get(j, "invite"), inv, true) == SI_CLIENT_OK) {
            check_invite(inv);
            si_invite_free(inv);
        } else {
            free(inv); /* the parser released what it had filled */
        }
    } else if (call % 3 == 1) {
        /* A dry run's invites have no id yet; every other answer's must. */
        bool dry_run = call & 0x80;
        struct si_bulk_invite_result *r = calloc(1, sizeof *r);
        if (client_bulk_result_parse(j, r, dry_run) == SI_CLIENT_OK && !dry_run)
            for (size_t i = 0; i < r->invite_count; i++)
                check_invite(&r->invites[i]);
        si_bulk_invite_result_free(r);
    } else {
        struct si_invite_page *p = calloc(1, sizeof *p);
        if (client_invite_page_parse(j, p) == SI_CLIENT_OK) {
            for (size_t i = 0; i < p->invite_count; i++)
                check_invite(&p->invites[i]);
            fuzz_check(!p->next_cursor || p->next_cursor[0], "an empty cursor is no cursor");
        }
        si_invite_page_free(p);
    }
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_reader r = {data, size};
    int status = statuses[fuzz_byte(&r) % (sizeof statuses / sizeof statuses[0])];
    unsigned call = fuzz_byte(&r);
    struct si_client c;
    memset(&c, 0, sizeof c);
    c.api_key = API_KEY;
    c.answer.max = BODY_MAX;
    for (;;) {
        size_t n = 0;
        char *line = fuzz_string(&r, &n);
        bool last = n == 0;
        if (!last) /* curl hands header lines over with their CRLF, not NUL-terminated */
            fuzz_check(client_answer_header(line, 1, n, &c.answer) == n, "headers are taken");
        free(line);
        if (last)
            break;
    }
    size_t split = fuzz_byte(&r), len = r.left;
    split = split < len ? split : len;
    char *body = malloc(len ? len : 1);
    if (len)
        memcpy(body, r.p, len);
    size_t got = client_answer_body(body, 1, split, &c.answer);
    if (got == split && len > split)
        got += client_answer_body(body + split, 1, len - split, &c.answer);
    fuzz_check(c.answer.too_big == (len > BODY_MAX), "the cap and only the cap stops a body");
    if (!c.answer.too_big) {
        fuzz_check(got == len && c.answer.len == len, "the body is kept whole");
        fuzz_check(!len || (memcmp(c.answer.data, body, len) == 0 && !c.answer.data[len]),
                   "the body is kept as it came, as a string");
        struct si_client_error err;
        if (status < 200 || status > 299) {
            client_error_from_answer(&c, status, &err);
            check_error(&err, status);
        } else {
            read_success(&c.answer, call);
        }
    }
    free(body);
    free(c.answer.data);
    return 0;
}
