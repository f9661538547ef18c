/* Log lines: their time stamp, and a thread's held batch (what is written when, whole lines,
 * in order). stderr is pointed at a temporary file for each test and read back. */
#include "common/log.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

struct captured {
    FILE *file;
    int saved; /* the real stderr, put back after the test */
};

static int capture(void **state)
{
    struct captured *c = calloc(1, sizeof *c);
    c->file = tmpfile();
    assert_non_null(c->file);
    fflush(stderr);
    c->saved = dup(STDERR_FILENO);
    assert_true(dup2(fileno(c->file), STDERR_FILENO) >= 0);
    *state = c;
    return 0;
}

static int release(void **state)
{
    struct captured *c = *state;
    dup2(c->saved, STDERR_FILENO);
    close(c->saved);
    fclose(c->file);
    free(c);
    return 0;
}

/* What has reached stderr so far (the caller frees). */
static char *written(struct captured *c)
{
    long n = lseek(fileno(c->file), 0, SEEK_END);
    char *s = calloc(1, (size_t)n + 1);
    assert_int_equal(pread(fileno(c->file), s, (size_t)n, 0), n);
    return s;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* A line starts with its UTC time to the millisecond, then the level. */
static void test_line_starts_with_the_time(void **state)
{
    struct captured *c = *state;
    log_msg(LOG_INFO, "hello %d", 42);
    char *s = written(c);
    assert_int_equal(strlen(s), 24 + strlen(" info hello 42\n"));
    const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ";
    for (size_t i = 0; i < 24; i++)
        if (shape[i] == 'd')
            assert_true(s[i] >= '0' && s[i] <= '9');
        else
            assert_int_equal(s[i], shape[i]);
    assert_string_equal(s + 24, " info hello 42\n");
    free(s);
}

/* Info lines wait for the batch's end; a warn line takes the held ones out first, in order. */
static void test_batch_holds_until_end_or_warning(void **state)
{
    struct captured *c = *state;
    log_batch_begin();
    log_info("one");
    log_info("two");
    char *s = written(c);
    assert_string_equal(s, "");
    free(s);
    log_warn("three");
    s = written(c);
    assert_int_equal(count_lines(s), 3);
    assert_non_null(strstr(s, "info one\n"));
    assert_true(strstr(s, "info one\n") < strstr(s, "info two\n"));
    assert_true(strstr(s, "info two\n") < strstr(s, "warn three\n"));
    free(s);
    log_info("four");
    s = written(c);
    assert_int_equal(count_lines(s), 3);
    free(s);
    log_batch_end();
    s = written(c);
    assert_int_equal(count_lines(s), 4);
    assert_non_null(strstr(s, "info four\n"));
    free(s);
    log_info("five"); /* after the end: at once */
    s = written(c);
    assert_int_equal(count_lines(s), 5);
    free(s);
}

/* More than a batch holds: written in parts, every line whole and in order. */
static void test_full_batch_is_written_in_whole_lines(void **state)
{
    struct captured *c = *state;
    char pad[1000];
    memset(pad, 'x', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    log_batch_begin();
    for (int i = 0; i < 100; i++)
        log_info("line %03d %s", i, pad);
    char *s = written(c);
    size_t before_end = count_lines(s);
    free(s);
    assert_true(before_end > 0 && before_end < 100); /* some went out when the batch filled */
    log_batch_end();
    s = written(c);
    assert_int_equal(count_lines(s), 100);
    char *p = s;
    for (int i = 0; i < 100; i++) {
        char want[32];
        snprintf(want, sizeof want, " info line %03d ", i);
        char *nl = strchr(p, '\n');
        assert_non_null(nl);
        assert_int_equal(nl - p, 24 + (long)strlen(want) + 999);
        assert_memory_equal(p + 24, want, strlen(want));
        p = nl + 1;
    }
    free(s);
}

static void *log_one(void *arg)
{
    (void)arg;
    log_info("from another thread");
    return NULL;
}

/* A batch is the calling thread's: another thread's line is written at once. */
static void test_batch_is_per_thread(void **state)
{
    struct captured *c = *state;
    log_batch_begin();
    log_info("held");
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, log_one, NULL), 0);
    pthread_join(t, NULL);
    char *s = written(c);
    assert_int_equal(count_lines(s), 1);
    assert_non_null(strstr(s, "info from another thread\n"));
    free(s);
    log_batch_end();
    s = written(c);
    assert_int_equal(count_lines(s), 2);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_line_starts_with_the_time, capture, release),
        cmocka_unit_test_setup_teardown(test_batch_holds_until_end_or_warning, capture, release),
        cmocka_unit_test_setup_teardown(test_full_batch_is_written_in_whole_lines, capture,
                                        release),
        cmocka_unit_test_setup_teardown(test_batch_is_per_thread, capture, release),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
