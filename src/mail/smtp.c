/* SMTP delivery through libcurl: one easy handle per transport state, so the connection carries
 * message after message; the server's reply lines are kept (never the commands' arguments) to
 * explain a refusal on the invite's delivery. */
#include "smtp.h"

#include "common/log.h"
#include "common/xalloc.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define SMTP_VERB_MAX  16  /* bytes of an SMTP command verb kept for messages, NUL included */
#define SMTP_REPLY_MAX 320 /* bytes of the last server reply line kept, NUL included */
#define SMTP_ADDR_MAX  400 /* bytes of "<address>" for MAIL FROM / RCPT TO, NUL included */
#define SMTP_CODE_PERM 500 /* replies from here on are permanent refusals (RFC 5321 4.2.1) */
#define SMTP_CODE_TEMP 400 /* replies from here to SMTP_CODE_PERM are temporary */
/* The refusal without its "smtp: " prefix, which the start-up check's caller adds itself. */
#define SMTP_NO_AUTH_WHY                                                                           \
    "smtp-user is set but the server did not log us in (it offers no AUTH): not sent "             \
    "unauthenticated (--smtp-allow-no-auth allows it)"
#define SMTP_NO_AUTH_ERR "smtp: " SMTP_NO_AUTH_WHY

/* What the dialogue showed about logging in; shared by sending and the start-up check. */
struct login_watch {
    bool want;    /* a user is set and allow_no_auth is off */
    bool authed;  /* a 235 reply since the last EHLO */
    bool refused; /* MAIL came without a login: the transfer was stopped */
    char verb[SMTP_VERB_MAX];
};

/* The message being uploaded: libcurl pulls it through read_cb. */
struct upload {
    const char *data;
    size_t len, off;
};

struct smtp {
    CURL *curl;
    char *url;
    struct smtp_options opt;
    struct upload up;
    char verb[SMTP_VERB_MAX];        /* the last command sent: MAIL, RCPT, DATA, AUTH, ... */
    char failed_verb[SMTP_VERB_MAX]; /* the command the first 4xx/5xx reply answered */
    char reply[SMTP_REPLY_MAX];      /* that reply line, controls made spaces */
    char errbuf[CURL_ERROR_SIZE];
    struct login_watch login;
    pthread_mutex_t sock_lock; /* guards sock against cancel on another thread */
    curl_socket_t sock;        /* the open connection, CURL_SOCKET_BAD when none */
    atomic_bool cancelled;
};

/* ---- libcurl callbacks ------------------------------------------------------------------ */

static size_t read_cb(char *buf, size_t size, size_t nitems, void *userp)
{
    struct upload *up = userp;
    size_t room = size * nitems;
    size_t n = up->len - up->off;
    if (n > room)
        n = room;
    memcpy(buf, up->data + up->off, n);
    up->off += n;
    return n;
}

/* Copies one protocol line into out without its line end, every control byte a space. */
static void keep_line(char *out, size_t cap, const char *data, size_t len)
{
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
        len--;
    if (len >= cap)
        len = cap - 1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)data[i];
        out[i] = c < 0x20 || c == 0x7F ? ' ' : (char)c;
    }
    out[len] = '\0';
}

/* Notes the command verbs we send (no arguments: AUTH carries the login). */
static void watch_out(struct login_watch *w, const char *data, size_t size)
{
    size_t n = 0;
    while (n < size && n < SMTP_VERB_MAX - 1 && data[n] >= 'A' && data[n] <= 'Z')
        n++;
    if (n == 0)
        return;
    memcpy(w->verb, data, n);
    w->verb[n] = '\0';
    if (strcmp(w->verb, "EHLO") == 0 || strcmp(w->verb, "HELO") == 0)
        w->authed = false; /* a new session (or after STARTTLS): log in again */
}

/* Sees the SMTP dialogue. Only server replies and the verb of our commands are kept: the
 * arguments of AUTH carry the login and the data carries the accept link. */
static int debug_cb(CURL *h, curl_infotype type, char *data, size_t size, void *userp)
{
    (void)h;
    struct smtp *st = userp;
    if (type == CURLINFO_HEADER_IN) {
        /* The first refusal explains the failure; the QUIT that follows must not replace it. */
        if (!st->reply[0] && size > 0 && (data[0] == '4' || data[0] == '5')) {
            keep_line(st->reply, sizeof st->reply, data, size);
            memcpy(st->failed_verb, st->verb, sizeof st->verb);
        }
    } else if (type == CURLINFO_HEADER_OUT) {
        watch_out(&st->login, data, size);
        size_t n = 0;
        while (n < size && n < SMTP_VERB_MAX - 1 && data[n] >= 'A' && data[n] <= 'Z')
            n++;
        if (n > 0) {
            memcpy(st->verb, data, n);
            st->verb[n] = '\0';
        }
    }
    return 0;
}

/* Reply lines. libcurl goes on without a login when the server offers no AUTH; with a user set
 * that is a silent downgrade, so the reply to MAIL stops the transfer before any data. */
static size_t header_cb(char *data, size_t size, size_t nitems, void *userp)
{
    struct login_watch *w = userp;
    size_t len = size * nitems;
    if (len >= 3 && memcmp(data, "235", 3) == 0)
        w->authed = true;
    if (w->want && !w->authed && strcmp(w->verb, "MAIL") == 0) {
        w->refused = true;
        return 0; /* CURLE_WRITE_ERROR */
    }
    return len;
}

static int debug_watch_cb(CURL *h, curl_infotype type, char *data, size_t size, void *userp)
{
    (void)h;
    if (type == CURLINFO_HEADER_OUT)
        watch_out(userp, data, size);
    return 0;
}

/* The connection is ours to shut down on cancel: remember it, refuse new ones once cancelled. */
static curl_socket_t open_sock_cb(void *userp, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct smtp *st = userp;
    (void)purpose;
    if (atomic_load(&st->cancelled))
        return CURL_SOCKET_BAD;
    curl_socket_t fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    pthread_mutex_lock(&st->sock_lock);
    st->sock = fd;
    pthread_mutex_unlock(&st->sock_lock);
    return fd;
}

static int close_sock_cb(void *userp, curl_socket_t fd)
{
    struct smtp *st = userp;
    pthread_mutex_lock(&st->sock_lock);
    if (st->sock == fd)
        st->sock = CURL_SOCKET_BAD;
    pthread_mutex_unlock(&st->sock_lock);
    return close(fd);
}

static void smtp_cancel(void *state)
{
    struct smtp *st = state;
    if (!st)
        return;
    atomic_store(&st->cancelled, true);
    pthread_mutex_lock(&st->sock_lock);
    if (st->sock != CURL_SOCKET_BAD)
        shutdown(st->sock, SHUT_RDWR); /* the blocked read returns at once */
    pthread_mutex_unlock(&st->sock_lock);
}

/* Installs the login watch on a handle (sending and the start-up check). */
static CURLcode watch_login(CURL *h, struct login_watch *w, const struct smtp_options *o)
{
    w->want = o->user && *o->user && !o->allow_no_auth;
    CURLcode c = curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
    if (!c)
        c = curl_easy_setopt(h, CURLOPT_HEADERDATA, w);
    return c;
}

/* ---- set-up ------------------------------------------------------------------------------- */

/* Applies the options every request of a handle shares. */
static CURLcode base_options(CURL *h, const char *url, const struct smtp_options *o, char *errbuf)
{
    long connect_ms = o->connect_timeout_ms ? o->connect_timeout_ms : SMTP_CONNECT_TIMEOUT_MS;
    long send_ms = o->send_timeout_ms ? o->send_timeout_ms : SMTP_SEND_TIMEOUT_MS;
    CURLcode c = curl_easy_setopt(h, CURLOPT_URL, url);
    if (!c)
        c = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    if (!c)
        c = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    if (!c)
        c = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM timeouts */
    if (!c)
        c = curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    if (!c)
        c = curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, send_ms);
    /* STARTTLS whenever the server offers it; with require_tls, never send in clear. */
    if (!c)
        c = curl_easy_setopt(h, CURLOPT_USE_SSL,
                             o->require_tls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_TRY);
    if (!c && o->user && *o->user) {
        c = curl_easy_setopt(h, CURLOPT_USERNAME, o->user);
        if (!c)
            c = curl_easy_setopt(h, CURLOPT_PASSWORD, o->password ? o->password : "");
    }
    return c;
}

static void smtp_close(void *state)
{
    struct smtp *st = state;
    if (!st)
        return;
    curl_easy_cleanup(st->curl); /* sends QUIT on a connection still open */
    pthread_mutex_destroy(&st->sock_lock);
    free(st->url);
    free(st);
}

static enum si_err smtp_open(const char *target, const void *options, void **state)
{
    static const struct smtp_options none = {0};
    const struct smtp_options *o = options ? options : &none;
    struct smtp *st = xcalloc(1, sizeof *st);
    st->url = xstrdup(target ? target : "");
    st->opt = *o;
    st->sock = CURL_SOCKET_BAD;
    pthread_mutex_init(&st->sock_lock, NULL);
    st->curl = curl_easy_init();
    CURLcode c = st->curl ? base_options(st->curl, st->url, o, st->errbuf) : CURLE_FAILED_INIT;
    if (!c)
        c = curl_easy_setopt(st->curl, CURLOPT_UPLOAD, 1L);
    if (!c)
        c = curl_easy_setopt(st->curl, CURLOPT_READFUNCTION, read_cb);
    if (!c)
        c = curl_easy_setopt(st->curl, CURLOPT_READDATA, &st->up);
    if (!c)
        c = curl_easy_setopt(st->curl, CURLOPT_DEBUGFUNCTION, debug_cb);
    if (!c)
        c = curl_easy_setopt(st->curl, CURLOPT_DEBUGDATA, st);
    if (!c)
        c = curl_easy_setopt(st->curl, CURLOPT_VERBOSE, 1L); /* feeds debug_cb, prints nothing */
    if (!c)
        c = watch_login(st->curl, &st->login, o);
    if (!c)
        c = curl_easy_setopt(st->curl, CURLOPT_OPENSOCKETFUNCTION, open_sock_cb);
    if (!c)
        c = curl_easy_setopt(st->curl, CURLOPT_OPENSOCKETDATA, st);
    if (!c)
        c = curl_easy_setopt(st->curl, CURLOPT_CLOSESOCKETFUNCTION, close_sock_cb);
    if (!c)
        c = curl_easy_setopt(st->curl, CURLOPT_CLOSESOCKETDATA, st);
    if (c) {
        log_error("smtp: cannot set up libcurl: %s", curl_easy_strerror(c));
        smtp_close(st);
        return SI_ECONFIG;
    }
    *state = st;
    return SI_OK;
}

/* ---- sending ------------------------------------------------------------------------------ */

/* Sorts a failed transfer into bounce (SI_EMAIL) or retry (SI_EIO) and explains it in err. */
static enum si_err classify(struct smtp *st, CURLcode c, char err[TRANSPORT_ERROR_MAX])
{
    long code = 0;
    curl_easy_getinfo(st->curl, CURLINFO_RESPONSE_CODE, &code);
    const char *verb = st->failed_verb[0] ? st->failed_verb : "greeting";
    if (st->login.refused) {
        snprintf(err, TRANSPORT_ERROR_MAX, SMTP_NO_AUTH_ERR);
        return SI_EIO; /* a configuration to fix, then the mail can go */
    }
    if (atomic_load(&st->cancelled)) {
        snprintf(err, TRANSPORT_ERROR_MAX,
                 "smtp: stopped while sending (the server is shutting "
                 "down): will retry");
        return SI_EIO;
    }
    if (c == CURLE_USE_SSL_FAILED) {
        snprintf(err, TRANSPORT_ERROR_MAX,
                 "smtp: the server did not offer STARTTLS and TLS is required "
                 "(smtp-require-tls): not sent");
        return SI_EIO;
    }
    if (st->reply[0]) {
        snprintf(err, TRANSPORT_ERROR_MAX, "smtp: %.320s (%.16s)", st->reply, verb);
        if (code < SMTP_CODE_TEMP)
            code = (st->reply[0] - '0') * 100; /* libcurl kept a later code (the QUIT's) */
        return code >= SMTP_CODE_PERM || c == CURLE_LOGIN_DENIED ? SI_EMAIL : SI_EIO;
    }
    /* The two faults an operator meets most (a server that hangs, one that drops us) get a
     * plain sentence naming the step; without a 250 to the data the server kept nothing. */
    const char *step = st->verb[0] ? st->verb : "greeting";
    if (c == CURLE_OPERATION_TIMEDOUT) {
        snprintf(err, TRANSPORT_ERROR_MAX,
                 "smtp: timeout: the server did not answer in time (%.16s): will retry", step);
        return SI_EIO;
    }
    if (c == CURLE_RECV_ERROR || c == CURLE_SEND_ERROR || c == CURLE_GOT_NOTHING) {
        snprintf(err, TRANSPORT_ERROR_MAX,
                 "smtp: connection lost: the server closed it before accepting the message "
                 "(%.16s): will retry",
                 step);
        return SI_EIO;
    }
    snprintf(err, TRANSPORT_ERROR_MAX, "smtp: %.100s%s%.256s", curl_easy_strerror(c),
             st->errbuf[0] ? ": " : "", st->errbuf);
    return c == CURLE_LOGIN_DENIED ? SI_EMAIL : SI_EIO;
}

static enum si_err smtp_send(void *state, const struct mail_envelope *env, const char *msg,
                             size_t len, char err[TRANSPORT_ERROR_MAX])
{
    struct smtp *st = state;
    char from[SMTP_ADDR_MAX], to[SMTP_ADDR_MAX];
    snprintf(from, sizeof from, "<%s>", env->from);
    snprintf(to, sizeof to, "<%s>", env->to);
    struct curl_slist *rcpt = curl_slist_append(NULL, to);
    if (!rcpt)
        fatal("smtp: out of memory");
    st->up = (struct upload){.data = msg, .len = len, .off = 0};
    st->verb[0] = st->failed_verb[0] = st->reply[0] = st->errbuf[0] = '\0';
    st->login.refused = false;
    CURLcode c = curl_easy_setopt(st->curl, CURLOPT_MAIL_FROM, from);
    if (!c)
        c = curl_easy_setopt(st->curl, CURLOPT_MAIL_RCPT, rcpt);
    if (!c)
        c = curl_easy_setopt(st->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    if (!c)
        c = curl_easy_perform(st->curl);
    /* The handle must not keep pointers to what is freed now. */
    curl_easy_setopt(st->curl, CURLOPT_MAIL_RCPT, (struct curl_slist *)NULL);
    curl_slist_free_all(rcpt);
    st->up = (struct upload){0};
    if (!c)
        return SI_OK;
    enum si_err rc = classify(st, c, err);
    log_warn("smtp: delivery to the server failed: %s", err);
    return rc;
}

const struct transport_ops smtp_transport = {
    .name = "smtp",
    .open = smtp_open,
    .send = smtp_send,
    .close = smtp_close,
    .cancel = smtp_cancel,
};

/* ---- process set-up and start-up checks -------------------------------------------------- */

enum si_err smtp_global_init(char err[SMTP_ERR_MAX])
{
    CURLcode c = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (c) {
        snprintf(err, SMTP_ERR_MAX, "libcurl does not start: %s", curl_easy_strerror(c));
        return SI_ECONFIG;
    }
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    bool smtp = false, smtps = false;
    for (const char *const *p = v->protocols; p && *p; p++) {
        smtp |= strcmp(*p, "smtp") == 0;
        smtps |= strcmp(*p, "smtps") == 0;
    }
    if (!smtp || !smtps) {
        snprintf(err, SMTP_ERR_MAX, "this libcurl (%s) was built without SMTP%s", v->version,
                 smtp ? "S" : "");
        curl_global_cleanup();
        return SI_ECONFIG;
    }
    return SI_OK;
}

void smtp_global_cleanup(void)
{
    curl_global_cleanup();
}

/* Checks the URL's shape with libcurl's own parser, so we accept exactly what it will use. */
static enum si_err check_url(const char *url, char err[SMTP_ERR_MAX])
{
    if (!url || (strncasecmp(url, "smtp://", 7) != 0 && strncasecmp(url, "smtps://", 8) != 0)) {
        snprintf(err, SMTP_ERR_MAX, "expected smtp://HOST[:PORT] or smtps://HOST[:PORT]");
        return SI_ECONFIG;
    }
    if (strlen(url) >= SMTP_URL_MAX) {
        snprintf(err, SMTP_ERR_MAX, "URL longer than %d bytes", SMTP_URL_MAX - 1);
        return SI_ECONFIG;
    }
    CURLU *u = curl_url();
    char *host = NULL, *user = NULL;
    enum si_err rc = SI_OK;
    if (!u)
        fatal("smtp: out of memory");
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host) {
        snprintf(err, SMTP_ERR_MAX, "cannot parse the URL: expected smtp://HOST[:PORT]");
        rc = SI_ECONFIG;
    } else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK && user) {
        /* A login in the URL would sit in argv and in every log line that shows the URL. */
        snprintf(err, SMTP_ERR_MAX,
                 "the URL holds a login: put it in the config file (smtp-user, smtp-password) "
                 "or SITEINVITES_SMTP_USER / SITEINVITES_SMTP_PASSWORD");
        rc = SI_ECONFIG;
    }
    curl_free(host);
    curl_free(user);
    curl_url_cleanup(u);
    return rc;
}

enum si_err smtp_check(const char *url, const struct smtp_options *opt, char err[SMTP_ERR_MAX])
{
    err[0] = '\0';
    enum si_err rc = check_url(url, err);
    if (rc)
        return rc;
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *h = curl_easy_init();
    if (!h)
        fatal("smtp: out of memory");
    /* CONNECT_ONLY runs the greeting, EHLO, STARTTLS and login, then stops: nothing is sent. */
    struct login_watch login = {.want = false};
    CURLcode c = base_options(h, url, opt, errbuf);
    if (!c)
        c = curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
    if (!c)
        c = watch_login(h, &login, opt);
    if (!c)
        c = curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, debug_watch_cb);
    if (!c)
        c = curl_easy_setopt(h, CURLOPT_DEBUGDATA, &login);
    if (!c)
        c = curl_easy_setopt(h, CURLOPT_VERBOSE, 1L); /* feeds debug_watch_cb, prints nothing */
    if (!c)
        c = curl_easy_perform(h);
    curl_easy_cleanup(h);
    if (c == CURLE_OK && login.want && !login.authed) {
        snprintf(err, SMTP_ERR_MAX, "%s", SMTP_NO_AUTH_WHY);
        return SI_ECONFIG;
    }
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(c);
    switch (c) {
    case CURLE_OK:
        return SI_OK;
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
        /* Down now, perhaps up later: the outbox holds the mail and retries. */
        snprintf(err, SMTP_ERR_MAX,
                 "the SMTP server is not answering yet (%.150s); mail stays "
                 "queued and is retried",
                 why);
        return SI_OK;
    case CURLE_USE_SSL_FAILED:
        snprintf(err, SMTP_ERR_MAX,
                 "the SMTP server does not offer STARTTLS, and TLS is "
                 "required (smtp-require-tls)");
        return SI_ECONFIG;
    case CURLE_LOGIN_DENIED:
        snprintf(err, SMTP_ERR_MAX, "the SMTP server refused the login (%.200s)", why);
        return SI_ECONFIG;
    default:
        snprintf(err, SMTP_ERR_MAX, "cannot use the SMTP server: %.200s", why);
        return SI_ECONFIG;
    }
}
