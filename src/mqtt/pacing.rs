//! Pacing of everything a process publishes, within a broker's quotas
//! (`--mqtt-max-rate` publishes per second, `--mqtt-max-bandwidth` bytes
//! per second): one token bucket per cap. A bucket holds at most a tenth of
//! a second of its rate (at least one packet) and refills at the cap less
//! that burst, so that no window of one second ever carries more than the
//! cap: the burst plus a second of refill. Sans-IO: every call takes `now`.

use std::time::{Duration, Instant};

/// What a cap allows at once: a tenth of a second of it.
const BURST_SHARE: f64 = 0.1;

/// One cap.
#[derive(Debug, Clone)]
struct Bucket {
    /// Tokens added per second.
    refill: f64,
    /// The most tokens held.
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// A bucket for `cap` units per second whose largest single cost is
    /// `largest` (a bucket must hold at least that).
    fn new(cap: f64, largest: f64, now: Instant) -> Bucket {
        let burst = (cap * BURST_SHARE).max(largest).min(cap);
        Bucket {
            refill: (cap - burst).max(cap * 0.01),
            burst,
            tokens: burst,
            at: now,
        }
    }

    fn fill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.refill).min(self.burst);
        self.at = self.at.max(now);
    }

    /// When `cost` tokens are there (now, if they are).
    fn ready_at(&mut self, cost: f64, now: Instant) -> Instant {
        self.fill(now);
        let missing = cost.min(self.burst) - self.tokens;
        if missing <= 0.0 {
            now
        } else {
            now + Duration::from_secs_f64(missing / self.refill)
        }
    }

    fn take(&mut self, cost: f64, now: Instant) {
        self.fill(now);
        self.tokens -= cost.min(self.burst);
    }
}

/// The process's publishing caps.
#[derive(Debug, Clone, Default)]
pub struct Pacer {
    publishes: Option<Bucket>,
    bytes: Option<Bucket>,
}

/// The caps to keep: publishes and bytes (of PUBLISH packets) per second.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caps {
    pub publishes: Option<u32>,
    pub bytes: Option<u64>,
}

impl Pacer {
    /// Paces within `caps`; `largest` is the largest PUBLISH packet, in
    /// bytes.
    pub fn new(caps: Caps, largest: usize, now: Instant) -> Pacer {
        Pacer {
            publishes: caps.publishes.map(|n| Bucket::new(f64::from(n), 1.0, now)),
            bytes: caps
                .bytes
                .map(|n| Bucket::new(n as f64, largest as f64, now)),
        }
    }

    /// True when no cap is set.
    pub fn is_unlimited(&self) -> bool {
        self.publishes.is_none() && self.bytes.is_none()
    }

    /// When a PUBLISH packet of `len` bytes may go (now, if it may).
    pub fn ready_at(&mut self, len: usize, now: Instant) -> Instant {
        let mut at = now;
        if let Some(b) = &mut self.publishes {
            at = at.max(b.ready_at(1.0, now));
        }
        if let Some(b) = &mut self.bytes {
            at = at.max(b.ready_at(len as f64, now));
        }
        at
    }

    /// A PUBLISH packet of `len` bytes went at `now`.
    pub fn sent(&mut self, len: usize, now: Instant) {
        if let Some(b) = &mut self.publishes {
            b.take(1.0, now);
        }
        if let Some(b) = &mut self.bytes {
            b.take(len as f64, now);
        }
    }
}
