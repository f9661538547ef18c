/* loadgen: the keep-alive HTTP/1.1 load generator behind bench/run.sh. One epoll thread drives N
 * connections, substitutes a per-request counter into a request template, and reports latency
 * percentiles, requests/s, non-2xx answers and its own CPU use. It connects only to the loopback
 * address and always stops by itself (request count, duration, per-request timeout, errors).
 * One file (about 900 lines, a quarter of it the self-test) because CMake builds every C file in
 * bench/ into its own program. */
#include "common/buf.h"
#include "common/xalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS         1024
#define MAX_HEADERS       16
#define MAX_DURATION_S    3600
#define MAX_ERRORS        100         /* connection-level failures before the run is abandoned */
#define DEFAULT_TIMEOUT_S 30          /* one request slower than this abandons the run */
#define RESPONSE_LIMIT    (64u << 20) /* a bulk answer of 1,000 invites is about 1 MiB */
#define READ_CHUNK        65536
#define EPOLL_BATCH       64
#define TICK_MS           50
#define HEADER_VALUE_MAX  128
#define ERR_SAMPLE        400 /* bytes of the first non-2xx answer echoed to stderr */
#define LABEL_MAX         64

/* Log-linear latency histogram in microseconds: exact below 128 µs, then 64 sub-buckets per
 * power of two, so any percentile is within 1.6 % of the true value. */
#define HIST_SUB_BITS 6
#define HIST_SUB      (1 << HIST_SUB_BITS)
#define HIST_MAX_MSB  40 /* about 12 days: anything larger is clamped */
#define HIST_BUCKETS  ((HIST_MAX_MSB - HIST_SUB_BITS + 2) * HIST_SUB)

struct hist {
    uint64_t counts[HIST_BUCKETS];
    uint64_t total, max, sum;
};

static int hist_index(uint64_t v)
{
    if (v < 2 * HIST_SUB)
        return (int)v;
    int msb = 63 - __builtin_clzll(v);
    if (msb > HIST_MAX_MSB) {
        msb = HIST_MAX_MSB;
        v = (UINT64_C(1) << (HIST_MAX_MSB + 1)) - 1;
    }
    int shift = msb - HIST_SUB_BITS;
    return (shift + 1) * HIST_SUB + (int)((v >> shift) - HIST_SUB);
}

/* The largest value that falls into bucket idx. */
static uint64_t hist_bucket_high(int idx)
{
    if (idx < 2 * HIST_SUB)
        return (uint64_t)idx;
    int shift = idx / HIST_SUB - 1;
    uint64_t sub = (uint64_t)(idx % HIST_SUB + HIST_SUB);
    return ((sub + 1) << shift) - 1;
}

static void hist_record(struct hist *h, uint64_t v)
{
    h->counts[hist_index(v)]++;
    h->total++;
    h->sum += v;
    if (v > h->max)
        h->max = v;
}

/* The p-th percentile (0 < p <= 100), reported as its bucket's upper bound, never above max. */
static uint64_t hist_percentile(const struct hist *h, double p)
{
    if (h->total == 0)
        return 0;
    uint64_t rank = (uint64_t)(p / 100.0 * (double)h->total + 0.999999);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (int i = 0; i < HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t hi = hist_bucket_high(i);
            return hi < h->max ? hi : h->max;
        }
    }
    return h->max;
}

static void put(struct buf *b, const void *p, size_t n)
{
    /* Our own output buffers are uncapped, so an append can only fail by a broken invariant. */
    if (buf_append(b, p, n)) {
        fputs("loadgen: buffer append failed\n", stderr);
        abort();
    }
}

/* The lines of the -V file; {{V}} in a template becomes line (counter mod count). */
struct values {
    char **lines;
    size_t count;
};

/* Appends template t to out with {{N}} replaced by n and {{V}} by a value line. */
static void tmpl_expand(struct buf *out, const char *t, uint64_t n, const struct values *vals)
{
    const char *p = t;
    const char *mark;
    while ((mark = strstr(p, "{{")) != NULL) {
        put(out, p, (size_t)(mark - p));
        if (strncmp(mark, "{{N}}", 5) == 0) {
            char num[24];
            int len = snprintf(num, sizeof num, "%" PRIu64, n);
            put(out, num, (size_t)len);
            p = mark + 5;
        } else if (strncmp(mark, "{{V}}", 5) == 0 && vals->count > 0) {
            const char *v = vals->lines[n % vals->count];
            put(out, v, strlen(v));
            p = mark + 5;
        } else {
            put(out, mark, 2);
            p = mark + 2;
        }
    }
    put(out, p, strlen(p));
}

struct target {
    struct sockaddr_in addr;
    char hostport[32]; /* for the Host header */
    const char *path;  /* points into the URL given */
};

/* Accepts only http://127.0.0.1[:port]/path or http://localhost[:port]/path: this tool must
 * never load anything but the machine it runs on. Returns 0 or -1 (reason on stderr). */
static int parse_url(const char *url, struct target *t)
{
    static const char scheme[] = "http://";
    if (strncmp(url, scheme, sizeof scheme - 1) != 0) {
        fprintf(stderr, "loadgen: only http:// URLs are supported: %s\n", url);
        return -1;
    }
    const char *host = url + sizeof scheme - 1;
    size_t hlen = strcspn(host, ":/");
    if (!((hlen == 9 && strncmp(host, "127.0.0.1", 9) == 0) ||
          (hlen == 9 && strncmp(host, "localhost", 9) == 0))) {
        fprintf(stderr, "loadgen: refusing a target other than 127.0.0.1: %s\n", url);
        return -1;
    }
    long port = 80;
    const char *rest = host + hlen;
    if (*rest == ':') {
        char *end;
        errno = 0;
        port = strtol(rest + 1, &end, 10);
        if (errno || end == rest + 1 || port < 1 || port > 65535 || (*end && *end != '/')) {
            fprintf(stderr, "loadgen: bad port in %s\n", url);
            return -1;
        }
        rest = end;
    }
    memset(&t->addr, 0, sizeof t->addr);
    t->addr.sin_family = AF_INET;
    t->addr.sin_port = htons((uint16_t)port);
    t->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    snprintf(t->hostport, sizeof t->hostport, "127.0.0.1:%ld", port);
    t->path = *rest ? rest : "/";
    return 0;
}

/* What is known about the response being read on one connection. */
struct resp {
    bool headers_done;
    bool chunked;
    bool until_close; /* no length given: the body ends when the server closes */
    bool close;       /* the server will close after this answer */
    int status;
    size_t hdr_len;
    uint64_t clen;
};

static void header_value(const char *v, size_t n, char *dst)
{
    while (n > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    if (n >= HEADER_VALUE_MAX)
        n = HEADER_VALUE_MAX - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

/* Parses the status line and headers d[0..hdr_len). Returns 0 or -1 when malformed. */
static int parse_head(struct resp *r, const char *d, size_t hdr_len)
{
    if (hdr_len < 12 || strncmp(d, "HTTP/1.", 7) != 0 || d[8] != ' ')
        return -1;
    r->status = 0;
    for (int i = 9; i < 12; i++) {
        if (d[i] < '0' || d[i] > '9')
            return -1;
        r->status = r->status * 10 + (d[i] - '0');
    }
    bool http10 = d[7] == '0', keep_alive = false, have_len = false;
    const char *line = memmem(d, hdr_len, "\r\n", 2) + 2, *end = d + hdr_len - 2;
    while (line < end) {
        const char *eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
        const char *colon = memchr(line, ':', (size_t)(eol - line));
        if (!colon)
            return -1;
        size_t nlen = (size_t)(colon - line);
        char val[HEADER_VALUE_MAX];
        header_value(colon + 1, (size_t)(eol - colon - 1), val);
        if (nlen == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
            char *e;
            errno = 0;
            unsigned long long cl = strtoull(val, &e, 10);
            if (errno || e == val || *e || cl > RESPONSE_LIMIT)
                return -1;
            r->clen = cl;
            have_len = true;
        } else if (nlen == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0) {
            r->chunked = strcasestr(val, "chunked") != NULL;
        } else if (nlen == 10 && strncasecmp(line, "Connection", 10) == 0) {
            r->close = strcasestr(val, "close") != NULL;
            keep_alive = strcasestr(val, "keep-alive") != NULL;
        }
        line = eol + 2;
    }
    if (http10 && !keep_alive)
        r->close = true;
    bool no_body = (r->status >= 100 && r->status < 200) || r->status == 204 || r->status == 304;
    if (no_body)
        r->clen = 0;
    else if (!r->chunked && !have_len)
        r->until_close = r->close = true;
    r->hdr_len = hdr_len;
    r->headers_done = true;
    return 0;
}

/* Walks the chunks after the headers. 1 when the last chunk and trailers are in, else 0/-1. */
static int parse_chunks(const struct resp *r, const char *d, size_t n, size_t *total)
{
    size_t pos = r->hdr_len;
    for (;;) {
        const char *eol = memmem(d + pos, n - pos, "\r\n", 2);
        if (!eol)
            return 0;
        char *e;
        errno = 0;
        unsigned long long size = strtoull(d + pos, &e, 16);
        if (errno || e == d + pos || (e != eol && *e != ';') || size > RESPONSE_LIMIT)
            return -1;
        pos = (size_t)(eol - d) + 2;
        if (size == 0) {
            for (;;) { /* trailers, then the empty line that ends the message */
                eol = memmem(d + pos, n - pos, "\r\n", 2);
                if (!eol)
                    return 0;
                size_t len = (size_t)(eol - (d + pos));
                pos += len + 2;
                if (len == 0) {
                    *total = pos;
                    return 1;
                }
            }
        }
        if (n - pos < size + 2)
            return 0;
        if (d[pos + size] != '\r' || d[pos + size + 1] != '\n')
            return -1;
        pos += size + 2;
    }
}

/* Returns 1 when d[0..n) holds a whole response (*total = its length), 0 when more is needed,
 * -1 when it is malformed. */
static int resp_parse(struct resp *r, const char *d, size_t n, size_t *total)
{
    if (!r->headers_done) {
        const char *hend = memmem(d, n, "\r\n\r\n", 4);
        if (!hend)
            return n > RESPONSE_LIMIT ? -1 : 0;
        if (parse_head(r, d, (size_t)(hend - d) + 4))
            return -1;
    }
    if (r->chunked)
        return parse_chunks(r, d, n, total);
    if (r->until_close)
        return 0;
    if (n < r->hdr_len + r->clen)
        return 0;
    *total = r->hdr_len + (size_t)r->clen;
    return 1;
}

struct options {
    const char *url, *method, *label, *save_path;
    const char *headers[MAX_HEADERS];
    int nheaders, conns, timeout_s;
    char *body; /* template, or NULL */
    struct values vals;
    double duration_s;
    uint64_t count, warmup, counter_start;
    bool json;
};

enum conn_state { C_CLOSED, C_CONNECTING, C_SENDING, C_READING };

struct conn {
    int fd;
    enum conn_state state;
    struct buf out, in;
    size_t sent;
    struct resp resp;
    uint64_t t0_us;
};

struct run {
    const struct options *o;
    struct target tgt;
    int ep, active;
    struct conn *conns;
    struct buf body; /* scratch for the expanded body */
    uint64_t issued, done, non2xx, errors, deadline_us, t_start_us, t_measure_us, t_last_us;
    uint64_t by_class[6]; /* answers by status class: [2] = 2xx and so on */
    struct hist hist;
    bool saved, sample_shown, fatal;
};

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void conn_close(struct run *r, struct conn *c)
{
    if (c->fd >= 0) {
        close(c->fd); /* also removes it from the epoll set */
        c->fd = -1;
    }
    if (c->state != C_CLOSED)
        r->active--;
    c->state = C_CLOSED;
}

static void fail(struct run *r, const char *what)
{
    r->errors++;
    if (r->errors <= 3)
        fprintf(stderr, "loadgen: %s: %s\n", what, errno ? strerror(errno) : "protocol error");
    if (r->errors >= MAX_ERRORS) {
        fprintf(stderr, "loadgen: %d errors, giving up\n", MAX_ERRORS);
        r->fatal = true;
    }
}

static int watch(struct run *r, struct conn *c, uint32_t events, int op)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    return epoll_ctl(r->ep, op, c->fd, &ev);
}

static bool should_stop(const struct run *r)
{
    const struct options *o = r->o;
    if (r->fatal || (o->count && r->issued >= o->count))
        return true;
    return r->deadline_us && now_us() >= r->deadline_us;
}

static void conn_send(struct run *r, struct conn *c);

/* Opens connection c and, once connected, sends its first request. */
static void conn_open(struct run *r, struct conn *c)
{
    errno = 0;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        fail(r, "socket");
        r->fatal = true;
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    r->active++;
    c->state = C_CONNECTING;
    int rc = connect(c->fd, (const struct sockaddr *)&r->tgt.addr, sizeof r->tgt.addr);
    if (rc && errno != EINPROGRESS) {
        fail(r, "connect");
        r->fatal = true; /* nothing listening: retrying would only spin */
        conn_close(r, c);
        return;
    }
    if (watch(r, c, EPOLLOUT, EPOLL_CTL_ADD)) {
        fail(r, "epoll_ctl");
        conn_close(r, c);
    }
}

/* Builds the next request into c->out, or closes c when the run is over. */
static void conn_next(struct run *r, struct conn *c)
{
    const struct options *o = r->o;
    if (should_stop(r)) {
        conn_close(r, c);
        return;
    }
    uint64_t n = o->counter_start + r->issued++;
    buf_reset(&c->out);
    buf_reset(&r->body);
    if (o->body)
        tmpl_expand(&r->body, o->body, n, &o->vals);
    put(&c->out, o->method, strlen(o->method));
    put(&c->out, " ", 1);
    tmpl_expand(&c->out, r->tgt.path, n, &o->vals);
    if (buf_printf(&c->out, " HTTP/1.1\r\nHost: %s\r\n", r->tgt.hostport))
        abort();
    for (int i = 0; i < o->nheaders; i++) {
        put(&c->out, o->headers[i], strlen(o->headers[i]));
        put(&c->out, "\r\n", 2);
    }
    if (o->body && buf_printf(&c->out, "Content-Length: %zu\r\n", r->body.len))
        abort();
    put(&c->out, "\r\n", 2);
    if (r->body.len)
        put(&c->out, r->body.data, r->body.len);
    c->sent = 0;
    memset(&c->resp, 0, sizeof c->resp);
    buf_reset(&c->in);
    c->state = C_SENDING;
    c->t0_us = now_us();
    conn_send(r, c);
}

static void conn_send(struct run *r, struct conn *c)
{
    while (c->sent < c->out.len) {
        ssize_t w = send(c->fd, c->out.data + c->sent, c->out.len - c->sent, MSG_NOSIGNAL);
        if (w < 0 && errno == EAGAIN) {
            if (watch(r, c, EPOLLOUT, EPOLL_CTL_MOD))
                fail(r, "epoll_ctl");
            return;
        }
        if (w < 0) {
            fail(r, "send");
            conn_close(r, c);
            conn_open(r, c);
            return;
        }
        c->sent += (size_t)w;
    }
    c->state = C_READING;
    if (watch(r, c, EPOLLIN, EPOLL_CTL_MOD))
        fail(r, "epoll_ctl");
}

/* Accounts one whole response of `total` bytes held in c->in. */
static void record(struct run *r, struct conn *c, size_t total)
{
    uint64_t t = now_us();
    int status = c->resp.status, cls = status / 100;
    r->done++;
    r->t_last_us = t;
    if (r->done == r->o->warmup)
        r->t_measure_us = t; /* the measured window starts after the warm-up answers */
    else if (r->done > r->o->warmup)
        hist_record(&r->hist, t - c->t0_us);
    r->by_class[cls >= 1 && cls <= 5 ? cls : 0]++;
    const char *body = c->in.data + c->resp.hdr_len;
    size_t blen = total - c->resp.hdr_len;
    if (cls != 2) {
        r->non2xx++;
        if (!r->sample_shown) {
            r->sample_shown = true;
            fprintf(stderr, "loadgen: first non-2xx answer: %d %.*s\n", status,
                    (int)(blen < ERR_SAMPLE ? blen : ERR_SAMPLE), body);
        }
    } else if (r->o->save_path && !r->saved) {
        r->saved = true;
        FILE *f = fopen(r->o->save_path, "w");
        if (!f || fwrite(body, 1, blen, f) != blen)
            fprintf(stderr, "loadgen: cannot write %s\n", r->o->save_path);
        if (f)
            fclose(f);
    }
}

static void conn_readable(struct run *r, struct conn *c)
{
    char chunk[READ_CHUNK];
    bool eof = false;
    for (;;) {
        ssize_t n = recv(c->fd, chunk, sizeof chunk, 0);
        if (n > 0 && buf_append(&c->in, chunk, (size_t)n) == SI_OK)
            continue;
        if (n > 0) {
            errno = 0;
            fail(r, "response over the size limit");
            goto reopen;
        }
        if (n == 0)
            eof = true;
        else if (errno != EAGAIN) {
            fail(r, "recv");
            goto reopen;
        }
        break;
    }
    size_t total = 0;
    int rc = resp_parse(&c->resp, c->in.data, c->in.len, &total);
    if (rc == 0 && eof && c->resp.headers_done && c->resp.until_close) {
        total = c->in.len;
        rc = 1;
    }
    errno = 0;
    if (rc < 0 || (rc == 1 && total != c->in.len)) {
        fail(r, "malformed response or bytes after it");
        goto reopen;
    }
    if (rc == 0 && !eof)
        return;
    if (rc == 0) {
        fail(r, "server closed the connection mid-request");
        goto reopen;
    }
    record(r, c, total);
    if (c->resp.close || eof)
        goto reopen;
    conn_next(r, c);
    return;
reopen:
    conn_close(r, c);
    if (!should_stop(r))
        conn_open(r, c);
}

static void on_event(struct run *r, struct conn *c, uint32_t ev)
{
    if (c->state == C_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err || (ev & (EPOLLERR | EPOLLHUP))) {
            errno = err;
            fail(r, "connect");
            r->fatal = true;
            conn_close(r, c);
            return;
        }
        conn_next(r, c);
    } else if (c->state == C_SENDING) {
        conn_send(r, c);
    } else if (c->state == C_READING) {
        conn_readable(r, c);
    }
}

/* Abandons the run when a request has waited longer than the timeout. */
static void check_timeouts(struct run *r)
{
    uint64_t now = now_us(), limit = (uint64_t)r->o->timeout_s * 1000000u;
    for (int i = 0; i < r->o->conns; i++) {
        struct conn *c = &r->conns[i];
        if (c->state != C_CLOSED && now - c->t0_us > limit) {
            fprintf(stderr, "loadgen: a request took over %d s; stopping\n", r->o->timeout_s);
            r->fatal = true;
            r->errors++;
            return;
        }
    }
}

static void report(const struct run *r, double cpu_s)
{
    const struct options *o = r->o;
    const struct hist *h = &r->hist;
    double secs = (double)(r->t_last_us - r->t_measure_us) / 1e6;
    double rps = secs > 0 ? (double)h->total / secs : 0;
    double wall = (double)(r->t_last_us - r->t_start_us) / 1e6; /* warm-up included, as CPU is */
    double cpu_pct = wall > 0 ? cpu_s / wall * 100.0 : 0;
    uint64_t p50 = hist_percentile(h, 50), p90 = hist_percentile(h, 90);
    uint64_t p99 = hist_percentile(h, 99), mean = h->total ? h->sum / h->total : 0;
    if (o->json) {
        printf("{\"label\":\"%s\",\"conns\":%d,\"requests\":%" PRIu64 ",\"warmup\":%" PRIu64
               ",\"non2xx\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"elapsed_s\":%.3f,\"wall_s\":%.3f,"
               "\"rps\":%.1f,\"p50_us\":%" PRIu64 ",\"p90_us\":%" PRIu64 ",\"p99_us\":%" PRIu64
               ",\"max_us\":%" PRIu64 ",\"mean_us\":%" PRIu64 ",\"cpu_s\":%.3f,\"cpu_pct\":%.1f}\n",
               o->label, o->conns, h->total, o->warmup, r->non2xx, r->errors, secs, wall, rps, p50,
               p90, p99, h->max, mean, cpu_s, cpu_pct);
        return;
    }
    printf("%s: %" PRIu64 " requests (+%" PRIu64 " warm-up) in %.2f s on %d connection(s): "
           "%.1f req/s\n",
           o->label, h->total, o->warmup, secs, o->conns, rps);
    printf("  latency us: p50 %" PRIu64 "  p90 %" PRIu64 "  p99 %" PRIu64 "  max %" PRIu64
           "  mean %" PRIu64 "\n",
           p50, p90, p99, h->max, mean);
    printf("  answers: 2xx %" PRIu64 "  3xx %" PRIu64 "  4xx %" PRIu64 "  5xx %" PRIu64
           "  non-2xx %" PRIu64 "  errors %" PRIu64 "\n",
           r->by_class[2], r->by_class[3], r->by_class[4], r->by_class[5], r->non2xx, r->errors);
    printf("  loadgen CPU: %.2f s user+sys = %.0f%% of one core\n", cpu_s, cpu_pct);
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Runs the load described by o. Returns 0 when every request got a 2xx answer, 1 when some
 * did not or the run was abandoned (the report is printed either way), 2 on bad input. */
static int run_load(const struct options *o)
{
    static struct run r; /* large (the histogram); one run per process */
    r.o = o;
    if (parse_url(o->url, &r.tgt))
        return 2;
    r.ep = epoll_create1(EPOLL_CLOEXEC);
    if (r.ep < 0) {
        perror("loadgen: epoll_create1");
        return 2;
    }
    r.conns = xcalloc((size_t)o->conns, sizeof *r.conns);
    buf_init(&r.body, 0);
    double cpu0 = cpu_seconds();
    uint64_t t0 = now_us();
    r.t_start_us = r.t_measure_us = r.t_last_us = t0;
    r.deadline_us = o->duration_s > 0 ? t0 + (uint64_t)(o->duration_s * 1e6) : 0;
    for (int i = 0; i < o->conns; i++) {
        r.conns[i].fd = -1;
        buf_init(&r.conns[i].out, 0);
        buf_init(&r.conns[i].in, RESPONSE_LIMIT);
        conn_open(&r, &r.conns[i]);
    }
    struct epoll_event evs[EPOLL_BATCH];
    while (r.active > 0 && !r.fatal) {
        int n = epoll_wait(r.ep, evs, EPOLL_BATCH, TICK_MS);
        for (int i = 0; i < n; i++)
            on_event(&r, evs[i].data.ptr, evs[i].events);
        check_timeouts(&r);
    }
    report(&r, cpu_seconds() - cpu0);
    for (int i = 0; i < o->conns; i++) {
        conn_close(&r, &r.conns[i]);
        buf_cleanup(&r.conns[i].out);
        buf_cleanup(&r.conns[i].in);
    }
    buf_cleanup(&r.body);
    free(r.conns);
    close(r.ep);
    return r.fatal || r.errors || r.non2xx ? 1 : 0;
}

/* Reads a whole file into a new NUL-terminated string, or NULL (reason on stderr). */
static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "loadgen: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    struct buf b;
    buf_init(&b, RESPONSE_LIMIT);
    char chunk[READ_CHUNK];
    size_t n;
    bool ok = true;
    while (ok && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        ok = buf_append(&b, chunk, n) == SI_OK;
    fclose(f);
    put(&b, "", 1); /* a readable empty string even for an empty file */
    if (!ok) {
        fprintf(stderr, "loadgen: %s is too large\n", path);
        buf_cleanup(&b);
        return NULL;
    }
    return buf_take(&b);
}

/* Splits text (taken over) into non-empty lines for {{V}}. */
static void values_split(struct values *v, char *text)
{
    size_t cap = 0;
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (*line) {
            if (v->count == cap) {
                cap = cap ? cap * 2 : 64;
                v->lines = xrealloc(v->lines, cap * sizeof *v->lines);
            }
            v->lines[v->count++] = line;
        }
        if (!nl)
            break;
        line = nl + 1;
    }
}

static int number(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "loadgen: %s is not a number in [%g, %g]\n", s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int self_test(void);

static void usage(void)
{
    fputs("usage: loadgen -u http://127.0.0.1:PORT/path [-X METHOD] [-H 'Name: value']...\n"
          "               [-b BODY | -B BODYFILE] [-V VALUESFILE] [-c CONNS]\n"
          "               (-n COUNT | -d SECONDS) [-W WARMUP] [-s COUNTER_START]\n"
          "               [-t TIMEOUT_S] [-l LABEL] [-o SAVE_FIRST_2XX_BODY] [-j]\n"
          "       loadgen --self-test\n"
          "{{N}} in the path or body becomes a per-request counter (from -s), {{V}} line\n"
          "(counter mod lines) of VALUESFILE. Only 127.0.0.1 is accepted as a target.\n",
          stderr);
}

/* Fills o from argv. Returns 0, or 2 on bad usage (after saying why). */
static int parse_args(int argc, char **argv, struct options *o)
{
    static const struct option longs[] = {{"self-test", no_argument, NULL, 'T'}, {0}};
    double v;
    int opt;
    char *text;
    while ((opt = getopt_long(argc, argv, "u:X:H:b:B:V:c:n:d:W:s:t:l:o:jT", longs, NULL)) != -1) {
        switch (opt) {
        case 'u':
            o->url = optarg;
            break;
        case 'X':
            o->method = optarg;
            break;
        case 'H':
            if (o->nheaders == MAX_HEADERS || !strchr(optarg, ':') || strpbrk(optarg, "\r\n"))
                return fprintf(stderr, "loadgen: bad or too many headers\n"), 2;
            o->headers[o->nheaders++] = optarg;
            break;
        case 'b':
            o->body = xstrdup(optarg);
            break;
        case 'B':
            if (!(o->body = read_file(optarg)))
                return 2;
            break;
        case 'V':
            if (!(text = read_file(optarg)))
                return 2;
            values_split(&o->vals, text);
            break;
        case 'c':
            if (number(optarg, 1, MAX_CONNS, &v))
                return 2;
            o->conns = (int)v;
            break;
        case 'n':
        case 'W':
        case 's':
            if (number(optarg, 0, 1e15, &v))
                return 2;
            *(opt == 'n' ? &o->count : opt == 'W' ? &o->warmup : &o->counter_start) = (uint64_t)v;
            break;
        case 'd':
            if (number(optarg, 0.01, MAX_DURATION_S, &o->duration_s))
                return 2;
            break;
        case 't':
            if (number(optarg, 1, MAX_DURATION_S, &v))
                return 2;
            o->timeout_s = (int)v;
            break;
        case 'l':
            if (strlen(optarg) >= LABEL_MAX || strspn(optarg, "abcdefghijklmnopqrstuvwxyz"
                                                              "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                              "0123456789_.-") != strlen(optarg))
                return fprintf(stderr, "loadgen: label must be [A-Za-z0-9_.-]\n"), 2;
            o->label = optarg;
            break;
        case 'o':
            o->save_path = optarg;
            break;
        case 'j':
            o->json = true;
            break;
        case 'T':
            exit(self_test() ? 1 : 0);
        default:
            usage();
            return 2;
        }
    }
    if (!o->url || optind != argc || (!o->count && o->duration_s <= 0)) {
        usage(); /* without a count or a duration the run would never stop */
        return 2;
    }
    if (!o->method)
        o->method = o->body ? "POST" : "GET";
    return 0;
}

int main(int argc, char **argv)
{
    struct options o = {.conns = 1, .timeout_s = DEFAULT_TIMEOUT_S, .label = "run"};
    int rc = parse_args(argc, argv, &o);
    if (rc == 0)
        rc = run_load(&o);
    free(o.body);
    if (o.vals.lines)
        free(o.vals.lines[0]); /* the first line starts the text they all live in */
    free(o.vals.lines);
    return rc;
}

/* --- self-test: the pure parts (histogram, template, URL, response framing) ---------------- */

static int failures;
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "self-test: %s:%d: %s\n", __FILE__, __LINE__, #cond);                  \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static void test_hist(void)
{
    static struct hist h;
    for (uint64_t v = 1; v <= 100000; v++)
        hist_record(&h, v);
    uint64_t p50 = hist_percentile(&h, 50), p99 = hist_percentile(&h, 99);
    CHECK(p50 >= 50000 && p50 <= 50000 * 1.016);
    CHECK(p99 >= 99000 && p99 <= 99000 * 1.016);
    CHECK(hist_percentile(&h, 100) == 100000 && h.max == 100000);
    for (uint64_t v = 0; v < 4096; v++) /* every value lands in a bucket whose range holds it */
        CHECK(hist_bucket_high(hist_index(v)) >= v &&
              (hist_index(v) == 0 || hist_bucket_high(hist_index(v) - 1) < v));
    CHECK(hist_index(UINT64_MAX) == HIST_BUCKETS - 1);
    static struct hist small;
    hist_record(&small, 7);
    hist_record(&small, 9);
    CHECK(hist_percentile(&small, 50) == 7 && hist_percentile(&small, 99) == 9);
}

static void test_template(void)
{
    char a[] = "x", b[] = "y";
    char *lines[] = {a, b};
    struct values vals = {lines, 2};
    struct buf out;
    buf_init(&out, 0);
    tmpl_expand(&out, "u{{N}}@e.com/{{V}}/{{X}}{{", 41, &vals);
    CHECK(strcmp(out.data, "u41@e.com/y/{{X}}{{") == 0);
    buf_reset(&out);
    struct values none = {NULL, 0};
    tmpl_expand(&out, "{{V}}{{N}}", 0, &none);
    CHECK(strcmp(out.data, "{{V}}0") == 0);
    buf_cleanup(&out);
}

static void test_url(void)
{
    struct target t;
    CHECK(parse_url("http://127.0.0.1:8080/a/b", &t) == 0 && ntohs(t.addr.sin_port) == 8080 &&
          strcmp(t.path, "/a/b") == 0 && strcmp(t.hostport, "127.0.0.1:8080") == 0);
    CHECK(parse_url("http://localhost:9", &t) == 0 && strcmp(t.path, "/") == 0);
    fputs("self-test: the next four refusals are expected\n", stderr);
    CHECK(parse_url("http://10.0.0.1:80/", &t) < 0);
    CHECK(parse_url("http://127.0.0.10:80/", &t) < 0);
    CHECK(parse_url("https://127.0.0.1/", &t) < 0);
    CHECK(parse_url("http://127.0.0.1:0/", &t) < 0);
}

static int parse_all(const char *text, struct resp *r, size_t *total)
{
    memset(r, 0, sizeof *r);
    return resp_parse(r, text, strlen(text), total);
}

static void test_framing(void)
{
    struct resp r;
    size_t total = 0;
    const char *ok = "HTTP/1.1 201 Created\r\ncontent-length: 2\r\nX: y\r\n\r\n{}";
    CHECK(parse_all(ok, &r, &total) == 1 && r.status == 201 && total == strlen(ok) && !r.close);
    CHECK(parse_all("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{}", &r, &total) == 0);
    CHECK(parse_all("HTTP/1.1 200 OK\r\nContent-Len", &r, &total) == 0);
    const char *ch = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "3\r\nabc\r\n2;x=1\r\nde\r\n0\r\nT: 1\r\n\r\n";
    CHECK(parse_all(ch, &r, &total) == 1 && total == strlen(ch));
    CHECK(parse_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab", &r, &total) ==
          0);
    CHECK(parse_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", &r, &total) < 0);
    CHECK(parse_all("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", &r,
                    &total) == 1 &&
          r.status == 404 && r.close);
    CHECK(parse_all("HTTP/1.0 200 OK\r\n\r\nabc", &r, &total) == 0 && r.until_close && r.close);
    const char *nc = "HTTP/1.1 204 No Content\r\n\r\n";
    CHECK(parse_all(nc, &r, &total) == 1 && total == strlen(nc));
    CHECK(parse_all("SMTP 220 hello\r\n\r\n", &r, &total) < 0);
    CHECK(parse_all("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", &r, &total) < 0);
    CHECK(parse_all("HTTP/1.1 200 OK\r\nno colon\r\n\r\n", &r, &total) < 0);
}

static int self_test(void)
{
    test_hist();
    test_template();
    test_url();
    test_framing();
    printf("self-test: %s (%d failure(s))\n", failures ? "FAILED" : "ok", failures);
    return failures;
}
