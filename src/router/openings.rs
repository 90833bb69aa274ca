//! How many new sessions a server side opens per second: a token bucket,
//! so that a publisher opening sessions and closing each at once cannot
//! make it dial its target (and log) without limit. A legitimate burst
//! (parallel transfers, a client reconnecting its sessions) fits the
//! bucket; openings beyond it are dropped, and their clients retry.
//! Sans-IO: every call takes `now`.

use std::time::Instant;

use crate::protocol::limits::{NEW_SESSIONS_BURST, NEW_SESSIONS_PER_SEC};

#[derive(Debug)]
pub struct OpeningRate {
    tokens: f64,
    at: Instant,
}

impl OpeningRate {
    pub fn new(now: Instant) -> OpeningRate {
        OpeningRate {
            tokens: NEW_SESSIONS_BURST,
            at: now,
        }
    }

    /// True (and one token taken) if another session may open now.
    pub fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * NEW_SESSIONS_PER_SEC).min(NEW_SESSIONS_BURST);
        self.at = self.at.max(now);
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        true
    }
}
