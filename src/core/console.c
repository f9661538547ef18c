/* The console's sign-in link and session rules: pure functions of stored times and now. */
#include "core/console.h"

enum console_link_state console_link_state(si_ms used_ms, si_ms expires_ms, si_ms now)
{
    if (used_ms != 0)
        return CONSOLE_LINK_USED; /* used says more than expired: the owner did use it */
    return now < expires_ms ? CONSOLE_LINK_OK : CONSOLE_LINK_EXPIRED;
}

bool console_session_alive(si_ms created_ms, si_ms last_seen_ms, si_ms now, int64_t idle_s,
                           int64_t life_s)
{
    si_ms idle = now > last_seen_ms ? now - last_seen_ms : 0;
    si_ms age = now > created_ms ? now - created_ms : 0;
    return idle < idle_s * 1000 && age < life_s * 1000;
}

void console_sweep_bounds(si_ms now, struct console_sweep_bounds *out)
{
    out->link_expired_before = now - CONSOLE_LINK_KEEP_MS;
    out->session_seen_before = now - (si_ms)CONSOLE_IDLE_MAX_S * 1000;
    out->session_created_before = now - (si_ms)CONSOLE_LIFE_MAX_S * 1000;
}

bool console_session_needs_touch(si_ms last_seen_ms, si_ms now)
{
    return now - last_seen_ms >= CONSOLE_TOUCH_MS;
}
