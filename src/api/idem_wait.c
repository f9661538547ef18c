/* The thread that waits for running twins of Idempotency-Key requests (see idem_wait.h). */
#include "api/idem_wait.h"

#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct idem_waiter {
    struct store *store;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* a request was added, a twin finished, or stop was asked */
    struct idem_wait *list; /* waiting requests (under mu) */
    bool poked, stopping;   /* under mu */
};

int64_t idem_wait_now_ms(void)
{
    return clock_mono_us() / 1000;
}

/* Looks at e's record once; true when e is settled (wake it), false to keep waiting. */
static bool look(struct idem_waiter *w, struct idem_wait *e)
{
    free(e->out.body);
    e->claim.now = clock_now(e->req->app->clock);
    e->rc = store_idem_peek(w->store, &e->claim, &e->out);
    return e->rc || e->out.verdict != IDEM_IN_USE || idem_wait_now_ms() >= e->deadline_ms;
}

/* Looks at every entry of batch without the lock; returns those still waiting. */
static struct idem_wait *look_all(struct idem_waiter *w, struct idem_wait *batch)
{
    struct idem_wait *keep = NULL;
    for (struct idem_wait *e = batch, *next; e; e = next) {
        next = e->next;
        if (look(w, e)) {
            request_wake(e->req); /* e belongs to the request again: not touched after */
        } else {
            e->next = keep;
            keep = e;
        }
    }
    return keep;
}

static void *run(void *arg)
{
    pthread_setname_np(pthread_self(), "si-idem-wait");
    struct idem_waiter *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->list && !w->stopping)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->list)
            break; /* stopping and nobody waits */
        struct timespec until = clock_deadline_after(IDEM_WAIT_POLL_MS);
        while (!w->poked && clock_cond_wait(&w->cv, &w->mu, &until) != ETIMEDOUT)
            ;
        w->poked = false;
        struct idem_wait *batch = w->list;
        w->list = NULL;
        pthread_mutex_unlock(&w->mu);
        struct idem_wait *keep = look_all(w, batch);
        pthread_mutex_lock(&w->mu);
        while (keep) { /* back in, behind anyone added meanwhile */
            struct idem_wait *next = keep->next;
            keep->next = w->list;
            w->list = keep;
            keep = next;
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

enum si_err idem_waiter_start(struct store *store, struct idem_waiter **out)
{
    struct idem_waiter *w = xcalloc(1, sizeof *w);
    w->store = store;
    pthread_cond_init(&w->cv, NULL); /* timed waits pick the monotonic clock themselves */
    pthread_mutex_init(&w->mu, NULL);
    if (pthread_create(&w->thread, NULL, run, w) != 0) {
        log_error("idempotency: cannot start the waiting thread");
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        *out = NULL;
        return SI_EIO;
    }
    *out = w;
    return SI_OK;
}

void idem_waiter_stop(struct idem_waiter *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

void idem_waiter_add(struct idem_waiter *w, struct idem_wait *e)
{
    pthread_mutex_lock(&w->mu);
    e->next = w->list;
    w->list = e;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void idem_waiter_poke(struct idem_waiter *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->poked = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}
