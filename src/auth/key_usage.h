/* When each API key was last used, recorded without a write on the request path: requests note
 * their key in an in-process map; a key not recorded for KEY_USAGE_EVERY_MS goes to a writer
 * thread, which stores batches of uses (store_keys_used) and flushes what is left when stopped.
 * Keys are still looked up on every request (a revoked key stops at once); only the "last used"
 * time is throttled. With several servers on one PostgreSQL database each writes a key at most
 * once a minute, and the store keeps the latest time whoever writes last. */
#ifndef SI_AUTH_KEY_USAGE_H
#define SI_AUTH_KEY_USAGE_H

#include "common/clock.h"
#include "common/err.h"
#include "store/store.h"

#define KEY_USAGE_EVERY_MS  60000 /* a key's use is written at most once a minute per server */
#define KEY_USAGE_KEYS_MAX  65536 /* keys remembered; past it the map starts afresh */
#define KEY_USAGE_QUEUE_MAX 4096  /* uses waiting for the writer; past it a use waits its turn */

struct key_usage;

/* Starts the writer thread over s (borrowed; must outlive key_usage_stop). SI_EIO (logged) when
 * the thread cannot start, *out NULL then. */
enum si_err key_usage_start(struct store *s, struct key_usage **out) SI_MUST_USE;

/* Notes that key_id was used at now (wall ms). Never blocks on the store: at most a short
 * mutex hold and, once a minute per key, a signal to the writer. The first use a server sees
 * is handed over at once. A full queue drops the use without marking it recorded, so the key's
 * next request tries again. u NULL: nothing (handlers run without serve). Thread-safe. */
void key_usage_note(struct key_usage *u, const char *key_id, si_ms now);

/* Writes what is queued, stops the thread and frees u. Call once no request can note any
 * more (after the HTTP servers stopped). NULL is a no-op. */
void key_usage_stop(struct key_usage *u);

#endif
