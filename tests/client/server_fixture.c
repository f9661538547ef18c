/* The client tests' server: spawning `siteinvites serve` and the admin CLI with posix_spawn,
 * reading the port line with a deadline, and a clean SIGTERM stop. */
#include "server_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define START_TIMEOUT_MS 15000 /* serve prints its port line well within this */
#define STOP_TIMEOUT_MS  15000 /* and exits after SIGTERM within this */
#define WAIT_STEP_MS     10
#define PORT_LINE_MAX    128
#define PORT_PREFIX      "listening http://127.0.0.1:"
#define TLS_PORT_PREFIX  "listening https://127.0.0.1:"
#define OPENSSL_ARGS_MAX 40
#define CLI_ARGS_MAX     32
#define CLI_OUTPUT_MAX   65536

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int fixture_init(struct server_fixture *f)
{
    memset(f, 0, sizeof *f);
    f->out_fd = -1;
    const char *bin = getenv("SI_BIN");
    if (!bin || !bin[0]) {
        fprintf(stderr, "fixture: set SI_BIN to the siteinvites binary (ctest does)\n");
        return -1;
    }
    snprintf(f->bin, sizeof f->bin, "%s", bin);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/si-client-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(f->dir)) {
        fprintf(stderr, "fixture: mkdtemp: %s\n", strerror(errno));
        return -1;
    }
    snprintf(f->db, sizeof f->db, "sqlite:%s/si.db", f->dir);
    return 0;
}

/* Spawns argv with stdout to a new pipe (*out_fd) and stderr appended to <dir>/serve.log. */
static pid_t spawn(struct server_fixture *f, char *const argv[], int *out_fd)
{
    int fds[2];
    char log[FIXTURE_PATH_MAX + 16];
    snprintf(log, sizeof log, "%s/serve.log", f->dir);
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    /* posix_spawn rather than fork+exec: nothing runs in a forked copy of the test process
     * (which may hold curl's resolver threads) between fork and exec. */
    pid_t pid = -1;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        fprintf(stderr, "fixture: spawn %s: %s\n", argv[0], strerror(rc));
        return -1;
    }
    *out_fd = fds[0];
    return pid;
}

/* Reads one line from fd before the deadline; false on timeout, EOF or a too-long line. */
static bool read_line(int fd, char *line, size_t cap, long deadline)
{
    size_t n = 0;
    while (n + 1 < cap) {
        long left = deadline - now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return false;
        if (read(fd, line + n, 1) != 1)
            return false;
        if (line[n++] == '\n') {
            line[n] = '\0';
            return true;
        }
    }
    return false;
}

/* Waits for pid to exit before the deadline; returns its wait status or -1. */
static int wait_exit(pid_t pid, long deadline)
{
    for (;;) {
        int status = 0;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 || now_ms() >= deadline)
            return -1;
        poll(NULL, 0, WAIT_STEP_MS); /* a bounded wait for the exit, not a race cover */
    }
}

/* Runs `openssl <args...>` (NULL-terminated) in f->dir, output to the log; true on exit 0. */
static bool run_openssl(struct server_fixture *f, const char *const *args)
{
    char *argv[OPENSSL_ARGS_MAX];
    size_t n = 0;
    argv[n++] = "/usr/bin/openssl";
    for (; *args && n < OPENSSL_ARGS_MAX - 1; args++)
        argv[n++] = (char *)*args;
    argv[n] = NULL;
    int fd = -1;
    pid_t pid = spawn(f, argv, &fd);
    if (pid <= 0)
        return false;
    close(fd);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "fixture: openssl %s failed (see %s/serve.log)\n", argv[1], f->dir);
        return false;
    }
    return true;
}

int fixture_make_tls(struct server_fixture *f)
{
    char p[6][FIXTURE_PATH_MAX + 16];
    const char *names[6] = {"ca.key", "ca.pem", "key.pem", "leaf.csr", "leaf.ext", "cert.pem"};
    for (size_t i = 0; i < 6; i++)
        snprintf(p[i], sizeof p[i], "%s/%s", f->dir, names[i]);
    FILE *ext = fopen(p[4], "w");
    if (!ext)
        return -1;
    fputs("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
          "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
          ext);
    if (fclose(ext) != 0)
        return -1;
    const char *ca_key[] = {
        "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-out",    p[0],         NULL};
    const char *ca[] = {"req",
                        "-x509",
                        "-new",
                        "-key",
                        p[0],
                        "-out",
                        p[1],
                        "-days",
                        "2",
                        "-subj",
                        "/CN=siteinvites client test CA",
                        "-addext",
                        "basicConstraints=critical,CA:TRUE",
                        "-addext",
                        "keyUsage=critical,keyCertSign",
                        NULL};
    const char *leaf_key[] = {
        "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-out",    p[2],         NULL};
    const char *csr[] = {"req", "-new", "-key", p[2], "-out", p[3], "-subj", "/CN=127.0.0.1", NULL};
    const char *sign[] = {
        "x509", "-req", "-in",   p[3], "-CA",      p[1], "-CAkey", p[0], "-CAcreateserial",
        "-out", p[5],   "-days", "2",  "-extfile", p[4], NULL};
    if (!run_openssl(f, ca_key) || !run_openssl(f, ca) || !run_openssl(f, leaf_key) ||
        !run_openssl(f, csr) || !run_openssl(f, sign) || chmod(p[2], 0600) != 0)
        return -1;
    snprintf(f->ca, sizeof f->ca, "%s", p[1]);
    f->tls = true;
    return 0;
}

int fixture_start(struct server_fixture *f)
{
    char mail[FIXTURE_PATH_MAX + 16], secret[FIXTURE_PATH_MAX + 16], line[PORT_LINE_MAX];
    char cert[FIXTURE_PATH_MAX + 16], key[FIXTURE_PATH_MAX + 16];
    snprintf(mail, sizeof mail, "%s/mail", f->dir);
    snprintf(secret, sizeof secret, "%s/secret.key", f->dir);
    snprintf(cert, sizeof cert, "%s/cert.pem", f->dir);
    snprintf(key, sizeof key, "%s/key.pem", f->dir);
    char *argv[] = {f->bin,
                    "serve",
                    "--listen",
                    "127.0.0.1:0",
                    "--db",
                    f->db,
                    "--mail-dir",
                    mail,
                    "--secret-file",
                    secret,
                    "--access-log",
                    "off",
                    NULL,
                    NULL,
                    NULL,
                    NULL,
                    NULL};
    if (f->tls) {
        argv[12] = "--tls-cert";
        argv[13] = cert;
        argv[14] = "--tls-key";
        argv[15] = key;
    }
    const char *prefix = f->tls ? TLS_PORT_PREFIX : PORT_PREFIX;
    f->pid = spawn(f, argv, &f->out_fd);
    if (f->pid <= 0) {
        f->pid = 0;
        return -1;
    }
    bool ok = read_line(f->out_fd, line, sizeof line, now_ms() + START_TIMEOUT_MS) &&
              strncmp(line, prefix, strlen(prefix)) == 0;
    long port = 0;
    if (ok) {
        char *end = NULL;
        port = strtol(line + strlen(prefix), &end, 10);
        ok = port > 0 && port < 65536 && end && *end == '\n';
    }
    if (!ok) {
        fprintf(stderr, "fixture: serve printed no port line (see %s/serve.log)\n", f->dir);
        kill(f->pid, SIGKILL);
        waitpid(f->pid, NULL, 0);
        f->pid = 0;
        return -1;
    }
    snprintf(f->base_url, sizeof f->base_url, "%s://127.0.0.1:%ld", f->tls ? "https" : "http",
             port);
    return 0;
}

int fixture_stop(struct server_fixture *f)
{
    if (!f->pid)
        return -1;
    pid_t pid = f->pid;
    f->pid = 0;
    kill(pid, SIGTERM);
    int status = wait_exit(pid, now_ms() + STOP_TIMEOUT_MS);
    if (status < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    if (f->out_fd >= 0)
        close(f->out_fd);
    f->out_fd = -1;
    if (status < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

char *fixture_cli_member(struct server_fixture *f, const char *member, const char *const *args)
{
    char *argv[CLI_ARGS_MAX];
    size_t n = 0;
    argv[n++] = f->bin;
    for (; *args && n < CLI_ARGS_MAX - 4; args++)
        argv[n++] = (char *)*args;
    argv[n++] = "--json";
    argv[n++] = "--db";
    argv[n++] = f->db;
    argv[n] = NULL;
    int fd = -1;
    pid_t pid = spawn(f, argv, &fd);
    if (pid <= 0)
        return NULL;
    char *out = calloc(1, CLI_OUTPUT_MAX);
    size_t len = 0;
    ssize_t r;
    while (out && len + 1 < CLI_OUTPUT_MAX &&
           (r = read(fd, out + len, CLI_OUTPUT_MAX - 1 - len)) > 0)
        len += (size_t)r;
    close(fd);
    int status = 0;
    waitpid(pid, &status, 0);
    char *value = NULL;
    /* Only a clean exit with one JSON object counts: anything else fails the setup loudly. */
    if (out && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        json_t *j = json_loads(out, 0, NULL);
        const char *v = json_string_value(json_object_get(j, member));
        value = v ? strdup(v) : NULL;
        json_decref(j);
    }
    free(out);
    return value;
}

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    remove(path);
    return 0;
}

void fixture_cleanup(struct server_fixture *f)
{
    if (f->pid)
        fixture_stop(f);
    /* SI_KEEP_TMP keeps the database and serve.log for a post-mortem, as the Python suites. */
    if (f->dir[0] && !getenv("SI_KEEP_TMP"))
        nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    f->dir[0] = '\0';
}
