/* serve's part of webhooks: the delivery worker's settings, start and stop. */
#ifndef SI_CLI_SERVE_WEBHOOKS_H
#define SI_CLI_SERVE_WEBHOOKS_H

#include "cli/config.h"
#include "request/app.h"

struct webhook_worker;

/* Warns in the log when --allow-http-webhooks is on, and starts the worker unless
 * --webhook-threads is 0. *worker NULL then. SI_EIO (logged) when it cannot start. */
enum si_err serve_webhooks_start(const struct settings *s, const struct app *app,
                                 struct webhook_worker **worker) SI_MUST_USE;
/* Stops the worker (NULL accepted) and releases libcurl's global state when it was taken. */
void serve_webhooks_stop(struct webhook_worker *worker);

#endif
