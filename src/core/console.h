/* The site owner's console rules without I/O (docs/CONSOLE.md): whether a sign-in link can still
 * be used, and whether a session is still alive. The store loads the facts, asks here, writes. */
#ifndef SI_CORE_CONSOLE_H
#define SI_CORE_CONSOLE_H

#include "common/clock.h"

#include <stdbool.h>
#include <stdint.h>

#define CONSOLE_TOKEN_BYTES        32    /* random bytes of a sign-in link or a session cookie */
#define CONSOLE_CSRF_SALT_LEN      16    /* random bytes per session the CSRF token is keyed from */
#define CONSOLE_IDLE_DEFAULT_S     1800  /* console-idle-seconds */
#define CONSOLE_LIFE_DEFAULT_S     43200 /* console-session-seconds */
#define CONSOLE_LINK_TTL_DEFAULT_S 900   /* console link --ttl: 15 minutes */
#define CONSOLE_LINK_TTL_MAX_S     (7 * 86400)

/* What a sign-in link is, at a time. */
enum console_link_state {
    CONSOLE_LINK_OK,      /* unused and unexpired: signing in uses it */
    CONSOLE_LINK_USED,    /* used once already */
    CONSOLE_LINK_EXPIRED, /* past its expiry, never used */
    CONSOLE_LINK_UNKNOWN, /* no such link */
};

/* The state of a stored link: used_ms is 0 while unused; a link expires at expires_ms (an
 * unused link is usable strictly before it). */
enum console_link_state console_link_state(si_ms used_ms, si_ms expires_ms, si_ms now);

/* A session is alive at now when it was seen within idle_s seconds and is younger than life_s
 * seconds (both > 0). A clock that went back counts as no time passed. */
bool console_session_alive(si_ms created_ms, si_ms last_seen_ms, si_ms now, int64_t idle_s,
                           int64_t life_s);

/* Whether a live session's last_seen is old enough to be written again: sessions are touched
 * at most once a minute (one write per page view would cost the single SQLite writer), so the
 * idle timeout is exact to within CONSOLE_TOUCH_MS. */
#define CONSOLE_TOUCH_MS 60000
bool console_session_needs_touch(si_ms last_seen_ms, si_ms now);

/* What the sweep may delete at now, whatever the settings: links past their expiry by a day
 * (used or not; a day keeps "already used / expired" answers for a late click), and sessions
 * not seen for longer than the largest idle timeout or older than the largest lifetime the
 * settings allow. Rows older than these can never sign anyone in again. */
#define CONSOLE_LINK_KEEP_MS ((si_ms)86400000)
#define CONSOLE_IDLE_MAX_S   86400   /* console-idle-seconds' upper bound */
#define CONSOLE_LIFE_MAX_S   2592000 /* console-session-seconds' upper bound */
struct console_sweep_bounds {
    si_ms link_expired_before, session_seen_before, session_created_before;
};
void console_sweep_bounds(si_ms now, struct console_sweep_bounds *out);

#endif
